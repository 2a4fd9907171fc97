#!/bin/bash
# record-golden.sh: records golden/dom0.out and golden/domain.out from Xen's
# real daemon (Debian's /usr/lib/xen-4.17/bin/xenstored, run without a
# hypervisor by xs-anchor; domains' sockets served through their rings by
# xs-ring-proxy).
#
# Usage: tests/integration/compat/record-golden.sh [XS_ANCHOR_DIR]
# Needs xen-utils-4.17, xenstore-utils and libxen-dev.  The two helper
# programs are compiled here (Debian's libxenstore for the client, the
# tree's xs_wire.h for the proxy) unless COMPAT_CLIENT / COMPAT_PROXY name
# built ones.  Review the diff before committing.
set -eu

compat=$(cd "$(dirname "$0")" && pwd)
export COMPAT_TOP_SRCDIR="$compat/../../.."
. "$compat/lib.sh"
if [ $# -gt 0 ]; then
    export XS_ANCHOR="$1"
fi
if [ -z "$(anchor_dir)" ]; then
    echo "record-golden.sh: xs-anchor not found (pass its folder)" >&2
    exit 1
fi

COMPAT_TMP=$(mktemp -d /tmp/xenolith-record.XXXXXX)
export COMPAT_TMP
trap 'rm -rf "$COMPAT_TMP"' EXIT

if [ -z "${COMPAT_CLIENT:-}" ]; then
    COMPAT_CLIENT="$COMPAT_TMP/xs-compat-client"
    cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -O2 -o "$COMPAT_CLIENT" \
        "$compat/xs_compat_client.c" -l:libxenstore.so.4
fi
if [ -z "${COMPAT_PROXY:-}" ]; then
    COMPAT_PROXY="$COMPAT_TMP/xs-ring-proxy"
    cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -O2 -o "$COMPAT_PROXY" \
        -I"$COMPAT_TOP_SRCDIR/libs/store/include" "$compat/xs_ring_proxy.c"
fi
export COMPAT_CLIENT COMPAT_PROXY
mkdir -p "$compat/golden"

for name in dom0 domain; do
    dir="$COMPAT_TMP/anchor-$name"
    start_anchor "$dir"
    XENSTORED_PATH="$dir/socket" COMPAT_RINGDIR="$dir" COMPAT_RUNDIR="$dir" \
        "$compat/scenario-$name.sh" >"$COMPAT_TMP/$name.out"
    for f in "$dir"/proxy-*.pid; do
        [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
    done
    stop_anchor "$dir"
    if cmp -s "$COMPAT_TMP/$name.out" "$compat/golden/$name.out"; then
        echo "golden/$name.out unchanged"
    else
        cp "$COMPAT_TMP/$name.out" "$compat/golden/$name.out"
        echo "golden/$name.out updated from Xen's daemon; review it (git diff)"
    fi
done

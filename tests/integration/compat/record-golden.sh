#!/bin/bash
# record-golden.sh: records golden/dom0.out from Xen's real daemon (Debian's
# /usr/lib/xen-4.17/bin/xenstored, run without a hypervisor by xs-anchor).
#
# Usage: tests/integration/compat/record-golden.sh [XS_ANCHOR_DIR]
# Needs xen-utils-4.17, xenstore-utils and libxen-dev.  The libxenstore
# client is compiled here against Debian's header and library, unless
# COMPAT_CLIENT names a built one.  Review the diff before committing.
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

COMPAT_TMP=$(mktemp -d /tmp/xs-record.XXXXXX)
export COMPAT_TMP
trap 'stop_anchor "$COMPAT_TMP/anchor"; rm -rf "$COMPAT_TMP"' EXIT

if [ -z "${COMPAT_CLIENT:-}" ]; then
    COMPAT_CLIENT="$COMPAT_TMP/xs-compat-client"
    cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -O2 -o "$COMPAT_CLIENT" \
        "$compat/xs_compat_client.c" -l:libxenstore.so.4
fi
export COMPAT_CLIENT

start_anchor "$COMPAT_TMP/anchor"
XENSTORED_PATH="$COMPAT_TMP/anchor/socket" COMPAT_RINGDIR="$COMPAT_TMP/anchor" \
    "$compat/scenario-dom0.sh" >"$COMPAT_TMP/dom0.out"
mkdir -p "$compat/golden"
if cmp -s "$COMPAT_TMP/dom0.out" "$compat/golden/dom0.out"; then
    echo "golden/dom0.out unchanged"
else
    cp "$COMPAT_TMP/dom0.out" "$compat/golden/dom0.out"
    echo "golden/dom0.out updated from Xen's daemon; review it (git diff)"
fi

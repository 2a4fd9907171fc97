#!/bin/bash
# xenstore-compat-live.sh: the xenstore compatibility scenarios live
# against Xen's own daemon (Debian's /usr/lib/xen-4.17/bin/xenstored, run
# without a hypervisor by xs-anchor; domains' sockets served through their
# rings by xs-ring-proxy).  Each transcript must equal the golden copy
# that xenstore-compat.sh compares Xenolith's daemon with, so that the
# two together show Xenolith's transcripts equal to Xen's, live.
#
# xs-anchor is a reference tool outside the project (../shared/tools, or
# XS_ANCHOR=folder): nothing in the project depends on it, and where it
# is missing this test skips (77) and is counted as skipped, never as
# passed.  The golden copies themselves are recorded with
# compat/record-golden.sh, which needs it too.
#
# Run by `make check` from tests/integration in the build tree.  Environment
# overrides: COMPAT_CLIENT (the libxenstore client), COMPAT_PROXY
# (xs-ring-proxy), XS_ANCHOR, COMPAT_KEEP=1 (keep the temp folder).  Exit:
# 0 pass, 1 fail, 77 skip (xs-anchor or Debian's Xen packages missing),
# 99 harness error (a program not built).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

here=$(cd "$(dirname "$0")" && pwd)
compat="$here/compat"
export COMPAT_TOP_SRCDIR="$here/../.."
builddir=$(pwd)
COMPAT_CLIENT=${COMPAT_CLIENT:-$builddir/compat/xs-compat-client}
COMPAT_PROXY=${COMPAT_PROXY:-$builddir/compat/xs-ring-proxy}
export COMPAT_CLIENT
. "$compat/lib.sh"

if [ -z "$(anchor_dir)" ]; then
    echo "SKIP: xs-anchor not found (XS_ANCHOR, /work/shared/tools or" \
         "../shared/tools): Xen's own daemon cannot run here without it"
    exit 77
fi
for f in "$XS_BIN/xenstore-read" "$XS_BIN/xenstore-ls" "$XS_CONTROL" \
    "$XS_REAL_DAEMON"; do
    if [ ! -x "$f" ]; then
        echo "SKIP: $f missing (apt-get install xenstore-utils" \
             "xen-utils-4.17)"
        exit 77
    fi
done
for f in "$COMPAT_CLIENT" "$COMPAT_PROXY"; do
    if [ ! -x "$f" ]; then
        echo "ERROR: $f not built"
        exit 99
    fi
done

COMPAT_TMP=$(mktemp -d /tmp/xenolith-compat-live.XXXXXX) || exit 99
export COMPAT_TMP
failures=0
ANCHOR_DIR=

cleanup()
{
    if [ -n "$ANCHOR_DIR" ]; then
        stop_anchor "$ANCHOR_DIR"
    fi
    if [ "${COMPAT_KEEP:-0}" = 1 ] || [ "$failures" -ne 0 ]; then
        echo "transcripts and daemon logs kept in $COMPAT_TMP"
    else
        rm -rf "$COMPAT_TMP"
    fi
}
trap cleanup EXIT

fail()
{
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# anchor_run NAME SCRIPT: runs a scenario against a fresh Xen daemon
# under xs-anchor (with ring proxies for the domains) and compares its
# transcript with golden/NAME.out.
anchor_run()
{
    local f
    ANCHOR_DIR="$COMPAT_TMP/anchor-$1"
    if ! start_anchor "$ANCHOR_DIR"; then
        ANCHOR_DIR=
        fail "$1: xs-anchor did not start"
        return
    fi
    XENSTORED_PATH="$ANCHOR_DIR/socket" COMPAT_RINGDIR="$ANCHOR_DIR" \
        COMPAT_RUNDIR="$ANCHOR_DIR" COMPAT_PROXY="$COMPAT_PROXY" \
        timeout 300 "$2" >"$COMPAT_TMP/xen-$1.out" 2>"$COMPAT_TMP/xen-$1.err"
    for f in "$ANCHOR_DIR"/proxy-*.pid; do
        [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
    done
    stop_anchor "$ANCHOR_DIR"
    ANCHOR_DIR=
    if diff -u "$compat/golden/$1.out" "$COMPAT_TMP/xen-$1.out" \
        >"$COMPAT_TMP/$1.diff"; then
        echo "PASS: $1: Xen's daemon, live, matches golden/$1.out"
    else
        fail "$1: Xen's daemon no longer matches golden/$1.out (re-record" \
             "with compat/record-golden.sh, review, then xenstore-compat.sh" \
             "compares Xenolith's daemon with the new copy):"
        head -n 200 "$COMPAT_TMP/$1.diff"
    fi
}

echo "== the dom0 scenario live against Xen's daemon (xs-anchor)"
anchor_run dom0 "$compat/scenario-dom0.sh"
echo "== the per-domain scenario live against Xen's daemon (xs-anchor)"
anchor_run domain "$compat/scenario-domain.sh"

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
exit 0

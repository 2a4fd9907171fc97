#!/bin/bash
# xenstore-compat.sh: Debian's real Xen 4.17 xenstore clients against
# Xenolith's xenstored must behave exactly as against Xen's own daemon.
#
#  1. compat/scenario-dom0.sh (every request type over the control domain's
#     socket, through /usr/bin/xenstore-* and Debian's libxenstore) against a
#     fresh xenstored; the transcript must equal compat/golden/dom0.out,
#     recorded from Xen's daemon by compat/record-golden.sh.
#  2. compat/scenario-domain.sh (permissions, quotas, relative paths,
#     watches, set-target over per-domain sockets) against a fresh
#     xenstored; must equal compat/golden/domain.out, recorded from Xen's
#     daemon through xs-ring-proxy (a domain's ring behind a socket).
#  3. Xen's own /usr/lib/xen-4.17/bin/test-xenstore against a fresh
#     xenstored must pass.
#
# The same scenarios live against Xen's own daemon (which needs xs-anchor,
# a reference tool the project may not depend on) are a test of their
# own, xenstore-compat-live.sh, which skips where xs-anchor is missing:
# with parts 1 and 2 here it shows Xenolith's transcripts equal to Xen's.
#
# Run by `make check` from tests/integration in the build tree.  Environment
# overrides: XENSTORED_BIN (the daemon), COMPAT_CLIENT (the libxenstore
# client), COMPAT_KEEP=1 (keep the temp folder).  Exit: 0 pass, 1 fail,
# 77 skip (Debian's clients or test-xenstore missing), 99 harness error (a
# program not built).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

here=$(cd "$(dirname "$0")" && pwd)
compat="$here/compat"
export COMPAT_TOP_SRCDIR="$here/../.."
builddir=$(pwd)
XENSTORED_BIN=${XENSTORED_BIN:-$builddir/../../xenstored/xenstored}
COMPAT_CLIENT=${COMPAT_CLIENT:-$builddir/compat/xs-compat-client}
export XENSTORED_BIN COMPAT_CLIENT
. "$compat/lib.sh"

for f in "$XS_BIN/xenstore-read" "$XS_BIN/xenstore-ls" "$XS_CONTROL" \
    "$XS_TEST"; do
    if [ ! -x "$f" ]; then
        echo "SKIP: $f missing (apt-get install xenstore-utils" \
             "xen-utils-4.17)"
        exit 77
    fi
done
for f in "$XENSTORED_BIN" "$COMPAT_CLIENT"; do
    if [ ! -x "$f" ]; then
        echo "ERROR: $f not built"
        exit 99
    fi
done

COMPAT_TMP=$(mktemp -d /tmp/xenolith-compat.XXXXXX) || exit 99
export COMPAT_TMP
failures=0

cleanup()
{
    stop_ours
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

# compare NAME EXPECTED ACTUAL: diffs two transcripts.
compare()
{
    if diff -u "$2" "$3" >"$COMPAT_TMP/$1.diff"; then
        echo "PASS: $1"
    else
        fail "$1 (expected $2, got $3):"
        head -n 200 "$COMPAT_TMP/$1.diff"
    fi
}

# ours_run NAME SCRIPT: runs a scenario against a fresh xenstored.
ours_run()
{
    local rundir="$COMPAT_TMP/$1"
    start_ours "$rundir" || { fail "$1: xenstored did not start"; return 1; }
    XENSTORED_PATH="$rundir/socket" COMPAT_RUNDIR="$rundir" \
        timeout 300 "$2" >"$COMPAT_TMP/$1.out" 2>"$COMPAT_TMP/$1.err"
    echo "$1: scenario exit status $?" >>"$COMPAT_TMP/$1.err"
    if ! kill -0 "$OURS_PID" 2>/dev/null; then
        fail "$1: xenstored died during the scenario; log:"
        tail -n 30 "$rundir/xenstored.log"
    fi
    stop_ours
}

echo "== 1. dom0 scenario against Xenolith's xenstored ($XENSTORED_BIN)"
if ours_run dom0 "$compat/scenario-dom0.sh"; then
    compare dom0-vs-golden "$compat/golden/dom0.out" "$COMPAT_TMP/dom0.out"
fi

echo "== 2. per-domain scenario against Xenolith's xenstored"
if ours_run domain "$compat/scenario-domain.sh"; then
    compare domain-vs-golden "$compat/golden/domain.out" \
        "$COMPAT_TMP/domain.out"
fi

echo "== 3. Xen's test-xenstore against Xenolith's xenstored"
rundir="$COMPAT_TMP/xstest"
if start_ours "$rundir"; then
    (cd "$COMPAT_TMP" && XENSTORED_PATH="$rundir/socket" \
        deb timeout 120 "$XS_TEST") >"$COMPAT_TMP/xstest.out" 2>&1
    rc=$?
    if [ "$rc" -eq 0 ]; then
        echo "PASS: test-xenstore"
    else
        fail "test-xenstore exit status $rc; output:"
        tail -n 30 "$COMPAT_TMP/xstest.out"
    fi
    stop_ours
else
    fail "test-xenstore: xenstored did not start"
fi

if [ "$failures" -ne 0 ]; then
    echo "$failures check(s) failed"
    exit 1
fi
exit 0

#!/bin/sh
# xenstored-valgrind.sh: the robustness tests tagged "valgrind" (malformed
# input, slow clients, domain sockets, trace control) with xenstored run
# under valgrind.  Any memory error, or a definite or possible leak at the
# daemon's SIGTERM exit, makes valgrind exit 1, which the robustness test's
# teardown reports as an unclean exit.
#
# Environment: XENSTORED_BIN (the daemon), ROBUST (the test program).
# Exit: 0 pass, 1 fail, 77 skip (valgrind missing).
set -u
builddir=$(pwd)
XENSTORED_BIN=${XENSTORED_BIN:-$builddir/../../xenstored/xenstored}
ROBUST=${ROBUST:-$builddir/xenstored-robustness}

if ! command -v valgrind >/dev/null 2>&1; then
    echo "SKIP: valgrind not installed (apt-get install valgrind)"
    exit 77
fi
# A sanitizer build cannot run under valgrind.
if nm "$XENSTORED_BIN" 2>/dev/null | grep -q __asan_init; then
    echo "SKIP: $XENSTORED_BIN is built with AddressSanitizer"
    exit 77
fi

logdir=$(mktemp -d /tmp/xs-valgrind-XXXXXX) || exit 99
XENSTORED_WRAPPER="valgrind -q --leak-check=full --error-exitcode=1"
XENSTORED_WRAPPER="$XENSTORED_WRAPPER --show-leak-kinds=definite,possible"
XENSTORED_WRAPPER="$XENSTORED_WRAPPER --errors-for-leak-kinds=definite,possible"
XENSTORED_WRAPPER="$XENSTORED_WRAPPER --log-file=$logdir/vg.%p"
export XENSTORED_BIN XENSTORED_WRAPPER
export XS_TIME_SCALE=${XS_TIME_SCALE:-20}
export CK_INCLUDE_TAGS=valgrind
export CK_DEFAULT_TIMEOUT=600
# check's per-test timeouts are scaled too.
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-10}

"$ROBUST"
rc=$?
for f in "$logdir"/vg.*; do
    [ -s "$f" ] || continue
    echo "=== valgrind report $f"
    cat "$f"
    rc=1
done
rm -rf "$logdir"
exit $rc

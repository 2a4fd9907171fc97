#!/bin/sh
# bench/core/restart.sh - how long xenolithd takes to take its domains
# back (issue 10): N paused tiny guests on the core, then
#   upgrade: `xenolithd --upgrade` (the old daemon detaches them and
#            exits, the new one adopts them) until `xl list` shows all N;
#   crash:   kill -9 of the daemon, then `xencommons start` until `xl
#            list` shows all N.
# Private daemons in a temporary XENOLITH_RUNDIR (xencommons).
#
# Usage: bench/core/restart.sh [BUILD_DIR]   (default: the current
#        directory, a configured and built tree).
# Env:   COUNTS (default "1 10 50"), RUNS (per count, default 3).
set -eu

build=$(cd "${1:-.}" && pwd)
counts=${COUNTS:-"1 10 50"}
runs=${RUNS:-3}
xl=$build/xl/xl
export XENSTORED_BIN=$build/xenstored/xenstored
export XENOLITHD_BIN=$build/hypervisor/xenolithd
export XENSTORE_BINDIR=$build/libs/store/tools
guest=$build/tests/guests/test-pvh-hello
for f in "$xl" "$XENSTORED_BIN" "$XENOLITHD_BIN" "$guest"; do
    [ -x "$f" ] || { echo "restart.sh: $f missing: build first" >&2; exit 1; }
done
[ -r /dev/kvm ] || { echo "restart.sh: no /dev/kvm: skipped"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "restart.sh: needs root"; exit 77; }

T=$(mktemp -d /tmp/xenolith-restart.XXXXXX)
export XENOLITH_RUNDIR=$T/run XL_CONF_FILE=$T/xl.conf
printf 'accel = "kvm"\n' >"$XL_CONF_FILE"
mkdir -p "$XENOLITH_RUNDIR"
cleanup() {
    sh "$build/hotplug/xencommons" stop >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
sh "$build/hotplug/xencommons" start >/dev/null
export XENSTORED_PATH=$XENOLITH_RUNDIR/xenstored/socket

ms() { echo $(($(date +%s%N) / 1000000)); }
# Waits until xl list shows Domain-0 and $1 guests; prints the ms since $2.
listed() {
    while [ "$("$xl" list 2>/dev/null | tail -n +3 | wc -l)" != "$1" ]; do
        sleep 0.01
    done
    echo $(($(ms) - $2))
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf '%-10s %14s %14s\n' domains "upgrade (ms)" "crash (ms)"
have=0
for n in $counts; do
    while [ $have -lt "$n" ]; do
        have=$((have + 1))
        printf 'name = "b%d"\ntype = "pvh"\nkernel = "%s"\nmemory = 32\n' \
            $have "$guest" >"$T/b.cfg"
        "$xl" create -p "$T/b.cfg" >/dev/null 2>&1 ||
            { echo "restart.sh: xl create failed at $have" >&2; exit 1; }
    done
    up="" crash=""
    i=0
    while [ $i -lt "$runs" ]; do
        i=$((i + 1))
        t0=$(ms)
        "$XENOLITHD_BIN" --upgrade -r "$XENOLITH_RUNDIR" \
            -l "$XENOLITH_RUNDIR/log/xenolithd.log"
        up="$up $(listed "$n" "$t0")"
        t0=$(ms)
        kill -9 "$(cat "$XENOLITH_RUNDIR/xenolithd.pid")"
        sh "$build/hotplug/xencommons" start >/dev/null
        crash="$crash $(listed "$n" "$t0")"
    done
    printf '%-10s %14s %14s\n' "$n" \
        "$(echo $up | tr ' ' '\n' | median)" \
        "$(echo $crash | tr ' ' '\n' | median)"
done

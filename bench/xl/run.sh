#!/bin/sh
# bench/xl/run.sh - "xl create" to the guest's first console byte, and
# "xl destroy", for test-pvh-hello with 1, 100 and 1000 domains already
# running (each a paused-then-idle hello guest, no watching process), on
# private daemons started with xencommons.  Target: flat (the 1000th
# within 1.5x of the first).
#
# The third column is the name lookup (libxl_name_to_domid) any xl
# command given a domain name pays.
#
# Usage: bench/xl/run.sh [BUILD_DIR]   (default: the current directory)
# Env:   RUNS (timed create/destroy pairs per point, default 10),
#        COUNTS (default "1 100 1000"), MEM (MiB per guest, default 4).
set -eu

build=$(cd "${1:-.}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
runs=${RUNS:-10}
counts=${COUNTS:-"1 100 1000"}
mem=${MEM:-4}
xl=$build/xl/xl
guest=$build/tests/guests/test-pvh-hello
for f in "$xl" "$guest" "$build/hypervisor/xenolithd" \
         "$build/xenstored/xenstored"; do
    [ -x "$f" ] || { echo "run.sh: $f missing: build first" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root"; exit 77; }
[ -w /dev/kvm ] || { echo "run.sh: no /dev/kvm: skipped"; exit 77; }

tmp=$(mktemp -d /tmp/xl-bench.XXXXXX)
export XENOLITH_RUNDIR=$tmp/run XL_CONF_FILE=/dev/null
export XENSTORED_BIN=$build/xenstored/xenstored
export XENOLITHD_BIN=$build/hypervisor/xenolithd
export XENSTORE_BINDIR=$build/libs/store/tools
unset XENSTORED_PATH XENSTORED_RUNDIR
cleanup()
{
    sh "$build/hotplug/xencommons" stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
sh "$build/hotplug/xencommons" start >/dev/null
export XENSTORED_PATH=$XENOLITH_RUNDIR/xenstored/socket

cfg()
{
    printf 'name = "%s"\ntype = "pvh"\nkernel = "%s"\nmemory = %s\n' \
        "$1" "$guest" "$mem" >"$tmp/$1.cfg"
    echo "$tmp/$1.cfg"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

running=0
printf '%-10s %18s %18s %18s\n' "running" "create->1st byte" "destroy <id>" \
    "domid <name>"
printf '%-10s %18s %18s %18s\n' "domains" "(ms, median)" "(ms, median)" \
    "(ms, median)"
for n in $counts; do
    # Bring the background population to n (minus the timed one).
    while [ $running -lt $((n - 1)) ]; do
        "$xl" create -q -e "$(cfg "bg$running")" ||
            { echo "run.sh: creating background domain $running failed" >&2
              exit 1; }
        running=$((running + 1))
    done
    c=$(cfg timed)
    : >"$tmp/times"
    i=0
    while [ $i -lt "$runs" ]; do
        python3 "$here/firstbyte.py" "$xl" "$c" timed >>"$tmp/times"
        i=$((i + 1))
    done
    cm=$(awk '{ print $1 }' "$tmp/times" | median)
    dm=$(awk '{ print $2 }' "$tmp/times" | median)
    lm=$(awk '{ print $3 }' "$tmp/times" | median)
    printf '%-10s %18s %18s %18s\n' "$n" "$cm" "$dm" "$lm"
done

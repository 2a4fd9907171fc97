#!/bin/sh
# bench/boot/run.sh - wall time from "xl create" to the shell prompt of
# the Debian guest (tests/fixtures/debian-guest.sh) as PVH and HVM, next
# to the same kernel started directly with qemu-system-x86_64 with the
# same options, runs interleaved; medians and the toolstack's overhead
# (target: under 100 ms).  Private daemons started with xencommons in a
# temporary XENOLITH_RUNDIR.  See README.md.
#
# Usage: bench/boot/run.sh [BUILD_DIR] [KIND...]
#        (BUILD_DIR default "."; KIND: pvh pvh-elf seabios ovmf, default
#        pvh pvh-elf seabios)
# Env:   RUNS (boots per kind and way, default 5), DM_FIXTURE.
set -eu

build=$(cd "${1:-.}" && pwd)
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
xl=$build/xl/xl
for f in "$xl" "$build/hypervisor/xenolithd" "$build/xenstored/xenstored"; do
    [ -x "$f" ] || { echo "run.sh: $f missing: build first" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root"; exit 77; }
command -v qemu-system-x86_64 >/dev/null 2>&1 ||
    { echo "run.sh: no qemu-system-x86_64"; exit 77; }
rc=0
guest=$(sh "${DM_FIXTURE:-$src/tests/fixtures/debian-guest.sh}") || rc=$?
[ "$rc" = 0 ] || { echo "run.sh: no Debian guest (fixture: $rc)"; exit 77; }

tmp=$(mktemp -d /tmp/boot-bench.XXXXXX)
export XENOLITH_RUNDIR=$tmp/run XL_CONF_FILE=/dev/null
export XENSTORED_BIN=$build/xenstored/xenstored
export XENOLITHD_BIN=$build/hypervisor/xenolithd
export XENSTORE_BINDIR=$build/libs/store/tools
export XL_BIN=$xl DM_GUEST=$guest BENCH_TMP=$tmp
unset XENSTORED_PATH XENSTORED_RUNDIR XENOLITH_CORE_SOCKET
cleanup()
{
    # A device model outlives the daemons: the bench's own, by pid.
    for d in /proc/[0-9]*; do
        case $( { tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null) in
            *qemu*"$tmp/"*) kill -9 "${d#/proc/}" 2>/dev/null || true ;;
        esac
    done
    sh "$build/hotplug/xencommons" stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mkdir -p "$XENOLITH_RUNDIR"
sh "$build/hotplug/xencommons" start >"$tmp/xencommons.out" 2>&1 ||
    { cat "$tmp/xencommons.out"; exit 1; }
export XENSTORED_PATH=$XENOLITH_RUNDIR/xenstored/socket

echo "boot bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
    "load $(cut -d' ' -f1-3 /proc/loadavg), guest ${guest##*/}"
python3 "$here/boot.py" "$@"

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

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
bench_host "${1:-.}" boot-bench
[ $# -gt 0 ] && shift

echo "boot bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
    "load $(cut -d' ' -f1-3 /proc/loadavg), guest ${guest##*/}"
python3 "$here/boot.py" "$@"

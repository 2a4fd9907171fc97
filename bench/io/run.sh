#!/bin/sh
# bench/io/run.sh - disk and network throughput of the Debian guest
# (tests/fixtures/debian-guest.sh) as a PVH guest under xl, its devices
# served by Xenolith's backends (xenolith-blkback with its
# qemu-storage-daemon, xenolith-netback) against qemu's own (virtio-blk
# on the same image file, a virtio-net NIC on qemu's tap), with the
# host's direct I/O on the same file as the limit.  Runs in a network
# namespace of its own, on a bridge there.  See README.md and io.py.
#
# Usage: bench/io/run.sh [BUILD_DIR]     (default ".")
# Env:   RUNS (guest boots per kind, default 2), DM_FIXTURE, PARTS
#        ("net" for the network figure alone; see io.py).
set -eu

if [ -z "${IOBENCH_IN_NETNS:-}" ]; then
    unshare --net true 2>/dev/null ||
        { echo "io-bench: no private network namespace (unshare)"; exit 77; }
    IOBENCH_IN_NETNS=1 exec unshare --net sh "$0" "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
bench_host "${1:-.}" io-bench
ip link set lo up
ip link add xenbr0 type bridge && ip addr add 10.99.0.1/24 dev xenbr0 &&
    ip link set xenbr0 up || { echo "io-bench: no bridge"; exit 1; }

echo "io bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
    "load $(cut -d' ' -f1-3 /proc/loadavg), accel" \
    "$([ -c /dev/kvm ] && echo kvm-capable || echo tcg), guest ${guest##*/}"
python3 "$here/io.py"

#!/bin/sh
# bench/core/run.sh - creation time and memory per domain of the core,
# against a bare KVM floor and QEMU microvm, in one run.
#
# Usage: bench/core/run.sh [BUILD_DIR]   (default: the current directory,
#        a configured and built tree).  QEMU is optional: install it with
#        "apt-get install qemu-system-x86" to get its column.
# Env:   RUNS (creation runs, default 20), COUNTS (default "1 100 1000").
set -eu

build=${1:-.}
build=$(cd "$build" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
runs=${RUNS:-20}
counts=${COUNTS:-"1 100 1000"}

export XENOLITHD="$build/hypervisor/xenolithd"
export GUEST_DIR="$build/tests/guests"
export FLOOR="$build/bench/core/bench-core-floor"
for f in "$XENOLITHD" "$GUEST_DIR/test-pvh-hello" \
         "$build/bench/core/bench-core" "$FLOOR"
do
    [ -x "$f" ] || { echo "run.sh: $f missing: build first" >&2; exit 1; }
done
[ -r /dev/kvm ] || { echo "run.sh: no /dev/kvm: skipped"; exit 77; }

val() { awk -v k="$1" '$1 == k { print $2; exit }'; }
val2() { awk -v k="$1" '$1 == k { print $3; exit }'; }
row() {
    printf '%-44s %10s %10s\n' "$1" "$(echo "$2" | val "$3")" \
        "$(echo "$2" | val2 "$3")"
}
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "host: $(nproc) CPUs, $(uname -r); load average before: $(load)"
floor=$("$FLOOR" "$runs")
core=$("$build/bench/core/bench-core" create "$runs")
qemu=""
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
    qemu=$(python3 "$here/qmp_time.py" qemu-system-x86_64 "$runs" || true)
fi

echo "== creation: start -> first console byte / first I/O exit" \
     "($runs runs each, interleaved) =="
printf '%-44s %10s %10s\n' "" "median ms" "min ms"
row "bare KVM floor program, spawn -> I/O exit" "$core" floor_proc_stamp_ms
row "  ... -> its report read by the parent" "$core" floor_proc_seen_ms
row "bare KVM floor, in-process (no exec)" "$floor" floor_ms
row "xenolith: create call -> byte leaves guest" "$core" create_stamp_ms
row "  ... -> xc_console_wait() returns" "$core" create_seen_ms
if [ -n "$qemu" ]; then
    row "qemu microvm -S until QMP answers" "$qemu" qemu_ms
else
    echo "qemu-system-x86_64 absent: QEMU skipped" \
         "(apt-get install qemu-system-x86)"
fi
f=$(echo "$core" | val floor_proc_stamp_ms)
c=$(echo "$core" | val create_stamp_ms)
fs=$(echo "$core" | val floor_proc_seen_ms)
cs=$(echo "$core" | val create_seen_ms)
awk -v c="$c" -v f="$f" -v cs="$cs" -v fs="$fs" 'BEGIN {
    printf "core vs floor program (medians): %.2fx stamped, %.2fx seen" \
           " (target <= 2x)\n", c / f, cs / fs }'
echo "load average after the creation runs: $(load)"

echo
echo "== host memory per idle domain (4 MiB guests, hello guest halted) =="
echo "guest = its RAM really allocated (memfd blocks); overhead = domain" \
     "process PSS less shared memory + daemon growth + kernel growth"
printf '%8s %9s %9s %9s %9s %9s %10s %9s\n' domains "guest" "overhead" \
    "process" "daemon" "kernel" "host used" "boot ms"
for n in $counts; do
    m=$("$build/bench/core/bench-core" memory "$n") || {
        echo "$n domains: failed"; continue; }
    printf '%8s %9s %9s %9s %9s %9s %10s %9s\n' "$n" \
        "$(echo "$m" | val memory_guest_kib_per_domain)" \
        "$(echo "$m" | val memory_overhead_kib_per_domain)" \
        "$(echo "$m" | val memory_private_kib_per_domain)" \
        "$(echo "$m" | val memory_daemon_kib_per_domain)" \
        "$(echo "$m" | val memory_kernel_kib_per_domain)" \
        "$(echo "$m" | val memory_host_used_kib_per_domain)" \
        "$(echo "$m" | val memory_boot_all_ms)"
done
echo "(KiB per domain; target: overhead < 2048)"
echo "floor process RSS with one VM: $(echo "$floor" | val floor_rss_kib) KiB"
if [ -n "$qemu" ]; then
    echo "qemu microvm -S idle PSS: $(echo "$qemu" | val qemu_pss_kib) KiB"
fi
echo "load average at the end: $(load)"
exit 0

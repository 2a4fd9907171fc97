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
for f in "$XENOLITHD" "$GUEST_DIR/test-pvh-hello" \
         "$build/bench/core/bench-core" "$build/bench/core/bench-core-floor"
do
    [ -x "$f" ] || { echo "run.sh: $f missing: build first" >&2; exit 1; }
done
[ -r /dev/kvm ] || { echo "run.sh: no /dev/kvm: skipped"; exit 77; }

val() { awk -v k="$1" '$1 == k { print $2; exit }'; }
val2() { awk -v k="$1" '$1 == k { print $3; exit }'; }

floor=$("$build/bench/core/bench-core-floor" "$runs")
core=$("$build/bench/core/bench-core" create "$runs")
qemu=""
if command -v qemu-system-x86_64 >/dev/null 2>&1; then
    qemu=$(python3 "$here/qmp_time.py" qemu-system-x86_64 "$runs" || true)
fi

f_med=$(echo "$floor" | val floor_ms); f_min=$(echo "$floor" | val2 floor_ms)
c_med=$(echo "$core" | val create_ms); c_min=$(echo "$core" | val2 create_ms)
echo "== creation: create call -> first console byte ($runs runs) =="
printf '%-34s %10s %10s\n' "" "median ms" "min ms"
printf '%-34s %10s %10s\n' "bare KVM floor (in-process)" "$f_med" "$f_min"
printf '%-34s %10s %10s\n' "xenolith core (hello guest)" "$c_med" "$c_min"
if [ -n "$qemu" ]; then
    q_med=$(echo "$qemu" | val qemu_ms); q_min=$(echo "$qemu" | val2 qemu_ms)
    printf '%-34s %10s %10s\n' "qemu microvm -S until QMP answers" \
        "$q_med" "$q_min"
    awk -v c="$c_med" -v q="$q_med" \
        'BEGIN { printf "core vs qemu: %.1fx faster\n", q / c }'
else
    echo "qemu-system-x86_64 absent: QEMU skipped" \
         "(apt-get install qemu-system-x86)"
fi
awk -v c="$c_med" -v f="$f_med" \
    'BEGIN { printf "core vs floor: %.2fx the floor\n", c / f }'

echo
echo "== memory per idle domain (4 MiB guests, hello guest halted) =="
printf '%8s %10s %10s %10s %10s %12s %10s\n' domains "PSS KiB" "RSS KiB" \
    "daemon KiB" "kernel KiB" "host used" "boot ms"
for n in $counts; do
    m=$("$build/bench/core/bench-core" memory "$n") || {
        echo "$n domains: failed"; continue; }
    printf '%8s %10s %10s %10s %10s %12s %10s\n' "$n" \
        "$(echo "$m" | val memory_pss_kib_per_domain)" \
        "$(echo "$m" | val memory_rss_kib_per_domain)" \
        "$(echo "$m" | val memory_daemon_kib_per_domain)" \
        "$(echo "$m" | val memory_kernel_kib_per_domain)" \
        "$(echo "$m" | val memory_host_used_kib_per_domain)" \
        "$(echo "$m" | val memory_boot_all_ms)"
done
echo "floor process RSS with one VM: $(echo "$floor" | val floor_rss_kib) KiB"
if [ -n "$qemu" ]; then
    echo "qemu microvm -S idle PSS: $(echo "$qemu" | val qemu_pss_kib) KiB"
fi
exit 0

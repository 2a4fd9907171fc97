#!/bin/bash
# Runs the whole Xenolith test suite on a Debian 12 machine (as root):
#   1. installs the Debian packages it needs (scripts/install-deps.sh);
#   2. builds and runs `make check` (unit, integration and guest tests);
#   3. builds again with AddressSanitizer + UBSan and runs the unit tests;
#   4. runs every libFuzzer target (tests/fuzz/run-fuzz.sh: xenstored, the
#      builder, the core's control protocol) for a bounded time
#      (FUZZ_SECONDS, default 120, split evenly between them).
# Ends with one line "N passed, N failed" over every test run; exits non-zero
# on any failure.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
jobs=$(nproc 2>/dev/null || echo 2)
failed_steps=()

step() {
    echo "=== $*"
}

"$src/scripts/install-deps.sh" || { echo "test: installing packages failed"; exit 1; }

step "build (build/main)"
if ! scripts/build.sh "$src/build/main"; then
    echo "test: the build failed"; exit 1
fi

step "make check"
# Tests of the core run in the nested-KVM lane where this host has no
# KVM that can run them (tests/lane/lane.py); the lane's boot and each
# test's route are in their logs.
make -C build/main -j"$jobs" check || failed_steps+=("make check")
tests/lane/lane.py down --build "$src/build/main"
if [ -f build/main/tests/lane-vm/boot-seconds ]; then
    echo "lane: booted in $(cat build/main/tests/lane-vm/boot-seconds) s;" \
        "$(grep -l '^lane: .* runs in the nested-KVM lane' \
           $(find build/main/tests -name '*.log') 2>/dev/null | wc -l)" \
        "tests ran in it"
fi

step "sanitizer build (build/asan) and unit tests under ASan+UBSan"
asan_check() {
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        make -C "$1" -j"$jobs" check
}
if scripts/build.sh "$src/build/asan" --enable-sanitizers; then
    # the builder's format tests (minutes under ASan, one test at a time)
    # run beside the others
    asan_check build/asan/tests/unit/ctrl/ >build/asan-ctrl.log 2>&1 &
    ctrl=$!
    for d in build/asan/tests/unit/*/ build/asan/tests/fuzz/; do
        [ "$d" = build/asan/tests/unit/ctrl/ ] && continue
        asan_check "$d" || failed_steps+=("asan $d")
    done
    wait "$ctrl" || failed_steps+=("asan build/asan/tests/unit/ctrl/")
    cat build/asan-ctrl.log
else
    failed_steps+=("sanitizer build")
fi

step "fuzzing: xenstored, the builder and the core's control protocol (${FUZZ_SECONDS:-120} s)"
# libFuzzer's progress goes to logs; a finding prints their tail.
fuzz() {
    local name=$1 log=$src/build/fuzz-$1.log
    shift
    if "$@" >"$log" 2>&1; then
        grep -h "run-fuzz:\|stat::number_of_executed_units\|Done [0-9]* runs" \
            "$log" | tail -4
    else
        echo "fuzz $name: FAILED; the end of $log:"
        tail -60 "$log"
        failed_steps+=("fuzz $name")
    fi
}
fuzz all tests/fuzz/run-fuzz.sh "${FUZZ_SECONDS:-120}"

# One closing line over every automake test log.
pass=0 fail=0 skip=0
while IFS= read -r log; do
    p=$(sed -n 's/^# PASS: *\([0-9]*\).*/\1/p' "$log" | head -1)
    f=$(sed -n 's/^# FAIL: *\([0-9]*\).*/\1/p' "$log" | head -1)
    x=$(sed -n 's/^# XPASS: *\([0-9]*\).*/\1/p' "$log" | head -1)
    e=$(sed -n 's/^# ERROR: *\([0-9]*\).*/\1/p' "$log" | head -1)
    s=$(sed -n 's/^# SKIP: *\([0-9]*\).*/\1/p' "$log" | head -1)
    pass=$((pass + ${p:-0}))
    fail=$((fail + ${f:-0} + ${x:-0} + ${e:-0}))
    skip=$((skip + ${s:-0}))
done < <(find build/main build/asan -name test-suite.log 2>/dev/null)

if [ ${#failed_steps[@]} -gt 0 ]; then
    echo "test: failed steps: ${failed_steps[*]}"
    for log in $(grep -l '^# FAIL: *[1-9]\|^# ERROR: *[1-9]' \
                 $(find build -name test-suite.log) 2>/dev/null); do
        echo "--- $log"; tail -60 "$log"
    done
    [ "$fail" -gt 0 ] || fail=1
fi
echo "$pass passed, $fail failed, $skip skipped"
[ ${#failed_steps[@]} -eq 0 ] && [ "$fail" -eq 0 ]

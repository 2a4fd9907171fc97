#!/bin/sh
# pvh.sh - the Debian guest's whole life under xl as a PVH guest
# (type="pvh"; through qemu where the accelerator is TCG): see
# lifecycle.py.
. "$(dirname "$0")/lib.sh"
dm_netns "$@"
dm_setup_host
python3 "$DM_DIR/lifecycle.py" pvh
rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || failures=$((failures + 1))
assert_clean "at the end"
assert_no_dm "at the end"
# Three creates of one bzImage (create, reboot, create -c) under qemu:
# its ELF was decompressed once, into the kernel cache.
if grep -q "^xenolith_accel *: tcg" "$T/info" 2>/dev/null ||
    "$XL_BIN" info 2>/dev/null | grep -q "^xenolith_accel *: tcg"; then
    n=$(ls "$XENOLITH_RUNDIR/qemu-dm/kernels" 2>/dev/null | wc -l)
    [ "$n" = 1 ] && pass "one cached ELF for the three creates" ||
        fail "kernel cache holds $n files: $(ls "$XENOLITH_RUNDIR/qemu-dm/kernels" 2>&1)"
fi
finish

#!/bin/sh
# core.sh - the Debian guest as a PVH guest on the core (accel = "kvm",
# no device model): ELF and bzImage kernels to a shell over xl console,
# xl reboot, xl shutdown -w, xl destroy; see core.py.  It needs a KVM
# that runs a real Linux: tests/lane runs it in the nested-KVM lane
# where the host has none.
. "$(dirname "$0")/lib.sh"
dm_setup_host
[ -c /dev/kvm ] || skip "no /dev/kvm: the core cannot run this guest here"
# Debian's vmlinuz: boot, console checks, xl reboot, xl shutdown -w;
# then its ELF vmlinux: boot, console checks, xl shutdown -w, xl create
# -c and xl destroy.  CORE_KINDS picks (bench/boot/lane.sh: bzimage).
for kind in ${CORE_KINDS:-bzimage elf}; do
    python3 "$DM_DIR/core.py" $kind
    rc=$?
    [ $rc = 0 ] || failures=$((failures + 1))
    assert_clean "after the $kind kernel"
done
finish

#!/bin/sh
# ovmf.sh - the Debian guest's whole life under xl as an HVM guest
# with OVMF (type="hvm", bios="ovmf", the kernel booted directly
# through UEFI): see lifecycle.py.
. "$(dirname "$0")/lib.sh"
dm_netns "$@"
dm_setup_host
python3 "$DM_DIR/lifecycle.py" ovmf
rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || failures=$((failures + 1))
assert_clean "at the end"
assert_no_dm "at the end"
finish

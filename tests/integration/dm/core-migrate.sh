#!/bin/sh
# core-migrate.sh - a PVH Debian guest on the core with virtio disks and
# a NIC, live-migrated to this same host, saved and restored: see
# core-migrate.py.  It needs a KVM that runs a real Linux: tests/lane
# runs it in the nested-KVM lane where the host has none.
. "$(dirname "$0")/lib.sh"
dm_netns "$@"
dm_need_netns
dm_setup_host
[ -c /dev/kvm ] || skip "no /dev/kvm: the core cannot run this guest here"
dm_bridge
python3 "$DM_DIR/core-migrate.py"
rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || failures=$((failures + 1))
assert_clean "at the end"
assert_no_dm "at the end"
finish

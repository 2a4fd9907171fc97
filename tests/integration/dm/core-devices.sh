#!/bin/sh
# core-devices.sh - a PVH guest on the core with virtio disks and a NIC
# served by backend processes (xenolith-blkback, xenolith-netback on a
# bridge in the test's own network namespace): see core-devices.py.  It
# needs a KVM that runs a real Linux: tests/lane runs it in the
# nested-KVM lane where the host has none.
. "$(dirname "$0")/lib.sh"
dm_netns "$@"
[ -n "$DM_IN_NETNS" ] || skip "no private network namespace (unshare)"
command -v ip >/dev/null 2>&1 || skip "no ip (iproute2)"
dm_setup_host
[ -c /dev/kvm ] || skip "no /dev/kvm: the core cannot run this guest here"
ip link add xenbr0 type bridge && ip addr add 10.99.0.1/24 dev xenbr0 &&
    ip link set xenbr0 up && ip link set lo up ||
    hard_error "cannot make the bridge xenbr0"
python3 "$DM_DIR/core-devices.py"
rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || failures=$((failures + 1))
assert_clean "at the end"
assert_no_dm "at the end"
finish

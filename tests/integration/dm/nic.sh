#!/bin/sh
# nic.sh - guests with a vif on a bridge, in the test's own network
# namespace: an HVM guest with an emulated e1000 and a PVH guest (qemu)
# with virtio-net; the tap goes on the bridge, the guest pings the host
# through it, and xl destroy leaves no tap: see lifecycle.py.
. "$(dirname "$0")/lib.sh"
dm_netns "$@"
[ -n "$DM_IN_NETNS" ] || skip "no private network namespace (unshare)"
command -v ip >/dev/null 2>&1 || skip "no ip (iproute2)"
dm_setup_host
ip link add xenbr0 type bridge && ip addr add 10.99.0.1/24 dev xenbr0 &&
    ip link set xenbr0 up && ip link set lo up ||
    hard_error "cannot make the bridge xenbr0"
for k in nic-seabios nic-pvh; do
    python3 "$DM_DIR/lifecycle.py" $k
    rc=$?
    [ $rc = 0 ] || [ $rc = 77 ] || failures=$((failures + 1))
done
assert_clean "at the end"
assert_no_dm "at the end"
finish

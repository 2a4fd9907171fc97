#!/bin/sh
# nic.sh - guests with a vif on a bridge, in the test's own network
# namespace: an HVM guest with an emulated e1000 and a PVH guest (qemu)
# with virtio-net; the tap goes on the bridge, the guest pings the host
# through it, and xl destroy leaves no tap: see lifecycle.py.
. "$(dirname "$0")/lib.sh"
dm_netns "$@"
dm_need_netns
dm_setup_host
dm_bridge
for k in nic-seabios nic-pvh; do
    python3 "$DM_DIR/lifecycle.py" $k
    rc=$?
    [ $rc = 0 ] || [ $rc = 77 ] || failures=$((failures + 1))
done
assert_clean "at the end"
assert_no_dm "at the end"
finish

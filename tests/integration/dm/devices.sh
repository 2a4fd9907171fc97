#!/bin/sh
# devices.sh - an HVM guest's devices changed while it runs: xl cd-insert
# and cd-eject on an empty IDE cdrom, xl mem-set through virtio-balloon,
# the refused inserts: see devices.py.
. "$(dirname "$0")/lib.sh"
dm_netns "$@"
dm_setup_host
python3 "$DM_DIR/devices.py"
rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || failures=$((failures + 1))
assert_clean "at the end"
assert_no_dm "at the end"
finish

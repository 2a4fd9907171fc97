#!/bin/sh
# blkback.sh - a PVH guest's disks served by its block backend
# (xenolith-blkback, qemu-storage-daemon over vhost-user): see blkback.py.
. "$(dirname "$0")/lib.sh"
dm_netns "$@"
dm_setup_host
python3 "$DM_DIR/blkback.py"
rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || failures=$((failures + 1))
assert_clean "at the end"
assert_no_dm "at the end"
finish

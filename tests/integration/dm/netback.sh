#!/bin/sh
# netback.sh - two PVH guests whose NICs their network backend serves
# (xenolith-netback, vhost-user, taps on a bridge in the test's own
# network namespace): see netback.py.
. "$(dirname "$0")/lib.sh"
dm_netns "$@"
dm_need_netns
dm_setup_host
dm_bridge
python3 "$DM_DIR/netback.py"
rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || failures=$((failures + 1))
assert_clean "at the end"
assert_no_dm "at the end"
finish

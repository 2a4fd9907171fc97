#!/bin/sh
# netback.sh - two PVH guests whose NICs their network backend serves
# (xenolith-netback, vhost-user, taps on a bridge in the test's own
# network namespace): see netback.py.
. "$(dirname "$0")/lib.sh"
dm_netns "$@"
[ -n "$DM_IN_NETNS" ] || skip "no private network namespace (unshare)"
command -v ip >/dev/null 2>&1 || skip "no ip (iproute2)"
dm_setup_host
ip link add xenbr0 type bridge && ip addr add 10.99.0.1/24 dev xenbr0 &&
    ip link set xenbr0 up && ip link set lo up ||
    hard_error "cannot make the bridge xenbr0"
python3 "$DM_DIR/netback.py"
rc=$?
[ $rc = 77 ] && exit 77
[ $rc = 0 ] || failures=$((failures + 1))
assert_clean "at the end"
assert_no_dm "at the end"
finish

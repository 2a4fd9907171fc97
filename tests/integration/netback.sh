#!/bin/sh
# netback.sh - backends/net/xenolith-netback in a private network
# namespace against a private xenstored, then with a real Debian guest
# under qemu (TCG) as its frontend: bad starts; two vifs (one with a
# rate) made as taps, up, with their sockets and Xen's nodes, a stale
# tap removed; a hotplugged vif and its detach; a vif with a bad mac
# refused, one whose tap is deleted; a vhost-user frontend of our own
# (netback-frontend.py): tx and merged rx buffers, the offloads against
# the host's TCP (an address on vif5.0 while it runs), broken messages
# and rings; then the guest (netback-guest.py): the taps' offloads,
# ping, 64 MiB each way with md5s and MB/s, the rate limit, xenstored
# killed (the packets go on) and back from its snapshot, kill -9 of the
# backend's worker (its supervisor starts another; the taps stay on
# their bridges) and of the whole backend (a new one takes the taps
# over), qemu reconnecting each time, and the domain's death (exit 0,
# taps, sockets and directory gone).
#
# Environment (set by tests/integration/Makefile.am; defaults for a run
# by hand from the build tree's tests/integration): BUILD (top build
# dir), NETBACK (the program), XENSTORED_BIN, NETBACK_FIXTURE (the guest
# fixture script); NETBACK_VALGRIND=1 runs every backend under valgrind
# (any error or leak fails its exit status).  Helpers:
# netback-frontend.py (a vhost-user frontend of our own),
# netback-guest.py (the guest).
# Exit: 0 pass, 1 fail, 77 skip (not root, no qemu), 99 error.

BUILD=${BUILD:-$(cd ../.. && pwd)}
NETBACK=${NETBACK:-$BUILD/backends/net/xenolith-netback}
XENSTORED_BIN=${XENSTORED_BIN:-$BUILD/xenstored/xenstored}
XS=$BUILD/libs/store/tools/xenstore
HERE=$(cd "$(dirname "$0")" && pwd)
NETBACK_FIXTURE=${NETBACK_FIXTURE:-$HERE/../fixtures/debian-guest.sh}

failures=0
T=""

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
hard_error() { echo "ERROR: $*"; exit 99; }

[ "$(id -u)" = 0 ] || skip "not root (taps, bridges, a network namespace)"
QEMU=$(command -v qemu-system-x86_64) || skip "no qemu-system-x86_64"
for c in python3 ip unshare; do
    command -v $c >/dev/null || hard_error "no $c"
done
[ -x "$NETBACK" ] || hard_error "no xenolith-netback at $NETBACK"
[ -x "$XENSTORED_BIN" ] || hard_error "no xenstored at $XENSTORED_BIN"
[ -x "$XS" ] || hard_error "no xenstore tool at $XS"

# A network namespace of our own: the taps and bridges are the test's.
if [ -z "$NETBACK_IN_NETNS" ]; then
    NETBACK_IN_NETNS=1
    export NETBACK_IN_NETNS
    exec unshare --net sh "$0" "$@"
fi
ip link set lo up || hard_error "no network namespace of our own"
# No IPv6 on the taps: their router solicitations would take the rx
# buffers netback-frontend.py counts.
for f in /proc/sys/net/ipv6/conf/default/disable_ipv6 \
         /proc/sys/net/ipv6/conf/all/disable_ipv6; do
    [ ! -e "$f" ] || echo 1 >"$f"
done

# Under valgrind through libtool: $NETBACK is libtool's wrapper script.
NB_CMD=$NETBACK
[ -z "$NETBACK_VALGRIND" ] ||
    NB_CMD="$BUILD/libtool --mode=execute valgrind -q --leak-check=full
        --show-leak-kinds=all --errors-for-leak-kinds=all
        --error-exitcode=99 $NETBACK"

# Waits (up to $2 s, default 10) until the command in $1 succeeds.
wait_until()
{
    n=0
    lim=$(( ${2:-10} * 10 ))
    while ! eval "$1" >/dev/null 2>&1; do
        n=$((n + 1))
        [ $n -le $lim ] || return 1
        sleep 0.1
    done
}

xs_read() { "$XS" read "$1" 2>/dev/null; }
be() { echo "/local/domain/0/backend/vif/$1/$2"; }
has_link() { ip link show "$1" >/dev/null 2>&1; }

teardown()
{
    rc=$?
    [ -n "$T" ] || exit $rc
    [ -z "$NB" ] || kill -9 "$NB" 2>/dev/null
    [ -z "$XSD" ] || kill "$XSD" 2>/dev/null
    wait 2>/dev/null
    if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
        echo "---- tail of $T/netback.log"
        tail -30 "$T/netback.log" 2>/dev/null
    fi
    rm -rf "$T"
    exit $rc
}

T=$(mktemp -d /tmp/netback-test.XXXXXX) || hard_error "mktemp"
XSD=""
NB=""
trap teardown EXIT
trap 'exit 99' INT TERM
export XENOLITH_RUNDIR=$T/run
export XENSTORED_RUNDIR=$T/xs
export XENSTORED_PATH=$T/xs/socket
mkdir -p "$XENSTORED_RUNDIR" "$XENOLITH_RUNDIR"
# With a snapshot: netback-guest.py kills it and starts it again.
"$XENSTORED_BIN" -N -L "$T/xenstored.log" --snapshot "$T/store.snapshot" \
    >"$T/xenstored.out" 2>&1 &
XSD=$!
wait_until '[ -S "$XENSTORED_PATH" ]' 5 ||
    hard_error "xenstored did not start: $(cat "$T/xenstored.out")"
GUEST=$(sh "$NETBACK_FIXTURE") ||
    hard_error "no Debian guest: $NETBACK_FIXTURE failed (status $?)"

# ---- bad starts: a message, status 1, nothing left -------------------------
"$XS" write /local/domain/5/name guest5 || hard_error "xenstore write"
check_bad_start()
{
    what=$1
    shift
    "$@" >"$T/bad.out" 2>&1
    st=$?
    if [ "$st" != 1 ]; then
        fail "$what: exit status $st, not 1: $(cat "$T/bad.out")"
    elif ! grep -q -- "$expect" "$T/bad.out"; then
        fail "$what: no message about '$expect': $(cat "$T/bad.out")"
    elif [ -e "$XENOLITH_RUNDIR/backends/vif-5" ] ||
         [ -e "$XENOLITH_RUNDIR/backends/vif-9" ]; then
        fail "$what: left $(ls -d "$XENOLITH_RUNDIR"/backends/vif-*)"
    else
        pass "$what: $(grep -- "$expect" "$T/bad.out" | head -1)"
    fi
}
expect="domain 9 does not exist"
check_bad_start "an unknown domain" $NB_CMD --domid 9
expect="not a domain id"
check_bad_start "--domid 0" $NB_CMD --domid 0
expect="--domid is required"
check_bad_start "no --domid" $NB_CMD
expect="cannot reach xenstore"
check_bad_start "no xenstored" env XENSTORED_PATH="$T/nothing" $NB_CMD --domid 5

# ---- two vifs, as libxl writes them (one transaction each) -----------------
DIR=$XENOLITH_RUNDIR/backends/vif-5
write_vif()
{
    devid=$1 mac=$2 bridge=$3 d=$(be 5 "$1")
    shift 3
    "$XS" write "$d/frontend" "/local/domain/5/device/vif/$devid" \
        "$d/frontend-id" 5 "$d/handle" "$devid" "$d/mac" "$mac" \
        "$d/bridge" "$bridge" "$d/script" "" "$d/type" vif "$d/online" 1 \
        "$d/state" 1 "$@" ||
        hard_error "xenstore write of vif $devid"
}
write_vif 0 00:16:3e:00:00:05 xenbr0
write_vif 1 00:16:3e:00:01:05 xenbr1 "$(be 5 1)/rate" 25000,50000

# A tap an earlier backend left (persistent) for a vif now gone.
ip tuntap add dev vif5.7 mode tap || hard_error "cannot make a tap"

$NB_CMD --domid 5 >"$T/netback.log" 2>&1 &
NB=$!

connected()
{
    [ "$(xs_read "$(be 5 "$1")/hotplug-status")" = connected ] &&
        [ "$(xs_read "$(be 5 "$1")/state")" = 4 ]
}
check_vif()
{
    devid=$1 what=$2 tap=vif5.$1
    sock=$(xs_read "$(be 5 "$devid")/vhost-user-socket")
    if [ "$(xs_read "$(be 5 "$devid")/vifname")" != "$tap" ]; then
        fail "$what: $devid: vifname '$(xs_read "$(be 5 "$devid")/vifname")'"
    elif [ "$sock" != "$DIR/$devid.sock" ] || [ ! -S "$sock" ]; then
        fail "$what: $devid: vhost-user-socket '$sock' is not a socket"
    elif ! ip link show "$tap" | grep -q "[<,]UP[,>]"; then
        fail "$what: $devid: tap $tap is not up: $(ip link show "$tap")"
    elif ! ip -d link show "$tap" | grep -q "tun type tap"; then
        fail "$what: $devid: $tap is not a tap"
    elif ! ip link show "$tap" | grep -q "link/ether fe:ff:ff:ff:ff:ff"; then
        fail "$what: $devid: $tap's address is not fe:ff:ff:ff:ff:ff"
    else
        pass "$what: vif $devid connected: tap $tap up, socket $sock"
    fi
}
if wait_until 'connected 0 && connected 1' 20; then
    check_vif 0 "start"
    check_vif 1 "start"
else
    fail "start: not connected: 0 '$(xs_read "$(be 5 0)/hotplug-status")'," \
        "1 '$(xs_read "$(be 5 1)/hotplug-status")'"
fi
[ "$(stat -c %a "$DIR" 2>/dev/null)" = 700 ] ||
    fail "start: $DIR is not mode 0700"
if ! has_link vif5.7 && grep -q "removed tap vif5.7" "$T/netback.log"; then
    pass "start: the stale tap vif5.7 (no vif 7) was removed"
else
    fail "start: the stale tap vif5.7 is still there"
fi
expect="another xenolith-netback serves this domain"
"$NETBACK" --domid 5 >"$T/bad.out" 2>&1
st=$?
if [ $st = 1 ] && grep -q "$expect" "$T/bad.out" && connected 0; then
    pass "a second backend: $(grep "$expect" "$T/bad.out")"
else
    fail "a second backend: status $st: $(cat "$T/bad.out")"
fi

# ---- hotplug, detach, a refused vif -----------------------------------------
write_vif 2 00:16:3e:00:02:05 xenbr0
if wait_until 'connected 2' 10; then
    check_vif 2 "hotplug"
else
    fail "hotplug: vif 2 '$(xs_read "$(be 5 2)/hotplug-status")'"
fi
"$XS" rm "$(be 5 2)"
if wait_until '! has_link vif5.2 && [ ! -e "$DIR/2.sock" ]' 10; then
    pass "detach: tap vif5.2 and $DIR/2.sock are gone"
else
    fail "detach: vif5.2 or its socket is still there"
fi
[ -z "$("$XS" ls "$(be 5 2)" 2>/dev/null)" ] ||
    fail "detach: $(be 5 2) was written again"
# a tap deleted from under the backend: that vif is refused, not the rest
write_vif 4 00:16:3e:00:04:05 xenbr0
wait_until 'connected 4' 10 && ip link del vif5.4 ||
    fail "tap removed: vif 4 never connected"
if wait_until '[ "$(xs_read "$(be 5 4)/hotplug-status")" = error ]' 10; then
    pass "tap removed: hotplug-error '$(xs_read "$(be 5 4)/hotplug-error")'"
else
    fail "tap removed: hotplug-status" \
        "'$(xs_read "$(be 5 4)/hotplug-status")'"
fi
"$XS" rm "$(be 5 4)"
wait_until '[ ! -e "$DIR/4.sock" ]' 10 ||
    fail "tap removed: $DIR/4.sock is still there after the detach"
write_vif 3 00:16:3e:zz:03:05 xenbr0
if wait_until '[ "$(xs_read "$(be 5 3)/hotplug-status")" = error ]' 10; then
    err=$(xs_read "$(be 5 3)/hotplug-error")
    case $err in
    "mac '00:16:3e:zz:03:05' is not a MAC address"*)
        pass "bad mac: hotplug-error '$err'" ;;
    *) fail "bad mac: hotplug-error '$err'" ;;
    esac
    has_link vif5.3 && fail "bad mac: a tap vif5.3 was made"
else
    fail "bad mac: hotplug-status '$(xs_read "$(be 5 3)/hotplug-status")'"
fi
"$XS" rm "$(be 5 3)"
connected 0 && connected 1 || fail "the first vifs are no longer connected"

# ---- a frontend of our own on vif 0: the data path, broken messages -------
SOCK=$DIR/0.sock TAP=vif5.0 NB_LOG=$T/netback.log NB_PID=$NB \
    python3 "$HERE/netback-frontend.py" || failures=$((failures + 1))

# ---- the bridges (what the vif hotplug script does) and the guest -----------
# Fixed bridge addresses: a bridge's own does not follow its ports'
# (the guest's ARP entries stay right whatever the taps do).
ip link add xenbr0 address 02:00:00:00:00:10 type bridge &&
    ip addr add 10.99.0.1/24 dev xenbr0 && ip link set xenbr0 up &&
    ip link set vif5.0 master xenbr0 &&
ip link add xenbr1 address 02:00:00:00:00:11 type bridge &&
    ip addr add 10.99.1.1/24 dev xenbr1 && ip link set xenbr1 up &&
    ip link set vif5.1 master xenbr1 ||
    hard_error "cannot make the bridges"

XS=$XS NETBACK_CMD=$NB_CMD NB_PID=$NB NB_LOG=$T/netback.log GUEST=$GUEST \
    QEMU=$QEMU T=$T XSD_PID=$XSD XENSTORED_BIN=$XENSTORED_BIN \
    python3 "$HERE/netback-guest.py" || failures=$((failures + 1))
# netback-guest.py killed the backend and xenstored above and reaped
# their successors.
wait 2>/dev/null
NB=""
XSD=""
grep -q "ERROR SUMMARY: [1-9]\|Process terminating" "$T/netback.log" &&
    fail "valgrind: $(grep -m1 "ERROR SUMMARY\|Process terminating" \
        "$T/netback.log")"

if [ "$failures" != 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all passed"
exit 0

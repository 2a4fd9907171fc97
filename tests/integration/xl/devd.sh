#!/bin/sh
# devd.sh - xl devd, this host as the driver domain of domains another
# toolstack made: private daemons (xencommons) in a network namespace of
# the test's own, no guest.  As a foreign toolstack would, the test
# writes Xen's backend directories with xenstore-write for a made-up
# domain 42 (not in the core; its /local/domain/42 written too: the
# backends leave at once, or refuse to start, when a domain has none)
# and checks what xl devd makes of them:
#  - xl devd -F: a vbd (a raw image) gets the domain's xenolith-blkback,
#    state 4, hotplug-status connected, its vhost-user socket serving the
#    image's capacity; a vif gets xenolith-netback, tap vif42.0, which
#    the vif script puts on the test's bridge; SIGTERM ends devd (0) and
#    the backends serve on;
#  - xl devd -p PIDFILE (daemonized): returns at once, the pidfile and
#    its log; a second xl devd is refused (exit 1, saying why); the
#    devices served already are taken over; removing a directory removes
#    the device (socket, tap), and with the domain's last device of its
#    class the backend goes; a vbd for a domain xenstore does not have and
#    one whose image is missing get hotplug-status error with the reason;
#    SIGTERM ends it and removes the pidfile;
#  - nothing left: no backend, socket, tap, log or node.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

[ "$(id -u)" = 0 ] || skip "needs root (taps, a network namespace)"
for c in ip unshare python3; do
    command -v $c >/dev/null || hard_error "no $c"
done
# A network namespace of our own: the taps and the bridge are the test's.
if [ -z "${DEVD_IN_NETNS:-}" ]; then
    DEVD_IN_NETNS=1
    export DEVD_IN_NETNS
    exec unshare --net sh "$0" "$@"
fi
ip link set lo up || hard_error "no network namespace of our own"

[ -x "$XL_BIN" ] || hard_error "no xl at $XL_BIN"
[ -f "$XENCOMMONS" ] || hard_error "no xencommons at $XENCOMMONS"
export XENOLITH_BLKBACK=${XENOLITH_BLKBACK:-$BUILD/backends/blk/xenolith-blkback}
export XENOLITH_NETBACK=${XENOLITH_NETBACK:-$BUILD/backends/net/xenolith-netback}
[ -x "$XENOLITH_BLKBACK" ] || hard_error "no xenolith-blkback at $XENOLITH_BLKBACK"
[ -x "$XENOLITH_NETBACK" ] || hard_error "no xenolith-netback at $XENOLITH_NETBACK"
export XENOLITH_SCRIPTS_DIR=${XENOLITH_SCRIPTS_DIR:-$HERE/../../../hotplug}
[ -x "$XENOLITH_SCRIPTS_DIR/vif-bridge" ] ||
    hard_error "no vif-bridge in $XENOLITH_SCRIPTS_DIR"

xs_write() { "$XENSTORE_BINDIR/xenstore-write" "$@" >/dev/null 2>&1; }
xs_rm() { "$XENSTORE_BINDIR/xenstore-rm" "$1" >/dev/null 2>&1; }
xs_exists() { "$XENSTORE_BINDIR/xenstore-exists" "$1" >/dev/null 2>&1; }

DEVD=""         # the xl devd the test runs now
BACKENDS=""     # every backend pid seen, for the teardown

devd_teardown()
{
    rc=$?
    for p in $DEVD $BACKENDS; do
        kill -9 "$p" 2>/dev/null
    done
    (exit $rc)
    teardown_host
}

# The host daemons, as lib.sh's setup_host, without its KVM and guests:
# nothing runs a guest here.
T=$(mktemp -d /tmp/xl-devd.XXXXXX) || hard_error "mktemp"
export XENOLITH_RUNDIR=$T/run
export XL_CONF_FILE=/dev/null
unset XENSTORED_PATH XENSTORED_RUNDIR XENOLITH_CORE_SOCKET
mkdir -p "$XENOLITH_RUNDIR"
trap devd_teardown EXIT
trap 'exit 99' INT TERM
sh "$XENCOMMONS" start >"$T/xencommons.out" 2>&1 ||
    { cat "$T/xencommons.out"; hard_error "xencommons start failed"; }
export XENSTORED_PATH=$XENOLITH_RUNDIR/xenstored/socket

ip link add xenbr0 type bridge && ip link set xenbr0 up ||
    hard_error "cannot make bridge xenbr0 in the test's namespace"

D=42
VBD=/local/domain/0/backend/vbd/$D/51712
VIF=/local/domain/0/backend/vif/$D/0
BK=$XENOLITH_RUNDIR/backends
truncate -s 8M "$T/disk.img" || hard_error "truncate"

# The foreign toolstack's side: the domain's own directory, then each
# device in one transaction-like write (xenstore-write of every key).
xs_write /local/domain/$D/name foreign42 ||
    hard_error "xenstore-write /local/domain/$D"

add_vbd()   # add_vbd DOMID DEVID VDEV IMAGE
{
    be=/local/domain/0/backend/vbd/$1/$2
    fe=/local/domain/$1/device/vbd/$2
    xs_write "$be/frontend" "$fe" "$be/frontend-id" "$1" \
        "$be/params" "$4" "$be/format" raw "$be/mode" w "$be/dev" "$3" \
        "$be/type" file "$be/online" 1 "$be/state" 1 \
        "$fe/backend" "$be" "$fe/backend-id" 0 "$fe/state" 1 \
        "$fe/virtual-device" "$2" || hard_error "xenstore-write $be"
}

add_vif()   # add_vif DOMID DEVID
{
    be=/local/domain/0/backend/vif/$1/$2
    fe=/local/domain/$1/device/vif/$2
    xs_write "$be/frontend" "$fe" "$be/frontend-id" "$1" \
        "$be/handle" "$2" "$be/mac" 00:16:3e:00:2a:0$2 \
        "$be/bridge" xenbr0 "$be/script" vif-bridge "$be/type" vif \
        "$be/online" 1 "$be/state" 1 \
        "$fe/backend" "$be" "$fe/backend-id" 0 "$fe/handle" "$2" \
        "$fe/mac" 00:16:3e:00:2a:0$2 "$fe/state" 1 ||
        hard_error "xenstore-write $be"
}

# The disk's capacity (sectors) in its vhost-user-blk export's config
# space, asked over the socket as the guest's qemu would (vufront.py).
vhost_capacity()
{
    PYTHONDONTWRITEBYTECODE=1 python3 "$HERE/../vufront.py" capacity "$1"
}

backend_pid() { xs_read /libxl/$D/$1-pid; }
sid_of() { sed 's/.*) //' "/proc/$1/stat" | cut -d' ' -f4; }
runs() { [ -n "$1" ] && ! exited "$1"; }
note_backend() { [ -z "$1" ] || BACKENDS="$BACKENDS $1"; }

check_vbd_served()   # what
{
    if ! wait_until "[ \"\$(xs_read $VBD/hotplug-status)\" = connected ]" 20
    then
        fail "$1: vbd not connected: status '$(xs_read $VBD/hotplug-status)'" \
            "error '$(xs_read $VBD/hotplug-error)'"
        return
    fi
    bb=$(backend_pid blkback)
    note_backend "$bb"
    sock=$(xs_read $VBD/vhost-user-socket)
    cap=$(vhost_capacity "$sock" 2>&1)
    if [ "$(xs_read $VBD/state)" != 4 ]; then
        fail "$1: vbd state '$(xs_read $VBD/state)', not 4"
    elif ! runs "$bb" || ! grep -q xenolith-blkback "/proc/$bb/cmdline"; then
        fail "$1: no xenolith-blkback for domain $D (pid '$bb')"
    elif [ "$sock" != "$BK/vbd-$D/51712.sock" ] || [ ! -S "$sock" ]; then
        fail "$1: vhost-user socket '$sock' missing"
    elif [ "$cap" != 16384 ]; then
        fail "$1: the export's capacity is '$cap', not 16384 sectors"
    else
        pass "$1: xenolith-blkback (pid $bb) serves the vbd: state 4," \
            "connected, $sock serving 16384 sectors"
    fi
}

check_vif_served()   # what
{
    if ! wait_until "[ \"\$(xs_read $VIF/hotplug-status)\" = connected ]" 20
    then
        fail "$1: vif not connected: status '$(xs_read $VIF/hotplug-status)'" \
            "error '$(xs_read $VIF/hotplug-error)'"
        return
    fi
    nb=$(backend_pid netback)
    note_backend "$nb"
    # the script runs just after the backend answered
    wait_until "ip -o link show dev vif$D.0 | grep -q 'master xenbr0'" 10
    if [ "$(xs_read $VIF/state)" != 4 ]; then
        fail "$1: vif state '$(xs_read $VIF/state)', not 4"
    elif ! runs "$nb" || ! grep -q xenolith-netback "/proc/$nb/cmdline"; then
        fail "$1: no xenolith-netback for domain $D (pid '$nb')"
    elif [ "$(xs_read $VIF/vifname)" != "vif$D.0" ]; then
        fail "$1: vifname '$(xs_read $VIF/vifname)', not vif$D.0"
    elif [ ! -S "$BK/vif-$D/0.sock" ]; then
        fail "$1: no vhost-user socket $BK/vif-$D/0.sock"
    elif ! ip -o link show dev vif$D.0 | grep -q 'master xenbr0'; then
        fail "$1: tap vif$D.0 is not on xenbr0 (vif-bridge online):" \
            "$(ip -o link show dev vif$D.0 2>&1)"
    else
        pass "$1: xenolith-netback (pid $nb) serves the vif: state 4," \
            "tap vif$D.0 on xenbr0, its socket"
    fi
}

# ---- xl devd -F -------------------------------------------------------------
FLOG=$XENOLITH_RUNDIR/log/devd-F.log    # shown by the teardown on failure
mkdir -p "$XENOLITH_RUNDIR/log"
"$XL_BIN" devd -F >"$FLOG" 2>&1 &
DEVD=$!
wait_until "grep -q 'serving the devices' '$FLOG'" 10 ||
    fail "xl devd -F did not start: $(cat "$FLOG")"

add_vbd $D 51712 xvda "$T/disk.img"
check_vbd_served "devd -F"
add_vif $D 0
check_vif_served "devd -F"

bb=$(backend_pid blkback)
nb=$(backend_pid netback)
kill -TERM "$DEVD"
wait "$DEVD"
st=$?
DEVD=""
if [ "$st" != 0 ]; then
    fail "xl devd -F after SIGTERM: exit status $st: $(tail -3 "$FLOG")"
elif ! runs "$bb" || ! runs "$nb" ||
     [ "$(xs_read $VBD/hotplug-status)" != connected ]; then
    fail "the backends did not outlive xl devd (blkback '$bb', netback '$nb')"
else
    pass "SIGTERM: xl devd -F exits 0, the backends serve on"
fi

# ---- xl devd -p PIDFILE (a daemon) ------------------------------------------
PIDFILE=$T/devd.pid
LOG=$XENOLITH_RUNDIR/log/xl-xldevd.log
run_xl devd -p "$PIDFILE"
DEVD=$(cat "$PIDFILE" 2>/dev/null)
if [ "$xlrc" != 0 ]; then
    fail "xl devd -p: exit status $xlrc: $(cat "$T/err")"
elif ! runs "$DEVD"; then
    fail "xl devd -p: the pidfile names '$DEVD', which does not run"
elif ! grep -q "daemon started \[pid $DEVD\]" "$LOG" 2>/dev/null; then
    fail "xl devd -p: no log $LOG: $(cat "$LOG" 2>&1)"
elif [ "$(sid_of "$DEVD")" = "$(sid_of $$)" ] ||
     [ "$(sid_of "$DEVD")" = "$DEVD" ]; then
    fail "xl devd -p: the daemon's session is $(sid_of "$DEVD") (the" \
        "test's $(sid_of $$)): not a session of its own without a leader"
else
    pass "xl devd -p: a daemon (pid $DEVD, a session of its own), $PIDFILE," \
        "$LOG"
fi

run_xl devd -F
[ "$xlrc" = 1 ] && grep -q "another xl devd runs" "$T/err" &&
    pass "a second xl devd: refused: $(cat "$T/err")" ||
    fail "a second xl devd: status $xlrc: $(cat "$T/out" "$T/err")"
run_xl devd -p "$T/second.pid"
[ "$xlrc" = 1 ] && grep -q "another xl devd runs" "$T/err" &&
    [ ! -e "$T/second.pid" ] &&
    pass "a second xl devd -p: refused, status 1, no pidfile" ||
    fail "a second xl devd -p: status $xlrc: $(cat "$T/out" "$T/err")"

wait_until "grep -q 'vbd 51712 (xvda) served already' '$LOG'" 10 &&
    wait_until "grep -q 'vif 0 served already' '$LOG'" 10 &&
    [ "$(backend_pid blkback)" = "$bb" ] && [ "$(backend_pid netback)" = "$nb" ] &&
    pass "the daemon takes over the devices served already" ||
    fail "takeover: blkback '$(backend_pid blkback)' (was $bb), netback" \
        "'$(backend_pid netback)' (was $nb): $(cat "$LOG")"

# removing the directories: the devices go, then their backends
xs_rm $VBD
xs_rm /local/domain/$D/device/vbd/51712
if ! wait_until "exited $bb" 10; then
    fail "vbd removed: xenolith-blkback $bb still runs"
elif ! wait_until "[ ! -e $BK/vbd-$D ] && [ ! -e $BK/vbd-$D.log ] &&
                   ! xs_exists /libxl/$D/blkback-pid" 5; then
    fail "vbd removed: left $(ls -d "$BK"/vbd-$D* 2>/dev/null)" \
        "$(xs_read /libxl/$D/blkback-pid)"
else
    pass "vbd removed: its socket gone, xenolith-blkback stopped with" \
        "the domain's last disk"
fi
xs_rm $VIF
xs_rm /local/domain/$D/device/vif/0
if ! wait_until "exited $nb" 10; then
    fail "vif removed: xenolith-netback $nb still runs"
elif ip link show dev vif$D.0 >/dev/null 2>&1; then
    fail "vif removed: tap vif$D.0 is still there"
elif ! wait_until "[ ! -e $BK/vif-$D ] && [ ! -e $BK/vif-$D.log ] &&
                   ! xs_exists /libxl/$D" 5; then
    fail "vif removed: left $(ls -d "$BK"/vif-$D* 2>/dev/null)" \
        "$(xs_ls /libxl/$D)"
else
    pass "vif removed: tap and socket gone, xenolith-netback stopped"
fi

# again, with the daemon from the start
add_vbd $D 51712 xvda "$T/disk.img"
check_vbd_served "devd daemon"
add_vif $D 0
check_vif_served "devd daemon"
bb=$(backend_pid blkback)
nb=$(backend_pid netback)
xs_rm $VBD
xs_rm $VIF
wait_until "exited $bb && exited $nb && [ -z \"\$(ls $BK)\" ] &&
            ! xs_exists /libxl/$D" 10 &&
    ! ip link show dev vif$D.0 >/dev/null 2>&1 &&
    pass "both removed: both backends gone, no tap, no sockets" ||
    fail "both removed: blkback $bb, netback $nb, $(ls "$BK" 2>&1)"

# refusals: said in the device's directory.  Domain 43 has no
# /local/domain/43 (only its backend directory, which makes none).
B43=/local/domain/0/backend/vbd/43/51712
xs_write "$B43/frontend-id" 43 "$B43/params" "$T/disk.img" \
    "$B43/format" raw "$B43/mode" w "$B43/dev" xvda "$B43/state" 1 ||
    hard_error "xenstore-write $B43"
wait_until "[ \"\$(xs_read $B43/hotplug-status)\" = error ]" 10
case $(xs_read $B43/hotplug-error) in
*"domain 43 does not exist"*)
    pass "a domain xenstore does not have: hotplug-error" \
        "'$(xs_read $B43/hotplug-error)'" ;;
*)
    fail "domain 43: status '$(xs_read $B43/hotplug-status)'," \
        "error '$(xs_read $B43/hotplug-error)'" ;;
esac
grep -q "domain 43 does not exist" "$LOG" ||
    fail "domain 43's refusal is not in $LOG"
xs_rm /local/domain/0/backend/vbd/43

add_vbd $D 51712 xvda "$T/missing.img"
wait_until "[ \"\$(xs_read $VBD/hotplug-status)\" = error ]" 20
note_backend "$(backend_pid blkback)"
case $(xs_read $VBD/hotplug-error) in
*missing.img*"No such file"*)
    pass "a missing image: hotplug-error '$(xs_read $VBD/hotplug-error)'"
    grep -q "missing.img.*No such file" "$LOG" ||
        fail "the missing image's refusal is not in $LOG" ;;
*)
    fail "a missing image: status '$(xs_read $VBD/hotplug-status)'," \
        "error '$(xs_read $VBD/hotplug-error)'" ;;
esac
bb=$(backend_pid blkback)
xs_rm $VBD
wait_until "exited $bb" 10 || fail "the refused disk removed: blkback $bb runs"

# the domain's death (/local/domain/42 removed): the backends leave by
# themselves (taps and sockets with them); the toolstack then removes the
# backend directories, and devd forgets the domain
add_vbd $D 51712 xvda "$T/disk.img"
add_vif $D 0
check_vbd_served "before the domain's death"
check_vif_served "before the domain's death"
bb=$(backend_pid blkback)
nb=$(backend_pid netback)
xs_rm /local/domain/$D
if ! wait_until "exited $bb && exited $nb" 10; then
    fail "the domain's death: blkback $bb or netback $nb still runs"
elif ip link show dev vif$D.0 >/dev/null 2>&1 || [ -e "$BK/vbd-$D" ] ||
     [ -e "$BK/vif-$D" ]; then
    fail "the domain's death: left tap or sockets: $(ls "$BK")"
else
    xs_rm /local/domain/0/backend/vbd/$D
    xs_rm /local/domain/0/backend/vif/$D
    wait_until "[ -z \"\$(ls $BK)\" ] && ! xs_exists /libxl/$D" 10 &&
        pass "the domain's death: both backends leave by themselves;" \
            "its directories removed, devd forgets it (logs, /libxl/$D)" ||
        fail "after the domain's death: left $(ls "$BK") $(xs_ls /libxl/$D)"
fi
grep -q "its block backend (pid $bb) exited" "$LOG" ||
    fail "the block backend's exit is not in $LOG"
xs_write /local/domain/$D/name foreign42

# SIGTERM: the daemon leaves, its pidfile with it
kill -TERM "$DEVD"
if ! wait_until "exited $DEVD" 10; then
    fail "SIGTERM: xl devd $DEVD still runs"
elif [ -e "$PIDFILE" ]; then
    fail "SIGTERM: $PIDFILE left"
else
    pass "SIGTERM: the daemon exits, $PIDFILE removed"
    DEVD=""
fi

# ---- nothing left -------------------------------------------------------------
xs_rm /local/domain/0/backend/vbd/$D
xs_rm /local/domain/0/backend/vif/$D
xs_rm /local/domain/$D
left=""
for p in $BACKENDS; do
    runs "$p" && left="$left process $p"
done
for f in "$BK"/*; do
    [ -e "$f" ] && left="$left $f"
done
ip -o link show | grep -q "vif$D\." && left="$left tap"
xs_exists /libxl/$D && left="$left /libxl/$D"
xs_exists /libxl/43 && left="$left /libxl/43"
[ -z "$left" ] && pass "nothing left: no backend, socket, log, tap or node" ||
    fail "left:$left"
assert_clean "the end"

finish

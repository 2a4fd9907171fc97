#!/bin/sh
# blkback.sh - backends/blk/xenolith-blkback against a private xenstored
# and the real qemu-storage-daemon: a raw disk served with no daemon
# running, a qcow2 disk hotplugged (the daemon starts for it), both
# checked over their vhost-user sockets, a hotplugged disk whose file is
# missing, an online resize, the daemon killed and restarted, a detach
# (the last qcow2 disk's stops the daemon; the next one starts it
# again), the domain's death, a daemon that keeps dying, daemons that
# cannot start (only the qcow2 disk is refused, saying why), bad starts.
#
# Environment (set by tests/integration/Makefile.am; defaults for a run
# by hand from the build tree's tests/integration): BUILD (top build
# dir), BLKBACK (the program), XENSTORED_BIN; BLKBACK_VALGRIND=1 runs
# the serving blkback (supervisor, worker and disk threads) under
# valgrind, its errors and leaks failing the exit status check.
# Exit: 0 pass, 1 fail, 77 skip (no qemu-storage-daemon), 99 error.

BUILD=${BUILD:-$(cd ../.. && pwd)}
BLKBACK=${BLKBACK:-$BUILD/backends/blk/xenolith-blkback}
XENSTORED_BIN=${XENSTORED_BIN:-$BUILD/xenstored/xenstored}
XS=$BUILD/libs/store/tools/xenstore

failures=0
T=""

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
hard_error() { echo "ERROR: $*"; exit 99; }

QSD=$(command -v qemu-storage-daemon) ||
    skip "no qemu-storage-daemon (Debian: qemu-system-common)"
command -v qemu-img >/dev/null || hard_error "no qemu-img (qemu-utils)"
command -v python3 >/dev/null || hard_error "no python3"
[ -x "$BLKBACK" ] || hard_error "no xenolith-blkback at $BLKBACK"
[ -x "$XENSTORED_BIN" ] || hard_error "no xenstored at $XENSTORED_BIN"
[ -x "$XS" ] || hard_error "no xenstore tool at $XS"

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

# Has process $1 exited (a zombie counts)?
exited() {
    [ ! -e "/proc/$1" ] ||
        [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" = Z ]
}

HERE=$(cd "$(dirname "$0")" && pwd)     # vufront.py, blkback-frontend.py

xs_read() { "$XS" read "$1" 2>/dev/null; }
be() { echo "/local/domain/0/backend/vbd/$1/$2"; }

# The pids of processes whose command line names $1 (our temp dir).
pids_of() { pgrep -f -- "$1" 2>/dev/null | grep -vx "$$"; }

teardown()
{
    rc=$?
    [ -n "$T" ] || exit $rc
    [ -z "$BB" ] || kill -9 "$BB" 2>/dev/null
    for p in $(pids_of "$T/"); do
        kill -9 "$p" 2>/dev/null
    done
    [ -z "$XSD" ] || kill "$XSD" 2>/dev/null
    wait 2>/dev/null
    if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
        for f in "$T"/blkback*.log; do
            [ -f "$f" ] || continue
            echo "---- tail of $f"
            tail -25 "$f"
        done
    fi
    rm -rf "$T"
    exit $rc
}

T=$(mktemp -d /tmp/blkback-test.XXXXXX) || hard_error "mktemp"
XSD=""
BB=""
trap teardown EXIT
trap 'exit 99' INT TERM
export XENOLITH_RUNDIR=$T/run
export XENSTORED_RUNDIR=$T/xs
export XENSTORED_PATH=$T/xs/socket
unset XENOLITH_QSD
mkdir -p "$XENSTORED_RUNDIR" "$XENOLITH_RUNDIR"
"$XENSTORED_BIN" -N -L "$T/xenstored.log" >"$T/xenstored.out" 2>&1 &
XSD=$!
wait_until '[ -S "$XENSTORED_PATH" ]' 5 ||
    hard_error "xenstored did not start: $(cat "$T/xenstored.out")"

# The disk's capacity (sectors) in its vhost-user-blk export's config
# space, asked over the socket as the guest's qemu would (vufront.py).
vhost_capacity()
{
    PYTHONDONTWRITEBYTECODE=1 python3 "$HERE/vufront.py" capacity "$1"
}

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
    elif [ -e "$XENOLITH_RUNDIR/backends/vbd-5" ] ||
         [ -e "$XENOLITH_RUNDIR/backends/vbd-9" ]; then
        fail "$what: left $(ls -d "$XENOLITH_RUNDIR"/backends/vbd-*)"
    elif [ -n "$(pids_of "$XENOLITH_RUNDIR/")" ]; then
        fail "$what: left processes $(pids_of "$XENOLITH_RUNDIR/")"
    else
        pass "$what: $(grep -- "$expect" "$T/bad.out" | head -1)"
    fi
}
expect="domain 9 does not exist"
check_bad_start "an unknown domain" "$BLKBACK" --domid 9
expect="not a domain id"
check_bad_start "--domid 0" "$BLKBACK" --domid 0
expect="--domid is required"
check_bad_start "no --domid" "$BLKBACK"
expect="cannot reach xenstore"
check_bad_start "no xenstored" \
    env XENSTORED_PATH="$T/nothing" \
    "$BLKBACK" --domid 5

# Under valgrind through libtool: $BLKBACK is libtool's wrapper script.
BB_CMD=$BLKBACK
[ -z "${BLKBACK_VALGRIND:-}" ] ||
    BB_CMD="$BUILD/libtool --mode=execute valgrind -q --leak-check=full
        --show-leak-kinds=all --errors-for-leak-kinds=all
        --error-exitcode=99 $BLKBACK"

# ---- a daemon that cannot start: only the qcow2 disk is refused -----------
# No daemon for a raw disk; the first qcow2 disk starts it, and when that
# fails, that disk alone is refused with the reason (hotplug-error and
# the log's last line), the raw disk served on; the domain's death with
# no daemon ever started leaves nothing.
DIR7=$XENOLITH_RUNDIR/backends/vbd-7
truncate -s 16M "$T/l.img"
qemu-img create -q -f qcow2 "$T/l.qcow2" 16M || hard_error "qemu-img"
qsd_refused()
{
    what=$1 qsd=$2 expect=$3        # expect: a case pattern
    "$XS" write /local/domain/7/name guest7 "$(be 7 51712)/params" \
        "$T/l.img" "$(be 7 51712)/format" raw "$(be 7 51712)/mode" w \
        "$(be 7 51712)/dev" xvda || hard_error "xenstore write of domain 7"
    XENOLITH_QSD=$qsd $BB_CMD --domid 7 >"$T/blkback7.log" 2>&1 &
    bb7=$!
    if ! wait_until \
        '[ "$(xs_read "$(be 7 51712)/hotplug-status")" = connected ]'; then
        fail "$what: the raw disk is not connected:" \
            "$(xs_read "$(be 7 51712)/hotplug-status")"
    elif [ -e "$DIR7/qsd.qmp" ] ||
         grep -q qemu-storage-daemon "$T/blkback7.log"; then
        fail "$what: a daemon was tried for a raw disk:" \
            "$(cat "$T/blkback7.log")"
    else
        "$XS" write "$(be 7 51728)/params" "$T/l.qcow2" \
            "$(be 7 51728)/format" qcow2 "$(be 7 51728)/mode" w \
            "$(be 7 51728)/dev" xvdb || hard_error "xenstore write of 51728"
        wait_until \
            '[ "$(xs_read "$(be 7 51728)/hotplug-status")" = error ]' 20
        err=$(xs_read "$(be 7 51728)/hotplug-error")
        last=$(tail -n 1 "$T/blkback7.log")
        case $err in
        *$expect*)
            case $last in
            *"vbd 51728 (xvdb): refused: $err")
                pass "$what: 51728 refused: $err" ;;
            *) fail "$what: the log's last line is '$last'" ;;
            esac ;;
        *) fail "$what: hotplug-status" \
               "'$(xs_read "$(be 7 51728)/hotplug-status")'," \
               "hotplug-error '$err', not about '$expect'" ;;
        esac
        if exited $bb7; then
            fail "$what: blkback exited"
        elif [ "$(xs_read "$(be 7 51712)/hotplug-status")" != connected ]
        then
            fail "$what: the raw disk is no longer connected"
        elif [ -n "$(pids_of "$DIR7/qsd.qmp")" ] || [ -e "$DIR7/qsd.qmp" ]
        then
            fail "$what: a daemon or its qsd.qmp is left"
        else
            pass "$what: the raw disk stays connected"
        fi
    fi
    "$XS" rm /local/domain/7
    if wait_until "exited $bb7" 5; then
        wait "$bb7"
        st=$?
        if [ "$st" != 0 ]; then
            fail "$what: domain gone: exit status $st"
        elif [ -e "$DIR7" ] || [ -n "$(pids_of "$DIR7")" ]; then
            fail "$what: domain gone: left $DIR7 or processes"
        else
            pass "$what: domain gone: exit 0, nothing left"
        fi
    else
        kill -9 "$bb7"
        fail "$what: domain gone: blkback (pid $bb7) still runs"
    fi
    "$XS" rm /local/domain/0/backend/vbd/7
}
qsd_refused "missing XENOLITH_QSD" "$T/no-such-qsd" \
    "cannot run qemu-storage-daemon '$T/no-such-qsd': No such file"
qsd_refused "a daemon that cannot start" false \
    "false (pid *) exited (status 1) before its QMP socket"

# ---- a raw disk: no daemon ---------------------------------------------------
DIR=$XENOLITH_RUNDIR/backends/vbd-5
truncate -s 64M "$T/a.img"
qemu-img create -q -f qcow2 "$T/b.qcow2" 32M || hard_error "qemu-img"
# as libxl writes them: one transaction per device
"$XS" write "$(be 5 51712)/params" "$T/a.img" "$(be 5 51712)/format" raw \
    "$(be 5 51712)/mode" w "$(be 5 51712)/dev" xvda \
    "$(be 5 51712)/discard-enable" 1 "$(be 5 51712)/state" 1 ||
    hard_error "xenstore write of 51712"

$BB_CMD --domid 5 >"$T/blkback.log" 2>&1 &
BB=$!

connected()
{
    [ "$(xs_read "$(be 5 "$1")/hotplug-status")" = connected ] &&
        [ "$(xs_read "$(be 5 "$1")/state")" = 4 ]
}
check_disk()
{
    devid=$1 sectors=$2 what=$3
    s=$(xs_read "$(be 5 "$devid")/sectors")
    sock=$(xs_read "$(be 5 "$devid")/vhost-user-socket")
    cap=$(vhost_capacity "$DIR/$devid.sock" 2>&1)
    if [ "$s" != "$sectors" ]; then
        fail "$what: $devid: sectors $s, not $sectors"
    elif [ "$(xs_read "$(be 5 "$devid")/sector-size")" != 512 ]; then
        fail "$what: $devid: sector-size is not 512"
    elif [ "$sock" != "$DIR/$devid.sock" ] || [ ! -S "$sock" ]; then
        fail "$what: $devid: vhost-user-socket '$sock' is not a socket"
    elif [ "$cap" != "$sectors" ]; then
        fail "$what: $devid: the export says capacity $cap"
    else
        pass "$what: $devid connected, $sectors sectors on $sock"
    fi
}
# The worker (the supervisor's child) and the worker's children.
worker() { pgrep -P "$BB" 2>/dev/null | head -n 1; }
kids() { wk=$(worker) && [ -n "$wk" ] && pgrep -P "$wk" 2>/dev/null; }
if wait_until 'connected 51712' 10; then
    check_disk 51712 131072 "start"
else
    fail "start: 51712 not connected:" \
        "$(xs_read "$(be 5 51712)/hotplug-status")"
fi
if [ -z "$(worker)" ]; then
    fail "raw only: no worker under the supervisor (pid $BB)"
elif [ -n "$(kids)" ] || [ -e "$DIR/qsd.qmp" ] ||
     [ -n "$(pids_of "$DIR/qsd.qmp")" ]; then
    fail "raw only: a qemu-storage-daemon runs: children $(kids)," \
        "$(ls "$DIR" | tr "\n" " ")"
else
    pass "raw only: no qemu-storage-daemon (the worker has no child," \
        "no qsd.qmp)"
fi

# ---- a qcow2 disk: the daemon starts for it ----------------------------------
"$XS" write "$(be 5 51728)/params" "$T/b.qcow2" \
    "$(be 5 51728)/format" qcow2 "$(be 5 51728)/mode" r \
    "$(be 5 51728)/dev" xvdb "$(be 5 51728)/state" 1 ||
    hard_error "xenstore write of 51728"
if wait_until 'connected 51728' 20; then
    check_disk 51728 65536 "qcow2"
    q=$(pids_of "$DIR/qsd.qmp")
    if [ -z "$q" ] || [ "$q" != "$(kids)" ]; then
        fail "qcow2: the worker's children '$(kids)' are not its" \
            "qemu-storage-daemon '$q'"
    elif ! grep -q "qemu-storage-daemon .* started (pid $q, " \
         "$T/blkback.log"; then
        fail "qcow2: the daemon's start is not logged"
    else
        pass "qcow2: one qemu-storage-daemon (pid $q), the worker's child"
    fi
    connected 51712 || fail "qcow2: 51712 is no longer connected"
else
    fail "qcow2: 51728 not connected:" \
        "$(xs_read "$(be 5 51728)/hotplug-status")"
fi

# ---- a hotplugged disk whose file is missing -------------------------------
"$XS" write "$(be 5 51744)/params" "$T/missing.img" \
    "$(be 5 51744)/format" raw "$(be 5 51744)/mode" w \
    "$(be 5 51744)/dev" xvdc "$(be 5 51744)/state" 1 ||
    hard_error "xenstore write of 51744"
if wait_until '[ "$(xs_read "$(be 5 51744)/hotplug-status")" = error ]' 5
then
    err=$(xs_read "$(be 5 51744)/hotplug-error")
    case $err in
    *"$T/missing.img: No such file or directory"*)
        pass "missing file: hotplug-error '$err'" ;;
    *) fail "missing file: hotplug-error '$err'" ;;
    esac
    [ -z "$(xs_read "$(be 5 51744)/vhost-user-socket")" ] ||
        fail "missing file: a vhost-user-socket was written"
else
    fail "missing file: hotplug-status" \
        "'$(xs_read "$(be 5 51744)/hotplug-status")'"
fi
connected 51712 && connected 51728 ||
    fail "missing file: the other disks are no longer connected"

# ---- online resize -----------------------------------------------------------
# A frontend that takes the backend's channel (as qemu and the core do)
# hears of the growth there, with no command, and reads the new capacity.
python3 - "$HERE" "$DIR/51712.sock" >"$T/watch.out" 2>&1 <<'PY' &
import socket, struct, sys
sys.dont_write_bytecode = True          # nothing written into the tree
sys.path.insert(0, sys.argv[1])
from vufront import (GET_CONFIG, GET_FEATURES, GET_PROTOCOL_FEATURES,
                     PF_BACKEND_REQ, PF_CONFIG, SET_BACKEND_REQ_FD,
                     SET_PROTOCOL_FEATURES, Frontend)

f = Frontend(sys.argv[2])
f.u64(GET_FEATURES)
pf = f.u64(GET_PROTOCOL_FEATURES)
if not pf & PF_BACKEND_REQ:
    raise SystemExit('no backend channel offered (protocol features %#x)' % pf)
f.send(SET_PROTOCOL_FEATURES,
       struct.pack('<Q', pf & (PF_CONFIG | PF_BACKEND_REQ)))
ours, theirs = socket.socketpair()
f.send(SET_BACKEND_REQ_FD, fds=[theirs.fileno()])
theirs.close()
print('ready', flush=True)
req, _ = Frontend(ours, timeout=15).recv()
f.send(GET_CONFIG, struct.pack('<III', 0, 8, 0) + bytes(8))
print('message %d, capacity %d' %
      (req, struct.unpack('<Q', f.recv()[1][12:20])[0]), flush=True)
PY
WATCH=$!
wait_until 'grep -q ready "$T/watch.out"' 5 ||
    fail "resize: the frontend did not get going: $(cat "$T/watch.out")"
truncate -s +64M "$T/a.img"
if wait_until '[ "$(xs_read "$(be 5 51712)/sectors")" = 262144 ]' 5; then
    pass "resize: sectors 131072 -> 262144"
else
    fail "resize: sectors $(xs_read "$(be 5 51712)/sectors"), not 262144"
fi
grep -q "vbd 51712 (xvda): .* grew from 131072 to 262144 sectors" \
    "$T/blkback.log" || fail "resize: not logged"
wait $WATCH
if grep -q "^message 2, capacity 262144$" "$T/watch.out"; then
    pass "resize: the frontend was told (config change) and reads 262144"
else
    fail "resize: the frontend heard: $(cat "$T/watch.out")"
fi
check_disk 51712 262144 "resize"

# ---- a frontend of our own on the raw disks (served by blkback itself) -----
# blkback-frontend.py on 51712 (nothing else connected to it now) and on
# a raw disk of mode r hotplugged for it (discard-enable 1, which a
# read-only disk must not offer), detached again after: the data path,
# the request types, many requests in flight at once (answered out of
# order, a FLUSH after the writes before it, GET_VRING_BASE and a
# disconnect while they are in flight), broken rings and messages.
head -c 4096 /dev/urandom >"$T/r.img" && truncate -s 16M "$T/r.img" ||
    hard_error "cannot make $T/r.img"
"$XS" write "$(be 5 51760)/params" "$T/r.img" "$(be 5 51760)/format" raw \
    "$(be 5 51760)/mode" r "$(be 5 51760)/dev" xvdd \
    "$(be 5 51760)/discard-enable" 1 "$(be 5 51760)/state" 1 ||
    hard_error "xenstore write of 51760"
ro_env=""
if wait_until 'connected 51760' 5; then
    ro_env="SOCK_RO=$DIR/51760.sock IMG_RO=$T/r.img VBD_RO=51760 VDEV_RO=xvdd"
else
    fail "frontend: the read-only disk 51760 is not connected:" \
        "$(xs_read "$(be 5 51760)/hotplug-status")"
fi
# Raw disks are served through an io_uring where the kernel has one
# (the worker holds its fd), else one request at a time (logged once).
uring=0
if ls -l "/proc/$(worker)/fd" 2>/dev/null | grep -q 'io_uring'; then
    uring=1
    pass "io_uring: the worker serves its raw disks through one"
elif grep -q "io_uring is not available (.*): raw disks are served one" \
    "$T/blkback.log"; then
    pass "io_uring: not available here, logged:" \
        "$(grep -m 1 'io_uring is not available' "$T/blkback.log")"
else
    fail "io_uring: the worker has no io_uring fd, and no log line says why"
fi
env $ro_env SOCK="$DIR/51712.sock" IMG="$T/a.img" VBD=51712 VDEV=xvda \
    DISCARD=1 URING=$uring BB_LOG="$T/blkback.log" BB_PID="$BB" \
    python3 "$HERE/blkback-frontend.py" || failures=$((failures + 1))
"$XS" rm "$(be 5 51760)"
wait_until '[ ! -e "$DIR/51760.sock" ]' 5 ||
    fail "frontend: the read-only disk's socket stays after its detach"

# ---- qemu-storage-daemon killed ---------------------------------------------
old=$(pids_of "$DIR/qsd.qmp")
if [ -z "$old" ]; then
    fail "restart: no qemu-storage-daemon on $DIR/qsd.qmp"
else
    kill -9 $old
    if ! wait_until 'new=$(pids_of "$DIR/qsd.qmp") && [ -n "$new" ] &&
                     [ "$new" != "$old" ]' 10; then
        fail "restart: no new qemu-storage-daemon after pid $old"
    elif ! wait_until 'connected 51712 && connected 51728' 10; then
        fail "restart: not connected again:" \
            "$(xs_read "$(be 5 51712)/hotplug-status")," \
            "$(xs_read "$(be 5 51728)/hotplug-status")"
    else
        new=$(pids_of "$DIR/qsd.qmp")
        pass "restart: pid $old -> $new"
        check_disk 51712 262144 "restart"
        check_disk 51728 65536 "restart"
        grep -q "qemu-storage-daemon (pid $old) exited (signal 9.*restarting" \
            "$T/blkback.log" || fail "restart: its death is not logged"
        [ "$(xs_read "$(be 5 51744)/hotplug-status")" = error ] ||
            fail "restart: 51744 is no longer in error"
    fi
fi

# ---- detach ----------------------------------------------------------------
# 51728 is the last qcow2 disk: the daemon stops with it.
q=$(pids_of "$DIR/qsd.qmp")
"$XS" rm "$(be 5 51728)"
if wait_until '[ ! -e "$DIR/51728.sock" ]' 5; then
    pass "detach: 51728's socket is gone"
else
    fail "detach: $DIR/51728.sock is still there"
fi
connected 51712 || fail "detach: 51712 is no longer connected"
[ -z "$("$XS" ls "$(be 5 51728)" 2>/dev/null)" ] ||
    fail "detach: $(be 5 51728) was written again"
if ! wait_until '[ -z "$(kids)" ] && [ ! -e "$DIR/qsd.qmp" ]' 5; then
    fail "detach: the daemon stays without a qcow2 disk: children" \
        "$(kids), $(ls "$DIR" | tr "\n" " ")"
elif ! grep -q "qemu-storage-daemon (pid $q) stopped: no qcow2 disk" \
     "$T/blkback.log"; then
    fail "detach: the daemon's stop (pid $q) is not logged"
else
    pass "detach: the last qcow2 disk gone, the daemon (pid $q) stopped"
fi

# ---- a qcow2 disk again: a new daemon ----------------------------------------
"$XS" write "$(be 5 51776)/params" "$T/b.qcow2" \
    "$(be 5 51776)/format" qcow2 "$(be 5 51776)/mode" r \
    "$(be 5 51776)/dev" xvde "$(be 5 51776)/state" 1 ||
    hard_error "xenstore write of 51776"
if wait_until 'connected 51776' 20; then
    check_disk 51776 65536 "qcow2 again"
    q2=$(pids_of "$DIR/qsd.qmp")
    if [ -n "$q2" ] && [ "$q2" = "$(kids)" ] && [ "$q2" != "$q" ]; then
        pass "qcow2 again: a new qemu-storage-daemon (pid $q2)"
    else
        fail "qcow2 again: no new daemon: '$q2', children '$(kids)'"
    fi
else
    fail "qcow2 again: 51776 not connected:" \
        "$(xs_read "$(be 5 51776)/hotplug-status")"
fi

# ---- the domain goes -------------------------------------------------------
"$XS" rm /local/domain/5
if wait_until "exited $BB" 5; then
    wait "$BB"
    st=$?
    left=$(pids_of "$DIR")
    if [ "$st" != 0 ]; then
        fail "domain gone: exit status $st"
    elif [ -n "$left" ]; then
        fail "domain gone: processes left: $left"
    elif [ -e "$DIR" ]; then
        fail "domain gone: left $DIR: $(ls -A "$DIR")"
    else
        pass "domain gone: exit 0, nothing left"
    fi
else
    fail "domain gone: blkback (pid $BB) still runs"
fi

# ---- a daemon that keeps dying -----------------------------------------------
# It starts once (for domain 6's qcow2 disk); every later start fails,
# so its one death and four failed restarts make five within a minute.
cat >"$T/flaky-qsd" <<EOF
#!/bin/sh
mkdir "$T/flaky.once" 2>/dev/null && exec "$QSD" "\$@"
echo "flaky-qsd: not again" >&2
exit 1
EOF
chmod +x "$T/flaky-qsd"
qemu-img create -q -f qcow2 "$T/c.qcow2" 16M || hard_error "qemu-img"
"$XS" write /local/domain/6/name guest6 "$(be 6 51712)/params" \
    "$T/c.qcow2" "$(be 6 51712)/format" qcow2 "$(be 6 51712)/mode" w \
    "$(be 6 51712)/dev" xvda || hard_error "xenstore write of domain 6"
XENOLITH_QSD=$T/flaky-qsd "$BLKBACK" --domid 6 >"$T/blkback6.log" 2>&1 &
BB=$!
DIR6=$XENOLITH_RUNDIR/backends/vbd-6
if ! wait_until '[ "$(xs_read "$(be 6 51712)/hotplug-status")" = connected ]'
then
    fail "keeps dying: domain 6 never connected"
else
    kill -9 $(pids_of "$DIR6/qsd.qmp")
    if wait_until "exited $BB" 10; then
        wait "$BB"
        st=$?
        err=$(xs_read "$(be 6 51712)/hotplug-error")
        if [ "$st" != 1 ]; then
            fail "keeps dying: exit status $st, not 1"
        elif [ "$(xs_read "$(be 6 51712)/hotplug-status")" != error ] ||
             [ "$err" != "qemu-storage-daemon keeps dying (5 times in 60 s)" ]
        then
            fail "keeps dying: hotplug-error '$err'"
        elif [ -e "$DIR6" ] || [ -n "$(pids_of "$DIR6")" ]; then
            fail "keeps dying: left $DIR6 or processes"
        else
            pass "keeps dying: exit 1, hotplug-error '$err'"
        fi
    else
        fail "keeps dying: blkback (pid $BB) still runs"
    fi
fi

if [ "$failures" != 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all passed"
exit 0

#!/bin/sh
# restart.sh - the host side restarts under running guests (issue 10).
# RESTART_GUESTS picks the guests:
#   core (this script as a test: the core's tiny guests, in the nested-KVM
#         lane where the host's KVM cannot run them): a ticker, a paused
#         guest (test-pvh-pwrbtn) and two whose processes die meanwhile;
#   qemu (restart-qemu.sh: no KVM needed, on the host): a PVH ticker and
#         an HVM ticker in qemu (test-pvh-qemu through -kernel), a paused
#         HVM guest that powers off when unpaused, and two whose qemu
#         supervisors die meanwhile.
# Through `kill -9` of xenolithd and `xencommons start`, `kill -9` of
# xenstored and `xencommons start`, then a planned upgrade (`xencommons
# upgrade`): the same ids, names and states in xl list, each console's
# ring running on without a gap or a repeat, `xl console` through the
# kept pty, pause/unpause, the dead ones crashed and their on_crash
# applied, shutdown and destroy, the watching xl processes (whose core
# and store both restarted) still applying the on_* policies, and no
# process, record or socket left behind.
. "$(dirname "$0")/lib.sh"
PTYRUN="python3 $(dirname "$0")/ptyrun.py"
mode=${RESTART_GUESTS:-core}
if [ "$mode" = qemu ]; then
    setup_host tcg
    live="ticker hvm" paused=off dproc=xenolith-dm
else
    setup_host
    live="ticker" paused=pwrbtn dproc=xenolith-d
fi

# Every whole line in the console ring of domain $1 (the core's console
# socket gives the ring first, then live output).
ring() {
    python3 - "$XENOLITH_RUNDIR/console/$1.sock" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(0.1)
out, end = b"", time.time() + 0.4
while time.time() < end:
    try:
        b = s.recv(65536)
    except socket.timeout:
        continue
    if not b:
        break
    out += b
# whole lines only: the newest may still be on its way
sys.stdout.write(out[:out.rfind(b"\n") + 1].decode("latin-1"))
PY
}

# ticks_ok DOMID BEFORE: the ring's "tick N" lines run on without a gap
# or a repeat from at most tick BEFORE (seen before a restart) to later
# ones.  Prints the first and last tick.  (The ring keeps the newest
# 64 KiB: its first line may be cut.)
ticks_ok() {
    ring "$1" | tr -d '\r' | awk -v before="$2" '
        /^tick [0-9]+$/ {
            if (first == "") first = $2
            else if ($2 != last + 1) { print "after tick " last ": tick " $2; bad = 1; exit }
            last = $2
        }
        END { if (bad) exit 1
              if (first == "" || first > before || last <= before) {
                  print "ticks " first ".." last " do not span tick " before; exit 1 }
              print first ".." last }'
}

last_tick() {
    ring "$1" | tr -d '\r' | awk '/^tick [0-9]+$/ { n = $2 } END { print n + 0 }'
}

state_of() { "$XL_BIN" list "$1" 2>/dev/null | awk 'NR == 2 { print $5 }'; }

# qemu_cfg NAME CMDLINE [EXTRA]: an HVM guest running test-pvh-qemu
qemu_cfg() {
    cat >"$T/$1.cfg" <<CFG
name = "$1"
type = "hvm"
kernel = "$GUESTS/test-pvh-qemu"
cmdline = "$2"
memory = 64
vcpus = 1
serial = "pty"
$3
CFG
    echo "$T/$1.cfg"
}

if [ "$mode" = qemu ]; then
    run_xl create "$(write_cfg ticker)"
    [ "$xlrc" = 0 ] || hard_error "create ticker: $(cat "$T/err")"
    run_xl create "$(qemu_cfg hvm "")"
    [ "$xlrc" = 0 ] || hard_error "create hvm: $(cat "$T/err")"
    run_xl create -p "$(qemu_cfg off poweroff)"
    [ "$xlrc" = 0 ] || hard_error "create -p off: $(cat "$T/err")"
    run_xl create "$(qemu_cfg kept "" 'on_crash = "preserve"')"
    [ "$xlrc" = 0 ] || hard_error "create kept: $(cat "$T/err")"
    run_xl create "$(qemu_cfg lost "")"
    [ "$xlrc" = 0 ] || hard_error "create lost: $(cat "$T/err")"
else
    run_xl create "$(write_cfg ticker)"
    [ "$xlrc" = 0 ] || hard_error "create ticker: $(cat "$T/err")"
    run_xl create -p "$(write_cfg pwrbtn)"
    [ "$xlrc" = 0 ] || hard_error "create -p pwrbtn: $(cat "$T/err")"
    run_xl create "$(write_cfg counter 'name = "kept"
on_crash = "preserve"')"
    [ "$xlrc" = 0 ] || hard_error "create kept: $(cat "$T/err")"
    run_xl create "$(write_cfg counter 'name = "lost"')"
    [ "$xlrc" = 0 ] || hard_error "create lost: $(cat "$T/err")"
fi
for g in $live; do
    eval "id_$g=$(domid_of $g)"
    wait_until '[ "$(last_tick $(domid_of '$g'))" -ge 3 ]' 60 ||
        hard_error "$g does not tick: $(ring $(domid_of $g) | tail -3)"
done
p=$(domid_of $paused) k=$(domid_of kept) l=$(domid_of lost)
"$XL_BIN" list >"$T/list.before"
core_pid=$(cat "$XENOLITH_RUNDIR/xenolithd.pid")
procs=$(pgrep -P "$core_pid" | tr '\n' ' ')
qemu=$(pgrep -f "qemu-system.*$XENOLITH_RUNDIR" | tr '\n' ' ')
[ -n "$procs" ] || hard_error "no domain processes"
[ "$mode" = core ] || [ -n "$qemu" ] || hard_error "no qemu"

# The same guests with the same ids and names; live ones running, the
# paused one paused.
same_list() {
    "$XL_BIN" list >"$T/list.after" 2>"$T/err" || return 1
    for g in $live $paused; do
        a=$(awk -v n=$g '$1 == n { print $2, $3, $4 }' "$T/list.before")
        b=$(awk -v n=$g '$1 == n { print $2, $3, $4 }' "$T/list.after")
        [ -n "$a" ] && [ "$a" = "$b" ] || { echo "$g: '$a' then '$b'"; return 1; }
    done
    case "$(state_of $paused)" in *p*) ;; *) echo "$paused not paused"; return 1 ;; esac
    for g in $live; do
        case "$(state_of $g)" in *p*|*s*|*c*|*d*) echo "$g: $(state_of $g)"; return 1 ;; esac
    done
}

# this host's domain processes only (other tests may run beside this
# one): they carry their daemon's command line, which names our run dir
dom_pid() {
    for q in $(pgrep -f -- "-r $XENOLITH_RUNDIR "); do
        [ "$(cat /proc/$q/comm 2>/dev/null)" = "$dproc$1" ] && echo $q
    done
}
victims="$(dom_pid $k) $(dom_pid $l)"
[ "$(echo $victims | wc -w)" = 2 ] || hard_error "no processes of kept/lost: $victims"

rings_run_on() {
    for g in $live; do
        d=$(domid_of $g)
        eval "b=\$before_$g"
        if out=$(ticks_ok "$d" "$b"); then
            pass "$1: $g's console ring runs on across it: ticks $out"
        else
            fail "$1: $g's console ring: $out"
        fi
    done
}
note_ticks() { for g in $live; do eval "before_$g=$(last_tick $(domid_of $g))"; done; }

# xl console on each, through the pty the domain's process kept: the
# live guests' ticks arrive; the paused one's console attaches and
# detaches (Ctrl-]).
consoles() {
    for g in $live; do
        $PTYRUN --expect "tick " 15 "$XL_BIN" console $g >"$T/pty" 2>&1
        grep -q "^tick [0-9]" "$T/pty" && grep -q "^\[exit: 0\]" "$T/pty" &&
            pass "$1: xl console $g: live ticks, Ctrl-] detaches" ||
            fail "$1: xl console $g: $(tail -5 "$T/pty")"
    done
    $PTYRUN --expect "never printed" 2 "$XL_BIN" console $paused >"$T/pty" 2>&1
    grep -q "^\[exit: 0\]" "$T/pty" &&
        pass "$1: xl console of the paused guest attaches and detaches" ||
        fail "$1: xl console $paused: $(tail -5 "$T/pty")"
}

# --- kill -9 of xenolithd; two domains' processes die meanwhile --------
note_ticks
kill -9 "$core_pid"
sleep 0.5
kill -9 $victims
sleep 0.5
sh "$XENCOMMONS" start >"$T/start" 2>&1
rc=$?
[ "$rc" = 0 ] && grep -q "Starting xenolithd" "$T/start" &&
    pass "kill -9: the first xencommons start brings the core back" ||
    fail "kill -9: start rc=$rc $(cat "$T/start")"
out=$(same_list) && pass "kill -9: xl list shows the same guests, same states" ||
    fail "kill -9: xl list: $out $(cat "$T/list.after" "$T/err")"
log=$XENOLITH_RUNDIR/log/xenolithd.log
ok=1
for g in $live $paused; do
    grep -q "domain $(domid_of $g): taken over" "$log" || ok=0
done
grep -q "domain $p: taken over (process [0-9]*, .*paused" "$log" || ok=0
[ "$ok" = 1 ] && pass "kill -9: the new core took each domain over" ||
    fail "kill -9: $(grep "taken over\|domain" "$log" | tail -8)"
rings_run_on "kill -9"

case "$(state_of kept)" in
*c*) pass "kill -9: a domain that died meanwhile is listed as crashed" ;;
*) fail "kill -9: kept: '$(state_of kept)' $("$XL_BIN" list 2>&1)" ;;
esac
wait_until '[ -z "$(domid_of lost)" ]' 10 &&
    pass "kill -9: its watcher ran on_crash (destroy) for a domain that died meanwhile" ||
    fail "kill -9: lost still listed: $("$XL_BIN" list 2>&1)"
run_xl destroy kept
[ "$xlrc" = 0 ] && [ -z "$(domid_of kept)" ] && pass "destroy of a crashed domain" ||
    fail "destroy kept: $(cat "$T/err")"
consoles "kill -9"

# Each answers to pause and unpause through the new core.
for g in $live; do
    run_xl pause $g
    s1=$(state_of $g)
    run_xl unpause $g
    s2=$(state_of $g)
    case "$s1/$s2" in
    *p*/*p*) fail "kill -9: $g: pause/unpause: $s1 then $s2" ;;
    *p*/*) pass "kill -9: $g: pause and unpause" ;;
    *) fail "kill -9: $g: pause gave $s1" ;;
    esac
    x=$(last_tick $(domid_of $g))
    wait_until '[ "$(last_tick $(domid_of '$g'))" -gt '"$x"' ]' 10 &&
        pass "kill -9: $g ticks on after unpause" ||
        fail "kill -9: $g stuck at $x"
done

# --- kill -9 of xenstored: the store comes back from its snapshot --------
# (written within a second of a change; the guests' nodes are older).
sleep 1.5
xs_pid=$(cat "$XENOLITH_RUNDIR/xenstored.pid")
kill -9 "$xs_pid"
wait_until "exited $xs_pid" 5
sh "$XENCOMMONS" start >"$T/start" 2>&1
rc=$?
[ "$rc" = 0 ] && grep -q "Starting xenstored" "$T/start" &&
    pass "xenstored kill -9: the first xencommons start brings it back" ||
    fail "xenstored kill -9: start rc=$rc $(cat "$T/start")"
out=$(same_list) && pass "xenstored kill -9: xl list: the same guests, names kept" ||
    fail "xenstored kill -9: xl list: $out $(cat "$T/list.after" "$T/err")"

# --- a planned upgrade (xencommons upgrade: xenstored's live update,
# xenolithd --upgrade) ------------------------------------------------
old=$(cat "$XENOLITH_RUNDIR/xenolithd.pid")
note_ticks
sh "$XENCOMMONS" upgrade >"$T/up" 2>&1
rc=$?
new=$(cat "$XENOLITH_RUNDIR/xenolithd.pid")
[ "$rc" = 0 ] && [ "$new" != "$old" ] && exited "$old" &&
    grep -q "Upgrading xenstored (live update)" "$T/up" &&
    pass "upgrade: xenstored live-updated; xenolithd $old handed over to $new" ||
    fail "upgrade: rc=$rc old=$old new=$new $(cat "$T/up")"
grep -q "left running for the next daemon" "$log" ||
    fail "upgrade: the old core did not detach its domains"
out=$(same_list) && pass "upgrade: xl list shows the same guests, same states" ||
    fail "upgrade: xl list: $out $(cat "$T/list.after" "$T/err")"
rings_run_on "upgrade"
consoles "upgrade"

# --- shutdown and destroy on each, through the adopted domains ---------
if [ "$mode" = qemu ]; then
    # powers off at once when it runs: its watcher (an xl whose core and
    # store both restarted under it) applies on_poweroff
    run_xl unpause off
    wait_until '[ -z "$(domid_of off)" ]' 30 &&
        pass "the paused guest, unpaused, powers off; its watcher destroyed it" ||
        fail "off still listed: $("$XL_BIN" list 2>&1)"
    for g in $live; do
        d=$(domid_of $g)
        run_xl shutdown -F $g
        grep -q "domain $d: QMP system_powerdown" "$log" &&
            pass "shutdown of $g reaches its qemu" ||
            fail "shutdown $g: rc=$xlrc $(cat "$T/err")"
    done
else
    run_xl unpause pwrbtn
    run_xl shutdown -w pwrbtn
    # gone: its watcher (an xl whose core and store both restarted under
    # it) applied on_poweroff
    [ "$xlrc" = 0 ] && [ -z "$(domid_of pwrbtn)" ] &&
        pass "shutdown -w of the paused guest (after unpause): its watcher destroyed it" ||
        fail "shutdown pwrbtn: rc=$xlrc $(cat "$T/out" "$T/err")"
    run_xl shutdown -F ticker
    [ "$xlrc" = 0 ] && pass "shutdown of the core guest is accepted" ||
        fail "shutdown ticker: $(cat "$T/err")"
fi
for g in $live; do
    run_xl destroy $g
    [ "$xlrc" = 0 ] && pass "destroy $g" || fail "destroy $g: $(cat "$T/err")"
done
assert_clean "after the restarts"
sleep 0.5
for pid in $procs $qemu; do
    if ! exited "$pid"; then
        fail "process $pid ($(cat /proc/$pid/comm 2>/dev/null)) left behind"
    fi
done
left=$(ls "$XENOLITH_RUNDIR/dom" 2>/dev/null | tr '\n' ' ')
[ -z "$left" ] && pass "no records or sockets left in dom/" ||
    fail "dom/ holds: $left"
finish

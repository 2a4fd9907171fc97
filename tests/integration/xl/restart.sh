#!/bin/sh
# restart.sh - the core restarts under running guests (issue 10).  Three
# guests - a ticker on the core, an HVM guest in qemu (test-pvh-qemu's
# ticks through -kernel) and a paused one on the core (test-pvh-pwrbtn) -
# through `kill -9` of xenolithd and `xencommons start`, then through a
# planned upgrade (`xencommons upgrade`): the same ids, names and states
# in xl list, each console's ring with every tick from the first (none
# lost, none doubled), pause/unpause, shutdown and destroy on each, the
# watching xl processes still applying the on_* policies, and no process
# left behind.
. "$(dirname "$0")/lib.sh"
PTYRUN="python3 $(dirname "$0")/ptyrun.py"
setup_host

# Every "tick N" line in the console ring of domain $1 (the core's
# console socket: the ring first, then live output for a second).
ring() {
    python3 - "$XENOLITH_RUNDIR/console/$1.sock" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.settimeout(0.2)
out, end = b"", time.time() + 1.0
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

# The last tick in the ring.
last_tick() {
    ring "$1" | tr -d '\r' | awk '/^tick [0-9]+$/ { n = $2 } END { print n + 0 }'
}

state_of() { "$XL_BIN" list "$1" 2>/dev/null | awk 'NR == 2 { print $5 }'; }

core_cfg=$(write_cfg ticker)
cat >"$T/hvm.cfg" <<CFG
name = "hvm"
type = "hvm"
kernel = "$GUESTS/test-pvh-qemu"
memory = 64
vcpus = 1
serial = "pty"
# qemu emulates (TCG): the lane's and a kvm_pvm host's KVM run only the core's tiny guests
accel = "tcg"
CFG
pb_cfg=$(write_cfg pwrbtn)

run_xl create "$core_cfg"
[ "$xlrc" = 0 ] || hard_error "create ticker: $(cat "$T/err")"
run_xl create "$T/hvm.cfg"
[ "$xlrc" = 0 ] || hard_error "create hvm: $(cat "$T/err")"
run_xl create -p "$pb_cfg"
[ "$xlrc" = 0 ] || hard_error "create -p pwrbtn: $(cat "$T/err")"
t=$(domid_of ticker) h=$(domid_of hvm) p=$(domid_of pwrbtn)
wait_until '[ "$(last_tick $t)" -ge 3 ] && [ "$(last_tick $h)" -ge 3 ]' 60 ||
    hard_error "the tickers do not tick: core $(last_tick $t), hvm $(last_tick $h)"
"$XL_BIN" list >"$T/list.before"
core_pid=$(cat "$XENOLITH_RUNDIR/xenolithd.pid")
procs=$(pgrep -P "$core_pid" | tr '\n' ' ')
qemu=$(pgrep -f "qemu-system.*$XENOLITH_RUNDIR" | tr '\n' ' ')
[ -n "$procs" ] && [ -n "$qemu" ] || hard_error "no domain processes ($procs) or qemu ($qemu)"

# The same three, ids and names; running, running, paused.
same_list() {
    "$XL_BIN" list >"$T/list.after" 2>"$T/err" || return 1
    for n in ticker hvm pwrbtn; do
        a=$(awk -v n=$n '$1 == n { print $2, $3, $4 }' "$T/list.before")
        b=$(awk -v n=$n '$1 == n { print $2, $3, $4 }' "$T/list.after")
        [ -n "$a" ] && [ "$a" = "$b" ] || { echo "$n: '$a' then '$b'"; return 1; }
    done
    case "$(state_of pwrbtn)" in *p*) ;; *) echo "pwrbtn not paused"; return 1 ;; esac
    for n in ticker hvm; do
        case "$(state_of $n)" in *p*|*s*|*c*|*d*) echo "$n: $(state_of $n)"; return 1 ;; esac
    done
}

# Two more, whose processes die while no core runs: they must come back
# as crashed, and their watchers apply on_crash (preserve: listed as
# crashed; the default, destroy: gone).
run_xl create "$(write_cfg counter 'name = "kept"
on_crash = "preserve"')"
[ "$xlrc" = 0 ] || hard_error "create kept: $(cat "$T/err")"
run_xl create "$(write_cfg counter 'name = "lost"')"
[ "$xlrc" = 0 ] || hard_error "create lost: $(cat "$T/err")"
k=$(domid_of kept) l=$(domid_of lost)
# this host's domain processes only (other tests may run beside this
# one): they carry their daemon's command line, which names our run dir
dom_pid() {
    for p in $(pgrep -f -- "-r $XENOLITH_RUNDIR "); do
        [ "$(cat /proc/$p/comm 2>/dev/null)" = "xenolith-d$1" ] && echo $p
    done
}
victims="$(dom_pid $k) $(dom_pid $l)"
[ "$(echo $victims | wc -w)" = 2 ] || hard_error "no processes of kept/lost: $victims"

# --- kill -9 of xenolithd --------------------------------------------
before_t=$(last_tick "$t") before_h=$(last_tick "$h")
kill -9 "$core_pid"
sleep 0.5
kill -9 $victims
sleep 0.5
sh "$XENCOMMONS" start >"$T/start" 2>&1
rc=$?
[ "$rc" = 0 ] && grep -q "Starting xenolithd" "$T/start" &&
    pass "kill -9: the first xencommons start brings the core back" ||
    fail "kill -9: start rc=$rc $(cat "$T/start")"
out=$(same_list) && pass "kill -9: xl list shows the same three, same states" ||
    fail "kill -9: xl list: $out $(cat "$T/list.after" "$T/err")"
grep -q "domain $t: taken over" "$XENOLITH_RUNDIR/log/xenolithd.log" &&
    grep -q "domain $h: taken over (process [0-9]*, a device model" \
        "$XENOLITH_RUNDIR/log/xenolithd.log" &&
    grep -q "domain $p: taken over (process [0-9]*, paused" \
        "$XENOLITH_RUNDIR/log/xenolithd.log" &&
    pass "kill -9: the new core took each domain over" ||
    fail "kill -9: $(grep "taken over\|domain" "$XENOLITH_RUNDIR/log/xenolithd.log" | tail -8)"
for d in "$t:$before_t" "$h:$before_h"; do
    b=${d#*:} d=${d%:*}
    if out=$(ticks_ok "$d" "$b"); then
        pass "kill -9: domain $d's console ring runs on across it: ticks $out"
    else
        fail "kill -9: domain $d's console ring: $out"
    fi
done

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

# xl console on each, through the pty the domain's process kept: the
# live guests' ticks arrive; the paused one's console attaches and
# detaches (Ctrl-]).
consoles() {
    for n in ticker hvm; do
        $PTYRUN --expect "tick " 15 "$XL_BIN" console $n >"$T/pty" 2>&1
        grep -q "^tick [0-9]" "$T/pty" && grep -q "^\[exit: 0\]" "$T/pty" &&
            pass "$1: xl console $n: live ticks, Ctrl-] detaches" ||
            fail "$1: xl console $n: $(tail -5 "$T/pty")"
    done
    $PTYRUN --expect "never printed" 2 "$XL_BIN" console pwrbtn >"$T/pty" 2>&1
    grep -q "^\[exit: 0\]" "$T/pty" &&
        pass "$1: xl console of the paused guest attaches and detaches" ||
        fail "$1: xl console pwrbtn: $(tail -5 "$T/pty")"
}
consoles "kill -9"

# Each answers to pause and unpause through the new core.
for n in ticker hvm; do
    run_xl pause $n
    s1=$(state_of $n)
    run_xl unpause $n
    s2=$(state_of $n)
    case "$s1/$s2" in
    *p*/*p*) fail "kill -9: $n: pause/unpause: $s1 then $s2" ;;
    *p*/*) pass "kill -9: $n: pause and unpause" ;;
    *) fail "kill -9: $n: pause gave $s1" ;;
    esac
done
x=$(last_tick "$t")
wait_until '[ "$(last_tick $t)" -gt '"$x"' ]' 10 &&
    pass "kill -9: the core guest ticks on after unpause" ||
    fail "kill -9: ticker stuck at $x"

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
out=$(same_list) && pass "xenstored kill -9: xl list: the same three, names kept" ||
    fail "xenstored kill -9: xl list: $out $(cat "$T/list.after" "$T/err")"

# --- a planned upgrade (xencommons upgrade: xenstored's live update,
# xenolithd --upgrade) ------------------------------------------------
old=$(cat "$XENOLITH_RUNDIR/xenolithd.pid")
before_t=$(last_tick "$t") before_h=$(last_tick "$h")
sh "$XENCOMMONS" upgrade >"$T/up" 2>&1
rc=$?
new=$(cat "$XENOLITH_RUNDIR/xenolithd.pid")
[ "$rc" = 0 ] && [ "$new" != "$old" ] && exited "$old" &&
    grep -q "Upgrading xenstored (live update)" "$T/up" &&
    pass "upgrade: xenstored live-updated; xenolithd $old handed over to $new" ||
    fail "upgrade: rc=$rc old=$old new=$new $(cat "$T/up")"
grep -q "left running for the next daemon" "$XENOLITH_RUNDIR/log/xenolithd.log" ||
    fail "upgrade: the old core did not detach its domains"
out=$(same_list) && pass "upgrade: xl list shows the same three, same states" ||
    fail "upgrade: xl list: $out $(cat "$T/list.after" "$T/err")"
for d in "$t:$before_t" "$h:$before_h"; do
    b=${d#*:} d=${d%:*}
    if out=$(ticks_ok "$d" "$b"); then
        pass "upgrade: domain $d's ring: ticks $out, none lost or doubled"
    else
        fail "upgrade: domain $d's ring: $out"
    fi
done

consoles "upgrade"

# --- shutdown and destroy on each, through the adopted domains ---------
run_xl unpause pwrbtn
run_xl shutdown -w pwrbtn
# gone: its watcher (an xl whose core and store both restarted under it)
# applied on_poweroff
[ "$xlrc" = 0 ] && [ -z "$(domid_of pwrbtn)" ] &&
    pass "shutdown -w of the paused guest (after unpause): its watcher destroyed it" ||
    fail "shutdown pwrbtn: rc=$xlrc $(cat "$T/out" "$T/err")"
run_xl shutdown -F hvm
grep -q "domain $h: QMP system_powerdown" "$XENOLITH_RUNDIR/log/xenolithd.log" &&
    pass "shutdown of the HVM guest reaches its qemu" ||
    fail "shutdown hvm: rc=$xlrc $(cat "$T/err")"
run_xl shutdown -F ticker
[ "$xlrc" = 0 ] && pass "shutdown of the core guest is accepted" ||
    fail "shutdown ticker: $(cat "$T/err")"
for n in hvm ticker; do
    run_xl destroy $n
    [ "$xlrc" = 0 ] && pass "destroy $n" || fail "destroy $n: $(cat "$T/err")"
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

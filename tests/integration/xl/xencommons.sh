#!/bin/sh
# xencommons.sh - hotplug/xencommons: start brings up xenstored and
# xenolithd under XENOLITH_RUNDIR and writes Domain-0's nodes as
# xen-init-dom0 does; a second start is harmless; status says what runs
# (exit 0 / 3); stop leaves no daemon.  After a daemon is killed (-9):
# status says so, xl names that daemon (and only it), and the first start
# brings it back; a pid file naming another program is not taken for a
# running daemon.
. "$(dirname "$0")/lib.sh"
setup_host

[ "$(xs_read /local/domain/0/name)" = Domain-0 ] &&
    [ "$(xs_read /local/domain/0/domid)" = 0 ] &&
    [ "$(xs_read /local/pool/0/name)" = Pool-0 ] &&
    pass "Domain-0's nodes" || fail "dom0 nodes: $(xs_ls /local/domain/0)"
[ -S "$XENOLITH_RUNDIR/xenstored/socket" ] && [ -S "$XENOLITH_RUNDIR/core.sock" ] &&
    pass "sockets under XENOLITH_RUNDIR" || fail "sockets: $(ls -R "$XENOLITH_RUNDIR")"
run_xl list -l 0
[ "$xlrc" = 0 ] && [ ! -s "$T/err" ] && python3 - "$T/out" <<'PY' &&
import json, sys
d = json.load(open(sys.argv[1]))
assert d[0]["domid"] == 0 and d[0]["config"]["c_info"]["type"] == "pv", d
assert d[0]["config"]["c_info"]["name"] == "Domain-0", d
PY
    pass "Domain-0's stub JSON config (xl list -l 0)" ||
    fail "list -l 0: $(cat "$T/out" "$T/err")"
xs_pid=$(cat "$XENOLITH_RUNDIR/xenstored.pid")
core_pid=$(cat "$XENOLITH_RUNDIR/xenolithd.pid")

sh "$XENCOMMONS" start >"$T/out" 2>&1
rc=$?
[ "$rc" = 0 ] && grep -q "xenstored already running (pid $xs_pid)" "$T/out" &&
    grep -q "xenolithd already running (pid $core_pid)" "$T/out" &&
    [ "$(cat "$XENOLITH_RUNDIR/xenstored.pid")" = "$xs_pid" ] &&
    pass "a second start is harmless" || fail "second start: rc=$rc $(cat "$T/out")"

sh "$XENCOMMONS" status >"$T/out" 2>&1
rc=$?
[ "$rc" = 0 ] && grep -q "xenstored is running (pid $xs_pid)" "$T/out" &&
    grep -q "xenolithd is running (pid $core_pid)" "$T/out" &&
    pass "status: both run" || fail "status: rc=$rc $(cat "$T/out")"

run_xl list
[ "$xlrc" = 0 ] && pass "xl works after a double start" ||
    fail "xl list: $(cat "$T/err")"

sh "$XENCOMMONS" stop >"$T/out" 2>&1
exited "$xs_pid" && exited "$core_pid" &&
    [ ! -e "$XENOLITH_RUNDIR/xenstored.pid" ] &&
    pass "stop: both gone" || fail "stop: $(cat "$T/out")"
sh "$XENCOMMONS" status >"$T/out" 2>&1
[ $? = 3 ] && grep -q "xenolithd is not running" "$T/out" &&
    pass "status after stop: exit 3" || fail "status: $(cat "$T/out")"
sh "$XENCOMMONS" stop >/dev/null 2>&1 && pass "stop twice is harmless" ||
    fail "second stop failed"
sh "$XENCOMMONS" bogus >"$T/out" 2>&1
[ $? != 0 ] && grep -q "Usage:" "$T/out" && pass "unknown action: usage" ||
    fail "bogus: $(cat "$T/out")"
XENSTORED_BIN=/nonexistent sh "$XENCOMMONS" start >"$T/out" 2>&1
[ $? != 0 ] && grep -q "xenstored (/nonexistent) failed to start" "$T/out" &&
    pass "a daemon that cannot start is named" || fail "$(cat "$T/out")"
sh "$XENCOMMONS" start >/dev/null 2>&1 && run_xl list &&
    [ "$xlrc" = 0 ] && pass "start again after stop" ||
    fail "restart: $(cat "$T/err")"

# A daemon killed (its zombie, pid file and socket stay behind until
# someone reaps and cleans): the same for each of the two.  A node written
# now is in xenstored's snapshot within a second.
"$XENSTORE_BINDIR/xenstore-write" /xencommons/kept before-the-crash
sleep 1.5
for d in xenstored xenolithd; do
    if [ $d = xenstored ]; then
        other=xenolithd
        msg="xenstored is not running"
        wrong="xenolithd (the core) is not running"
    else
        other=xenstored
        msg="xenolithd (the core) is not running"
        wrong="xenstored is not running"
    fi
    pid=$(cat "$XENOLITH_RUNDIR/$d.pid")
    kill -9 "$pid"
    i=0
    while [ "$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -c1)" \
            != Z ] && [ -e "/proc/$pid" ] && [ $i -lt 50 ]; do
        sleep 0.1
        i=$((i + 1))
    done
    sh "$XENCOMMONS" status >"$T/out" 2>&1
    rc=$?
    [ "$rc" = 3 ] && grep -q "^$d is not running" "$T/out" &&
        grep -q "^$other is running" "$T/out" &&
        pass "$d killed: status says so (exit 3)" ||
        fail "$d killed: status rc=$rc $(cat "$T/out")"
    run_xl list
    [ "$xlrc" != 0 ] && grep -q "$msg" "$T/err" &&
        ! grep -q "$wrong" "$T/err" &&
        pass "$d killed: xl names it, and only it" ||
        fail "$d killed: xl list rc=$xlrc $(cat "$T/err")"
    sh "$XENCOMMONS" start >"$T/start" 2>&1
    rc=$?
    run_xl list
    [ "$rc" = 0 ] && grep -q "Starting $d" "$T/start" && [ "$xlrc" = 0 ] &&
        pass "$d killed: the first start brings it back" ||
        fail "$d killed: start rc=$rc $(cat "$T/start") xl: $(cat "$T/err")"
    if [ $d = xenstored ]; then
        # the store came back from its snapshot, not empty
        [ "$(xs_read /xencommons/kept)" = before-the-crash ] &&
            pass "xenstored killed: the store is back" ||
            fail "xenstored killed: /xencommons/kept is" \
                "'$(xs_read /xencommons/kept)'"
    fi
done

# A stale pid file that names a live process of another program (its
# pid reused) is not a running daemon: stop leaves that process alone.
sh "$XENCOMMONS" stop >/dev/null 2>&1
sleep 60 &
other=$!
echo "$other" >"$XENOLITH_RUNDIR/xenstored.pid"
sh "$XENCOMMONS" status >"$T/out" 2>&1
rc=$?
sh "$XENCOMMONS" stop >>"$T/out" 2>&1
[ "$rc" = 3 ] && grep -q "^xenstored is not running" "$T/out" &&
    kill -0 "$other" 2>/dev/null &&
    pass "a pid file naming another program: not running, left alone" ||
    fail "reused pid: rc=$rc $(cat "$T/out")"
kill "$other" 2>/dev/null
sh "$XENCOMMONS" start >"$T/out" 2>&1 && run_xl list && [ "$xlrc" = 0 ] &&
    pass "start over a reused pid" || fail "start: $(cat "$T/out")"
finish

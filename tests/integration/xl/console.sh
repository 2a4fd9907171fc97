#!/bin/sh
# console.sh - xl console and xl create -c through a real pty: the
# guest's verdict line arrives, Ctrl-] detaches with status 0, and the
# domain keeps running; console options and errors.
. "$(dirname "$0")/lib.sh"
PTYRUN="python3 $(dirname "$0")/ptyrun.py"
setup_host

cfg=$(write_cfg hello)

# create -c: the console from the guest's first byte.
$PTYRUN 10 "$XL_BIN" create -c "$cfg" >"$T/pty" 2>&1
grep -q "Test result: SUCCESS" "$T/pty" && grep -q "^\[exit: 0\]" "$T/pty" &&
    pass "create -c: verdict line, Ctrl-] detaches" ||
    fail "create -c: $(cat "$T/pty")"
[ -n "$(domid_of hello)" ] && pass "the domain outlives the console" ||
    fail "hello gone after detaching"
run_xl destroy hello
assert_clean "after create -c"

# create -F -c: console and watching together; the guest powers off,
# the watcher destroys it and both end.
pcfg=$(write_cfg poweroff)
$PTYRUN --expect "Done. Exiting now" 15 "$XL_BIN" create -F -c "$pcfg" \
    >"$T/pty" 2>&1
grep -q "Test result: SUCCESS" "$T/pty" &&
    grep -q "Action for shutdown reason code 0 is destroy" "$T/pty" &&
    grep -q "^\[exit: 0\]" "$T/pty" &&
    pass "create -F -c: console, then the watcher applies on_poweroff" ||
    fail "create -F -c: $(cat "$T/pty")"
assert_clean "after create -F -c"

# console on a paused domain, unpaused from elsewhere.
run_xl create -p "$cfg"
$PTYRUN --after "'$XL_BIN' unpause hello" 10 "$XL_BIN" console hello \
    >"$T/pty" 2>&1
grep -q "Test result: SUCCESS" "$T/pty" && grep -q "^\[exit: 0\]" "$T/pty" &&
    pass "console: verdict line through the pty" ||
    fail "console: $(cat "$T/pty")"
$PTYRUN --after "'$XL_BIN' unpause hello" 3 "$XL_BIN" console -t serial \
    -n 0 hello >"$T/pty" 2>&1
grep -q "^\[exit: 0\]" "$T/pty" && pass "console -t serial -n 0" ||
    fail "console -t serial -n 0: $(cat "$T/pty")"
# Ctrl-] typed before xl console attached (type-ahead) still detaches:
# entering raw mode must not flush it.
$PTYRUN --early 20 "$XL_BIN" console hello >"$T/pty" 2>&1
grep -q "^\[exit: 0\]" "$T/pty" &&
    pass "console: a Ctrl-] typed ahead detaches" ||
    fail "console with a Ctrl-] typed ahead: $(cat "$T/pty")"

# A live guest: the counter keeps writing.
ccfg=$(write_cfg counter)
run_xl create "$ccfg"
$PTYRUN --expect "
" 15 "$XL_BIN" console counter >"$T/pty" 2>&1
[ "$(wc -l <"$T/pty")" -ge 2 ] && grep -q "^\[exit: 0\]" "$T/pty" &&
    pass "console: live output of a running guest" ||
    fail "console counter: $(cat "$T/pty")"

# A console not there yet (a domain still being built, as right after a
# reboot): xl console waits for the tty, up to 5 s as Xen's client does,
# and attaches when it shows; later it gives up naming the path.
cid=$(domid_of counter)
key=/local/domain/$cid/serial/0/tty
tty=$(xs_read "$key")
"$XENSTORE_BINDIR/xenstore-rm" "$key"
$PTYRUN --after "sleep 1.5; '$XENSTORE_BINDIR/xenstore-write' $key $tty" \
    --expect "counter" 8 "$XL_BIN" console counter >"$T/pty" 2>&1
grep -q "^counter [0-9]" "$T/pty" && grep -q "^\[exit: 0\]" "$T/pty" &&
    pass "console: waits for a tty that shows late" ||
    fail "console with a late tty: $(cat "$T/pty")"
"$XENSTORE_BINDIR/xenstore-rm" "$key"
t0=$(date +%s)
run_xl console counter
t1=$(date +%s)
"$XENSTORE_BINDIR/xenstore-write" "$key" "$tty"
[ "$xlrc" != 0 ] && grep -q "$key" "$T/err" && [ $((t1 - t0)) -ge 4 ] &&
    pass "console: no tty within 5 s: refused, the path named" ||
    fail "console with no tty: rc=$xlrc after $((t1 - t0)) s: $(cat "$T/err")"

# Errors.
run_xl console -t bogus hello
[ "$xlrc" != 0 ] && grep -q "console type supported are" "$T/err" &&
    pass "console -t bogus" || fail "console -t bogus: $xlrc $(cat "$T/err")"
run_xl console nosuch
[ "$xlrc" != 0 ] && grep -q "nosuch is an invalid domain identifier" \
    "$T/err" && pass "console nosuch" || fail "console nosuch: $(cat "$T/err")"
run_xl console -n 5 hello
[ "$xlrc" != 0 ] && [ -s "$T/err" ] && pass "console -n 5: refused" ||
    fail "console -n 5: rc=$xlrc $(cat "$T/err")"

for name in hello counter; do
    run_xl destroy $name
    [ "$xlrc" = 0 ] || fail "destroy $name: rc=$xlrc $(cat "$T/err")"
done
assert_clean "at the end"
finish

#!/bin/sh
# errors.sh - every bad argument, unknown domain and broken config makes
# xl exit non-zero with a clear message and leave no domain, xenstore
# node or process behind; xl as non-root; xl with the daemons down.
. "$(dirname "$0")/lib.sh"
setup_host

# expect_fail WHAT PATTERN xl-args...: non-zero status, PATTERN on stderr.
expect_fail()
{
    what=$1
    pat=$2
    shift 2
    run_xl "$@"
    if [ "$xlrc" != 0 ] && grep -q -- "$pat" "$T/err"; then
        pass "$what"
    else
        fail "$what: rc=$xlrc stderr: $(cat "$T/err")"
    fi
}

expect_fail "unknown command" "command not implemented" frobnicate
expect_fail "unknown option" "option \`Q' not supported" list -Q
for c in pause unpause destroy console domid domname rename mem-set \
         mem-max vcpu-set vcpu-pin; do
    expect_fail "$c without arguments" "'xl $c' requires at least" "$c"
done
expect_fail "shutdown without a domain" "You must specify -a or a domain id" \
    shutdown
expect_fail "reboot without a domain" "You must specify -a or a domain id" \
    reboot
for c in pause unpause destroy shutdown reboot console "list" uptime \
         vcpu-list; do
    expect_fail "$c of an unknown name" \
        "nosuch is an invalid domain identifier" $c nosuch
    expect_fail "$c of an unknown id" "Domain '4242' does not exist" \
        $c 4242
done
expect_fail "rename of an unknown domain" "invalid domain identifier" \
    rename nosuch other
expect_fail "mem-set of an unknown domain" "invalid domain identifier" \
    mem-set nosuch 16
expect_fail "domid of an unknown name" "Can't get domid of domain name" \
    domid nosuch
expect_fail "domname of an unknown id" "Can't get domain name" domname 4242
expect_fail "domname of a non-number" "Invalid domain id" domname abc
expect_fail "destroy Domain-0" "Not destroying domain 0" destroy 0
expect_fail "mem-set bad size" "invalid memory size: lots" mem-set 0 lots
expect_fail "vcpu-pin bad vcpu" "Invalid argument x as VCPU" vcpu-pin 0 x 0
expect_fail "vcpu-set bad count" "Invalid argument" vcpu-set 0 many
expect_fail "sched-credit bad weight" "cpu weight 0 out of range" \
    sched-credit -d 0 -w 0
expect_fail "top bad delay" "bad delay" top -d x

# Configs that cannot make a domain.
expect_fail "create without a config" "Config file not specified" create
expect_fail "create of a missing file" \
    "Failed to read config file: $T/none.cfg" create "$T/none.cfg"
printf 'name = "broken"\nmemory = [\n' >"$T/broken.cfg"
expect_fail "create of a broken config" "broken.cfg:2: config parsing error" \
    create "$T/broken.cfg"
printf 'name = "nokernel"\ntype = "pvh"\nkernel = "%s"\nmemory = 32\n' \
    "$T/no-such-kernel" >"$T/nokernel.cfg"
expect_fail "create with a missing kernel" "no-such-kernel" \
    create "$T/nokernel.cfg"
printf 'name = "big"\ntype = "pvh"\nkernel = "%s"\nmemory = 100000000\n' \
    "$GUESTS/test-pvh-hello" >"$T/big.cfg"
expect_fail "create with too much memory" "failed to create domain big" \
    create "$T/big.cfg"
printf 'name = "Domain-0"\ntype = "pvh"\nkernel = "%s"\nmemory = 32\n' \
    "$GUESTS/test-pvh-hello" >"$T/dup.cfg"
expect_fail "create with a name in use" "failed to create domain Domain-0" \
    create "$T/dup.cfg"
assert_clean "after the failed creates"
[ -z "$(ls "$XENOLITH_RUNDIR"/log/xl-*.log 2>/dev/null)" ] &&
    pass "no watching process was started" ||
    fail "watchers started: $(ls "$XENOLITH_RUNDIR"/log/)"

# A duplicate name while the first runs.
cfg=$(write_cfg counter)
run_xl create "$cfg"
expect_fail "create of a second domain with the same name" \
    "failed to create domain counter" create "$cfg"
run_xl list
[ "$(grep -c '^counter ' "$T/out")" = 1 ] && pass "still one counter" ||
    fail "two counters: $(cat "$T/out")"
expect_fail "rename to a name in use" "Can't rename domain" \
    rename counter Domain-0
run_xl destroy counter
assert_clean "after the duplicate"

# Not root: one clear line, nothing done.  (Only where uid 65534 can
# reach xl at all: a build under a private directory, such as a clone in
# a mktemp -d, it cannot.)
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
if command -v setpriv >/dev/null && ! nobody test -x "$XL_BIN"; then
    echo "note: non-root checks not run: uid 65534 cannot reach $XL_BIN" \
        "(a private parent directory)"
elif command -v setpriv >/dev/null; then
    for c in "list" "create $cfg" "destroy 0" "console 0"; do
        setpriv --reuid=65534 --regid=65534 --clear-groups \
            "$XL_BIN" $c >"$T/out" 2>"$T/err"
        rc=$?
        [ "$rc" != 0 ] && [ "$(wc -l <"$T/err")" = 1 ] &&
            grep -q "needs root privileges" "$T/err" &&
            pass "non-root xl $c" || fail "non-root xl $c: rc=$rc $(cat "$T/err")"
    done
    assert_clean "after the non-root attempts"
fi

# The daemons down: xl names the missing one.
sh "$XENCOMMONS" stop >/dev/null 2>&1
sh "$XENCOMMONS" status >"$T/status" 2>&1
[ $? != 0 ] && grep -q "xenstored is not running" "$T/status" &&
    pass "xencommons status: not running" ||
    fail "xencommons status: $(cat "$T/status")"
expect_fail "list with the daemons down" "xenstored is not running" list
grep -q "xencommons start" "$T/err" && pass "... and says how to start them" ||
    fail "no hint: $(cat "$T/err")"
"$XENSTORED_BIN" -F "$XENOLITH_RUNDIR/xenstored.pid" \
    -L "$XENOLITH_RUNDIR/log/xenstored.log"
wait_until "[ -S '$XENOLITH_RUNDIR/xenstored/socket' ]" 5
expect_fail "list with the core down" "xenolithd (the core) is not running" \
    list
grep -q "xenstored is not running" "$T/err" &&
    fail "blames xenstored, which runs" || pass "names only the core"
sh "$XENCOMMONS" start >/dev/null 2>&1
run_xl list
[ "$xlrc" = 0 ] && pass "xencommons start after a partial start" ||
    fail "list after restart: $(cat "$T/err")"
finish

#!/bin/sh
# migrate.sh - xl migrate between two Xenolith hosts on one machine: two
# sets of daemons (two XENOLITH_RUNDIRs), host A in the test's own
# network namespace and host B in a second one, joined by a veth pair
# (both namespaces are the test's: nothing reaches the machine's own
# network).  The transport is Ganeti's: on B
#   socat TCP-LISTEN:PORT,bind=ADDR SYSTEM:'xl migrate-receive'
# and on A
#   xl migrate -s "socat - TCP:ADDR:PORT #" -C CFG DOM ADDR
#  - the counter guest (test-pvh-counter) moves to B and counts on there,
#    A keeps nothing; it moves back with -p (paused at A until unpaused);
#  - the transfer cut in the middle (B's socat killed once 16 KiB of
#    the stream went through, the domain half made at B): the migration
#    fails, the guest runs on at A under its own name, B has nothing
#    (domain, domain process, node, receiver, transport);
#  - receivers that fail: one whose host daemons are down (no banner),
#    one whose domain cannot take its name after "go" (B already has a
#    "counter"): the same at A, nothing new at B;
#  - the counter as a domain in qemu (accel = "tcg"): it moves to B with
#    qemu's own migration inside the stream and counts on there.
. "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, KVM)"
for c in ip unshare nsenter socat python3 pgrep; do
    command -v $c >/dev/null || hard_error "no $c (scripts/install-deps.sh)"
done
# Host A's network namespace is this script's own.
if [ -z "${MIGRATE_IN_NETNS:-}" ]; then
    MIGRATE_IN_NETNS=1
    export MIGRATE_IN_NETNS
    exec unshare --net sh "$0" "$@"
fi
ip link set lo up || hard_error "no network namespace of our own"

setup_host
A_RUNDIR=$XENOLITH_RUNDIR
B_RUNDIR=$T/b/run
IPA=10.231.7.1 IPB=10.231.7.2 PORT=8002
NSPID="" LISTENER=""

# Host B's network namespace: kept by a sleeper of its own.
unshare --net sleep 100000 &
NSPID=$!
INB="nsenter --net=/proc/$NSPID/ns/net"
inb() { $INB "$@"; }

# This test's processes matching the pgrep pattern $1: those whose
# environment names a run dir of its own (other tests may run beside),
# or the run dir $2.
my_procs()
{
    for p in $(pgrep -f -- "$1"); do
        tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
            grep -q "^XENOLITH_RUNDIR=${2:-$T/}" && echo "$p"
    done
}
own_netns() {
    [ "$(readlink "/proc/$NSPID/ns/net")" != "$(readlink /proc/$$/ns/net)" ]
}
wait_until own_netns 5 ||
    hard_error "no second network namespace"

teardown_b()
{
    rc=$?
    [ -z "$LISTENER" ] || kill "$LISTENER" 2>/dev/null
    for p in $(cat "$B_RUNDIR"/log/xl-*.log 2>/dev/null |
               sed -n 's/.*to die \[pid \([0-9]*\)\].*/\1/p' | sort -u); do
        kill "$p" 2>/dev/null
    done
    for p in $(my_procs "migrate-receive|stallpipe.py|TCP-LISTEN:$PORT"); do
        kill "$p" 2>/dev/null
    done
    XENOLITH_RUNDIR=$B_RUNDIR sh "$XENCOMMONS" stop >/dev/null 2>&1
    if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
        for f in "$B_RUNDIR"/log/*.log "$T"/recv*.err; do
            [ -f "$f" ] || continue
            echo "---- tail of $f (host B)"
            tail -20 "$f"
        done
    fi
    [ -z "$NSPID" ] || kill "$NSPID" 2>/dev/null
    (exit $rc)
}
trap 'teardown_b; teardown_host' EXIT

ip link add xmig-a type veth peer name xmig-b netns "$NSPID" ||
    hard_error "cannot make a veth pair"
ip addr add $IPA/24 dev xmig-a && ip link set xmig-a up &&
    inb ip addr add $IPB/24 dev xmig-b && inb ip link set xmig-b up &&
    inb ip link set lo up || hard_error "cannot set up the veth pair"

mkdir -p "$B_RUNDIR" "$T/bin"
inb env XENOLITH_RUNDIR="$B_RUNDIR" sh "$XENCOMMONS" start \
    >"$T/xencommons-b.out" 2>&1 ||
    { cat "$T/xencommons-b.out"; hard_error "host B: xencommons start"; }
# "xl" on the receiving side's PATH, as on a real host
printf '#!/bin/sh\nexec "%s" "$@"\n' "$XL_BIN" >"$T/bin/xl"
chmod +x "$T/bin/xl"

# Runs "$@" as on host B (its run dir and store; failures count here).
on_b()
{
    (
        export XENOLITH_RUNDIR="$B_RUNDIR"
        export XENSTORED_PATH="$B_RUNDIR/xenstored/socket"
        export XENOLITH_DUMPDIR="$T/b/dump"
        failures=0
        "$@"
        exit $failures
    )
    failures=$((failures + $?))
}
xb() {
    XENOLITH_RUNDIR="$B_RUNDIR" XENSTORED_PATH="$B_RUNDIR/xenstored/socket" \
        "$XL_BIN" "$@"
}

# listen RUNDIR ADDR [RECEIVER]: socat on ADDR:PORT (in host B's
# namespace for B's address) running RECEIVER (default: xl
# migrate-receive) for one connection, with the environment of the host
# whose run dir is RUNDIR.
listen()
{
    rundir=$1 addr=$2 recv=${3:-xl migrate-receive} runner=""
    [ "$addr" = $IPB ] && runner=$INB
    $runner env PATH="$T/bin:$PATH" XENOLITH_RUNDIR="$rundir" \
        XENSTORED_PATH="$rundir/xenstored/socket" \
        socat TCP-LISTEN:$PORT,bind=$addr,reuseaddr SYSTEM:"$recv" \
        2>>"$T/recv.err" &
    LISTENER=$!
    wait_until "$runner ss -ltn | grep -q '$addr:$PORT '" 5 ||
        hard_error "socat does not listen on $addr:$PORT"
}

# migrate FROM-RUNDIR ADDR [options] DOM: xl migrate the Ganeti way,
# status in $mrc, stderr in $T/mig.err.
migrate()
{
    rundir=$1 addr=$2
    shift 2
    XENOLITH_RUNDIR="$rundir" XENSTORED_PATH="$rundir/xenstored/socket" \
        "$XL_BIN" migrate -s "socat - TCP:$addr:$PORT #" -C "$cfg" "$@" \
        "$addr" >"$T/mig.out" 2>"$T/mig.err" </dev/null
    mrc=$?
    return $mrc
}

# Waits for the listener of the last migration to end (5 s).
listener_done()
{
    wait_until "exited $LISTENER" 5 ||
        fail "socat for the migration still runs: $(ps -o args= -p "$LISTENER")"
    LISTENER=""
}

# Nothing of ours at host B: no domain (assert_clean), no domain process,
# no receiver left.
b_clean()
{
    on_b assert_clean "host B, $1"
    wait_until '[ -z "$(on_b domain_procs)" ]' 5 ||
        fail "host B, $1: domain processes left: $(on_b domain_procs)"
    wait_until '[ -z "$(my_procs "migrate-receive|stallpipe.py" \
        "$B_RUNDIR\$")" ]' 5 ||
        fail "host B, $1: receiver processes left:" \
             "$(for p in $(my_procs "migrate-receive|stallpipe.py" \
                                    "$B_RUNDIR\$"); do
                    ps -o pid=,args= -p "$p"; done)"
}

# a_runs BEFORE WHAT: counter runs at A under its name, counting on.
a_runs()
{
    id=$(domid_of counter)
    if [ -n "$id" ] &&
        wait_until '[ "$(last_count '"$id"')" -gt '"$1"' ]' 10 &&
        r=$(counts_continue "$id" "$1"); then
        pass "$2: counter runs on at A ($r)"
    else
        fail "$2: counter at A: id '$id' $(console_ring "$id" | tail -2)" \
             "$("$XL_BIN" list)"
    fi
}

cfg=$(write_cfg counter)
run_xl create "$cfg"
[ "$xlrc" = 0 ] || hard_error "create counter: $(cat "$T/err")"
id=$(domid_of counter)
wait_until '[ "$(last_count '"$id"')" -ge 20 ]' 30 ||
    hard_error "counter does not count: $(console_ring "$id" | tail -3)"

# ---- A -> B
before=$(last_count "$id")
listen "$B_RUNDIR" $IPB
migrate "$A_RUNDIR" $IPB counter
listener_done
if [ "$mrc" = 0 ] && grep -q "Migration successful" "$T/mig.err"; then
    pass "migrate A -> B: successful"
else
    fail "migrate A -> B: rc=$mrc $(cat "$T/mig.err") $(cat "$T/recv.err")"
fi
assert_clean "host A after the migration"
wait_until '[ -z "$(domain_procs)" ]' 5 ||
    fail "host A: domain processes left: $(domain_procs)"
bid=$(xb domid counter 2>/dev/null)
if [ -n "$bid" ] &&
    on_b wait_until '[ "$(last_count '"$bid"')" -gt '"$before"' ]' 10 &&
    r=$(on_b counts_continue "$bid" "$before"); then
    pass "migrate A -> B: counter counts on at B ($r, $before at A)"
else
    fail "migrate A -> B: at B: id '$bid' $(xb list 2>&1)" \
         "$(on_b console_ring "$bid" | tail -2)"
fi
grep -q "migration target: Domain started successfully" "$T/recv.err" ||
    fail "the receiver's messages: $(cat "$T/recv.err")"
# made as counter--incoming (its watcher's log says), renamed on "go"
grep -q "Waiting for domain counter--incoming (domid $bid)" \
    "$B_RUNDIR/log/xl-counter--incoming.log" 2>/dev/null &&
    pass "migrate A -> B: received as counter--incoming, then renamed" ||
    fail "migrate A -> B: no counter--incoming: $(ls "$B_RUNDIR/log")"

# ---- B -> A, paused at A (-p) until unpaused: through "#" the receiver's
# options are the listener's
before=$(on_b last_count "$bid")
listen "$A_RUNDIR" $IPA "xl migrate-receive -p"
inb env XENOLITH_RUNDIR="$B_RUNDIR" \
    XENSTORED_PATH="$B_RUNDIR/xenstored/socket" \
    "$XL_BIN" migrate -p -s "socat - TCP:$IPA:$PORT #" counter $IPA \
    >"$T/mig.out" 2>"$T/mig.err" </dev/null
mrc=$?
listener_done
state=$("$XL_BIN" list counter 2>/dev/null | awk 'NR == 2 { print $5 }')
case "$mrc $state" in
"0 "*p*) pass "migrate -p B -> A: paused at A" ;;
*) fail "migrate -p B -> A: rc=$mrc $(cat "$T/mig.err") $("$XL_BIN" list)" ;;
esac
b_clean "after migrating back"
"$XL_BIN" unpause counter
a_runs "$before" "migrate -p B -> A, unpaused"

# ---- the transfer cut in the middle: 16 KiB through, then socat killed
before=$(last_count "$(domid_of counter)")
: >"$T/recv.err"
listen "$B_RUNDIR" $IPB \
    "python3 $HERE/stallpipe.py 16384 $T/stalled | xl migrate-receive"
migrate "$A_RUNDIR" $IPB counter &
mpid=$!
if wait_until '[ -e "$T/stalled" ] && [ -n "$(on_b domain_procs)" ]' 20
then
    pass "mid-transfer: the domain is being made at B"
else
    fail "mid-transfer: stalled: $(ls "$T/stalled" 2>&1)," \
         "B's domain processes: $(on_b domain_procs)"
fi
kill "$LISTENER"
LISTENER=""
wait "$mpid"
mrc=$?
[ "$mrc" != 0 ] &&
    grep -q "Migration failed, resuming at sender" "$T/mig.err" &&
    pass "socat killed mid-transfer: the sender resumes" ||
    fail "socat killed mid-transfer: $(cat "$T/mig.err")"
a_runs "$before" "socat killed mid-transfer"
b_clean "after the cut transfer"

# ---- a receiver whose host is down: no banner
before=$(last_count "$(domid_of counter)")
: >"$T/recv.err"
listen "$T/nowhere" $IPB
migrate "$A_RUNDIR" $IPB counter
listener_done
if [ "$mrc" != 0 ] && grep -q "truncated reading banner" "$T/mig.err"; then
    pass "receiver without daemons: refused before anything moved"
else
    fail "receiver without daemons: rc=$mrc $(cat "$T/mig.err")"
fi
a_runs "$before" "receiver without daemons"
b_clean "after the receiver without daemons"

# ---- a receiver that fails after "go": B has a "counter" already
xb create -p "$cfg" >/dev/null 2>&1
other=$(xb domid counter 2>/dev/null)
[ -n "$other" ] || hard_error "cannot make a paused counter at B"
before=$(last_count "$(domid_of counter)")
: >"$T/recv.err"
listen "$B_RUNDIR" $IPB
migrate "$A_RUNDIR" $IPB counter
listener_done
if [ "$mrc" != 0 ] &&
    grep -q "Target reports startup failure" "$T/mig.err" &&
    grep -q "Resumed OK" "$T/mig.err"; then
    pass "receiver failing after go: reported, the sender resumed"
else
    fail "receiver failing after go: rc=$mrc $(cat "$T/mig.err")" \
         "$(cat "$T/recv.err")"
fi
a_runs "$before" "receiver failing after go"
left=$(xb list 2>/dev/null | awk 'NR > 2 { print $1 "/" $2 }' | tr '\n' ' ')
[ "$left" = "counter/$other " ] &&
    pass "receiver failing after go: B kept only its own counter" ||
    fail "receiver failing after go: B has $left"
xb destroy counter
b_clean "before the domain in qemu"
run_xl destroy counter
assert_clean "host A before the domain in qemu"

# ---- a domain in qemu (accel = "tcg": the counter as a PVH guest of
# qemu's emulator): qemu's own migration inside the stream, A -> B
cfg=$(write_cfg counter 'accel = "tcg"')
run_xl create "$cfg"
[ "$xlrc" = 0 ] || hard_error "create counter in qemu: $(cat "$T/err")"
id=$(domid_of counter)
wait_until '[ "$(last_count '"$id"')" -ge 20 ]' 60 ||
    hard_error "counter in qemu does not count: $(console_ring "$id" |
        tail -3)"
before=$(last_count "$id")
: >"$T/recv.err"
listen "$B_RUNDIR" $IPB
migrate "$A_RUNDIR" $IPB counter
listener_done
if [ "$mrc" = 0 ] && grep -q "Migration successful" "$T/mig.err"; then
    pass "qemu domain, migrate A -> B: successful"
else
    fail "qemu domain, migrate A -> B: rc=$mrc $(cat "$T/mig.err")" \
         "$(cat "$T/recv.err")"
fi
assert_clean "host A after the qemu domain left"
bid=$(xb domid counter 2>/dev/null)
if [ -n "$bid" ] &&
    on_b wait_until '[ "$(last_count '"$bid"')" -gt '"$before"' ]' 30 &&
    r=$(on_b counts_continue "$bid" "$before"); then
    pass "qemu domain: counter counts on at B ($r, $before at A)"
else
    fail "qemu domain: at B: id '$bid' $(xb list 2>&1)" \
         "$(on_b console_ring "$bid" | tail -2)"
fi
xb destroy counter
b_clean "at the end"
assert_clean "host A at the end"
finish

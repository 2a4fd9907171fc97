# lib.sh - shared by the xl integration tests: private host daemons
# started with xencommons in a temporary XENOLITH_RUNDIR, the real xl
# binary, the tiny PVH test guests, and the checks that nothing is left
# behind (xenstore nodes, core domains, xl watching processes).
#
# Environment (set by tests/integration/Makefile.am, defaults for a run
# by hand from the build tree's tests/integration): BUILD (top build
# dir), XL_TEST_VERBOSE=1 prints every xl call.

BUILD=${BUILD:-$(cd ../.. && pwd)}
XL_BIN=${XL_BIN:-$BUILD/xl/xl}
XENCOMMONS=${XENCOMMONS:-$BUILD/hotplug/xencommons}
GUESTS=${GUESTS:-$BUILD/tests/guests}
export XENSTORED_BIN=${XENSTORED_BIN:-$BUILD/xenstored/xenstored}
export XENOLITHD_BIN=${XENOLITHD_BIN:-$BUILD/hypervisor/xenolithd}
export XENSTORE_BINDIR=${XENSTORE_BINDIR:-$BUILD/libs/store/tools}
# These tests are about the core: their tiny PVH guests run on it even
# where "auto" would send PVH guests to qemu (no hardware KVM); setup_host
# writes the host default into the test's xl.conf.  tests/integration/dm
# covers the device-model path.
export XL_CONF_FILE=/dev/null

failures=0
T=""

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }
hard_error() { echo "ERROR: $*"; exit 99; }

# The test's own temporary host.
# setup_host [tcg]: with "tcg", every guest runs in qemu's emulator
# (accel = "tcg"; no KVM needed).
setup_host()
{
    accel=kvm
    [ "${1:-}" = tcg ] && accel=tcg
    [ "$(id -u)" = 0 ] || skip "needs root (KVM and the core's socket)"
    if [ $accel = kvm ]; then
        [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] ||
            skip "no usable /dev/kvm"
    else
        command -v qemu-system-x86_64 >/dev/null || skip "no qemu-system-x86_64"
    fi
    [ -x "$XL_BIN" ] || hard_error "no xl at $XL_BIN"
    [ -f "$XENCOMMONS" ] || hard_error "no xencommons at $XENCOMMONS"
    [ -x "$GUESTS/test-pvh-hello" ] || skip "no test guests in $GUESTS"
    T=$(mktemp -d /tmp/xl-itest.XXXXXX) || hard_error "mktemp"
    export XENOLITH_RUNDIR=$T/run
    export XENOLITH_DUMPDIR=$T/dump
    printf 'accel = "%s"\n' $accel >"$T/xl.conf" || hard_error "write xl.conf"
    export XL_CONF_FILE=$T/xl.conf
    unset XENSTORED_PATH XENSTORED_RUNDIR XENOLITH_CORE_SOCKET
    mkdir -p "$XENOLITH_RUNDIR"
    trap teardown_host EXIT
    trap 'exit 99' INT TERM
    sh "$XENCOMMONS" start >"$T/xencommons.out" 2>&1 ||
        { cat "$T/xencommons.out"; hard_error "xencommons start failed"; }
    export XENSTORED_PATH=$XENOLITH_RUNDIR/xenstored/socket
}

# The pids of the xl processes watching domains (from their logs).
monitor_pids()
{
    cat "$XENOLITH_RUNDIR"/log/xl-*.log 2>/dev/null |
        sed -n 's/.*to die \[pid \([0-9]*\)\].*/\1/p' | sort -u
}

teardown_host()
{
    rc=$?
    [ -n "$T" ] || exit $rc
    for p in $(monitor_pids); do
        kill "$p" 2>/dev/null
    done
    sh "$XENCOMMONS" stop >/dev/null 2>&1
    if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
        for f in "$XENOLITH_RUNDIR"/log/*.log; do
            [ -f "$f" ] || continue
            echo "---- tail of $f"
            tail -20 "$f"
        done
    fi
    rm -rf "$T"
    exit $rc
}

# xl with its output in $T/out, $T/err and the status in $xlrc.
run_xl()
{
    [ -z "$XL_TEST_VERBOSE" ] || echo "+ xl $*" >&2
    "$XL_BIN" "$@" >"$T/out" 2>"$T/err" </dev/null
    xlrc=$?
    [ -z "$XL_TEST_VERBOSE" ] || cat "$T/out" "$T/err" >&2
    return 0
}

xs_ls() { "$XENSTORE_BINDIR/xenstore-list" "$1" 2>/dev/null; }
xs_read() { "$XENSTORE_BINDIR/xenstore-read" "$1" 2>/dev/null; }

# A config for guest NAME (test-pvh-NAME) with extra lines in $2.
write_cfg()
{
    cat >"$T/$1.cfg" <<CFG
name = "$1"
type = "pvh"
kernel = "$GUESTS/test-pvh-$1"
memory = 32
vcpus = 1
$2
CFG
    echo "$T/$1.cfg"
}

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

domid_of() { "$XL_BIN" domid "$1" 2>/dev/null; }

# Has process $1 exited?  A zombie counts: daemons and xl's watchers are
# reparented, and where PID 1 reaps late they linger as zombies.
exited() {
    [ ! -e "/proc/$1" ] ||
        [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" = Z ]
}

# Only Domain-0 in xl list and /local/domain, no watching xl left.
assert_clean()
{
    what=$1
    # A destroyed domain's name goes first; the core may still be tearing
    # it down ("dying", listed as "(null)" as in Xen) for a moment.
    wait_until '[ "$("$XL_BIN" list 2>/dev/null | wc -l)" = 2 ]' 5
    run_xl list
    n=$(tail -n +2 "$T/out" | wc -l)
    [ "$xlrc" = 0 ] && [ "$n" = 1 ] && tail -n +2 "$T/out" | grep -q '^Domain-0 ' ||
        fail "$what: domains left: $(cat "$T/out" "$T/err")"
    doms=$(xs_ls /local/domain | tr '\n' ' ')
    [ "$doms" = "0 " ] || fail "$what: /local/domain holds: $doms"
    left=$(xs_ls /libxl | grep -v '^names$' | tr '\n' ' ')
    [ -z "$left" ] || [ "$left" = "0 " ] ||
        fail "$what: /libxl holds: $left"
    left=$(xs_ls /libxl/names | tr '\n' ' ')
    [ "$left" = "Domain-0 " ] || fail "$what: /libxl/names holds: $left"
    left=$(xs_ls /vm | tr '\n' ' ')
    [ -z "$left" ] || fail "$what: /vm holds: $left"
    for p in $(monitor_pids); do
        if wait_until "exited $p" 5; then :; else
            fail "$what: xl watching process $p still runs"
        fi
    done
}

finish()
{
    # The watching processes write to their logs: sanitizer reports there
    # count too (a --enable-sanitizers build).
    if grep -l "Sanitizer\|runtime error:" "$XENOLITH_RUNDIR"/log/xl-*.log \
        >"$T/san" 2>/dev/null; then
        fail "sanitizer reports in $(cat "$T/san" | tr '\n' ' ')"
        cat $(cat "$T/san") | grep -A12 "Sanitizer\|runtime error:" | head -40
    fi
    if [ "$failures" != 0 ]; then
        echo "$failures failure(s)"
        exit 1
    fi
    echo "all passed"
    exit 0
}

# Every whole line in the console ring of domain $1 (the core's console
# socket gives its ring first, then live output), carriage returns out.
console_ring()
{
    python3 - "$XENOLITH_RUNDIR/console/$1.sock" <<'PY' | tr -d '\r'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except OSError:
    sys.exit(0)
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
sys.stdout.write(out[:out.rfind(b"\n") + 1].decode("latin-1"))
PY
}

# The last "counter N" of the counter guest, domain $1 (0 when none).
last_count()
{
    console_ring "$1" | awk '/^counter [0-9]+$/ { n = $2 } END { print n + 0 }'
}

# counts_continue DOMID BEFORE: the counter guest's ring counts on by
# one, with no restart ("counter 1"), past BEFORE (a count seen before
# the guest was saved or moved).  Prints "FIRST..LAST" or what is wrong.
counts_continue()
{
    console_ring "$1" | awk -v before="$2" '
        /^counter [0-9]+$/ {
            if (first == "") first = $2
            else if ($2 != last + 1) {
                print "after counter " last ": counter " $2; bad = 1; exit
            }
            last = $2
        }
        END {
            if (bad) exit 1
            if (first == "") { print "no counter lines"; exit 1 }
            if (first <= 1) { print "counts from " first " again"; exit 1 }
            if (last <= before) {
                print "counts " first ".." last " stay at or below " before
                exit 1
            }
            print first ".." last
        }'
}

# The domain processes of this host's core (other tests may run beside
# this one: theirs name another run dir), "PID COMM" per line.
domain_procs()
{
    for q in $(pgrep -f -- "-r $XENOLITH_RUNDIR "); do
        c=$(cat "/proc/$q/comm" 2>/dev/null)
        case "$c" in xenolith-d[0-9]*) echo "$q $c" ;; esac
    done
}

# dm/lib.sh - shared by the device-model tests: real Debian guests
# (tests/fixtures/debian-guest.sh) under xl with qemu-system-x86_64 as
# their device model, on private host daemons started with xencommons in
# a temporary XENOLITH_RUNDIR (xl/lib.sh's helpers: run_xl, assert_clean,
# finish ...), in a private network namespace when unshare can make one
# (taps and bridges stay there).
#
# Environment (tests/integration/dm.am sets it): BUILD, DM_FIXTURE (the
# fixture script); DM_ACCEL=tcg|kvm adds accel= to the configs;
# XENOLITH_SCRIPTS_DIR (default: this tree's hotplug/) for vif-bridge.

. "$(dirname "$0")/../xl/lib.sh"
DM_DIR=$(cd "$(dirname "$0")" && pwd)
DM_FIXTURE=${DM_FIXTURE:-$DM_DIR/../../fixtures/debian-guest.sh}

# Runs the test again in a new network namespace (once).
dm_netns()
{
    [ -z "$DM_IN_NETNS" ] || return 0
    [ "$(id -u)" = 0 ] || return 0
    command -v unshare >/dev/null 2>&1 || return 0
    unshare --net true 2>/dev/null || return 0
    DM_IN_NETNS=1
    export DM_IN_NETNS
    exec unshare --net sh "$0" "$@"
}

# Skips unless the test runs in its own network namespace (dm_netns)
# with ip(8); then, after dm_setup_host, dm_bridge makes the bridge
# xenbr0 there, 10.99.0.1/24 on the host's side.
dm_need_netns()
{
    [ -n "$DM_IN_NETNS" ] || skip "no private network namespace (unshare)"
    command -v ip >/dev/null 2>&1 || skip "no ip (iproute2)"
}

dm_bridge()
{
    ip link add xenbr0 type bridge &&
        ip addr add 10.99.0.1/24 dev xenbr0 &&
        ip link set xenbr0 up && ip link set lo up ||
        hard_error "cannot make the bridge xenbr0"
}

# The pids of qemu processes started for this test's domains.
dm_qemu_pids()
{
    for d in /proc/[0-9]*; do
        a=$( { tr '\0' '\n' <"$d/cmdline"; } 2>/dev/null) || continue
        case ${a%%
*} in
            *qemu*) ;;
            *) continue ;;
        esac
        case $a in
            *"$XENOLITH_RUNDIR/"*) echo "${d#/proc/}" ;;
        esac
    done
}

dm_teardown()
{
    rc=$?
    if [ -n "$T" ]; then
        # A device model outlives the daemons: kill this test's own.
        for p in $(dm_qemu_pids); do
            kill -9 "$p" 2>/dev/null
        done
        if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
            for f in "$XENOLITH_RUNDIR"/qemu-dm/*.log; do
                [ -f "$f" ] || continue
                echo "---- tail of $f"
                tail -20 "$f"
            done
        fi
    fi
    (exit $rc)
    teardown_host
}

# The host for a device-model test: root, qemu, the Debian guest.
dm_setup_host()
{
    [ "$(id -u)" = 0 ] || skip "needs root"
    command -v qemu-system-x86_64 >/dev/null 2>&1 ||
        skip "no qemu-system-x86_64 (apt-get install qemu-system-x86)"
    command -v python3 >/dev/null 2>&1 || skip "no python3"
    [ -x "$XL_BIN" ] || hard_error "no xl at $XL_BIN"
    [ -f "$XENCOMMONS" ] || hard_error "no xencommons at $XENCOMMONS"
    DM_GUEST=$(sh "$DM_FIXTURE")
    case $? in
        0) ;;
        77) skip "the Debian guest fixture cannot get its packages" ;;
        *) hard_error "the Debian guest fixture failed" ;;
    esac
    export DM_GUEST
    T=$(mktemp -d /tmp/dm-itest.XXXXXX) || hard_error "mktemp"
    export T
    export XENOLITH_RUNDIR=$T/run
    export XENOLITH_DUMPDIR=$T/dump
    unset XENSTORED_PATH XENSTORED_RUNDIR XENOLITH_CORE_SOCKET
    export XL_BIN XENSTORE_BINDIR
    # The vif hotplug script of this tree (built or as in the source).
    if [ -z "$XENOLITH_SCRIPTS_DIR" ]; then
        XENOLITH_SCRIPTS_DIR=$DM_DIR/../../../hotplug
        [ -x "$BUILD/hotplug/vif-bridge" ] &&
            XENOLITH_SCRIPTS_DIR=$BUILD/hotplug
        export XENOLITH_SCRIPTS_DIR
    fi
    # The block backend of this build (PVH guests' disks, xvde+ of HVM).
    export XENOLITH_BLKBACK=${XENOLITH_BLKBACK:-$BUILD/backends/blk/xenolith-blkback}
    # and the network backend (virtio-net NICs)
    export XENOLITH_NETBACK=${XENOLITH_NETBACK:-$BUILD/backends/net/xenolith-netback}
    mkdir -p "$XENOLITH_RUNDIR"
    trap dm_teardown EXIT
    trap 'exit 99' INT TERM
    if ! sh "$XENCOMMONS" start >"$T/xencommons.out" 2>&1; then
        cat "$T/xencommons.out"
        [ -e /dev/kvm ] || skip "xencommons cannot start without /dev/kvm"
        hard_error "xencommons start failed"
    fi
    export XENSTORED_PATH=$XENOLITH_RUNDIR/xenstored/socket
    [ -z "$DM_IN_NETNS" ] || ip link set lo up 2>/dev/null
}

# Nothing of a device model left: no qemu of this test, the rundir's
# qemu-dm/ empty but for the PVH kernel cache (kernels/), no
# device-model xenstore nodes, no tap.
assert_no_dm()
{
    what=$1
    p=$(dm_qemu_pids | tr '\n' ' ')
    [ -z "$p" ] || fail "$what: qemu still runs: $p"
    left=$(ls -A "$XENOLITH_RUNDIR/qemu-dm" 2>/dev/null | grep -vx kernels |
        tr '\n' ' ')
    [ -z "$left" ] || fail "$what: left in qemu-dm/: $left"
    left=$(xs_ls /local/domain/0/device-model | tr '\n' ' ')
    [ -z "$left" ] || fail "$what: device-model nodes for: $left"
    # ip, not /sys/class/net: sysfs shows the namespace it was mounted in.
    left=$(ip -o link show 2>/dev/null | cut -d: -f2 | tr -d ' ' |
        grep '^vif\|^tap' | tr '\n' ' ')
    [ -z "$left" ] || fail "$what: taps left: $left"
}

# xl create $1 must fail, naming $2 (an extended regex) on stderr, and
# leave nothing behind.
create_fails()
{
    cfg=$1 want=$2 what=$3
    run_xl create "$cfg"
    if [ "$xlrc" != 0 ] && grep -Eq -- "$want" "$T/err"; then
        pass "$what: refused, naming it ($(grep -E -- "$want" "$T/err" |
            head -n 1 | cut -c1-100))"
    else
        fail "$what: rc=$xlrc, wanted /$want/ in: $(cat "$T/out" "$T/err")"
    fi
    assert_clean "$what"
    assert_no_dm "$what"
}

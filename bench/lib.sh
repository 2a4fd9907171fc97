# bench/lib.sh - sourced by the benchmarks that run real guests under xl
# (bench/boot, bench/io): checks what they need, then starts private host
# daemons with xencommons in a temporary XENOLITH_RUNDIR and stops them
# (and any device model left) on exit.
#
# bench_host BUILD_DIR NAME: sets build, src, guest (the fixture's guest
# folder), tmp, and exports what boot.py / io.py read (XL_BIN, DM_GUEST,
# BENCH_TMP, XENOLITH_RUNDIR, the backends' binaries); exits 77 when
# something is missing.

bench_host()
{
    build=$(cd "$1" && pwd)
    src=$(cd "$(dirname "$0")/../.." && pwd)
    xl=$build/xl/xl
    for f in "$xl" "$build/hypervisor/xenolithd" \
             "$build/xenstored/xenstored"; do
        [ -x "$f" ] || { echo "$2: $f missing: build first" >&2; exit 1; }
    done
    [ "$(id -u)" = 0 ] || { echo "$2: needs root"; exit 77; }
    command -v qemu-system-x86_64 >/dev/null 2>&1 ||
        { echo "$2: no qemu-system-x86_64"; exit 77; }
    rc=0
    guest=$(sh "${DM_FIXTURE:-$src/tests/fixtures/debian-guest.sh}") ||
        rc=$?
    [ "$rc" = 0 ] || { echo "$2: no Debian guest (fixture: $rc)"; exit 77; }

    tmp=$(mktemp -d "/tmp/$2.XXXXXX")
    export XENOLITH_RUNDIR=$tmp/run XL_CONF_FILE=/dev/null
    export XENSTORED_BIN=$build/xenstored/xenstored
    export XENOLITHD_BIN=$build/hypervisor/xenolithd
    export XENSTORE_BINDIR=$build/libs/store/tools
    export XENOLITH_BLKBACK=$build/backends/blk/xenolith-blkback
    export XENOLITH_NETBACK=$build/backends/net/xenolith-netback
    export XENOLITH_SCRIPTS_DIR=$src/hotplug
    export XL_BIN=$xl DM_GUEST=$guest BENCH_TMP=$tmp
    unset XENSTORED_PATH XENSTORED_RUNDIR XENOLITH_CORE_SOCKET
    trap bench_cleanup EXIT
    trap 'exit 1' INT TERM
    mkdir -p "$XENOLITH_RUNDIR"
    sh "$build/hotplug/xencommons" start >"$tmp/xencommons.out" 2>&1 ||
        { cat "$tmp/xencommons.out"; exit 1; }
    export XENSTORED_PATH=$XENOLITH_RUNDIR/xenstored/socket
}

bench_cleanup()
{
    # A device model outlives the daemons: the bench's own, by pid.
    for d in /proc/[0-9]*; do
        case $( { tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null) in
            *qemu*"$tmp/"*) kill -9 "${d#/proc/}" 2>/dev/null || true ;;
        esac
    done
    sh "$build/hotplug/xencommons" stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
}

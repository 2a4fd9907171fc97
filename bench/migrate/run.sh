#!/bin/sh
# bench/migrate/run.sh - live migration of a tiny PVH guest, idle
# (test-pvh-counter) and dirtying memory (test-pvh-dirty), by xl on the
# core and by qemu itself, over socat on a loopback of a network
# namespace of its own, whose bandwidth it measures.  See README.md and
# migrate.py.
#
# Usage: bench/migrate/run.sh [BUILD_DIR]    (default ".")
# Env:   SIZES ("64 256 1024" MiB), KINDS ("idle dirty"), STACKS
#        ("xl qemu"), DIRTY_MIB (16), BW_MIB (1024).
set -eu

if [ -z "${MIGBENCH_IN_NETNS:-}" ]; then
    unshare --net true 2>/dev/null ||
        { echo "migrate-bench: no private network namespace"; exit 77; }
    MIGBENCH_IN_NETNS=1 exec unshare --net sh "$0" "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "${1:-.}" && pwd)
xl=$build/xl/xl
for f in "$xl" "$build/hypervisor/xenolithd" "$build/xenstored/xenstored" \
         "$build/tests/guests/test-pvh-dirty"; do
    [ -x "$f" ] || { echo "migrate-bench: $f missing: build first" >&2
                     exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "migrate-bench: needs root"; exit 77; }
[ -c /dev/kvm ] || { echo "migrate-bench: no /dev/kvm"; exit 77; }
for c in socat qemu-system-x86_64 python3; do
    command -v $c >/dev/null 2>&1 ||
        { echo "migrate-bench: no $c"; exit 77; }
done

tmp=$(mktemp -d /tmp/migrate-bench.XXXXXX)
cleanup()
{
    for d in /proc/[0-9]*; do       # a qemu of ours left by a failure
        case $( { tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null) in
            *qemu*"$tmp/"*) kill -9 "${d#/proc/}" 2>/dev/null || true ;;
        esac
    done
    sh "$build/hotplug/xencommons" stop >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# private daemons; PVH guests on the core (accel "kvm"), as the xl
# integration tests run them
export XENOLITH_RUNDIR=$tmp/run XL_CONF_FILE=$tmp/xl.conf
export XENSTORED_BIN=$build/xenstored/xenstored
export XENOLITHD_BIN=$build/hypervisor/xenolithd
export XENSTORE_BINDIR=$build/libs/store/tools
export XENOLITH_SCRIPTS_DIR=$src/hotplug
export XL_BIN=$xl GUEST_DIR=$build/tests/guests BENCH_TMP=$tmp
export PATH="$build/xl:$PATH"
unset XENSTORED_PATH XENSTORED_RUNDIR XENOLITH_CORE_SOCKET
echo 'accel = "kvm"' >"$XL_CONF_FILE"
mkdir -p "$XENOLITH_RUNDIR"
ip link set lo up
sh "$build/hotplug/xencommons" start >"$tmp/xencommons.out" 2>&1 ||
    { cat "$tmp/xencommons.out"; exit 1; }
export XENSTORED_PATH=$XENOLITH_RUNDIR/xenstored/socket

echo "migrate bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs," \
    "load $(cut -d' ' -f1-3 /proc/loadavg)," \
    "kvm: $(ls /sys/module 2>/dev/null | grep -x 'kvm_[a-z]*' | tr '\n' ' ')"
python3 "$here/migrate.py"

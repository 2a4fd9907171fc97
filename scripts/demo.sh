#!/bin/bash
# The main job, from a fresh Debian 12 machine (as root): installs what is
# needed, builds Xenolith, starts the host side in a private run directory,
# shows it working, and cleans everything up again.
#
# Today (issues 2 and 3) the host side is xenstored and the hypervisor core,
# xenolithd; `xl create` arrives with libs/light and xl (issue 4).  Until then
# the guest part boots the tiny test guests on the core through libxenctrl
# and the domain builder.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"

"$src/scripts/install-deps.sh"
echo "== building (build/main)"
build=$("$src/scripts/build.sh" "$src/build/main")

rundir=$(mktemp -d /tmp/xenolith-demo.XXXXXX)
export XENOLITH_RUNDIR=$rundir
export XENSTORED_RUNDIR=$rundir/xenstored
tools=$build/libs/store/tools
xsd_pid=""

cleanup() {
    if [ -n "$xsd_pid" ] && kill -0 "$xsd_pid" 2>/dev/null; then
        kill "$xsd_pid"
        while kill -0 "$xsd_pid" 2>/dev/null; do sleep 0.05; done
    fi
    rm -rf "$rundir"
    echo "== cleaned up: daemon stopped, $rundir removed"
}
trap cleanup EXIT

echo "== starting xenstored (rundir $XENSTORED_RUNDIR)"
mkdir -p "$XENSTORED_RUNDIR"
"$build/xenstored/xenstored" --pid-file "$XENSTORED_RUNDIR/xenstored.pid"
xsd_pid=$(cat "$XENSTORED_RUNDIR/xenstored.pid")
echo "xenstored running, pid $xsd_pid, socket $XENSTORED_RUNDIR/socket"

echo "== the store, through Xenolith's own xenstore tools"
"$tools/xenstore-write" /local/domain/0/name Domain-0 \
    /local/domain/0/domid 0 /vm/demo/name demo
"$tools/xenstore-chmod" /vm/demo n0 r1
"$tools/xenstore-read" /local/domain/0/name
"$tools/xenstore-ls" -f -p /local /vm
"$tools/xenstore-watch" -n 2 /vm/demo & watcher=$!
sleep 0.2
"$tools/xenstore-write" /vm/demo/state running
wait "$watcher"
"$tools/xenstore-rm" /vm/demo
"$tools/xenstore-exists" /vm/demo || echo "/vm/demo removed"

echo "== the hypervisor core: test guests booted on xenolithd through KVM"
if [ -c /dev/kvm ]; then
    (cd "$build/tests/guests" && CK_VERBOSITY=verbose ./check_guests) |
        sed -n 's/^.*check_guests.c:[0-9]*:\(.*\)$/\1/p; /^[0-9]*%:/p'
else
    echo "no /dev/kvm on this machine: skipping the guests"
fi

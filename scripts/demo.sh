#!/bin/bash
# The main job, from a fresh Debian 12 machine (as root): installs what is
# needed, builds Xenolith, starts the host side in a private run directory,
# shows it working, and cleans everything up again.
#
# The host side is xenstored and the hypervisor core, xenolithd, started by
# xencommons.  Two guests are booted with `xl create`: test-pvh-hello, a PVH
# kernel of a few KiB from tests/guests, on the core through KVM; then a
# real Debian guest (Debian's kernel and busybox, from
# tests/fixtures/debian-guest.sh) as a PVH guest -- on the core where the
# host has hardware KVM, through qemu (TCG) where it does not -- whose
# shell is driven over `xl console` before `xl shutdown` powers it off.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"

"$src/scripts/install-deps.sh"
echo "== building (build/main)"
build=$("$src/scripts/build.sh" "$src/build/main")

tmp=$(mktemp -d /tmp/xenolith-demo.XXXXXX)
export XENOLITH_RUNDIR=$tmp/run
unset XENSTORED_PATH XENSTORED_RUNDIR
# Run the daemons and tools from the build tree (nothing is installed).
export XENSTORED_BIN=$build/xenstored/xenstored
export XENOLITHD_BIN=$build/hypervisor/xenolithd
export XENSTORE_BINDIR=$build/libs/store/tools
export XL_CONF_FILE=/dev/null
xl=$build/xl/xl
xencommons="sh $build/hotplug/xencommons"
started=""

cleanup() {
    if [ -n "$started" ]; then
        "$xl" destroy hello >/dev/null 2>&1 || true
        "$xl" destroy debian >/dev/null 2>&1 || true
        echo "== xencommons stop"
        $xencommons stop
    fi
    rm -rf "$tmp"
    echo "== cleaned up: daemons stopped, $tmp removed"
}
trap cleanup EXIT

echo "== xencommons start (host side in $XENOLITH_RUNDIR)"
$xencommons start
started=yes
export XENSTORED_PATH=$XENOLITH_RUNDIR/xenstored/socket

echo "== xl info"
"$xl" info | head -12

cat >"$tmp/hello.cfg" <<CFG
# The smallest Xenolith guest: a PVH test kernel of a few KiB.
name = "hello"
type = "pvh"
kernel = "$build/tests/guests/test-pvh-hello"
memory = 32
vcpus = 1
on_crash = "preserve"
# The core itself, even where "auto" would pick qemu (no hardware KVM).
accel = "kvm"
CFG
echo "== xl create $tmp/hello.cfg"
"$xl" create "$tmp/hello.cfg"

echo "== xl console hello (Ctrl-] detaches; typed for you here)"
python3 "$src/tests/integration/xl/ptyrun.py" 10 "$xl" console hello

echo "== xl list"
"$xl" list

echo "== the store behind it (Xenolith's xenstore-ls)"
"$build/libs/store/tools/xenstore-ls" -f "/local/domain/$("$xl" domid hello)" |
    head -20

echo "== xl destroy hello; xl list"
"$xl" destroy hello
"$xl" list

echo "== a real Debian guest (fetching Debian's kernel and busybox once)"
guest=$(sh "$src/tests/fixtures/debian-guest.sh")
cp "$guest/disk.img" "$tmp/disk.img"
cat >"$tmp/debian.cfg" <<CFG
# Debian's own kernel with a busybox initramfs, as a PVH guest.
name = "debian"
type = "pvh"
kernel = "$guest/vmlinuz"
ramdisk = "$guest/initrd.gz"
cmdline = "console=ttyS0 quiet"
memory = 256
vcpus = 2
disk = [ "$tmp/disk.img,raw,xvda,rw" ]
CFG
echo "== xl create $tmp/debian.cfg"
"$xl" create "$tmp/debian.cfg"
echo "== xl list"
"$xl" list
echo "== xl console debian: its shell, driven through a pty"
python3 - "$src/tests/integration/dm" "$xl" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from console import Console

con = Console([sys.argv[2], "console", "debian"])
if not con.wait("XENOLITH-GUEST-READY", 60):
    sys.exit("the guest did not come up:\n" + con.tail())
con.wait("# ", 10)
for cmd in ["uname -sr", "grep -c ^processor /proc/cpuinfo",
            "head -c 16 /dev/vda; echo"]:
    con.run(cmd, "# ", 20)
print(con.tail(600).replace("\r", ""))
con.close()
PY
echo "== xl shutdown -w debian (the guest sees the power button); xl list"
"$xl" shutdown -w debian
"$xl" list

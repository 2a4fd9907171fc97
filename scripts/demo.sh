#!/bin/bash
# The main job, from a fresh Debian 12 machine (as root): installs what is
# needed, builds Xenolith, starts the host side in a private run directory,
# shows it working, and cleans everything up again.
#
# The host side is xenstored and the hypervisor core, xenolithd, started by
# xencommons.  Two guests are booted with `xl create`: test-pvh-hello, a PVH
# kernel of a few KiB from tests/guests, on the core where the host's KVM
# can run it, through qemu (TCG) where the host has no /dev/kvm; then a
# real Debian guest (Debian's kernel and busybox, from
# tests/fixtures/debian-guest.sh) as a PVH guest with accel "auto" --
# libxl puts it on the core where the host has hardware KVM, through qemu
# (TCG) where it does not -- whose shell is driven over `xl console`
# before `xl shutdown` powers it off.  One "route:" line per guest says
# which way it went (read back from the domain's xenstore nodes) and why
# (from `xl info`'s xenolith_accel line).
#
# XENOLITH_DEMO_BUILD: the build directory (default build/main).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"

"$src/scripts/install-deps.sh"
build=${XENOLITH_DEMO_BUILD:-$src/build/main}
echo "== building ($build)"
build=$("$src/scripts/build.sh" "$build")

tmp=$(mktemp -d /tmp/xenolith-demo.XXXXXX)
export XENOLITH_RUNDIR=$tmp/run
unset XENSTORED_PATH XENSTORED_RUNDIR
# Run the daemons and tools from the build tree (nothing is installed).
export XENSTORED_BIN=$build/xenstored/xenstored
export XENOLITHD_BIN=$build/hypervisor/xenolithd
export XENSTORE_BINDIR=$build/libs/store/tools
export XENOLITH_BLKBACK=$build/backends/blk/xenolith-blkback
export XENOLITH_NETBACK=$build/backends/net/xenolith-netback
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
"$xl" info >"$tmp/info"
head -12 "$tmp/info"
grep '^xenolith_accel' "$tmp/info"
# libxl's choice for "auto" and why: "kvm (hardware KVM: kvm_amd)" or
# "tcg (<why>; HVM and PVH guests run under qemu's emulator)".
accel=$(sed -n 's/^xenolith_accel *: \([a-z]*\) .*/\1/p' "$tmp/info")
why=$(sed -n 's/^xenolith_accel *: [a-z]* (\(.*\))$/\1/p' "$tmp/info")
why=${why%; HVM and PVH guests run under qemu*}
case $accel in
    kvm|tcg) ;;
    *) echo "demo: no xenolith_accel line in xl info" >&2; exit 1 ;;
esac

# The route a domain took, from its xenstore nodes: a domain in qemu has
# /libxl/<domid>/dm-accel (what qemu runs it with); one on the core has
# none.
route()
{
    local domid dm
    domid=$("$xl" domid "$1")
    dm=$("$build/libs/store/tools/xenstore-read" \
        "/libxl/$domid/dm-accel" 2>/dev/null) || dm=""
    case $dm in
        "") echo core ;;
        *) echo "qemu-$dm" ;;
    esac
}

# Says which way guest $1 went ($2: the route asked for, $3: why).
say_route()
{
    local got
    got=$(route "$1")
    if [ "$got" != "$2" ]; then
        echo "demo: $1 took the route $got, not $2 as expected" >&2
        exit 1
    fi
    case $got in
        core) echo "route: $1 runs on the core ($3)" ;;
        qemu-tcg) echo "route: $1 runs through qemu TCG ($3)" ;;
        *) echo "route: $1 runs through qemu (${got#qemu-}) ($3)" ;;
    esac
}

# test-pvh-hello boots on the core and under qemu alike.  The core needs
# a /dev/kvm that opens: hardware KVM, or KVM in software (kvm_pvm), which
# is enough for a guest this small though "auto" never picks it.
case $accel:$why in
    tcg:*"cannot open /dev/kvm"*) hello_accel=tcg hello_route=qemu-tcg ;;
    *) hello_accel=kvm hello_route=core ;;
esac
cat >"$tmp/hello.cfg" <<CFG
# The smallest Xenolith guest: a PVH test kernel of a few KiB.
name = "hello"
type = "pvh"
kernel = "$build/tests/guests/test-pvh-hello"
memory = 32
vcpus = 1
on_crash = "preserve"
# "kvm": the core itself; "tcg": qemu's emulator (no KVM for the core).
accel = "$hello_accel"
CFG
echo "== xl create $tmp/hello.cfg (accel = \"$hello_accel\")"
"$xl" create "$tmp/hello.cfg"
say_route hello "$hello_route" "$why"

echo "== xl console hello (Ctrl-] detaches; typed for you here)"
python3 "$src/tests/integration/xl/ptyrun.py" 10 "$xl" console hello

echo "== xl list"
"$xl" list

echo "== the store behind it (Xenolith's xenstore-ls)"
"$build/libs/store/tools/xenstore-ls" -f "/local/domain/$("$xl" domid hello)" |
    head -20

echo "== xl save hello $tmp/hello.save; xl restore $tmp/hello.save"
"$xl" save hello "$tmp/hello.save"
"$xl" restore "$tmp/hello.save"
"$xl" list

echo "== xl destroy hello; xl list"
"$xl" destroy hello
"$xl" list

echo "== a real Debian guest (fetching Debian's kernel and busybox once)"
guest=$(sh "$src/tests/fixtures/debian-guest.sh")
# accel "auto": libxl's choice, as xl info said.  Disks are not on the
# core yet: there the guest gets none.
if [ "$accel" = kvm ]; then
    debian_route=core disk="" vda=""
else
    debian_route=qemu-tcg vda=yes
    cp "$guest/disk.img" "$tmp/disk.img"
    disk="disk = [ \"$tmp/disk.img,raw,xvda,rw\" ]"
fi
cat >"$tmp/debian.cfg" <<CFG
# Debian's own kernel with a busybox initramfs, as a PVH guest.
name = "debian"
type = "pvh"
kernel = "$guest/vmlinuz"
ramdisk = "$guest/initrd.gz"
cmdline = "console=ttyS0 quiet"
memory = 256
vcpus = 2
$disk
CFG
echo "== xl create $tmp/debian.cfg"
"$xl" create "$tmp/debian.cfg"
say_route debian "$debian_route" "$why"
echo "== xl list"
"$xl" list
echo "== xl console debian: its shell, driven through a pty"
python3 - "$src/tests/integration/dm" "$xl" "$vda" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from console import Console

con = Console([sys.argv[2], "console", "debian"])
if not con.wait("XENOLITH-GUEST-READY", 60):
    sys.exit("the guest did not come up:\n" + con.tail())
con.wait("# ", 10)
cmds = ["uname -sr", "grep -c ^processor /proc/cpuinfo"]
if sys.argv[3]:
    cmds.append("head -c 16 /dev/vda; echo")
for cmd in cmds:
    con.run(cmd, "# ", 20)
print(con.tail(600).replace("\r", ""))
con.close()
PY
echo "== xl shutdown -w debian (the guest sees the power button); xl list"
"$xl" shutdown -w debian
"$xl" list

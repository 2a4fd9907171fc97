#!/bin/sh
# errors.sh - xl create of HVM and PVH (qemu) guests that cannot start: a
# missing firmware file, kernel, ramdisk or disk, an unknown vif model, a
# bad accel or bios value, a device model that is not there or that
# refuses its command line, accel = "kvm" on a host without a KVM, a disk
# with script= (block hotplug scripts are not run).  Each
# fails non-zero with a message naming what is wrong, and leaves nothing
# behind (no domain, no qemu, nothing under the rundir's qemu-dm/, no
# xenstore nodes, no tap).
. "$(dirname "$0")/lib.sh"
dm_netns "$@"
dm_setup_host

# The bridge the vifs name, when this test has its own network namespace.
if [ -n "$DM_IN_NETNS" ] && command -v ip >/dev/null 2>&1; then
    ip link add xenbr0 type bridge 2>/dev/null &&
        ip link set xenbr0 up 2>/dev/null
fi

cp "$DM_GUEST/disk.img" "$T/disk.img"

# An HVM config with the lines in $2 added (later keys win).
hvm_cfg()
{
    cat >"$T/$1.cfg" <<CFG
name = "$1"
type = "hvm"
memory = 128
vcpus = 1
kernel = "$DM_GUEST/vmlinuz"
ramdisk = "$DM_GUEST/initrd.gz"
cmdline = "console=ttyS0 quiet"
serial = "pty"
vnc = 0
disk = [ "$T/disk.img,raw,hda,rw" ]
$2
CFG
    echo "$T/$1.cfg"
}

pvh_cfg()
{
    cat >"$T/$1.cfg" <<CFG
name = "$1"
type = "pvh"
memory = 128
vcpus = 1
kernel = "$DM_GUEST/vmlinuz"
ramdisk = "$DM_GUEST/initrd.gz"
cmdline = "console=ttyS0 quiet"
disk = [ "$T/disk.img,raw,xvda,rw" ]
accel = "tcg"
$2
CFG
    echo "$T/$1.cfg"
}

disk="$T/disk.img,raw,xvda,rw,script=block-iscsi"
cfg=$(pvh_cfg script "disk = [ \"$disk\" ]")
create_fails "$cfg" \
    "disk xvda: script=block-iscsi: block hotplug scripts are not run" \
    "a disk with a block hotplug script (script=)"

cfg=$(hvm_cfg fw 'bios = "ovmf"
bios_path_override = "/nonexistent/OVMF-moved.fd"')
create_fails "$cfg" "OVMF-moved\.fd" "a missing firmware file (ovmf)"

cfg=$(hvm_cfg fw2 'bios = "seabios"
bios_path_override = "/nonexistent/bios-moved.bin"')
create_fails "$cfg" "bios-moved\.bin" "a missing firmware file (seabios)"

cfg=$(hvm_cfg kern 'kernel = "/nonexistent/vmlinuz-missing"')
create_fails "$cfg" "vmlinuz-missing" "hvm: a missing kernel"

cfg=$(pvh_cfg pkern 'kernel = "/nonexistent/vmlinuz-missing"')
create_fails "$cfg" "vmlinuz-missing" "pvh: a missing kernel"

cfg=$(hvm_cfg rd 'ramdisk = "/nonexistent/initrd-missing.gz"')
create_fails "$cfg" "initrd-missing\.gz" "hvm: a missing ramdisk"

cfg=$(pvh_cfg prd 'ramdisk = "/nonexistent/initrd-missing.gz"')
create_fails "$cfg" "initrd-missing\.gz" "pvh: a missing ramdisk"

cfg=$(hvm_cfg disk 'disk = [ "/nonexistent/disk-missing.img,raw,hda,rw" ]')
create_fails "$cfg" "disk-missing\.img" "hvm: a missing disk"

cfg=$(pvh_cfg pdisk 'disk = [ "/nonexistent/disk-missing.img,raw,xvda,rw" ]')
create_fails "$cfg" "disk-missing\.img" "pvh: a missing disk"

cfg=$(hvm_cfg vif 'vif = [ "model=nosuch,bridge=xenbr0" ]')
create_fails "$cfg" "nosuch" "an unknown vif model"

cfg=$(hvm_cfg accel 'accel = "warp"')
create_fails "$cfg" "warp" "a bad accel value"

cfg=$(pvh_cfg paccel 'accel = "warp"')
create_fails "$cfg" "warp" "pvh: a bad accel value"

cfg=$(hvm_cfg bios 'bios = "coreboot-nosuch"')
create_fails "$cfg" "coreboot-nosuch" "a bad bios value"

cfg=$(hvm_cfg dmo 'device_model_override = "/nonexistent/qemu-missing"')
create_fails "$cfg" "qemu-missing" "a device model binary that is missing"

cfg=$(hvm_cfg dma 'device_model_args = [ "-no-such-qemu-option" ]')
create_fails "$cfg" "no-such-qemu-option: invalid option" \
    "a qemu that refuses its command line"

# accel = "kvm" where /dev/kvm does not open: the core (PVH) and qemu's
# KVM (HVM) cannot run the guest.  Refused before anything is made, saying
# what is missing and what to set instead; `xl info` says the same.
# (<> creates a missing file: only tried on the device node.)
if [ -c /dev/kvm ] && (: <>/dev/kvm) 2>/dev/null; then
    echo "note: /dev/kvm opens here: accel = \"kvm\" is accepted, its" \
        "refusal without KVM is not tested on this host"
else
    (cd "$XENOLITH_RUNDIR" && find . ! -name '*.log' | sort) >"$T/files.0"
    cat >"$T/pkvm.cfg" <<CFG
name = "pkvm"
type = "pvh"
memory = 128
vcpus = 1
kernel = "$DM_GUEST/vmlinuz"
ramdisk = "$DM_GUEST/initrd.gz"
cmdline = "console=ttyS0 quiet"
accel = "kvm"
CFG
    what='pvh: accel = "kvm" without KVM'
    create_fails "$T/pkvm.cfg" \
        '/dev/kvm.*accel = "tcg".*kvm_intel or kvm_amd' "$what"
    if grep -q "No such device\|xc: error" "$T/err"; then
        fail "$what: the core was asked: $(cat "$T/err")"
    fi
    cfg=$(hvm_cfg hkvm 'accel = "kvm"')
    create_fails "$cfg" '/dev/kvm.*accel = "tcg"' \
        'hvm: accel = "kvm" without KVM'
    (cd "$XENOLITH_RUNDIR" && find . ! -name '*.log' | sort) >"$T/files.1"
    cmp -s "$T/files.0" "$T/files.1" ||
        fail "accel = \"kvm\" without KVM: files left in the rundir:" \
            "$(diff "$T/files.0" "$T/files.1" | sed -n 's/^> //p')"
    printf 'accel = "kvm"\n' >"$T/kvm.conf"
    line=$(XL_CONF_FILE=$T/kvm.conf "$XL_BIN" info 2>&1 |
        grep '^xenolith_accel')
    case $line in
        *"cannot open /dev/kvm"*'accel = "tcg"'*kvm_intel*)
            pass "xl info with accel = \"kvm\" says why: ${line#*: }" ;;
        *) fail "xl info with accel = \"kvm\": unclear: $line" ;;
    esac
    line=$("$XL_BIN" info 2>&1 | grep '^xenolith_accel')
    case $line in
        *": tcg ("*"cannot open /dev/kvm"*)
            pass "xl info with accel auto says why: ${line#*: }" ;;
        *) fail "xl info with accel auto: unclear: $line" ;;
    esac
fi

finish

#!/usr/bin/env python3
"""core.py - the real Debian guest (tests/fixtures/debian-guest.sh) as a
PVH guest on the core itself (accel = "kvm": xenolithd's KVM domain, no
device model), under the real xl:

  xl create; the busybox shell over xl console within BOOT_LIMIT s;
  uname, the vCPUs and the memory as configured, seen by the guest and
  by xl list; no qemu anywhere;
  bzimage only: xl reboot (no PV control: a reset) comes back under a
  new domid with on_reboot = "restart";
  elf only: xl create -c and xl destroy leave nothing;
  xl shutdown -w: the guest sees the ACPI power button, powers off, xl
  returns once the domain is gone.

usage: core.py elf|bzimage    (the fixture's vmlinux or vmlinuz)
It needs a KVM that runs a real Linux (kvm_intel or kvm_amd): the
nested-KVM lane provides one where the host has none (LANE_LINUX_TESTS).
Environment and output as lifecycle.py's.
"""
import os
import re
import sys
import time

sys.dont_write_bytecode = True    # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lifecycle as L  # noqa: E402
from console import Console  # noqa: E402

# Nested KVM under TCG boots the kernel in 40-100 s; hardware in ~1 s.
# On a slower host with `make -j2 check` running TCG guests beside the
# lane, boots took 123 s to over 150 s (the guest reporting soft lockups
# while its vCPUs waited for the host's CPUs): 300 s.
BOOT_LIMIT = 300.0
MEMORY = 256
VCPUS = 2

KIND = sys.argv[1] if len(sys.argv) > 1 else ""
L.NAME = "core-" + KIND
L.BOOT_LIMIT = BOOT_LIMIT
L.KIND = "core-" + KIND


def write_cfg():
    kernel = "vmlinux" if KIND == "elf" else "vmlinuz"
    lines = [
        'name = "%s"' % L.NAME,
        'type = "pvh"',
        'accel = "kvm"',
        "memory = %d" % MEMORY,
        "vcpus = %d" % VCPUS,
        'kernel = "%s/%s"' % (L.GUEST, kernel),
        'ramdisk = "%s/initrd.gz"' % L.GUEST,
        'cmdline = "console=ttyS0 quiet"',
        'on_poweroff = "destroy"',
        'on_reboot = "restart"',
        'on_crash = "destroy"',
    ]
    cfg = os.path.join(L.TMP, L.NAME + ".cfg")
    with open(cfg, "w") as f:
        f.write("\n".join(lines) + "\n")
    return cfg


def guest_checks(con, dom):
    release = open(os.path.join(L.GUEST, "release")).read().strip()
    L.check(con.run("uname -r | sed 's/^/rel:/'", "rel:" + release, 30),
            "uname -r in the guest: %s" % release, con.tail(600))
    L.check(con.run("grep -c ^processor /proc/cpuinfo | "
                    "sed 's/^/n/;s/$/cpus/'", "n%dcpus" % VCPUS, 30),
            "the guest sees %d vCPUs" % VCPUS, con.tail(600))
    # kvmclock: the core shows its guests a hypervisor (CPUID) and KVM's
    # clock; without it Linux keeps time by jiffies.
    L.check(con.run("sed 's/^/clk:/;s/$/:/' /sys/devices/system/"
                    "clocksource/clocksource0/current_clocksource",
                    "clk:kvm-clock:", 30),
            "the guest keeps time by kvm-clock", con.tail(600))
    # ... and its timer is the LAPIC's TSC-deadline mode, which needs no
    # calibration against the PIT (a loaded host fails that one).
    L.check(con.run("sed 's/^/ced:/;s/$/:/' /sys/devices/system/"
                    "clockevents/clockevent0/current_device",
                    "ced:lapic-deadline:", 30),
            "the guest's timer is lapic-deadline", con.tail(600))
    # The marker is computed in the guest: the echo of the command line
    # must not match it.
    con.run("echo memtotal$((1+1))=$(sed -n 's/^MemTotal: *\\([0-9]*\\) "
            "kB/\\1/p' /proc/meminfo)=kb$((3+4))", "=kb7", 30)
    m = re.search(r"memtotal2=(\d+)=kb7", con.tail(600))
    kib = int(m.group(1)) if m else 0
    # MemTotal is the RAM less what the kernel keeps for itself.
    L.check(MEMORY * 1024 * 0.75 < kib <= MEMORY * 1024,
            "the guest's MemTotal %d KiB fits memory = %d" % (kib, MEMORY),
            con.tail(600))
    # Xen counts the RAM a domain has: the legacy window below 1 MiB is
    # not RAM: a 256 MiB domain shows 255, as Xen's HVM domains do.
    row, text = L.list_row(L.NAME)
    L.check(row is not None and row[1] == str(dom) and
            row[2] in (str(MEMORY), str(MEMORY - 1)) and
            row[3] == str(VCPUS),
            "xl list: ID %d, Mem %d, VCPUs %d" % (dom, MEMORY, VCPUS), text)
    L.check(not L.our_qemus() and
            L.xs_read("/libxl/%d/dm-version" % dom) is None,
            "on the core: no device model for domain %d" % dom,
            str(L.our_qemus()))


def scenario():
    if KIND not in ("elf", "bzimage"):
        print("usage: core.py elf|bzimage", file=sys.stderr)
        sys.exit(2)
    cfg = write_cfg()
    t0 = time.monotonic()
    rc, out, err = L.xl("create", cfg)
    L.check(rc == 0, "xl create (%s kernel, accel = kvm)" % KIND,
            "rc=%d %s%s" % (rc, out, err), fatal=True)
    dom = L.domid()
    L.check(dom is not None, "xl domid %s: %s" % (L.NAME, dom), fatal=True)
    con = L.console(L.NAME, BOOT_LIMIT)
    try:
        L.reach_shell(con, t0, "first boot")
        guest_checks(con, dom)
        if KIND == "bzimage":
            # ---- reboot: a reset, the domain restarted.
            con.close()
            t1 = time.monotonic()
            rc, out, err = L.xl("reboot", L.NAME)
            L.check(rc == 0, "xl reboot", "rc=%d %s%s" % (rc, out, err),
                    fatal=True)
            new = L.wait_for(lambda: (L.domid() or dom) != dom and
                             L.domid(), L.SLOW)
            L.check(new, "after xl reboot the domain has a new domid "
                    "(%s -> %s)" % (dom, new), L.xl("list")[1], fatal=True)
            L.check(not L.xs_exists("/local/domain/%d" % dom),
                    "/local/domain/%d is gone" % dom)
            dom = new
            L.wait_tty(dom)
            con = L.console(L.NAME, BOOT_LIMIT)
            L.reach_shell(con, t1, "after xl reboot")
            L.check(con.run("echo back-$((4*5))", "back-20", 30),
                    "the rebooted guest answers", con.tail(400))

        # ---- shutdown -w: the power button, the guest powers off.
        rc, out, err = L.xl("shutdown", "-w", L.NAME, timeout=L.SLOW * 2)
        L.check(rc == 0, "xl shutdown -w", "rc=%d %s%s" % (rc, out, err))
        L.check(con.wait("XENOLITH-GUEST-POWER-BUTTON", 5) is not None,
                "the guest saw the ACPI power button", con.tail(600))
        L.check(L.domid() is None, "the domain is gone when xl shutdown -w "
                "returns", L.xl("list")[1], fatal=True)
        con.close()
        L.check(not L.xs_exists("/local/domain/%d" % dom),
                "/local/domain/%d is gone" % dom)

        if KIND == "elf":
            # ---- create -c, destroy: nothing left.
            t2 = time.monotonic()
            con = Console([L.XL, "create", "-c", cfg])
            L.reach_shell(con, t2, "xl create -c")
            dom = L.wait_for(L.domid, 10)
            L.check(dom is not None, "xl create -c: domid %s" % dom,
                    fatal=True)
            rc, out, err = L.xl("destroy", L.NAME)
            L.check(rc == 0, "xl destroy", "rc=%d %s%s" % (rc, out, err))
            con.close()
            L.check(L.domid() is None, "after xl destroy: no domain")
            for p in ("/local/domain/%d" % dom, "/libxl/%d" % dom):
                L.check(not L.xs_exists(p), "after xl destroy: no %s" % p)
    finally:
        con.close()


if __name__ == "__main__":
    L.main(scenario)

#!/usr/bin/env python3
"""devices.py - a real Debian HVM guest (SeaBIOS, the kernel booted
directly) with an empty IDE cdrom at hdc, under xl with qemu as its
device model, and what xl changes while it runs:

  the guest sees /dev/sr0 without a medium; xl cd-insert of an image
  with a marker: the guest reads the marker from /dev/sr0; xl cd-eject:
  no medium again; xl mem-set 192m: virtio-balloon takes about 64 MiB
  from the guest (MemTotal drops), xenstore has the new target, xl list
  shows it (the core follows qemu's BALLOON_CHANGE events); xl vcpu-set
  2 with maxvcpus = 2 plugs a vCPU the guest onlines, 3 is refused, 1
  unplugs it (the guest's ACPI ejects it), xl list follows;
  refused: cd-insert of a missing file (named), cd-insert on a drive
  that is not a cdrom (hda); xl destroy: nothing left.

  All of it goes through the core: qemu has one monitor, the core's
  (no other in its command line, no libxl socket), and the core's log
  (xl dmesg) names each QMP command with the domain: the VNC password
  (vncpasswd, set after the hand-over; the VNC server then asks for
  VNC authentication, and the password itself is logged nowhere), the
  media, the balloon and the vCPU plugs.

Reuses lifecycle.py's helpers (console, shell, xl list, cleanup checks).
Environment: as lifecycle.py (dm/lib.sh sets it).  Prints "ok: ..." and
"FAIL: ..." lines; exit status 0, 1 on failures, 77 without SeaBIOS.
"""
import fcntl
import os
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True    # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.argv[1:] = ["devices"]        # lifecycle's KIND: NAME is dm-devices
import lifecycle as L  # noqa: E402

MEMORY = 256
TARGET = 192
MARKER = "XENOLITH-CDROM-MEDIUM-V1"
VNC_DISPLAY = 47 + os.getpid() % 40     # a free one in this namespace
VNC_PASSWORD = "xen%d" % (os.getpid() % 10000)


def vnc_security_types():
    """The security types qemu's VNC server offers (RFB 3.8): 2 is VNC
    authentication, 1 none."""
    import socket
    with socket.create_connection(("127.0.0.1", 5900 + VNC_DISPLAY),
                                  timeout=5) as s:
        s.recv(12)
        s.sendall(b"RFB 003.008\n")
        n = s.recv(1)
        return list(s.recv(n[0])) if n else []


def qmp_logged(dom, command):
    """Whether the core's log has the supervisor's line for command."""
    rc, out, err = L.xl("dmesg")
    return rc == 0 and ("domain %d: QMP %s\n" % (dom, command)) in out + "\n"


def write_cfg():
    disk = os.path.join(L.TMP, "disk-devices.img")
    subprocess.run(["cp", os.path.join(L.GUEST, "disk.img"), disk],
                   check=True)
    lines = [
        'name = "%s"' % L.NAME,
        'type = "hvm"',
        'bios = "seabios"',
        "memory = %d" % MEMORY,
        "vcpus = 1",
        "maxvcpus = 2",
        'kernel = "%s/vmlinuz"' % L.GUEST,
        'ramdisk = "%s/initrd.gz"' % L.GUEST,
        'cmdline = "console=ttyS0 quiet"',
        'serial = "pty"',
        "vnc = 1",
        'vnclisten = "127.0.0.1"',
        "vncdisplay = %d" % VNC_DISPLAY,
        'vncpasswd = "%s"' % VNC_PASSWORD,
        'on_poweroff = "destroy"',
        'on_reboot = "destroy"',
        'on_crash = "destroy"',
        'disk = [ "%s,raw,hda,rw",' % disk,
        '         "format=raw, vdev=hdc, access=ro, devtype=cdrom, '
        'target=" ]',
    ]
    if os.environ.get("DM_ACCEL"):
        lines.append('accel = "%s"' % os.environ["DM_ACCEL"])
    cfg = os.path.join(L.TMP, L.NAME + ".cfg")
    with open(cfg, "w") as f:
        f.write("\n".join(lines) + "\n")
    return cfg


def make_iso():
    """A 64 KiB image (a multiple of 2048) starting with MARKER."""
    iso = os.path.join(L.TMP, "medium.iso")
    with open(iso, "wb") as f:
        f.write(MARKER.encode())
        f.write(b"\0" * (65536 - len(MARKER)))
    return iso


def sr0_state(con):
    """What the guest sees on /dev/sr0: the size in sectors and what
    reading its first bytes gives (the data, or head's error message),
    or None when the console did not answer."""
    con.send("echo sz-$(cat /sys/block/sr0/size 2>/dev/null)-$((40+2)); "
             "echo hd-$(head -c %d /dev/sr0 2>&1 | tr -d '\\n')-$((40+3))\r"
             % len(MARKER))
    if con.wait("-42", 10) is None or con.wait("-43", 10) is None:
        return None
    text = con.tail(600)
    m = re.findall(r"sz-(\d*)-42", text)
    size = m[-1] if m else ""
    m = re.findall(r"hd-(.*?)-43", text)
    return size, (m[-1] if m else "")


def no_medium(size, head):
    """Linux's sr reports no capacity (0) or its 0x1fffff fallback while
    the drive is empty; reading fails with ENOMEDIUM."""
    return "No medium found" in head


def wait_sr0(con, pred, secs=20):
    """Asks again (the kernel notices a media change when polled) until
    pred(size, head) holds; returns the last state."""
    end = time.monotonic() + secs
    st = None
    while True:
        st = sr0_state(con)
        if st is not None and pred(*st):
            return st
        if time.monotonic() >= end:
            return st
        time.sleep(1.0)


def memtotal(con):
    con.send("echo mt-$(sed -n 's/^MemTotal: *\\([0-9]*\\) kB/\\1/p' "
             "/proc/meminfo)-kb-$((7*9))\r")
    if con.wait("-kb-63", 10) is None:
        return None
    m = re.findall(r"mt-(\d+)-kb-63", con.tail(300))
    return int(m[-1]) if m else None


def scenario():
    if not os.access("/usr/share/seabios/bios-256k.bin", os.R_OK):
        print("SKIP: no SeaBIOS (apt-get install seabios)")
        sys.exit(77)
    lock = open(L.BOOT_LOCK, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    cfg = write_cfg()
    iso = make_iso()

    t0 = time.monotonic()
    rc, out, err = L.xl("create", cfg)
    L.check(rc == 0, "xl create with an empty cdrom at hdc",
            "rc=%d %s%s" % (rc, out, err), fatal=True)
    dom = L.domid()
    L.check(dom is not None, "xl domid %s: %s" % (L.NAME, dom), fatal=True)
    pid = L.qemu_pid(dom)
    con = L.console(L.NAME)
    try:
        L.reach_shell(con, t0, "boot")

        # ---- one monitor, the core's; the password set through it.
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
        except (OSError, TypeError):
            argv = []
        mons = [a for a in argv if b"mode=control" in a]
        L.check(len(mons) == 1, "qemu has one QMP monitor (the core's)",
                repr(mons))
        left = [f for f in os.listdir(L.qemu_dm_dir())
                if f.endswith("-%d.qmp" % dom)]
        L.check(not left, "no monitor socket for libxl", repr(left))
        L.check(qmp_logged(dom, "change-vnc-password"),
                "the core's log: domain %d: QMP change-vnc-password" % dom,
                L.xl("dmesg")[1][-2000:])
        L.check(VNC_PASSWORD not in L.xl("dmesg")[1],
                "the password is not in the core's log")
        try:
            types = vnc_security_types()
        except OSError as e:
            types = [str(e)]
        L.check(types == [2], "VNC asks for the password (security "
                "types %r)" % types)

        # ---- the empty drive.
        L.check(con.run("ls /sys/block | tr '\\n' ' ' | sed 's/^/blk:/'; "
                        "echo end-$((1+1))", "end-2", 20)
                and re.search(r"blk:.*\bsr0\b", con.tail(300)) is not None,
                "the guest has /dev/sr0", con.tail(600), fatal=True)
        st = sr0_state(con)
        L.check(st is not None and no_medium(*st),
                "/dev/sr0 has no medium (%r)" % (st and st[1]),
                "%r\n%s" % (st, con.tail(600)))

        # ---- insert: the guest reads the marker.
        t1 = time.monotonic()
        rc, out, err = L.xl("cd-insert", L.NAME, "hdc", iso)
        L.check(rc == 0, "xl cd-insert %s hdc %s" % (L.NAME, iso),
                "rc=%d %s%s" % (rc, out, err))
        st = wait_sr0(con, lambda s, h: h == MARKER)
        L.check(st is not None and st[1] == MARKER,
                "the guest reads the marker from /dev/sr0 (%.1f s)"
                % (time.monotonic() - t1), "%r\n%s" % (st, con.tail(600)))
        L.check(st is not None and st[0] == str(65536 // 512),
                "/dev/sr0 has the medium's size (%s sectors)"
                % (st and st[0]), repr(st))
        p = L.xs_read("/libxl/%d/device/vbd/%d/params" % (dom, 5632))
        L.check(p == iso, "xenstore params of hdc name the image", repr(p))
        L.check(qmp_logged(dom, "blockdev-change-medium"),
                "the core's log: QMP blockdev-change-medium")

        # ---- eject: no medium again.
        rc, out, err = L.xl("cd-eject", L.NAME, "hdc")
        L.check(rc == 0, "xl cd-eject %s hdc" % L.NAME,
                "rc=%d %s%s" % (rc, out, err))
        st = wait_sr0(con, no_medium)
        L.check(st is not None and no_medium(*st),
                "after cd-eject /dev/sr0 has no medium (%r)" % (st and st[1]),
                "%r\n%s" % (st, con.tail(600)))
        L.check(qmp_logged(dom, "eject"), "the core's log: QMP eject")

        # ---- refused inserts.
        missing = os.path.join(L.TMP, "no-such.iso")
        rc, out, err = L.xl("cd-insert", L.NAME, "hdc", missing)
        L.check(rc != 0 and missing in err,
                "cd-insert of a missing file fails naming it (%s)"
                % err.strip().splitlines()[-1:],
                "rc=%d %s%s" % (rc, out, err))
        rc, out, err = L.xl("cd-insert", L.NAME, "hda", iso)
        L.check(rc != 0 and re.search(r"hda.*not a cdrom", err),
                "cd-insert on hda (a disk) is refused (%s)"
                % err.strip().splitlines()[-1:],
                "rc=%d %s%s" % (rc, out, err))
        L.check(con.run("dd if=/dev/sda bs=16 count=1 2>/dev/null | "
                        "sed \"s/V1/V1-still-$((1+1))/\"; echo",
                        "XENOLITH-DISK-V1-still-2", 20),
                "hda is untouched by the refused insert", con.tail(600))

        # ---- mem-set: the balloon.
        before = memtotal(con)
        L.check(before is not None and before > 200 * 1024,
                "MemTotal before mem-set: %s kB" % before, con.tail(400))
        t2 = time.monotonic()
        rc, out, err = L.xl("mem-set", L.NAME, "%dm" % TARGET)
        L.check(rc == 0, "xl mem-set %s %dm" % (L.NAME, TARGET),
                "rc=%d %s%s" % (rc, out, err))
        want = (MEMORY - TARGET) * 1024
        after = None
        end = time.monotonic() + 30
        while time.monotonic() < end:
            after = memtotal(con)
            if (before is not None and after is not None
                    and before - after >= want - 8 * 1024):
                break
            time.sleep(1.0)
        drop = (before - after) if before and after else None
        L.check(drop is not None and want - 8192 <= drop <= want + 8192,
                "the guest's MemTotal drops by %s kB (want ~%d) in %.1f s"
                % (drop, want, time.monotonic() - t2),
                "before %s after %s" % (before, after))
        # Xen's xl list shows the pages the domain holds: the balloon
        # driver hands them back, so the target (a MiB less for HVM).  The
        # core learns it from qemu's BALLOON_CHANGE events, which qemu
        # sends at most once a second.
        t3 = time.monotonic()
        while True:
            row, text = L.list_row(L.NAME)
            if (row is None or row[2] in (str(TARGET), str(TARGET - 1)) or
                    time.monotonic() - t3 > 10):
                break
            time.sleep(0.5)
        L.check(row is not None, "xl list %s" % L.NAME, text)
        if row is not None and row[2] in (str(TARGET), str(TARGET - 1)):
            L.ok("xl list shows Mem %s after mem-set %dm" % (row[2], TARGET))
        else:
            L.check(False, "xl list shows Mem %d (or %d) after mem-set %dm"
                    % (TARGET, TARGET - 1, TARGET), str(row))
        v = L.xs_read("/local/domain/%d/memory/target" % dom)
        L.check(v == str(TARGET * 1024),
                "xenstore memory/target = %s" % v, repr(v))
        L.check(qmp_logged(dom, "balloon"), "the core's log: QMP balloon")

        # ---- vcpu-set: qemu plugs a vCPU into its free slot (maxvcpus =
        # 2), the guest onlines it; back to 1: the guest's ACPI ejects it.
        def vcpus_listed(want):
            t = time.monotonic()
            while True:
                row, text = L.list_row(L.NAME)
                if row is not None and row[3] == str(want):
                    return True, text
                if time.monotonic() - t > 15:
                    return False, text
                time.sleep(0.5)

        ok, text = vcpus_listed(1)
        L.check(ok, "xl list: 1 vCPU of maxvcpus 2 at boot", text)
        rc, out, err = L.xl("vcpu-set", L.NAME, "2")
        L.check(rc == 0, "xl vcpu-set %s 2" % L.NAME,
                "rc=%d %s%s" % (rc, out, err))
        L.check(con.run("n=0; while [ ! -e /sys/devices/system/cpu/cpu1/online"
                        " ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1));"
                        " done; echo 1 > /sys/devices/system/cpu/cpu1/online;"
                        " grep -c ^processor /proc/cpuinfo | sed 's/^/n/;"
                        "s/$/cpus/'", "n2cpus", 30),
                "the guest onlines the plugged vCPU", con.tail(600))
        ok, text = vcpus_listed(2)
        L.check(ok, "xl list: 2 vCPUs after vcpu-set 2", text)
        rc, out, err = L.xl("vcpu-set", "--ignore-host", L.NAME, "3")
        L.check(rc != 0 and "maxcpus is 2" in err,
                "xl vcpu-set 3 above maxvcpus is refused",
                "rc=%d %s%s" % (rc, out, err))
        rc, out, err = L.xl("vcpu-set", L.NAME, "1")
        L.check(rc == 0, "xl vcpu-set %s 1" % L.NAME,
                "rc=%d %s%s" % (rc, out, err))
        L.check(con.run("n=0; while [ -e /sys/devices/system/cpu/cpu1 ] &&"
                        " [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done;"
                        " grep -c ^processor /proc/cpuinfo | sed 's/^/n/;"
                        "s/$/cpus/'", "n1cpus", 30),
                "the guest lets the vCPU go", con.tail(600))
        ok, text = vcpus_listed(1)
        L.check(ok, "xl list: 1 vCPU after vcpu-set 1", text)
        for c in ("query-hotpluggable-cpus", "device_add", "device_del"):
            L.check(qmp_logged(dom, c), "the core's log: QMP %s" % c)

        # ---- destroy: nothing left.
        rc, out, err = L.xl("destroy", L.NAME)
        L.check(rc == 0, "xl destroy", "rc=%d %s%s" % (rc, out, err))
        con.close()
        L.assert_nothing_left(dom, pid, "after xl destroy")
    finally:
        con.close()


if __name__ == "__main__":
    L.main(scenario)

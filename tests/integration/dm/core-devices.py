#!/usr/bin/env python3
"""core-devices.py - the real Debian guest as a PVH guest on the core
(accel = "kvm": no qemu) with virtio disks and a NIC that backend
processes serve over vhost-user, as for a guest in qemu
(xenolith-blkback with its qemu-storage-daemon, xenolith-netback with
its tap on the bridge xenbr0 that core-devices.sh makes in the test's
own network namespace, 10.99.0.1/24 on the host's side):

  xvda raw and xvdb qcow2 and one vif: the guest's virtio_pci driver
  finds them on the core's PCI bus (/dev/vda, /dev/vdb, eth0 with the
  configured MAC); it reads the raw image's marker, writes 64 MiB of
  random data to each disk and reads them back (caches dropped), and the
  host finds the same checksum in the raw image and, through qemu-img,
  in the qcow2 one; xenstore has Xen's vbd and vif layout (state 4,
  connected), xl block-list lists both disks; the guest pings the host
  over the bridge and takes 64 MiB from it (md5 checked); no qemu runs
  anywhere; xl network-list shows the vif; the raw disk's serial is its
  vdev (xvda); a second guest on the core, on the same bridge: the two
  ping each other and the 64 MiB go from one to the other (md5);
  `truncate -s +64M` on the raw image: with no command, the guest's
  /sys/block/vda/size grows (the backend's config-change message, a
  config interrupt from the core's slot; xl dmesg says so);
  kill -9 of the blkback worker (its qemu-storage-daemon dies with it)
  and of the netback worker: their supervisors start them again, the
  core reconnects the rings (xl dmesg says so), the guest reads its
  64 MiB again from both disks, writes, and pings, the domain up all
  along;
  refused, leaving nothing: a disk whose image is missing, a cdrom (the
  core has virtio disks only), a vif of an emulated model;
  hotplug (ACPI PCI hotplug, Linux's acpiphp): xl block-attach of xvdc
  into the running guest: it finds /dev/vdc (serial xvdc) and reads it,
  xl block-list shows it; block-detach: the guest releases it (eject
  request, its _EJ0), its nodes and socket go; attached again and
  detached with -f: taken away at once, the guest drops it; xl
  network-attach: the guest finds the NIC with its MAC and pings the host
  through it, network-list shows it; network-detach: released, tap and
  nodes gone; block-attach of a missing image and network-attach to a
  missing bridge refused, leaving nothing; block-detach of xvdb, a disk
  the guest booted with: released, and blkback's qemu-storage-daemon goes
  with the last qcow2 disk;
  xl destroy: no backend, qemu-storage-daemon, tap, socket or node left.

It needs a KVM that runs a real Linux: tests/lane runs it in the
nested-KVM lane where the host has none.  Reuses lifecycle.py's,
blkback.py's and netback.py's helpers.  Prints "ok: ..." / "FAIL: ...";
exit status 0, 1 on failures, 77 without qemu-storage-daemon.
"""
import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True    # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.argv[1:] = ["core-devices"]   # lifecycle's KIND
import lifecycle as L  # noqa: E402
import blkback as B  # noqa: E402
import netback as N  # noqa: E402

L.NAME = "core-devices"
MIB = 1 << 20
RAW_SIZE = 128 * MIB
DATA_MIB = 64
XVDA, XVDB = 51712, 51728
MAC = "00:16:3e:5a:03:0a"
IP = "10.99.0.2"
NAME2, MAC2, IP2 = "core-devices-b", "00:16:3e:5a:03:0b", "10.99.0.3"
# Nested KVM under TCG boots the kernel in 40-100 s; hardware in ~1 s.
# On a slower host with `make -j2 check` running TCG guests beside the
# lane, boots took 123 s to over 150 s (the guest reporting soft lockups
# while its vCPUs waited for the host's CPUs): 300 s.
BOOT_LIMIT = 300.0
L.BOOT_LIMIT = BOOT_LIMIT
# ... and 64 MiB through md5sum in it takes minutes when the lane runs
# other guests beside it: the helpers' waits grow with L.SLOW.
L.SLOW = 240.0


def write_cfg(disks, vif='"bridge=xenbr0,mac=%s"' % MAC, name=None):
    name = name or L.NAME
    lines = [
        'name = "%s"' % name,
        'type = "pvh"',
        'accel = "kvm"',
        "memory = 320",
        "vcpus = 1",
        'kernel = "%s/vmlinuz"' % L.GUEST,
        'ramdisk = "%s/initrd.gz"' % L.GUEST,
        'cmdline = "console=ttyS0 quiet"',
        'on_poweroff = "destroy"',
        'on_reboot = "destroy"',
        'on_crash = "destroy"',
    ]
    if disks:
        lines.append("disk = [ %s ]" % ", ".join('"%s"' % d for d in disks))
    if vif:
        lines.append("vif = [ %s ]" % vif)
    cfg = os.path.join(L.TMP, name + ".cfg")
    with open(cfg, "w") as f:
        f.write("\n".join(lines) + "\n")
    return cfg


def taps():
    """The vif taps of this network namespace (sysfs shows the one it
    was mounted in)."""
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True,
                         text=True).stdout
    return sorted(m.group(1) for m in re.finditer(r"^\d+: (vif[^:@]*)",
                                                  out, re.M))


def qemus():
    """qemu processes of this test, qemu-storage-daemon aside (the block
    backend's)."""
    return [p for p in L.our_qemus() if "storage-daemon" not in p[1]]


def guest_disks(con):
    con.run("echo bl-$(ls /sys/block | tr '\\n' ' ')-$((7*7))", "-49", 10)
    m = re.findall(r"bl-(.*?)-49", con.tail(400))
    return m[-1].split() if m else []


def hotplug(con, dom):
    """Disks and a NIC into and out of the running guest (ACPI PCI
    hotplug)."""
    hot = os.path.join(L.TMP, "core-hot.img")
    shutil.copy(os.path.join(L.GUEST, "disk.img"), hot)
    sock = os.path.join(B.backend_dir(dom), "51744.sock")
    rc, out, err = L.xl("block-attach", L.NAME, "%s,raw,xvdc,rw" % hot)
    L.check(rc == 0, "xl block-attach xvdc into the running guest",
            "rc=%d %s%s" % (rc, out, err))
    L.check(L.wait_for(lambda: "vdc" in guest_disks(con), 30),
            "the guest finds the plugged disk as /dev/vdc",
            "%s; %s" % (guest_disks(con), con.tail(600)))
    L.check(con.run("dd if=/dev/vdc bs=16 count=1 2>/dev/null | "
                    "sed \"s/V1/V1-hot-$((2+3))/\"; echo",
                    "XENOLITH-DISK-V1-hot-5", 20) and
            con.run("echo se-$(cat /sys/block/vdc/serial)-$((9*7))", "-63",
                    10) and re.search(r"se-xvdc-63", con.tail(300)),
            "the guest reads it; its serial is xvdc", con.tail(600))
    rc, out, err = L.xl("block-list", L.NAME)
    L.check(re.search(r"^51744\s+0\s+%d\s+4\s" % dom, out, re.M),
            "xl block-list shows xvdc (51744), state 4", out + err)
    rc, out, err = L.xl("block-attach", L.NAME, "%s,raw,xvda,rw" % hot)
    L.check(rc != 0 and "xvda" in err and "already" in err,
            "block-attach on a vdev in use is refused, naming it",
            "rc=%d %s%s" % (rc, out, err))
    rc, out, err = L.xl("block-detach", L.NAME, "xvdc")
    L.check(rc == 0, "xl block-detach xvdc: the guest releases it (its "
            "_EJ0)", "rc=%d %s%s" % (rc, out, err))
    L.check(L.wait_for(lambda: "vdc" not in guest_disks(con), 20),
            "the guest's /dev/vdc is gone", str(guest_disks(con)))
    L.check(not L.xs_exists("/local/domain/0/backend/vbd/%d/51744" % dom)
            and L.wait_for(lambda: not os.path.exists(sock), 10),
            "xvdc's backend node and socket are gone")
    # -f: taken away at once; the guest is told and drops it
    rc, out, err = L.xl("block-attach", L.NAME, "%s,raw,xvdc,rw" % hot)
    L.check(rc == 0 and L.wait_for(lambda: "vdc" in guest_disks(con), 30),
            "xl block-attach xvdc again: the guest finds it",
            "rc=%d %s%s %s" % (rc, out, err, guest_disks(con)))
    rc, out, err = L.xl("block-detach", "-f", L.NAME, "xvdc")
    L.check(rc == 0 and L.wait_for(lambda: "vdc" not in guest_disks(con),
                                   20),
            "xl block-detach -f xvdc: gone from the guest",
            "rc=%d %s%s %s" % (rc, out, err, guest_disks(con)))
    L.check(con.run("dd if=/dev/vda bs=16 count=1 2>/dev/null | "
                    "sed \"s/V1/V1-still-$((3+4))/\"; echo",
                    "XENOLITH-DISK-V1-still-7", 20) and L.domid() == dom,
            "the guest still reads its own disk", con.tail(600))
    rc, out, err = L.xl("block-list", L.NAME)
    L.check(rc == 0 and len(out.splitlines()) == 3,
            "xl block-list: xvda and xvdb left", out + err)

    hot_mac = "00:16:3e:5a:03:1a"
    rc, out, err = L.xl("network-attach", L.NAME, "bridge=xenbr0",
                        "mac=" + hot_mac)
    L.check(rc == 0, "xl network-attach (vif 1, %s)" % hot_mac,
            "rc=%d %s%s" % (rc, out, err))
    rc, out, err = L.xl("network-list", L.NAME)
    rows = [ln.split() for ln in out.splitlines()]
    L.check(rc == 0 and [r[:5] for r in rows[1:]] ==
            [["0", "0", MAC, "0", "4"], ["1", "0", hot_mac, "1", "4"]],
            "xl network-list: vif 0 and the new vif 1, state 4", out)
    L.check(con.run("for i in $(seq 1 40); do grep -qi %s /sys/class/net/"
                    "*/address 2>/dev/null && break; sleep 0.5; done; "
                    "grep -li %s /sys/class/net/*/address | cut -d/ -f5 | "
                    "sed 's/^/hot:/'" % (hot_mac, hot_mac), "hot:eth", 60),
            "the guest finds the new NIC (MAC %s)" % hot_mac, con.tail(400))
    m = re.findall(r"hot:(eth\d+)", con.tail(400))
    hif = m[-1] if m else "eth1"
    L.check(con.run("ip link set %s up && ip addr add 10.99.0.12/24 dev %s "
                    "&& ip route add 10.99.0.1/32 dev %s && ping -c 3 -W 10 "
                    "-I %s 10.99.0.1 >/dev/null && echo hp-$((7+7))"
                    % (hif, hif, hif, hif), "hp-14", L.SLOW),
            "the guest pings the host through the new NIC", con.tail(400))
    rc, out, err = L.xl("network-detach", L.NAME, hot_mac)
    L.check(rc == 0, "xl network-detach %s (by MAC)" % hot_mac,
            "rc=%d %s%s" % (rc, out, err))
    L.check(con.run("ls /sys/class/net | grep -c %s | sed 's/^/n:/'" % hif,
                    "n:0", 30),
            "the guest released %s" % hif, con.tail(400))
    L.check(L.wait_for(lambda: "vif%d.1" % dom not in taps(), 10) and
            not L.xs_exists("/local/domain/0/backend/vif/%d/1" % dom),
            "its tap and vif nodes are gone", str(taps()))
    L.check(con.run("ping -c 1 -W 10 10.99.0.1 >/dev/null && "
                    "echo p0-$((6*7))", "p0-42", L.SLOW),
            "the guest's first NIC still works", con.tail(400))

    # refused, leaving nothing: a missing image, a missing bridge
    nope = os.path.join(L.TMP, "nope-hot.img")
    rc, out, err = L.xl("block-attach", L.NAME, "%s,raw,xvdd,rw" % nope)
    L.check(rc != 0 and nope in out + err and
            not L.xs_exists("/local/domain/0/backend/vbd/%d/51760" % dom),
            "block-attach of a missing image: refused, naming it, no node "
            "left", "rc=%d %s%s" % (rc, out, err))
    rc, out, err = L.xl("network-attach", L.NAME, "bridge=nosuchbr0",
                        "mac=00:16:3e:5a:03:2a")
    L.check(rc != 0 and "nosuchbr0" in out + err and
            "vif%d.1" % dom not in taps() and
            not L.xs_exists("/local/domain/0/backend/vif/%d/1" % dom),
            "network-attach to a missing bridge: refused, naming it, no "
            "tap or node left", "rc=%d %s%s %s" % (rc, out, err, taps()))

    # a disk the guest booted with unplugs the same way; the block
    # backend's qemu-storage-daemon goes with the last qcow2 disk
    rc, out, err = L.xl("block-detach", L.NAME, "xvdb")
    L.check(rc == 0 and L.wait_for(lambda: "vdb" not in guest_disks(con),
                                   20),
            "xl block-detach xvdb (a boot disk): the guest releases it",
            "rc=%d %s%s %s" % (rc, out, err, guest_disks(con)))
    L.check(L.wait_for(lambda: not B.qsds(dom), 20),
            "its qemu-storage-daemon is gone with the last qcow2 disk",
            str(B.qsds(dom)))
    L.check(con.run("dd if=/dev/vda bs=16 count=1 2>/dev/null | "
                    "sed \"s/V1/V1-left-$((4+4))/\"; echo",
                    "XENOLITH-DISK-V1-left-8", 20) and L.domid() == dom,
            "the guest still reads xvda", con.tail(600))


def scenario():
    if not shutil.which("qemu-storage-daemon"):
        print("SKIP: no qemu-storage-daemon (apt-get install "
              "qemu-system-common)")
        sys.exit(77)
    lock = open(L.BOOT_LOCK, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    raw = os.path.join(L.TMP, "core-raw.img")
    qcow = os.path.join(L.TMP, "core.qcow2")
    shutil.copy(os.path.join(L.GUEST, "disk.img"), raw)
    os.truncate(raw, RAW_SIZE)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", qcow,
                    "%dM" % (DATA_MIB + 16)], check=True)
    disks = ["%s,raw,xvda,rw" % raw, "%s,qcow2,xvdb,rw" % qcow]

    # ---- refused first: nothing may be left of them.
    nope = os.path.join(L.TMP, "nope.img")
    B.refused(write_cfg(disks + ["%s,raw,xvdc,rw" % nope]), nope,
              "a missing image")
    B.refused(write_cfg(disks + ["%s,raw,hdc,r,devtype=cdrom" % raw]),
              "no cdrom", "a cdrom on the core")
    B.refused(write_cfg(disks, vif='"bridge=xenbr0,model=e1000"'),
              "virtio NICs only", "an emulated NIC on the core")
    L.check(not taps(), "refused: no tap left", str(taps()))

    # ---- the guest.
    cfg = write_cfg(disks)
    t0 = time.monotonic()
    rc, out, err = L.xl("create", cfg)
    L.check(rc == 0, "xl create on the core (xvda raw, xvdb qcow2, a vif)",
            "rc=%d %s%s" % (rc, out, err), fatal=True)
    dom = L.domid()
    L.check(dom is not None, "xl domid: %s" % dom, fatal=True)
    con = L.console(L.NAME, BOOT_LIMIT)
    try:
        L.reach_shell(con, t0, "boot")
        L.check(not qemus() and
                L.xs_read("/libxl/%d/dm-version" % dom) is None,
                "on the core: no qemu", str(qemus()))
        L.check(len(B.blkbacks(dom)) == 2 and len(B.qsds(dom)) == 1,
                "one xenolith-blkback (supervisor, worker) and its "
                "qemu-storage-daemon", str(B.blkbacks(dom)))
        L.check(len(N.netbacks(dom)) == 2,
                "one xenolith-netback (supervisor, worker)",
                str(N.netbacks(dom)))
        for dev in (XVDA, XVDB):
            L.check(B.be(dom, dev, "state") == "4" and
                    B.be(dom, dev, "hotplug-status") == "connected",
                    "backend vbd/%d/%d: state 4, connected" % (dom, dev))
        L.check(N.be(dom, "state") == "4" and
                N.be(dom, "hotplug-status") == "connected",
                "backend vif/%d/0: state 4, connected" % dom)
        L.check(taps() == ["vif%d.0" % dom], "its tap vif%d.0" % dom,
                str(taps()))
        rc, out, err = L.xl("network-list", L.NAME)
        rows = [ln.split() for ln in out.splitlines()]
        L.check(rc == 0 and rows[1:] ==
                [["0", "0", MAC, "0", "4", "-1", "-1/-1",
                  "/local/domain/0/backend/vif/%d/0" % dom]],
                "xl network-list: vif 0, its MAC, state 4", out + err)
        rc, out, err = L.xl("block-list", L.NAME)
        rows = [ln.split() for ln in out.splitlines()]
        L.check(rc == 0 and [r[0] for r in rows[1:]] ==
                [str(XVDA), str(XVDB)] and
                all(r[3] == "4" for r in rows[1:]),
                "xl block-list: xvda and xvdb, state 4", out)

        # ---- what the guest finds: virtio PCI devices on the core's bus.
        L.check(con.run("ls /sys/bus/pci/drivers/virtio-pci | "
                        "grep -c '^0000:' | sed 's/^/slots:/'; "
                        "echo end-$((1+1))", "end-2", 20) and
                re.search(r"slots:3\b", con.tail(300)),
                "the guest's virtio_pci binds 3 devices (2 disks, 1 NIC)",
                con.tail(600))
        L.check(con.run("ls /sys/block | tr '\\n' ' ' | sed 's/^/blk:/'; "
                        "echo end-$((2+1))", "end-3", 20) and
                re.search(r"blk:.*\bvda\b.*\bvdb\b", con.tail(300)),
                "the guest has /dev/vda and /dev/vdb", con.tail(600),
                fatal=True)
        L.check(con.run("dd if=/dev/vda bs=16 count=1 2>/dev/null | "
                        "sed \"s/V1/V1-read-$((2+2))/\"; echo",
                        "XENOLITH-DISK-V1-read-4", 20),
                "the guest reads the raw image's marker", con.tail(600))
        sum_a = B.write_and_check(con, "vda", "a")
        got = B.md5_of(raw, 1, DATA_MIB)
        L.check(sum_a and got == sum_a,
                "the host finds the guest's 64 MiB in the raw image",
                "guest %s, host %s" % (sum_a, got))
        sum_b = B.write_and_check(con, "vdb", "b")
        conv = os.path.join(L.TMP, "core-qcow.raw")
        subprocess.run(["qemu-img", "convert", "-U", "-O", "raw", qcow,
                        conv], check=False)
        got = B.md5_of(conv, 1, DATA_MIB) if os.path.exists(conv) else ""
        L.check(sum_b and got == sum_b,
                "the host finds the guest's 64 MiB in the qcow2 image",
                "guest %s, host %s" % (sum_b, got))
        if os.path.exists(conv):
            os.unlink(conv)

        con.run("echo se-$(cat /sys/block/vda/serial)-$((8*8))", "-64", 10)
        L.check(re.search(r"se-xvda-64", con.tail(300)),
                "the raw disk's serial is its vdev (xvda)", con.tail(300))

        # ---- online resize: the guest is told through the core's slot.
        os.truncate(raw, RAW_SIZE + 64 * MIB)
        want = (RAW_SIZE + 64 * MIB) // 512

        L.check(L.wait_for(lambda: B.guest_size(con) == str(want), 30),
                "truncate -s +64M: the guest's /sys/block/vda/size grows "
                "to %d with no command" % want,
                "%s; %s" % (B.guest_size(con), con.tail(400)))
        L.check("changed its configuration" in L.xl("dmesg")[1],
                "xl dmesg: the core passed the disk's config change on",
                L.xl("dmesg")[1][-1500:])

        # ---- the network: eth0 with the configured MAC, the bridge.
        if not L.check(con.run("cat /sys/class/net/eth0/address | "
                               "sed 's/^/mac:/'", "mac:" + MAC, 20),
                       "the guest's eth0 has MAC %s" % MAC, con.tail(400)):
            con.run("dmesg | grep -i virtio | tail -20; echo dm-$((9*9))",
                    "dm-81", 20)
            print(con.tail(2000))
        L.check(con.run("ip link set eth0 up && ip addr add %s/24 dev "
                        "eth0 && echo up-$((3*3))" % IP, "up-9", 20),
                "the guest's eth0 is up", con.tail(400))
        L.check(con.run("ping -c 3 -W 10 10.99.0.1 >/dev/null && "
                        "echo pinged-$((4*4))", "pinged-16", 60),
                "the guest pings the host over the bridge", con.tail(400))
        data = os.urandom(DATA_MIB * MIB)
        con.send("nc -l -p 5001 > /tmp/r &\r")
        time.sleep(1)
        t = time.monotonic()
        N.send_to_guest(IP, 5001, data)
        ok = N.wait_size(con, "/tmp/r", len(data), 120)
        secs = time.monotonic() - t
        L.check(ok and N.guest_md5(con, "/tmp/r", "net") ==
                hashlib.md5(data).hexdigest(),
                "the guest takes 64 MiB from the host (%.1f MB/s), md5 "
                "checked" % (DATA_MIB / secs), con.tail(400))

        # ---- a second guest on the core, on the same bridge: the two
        # ping each other and the 64 MiB go from one to the other
        # (busybox httpd and wget: busybox nc writes 1 KiB at a time).
        cfg2 = write_cfg([], vif='"bridge=xenbr0,mac=%s"' % MAC2,
                         name=NAME2)
        t1 = time.monotonic()
        rc, out, err = L.xl("create", cfg2)
        L.check(rc == 0, "xl create of a second guest on the core (a vif "
                "only)", "rc=%d %s%s" % (rc, out, err))
        con2 = L.console(NAME2, BOOT_LIMIT) if rc == 0 else None
        try:
            if con2:
                L.reach_shell(con2, t1, "second guest's boot")
                con2.run("ip link set eth0 up && ip addr add %s/24 dev eth0"
                         " && echo up2-$((3*4))" % IP2, "up2-12", 20)
                L.check(con.run("ping -c 3 -W 10 %s >/dev/null && echo "
                                "gg-$((5*6))" % IP2, "gg-30", L.SLOW),
                        "the guests ping each other over the bridge",
                        con.tail(400) + con2.tail(400))
                con.run("httpd -p 8080 -h /tmp && echo httpd-$((3*11))",
                        "httpd-33", 20)
                t2 = time.monotonic()
                got = con2.run("wget -q -O /tmp/r2 http://%s:8080/r && "
                               "echo got-$((4*11))" % IP, "got-44", L.SLOW)
                secs = time.monotonic() - t2
                L.check(got and N.guest_md5(con2, "/tmp/r2", "gg") ==
                        hashlib.md5(data).hexdigest(),
                        "the second guest takes the 64 MiB from the first "
                        "(%.1f MB/s), md5 checked" % (DATA_MIB / secs),
                        con2.tail(400))
                con.run("pkill httpd; echo nohttpd-$((2*7))", "nohttpd-14",
                        20)
        finally:
            if con2:
                con2.close()
            if rc == 0:
                rc2, out, err = L.xl("destroy", NAME2)
                L.check(rc2 == 0, "xl destroy of the second guest",
                        "rc=%d %s%s" % (rc2, out, err))
        con.run("rm -f /tmp/r; echo rmd-$((3*3))", "rmd-9", 20)

        # ---- the backends die: their supervisors start them again, the
        # core reconnects the rings, I/O resumes, the domain up all along.
        old = B.qsds(dom)
        bb = B.blkbacks(dom)
        for p in [p for p in bb if B.ppid(p) in bb]:
            os.kill(p, signal.SIGKILL)
        L.check(L.wait_for(lambda: [p for p in B.qsds(dom) if p not in old],
                           30) and
                L.wait_for(lambda: [p for p in B.blkbacks(dom)
                                    if p not in bb], 30) and
                L.wait_for(lambda: B.be(dom, XVDA, "hotplug-status") ==
                           "connected", 30),
                "kill -9 of the blkback worker: a new one, with a new "
                "qemu-storage-daemon", "%s %s" % (B.blkbacks(dom),
                                                  B.qsds(dom)))
        L.check(L.wait_for(lambda: L.xl("dmesg")[1].count(" is back: its "
                                                         "rings run again")
                           >= 2, 30),
                "xl dmesg: the core saw both disks' backend go and come "
                "back", L.xl("dmesg")[1][-1500:])
        con.run("echo 3 > /proc/sys/vm/drop_caches; echo dr-$((4*4))",
                "dr-16", 20)
        got = B.guest_md5(con, "dd if=/dev/vda bs=1M skip=1 count=%d "
                          "2>/dev/null" % DATA_MIB, "again")
        L.check(got == sum_a and L.domid() == dom,
                "after the restart the guest reads its 64 MiB again "
                "(raw)", "%s; %s" % (got, con.tail(600)))
        got = B.guest_md5(con, "dd if=/dev/vdb bs=1M skip=1 count=%d "
                          "2>/dev/null" % DATA_MIB, "againb")
        L.check(got == sum_b and L.domid() == dom,
                "and its 64 MiB on the qcow2 disk",
                "%s; %s" % (got, con.tail(600)))
        L.check(con.run("echo after | dd of=/dev/vdb bs=512 seek=2 "
                        "conv=fsync 2>/dev/null && echo w2-$((6*6))",
                        "w2-36", L.SLOW),
                "and writes", con.tail(600))
        nb = N.netbacks(dom)
        for p in [p for p in nb if B.ppid(p) in nb]:
            os.kill(p, signal.SIGKILL)
        L.check(L.wait_for(lambda: [p for p in N.netbacks(dom)
                                    if p not in nb], 30),
                "kill -9 of the netback worker: a new one",
                str(N.netbacks(dom)))
        L.check(con.run("ping -c 3 -W 10 10.99.0.1 >/dev/null && "
                        "echo pinged-$((5*5))", "pinged-25", L.SLOW) and
                L.domid() == dom,
                "the guest pings the host again, the domain up all along",
                con.tail(400))

        hotplug(con, dom)

        # ---- destroy: nothing left.
        rc, out, err = L.xl("destroy", L.NAME)
        L.check(rc == 0, "xl destroy", "rc=%d %s%s" % (rc, out, err))
        con.close()
        B.gone_checks(dom, "after xl destroy")
        L.check(L.wait_for(lambda: not N.netbacks(dom), 10) and
                not taps(), "after xl destroy: no netback, no tap",
                "%s %s" % (N.netbacks(dom), taps()))
    finally:
        con.close()


if __name__ == "__main__":
    L.main(scenario)

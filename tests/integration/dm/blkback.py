#!/usr/bin/env python3
"""blkback.py - a real Debian PVH guest whose disks its block backend
serves over vhost-user (xenolith-blkback itself for the raw image, its
qemu-storage-daemon for the qcow2 one), under xl with qemu as the machine:

  xvda raw and xvdb qcow2: the guest sees /dev/vda and /dev/vdb; it
  writes 64 MiB of random data to each with a checksum, reads them back
  (caches dropped) and the host finds the same checksum in the raw image
  and, through qemu-img, in the qcow2 one; xenstore has Xen's vbd
  layout (backend state 4, hotplug-status connected, sectors; the
  frontend's nodes); the backend is no child of xl and not qemu; the
  raw disk's serial is its vdev (xvda);
  `truncate -s +64M` on the raw image: with no command, the backend's
  xenstore sectors and the guest's /sys/block/vda/size grow (a vhost-user
  config-change message through qemu); `kill -9` of qemu-storage-daemon:
  the backend starts a new one, the guest's qemu reconnects and the guest
  reads and writes the qcow2 disk again, the raw disk untouched, the
  domain up all along; `kill -9` of the backend itself: its supervisor
  starts it again, and the guest reads again;
  xl block-attach of a third disk: the guest finds /dev/vdc and reads
  it, xl block-list shows it; xl block-detach: the guest releases it;
  refused: block-attach on a vdev in use, block-detach of a vdev the
  domain has not;
  xl destroy: no backend, no qemu-storage-daemon, no socket, no node;
  refused, leaving nothing: a qcow2 disk whose qemu-storage-daemon
  cannot start (missing; the backend starts it for the first qcow2
  disk), a disk whose image is missing (named), two disks on one vdev.

Reuses lifecycle.py's helpers.  Environment: as lifecycle.py, and
XENOLITH_BLKBACK (dm/lib.sh).  Prints "ok: ..." / "FAIL: ..."; exit
status 0, 1 on failures, 77 without qemu-storage-daemon.
"""
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True    # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.argv[1:] = ["blkback"]        # lifecycle's KIND: NAME is dm-blkback
import lifecycle as L  # noqa: E402

MIB = 1 << 20
RAW_SIZE = 128 * MIB
DATA_MIB = 64
XVDA, XVDB = 51712, 51728       # Xen's device numbers of xvda, xvdb


def guest_size(con, dev="vda"):
    """The guest's /sys/block/DEV/size, as a string ("?" when unread)."""
    con.run("echo sz-$(cat /sys/block/%s/size)-$((9*9))" % dev, "-81", 10)
    m = re.findall(r"sz-(\d+)-81", con.tail(300))
    return m[-1] if m else "?"


def write_cfg(raw, qcow, extra_disk=None, name=None):
    disks = ['"%s,raw,xvda,rw"' % raw, '"%s,qcow2,xvdb,rw"' % qcow]
    if extra_disk:
        disks.append('"%s"' % extra_disk)
    lines = [
        'name = "%s"' % (name or L.NAME),
        'type = "pvh"',
        "memory = 320",
        "vcpus = 1",
        'kernel = "%s/vmlinuz"' % L.GUEST,
        'ramdisk = "%s/initrd.gz"' % L.GUEST,
        'cmdline = "console=ttyS0 quiet"',
        'on_poweroff = "destroy"',
        'on_reboot = "destroy"',
        'on_crash = "destroy"',
        "disk = [ %s ]" % ", ".join(disks),
    ]
    if os.environ.get("DM_ACCEL"):
        lines.append('accel = "%s"' % os.environ["DM_ACCEL"])
    cfg = os.path.join(L.TMP, (name or L.NAME) + ".cfg")
    with open(cfg, "w") as f:
        f.write("\n".join(lines) + "\n")
    return cfg


def backend_dir(dom):
    return os.path.join(L.RUNDIR, "backends", "vbd-%d" % dom)


def processes(word):
    """Live processes whose command line has word and this test's
    rundir (or, for the backend, its domid argument)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        line = " ".join(argv)
        if word in line and L.alive(int(d)):
            found.append(int(d))
    return found


def blkbacks(dom):
    return [p for p in processes("xenolith-blkback --domid %d " % dom)]


def qsds(dom):
    return processes(os.path.join(backend_dir(dom), "qsd.qmp"))


def ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def be(dom, dev, key):
    return L.xs_read("/local/domain/0/backend/vbd/%d/%d/%s" % (dom, dev, key))


def md5_of(path, skip_mib, mib):
    out = subprocess.run("dd if=%s bs=1M skip=%d count=%d 2>/dev/null | "
                         "md5sum" % (path, skip_mib, mib), shell=True,
                         capture_output=True, text=True).stdout
    return out.split()[0] if out else ""


def guest_md5(con, cmd, tag):
    """Runs cmd | md5sum in the guest; the sum, or None."""
    marker = "%s-$((6*7))" % tag
    if not con.run("echo %s-$(%s | md5sum | cut -c1-32)-%s"
                   % (tag, cmd, marker), "%s-42" % tag, L.SLOW):
        return None
    m = re.findall(r"%s-([0-9a-f]{32})-%s-42" % (tag, tag), con.tail(800))
    return m[-1] if m else None


def write_and_check(con, blk, tag):
    """64 MiB of random data from the guest's tmpfs to /dev/blk at 1 MiB;
    read back with caches dropped.  The checksum, or None."""
    ok = con.run("dd if=/dev/urandom of=/tmp/%s bs=1M count=%d "
                 "2>/dev/null && dd if=/tmp/%s of=/dev/%s bs=1M seek=1 "
                 "conv=fsync 2>/dev/null && echo wrote-%s-$((2*21))"
                 % (tag, DATA_MIB, tag, blk, tag), "wrote-%s-42" % tag,
                 L.SLOW * 2)
    L.check(ok, "the guest writes %d MiB to /dev/%s" % (DATA_MIB, blk),
            con.tail(600))
    want = guest_md5(con, "cat /tmp/%s" % tag, "src" + tag)
    con.run("echo 3 > /proc/sys/vm/drop_caches; echo dropped-$((5*5))",
            "dropped-25", 20)
    got = guest_md5(con, "dd if=/dev/%s bs=1M skip=1 count=%d 2>/dev/null"
                    % (blk, DATA_MIB), "rb" + tag)
    L.check(want is not None and want == got,
            "the guest reads the %d MiB back from /dev/%s (md5 %s)"
            % (DATA_MIB, blk, want), "wrote %s, read %s" % (want, got))
    con.run("rm -f /tmp/%s; echo rmd-$((3*3))" % tag, "rmd-9", 20)
    return want


def gone_checks(dom, what):
    L.check(L.wait_for(lambda: not blkbacks(dom), 10),
            "%s: no xenolith-blkback of domain %d" % (what, dom),
            str(blkbacks(dom)))
    L.check(L.wait_for(lambda: not qsds(dom), 10),
            "%s: no qemu-storage-daemon of domain %d" % (what, dom),
            str(qsds(dom)))
    L.check(not os.path.exists(backend_dir(dom)),
            "%s: no %s" % (what, backend_dir(dom)))
    L.check(not os.path.exists(backend_dir(dom) + ".log"),
            "%s: no %s.log" % (what, backend_dir(dom)))
    L.check(not L.xs_exists("/local/domain/0/backend/vbd/%d" % dom),
            "%s: no xenstore /local/domain/0/backend/vbd/%d" % (what, dom))


def refused(cfg, want, what):
    """xl create of cfg fails saying want, and leaves nothing."""
    rc, out, err = L.xl("create", cfg)
    L.check(rc != 0 and want in out + err,
            "refused: %s (says \"%s\")" % (what, want),
            "rc=%d %s%s" % (rc, out, err))
    L.check(L.domid() is None, "refused: %s: no domain left" % what)
    left = processes(L.RUNDIR + "/backends")
    L.check(not left, "refused: %s: no backend process left" % what,
            str(left))
    bdir = os.path.join(L.RUNDIR, "backends")
    files = os.listdir(bdir) if os.path.isdir(bdir) else []
    L.check(not files, "refused: %s: nothing in %s" % (what, bdir),
            str(files))
    rc, out, _ = L.xl("list")
    L.check(L.NAME not in out, "refused: %s: xl list is clean" % what, out)


def scenario():
    qsd = shutil.which("qemu-storage-daemon")
    if not qsd:
        print("SKIP: no qemu-storage-daemon (apt-get install "
              "qemu-system-common)")
        sys.exit(77)
    lock = open(L.BOOT_LOCK, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    raw = os.path.join(L.TMP, "blk-raw.img")
    qcow = os.path.join(L.TMP, "blk.qcow2")
    shutil.copy(os.path.join(L.GUEST, "disk.img"), raw)
    os.truncate(raw, RAW_SIZE)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", qcow,
                    "%dM" % (DATA_MIB + 16)], check=True)
    cfg = write_cfg(raw, qcow)

    # ---- refused configurations first: nothing may be left of them.
    os.environ["XENOLITH_QSD"] = "/nonexistent/qemu-storage-daemon"
    # xl's error names the backend and why the qcow2 disk's daemon could
    # not start (its path), not only that it did not
    refused(cfg, "block backend", "a qcow2 disk whose daemon is missing")
    refused(cfg, "cannot run qemu-storage-daemon "
            "'/nonexistent/qemu-storage-daemon'",
            "a qcow2 disk whose daemon is missing, saying why")
    del os.environ["XENOLITH_QSD"]
    refused(write_cfg(raw, qcow, os.path.join(L.TMP, "nope.img") +
                      ",raw,xvdc,rw"),
            os.path.join(L.TMP, "nope.img"), "a missing image")
    refused(write_cfg(raw, qcow, raw + ",raw,xvdb,rw"), "xvdb",
            "two disks on xvdb")

    # ---- the guest.
    cfg = write_cfg(raw, qcow)
    t0 = time.monotonic()
    rc, out, err = L.xl("create", cfg)
    L.check(rc == 0, "xl create (xvda raw, xvdb qcow2 by the backend)",
            "rc=%d %s%s" % (rc, out, err), fatal=True)
    dom = L.domid()
    L.check(dom is not None, "xl domid: %s" % dom, fatal=True)
    con = L.console(L.NAME)
    try:
        L.reach_shell(con, t0, "boot")
        bb = blkbacks(dom)
        sup = [p for p in bb if ppid(p) not in bb]
        L.check(len(bb) == 2 and len(sup) == 1,
                "one xenolith-blkback for domain %d (supervisor and worker)"
                % dom, str(bb), fatal=True)
        worker = [p for p in bb if p != sup[0]][0]
        L.check(ppid(sup[0]) != os.getpid() and
                ppid(sup[0]) not in processes(L.XL),
                "the backend is apart (parent %s)" % ppid(sup[0]))
        q = qsds(dom)
        L.check(len(q) == 1 and ppid(q[0]) == worker,
                "its one qemu-storage-daemon is the worker's child", str(q))
        qemu = L.qemu_pid(dom)
        try:
            with open("/proc/%d/cmdline" % qemu, "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except (OSError, TypeError):
            argv = []
        L.check(not any(raw in a or qcow in a for a in argv),
                "qemu opens no image of its own")
        L.check(any("vhost-user-blk-pci" in a for a in argv) and
                any("share=on" in a for a in argv),
                "qemu has vhost-user-blk devices and shared RAM")

        # ---- xenstore: Xen's layout.
        for dev, vdev, fmt, size in ((XVDA, "xvda", "raw", RAW_SIZE),
                                     (XVDB, "xvdb", "qcow2",
                                      (DATA_MIB + 16) * MIB)):
            L.check(be(dom, dev, "state") == "4" and
                    be(dom, dev, "hotplug-status") == "connected",
                    "backend vbd/%d/%d (%s): state 4, connected"
                    % (dom, dev, vdev),
                    "%r %r" % (be(dom, dev, "state"),
                               be(dom, dev, "hotplug-status")))
            L.check(be(dom, dev, "dev") == vdev and
                    be(dom, dev, "format") == fmt,
                    "backend vbd/%d/%d: dev %s, format %s"
                    % (dom, dev, vdev, fmt))
            L.check(be(dom, dev, "sectors") == str(size // 512),
                    "backend vbd/%d/%d: sectors %d" % (dom, dev,
                                                       size // 512),
                    repr(be(dom, dev, "sectors")))
            fe = "/local/domain/%d/device/vbd/%d" % (dom, dev)
            L.check(L.xs_read(fe + "/backend") ==
                    "/local/domain/0/backend/vbd/%d/%d" % (dom, dev),
                    "frontend %s/backend" % fe)

        # ---- xl block-list: Xen's columns.
        rc, out, err = L.xl("block-list", L.NAME)
        rows = [l.split() for l in out.splitlines()]
        L.check(rc == 0 and out.startswith(
                    "Vdev  BE  handle state evt-ch ring-ref BE-path"),
                "xl block-list: Xen's header", "rc=%d %s%s" % (rc, out, err))
        want = [[str(dev), "0", str(dom), "4", "-1", "-1",
                 "/local/domain/0/backend/vbd/%d/%d" % (dom, dev)]
                for dev in (XVDA, XVDB)]
        L.check(rows[1:] == want, "xl block-list: xvda and xvdb, state 4, "
                "their backend paths", out)

        # ---- the guest's disks: 64 MiB each, checked on the host.
        L.check(con.run("ls /sys/block | tr '\\n' ' ' | sed 's/^/blk:/'; "
                        "echo end-$((1+1))", "end-2", 20) and
                re.search(r"blk:.*\bvda\b.*\bvdb\b", con.tail(300)),
                "the guest has /dev/vda and /dev/vdb", con.tail(600),
                fatal=True)
        L.check(con.run("dd if=/dev/vda bs=16 count=1 2>/dev/null | "
                        "sed \"s/V1/V1-read-$((2+2))/\"; echo",
                        "XENOLITH-DISK-V1-read-4", 20),
                "the guest reads the raw image's marker", con.tail(600))
        sum_a = write_and_check(con, "vda", "a")
        got = md5_of(raw, 1, DATA_MIB)
        L.check(sum_a and got == sum_a,
                "the host finds the guest's 64 MiB in the raw image",
                "guest %s, host %s" % (sum_a, got))
        sum_b = write_and_check(con, "vdb", "b")
        conv = os.path.join(L.TMP, "blk-qcow2-as-raw.img")
        subprocess.run(["qemu-img", "convert", "-U", "-O", "raw", qcow,
                        conv], check=False)
        got = md5_of(conv, 1, DATA_MIB)
        L.check(sum_b and got == sum_b,
                "the host finds the guest's 64 MiB in the qcow2 image",
                "guest %s, host %s" % (sum_b, got))

        con.run("echo se-$(cat /sys/block/vda/serial)-$((8*8))", "-64", 10)
        L.check(re.search(r"se-xvda-64", con.tail(300)),
                "the raw disk's serial is its vdev (xvda)", con.tail(300))

        # ---- online resize: the image grows; the backend and, through
        # a config-change message to qemu, the guest follow.
        os.truncate(raw, RAW_SIZE + 64 * MIB)
        want = (RAW_SIZE + 64 * MIB) // 512
        L.check(L.wait_for(lambda: be(dom, XVDA, "sectors") == str(want),
                           15),
                "truncate -s +64M: the backend grows the disk and its "
                "sectors (%d) with no command" % want,
                repr(be(dom, XVDA, "sectors")))

        L.check(L.wait_for(lambda: guest_size(con) == str(want), 20),
                "the guest's /sys/block/vda/size grows to %d with no "
                "command" % want, "%s; %s" % (guest_size(con),
                                              con.tail(400)))

        # ---- the backend's daemon dies: a new one, I/O resumes.
        old = qsds(dom)
        for p in old:
            os.kill(p, signal.SIGKILL)
        L.check(L.wait_for(lambda: [p for p in qsds(dom)
                                    if p not in old], 15),
                "kill -9 qemu-storage-daemon: the backend starts a new "
                "one", str(qsds(dom)))
        L.check(L.wait_for(lambda: be(dom, XVDB, "hotplug-status") ==
                           "connected", 15),
                "the qcow2 disk is connected again",
                repr(be(dom, XVDB, "hotplug-status")))
        L.check(be(dom, XVDA, "hotplug-status") == "connected",
                "the raw disk (served by the backend) stayed connected",
                repr(be(dom, XVDA, "hotplug-status")))
        L.check(L.domid() == dom, "the domain stayed up")
        con.run("echo 3 > /proc/sys/vm/drop_caches; echo dr-$((4*4))",
                "dr-16", 20)
        got = guest_md5(con, "dd if=/dev/vdb bs=1M skip=1 count=%d "
                        "2>/dev/null" % DATA_MIB, "again")
        L.check(got == sum_b,
                "after the restart the guest reads its qcow2 data again",
                "%s; %s" % (got, con.tail(600)))
        L.check(con.run("echo after | dd of=/dev/vdb bs=512 seek=2 "
                        "conv=fsync 2>/dev/null && echo w2-$((6*6))",
                        "w2-36", L.SLOW),
                "and writes", con.tail(600))
        # ---- the backend itself dies: its supervisor starts it again.
        os.kill(worker, signal.SIGKILL)
        L.check(L.wait_for(lambda: [p for p in blkbacks(dom)
                                    if p not in bb], 15),
                "kill -9 of xenolith-blkback: a new worker",
                str(blkbacks(dom)))
        L.check(L.wait_for(lambda: len(qsds(dom)) == 1 and
                           be(dom, XVDA, "hotplug-status") == "connected",
                           20),
                "with a new qemu-storage-daemon, the disks connected again",
                "%s %r" % (qsds(dom), be(dom, XVDA, "hotplug-status")))
        con.run("echo 3 > /proc/sys/vm/drop_caches; echo dq-$((4*5))",
                "dq-20", 20)
        got = guest_md5(con, "dd if=/dev/vda bs=1M skip=1 count=%d "
                        "2>/dev/null" % DATA_MIB, "again2")
        L.check(got == sum_a and L.domid() == dom,
                "the guest reads its data again, the domain up all along",
                "%s; %s" % (got, con.tail(600)))
        log = backend_dir(dom) + ".log"
        try:
            text = open(log).read()
        except OSError as e:
            text = str(e)
        L.check("restarting" in text and "restarting it" in text,
                "the backend's log says the daemon and the worker died and "
                "were restarted", text[-800:])

        # ---- hotplug: xl block-attach, block-detach.
        hot = os.path.join(L.TMP, "blk-hot.img")
        shutil.copy(os.path.join(L.GUEST, "disk.img"), hot)
        rc, out, err = L.xl("block-attach", L.NAME, "%s,raw,xvdc,rw" % hot)
        L.check(rc == 0, "xl block-attach xvdc", "rc=%d %s%s"
                % (rc, out, err))

        def guest_disks():
            con.run("echo bl-$(ls /sys/block | tr '\\n' ' ')-$((7*7))",
                    "-49", 10)
            m = re.findall(r"bl-(.*?)-49", con.tail(400))
            return m[-1].split() if m else []
        L.check(L.wait_for(lambda: "vdc" in guest_disks(), 20),
                "the guest finds the plugged disk as /dev/vdc",
                "%s; %s" % (guest_disks(), con.tail(600)))
        L.check(con.run("dd if=/dev/vdc bs=16 count=1 2>/dev/null | "
                        "sed \"s/V1/V1-hot-$((2+3))/\"; echo",
                        "XENOLITH-DISK-V1-hot-5", 20),
                "the guest reads the plugged disk", con.tail(600))
        rc, out, err = L.xl("block-list", L.NAME)
        L.check(re.search(r"^51744\s+0\s+%d\s+4\s" % dom, out, re.M),
                "xl block-list shows xvdc (51744)", out + err)
        rc, out, err = L.xl("block-attach", L.NAME, "%s,raw,xvda,rw" % hot)
        L.check(rc != 0 and "xvda" in err and "already" in err,
                "block-attach on a vdev in use is refused, naming it",
                "rc=%d %s%s" % (rc, out, err))
        rc, out, err = L.xl("block-detach", L.NAME, "xvdz")
        L.check(rc != 0 and "Device xvdz not connected" in err,
                "block-detach of a disk the domain has not",
                "rc=%d %s%s" % (rc, out, err))
        rc, out, err = L.xl("block-detach", L.NAME, "xvdc")
        L.check(rc == 0, "xl block-detach xvdc (the guest releases it)",
                "rc=%d %s%s" % (rc, out, err))
        L.check(L.wait_for(lambda: "vdc" not in guest_disks(), 20),
                "the guest's /dev/vdc is gone", str(guest_disks()))
        rc, out, err = L.xl("block-list", L.NAME)
        L.check(rc == 0 and len(out.splitlines()) == 3,
                "xl block-list: xvda and xvdb left", out + err)
        L.check(not L.xs_exists("/local/domain/0/backend/vbd/%d/51744"
                                % dom) and
                L.wait_for(lambda: not os.path.exists(
                    os.path.join(backend_dir(dom), "51744.sock")), 10),
                "xvdc's backend node and socket are gone")

        # ---- destroy: nothing left.
        rc, out, err = L.xl("destroy", L.NAME)
        L.check(rc == 0, "xl destroy", "rc=%d %s%s" % (rc, out, err))
        con.close()
        L.assert_nothing_left(dom, qemu, "after xl destroy")
        gone_checks(dom, "after xl destroy")
    finally:
        con.close()


if __name__ == "__main__":
    L.main(scenario)

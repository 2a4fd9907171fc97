#!/usr/bin/env python3
"""lifecycle.py - one real Debian guest (tests/fixtures/debian-guest.sh)
through its whole life under xl, with qemu as its device model:

  xl create; the busybox shell over xl console (driven through a pty)
  within BOOT_LIMIT s; commands there (vCPUs, the disk read and written);
  xl list (name, memory, vCPUs) and the xenstore view; pause/unpause;
  xl reboot: the guest comes back with a new domid, the disk kept;
  xl shutdown: the guest sees the ACPI power button and powers off
  cleanly, the domain is gone and what it wrote is in the image file;
  xl create -c and xl destroy: nothing left (qemu, files under the
  rundir's qemu-dm/, xenstore nodes, taps).

usage: lifecycle.py KIND    KIND: pvh, seabios or ovmf; nic-pvh or
                            nic-seabios: the network (scenario_nic)
Environment (dm/lib.sh sets it): XL_BIN, XENOLITH_RUNDIR, XENSTORE_BINDIR,
DM_GUEST (the fixture's directory), T (the test's temporary directory);
DM_ACCEL (optional): an accel = line for the config; DM_VCPUS (default 2).
Prints "ok: ..." and "FAIL: ..." lines, boot times as "time: ..."; exit
status 0, 1 on failures, 77 when KIND cannot run here (no OVMF).
"""
import fcntl
import os
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True    # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from console import Console  # noqa: E402

BOOT_LIMIT = 30.0       # seconds from xl create to the shell (the issue)
SLOW = 60.0             # generous waits for everything else
MEMORY = 256
VCPUS = int(os.environ.get("DM_VCPUS", "2"))
OVMF = "/usr/share/ovmf/OVMF.fd"
BRIDGE = "xenbr0"       # nic.sh makes it in the test's network namespace
MAC = "00:16:3e:5a:01:02"
BOOT_LOCK = "/tmp/xenolith-guest-boot.lock"

KIND = sys.argv[1] if len(sys.argv) > 1 else ""
NIC = KIND.startswith("nic-")   # the network scenario (scenario_nic)
BASE = KIND[4:] if NIC else KIND
XL = os.environ["XL_BIN"]
RUNDIR = os.environ["XENOLITH_RUNDIR"]
XSBIN = os.environ["XENSTORE_BINDIR"]
GUEST = os.environ["DM_GUEST"]
TMP = os.environ["T"]
NAME = "dm-" + KIND
failures = 0


class Fatal(Exception):
    pass


def ok(msg):
    print("ok: " + msg, flush=True)


def fail(msg, fatal=False):
    global failures
    failures += 1
    print("FAIL: " + msg, flush=True)
    if fatal:
        raise Fatal(msg)


def check(cond, msg, detail="", fatal=False):
    if cond:
        ok(msg)
    else:
        fail(msg + (": " + detail if detail else ""), fatal)
    return cond


def xl(*args, timeout=SLOW):
    try:
        p = subprocess.run([XL] + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, "", "xl %s: no answer in %d s" % (" ".join(args),
                                                       timeout)
    return p.returncode, p.stdout, p.stderr


def xs_read(path):
    p = subprocess.run([XSBIN + "/xenstore-read", path], capture_output=True,
                       text=True)
    return p.stdout.strip() if p.returncode == 0 else None


def xs_exists(path):
    return subprocess.run([XSBIN + "/xenstore-exists", path],
                          capture_output=True).returncode == 0


def domid():
    rc, out, _ = xl("domid", NAME)
    return int(out.strip()) if rc == 0 and out.strip().isdigit() else None


def wait_for(pred, timeout):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(0.2)


def qemu_dm_dir():
    return os.path.join(RUNDIR, "qemu-dm")


def qemu_files(dom=None):
    try:
        # kernels/ is the PVH kernel cache, kept across domains
        names = sorted(n for n in os.listdir(qemu_dm_dir())
                       if n != "kernels")
    except FileNotFoundError:
        return []
    if dom is None:
        return names
    return [n for n in names if re.search(r"-%d(\.|$)" % dom, n)]


def qemu_pid(dom):
    try:
        with open(os.path.join(qemu_dm_dir(), "qemu-dm-%d.pid" % dom)) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def alive(pid):
    """pid runs and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def our_qemus():
    """Processes whose command line names this test's rundir (qemu
    started for this test's domains), as (pid, first argument)."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if (any(RUNDIR.encode() in a for a in argv)
                and b"qemu" in os.path.basename(argv[0]) and alive(int(d))):
            found.append((int(d), argv[0].decode(errors="replace")))
    return found


def links():
    """This network namespace's interfaces, name -> ip's line (sysfs
    shows the namespace it was mounted in, not ours)."""
    try:
        out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True,
                             text=True).stdout
    except OSError:
        return {n: "" for n in os.listdir("/sys/class/net")}
    found = {}
    for line in out.splitlines():
        f = line.split(":", 2)
        if len(f) == 3:
            found[f[1].strip().split("@")[0]] = f[2]
    return found


def taps(dom):
    return [n for n in links()
            if n.startswith("vif%d." % dom) or n.startswith("tap%d." % dom)]


def write_cfg():
    disk = os.path.join(TMP, "disk-%s.img" % KIND)
    subprocess.run(["cp", os.path.join(GUEST, "disk.img"), disk], check=True)
    lines = [
        'name = "%s"' % NAME,
        "memory = %d" % MEMORY,
        "vcpus = %d" % VCPUS,
        'kernel = "%s/vmlinuz"' % GUEST,
        'ramdisk = "%s/initrd.gz"' % GUEST,
        'cmdline = "console=ttyS0 quiet"',
        'on_poweroff = "destroy"',
        'on_reboot = "restart"',
        'on_crash = "destroy"',
    ]
    if NIC:
        lines.append('vif = [ "bridge=%s,mac=%s,model=%s" ]'
                     % (BRIDGE, MAC, "virtio-net" if BASE == "pvh"
                        else "e1000"))
    if BASE == "pvh":
        # Through qemu where the accelerator is TCG: virtio-blk, /dev/vda.
        lines += ['type = "pvh"',
                  'disk = [ "%s,raw,xvda,rw" ]' % disk]
        blk = "vda"
    else:
        # Direct kernel boot through the firmware (qemu -kernel works
        # with SeaBIOS and OVMF alike); an emulated IDE disk, /dev/sda.
        lines += ['type = "hvm"',
                  'bios = "%s"' % BASE,
                  'serial = "pty"',
                  "vnc = 0",
                  'disk = [ "%s,raw,%s,rw" ]'
                  % (disk, "hda" if BASE == "ovmf" else "xvda")]
        blk = "sda"
    if os.environ.get("DM_ACCEL"):
        lines.append('accel = "%s"' % os.environ["DM_ACCEL"])
    cfg = os.path.join(TMP, NAME + ".cfg")
    with open(cfg, "w") as f:
        f.write("\n".join(lines) + "\n")
    return cfg, disk, blk


def reach_shell(con, t0, what):
    """Waits for the guest's shell on con: the fixture's ready marker,
    then an echo answered (probes go out anyway after 8 s, in case the
    console attached after the marker went by).  Returns the seconds
    since t0, or fails fatally after BOOT_LIMIT."""
    deadline = t0 + BOOT_LIMIT
    probes = []
    next_probe = t0 + 8.0
    seen = False                # the domain was there once
    next_look = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        if time.monotonic() >= next_look:
            # A domain that crashed (on_crash = "destroy") gives no shell:
            # say so now rather than at the deadline.
            here = domid() is not None
            if seen and not here:
                fail("%s: the domain went away before its shell (see the "
                     "core's log below); console:\n%s" % (what, con.tail()),
                     fatal=True)
            seen = seen or here
            next_look = time.monotonic() + 2.0
        if not probes and con.wait("XENOLITH-GUEST-READY", 0) is not None:
            next_probe = time.monotonic()
        if time.monotonic() >= next_probe:
            n = 1000 + len(probes) * 7
            con.send("echo probe-$((%d+1))-up\r" % (n - 1))
            probes.append("probe-%d-up" % n)
            next_probe = time.monotonic() + 2.0
        left = min(0.2, deadline - time.monotonic())
        if left > 0 and con.wait(probes or ["\x01never\x01"], left):
            secs = time.monotonic() - t0
            print("time: %s %s: shell after %.2f s" % (KIND, what, secs),
                  flush=True)
            ok("%s: shell over the console within %.0f s (%.2f s)"
               % (what, BOOT_LIMIT, secs))
            return secs
    fail("%s: no shell within %.0f s; console:\n%s"
         % (what, BOOT_LIMIT, con.tail()), fatal=True)


def wait_tty(dom):
    """Until the new domain's console is there to attach to: a domain
    re-created after a reboot has its id before its console node, and
    xl console waits only 5 s for that (as Xen's), which a slow host
    (the nested-KVM lane) can take to get there."""
    check(wait_for(lambda: xs_exists("/local/domain/%d/serial/0/tty" % dom),
                   SLOW),
          "domain %d's console is there within %.0f s" % (dom, SLOW),
          fatal=True)


def console(dom_name, timeout=BOOT_LIMIT):
    """xl console on a pty.  A domain that is still being built (just
    re-created after a reboot) may have no console path yet: xl console
    waits 5 s for it (as Xen's does), then gives up; it is asked again
    until timeout.  Returns once xl holds the console: the guest's
    output came, or xl has not given up within 6 s.  (xl's own messages
    as it gives up are output too: they do not count.)"""
    end = time.monotonic() + timeout
    while True:
        con = Console([XL, "console", dom_name])
        held = time.monotonic() + 6.0
        while not con.eof and time.monotonic() < held:
            if con.buf and not only_xl_said(con.buf):
                break
            con.drain(0.2)
        if not con.eof or time.monotonic() >= end:
            return con
        con.close()
        time.sleep(0.3)


def only_xl_said(text):
    """All there is are xl's and libxl's own lines (a console that is not
    attached yet), not the guest's."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    lines = [l for l in text.splitlines() if l.strip()]
    return all(l.startswith("xl:") or "libxl" in l for l in lines)


def list_row(name):
    rc, out, err = xl("list", name)
    if rc != 0:
        return None, out + err
    rows = [r.split() for r in out.splitlines()[1:] if r.strip()]
    rows = [r for r in rows if r and r[0] == name]
    return (rows[0] if len(rows) == 1 else None), out + err


def guest_checks(con, blk, tag):
    check(con.run("grep -c ^processor /proc/cpuinfo | sed 's/^/n/;s/$/cpus/'",
                  "n%dcpus" % VCPUS, 20),
          "the guest sees %d vCPUs" % VCPUS, con.tail(600))
    check(con.run("ls /sys/block | tr '\\n' ' ' | sed 's/^/blk:/'; echo",
                  "blk:", 20) and con.wait(blk, 2) is not None,
          "the disk is /dev/%s in the guest" % blk, con.tail(600), fatal=True)
    check(con.run("dd if=/dev/%s bs=16 count=1 2>/dev/null | "
                  "sed \"s/V1/V1-read-$((2+2))/\"; echo" % blk,
                  "XENOLITH-DISK-V1-read-4", 20),
          "the guest reads the image's marker", con.tail(600))
    check(con.run("echo %s | dd of=/dev/%s bs=512 seek=1 conv=fsync "
                  "2>/dev/null && echo dd-ok-$((3*3))" % (tag, blk),
                  "dd-ok-9", 20),
          "the guest writes a sector", con.tail(600))
    check(con.run("dd if=/dev/%s bs=512 skip=1 count=1 iflag=direct "
                  "2>/dev/null | head -c %d | sed 's/^/back:/'; echo"
                  % (blk, len(tag)), "back:" + tag, 20),
          "the guest reads the sector back (O_DIRECT)", con.tail(600))


def scenario():
    if BASE not in ("pvh", "seabios", "ovmf"):
        print("usage: lifecycle.py [nic-]pvh|seabios|ovmf", file=sys.stderr)
        sys.exit(2)
    if BASE == "ovmf" and not os.access(OVMF, os.R_OK):
        print("SKIP: no %s (apt-get install ovmf)" % OVMF)
        sys.exit(77)
    if BASE == "seabios" and not os.access(
            "/usr/share/seabios/bios-256k.bin", os.R_OK):
        print("SKIP: no SeaBIOS (apt-get install seabios)")
        sys.exit(77)
    # One guest boot at a time on this host (make check -j, other test
    # runs): the 30 s limit is for a guest, not for a queue of them.
    lock = open(BOOT_LOCK, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    cfg, disk, blk = write_cfg()
    if NIC:
        scenario_nic(cfg)
        return
    tag = "pattern-%d-%s" % (os.getpid(), KIND)

    # ---- create, console, shell.
    t0 = time.monotonic()
    rc, out, err = xl("create", cfg)
    check(rc == 0, "xl create %s" % KIND, "rc=%d %s%s" % (rc, out, err),
          fatal=True)
    dom = domid()
    check(dom is not None and dom > 0, "xl domid %s: %s" % (NAME, dom),
          fatal=True)
    con = console(NAME)
    try:
        reach_shell(con, t0, "first boot")
        guest_checks(con, blk, tag)

        # ---- the toolstack's view.
        row, text = list_row(NAME)
        check(row is not None and len(row) >= 5, "xl list %s" % NAME, text,
              fatal=True)
        check(row[1] == str(dom), "xl list: ID %s" % dom, text)
        # Xen's HVM domains show a MiB less (the VGA hole, 0xa0000-0xbffff,
        # is not populated).
        check(row[2] in (str(MEMORY), str(MEMORY - 1)),
              "xl list: Mem %s for memory = %d" % (row[2], MEMORY), text)
        check(row[3] == str(VCPUS), "xl list: VCPUs %d" % VCPUS, text)
        check("p" not in row[4] and "c" not in row[4],
              "xl list: state %s (running or blocked)" % row[4], text)
        rc, out, err = xl("list")
        check(rc == 0 and re.search(r"^%s\s+%d\s" % (NAME, dom), out, re.M),
              "plain xl list shows the domain", out + err)
        check(xs_read("/local/domain/%d/name" % dom) == NAME,
              "xenstore /local/domain/%d/name" % dom)
        st = xs_read("/local/domain/0/device-model/%d/state" % dom)
        check(st == "running",
              "xenstore /local/domain/0/device-model/%d/state = running"
              % dom, repr(st))
        v = xs_read("/libxl/%d/dm-version" % dom)
        check(v == "qemu_xen", "xenstore /libxl/%d/dm-version = qemu_xen"
              % dom, repr(v))
        pid = qemu_pid(dom)
        check(pid is not None and alive(pid),
              "qemu-dm-%d.pid names a live process" % dom,
              "files: %s" % qemu_files())
        if pid:
            exe = os.path.basename(os.readlink("/proc/%d/exe" % pid))
            check(exe.startswith("qemu-system-x86_64"),
                  "the device model is qemu (%s)" % exe)

        # ---- pause, unpause.
        rc, out, err = xl("pause", NAME)
        row, text = list_row(NAME)
        check(rc == 0 and row is not None and "p" in row[4],
              "xl pause: state p", "rc=%d %s%s" % (rc, err, text))
        con.send("echo paused-$((8*8))\r")
        check(con.wait("paused-64", 3) is None,
              "a paused guest does not answer", con.tail(400))
        rc, out, err = xl("unpause", NAME)
        check(rc == 0 and con.wait("paused-64", 20) is not None,
              "xl unpause: the guest answers what was typed while paused",
              "rc=%d %s %s" % (rc, err, con.tail(400)))

        # ---- reboot: a new domain, the same disk.
        con.close()
        t1 = time.monotonic()
        rc, out, err = xl("reboot", NAME)
        check(rc == 0, "xl reboot", "rc=%d %s%s" % (rc, out, err),
              fatal=True)
        new = wait_for(lambda: (domid() or dom) != dom and domid(), SLOW)
        check(new, "after xl reboot the domain has a new domid (%s -> %s)"
              % (dom, new), "xl list: %s" % xl("list")[1], fatal=True)
        check(wait_for(lambda: pid is None or not alive(pid), SLOW),
              "the old qemu (pid %s) is gone" % pid)
        check(not xs_exists("/local/domain/%d" % dom),
              "/local/domain/%d is gone" % dom)
        check(wait_for(lambda: not qemu_files(dom), 10),
              "no qemu-dm files of domain %d left" % dom,
              str(qemu_files(dom)))
        dom = new
        wait_tty(dom)
        con = console(NAME)
        reach_shell(con, t1, "after xl reboot")
        check(con.run("dd if=/dev/%s bs=512 skip=1 count=1 2>/dev/null | "
                      "head -c %d | sed 's/^/kept:/'; echo" % (blk, len(tag)),
                      "kept:" + tag, 20),
              "the sector written before the reboot is there after it",
              con.tail(600))
        pid = qemu_pid(dom)

        # ---- shutdown: the ACPI power button, a clean power-off.
        rc, out, err = xl("shutdown", NAME)
        check(rc == 0, "xl shutdown", "rc=%d %s%s" % (rc, out, err))
        check(con.wait("XENOLITH-GUEST-POWER-BUTTON", SLOW) is not None,
              "the guest sees the power button", con.tail(600))
        check(wait_for(lambda: domid() is None, SLOW),
              "the domain is gone after the power-off",
              xl("list")[1], fatal=True)
        con.close()
        check(wait_for(lambda: pid is None or not alive(pid), 10),
              "its qemu (pid %s) is gone" % pid)
        log = os.path.join(RUNDIR, "log", "xl-%s.log" % NAME)
        try:
            with open(log) as f:
                text = f.read()
        except OSError:
            text = ""
        check(re.search(r"Domain %d has (been )?shut down, reason code 0"
                        % dom, text) is not None,
              "the watcher saw reason poweroff (0) for domain %d" % dom,
              text[-800:] or "no %s" % log)
        with open(disk, "rb") as f:
            f.seek(512)
            data = f.read(len(tag)).decode(errors="replace")
        check(data == tag, "the image file on the host holds the pattern",
              repr(data))

        # ---- create -c, then destroy: nothing left.
        t2 = time.monotonic()
        con = Console([XL, "create", "-c", cfg])
        reach_shell(con, t2, "xl create -c")
        dom = wait_for(domid, 10)
        check(dom is not None, "xl create -c: domid %s" % dom, fatal=True)
        pid = qemu_pid(dom)
        rc, out, err = xl("destroy", NAME)
        check(rc == 0, "xl destroy", "rc=%d %s%s" % (rc, out, err))
        con.close()
        assert_nothing_left(dom, pid, "after xl destroy")
    finally:
        con.close()


def scenario_nic(cfg):
    """A guest with one vif on BRIDGE: the tap is on the bridge, the guest
    sees the NIC with its MAC and pings the host's address on the bridge;
    after xl destroy the tap is gone."""
    t0 = time.monotonic()
    rc, out, err = xl("create", cfg)
    check(rc == 0, "xl create %s" % KIND, "rc=%d %s%s" % (rc, out, err),
          fatal=True)
    dom = domid()
    check(dom is not None, "xl domid %s: %s" % (NAME, dom), fatal=True)
    # virtio-net (the PVH guest's) is the network backend's tap; an
    # emulated NIC's tap is qemu's own
    tap = ("vif%d.0" if BASE == "pvh" else "vif%d.0-emu") % dom
    line = links().get(tap, "")
    check(re.search(r"\bmaster %s\b" % BRIDGE, line) is not None,
          "the tap %s is on %s" % (tap, BRIDGE),
          "taps: %s; %s" % (taps(dom), line))
    con = console(NAME)
    try:
        reach_shell(con, t0, "boot with a vif")
        check(con.run("cat /sys/class/net/eth0/address | "
                      "sed 's/^/mac:/'", "mac:" + MAC, 20),
              "the guest's eth0 has the vif's MAC %s" % MAC,
              con.tail(600))
        check(con.run("ip link set eth0 up && "
                      "ip addr add 10.99.0.2/24 dev eth0 && "
                      "ping -c 3 -W 10 10.99.0.1 >/dev/null && "
                      "echo ping-ok-$((5+5))", "ping-ok-10", SLOW),
              "the guest pings the host over the bridge", con.tail(600))
        pid = qemu_pid(dom)
        rc, out, err = xl("destroy", NAME)
        check(rc == 0, "xl destroy", "rc=%d %s%s" % (rc, out, err))
        con.close()
        assert_nothing_left(dom, pid, "after xl destroy")
    finally:
        con.close()


def assert_nothing_left(dom, pid, what):
    check(domid() is None, "%s: no domain %s" % (what, NAME))
    check(pid is None or wait_for(lambda: not alive(pid), 10),
          "%s: qemu pid %s gone" % (what, pid))
    q = wait_for(lambda: not our_qemus(), 10) or our_qemus()
    check(q is True, "%s: no qemu of this test runs" % what, str(q))
    check(wait_for(lambda: not qemu_files(), 10),
          "%s: %s is empty" % (what, qemu_dm_dir()), str(qemu_files()))
    for p in ("/local/domain/%d" % dom,
              "/local/domain/0/device-model/%d" % dom,
              "/libxl/%d" % dom):
        check(not xs_exists(p), "%s: no xenstore %s" % (what, p))
    check(not taps(dom), "%s: no tap of domain %d" % (what, dom),
          str(taps(dom)))
    bdir = os.path.join(RUNDIR, "backends")
    left = (lambda: [n for n in os.listdir(bdir)
                     if re.search(r"-%d(\.|$)" % dom, n)]
            if os.path.isdir(bdir) else [])
    check(wait_for(lambda: not left(), 10),
          "%s: no block backend files of domain %d" % (what, dom),
          str(left()))
    check(not xs_exists("/local/domain/0/backend/vbd/%d" % dom),
          "%s: no xenstore /local/domain/0/backend/vbd/%d" % (what, dom))


def main(scenario=scenario):
    """Runs a scenario (this file's, or devices.py's and core.py's over
    this file's helpers), leaves no domain or qemu of its behind, and
    exits 1 on failures."""
    try:
        scenario()
    except Fatal:
        pass
    finally:
        # Leave the host as found for the next steps of the shell test.
        if domid() is not None:
            xl("destroy", NAME)
        for p, _ in our_qemus():
            os.kill(p, signal.SIGKILL)
    if failures:
        print("%d failure(s)" % failures)
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":
    main()

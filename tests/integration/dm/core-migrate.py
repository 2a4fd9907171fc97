#!/usr/bin/env python3
"""core-migrate.py - the real Debian guest on the core (accel = "kvm")
with a raw disk, a qcow2 disk and a NIC on the test's bridge, saved,
restored and live-migrated with its devices:

  the guest writes 64 MiB to its raw disk (the host finds them) and
  pings the host; `xl migrate` to this same host (the receiver is `xl
  migrate-receive` under the same daemons, the way a local migration
  runs) while the guest reads its disk and fills 32 MiB of its memory
  (a page-cache file with its md5 taken before): the guest answers on
  its console under its new domain id, the disk read made during the
  migration has the right md5 (the backend's writes into guest memory
  were logged and resent), the memory file's md5 still matches, it
  reads its 64 MiB again, writes the qcow2 disk, pings the host; the
  old domain's backends, taps and nodes are gone; then `xl save` and
  `xl restore` of the same guest, which answers again and pings;
  `xl destroy`: nothing left.

It needs a KVM that runs a real Linux: tests/lane runs it in the
nested-KVM lane where the host has none.  Reuses lifecycle.py's,
blkback.py's and netback.py's helpers.  Prints "ok: ..." / "FAIL: ...";
exit status 0, 1 on failures, 77 without qemu-storage-daemon.
"""
import fcntl
import os
import re
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True    # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.argv[1:] = ["core-migrate"]   # lifecycle's KIND
import lifecycle as L  # noqa: E402
import blkback as B  # noqa: E402
import netback as N  # noqa: E402
import importlib  # noqa: E402

CD = importlib.import_module("core-devices")

L.NAME = "core-migrate"
MIB = 1 << 20
DATA_MIB = 64
XVDA, XVDB = 51712, 51728
BOOT_LIMIT = CD.BOOT_LIMIT


def migrate():
    """xl migrate to this host: the receiver runs under the same
    daemons (PATH gives it the build's xl)."""
    path = "PATH=%s:%s" % (os.path.dirname(L.XL), os.environ["PATH"])
    return L.xl("-vvv", "migrate", "-s", "env", L.NAME, path,
                timeout=L.SLOW * 3)


def gone(dom, what):
    B.gone_checks(dom, what)
    L.check(L.wait_for(lambda: not N.netbacks(dom), 10) and
            "vif%d.0" % dom not in CD.taps() and
            not L.xs_exists("/local/domain/%d" % dom),
            "%s: no netback, tap or node of domain %d" % (what, dom),
            "%s %s" % (N.netbacks(dom), CD.taps()))


def works(con, dom, tag, sum_a):
    """The guest answers, reads its 64 MiB, writes, pings."""
    con.run("echo 3 > /proc/sys/vm/drop_caches; echo dr-$((4*4))", "dr-16",
            L.SLOW)
    got = B.guest_md5(con, "dd if=/dev/vda bs=1M skip=1 count=%d "
                      "2>/dev/null" % DATA_MIB, "rd" + tag)
    L.check(got == sum_a, "%s: the guest reads its 64 MiB again" % tag,
            "%s; %s" % (got, con.tail(600)))
    L.check(con.run("echo %s | dd of=/dev/vdb bs=512 seek=4 conv=fsync "
                    "2>/dev/null && echo w-%s-$((6*6))" % (tag, tag),
                    "w-%s-36" % tag, L.SLOW),
            "%s: it writes its qcow2 disk" % tag, con.tail(600))
    L.check(con.run("ping -c 3 -W 10 10.99.0.1 >/dev/null && "
                    "echo p-%s-$((5*5))" % tag, "p-%s-25" % tag, L.SLOW),
            "%s: it pings the host through its NIC" % tag, con.tail(400))
    rc, out, err = L.xl("block-list", L.NAME)
    rows = [ln.split() for ln in out.splitlines()]
    L.check(rc == 0 and [r[0] for r in rows[1:]] == [str(XVDA), str(XVDB)]
            and all(r[3] == "4" for r in rows[1:]),
            "%s: xl block-list shows xvda and xvdb, state 4" % tag, out)
    L.check(CD.taps() == ["vif%d.0" % dom],
            "%s: one tap, vif%d.0" % (tag, dom), str(CD.taps()))


def scenario():
    if not shutil.which("qemu-storage-daemon"):
        print("SKIP: no qemu-storage-daemon (apt-get install "
              "qemu-system-common)")
        sys.exit(77)
    lock = open(L.BOOT_LOCK, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    raw = os.path.join(L.TMP, "mig-raw.img")
    qcow = os.path.join(L.TMP, "mig.qcow2")
    shutil.copy(os.path.join(L.GUEST, "disk.img"), raw)
    os.truncate(raw, 128 * MIB)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", qcow,
                    "%dM" % (DATA_MIB + 16)], check=True)
    cfg = CD.write_cfg(["%s,raw,xvda,rw" % raw, "%s,qcow2,xvdb,rw" % qcow],
                       name=L.NAME)
    t0 = time.monotonic()
    rc, out, err = L.xl("create", cfg)
    L.check(rc == 0, "xl create on the core (xvda raw, xvdb qcow2, a vif)",
            "rc=%d %s%s" % (rc, out, err), fatal=True)
    dom = L.domid()
    con = L.console(L.NAME, BOOT_LIMIT)
    try:
        L.reach_shell(con, t0, "boot")
        sum_a = B.write_and_check(con, "vda", "a")
        L.check(sum_a and B.md5_of(raw, 1, DATA_MIB) == sum_a,
                "the host finds the guest's 64 MiB in the raw image")
        L.check(con.run("ip link set eth0 up && ip addr add %s/24 dev "
                        "eth0 && ping -c 2 -W 10 10.99.0.1 >/dev/null && "
                        "echo up-$((3*3))" % CD.IP, "up-9", L.SLOW),
                "the guest pings the host", con.tail(400))

        # ---- live migration while the guest reads its disk and fills
        # its memory
        con.run("dd if=/dev/urandom of=/tmp/m bs=1M count=32 2>/dev/null; "
                "md5sum /tmp/m > /tmp/m.md5; echo mm-$((2*9))", "mm-18",
                L.SLOW)
        con.run("echo 3 > /proc/sys/vm/drop_caches; (dd if=/dev/vda bs=1M "
                "skip=1 count=%d 2>/dev/null | md5sum > /tmp/d.md5; "
                "dd if=/dev/urandom of=/tmp/m2 bs=1M count=16 2>/dev/null;"
                " md5sum /tmp/m2 > /tmp/m2.md5) & echo bg-$((3*7))"
                % DATA_MIB, "bg-21", 20)
        con.close()
        t = time.monotonic()
        rc, out, err = migrate()
        secs = time.monotonic() - t
        saved = re.findall(r"saved: (\d+) pages in (\d+) rounds, (\d+) ms, "
                           r"(\d+) ms paused", err)
        how = (" (%s pages, %s rounds, %s ms paused)"
               % (saved[-1][0], saved[-1][1], saved[-1][3])) if saved else ""
        L.check(rc == 0 and "Migration successful" in out + err,
                "xl migrate (to this host) with the guest's disks and NIC, "
                "in %.1f s%s" % (secs, how),
                "rc=%d %s%s" % (rc, out[-1500:], err[-3000:]), fatal=True)
        new = L.domid()
        L.check(new is not None and new != dom,
                "the guest runs as domain %s, no longer %d" % (new, dom),
                fatal=True)
        rc, out, err = L.xl("list")
        L.check(len([ln for ln in out.splitlines()
                     if ln.startswith(L.NAME)]) == 1 and
                "migratedaway" not in out and "incoming" not in out,
                "xl list: one %s" % L.NAME, out)
        gone(dom, "after the migration")
        con = L.console(L.NAME, BOOT_LIMIT)
        L.check(con.run("echo back-$((8*8))", "back-64", L.SLOW),
                "the guest answers on its console after the migration",
                con.tail(400), fatal=True)
        con.run("wait; echo dsum-$(cut -c1-32 /tmp/d.md5)-$((6*7))",
                "-42", L.SLOW)
        got = re.findall(r"dsum-([0-9a-f]{32})-42", con.tail(400))
        L.check(got and got[-1] == sum_a,
                "the disk read made during the migration has the right md5 "
                "(the backend's writes into guest memory moved)",
                "want %s; %s" % (sum_a, con.tail(400)))
        L.check(con.run("md5sum -c /tmp/m.md5 /tmp/m2.md5 >/dev/null && "
                        "echo mem-$((9*9))", "mem-81", L.SLOW),
                "the guest's memory came over whole (md5 of 48 MiB of page "
                "cache written before and during the migration)",
                con.tail(400))
        works(con, new, "migrated", sum_a)

        # ---- save and restore, the same devices
        dom = new
        con.close()
        image = os.path.join(L.TMP, "mig.save")
        rc, out, err = L.xl("save", L.NAME, image, timeout=L.SLOW * 2)
        L.check(rc == 0 and L.domid() is None,
                "xl save: the domain is gone, its image written",
                "rc=%d %s%s" % (rc, out, err), fatal=True)
        gone(dom, "after xl save")
        rc, out, err = L.xl("restore", image, timeout=L.SLOW * 2)
        L.check(rc == 0 and L.domid() is not None,
                "xl restore", "rc=%d %s%s" % (rc, out, err), fatal=True)
        dom = L.domid()
        con = L.console(L.NAME, BOOT_LIMIT)
        L.check(con.run("echo again-$((9*8))", "again-72", L.SLOW),
                "the restored guest answers on its console", con.tail(400),
                fatal=True)
        works(con, dom, "restored", sum_a)

        rc, out, err = L.xl("destroy", L.NAME)
        L.check(rc == 0, "xl destroy", "rc=%d %s%s" % (rc, out, err))
        con.close()
        gone(dom, "after xl destroy")
    finally:
        con.close()
        if L.failures:
            backend_logs()


def backend_logs():
    """The backends' logs, for a failure's reader."""
    d = os.path.join(os.environ["XENOLITH_RUNDIR"], "backends")
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        if name.endswith(".log"):
            with open(os.path.join(d, name), errors="replace") as f:
                print("---- tail of %s\n%s" % (name, "".join(
                    f.readlines()[-15:])))


if __name__ == "__main__":
    L.main(scenario)

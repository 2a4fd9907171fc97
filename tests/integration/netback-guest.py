#!/usr/bin/env python3
"""netback-guest.py - the guest half of netback.sh: a real Debian guest
under qemu (TCG) whose two NICs xenolith-netback serves over vhost-user.

  the guest's driver accepts the offloads: both taps get checksum and
  TCP segmentation offload (as ethtool -k shows them), and get them
  again whenever the backend's worker, or the whole backend, is killed
  and qemu reconnects;
  eth0 (vif5.0 on xenbr0, 10.99.0.0/24): ping, then 64 MiB of random
  data host -> guest (busybox nc listening) and back guest -> host
  (busybox httpd), the md5 checked on each side and the MB/s printed;
  eth1 (vif5.1 on xenbr1, 10.99.1.0/24, "rate" 25000 bytes per 50 ms:
  500 kB/s): 1 MiB guest -> host takes about 2 s;
  xenstored killed: the backend sees it go and the packets go on;
  xenstored started again from its snapshot: the backend reconnects;
  kill -9 of the backend's worker: its supervisor starts another, the
  taps (persistent while their vifs exist) stay on their bridges, the
  guest's qemu reconnects by itself and ping works again; kill -9 of the
  whole backend: a new one started by hand takes the taps over
  (connected anew in xenstore), qemu reconnects, ping works again;
  the domain's /local/domain/5 removed: the backend exits 0, its taps,
  sockets and directory gone.

Environment (netback.sh): XS (the xenstore tool), NETBACK_CMD (the
backend's command line, maybe under valgrind), NB_PID (the running
backend), NB_LOG (its log), GUEST (the fixture's directory), QEMU, T,
XENOLITH_RUNDIR, XSD_PID and XENSTORED_BIN (xenstored, which keeps its
store in T/store.snapshot).  Prints "ok: ..." / "FAIL: ..."; exit status 0, or 1
on failures.
"""
import hashlib
import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
import urllib.request

sys.dont_write_bytecode = True    # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vufront as V  # noqa: E402
from vufront import (check, fail, if_offloads, ok, stat,  # noqa: E402,F401
                     wait_for)
from vufront import worker_of as worker  # noqa: E402

E = os.environ
XS = E["XS"]
NETBACK_CMD = shlex.split(E["NETBACK_CMD"])
GUEST = E["GUEST"]
T = E["T"]
DOMID = 5
DIR = os.path.join(E["XENOLITH_RUNDIR"], "backends", "vif-%d" % DOMID)
MACS = ["00:16:3e:00:00:05", "00:16:3e:00:01:05"]
MIB = 1 << 20
XSD = [None]                    # the xenstored this script starts


def xs_read(path):
    r = subprocess.run([XS, "read", path], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def xs(*args):
    subprocess.run([XS] + list(args), check=True, capture_output=True)


def be(devid, key):
    return xs_read("/local/domain/0/backend/vif/%d/%d/%s" %
                   (DOMID, devid, key))


def link_exists(name):
    return subprocess.run(["ip", "link", "show", name],
                          capture_output=True).returncode == 0


def gone(pid):
    """Whether pid has exited (a zombie counts: its parent reaps it)."""
    st = stat(pid)
    return st is None or st[0] == "Z"


def tap_state(name):
    """(ifindex, bridge) of a tap, or None when it is gone.  From ip:
    /sys shows the network namespace that mounted it, not ours."""
    r = subprocess.run(["ip", "-o", "link", "show", name],
                       capture_output=True, text=True)
    m = re.match(r"(\d+): ", r.stdout)
    if r.returncode or not m:
        return None
    b = re.search(r" master (\S+)", r.stdout)
    return int(m.group(1)), b.group(1) if b else None


def log_text():
    with open(E["NB_LOG"], errors="replace") as f:
        return f.read()


class Console:
    """The guest's ttyS0 on qemu's stdio: a reader thread keeps what it
    prints; run() sends a command and waits for its exit status."""

    def __init__(self, argv):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT,
                                  start_new_session=True)
        self.buf = b""
        self.pos = 0
        self.tag = 0
        self.cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            b = os.read(self.p.stdout.fileno(), 65536)
            with self.cond:
                if not b:
                    self.buf += b"\n[qemu's output closed]\n"
                    self.cond.notify_all()
                    return
                self.buf += b
                self.cond.notify_all()

    def expect(self, regex, secs):
        end = time.monotonic() + secs
        with self.cond:
            while True:
                m = re.compile(regex).search(self.buf, self.pos)
                if m:
                    self.pos = m.end()
                    return m
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def send(self, line):
        self.p.stdin.write(line.encode() + b"\n")
        self.p.stdin.flush()

    def start(self, cmd):
        """Sends cmd followed by its exit-status marker; the tag."""
        self.tag += 1
        self.send('%s; echo "#%d:$?#"' % (cmd, self.tag))
        return self.tag

    def wait(self, tag, secs):
        m = self.expect(rb"#%d:(\d+)#" % tag, secs)
        return int(m.group(1)) if m else None

    def run(self, cmd, secs=30):
        """(exit status or None on timeout, what it printed)."""
        start = self.pos
        st = self.wait(self.start(cmd), secs)
        return st, self.buf[start:self.pos].decode(errors="replace")

    def tail(self, n=1500):
        return self.buf[-n:].decode(errors="replace")

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def qemu_argv():
    argv = [E["QEMU"], "-accel", "tcg", "-cpu", "max", "-m", "256",
            "-object", "memory-backend-memfd,id=ram,size=256M,share=on",
            "-machine", "pc,memory-backend=ram", "-nographic",
            "-nodefaults", "-serial", "stdio",
            "-kernel", os.path.join(GUEST, "vmlinuz"),
            "-initrd", os.path.join(GUEST, "initrd.gz"),
            "-append", "console=ttyS0 quiet"]
    # vectors=0: no MSI-X.  Debian 12's qemu (7.2) dereferences its
    # KVM-only irqfd table when a vhost-user NIC starts with MSI-X under
    # TCG (a segfault in virtio_pci_set_guest_notifiers); with INTx it
    # relays the call eventfds itself.
    for devid, mac in enumerate(MACS):
        argv += ["-chardev", "socket,id=vn%d,path=%s/%d.sock,reconnect=1"
                 % (devid, DIR, devid),
                 "-netdev", "vhost-user,id=n%d,chardev=vn%d" % (devid, devid),
                 "-device", "virtio-net-pci,netdev=n%d,mac=%s,vectors=0"
                 % (devid, mac)]
    return argv


def guest_ifaces(con):
    """{mac: ifname} as the guest sees them."""
    st, out = con.run("for i in /sys/class/net/eth*; do "
                      "echo IF ${i##*/} $(cat $i/address); done")
    return dict((m.group(2), m.group(1)) for m in
                re.finditer(r"IF (eth\d+) ([0-9a-f:]{17})", out))


def ping(con, addr, secs):
    """Pings until a reply or secs pass; True on a reply."""
    end = time.monotonic() + secs
    while time.monotonic() < end:
        st, out = con.run("ping -c 1 -W 2 %s" % addr, 10)
        if st == 0:
            return True
    return False


def host_to_guest(con, data, addr, port):
    """data to the guest's /tmp/in; (seconds, the guest's md5) or None."""
    tag = con.start("nc -l -p %d </dev/null >/tmp/in" % port)
    s = None
    end = time.monotonic() + 20
    while s is None and time.monotonic() < end:
        try:
            s = socket.create_connection((addr, port), timeout=5)
        except OSError:
            time.sleep(0.2)
    if s is None:
        return None
    s.settimeout(120)
    t0 = time.monotonic()
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    st = con.wait(tag, 120)
    secs = time.monotonic() - t0
    s.close()
    if st != 0:
        return None
    st, out = con.run("md5sum /tmp/in", 60)
    m = re.search(r"\b([0-9a-f]{32})\b", out)
    return secs, m.group(1) if m else out


def http_get(url):
    """A file of the guest's httpd; (seconds, bytes, md5) or None."""
    h = hashlib.md5()
    n = 0
    t0 = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=120) as r:
            while True:
                b = r.read(1 << 20)
                if not b:
                    break
                h.update(b)
                n += len(b)
    except OSError:
        return None
    return time.monotonic() - t0, n, h.hexdigest()


def connected_since(mark):
    """How many vhost-user connections the log shows after offset mark."""
    return log_text()[mark:].count("vhost-user frontend connected")


def offloads_on(what):
    """Both taps have TSO and checksum offload (the guest accepted
    GUEST_CSUM and GUEST_TSO4/6: netback's TUNSETOFFLOAD)."""
    taps = ("vif5.0", "vif5.1")
    check(wait_for(lambda: all(if_offloads(t) == (1, 1) for t in taps),
                   15),
          "%s: the taps have TSO and checksum offload on" % what,
          "ethtool: %r" % [if_offloads(t) for t in taps])


def scenario(con, nb_pid):
    check(con.expect(rb"XENOLITH-GUEST-READY", 90) is not None,
          "the guest boots", con.tail())
    con.expect(rb"# ", 10)
    check(wait_for(lambda: connected_since(0) >= 2, 10),
          "qemu is connected to both sockets", log_text()[-800:])
    ifs = guest_ifaces(con)
    if not check(all(m in ifs for m in MACS),
                 "the guest has both NICs with their MACs: %s" % ifs):
        return nb_pid, None
    eth0, eth1 = ifs[MACS[0]], ifs[MACS[1]]
    st, out = con.run("ip link set %s up && ip addr add 10.99.0.2/24 dev "
                      "%s && ip link set %s up && ip addr add 10.99.1.2/24 "
                      "dev %s" % (eth0, eth0, eth1, eth1))
    check(st == 0, "the guest's addresses are set", out)
    check(ping(con, "10.99.0.1", 20), "ping from the guest to the host "
          "over vif5.0", con.tail())
    st, out = con.run("ping -c 3 10.99.0.1", 20)
    check(st == 0 and "3 packets received" in out, "ping -c 3: 3 replies",
          out)
    check(ping(con, "10.99.1.1", 20), "ping over vif5.1", con.tail())
    offloads_on("the guest's driver accepted the offloads")

    # ---- 64 MiB each way
    data = os.urandom(64 * MIB)
    md5 = hashlib.md5(data).hexdigest()
    r = host_to_guest(con, data, "10.99.0.2", 5001)
    if check(r is not None and r[1] == md5, "64 MiB host -> guest, md5 "
             "%s" % md5, "%r, guest console: %s" % (r, con.tail())):
        ok("host -> guest: %.1f MB/s (64 MiB in %.2f s)"
           % (64 * MIB / r[0] / 1e6, r[0]))
    # Back with busybox httpd, which sends with sendfile: busybox nc
    # writes 1 KiB at a time, which caps a TCG guest at 2 to 3 MB/s.
    st, out = con.run("httpd -p 8080 -h /tmp && "
                      "head -c 1048576 /tmp/in >/tmp/1m")
    check(st == 0, "the guest's httpd serves /tmp", out)
    r = http_get("http://10.99.0.2:8080/in")
    if check(r is not None and r[1] == 64 * MIB and r[2] == md5,
             "64 MiB guest -> host, md5 %s" % md5, "%r" % (r,)):
        ok("guest -> host: %.1f MB/s (64 MiB in %.2f s)"
           % (64 * MIB / r[0] / 1e6, r[0]))

    # ---- the rate limit on vif5.1: 25000 bytes per 50 ms, 500 kB/s of
    # frames (the guest sends faster).  With TSO a frame is up to 64 KiB
    # and carries nearly that much payload; the last one goes on credit
    # (a frame bigger than the bucket goes once it is full), so 1 MiB in
    # 16 such frames reads up to 16/15 of the rate: 533 kB/s, and some
    # slack for the clock.
    r = http_get("http://10.99.1.2:8080/1m")
    if r is None or r[1] != MIB:
        fail("1 MiB over the rate-limited vif5.1: %r" % (r,))
    else:
        kbs = MIB / r[0] / 1e3
        check(380 <= kbs <= 555, "rate limit: 1 MiB guest -> host over "
              "vif5.1 at %.0f kB/s (limit 500 kB/s of frames)" % kbs)
    con.run("rm /tmp/in /tmp/1m")

    # ---- xenstored dies: the packets go on; it comes back from its
    # snapshot and the backend with it
    mark = len(log_text())
    xsd = int(E["XSD_PID"])
    os.kill(xsd, 9)
    check(wait_for(lambda: gone(xsd), 5), "xenstored is killed")
    check(wait_for(lambda: "lost xenstore" in log_text()[mark:], 5),
          "the backend sees xenstore go", log_text()[mark:])
    t0 = time.monotonic()
    ok1 = ping(con, "10.99.0.1", 3)
    check(ok1 and time.monotonic() - t0 < 3, "without xenstored the "
          "packets go on (a ping in %.1f s)" % (time.monotonic() - t0))
    xsd_log = open(os.path.join(T, "xenstored2.out"), "ab")
    XSD[0] = subprocess.Popen([E["XENSTORED_BIN"], "-N", "-L",
                               os.path.join(T, "xenstored.log"),
                               "--snapshot",
                               os.path.join(T, "store.snapshot")],
                              stdout=xsd_log, stderr=subprocess.STDOUT)
    xsd_log.close()
    check(wait_for(lambda: "xenstore is back" in log_text()[mark:], 10),
          "xenstored back from its snapshot: the backend reconnects",
          log_text()[mark:])
    check(be(0, "hotplug-status") == "connected" and
          be(1, "hotplug-status") == "connected",
          "and the vifs are still connected in the store")

    # ---- kill -9 of the worker: its supervisor starts another, the taps
    # (persistent) stay on their bridges, qemu reconnects
    taps = [tap_state("vif5.0"), tap_state("vif5.1")]
    check(taps[0] and taps[0][1] == "xenbr0" and taps[1] and
          taps[1][1] == "xenbr1", "the taps are on their bridges: %r"
          % taps)
    w = worker(nb_pid)
    mark = len(log_text())
    if w is None:
        fail("no worker under the backend's supervisor (pid %d)" % nb_pid)
    else:
        os.kill(w, 9)
        check(wait_for(lambda: worker(nb_pid) not in (None, w), 15),
              "kill -9 of the worker (pid %d): its supervisor starts "
              "another (pid %r)" % (w, worker(nb_pid)), log_text()[mark:])
    check(wait_for(lambda: connected_since(mark) >= 2, 15),
          "the guest's qemu reconnected to both sockets",
          log_text()[mark:])
    check([tap_state("vif5.0"), tap_state("vif5.1")] == taps,
          "the taps are the same, still on their bridges")
    check(ping(con, "10.99.0.1", 30), "ping works again after the "
          "worker's restart", con.tail())
    check(ping(con, "10.99.1.1", 20), "and over vif5.1")
    offloads_on("after the worker's restart")

    # ---- kill -9 of the whole backend (its worker goes with it), a new
    # one started by hand takes the taps over
    w = worker(nb_pid)
    os.kill(nb_pid, 9)
    check(wait_for(lambda: gone(nb_pid) and (w is None or gone(w)), 10),
          "kill -9 of the backend: its worker goes with it")
    check([tap_state("vif5.0"), tap_state("vif5.1")] == taps,
          "the taps stay meanwhile")
    for devid in (0, 1):
        xs("rm", "/local/domain/0/backend/vif/%d/%d/hotplug-status"
           % (DOMID, devid))
    mark = len(log_text())
    log = open(E["NB_LOG"], "ab")
    nb = subprocess.Popen(NETBACK_CMD + ["--domid", str(DOMID)],
                          stdout=log, stderr=subprocess.STDOUT)
    log.close()
    if not check(wait_for(lambda: be(0, "hotplug-status") == "connected" and
                          be(1, "hotplug-status") == "connected", 30),
                 "a new backend (pid %d) serves both vifs again" % nb.pid,
                 log_text()[mark:]):
        return nb.pid, nb
    check(log_text()[mark:].count("(kept from before)") == 2,
          "it took the taps over", log_text()[mark:])
    check(wait_for(lambda: connected_since(mark) >= 2, 15),
          "the guest's qemu reconnected to both sockets",
          log_text()[mark:])
    check(ping(con, "10.99.0.1", 30), "ping works again", con.tail())
    check(ping(con, "10.99.1.1", 20), "and over vif5.1")
    offloads_on("after the new backend took the taps over")
    return nb.pid, nb


def main():
    nb_pid = int(E["NB_PID"])
    nb = None
    con = Console(qemu_argv())
    try:
        nb_pid, nb = scenario(con, nb_pid)
        if nb is None:
            return
        # ---- the domain goes
        xs("rm", "/local/domain/%d" % DOMID)
        try:
            st = nb.wait(30)
        except subprocess.TimeoutExpired:
            st = None
        check(st == 0, "domain gone: the backend exits 0 (with qemu still "
              "connected)", "status %r: %s" % (st, log_text()[-800:]))
        check(not link_exists("vif5.0") and not link_exists("vif5.1"),
              "domain gone: the taps are gone")
        check(not os.path.exists(DIR), "domain gone: %s is gone" % DIR,
              str(os.listdir(DIR)) if os.path.isdir(DIR) else "")
    finally:
        con.kill()
        if XSD[0] is not None:
            XSD[0].kill()
            XSD[0].wait()
        if nb is not None and nb.poll() is None:
            nb.kill()
            nb.wait()
        elif nb is None and not gone(nb_pid):
            os.kill(nb_pid, 9)
    if V.failures:
        print("---- the guest's console, its end:\n" + con.tail(3000))


if __name__ == "__main__":
    main()
    sys.exit(V.exit_status())

#!/usr/bin/env python3
"""io.py - what a guest gets from Xenolith's backends against qemu's own
devices, the host's direct I/O on the same file as the limit.

Kinds (one PVH guest each, in qemu; RUNS boots per kind, alternating):
  backend: xvdb served by xenolith-blkback (qemu-storage-daemon,
           vhost-user-blk), the vif by xenolith-netback (vhost-user-net
           on its tap);
  qemu:    xvdb with backendtype=qdisk (qemu's virtio-blk on the file,
           as qemu-dm configures it: aio=threads, writeback cache), the
           vif type=ioemu with model virtio-net (qemu's tap).
In the guest, busybox dd with O_DIRECT on /dev/vda (xvdb, the only
disk), timed by busybox time: 1 MiB sequential reads and writes (16
passes over 128 MiB: time has 10 ms steps), 4 KiB reads and writes one
at a time (32768; busybox has no random-I/O tool, so the 4 KiB figures
are queue-depth-1 requests at sequential offsets), and 256 MiB from the
host to the guest's nc over the bridge, with the CPU time it cost the
host's side of the guest: its qemu (every thread: the vCPU's, and the
main loop's, which moves the packets of qemu's own NIC) and the
backend's processes (xenolith-netback's, of this run), in seconds.  On
a shared machine the MB/s follow how much CPU the vCPU got; the
seconds much less.  The host: GNU dd with O_DIRECT on the image file, the same
sizes.  The best run counts (the least CPU for the seconds).

Environment (run.sh sets it): XL_BIN, DM_GUEST, BENCH_TMP; RUNS;
PARTS ("disk,net" by default; "net" alone skips the disk figures and
the host's).
"""
import os
import re
import socket
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True    # nothing written into the source tree
sys.path.insert(0, os.path.join(here, "..", "..", "tests", "integration",
                                "dm"))
from console import Console  # noqa: E402

XL = os.environ["XL_BIN"]
GUEST = os.environ["DM_GUEST"]
TMP = os.environ["BENCH_TMP"]
RUNS = int(os.environ.get("RUNS", "2"))
PARTS = set(os.environ.get("PARTS", "disk,net").split(","))
MIB = 1 << 20
IMAGE_MIB = 256
SEQ_MIB = 128
SEQ_LOOPS = 16          # passes over the 128 MiB: busybox time has 10 ms
SMALL_OPS = 32768
NET_MIB = 256
GUEST_IP = "10.99.0.2"
LIMIT = 600.0
NET_CPU = "net CPU s (qemu+backend)"
LOWER = {NET_CPU}               # figures where less is better
HZ = os.sysconf("SC_CLK_TCK")


def cfg_for(kind, image):
    disk = "%s,raw,xvdb,rw" % image
    vif = "bridge=xenbr0,mac=00:16:3e:5a:04:0a"
    if kind == "qemu":
        disk += ",backendtype=qdisk"
        vif += ",type=ioemu,model=virtio-net"
    lines = ['name = "io-%s"' % kind, 'type = "pvh"', "memory = 320",
             "vcpus = 1", 'kernel = "%s/vmlinuz"' % GUEST,
             'ramdisk = "%s/initrd.gz"' % GUEST,
             'cmdline = "console=ttyS0 quiet"', 'on_reboot = "destroy"',
             'disk = [ "%s" ]' % disk, 'vif = [ "%s" ]' % vif]
    path = os.path.join(TMP, "io-%s.cfg" % kind)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


class Guest:
    def __init__(self, kind, image):
        self.name = "io-" + kind
        p = subprocess.run([XL, "create", cfg_for(kind, image)],
                           capture_output=True, text=True)
        if p.returncode:
            raise RuntimeError("xl create %s: %s" % (kind, p.stderr))
        self.con = Console([XL, "console", self.name])
        deadline = time.monotonic() + 150
        # asked until the shell answers (it may have been up already)
        while not self.con.run("echo up-$((40+2))", "up-42", 3):
            if time.monotonic() > deadline:
                raise RuntimeError("%s: no shell: %s"
                                   % (self.name, self.con.tail(600)))
        self.n = 0

    def run(self, cmd, marker, secs):
        self.con.send(cmd + "\r")
        if self.con.wait(marker, secs) is None:
            raise RuntimeError("%s: no %s; console: %s"
                               % (self.name, marker, self.con.tail(600)))

    def timed(self, cmd):
        """Seconds busybox time gives for cmd in the guest (which must
        succeed)."""
        self.n += 1
        tag = "t%d" % self.n
        # computed by the shell: the echo of the command cannot match
        cmd = "%s || echo FAIL$((0))ED-%s" % (cmd, tag)
        self.run("time sh -c '%s' 2>&1 | sed -n 's/^real[^0-9]*\\([0-9]*\\)m"
                 " *\\([0-9.]*\\)s/%s=\\1:\\2=/p'; echo done-%s-$((1+1))"
                 % (cmd, tag, tag), "done-%s-2" % tag, LIMIT)
        m = re.findall(r"%s=(\d+):([\d.]+)=" % tag, self.con.tail(2000))
        secs = int(m[-1][0]) * 60 + float(m[-1][1]) if m else 0
        if secs <= 0 or "FAIL0ED-%s" % tag in self.con.tail(2000):
            raise RuntimeError("%s: no time for %s: %s"
                               % (self.name, cmd, self.con.tail(600)))
        return secs

    def close(self):
        self.con.close()
        subprocess.run([XL, "destroy", self.name], capture_output=True)


def disk_figures(g):
    r = {}
    loop = "for i in $(seq %d); do %%s || exit 1; done" % SEQ_LOOPS
    s = g.timed(loop % ("dd if=/dev/vda of=/dev/null bs=1M count=%d "
                        "iflag=direct" % SEQ_MIB))
    r["seq read MB/s"] = SEQ_LOOPS * SEQ_MIB * MIB / s / 1e6
    s = g.timed(loop % ("dd if=/dev/zero of=/dev/vda bs=1M count=%d "
                        "oflag=direct" % SEQ_MIB))
    r["seq write MB/s"] = SEQ_LOOPS * SEQ_MIB * MIB / s / 1e6
    s = g.timed("dd if=/dev/vda of=/dev/null bs=4k count=%d iflag=direct"
                % SMALL_OPS)
    r["4k read IOPS"] = SMALL_OPS / s
    s = g.timed("dd if=/dev/zero of=/dev/vda bs=4k count=%d oflag=direct"
                % SMALL_OPS)
    r["4k write IOPS"] = SMALL_OPS / s
    return r


def cpu_secs(path):
    """utime + stime of a /proc stat file, in seconds (0 once gone)."""
    try:
        with open(path) as f:
            st = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(st[11]) + int(st[12])) / HZ


def net_cpu():
    """CPU seconds so far of this run's guest and network backend: the
    qemu whose command line names BENCH_TMP, and the xenolith-netback
    processes whose XENOLITH_RUNDIR is ours."""
    total = 0.0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            if "xenolith-netback" in cmd:
                with open("/proc/%s/environ" % d, "rb") as f:
                    env = f.read().split(b"\0")
                if ("XENOLITH_RUNDIR=%s/run" % TMP).encode() in env:
                    total += cpu_secs("/proc/%s/stat" % d)
            elif "qemu-system" in cmd and TMP in cmd:
                total += cpu_secs("/proc/%s/stat" % d)
        except OSError:
            continue
    return total


def net_figure(g):
    g.run("ip link set eth0 up && ip addr add %s/24 dev eth0; echo ip-$((2*"
          "9))" % GUEST_IP, "ip-18", 30)
    g.run("ping -c 2 -W 10 10.99.0.1 >/dev/null; echo pg-$((3*7))", "pg-21",
          60)
    g.con.send("nc -l -p 5001 > /dev/null; echo got-$((5*9))\r")
    time.sleep(1)
    data = os.urandom(NET_MIB * MIB)
    cpu0 = net_cpu()
    t0 = time.monotonic()
    end = t0 + 20
    while True:
        try:
            s = socket.create_connection((GUEST_IP, 5001), timeout=10)
            break
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.2)
            t0 = time.monotonic()
    with s:
        s.settimeout(LIMIT)
        s.sendall(data)
    if g.con.wait("got-45", LIMIT) is None:
        raise RuntimeError("the guest's nc did not finish: "
                           + g.con.tail(600))
    secs = time.monotonic() - t0
    return {"net host->guest MB/s": NET_MIB * MIB / secs / 1e6,
            NET_CPU: net_cpu() - cpu0}


def host_figures(image):
    def dd(*args, loops=1):
        t0 = time.monotonic()
        for _ in range(loops):
            subprocess.run(["dd"] + list(args), check=True,
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        return time.monotonic() - t0
    r = {}
    r["seq read MB/s"] = SEQ_LOOPS * SEQ_MIB * MIB / dd(
        "if=" + image, "of=/dev/null", "bs=1M", "count=%d" % SEQ_MIB,
        "iflag=direct", loops=SEQ_LOOPS) / 1e6
    r["seq write MB/s"] = SEQ_LOOPS * SEQ_MIB * MIB / dd(
        "if=/dev/zero", "of=" + image, "bs=1M", "count=%d" % SEQ_MIB,
        "oflag=direct", "conv=notrunc", loops=SEQ_LOOPS) / 1e6
    r["4k read IOPS"] = SMALL_OPS / dd(
        "if=" + image, "of=/dev/null", "bs=4k", "count=%d" % SMALL_OPS,
        "iflag=direct")
    r["4k write IOPS"] = SMALL_OPS / dd(
        "if=/dev/zero", "of=" + image, "bs=4k", "count=%d" % SMALL_OPS,
        "oflag=direct", "conv=notrunc")
    return r


def best(into, got):
    for k, v in got.items():
        into[k] = (min if k in LOWER else max)(into.get(k, v), v)


def main():
    image = os.path.join(TMP, "io.img")
    with open(image, "wb") as f:
        for _ in range(IMAGE_MIB):
            f.write(os.urandom(MIB))
    figures = {"backend": {}, "qemu": {}, "host": {}}
    for run in range(RUNS):
        for kind in (("backend", "qemu") if run % 2 == 0
                     else ("qemu", "backend")):
            g = Guest(kind, image)
            try:
                got = disk_figures(g) if "disk" in PARTS else {}
                if "net" in PARTS:
                    got.update(net_figure(g))
            finally:
                g.close()
            print("run %d %-8s %s" % (run + 1, kind, "  ".join(
                "%s %.1f" % kv for kv in got.items())), flush=True)
            best(figures[kind], got)
        if "disk" in PARTS:
            best(figures["host"], host_figures(image))
    print()
    print("%-24s %8s %10s %10s %9s %9s" % ("", "backends", "qemu's",
                                            "host", "vs qemu", "vs host"))
    for k in figures["backend"]:
        b, q = figures["backend"][k], figures["qemu"].get(k, 0)
        h = figures["host"].get(k)
        if k in LOWER:          # how many times less ours takes
            ratio = q / b if b else 0
        else:
            ratio = b / q if q else 0
        print("%-24s %8.1f %10.1f %10s %8.2fx %9s" % (
            k, b, q, "%.1f" % h if h else "-", ratio,
            "%.2fx" % (b / h) if h else "-"))
    print()
    print("targets (issue 11): at least qemu's own devices (vs qemu >= "
          "1.00x), disk at least 0.8x the host's direct I/O; for %s "
          "\"vs qemu\" is qemu's over ours" % NET_CPU)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""migrate.py - live migration of a tiny guest by xl (on the core) and by
qemu (qemu's own migration), total time and downtime, through the same
kind of link: socat over TCP on this network namespace's loopback.

Guests: test-pvh-counter ("idle": prints lines, writes almost no memory)
and test-pvh-dirty ("dirty": rewrites DIRTY_MIB MiB, one store per page,
as fast as it can, and checks every page it rewrites).  Sizes: SIZES
(MiB).  One migration each.

xl:   xl -vvv migrate -s "socat - TCP:127.0.0.1:PORT #" NAME 127.0.0.1
      with `socat TCP-LISTEN:PORT,bind=127.0.0.1 SYSTEM:'xl
      migrate-receive'` listening (Ganeti's shape, on one host).
qemu: the same guest ELF booted by qemu-system-x86_64 -kernel (PVH),
      -accel kvm, migrated with QMP migrate to a second qemu started with
      -incoming tcp:127.0.0.1:PORT; max-bandwidth raised so that, like
      xl, only the link limits it (downtime-limit left at its default).

Figures per run:
  total     wall time of `xl migrate` / qemu's query-migrate total-time
  paused    libxl's "ms paused" (the last round, guest paused, at the
            sender) / qemu's own "downtime"
  guest     the guest's downtime as its console shows it: the gap between
            the last byte from the source and the first from the target,
            less the guest's usual gap between bytes (median, the second
            before).  Both restore the guest's TSC, so the guest's clock
            does not see the time it was stopped: the gap is its view.
  link      bytes the loopback carried (lo tx_bytes, headers included)
  ideal     link / the link's bandwidth, measured right before each
            migration (the same socat, pipes and TCP: a bulk copy of
            BW_MIB MiB, best of two), and total / ideal
  verify    after the migration a byte typed on the guest's console makes
            the dirty guest check every word of its region (SUCCESS or
            FAILURE); the counter guest must keep counting.

Environment (run.sh sets it): XL_BIN, GUEST_DIR, BENCH_TMP, XENOLITH_RUNDIR;
SIZES (default "64 256 1024"), KINDS ("idle dirty"), STACKS ("xl qemu"),
DIRTY_MIB (16), BW_MIB (1024: the bandwidth test's size).
"""
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time

XL = os.environ["XL_BIN"]
GUESTS = os.environ["GUEST_DIR"]
TMP = os.environ["BENCH_TMP"]
RUNDIR = os.environ["XENOLITH_RUNDIR"]
SIZES = [int(s) for s in os.environ.get("SIZES", "64 256 1024").split()]
KINDS = os.environ.get("KINDS", "idle dirty").split()
STACKS = os.environ.get("STACKS", "xl qemu").split()
DIRTY_MIB = int(os.environ.get("DIRTY_MIB", "16"))
BW_MIB = int(os.environ.get("BW_MIB", "256"))
QEMU = "qemu-system-x86_64"
ADDR = "127.0.0.1"
MIB = 1 << 20
port = [47300]


def next_port():
    port[0] += 1
    return port[0]


def lo_bytes():
    """lo's transmitted bytes in this network namespace (/sys may show
    another's)."""
    with open("/proc/self/net/dev") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name.strip() == "lo":
                return int(rest.split()[8])
    raise RuntimeError("no lo in /proc/self/net/dev")


def kernel(kind):
    return os.path.join(GUESTS, "test-pvh-" +
                        ("counter" if kind == "idle" else "dirty"))


def cmdline(kind):
    return "dirty=%d" % DIRTY_MIB if kind == "dirty" else ""


class Reader:
    """A console's bytes as they arrive, each chunk with its time."""

    def __init__(self, path, deadline=30.0):
        self.chunks = []
        self.connected = None
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        end = time.monotonic() + deadline
        while True:
            try:
                self.sock.connect(path)
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.002)
        self.connected = time.monotonic()
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while True:
            try:
                b = self.sock.recv(65536)
            except OSError:
                return
            if not b:
                return
            self.chunks.append((time.monotonic(), b))

    def text(self):
        return b"".join(c for _, c in self.chunks).decode(errors="replace")

    def wait(self, pattern, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = re.search(pattern, self.text())
            if m:
                return m
            time.sleep(0.02)
        return None

    def send(self, data):
        self.sock.sendall(data)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


def usual_gap(reader, t_end, span=1.0):
    ts = [t for t, _ in reader.chunks if t_end - span <= t < t_end]
    gaps = [b - a for a, b in zip(ts, ts[1:])]
    return statistics.median(gaps) if gaps else 0.0


def guest_downtime(src, dst, t_start):
    """(downtime ms, usual gap ms) from the two consoles."""
    before = [t for t, _ in src.chunks]
    after = [t for t, _ in dst.chunks]
    if not before or not after:
        return None, None
    gap = usual_gap(src, t_start)
    return (after[0] - before[-1] - gap) * 1000, gap * 1000


def verify(kind, dst):
    """After the migration: the guest still runs and its memory is
    right."""
    if kind == "dirty":
        n = len(dst.text())
        dst.send(b"v")
        # kvm_pvm: the full check reads 16 MiB in some 25 s
        m = dst.wait(r"verify: (\d+) pages ok[^\n]*\nTest result: "
                     r"SUCCESS|Test result: FAILURE[^\n]*", 120)
        if not m:
            return "no answer: %r" % dst.text().replace(".", "")[-160:]
        if "FAILURE" in m.group(0):
            return m.group(0).strip()
        if re.search("FAILURE", dst.text()[:n]):
            return "FAILURE before the check"
        return "ok (%s pages)" % m.group(1)
    counts = [int(x) for x in re.findall(r"counter (\d+)\n", dst.text())]
    if len(counts) < 2:
        return "no counting"
    return "ok (counter %d..%d)" % (counts[0], counts[-1])


def measure_bandwidth(runs=2):
    """MiB/s of a bulk copy over the link: dd | socat -> TCP -> socat |
    cat, as xl's stream goes (the best of runs)."""
    best = 0.0
    for _ in range(runs):
        p = next_port()
        rx = subprocess.Popen(["socat", "TCP-LISTEN:%d,bind=%s,reuseaddr"
                               % (p, ADDR), "SYSTEM:cat >/dev/null"])
        time.sleep(0.2)
        t0 = time.monotonic()
        subprocess.run("dd if=/dev/zero bs=1M count=%d status=none | "
                       "socat - TCP:%s:%d" % (BW_MIB, ADDR, p),
                       shell=True, check=True)
        rx.wait(timeout=60)
        dt = time.monotonic() - t0
        best = max(best, BW_MIB / dt)
    return best


# ---------------------------------------------------------------- xl

def xl(*args, check=True):
    p = subprocess.run([XL] + list(args), capture_output=True, text=True)
    if check and p.returncode:
        raise RuntimeError("xl %s: %s" % (" ".join(args), p.stderr))
    return p


def console_path(domid):
    return os.path.join(RUNDIR, "console", "%s.sock" % domid)


def run_xl(kind, size):
    name = "mig-%s-%d" % (kind, size)
    cfg = os.path.join(TMP, name + ".cfg")
    with open(cfg, "w") as f:
        f.write('name = "%s"\ntype = "pvh"\nkernel = "%s"\nmemory = %d\n'
                'vcpus = 1\ncmdline = "%s"\n'
                % (name, kernel(kind), size, cmdline(kind)))
    xl("create", cfg)
    domid = xl("domid", name).stdout.strip()
    src = Reader(console_path(domid))
    ready = r"Test result: SUCCESS \((dirtying|counting)\)"
    if not src.wait(ready, 120):
        raise RuntimeError("%s: no verdict: %r" % (name, src.text()[-200:]))
    time.sleep(1.5)                       # the guest's usual pace
    known = set(os.listdir(os.path.join(RUNDIR, "console")))
    p = next_port()
    rx_err = open(os.path.join(TMP, name + ".receiver"), "w")
    rx = subprocess.Popen(["socat", "TCP-LISTEN:%d,bind=%s,reuseaddr"
                           % (p, ADDR), "SYSTEM:exec %s migrate-receive"
                           % XL], stderr=rx_err)
    time.sleep(0.2)
    lo0 = lo_bytes()
    t0 = time.monotonic()
    mig = subprocess.Popen([XL, "-vvv", "migrate", "-s",
                            "socat - TCP:%s:%d #" % (ADDR, p), name, ADDR],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
    dst = None
    while dst is None and mig.poll() is None:
        new = set(os.listdir(os.path.join(RUNDIR, "console"))) - known
        if new:
            dst = Reader(os.path.join(RUNDIR, "console", new.pop()))
        else:
            time.sleep(0.001)
    out = mig.communicate()[0]
    total = (time.monotonic() - t0) * 1000
    link = lo_bytes() - lo0
    rx.wait(timeout=30)
    rx_err.close()
    with open(os.path.join(TMP, name + ".sender"), "w") as f:
        f.write(out)
    if mig.returncode or "Migration successful" not in out:
        raise RuntimeError("%s: xl migrate failed:\n%s" % (name, out[-2000:]))
    if dst is None:
        dst = Reader(console_path(xl("domid", name).stdout.strip()))
    m = re.search(r"saved: (\d+) pages in (\d+) rounds, (\d+) ms, (\d+) ms "
                  r"paused", out)
    time.sleep(1.0)
    down, gap = guest_downtime(src, dst, t0)
    res = dict(stack="xl", kind=kind, size=size, total=total,
               save=int(m.group(3)), paused=int(m.group(4)),
               pages=int(m.group(1)), rounds=int(m.group(2)),
               guest=down, gap=gap, link=link, verify=verify(kind, dst))
    src.close()
    dst.close()
    xl("destroy", name, check=False)
    return res


# ---------------------------------------------------------------- qemu

class Qmp:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        end = time.monotonic() + 30
        while True:
            try:
                self.s.connect(path)
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.01)
        self.f = self.s.makefile("rwb")
        json.loads(self.f.readline())
        self.cmd("qmp_capabilities")

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.f.write(json.dumps(msg).encode() + b"\n")
        self.f.flush()
        while True:
            r = json.loads(self.f.readline())
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise RuntimeError("qmp %s: %s" % (name, r["error"]))

    def close(self):
        self.s.close()


def qemu_start(tag, kind, size, incoming=None):
    base = os.path.join(TMP, tag)
    for s in (".con", ".qmp"):
        if os.path.exists(base + s):
            os.unlink(base + s)
    argv = [QEMU, "-accel", "kvm", "-M", "pc", "-m", str(size),
            "-nodefaults", "-no-user-config", "-display", "none",
            "-kernel", kernel(kind), "-append", cmdline(kind),
            "-chardev", "socket,id=con,path=%s.con,server=on,wait=off"
            % base, "-serial", "chardev:con",
            "-qmp", "unix:%s.qmp,server=on,wait=off" % base]
    if incoming:
        argv += ["-incoming", incoming]
    err = open(base + ".err", "w")
    p = subprocess.Popen(argv, stdout=err, stderr=err)
    return p, Reader(base + ".con"), Qmp(base + ".qmp")


def run_qemu(kind, size):
    tag = "qemu-%s-%d" % (kind, size)
    p = next_port()
    sp, src, sq = qemu_start(tag + "-src", kind, size)
    dp = dst = dq = None
    try:
        ready = r"Test result: SUCCESS \((dirtying|counting)\)"
        if not src.wait(ready, 120):
            raise RuntimeError("%s: no verdict: %r"
                               % (tag, src.text()[-200:]))
        dp, dst, dq = qemu_start(tag + "-dst", kind, size,
                                 "tcp:%s:%d" % (ADDR, p))
        time.sleep(1.5)
        sq.cmd("migrate-set-parameters", **{"max-bandwidth": 1 << 40})
        params = sq.cmd("query-migrate-parameters")
        lo0 = lo_bytes()
        t0 = time.monotonic()
        sq.cmd("migrate", uri="tcp:%s:%d" % (ADDR, p))
        while True:
            info = sq.cmd("query-migrate")
            if info.get("status") in ("completed", "failed", "cancelled"):
                break
            time.sleep(0.005)
        wall = (time.monotonic() - t0) * 1000
        if info["status"] != "completed":
            raise RuntimeError("%s: %s" % (tag, info))
        while dq.cmd("query-status")["status"] != "running":
            time.sleep(0.005)
        link = lo_bytes() - lo0
        time.sleep(1.0)
        down, gap = guest_downtime(src, dst, t0)
        ram = info.get("ram", {})
        res = dict(stack="qemu", kind=kind, size=size,
                   total=info.get("total-time"), wall=wall,
                   paused=info.get("downtime"), setup=info.get("setup-time"),
                   pages=ram.get("transferred", 0) // 4096,
                   rounds=ram.get("dirty-sync-count"), guest=down, gap=gap,
                   link=link, verify=verify(kind, dst),
                   limit=params.get("downtime-limit"))
    finally:
        for q in (sq, dq):
            if q:
                try:
                    q.cmd("quit")
                except (RuntimeError, OSError, ValueError):
                    pass
                q.close()
        for pr in (sp, dp):
            if pr:
                try:
                    pr.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pr.kill()
        for r in (src, dst):
            if r:
                r.close()
    return res


# ---------------------------------------------------------------- main

def fmt(v, f="%.0f"):
    return "-" if v is None else f % v


def main():
    rows = []
    for size in SIZES:
        for kind in KINDS:
            for stack in STACKS:
                bw = measure_bandwidth()
                try:
                    r = (run_xl if stack == "xl" else run_qemu)(kind, size)
                except RuntimeError as e:
                    print("%s %s %d: %s" % (stack, kind, size, e), flush=True)
                    continue
                r["bw"] = bw
                r["ideal"] = r["link"] / MIB / bw * 1000
                rows.append(r)
                print("%s: %s" % (stack, json.dumps(r)), flush=True)
    print()
    print("%-5s %-5s %5s %7s %6s %6s %5s %8s %5s %6s %6s  %s"
          % ("stack", "guest", "MiB", "total", "paused", "guest", "(gap)",
             "link MiB", "MiB/s", "ideal", "ratio", "memory after"))
    for r in rows:
        print("%-5s %-5s %5d %7s %6s %6s %5s %8.2f %5.0f %6.1f %6.2f  %s"
              % (r["stack"], r["kind"], r["size"], fmt(r["total"]),
                 fmt(r["paused"]), fmt(r["guest"]), fmt(r["gap"], "%.1f"),
                 r["link"] / MIB, r["bw"], r["ideal"],
                 r["total"] / r["ideal"] if r["ideal"] else 0,
                 r["verify"]))
    print("(ms; total: xl migrate's wall time / qemu's total-time; paused:"
          " libxl's ms paused / qemu's downtime; guest: the console's gap"
          " less its usual gap (gap); MiB/s: the link's, measured just"
          " before; ideal: link MiB / MiB/s; ratio: total / ideal)")
    bad = [r for r in rows if not r["verify"].startswith("ok")]
    return 1 if bad or not rows else 0


if __name__ == "__main__":
    sys.exit(main())

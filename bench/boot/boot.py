#!/usr/bin/env python3
"""boot.py - wall time from "xl create -c CFG" to the guest's shell prompt,
next to the same kernel started directly with qemu-system-x86_64 with the
same options, for the Debian guest of tests/fixtures/debian-guest.sh.

usage: boot.py KIND...      KIND: pvh, pvh-elf, seabios, ovmf
  (pvh: kernel = the bzImage, whose payload the toolstack decompresses;
   pvh-elf: kernel = the ELF vmlinux itself)
Environment (run.sh sets it): XL_BIN, XENOLITH_RUNDIR, XENSTORE_BINDIR,
DM_GUEST, BENCH_TMP; RUNS (default 5).

For each run and kind, in turn (the order alternates between runs):
  xl:   t0 = exec of "xl create -c" on a pty; qemu's first file in the
        rundir's qemu-dm/ (inotify) = the device model spawned; the
        fixture's ready marker, then an echo answered = the shell.  Then
        xl destroy.
  qemu: the command line xl's qemu ran with (/proc/PID/cmdline of the
        first xl run), without -S (it starts running) and with the
        serial chardev on the pty (stdio), exec'd on a pty: t0 = exec,
        the same marker and echo.
Prints one line per boot, then a table of medians and the toolstack's
overhead (xl - qemu) in ms.  Exit status 0, or 1 when a boot failed.
"""
import ctypes
import fcntl
import os
import signal
import statistics
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True    # nothing written into the source tree
sys.path.insert(0, os.path.join(here, "..", "..", "tests", "integration",
                                "dm"))
from console import Console  # noqa: E402

XL = os.environ["XL_BIN"]
RUNDIR = os.environ["XENOLITH_RUNDIR"]
GUEST = os.environ["DM_GUEST"]
TMP = os.environ["BENCH_TMP"]
RUNS = int(os.environ.get("RUNS", "5"))
LIMIT = 60.0
MEMORY = 256
CMDLINE = "console=ttyS0 quiet"
BOOT_LOCK = "/tmp/xenolith-guest-boot.lock"
DMDIR = os.path.join(RUNDIR, "qemu-dm")


class Boot(Exception):
    pass


# ---- inotify on qemu-dm/: when the toolstack spawned qemu.
libc = ctypes.CDLL(None, use_errno=True)
IN_CREATE = 0x100


class DirWatch:
    def __init__(self, path):
        os.makedirs(path, exist_ok=True)
        self.fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0 or libc.inotify_add_watch(
                self.fd, path.encode(), IN_CREATE) < 0:
            raise OSError(ctypes.get_errno(), "inotify " + path)

    def first_create(self):
        """Drains the events; the time of the first (when it came now),
        else None.  Called often: a poll loop, not blocking."""
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return None
        return time.monotonic() if data else None

    def reset(self):
        while True:
            try:
                os.read(self.fd, 65536)
            except BlockingIOError:
                return


def cfg_for(kind, disk):
    lines = ['name = "bench-%s"' % kind, "memory = %d" % MEMORY, "vcpus = 1",
             'kernel = "%s/%s"' % (GUEST, "vmlinux" if kind == "pvh-elf"
                                   else "vmlinuz"),
             'ramdisk = "%s/initrd.gz"' % GUEST,
             'cmdline = "%s"' % CMDLINE, 'on_reboot = "destroy"']
    if kind.startswith("pvh"):
        lines += ['type = "pvh"', 'disk = [ "%s,raw,xvda,rw" ]' % disk]
    else:
        lines += ['type = "hvm"', 'bios = "%s"' % kind, 'serial = "pty"',
                  "vnc = 0", 'disk = [ "%s,raw,hda,rw" ]' % disk]
    path = os.path.join(TMP, "bench-%s.cfg" % kind)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def shell(con, t0, deadline):
    """The ready marker, then an answered echo: seconds since t0."""
    if con.wait("XENOLITH-GUEST-READY", deadline - time.monotonic()) is None:
        raise Boot("no ready marker; console: " + con.tail(800))
    t_ready = time.monotonic() - t0
    con.send("echo up-$((40+2))\r")
    if con.wait("up-42", deadline - time.monotonic()) is None:
        raise Boot("no shell; console: " + con.tail(800))
    return t_ready, time.monotonic() - t0


def qemu_of(dom):
    try:
        with open(os.path.join(DMDIR, "qemu-dm-%d.pid" % dom)) as f:
            pid = int(f.read().strip())
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return [a.decode() for a in f.read().split(b"\0")[:-1]]
    except (OSError, ValueError):
        return None


def domid(name):
    p = subprocess.run([XL, "domid", name], capture_output=True, text=True)
    return int(p.stdout) if p.returncode == 0 else None


def run_xl(kind, cfg, watch, argvs):
    name = "bench-" + kind
    watch.reset()
    t0 = time.monotonic()
    con = Console([XL, "create", "-c", cfg])
    deadline = t0 + LIMIT
    t_spawn = None
    try:
        # Until the marker: note when qemu appears.
        while True:
            if t_spawn is None:
                t = watch.first_create()
                if t is not None:
                    t_spawn = t - t0
            if con.wait("XENOLITH-GUEST-READY", 0.005) is not None:
                con.mark -= len("XENOLITH-GUEST-READY")
                break
            if con.eof:
                raise Boot("xl create -c ended: " + con.tail(800))
            if time.monotonic() > deadline:
                raise Boot("xl: no marker; console: " + con.tail(800))
        t_ready, t_shell = shell(con, t0, deadline)
        dom = domid(name)
        if kind not in argvs and dom is not None:
            argvs[kind] = qemu_of(dom)
    finally:
        con.close()
        subprocess.run([XL, "destroy", name], capture_output=True)
        end = time.monotonic() + 30
        while domid(name) is not None and time.monotonic() < end:
            time.sleep(0.1)
    return {"spawn": t_spawn, "ready": t_ready, "shell": t_shell}


def direct_argv(argv, kind, disk):
    """xl's qemu command line, started directly: no -S, the serial on
    stdio, files in a folder of the bench's, the ELF kernel from the
    fixture (xl's copy goes with the domain)."""
    out, d = [], os.path.join(TMP, "direct")
    os.makedirs(d, exist_ok=True)
    skip = False
    for i, a in enumerate(argv):
        if skip:
            skip = False
            continue
        if a == "-S" or a == "-daemonize":
            continue
        if a == "-chardev" and "id=serial0" in argv[i + 1]:
            out += ["-chardev", "stdio,id=serial0,signal=off"]
            skip = True
            continue
        if a == "-kernel" and argv[i + 1].startswith(RUNDIR):
            out += ["-kernel", os.path.join(GUEST, "vmlinux")]
            skip = True
            continue
        out.append(a.replace(DMDIR, d))
    return out


def fallback_argv(kind, disk):
    """When xl's command line could not be read: the options xendm gives
    a guest of this kind, written out."""
    a = ["qemu-system-x86_64", "-machine", "pc,accel=tcg", "-m",
         str(MEMORY), "-smp", "1", "-nodefaults", "-display", "none",
         "-chardev", "stdio,id=serial0,signal=off", "-serial",
         "chardev:serial0", "-initrd", os.path.join(GUEST, "initrd.gz"),
         "-append", CMDLINE]
    if kind.startswith("pvh"):
        a += ["-kernel", os.path.join(GUEST, "vmlinux"), "-drive",
              "file=%s,format=raw,if=virtio" % disk]
    else:
        a += ["-kernel", os.path.join(GUEST, "vmlinuz"), "-drive",
              "file=%s,format=raw,if=ide" % disk]
        if kind == "ovmf":
            a += ["-bios", "/usr/share/ovmf/OVMF.fd"]
    return a


def run_qemu(argv):
    t0 = time.monotonic()
    con = Console(argv)
    try:
        t_ready, t_shell = shell(con, t0, t0 + LIMIT)
    finally:
        if con.exited() is None:
            os.kill(con.pid, signal.SIGKILL)
        con.close()
    return {"ready": t_ready, "shell": t_shell}


def med(rows, key):
    v = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(v) if v else None


def ms(v):
    return "%8.0f" % (v * 1000) if v is not None else "       -"


def main():
    kinds = sys.argv[1:] or ["pvh", "pvh-elf", "seabios"]
    lock = open(BOOT_LOCK, "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    watch = DirWatch(DMDIR)
    disk = os.path.join(TMP, "disk.img")
    subprocess.run(["cp", os.path.join(GUEST, "disk.img"), disk], check=True)
    cfgs = {k: cfg_for(k, disk) for k in kinds}
    argvs, res, failed = {}, {k: {"xl": [], "qemu": []} for k in kinds}, 0
    for i in range(RUNS):
        for kind in kinds:
            order = ["xl", "qemu"] if i % 2 == 0 or kind not in argvs \
                else ["qemu", "xl"]
            for how in order:
                try:
                    if how == "xl":
                        r = run_xl(kind, cfgs[kind], watch, argvs)
                    else:
                        a = argvs.get(kind)
                        a = direct_argv(a, kind, disk) if a else \
                            fallback_argv(kind, disk)
                        if i == 0:
                            print("qemu direct (%s): %s" % (kind, " ".join(a)),
                                  flush=True)
                        r = run_qemu(a)
                except Boot as e:
                    failed += 1
                    print("run %d %s %s: FAILED %s" % (i + 1, kind, how, e),
                          flush=True)
                    continue
                res[kind][how].append(r)
                print("run %d %-8s %-5s ready %6.3f s  shell %6.3f s%s"
                      % (i + 1, kind, how, r["ready"], r["shell"],
                         "  (qemu spawned at %.0f ms)" % (r["spawn"] * 1000)
                         if r.get("spawn") is not None else ""), flush=True)
    print()
    print("median of %d runs, ms from exec to the shell's answer" % RUNS)
    print("%-8s %8s %8s %8s %8s" % ("guest", "xl", "qemu", "overhead",
                                     "spawn"))
    over = {}
    for kind in kinds:
        x, q = med(res[kind]["xl"], "shell"), med(res[kind]["qemu"], "shell")
        over[kind] = x - q if x is not None and q is not None else None
        print("%-8s %s %s %s %s" % (kind, ms(x), ms(q), ms(over[kind]),
                                    ms(med(res[kind]["xl"], "spawn"))))
    print("(spawn: from xl create's exec to qemu's first file in qemu-dm/,"
          " the toolstack's share before qemu runs)")
    for kind in kinds:
        if over[kind] is not None:
            print("%s: toolstack overhead %.0f ms (target < 100 ms): %s"
                  % (kind, over[kind] * 1000,
                     "met" if over[kind] < 0.1 else "NOT met"))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

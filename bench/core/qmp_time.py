#!/usr/bin/env python3
"""Time QEMU microvm from exec to its QMP greeting + capabilities reply.

Usage: qmp_time.py QEMU N  -> prints "qemu_ms <median> <min>" and
"qemu_pss_kib <pss of one idle instance>".
"""
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def one(qemu, keep=False):
    d = tempfile.mkdtemp(prefix="qmp-")
    sock = os.path.join(d, "qmp")
    t0 = time.monotonic()
    p = subprocess.Popen([qemu, "-machine", "microvm,accel=kvm", "-S",
                          "-nodefaults", "-no-user-config", "-display",
                          "none", "-m", "4", "-qmp",
                          "unix:%s,server=on,wait=off" % sock],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    s = None
    while True:
        if p.poll() is not None:
            raise RuntimeError(p.stderr.read().decode(errors="replace"))
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(sock)
            break
        except OSError:
            s.close()
            time.sleep(0.0005)
    f = s.makefile("rwb")
    json.loads(f.readline())                 # greeting
    f.write(b'{"execute": "qmp_capabilities"}\n')
    f.flush()
    json.loads(f.readline())
    elapsed = (time.monotonic() - t0) * 1000
    pss = 0
    if keep:
        with open("/proc/%d/smaps_rollup" % p.pid) as sm:
            for line in sm:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1])
    f.write(b'{"execute": "quit"}\n')
    f.flush()
    p.wait(timeout=10)
    s.close()
    return elapsed, pss


def main():
    qemu, n = sys.argv[1], int(sys.argv[2])
    times = [one(qemu)[0] for _ in range(n)]
    print("qemu_ms %.3f %.3f" % (statistics.median(times), min(times)))
    print("qemu_pss_kib %d" % one(qemu, keep=True)[1])


if __name__ == "__main__":
    main()

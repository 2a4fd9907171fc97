#!/usr/bin/env python3
"""firstbyte.py - time "xl create -q -e -c CFG" from exec to the guest's
first console byte on a pty (the user's view of create), detach with
Ctrl-], time "xl domid NAME" (the name lookup every command given a name
does), then "xl destroy ID".  Prints "create_ms destroy_ms lookup_ms".

usage: firstbyte.py XL CFG NAME
"""
import os
import pty
import select
import subprocess
import sys
import time

xl, cfg, name = sys.argv[1:4]
t0 = time.monotonic()
pid, fd = pty.fork()
if pid == 0:
    os.execv(xl, [xl, "create", "-q", "-e", "-c", cfg])
first = None
deadline = t0 + 30
while time.monotonic() < deadline:
    r, _, _ = select.select([fd], [], [], 0.05)
    if r:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if data:
            first = time.monotonic()
            break
if first is None:
    sys.exit("no console output from %s within 30 s" % name)
try:
    os.write(fd, b"\x1d")
except OSError:
    pass
os.waitpid(pid, 0)
os.close(fd)
t1 = time.monotonic()
out = subprocess.run([xl, "domid", name], capture_output=True, text=True)
t2 = time.monotonic()
if out.returncode:
    sys.exit("xl domid %s failed: %s" % (name, out.stderr))
domid = out.stdout.strip()
t3 = time.monotonic()
rc = subprocess.run([xl, "destroy", domid]).returncode
t4 = time.monotonic()
if rc:
    sys.exit("xl destroy %s failed" % domid)
print("%.2f %.2f %.2f" % ((first - t0) * 1000, (t4 - t3) * 1000,
                          (t2 - t1) * 1000))

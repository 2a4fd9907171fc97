#!/usr/bin/env python3
"""ptyrun.py - run a command (xl console / xl create -c) on a fresh pty as
its controlling terminal, the way a user's terminal would be.

usage: ptyrun.py [--after CMD] [--expect TEXT] [--early] SECONDS PROGRAM ARGS...

Collects what the program writes until a whole line with TEXT (default
"Test result:") has appeared or SECONDS have passed; CMD (a shell command)
runs 0.5 s after the start, e.g. "xl unpause dom".  Then, once the program
has put the terminal in raw mode (its console is attached; up to 10 s
more), types Ctrl-] (the console escape) and waits up to 5 s for the
program to exit.  With --early, Ctrl-] is typed at once instead, before
the program can have attached: typed ahead, it must still detach (up to
SECONDS for that).
Prints the output, then a last line "[exit: STATUS]" ("hung" if Ctrl-]
did not end it).
"""
import os
import pty
import select
import subprocess
import sys
import termios
import time

args = sys.argv[1:]
after = None
expect = b"Test result:"
early = False
while args and args[0].startswith("--"):
    if args[0] == "--early":
        early = True
        args = args[1:]
        continue
    if args[0] == "--after":
        after = args[1]
    elif args[0] == "--expect":
        expect = args[1].encode()
    args = args[2:]
limit = float(args[0])
argv = args[1:]

pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)

out = b""
if early:
    os.write(fd, b"\x1d")
start = time.time()
ran_after = after is None
def line_done(buf):
    """TEXT has appeared and the line it stands on is complete (the guest's
    console is slow: the rest of a verdict line can lag behind)."""
    at = buf.find(expect)
    return at >= 0 and buf.find(b"\n", at) >= 0


def raw_mode():
    """The program has switched the terminal to raw mode (no ICANON)."""
    try:
        return not termios.tcgetattr(fd)[3] & termios.ICANON
    except termios.error:
        return True


def collect(seconds):
    global out
    ready, _, _ = select.select([fd], [], [], seconds)
    if ready:
        data = os.read(fd, 4096)
        if not data:
            raise OSError("end of output")
        out += data


while not early and time.time() < start + limit and not line_done(out):
    if not ran_after and time.time() > start + 0.5:
        subprocess.run(after, shell=True)
        ran_after = True
    ready, _, _ = select.select([fd], [], [], 0.1)
    if ready:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        out += data
# a Ctrl-] typed before the program attached would be echoed and lost
# to a flush: wait for raw mode (the output keeps being collected)
end = time.time() + 10
try:
    while not early and not raw_mode() and time.time() < end:
        collect(0.1)
except OSError:
    pass
time.sleep(0.2)
try:
    if not early:
        os.write(fd, b"\x1d")
except OSError:
    pass
status = "hung"
# typed ahead, the program's whole start counts (SECONDS)
end = time.time() + (max(limit, 5) if early else 5)
while time.time() < end:
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        status = str(os.waitstatus_to_exitcode(st))
        break
    try:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            out += os.read(fd, 4096)
    except OSError:
        pass
if status == "hung":
    os.kill(pid, 9)
    os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace").replace("\r\n", "\n"))
print("\n[exit: %s]" % status)

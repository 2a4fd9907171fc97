"""console.py - a guest's console as a user sees it: a program (xl console
NAME, xl create -c CFG) run on a fresh pty as its controlling terminal,
read and typed into from the pty's master side.  Used by lifecycle.py.

No pexpect: pty.fork, select and os.read/os.write.  What arrives is kept
in one buffer; wait() looks from a mark on and moves it past what it
found, so a string is never matched twice.  Typed text is echoed by the
guest's tty: tests ask for strings the command does not contain literally
(echo hello-$((6*7)) answers hello-42).
"""
import os
import pty
import select
import signal
import time


class Console:
    def __init__(self, argv, env=None):
        self.argv = argv
        self.buf = b""
        self.mark = 0
        self.status = None
        self.eof = False        # the pty closed: nobody holds it any more
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                if env is not None:
                    os.execvpe(argv[0], argv, env)
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)

    def _pump(self, timeout):
        """Reads what is there within timeout seconds; False at EOF."""
        if self.fd is None:
            return False
        try:
            ready, _, _ = select.select([self.fd], [], [], timeout)
        except (OSError, ValueError):
            return False
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data.replace(b"\0", b" ")
        return True

    def drain(self, seconds=0.0):
        """Keeps reading for seconds (the console must not back up)."""
        end = time.monotonic() + seconds
        while True:
            if not self._pump(max(0.0, min(0.05, end - time.monotonic()))):
                return
            if time.monotonic() >= end:
                return

    def wait(self, wants, timeout):
        """Waits until one of wants (str or list) appears after the mark;
        returns it (the mark moves past it) or None after timeout s."""
        if isinstance(wants, str):
            wants = [wants]
        end = time.monotonic() + timeout
        alive = True
        while True:
            best = None
            for w in wants:
                at = self.buf.find(w.encode(), self.mark)
                if at >= 0 and (best is None or at < best[0]):
                    best = (at, w)
            if best:
                self.mark = best[0] + len(best[1])
                return best[1]
            now = time.monotonic()
            if now >= end or not alive:
                return None
            alive = self._pump(min(0.1, end - now))

    def send(self, text):
        """Types text a few bytes at a time (a UART under TCG is slow)."""
        data = text.encode()
        for i in range(0, len(data), 16):
            os.write(self.fd, data[i:i + 16])
            self.drain(0.003)

    def run(self, cmd, want, timeout=30):
        """Runs cmd in the guest's shell; True when want appears."""
        self.send(cmd + "\r")
        return self.wait(want, timeout) is not None

    def tail(self, n=1500):
        text = self.buf[-n:].decode(errors="replace")
        return text.replace("\r\n", "\n").replace("\r", "\n")

    def exited(self):
        """The program's exit status once it ended, else None."""
        if self.status is None and self.pid:
            p, st = os.waitpid(self.pid, os.WNOHANG)
            if p:
                self.status = os.waitstatus_to_exitcode(st)
        return self.status

    def close(self, timeout=5):
        """Types Ctrl-] (xl console's escape), waits for the program,
        kills it if it does not go; returns its status or "hung"."""
        if self.exited() is None:
            try:
                os.write(self.fd, b"\x1d")
            except OSError:
                pass
            end = time.monotonic() + timeout
            while self.exited() is None and time.monotonic() < end:
                self._pump(0.05)
        result = self.exited()
        if result is None:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.status = "hung"
            result = "hung"
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        return result

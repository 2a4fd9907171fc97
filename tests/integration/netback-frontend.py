#!/usr/bin/env python3
"""netback-frontend.py - a vhost-user frontend of our own against one of
xenolith-netback's sockets, guest memory a memfd as qemu's is:

  a tx chain (header and frame in two descriptors) comes out of the tap,
  the call eventfd signalled; a 400-byte frame sent into the tap lands
  in 128-byte rx buffers, merged (num_buffers 4, the used lengths and
  the bytes right); a frame too big for every posted buffer waits, and
  goes once more buffers come;
  each of a list of broken messages and rings (unknown request, wrong
  sizes, a queue that does not exist, too big a payload, features not
  offered, memory the fd does not hold, a pipe for an eventfd (our
  writes to it could block), rings and descriptors outside guest
  memory, a descriptor loop, an avail index running ahead, a writable
  descriptor on tx) closes the connection with a log line that says
  why, and the backend, alive, serves the next connection.

Environment (netback.sh): SOCK (the vif's socket), TAP (its tap), NB_LOG
(the backend's log), NB_PID (the backend: its supervisor, whose worker
must never die).  Prints "ok: ..." / "FAIL: ..."; exit
status 0, or 1 on failures.
"""
import array
import mmap
import os
import select
import socket
import struct
import sys
import time

SOCK = os.environ["SOCK"]
TAP = os.environ["TAP"]
NB_LOG = os.environ["NB_LOG"]
NB_PID = int(os.environ["NB_PID"])

F_MRG_RXBUF = 1 << 15
F_EVENT_IDX = 1 << 29
F_PROTOCOL = 1 << 30
F_VERSION_1 = 1 << 32
PF_REPLY_ACK = 1 << 3
(GET_FEATURES, SET_FEATURES, SET_OWNER, SET_MEM_TABLE, SET_VRING_NUM,
 SET_VRING_ADDR, SET_VRING_BASE, SET_VRING_KICK, SET_VRING_CALL,
 GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES,
 SET_VRING_ENABLE) = (1, 2, 3, 5, 8, 9, 10, 12, 13, 15, 16, 18)
NEED_REPLY = 1 << 3
DESC_NEXT, DESC_WRITE = 1, 2

MEM_SIZE = 1 << 20
UVA = 0x7f0000000000            # where "qemu" has guest memory
QSIZE = 8
RING = {0: 0x1000, 1: 0x2000}   # each queue's descriptors; avail +0x100,
                                # used +0x200
ETH_P_ALL = 3
failures = 0


def ok(msg):
    print("ok: " + msg, flush=True)


def fail(msg):
    global failures
    failures += 1
    print("FAIL: " + msg, flush=True)


def check(cond, msg, detail=""):
    if cond:
        ok(msg)
    else:
        fail(msg + (": " + detail if detail else ""))
    return cond


def stat(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def worker_of(sup):
    """The pid of the backend's worker (its supervisor's child)."""
    for d in os.listdir("/proc"):
        st = stat(int(d)) if d.isdigit() else None
        if st and st[1] == str(sup) and st[0] != "Z":
            return int(d)
    return None


WORKER = worker_of(NB_PID)


def alive():
    """Whether the worker that was there at the start still runs (its
    supervisor would hide a crash by starting another)."""
    st = stat(WORKER) if WORKER else None
    return st is not None and st[0] != "Z"


def log_since(mark):
    with open(NB_LOG, errors="replace") as f:
        return f.read()[mark:]


def log_size():
    return os.path.getsize(NB_LOG)


class Guest:
    """Guest memory: a memfd, with the two queues' rings in it."""

    def __init__(self, size=MEM_SIZE):
        self.fd = os.memfd_create("guest")
        os.ftruncate(self.fd, size)
        self.m = mmap.mmap(self.fd, size)

    def desc(self, q, i, addr, length, flags=0, nxt=0):
        struct.pack_into("<QIHH", self.m, RING[q] + 16 * i, addr, length,
                         flags, nxt)

    def avail(self, q, idx, entries):
        base = RING[q] + 0x100
        for n, head in entries:
            struct.pack_into("<H", self.m, base + 4 + 2 * (n % QSIZE), head)
        struct.pack_into("<H", self.m, base + 2, idx)

    def used_idx(self, q):
        return struct.unpack_from("<H", self.m, RING[q] + 0x200 + 2)[0]

    def used(self, q, n):
        return struct.unpack_from("<II", self.m,
                                  RING[q] + 0x200 + 4 + 8 * (n % QSIZE))


class Frontend:
    def __init__(self):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(5)
        self.s.connect(SOCK)

    def send(self, req, payload=b"", fds=(), flags=1):
        msg = struct.pack("<III", req, flags, len(payload)) + payload
        anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                array.array("i", fds))] if fds else []
        self.s.sendmsg([msg], anc)

    def recv(self):
        hdr = self._exact(12)
        req, flags, size = struct.unpack("<III", hdr)
        return req, self._exact(size)

    def _exact(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise EOFError("closed")
            b += c
        return b

    def u64(self, req):
        self.send(req)
        r, p = self.recv()
        return struct.unpack("<Q", p)[0]

    def closed_by_peer(self):
        """Whether the backend closed the connection (within 5 s)."""
        try:
            return self.s.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


def mem_table(g, size=MEM_SIZE):
    return struct.pack("<II", 1, 0) + struct.pack("<QQQQ", 0, size, UVA, 0)


def vring_state(q, num):
    return struct.pack("<II", q, num)


def vring_addr(q, desc=None):
    base = UVA + RING[q]
    return struct.pack("<IIQQQQ", q, 0, base if desc is None else desc,
                       base + 0x200, base + 0x100, 0)


def start(g, features=F_VERSION_1 | F_MRG_RXBUF | F_PROTOCOL, desc=None):
    """A frontend as qemu starts one; (frontend, kick fds, call fds)."""
    f = Frontend()
    offered = f.u64(GET_FEATURES)
    pf = f.u64(GET_PROTOCOL_FEATURES)
    f.send(SET_PROTOCOL_FEATURES, struct.pack("<Q", pf & PF_REPLY_ACK))
    f.send(SET_OWNER)
    f.send(SET_FEATURES, struct.pack("<Q", features & offered))
    f.send(SET_MEM_TABLE, mem_table(g), [g.fd], flags=1 | NEED_REPLY)
    r, p = f.recv()
    assert r == SET_MEM_TABLE and struct.unpack("<Q", p)[0] == 0, \
        "no ack of SET_MEM_TABLE"
    kicks, calls = [], []
    for q in (0, 1):
        kicks.append(os.eventfd(0))
        calls.append(os.eventfd(0, os.EFD_NONBLOCK))
        f.send(SET_VRING_NUM, vring_state(q, QSIZE))
        f.send(SET_VRING_BASE, vring_state(q, 0))
        f.send(SET_VRING_ADDR, vring_addr(q, desc if q == 1 else None))
        f.send(SET_VRING_CALL, struct.pack("<Q", q), [calls[q]])
        f.send(SET_VRING_KICK, struct.pack("<Q", q), [kicks[q]])
        f.send(SET_VRING_ENABLE, vring_state(q, 1))
    return f, kicks, calls


def stop(f, kicks, calls):
    f.close()
    for fd in kicks + calls:
        os.close(fd)


def kick(fd):
    os.eventfd_write(fd, 1)


def wait_for(pred, secs=5):
    end = time.monotonic() + secs
    while not pred():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True


def frame(tag, length):
    body = (tag * (length // len(tag) + 1))[:length - 14]
    return b"\xff" * 6 + bytes.fromhex("00163e000005") + b"\x88\xb5" + body


def data_path():
    g = Guest()
    pkt = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                        socket.htons(ETH_P_ALL))
    pkt.bind((TAP, 0))
    pkt.settimeout(5)
    f, kicks, calls = start(g)

    # ---- tx: the header in one descriptor, the frame in the next
    tx = frame(b"xenolith-tx-", 300)
    g.m[0x10000:0x1000c] = bytes(12)
    g.m[0x10100:0x10100 + len(tx)] = tx
    g.desc(1, 0, 0x10000, 12, DESC_NEXT, 1)
    g.desc(1, 1, 0x10100, len(tx))
    g.avail(1, 1, [(0, 0)])
    kick(kicks[1])
    seen = None
    end = time.monotonic() + 5
    while seen is None and time.monotonic() < end:
        try:
            b = pkt.recv(65536)
        except socket.timeout:
            break
        if b"xenolith-tx-" in b:
            seen = b
    check(seen == tx, "tx: a chain of two descriptors comes out of %s "
          "as sent" % TAP, repr(seen))
    check(wait_for(lambda: g.used_idx(1) == 1), "tx: the chain is used")
    check(select.select([calls[1]], [], [], 2)[0] != [],
          "tx: the call eventfd is signalled")

    # ---- rx: 128-byte buffers, a 400-byte frame in four of them
    for i in range(QSIZE):
        g.desc(0, i, 0x20000 + 0x100 * i, 128, DESC_WRITE)
    g.avail(0, QSIZE, [(i, i) for i in range(QSIZE)])
    kick(kicks[0])
    rx = frame(b"xenolith-rx-", 400)
    pkt.send(rx)
    got = wait_for(lambda: g.used_idx(0) >= 4)
    if check(got, "rx: the frame is delivered", "used idx %d"
             % g.used_idx(0)):
        used = [g.used(0, i) for i in range(4)]
        lens = [u[1] for u in used]
        data = b"".join(bytes(g.m[0x20000 + 0x100 * u[0]:
                                  0x20000 + 0x100 * u[0] + u[1]])
                        for u in used)
        nbuf = struct.unpack_from("<H", data, 10)[0]
        check(g.used_idx(0) == 4 and lens == [128, 128, 128, 28] and
              nbuf == 4 and data[12:] == rx,
              "rx: merged into 4 buffers (128, 128, 128, 28 bytes), "
              "num_buffers 4, the frame intact",
              "used %d, lens %r, num_buffers %d" % (g.used_idx(0), lens,
                                                     nbuf))
    check(select.select([calls[0]], [], [], 2)[0] != [],
          "rx: the call eventfd is signalled")

    # ---- rx: 4 buffers left, a frame needing 6 waits for two more
    big = frame(b"xenolith-big-", 700)
    pkt.send(big)
    time.sleep(0.5)
    check(g.used_idx(0) == 4, "rx: a frame bigger than the posted buffers "
          "waits (used idx %d)" % g.used_idx(0))
    g.avail(0, QSIZE + 2, [(QSIZE, 0), (QSIZE + 1, 1)])
    kick(kicks[0])
    check(wait_for(lambda: g.used_idx(0) == 10),
          "rx: and goes once the guest posts more (used idx %d)"
          % g.used_idx(0))
    stop(f, kicks, calls)
    pkt.close()


def broken(what, expect, action):
    """action(frontend or None) breaks the protocol; the backend must
    close that connection, log expect and stay up."""
    mark = log_size()
    g = Guest()
    f = kicks = calls = None
    try:
        f, kicks, calls = action(g)
        closed = f.closed_by_peer()
    except (EOFError, ConnectionResetError, BrokenPipeError):
        closed = True
    log = log_since(mark)
    line = [s for s in log.splitlines() if "connection closed" in s]
    if not closed:
        fail("%s: the connection stays open" % what)
    elif not alive():
        fail("%s: the backend died" % what)
    elif not line or expect not in line[0]:
        fail("%s: the log says %r, not %r" % (what, log, expect))
    else:
        ok("%s: %s" % (what, line[0].split("closed: ", 1)[-1]))
    if f:
        stop(f, kicks or [], calls or [])


def raw(send):
    def action(g):
        f = Frontend()
        send(f, g)
        return f, [], []
    return action


def ring(setup):
    """A started frontend whose tx ring setup(g) breaks, kicked."""
    def action(g):
        f, kicks, calls = start(g)
        setup(g)
        kick(kicks[1])
        return f, kicks, calls
    return action


def malformed():
    broken("an unknown request", "request 99 is not served",
           raw(lambda f, g: f.send(99)))
    broken("a short payload", "SET_FEATURES with a payload of 4 bytes",
           raw(lambda f, g: f.send(SET_FEATURES, b"\0" * 4)))
    broken("a queue that does not exist", "queue 7 does not exist",
           raw(lambda f, g: f.send(SET_VRING_NUM, vring_state(7, 8))))
    broken("a huge payload", "more than the 512 we take",
           raw(lambda f, g: f.s.sendall(struct.pack("<III", SET_MEM_TABLE,
                                                    1, 100000))))
    broken("features not offered", "include some not offered",
           raw(lambda f, g: f.send(SET_FEATURES,
                                   struct.pack("<Q", 1 << 20))))
    broken("a ring size not a power of 2", "is not a power of 2",
           raw(lambda f, g: f.send(SET_VRING_NUM, vring_state(0, 100))))
    broken("a region past the end of its fd", "its fd holds",
           raw(lambda f, g: f.send(SET_MEM_TABLE, mem_table(g, 2 * MEM_SIZE),
                                   [g.fd])))
    broken("a region without its fd", "came with 0 fds",
           raw(lambda f, g: f.send(SET_MEM_TABLE, mem_table(g))))

    def pipe_call(g):
        f = Frontend()
        r, w = os.pipe()
        f.send(SET_VRING_CALL, struct.pack("<Q", 0), [w])
        os.close(r)
        os.close(w)
        return f, [], []
    broken("a pipe for a call fd", "is not an eventfd", pipe_call)

    def ring_outside(g):
        f, kicks, calls = start(g, desc=UVA + 2 * MEM_SIZE)
        return f, kicks, calls
    broken("a ring outside guest memory", "is not in guest memory",
           ring_outside)

    def loop(g):
        g.desc(1, 0, 0x10000, 64, DESC_NEXT, 1)
        g.desc(1, 1, 0x10100, 64, DESC_NEXT, 0)
        g.avail(1, 1, [(0, 0)])
    broken("a descriptor loop", "a loop", ring(loop))

    def ahead(g):
        g.avail(1, 100, [(0, 0)])
    broken("an avail index too far ahead", "more than the ring's 8",
           ring(ahead))

    def outside(g):
        g.desc(1, 0, MEM_SIZE - 16, 64)
        g.avail(1, 1, [(0, 0)])
    broken("a descriptor past guest memory", "is not in guest memory",
           ring(outside))

    def bad_head(g):
        g.avail(1, 1, [(0, 9)])
    broken("an avail entry past the table", "names descriptor 9",
           ring(bad_head))

    def writable(g):
        g.desc(1, 0, 0x10000, 64, DESC_WRITE)
        g.avail(1, 1, [(0, 0)])
    broken("a writable descriptor on tx", "device-writable", ring(writable))

    # ---- and the next frontend is served
    try:
        f = Frontend()
        feats = f.u64(GET_FEATURES)
        f.close()
        check(feats & F_VERSION_1 and feats & F_MRG_RXBUF and
              feats & F_PROTOCOL and feats & F_EVENT_IDX,
              "after all that, a new connection is served (features "
              "0x%x)" % feats)
    except (OSError, EOFError) as e:
        fail("after all that, a new connection: %s" % e)


def main():
    data_path()
    malformed()
    check(alive(), "the backend's worker (pid %r) is alive, never "
          "restarted" % WORKER)


if __name__ == "__main__":
    main()
    sys.exit(1 if failures else 0)

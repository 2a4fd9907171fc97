"""vufront.py - the generic half of our vhost-user frontends
(netback-frontend.py, blkback-frontend.py): guest memory in a memfd as
qemu's is, split rings built by hand in it, the frontend's socket and
its messages, a backend under its supervisor (whose worker must never
die) and its log, and the ok/FAIL lines a test prints.

Imported from the directory of the script that uses it:

    sys.dont_write_bytecode = True      # nothing written into the tree
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import vufront

Not a test of its own.
"""
import array
import fcntl
import mmap
import os
import socket
import struct
import time

# Feature bits (GET_FEATURES) and protocol feature bits.
F_EVENT_IDX = 1 << 29
F_PROTOCOL = 1 << 30
F_VERSION_1 = 1 << 32
F_LOG_ALL = 1 << 26             # dirty logging, for migration
PF_LOG_SHMFD = 1 << 1
PF_REPLY_ACK = 1 << 3
PF_BACKEND_REQ = 1 << 5
PF_CONFIG = 1 << 9

# Requests (QEMU's docs/interop/vhost-user.rst).
(GET_FEATURES, SET_FEATURES, SET_OWNER, SET_MEM_TABLE, SET_VRING_NUM,
 SET_VRING_ADDR, SET_VRING_BASE, SET_VRING_KICK, SET_VRING_CALL,
 GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES,
 SET_VRING_ENABLE) = (1, 2, 3, 5, 8, 9, 10, 12, 13, 15, 16, 18)
GET_VRING_BASE = 11
SET_LOG_BASE = 6
SET_BACKEND_REQ_FD = 21
GET_CONFIG, SET_CONFIG = 24, 25
NEED_REPLY = 1 << 3

# Descriptor flags.
DESC_NEXT, DESC_WRITE = 1, 2

MEM_SIZE = 1 << 20
UVA = 0x7f0000000000            # where "qemu" has guest memory
QSIZE = 8
RING = {0: 0x1000, 1: 0x2000}   # each queue's descriptors; avail +0x100,
                                # used +0x200
AVAIL_OFF, USED_OFF = 0x100, 0x200

# ---------------------------------------------------------------- results

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


def exit_status():
    """The script's exit status: 1 when anything failed."""
    return 1 if failures else 0


def wait_for(pred, secs=5):
    end = time.monotonic() + secs
    while not pred():
        if time.monotonic() > end:
            return False
        time.sleep(0.02)
    return True

# ---------------------------------------------------------------- processes


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


class Backend:
    """The backend under test: the socket of one of its devices, its log
    and its supervisor's pid (the worker is the supervisor's child, as
    it was when this was made)."""

    def __init__(self, sock, log, sup):
        self.sock = sock
        self.log = log
        self.sup = sup
        self.worker = worker_of(sup)

    def alive(self):
        """Whether the worker that was there at the start still runs (its
        supervisor would hide a crash by starting another)."""
        st = stat(self.worker) if self.worker else None
        return st is not None and st[0] != "Z"

    def log_size(self):
        return os.path.getsize(self.log)

    def log_since(self, mark):
        with open(self.log, errors="replace") as f:
            return f.read()[mark:]

# ---------------------------------------------------------------- memory


class Guest:
    """Guest memory: a memfd, with each queue's split ring in it at
    rings[q] (descriptors, avail at +0x100, used at +0x200)."""

    def __init__(self, size=MEM_SIZE, rings=None, qsize=QSIZE):
        self.size = size
        self.rings = dict(RING if rings is None else rings)
        self.qsize = qsize
        self.fd = os.memfd_create("guest")
        os.ftruncate(self.fd, size)
        self.m = mmap.mmap(self.fd, size)

    def close(self):
        self.m.close()
        os.close(self.fd)

    def write(self, addr, data):
        self.m[addr:addr + len(data)] = data

    def read(self, addr, n):
        return bytes(self.m[addr:addr + n])

    def desc(self, q, i, addr, length, flags=0, nxt=0):
        struct.pack_into("<QIHH", self.m, self.rings[q] + 16 * i, addr,
                         length, flags, nxt)

    def avail(self, q, idx, entries):
        """Puts (n, head) entries in the avail ring, then its index."""
        base = self.rings[q] + AVAIL_OFF
        for n, head in entries:
            struct.pack_into("<H", self.m, base + 4 + 2 * (n % self.qsize),
                             head)
        struct.pack_into("<H", self.m, base + 2, idx)

    def used_idx(self, q):
        return struct.unpack_from("<H", self.m,
                                  self.rings[q] + USED_OFF + 2)[0]

    def used(self, q, n):
        """Used entry n: (id, len)."""
        return struct.unpack_from("<II", self.m, self.rings[q] + USED_OFF +
                                  4 + 8 * (n % self.qsize))

    def set_used_event(self, q, idx):
        """VIRTIO_RING_F_EVENT_IDX's used_event (after the avail ring):
        interrupt us once the used index passes idx."""
        struct.pack_into("<H", self.m, self.rings[q] + AVAIL_OFF + 4 +
                         2 * self.qsize, idx)

    def avail_event(self, q):
        """The device's avail_event (after the used ring)."""
        return struct.unpack_from("<H", self.m, self.rings[q] + USED_OFF +
                                  4 + 8 * self.qsize)[0]

# ---------------------------------------------------------------- messages


class Frontend:
    """Messages on sock: the backend's socket path, or a connected socket
    (the backend's channel, our end of SET_BACKEND_REQ_FD's pair)."""

    def __init__(self, sock, timeout=5):
        if isinstance(sock, socket.socket):
            self.s = sock
            self.s.settimeout(timeout)
            return
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(sock)

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


def vring_addr(q, desc=None, rings=RING):
    base = UVA + rings[q]
    return struct.pack("<IIQQQQ", q, 0, base if desc is None else desc,
                       base + USED_OFF, base + AVAIL_OFF, 0)


def start(sock, g, features, queues=(0, 1), desc=None,
          protocol=PF_REPLY_ACK):
    """A frontend as qemu starts one, on sock: features (and protocol
    features, of those masks) as far as offered, the memory table
    (acked), then each queue of queues; desc[q], where given, is queue
    q's descriptor table address.  (frontend, kick fds, call fds), the
    fds indexed by queue."""
    f = Frontend(sock)
    offered = f.u64(GET_FEATURES)
    pf = f.u64(GET_PROTOCOL_FEATURES)
    f.send(SET_PROTOCOL_FEATURES, struct.pack("<Q", pf & protocol))
    f.send(SET_OWNER)
    f.send(SET_FEATURES, struct.pack("<Q", features & offered))
    f.send(SET_MEM_TABLE, mem_table(g, g.size), [g.fd],
           flags=1 | NEED_REPLY)
    r, p = f.recv()
    assert r == SET_MEM_TABLE and struct.unpack("<Q", p)[0] == 0, \
        "no ack of SET_MEM_TABLE"
    kicks, calls = [], []
    for q in queues:
        kicks.append(os.eventfd(0))
        calls.append(os.eventfd(0, os.EFD_NONBLOCK))
        f.send(SET_VRING_NUM, vring_state(q, g.qsize))
        f.send(SET_VRING_BASE, vring_state(q, 0))
        f.send(SET_VRING_ADDR, vring_addr(q, (desc or {}).get(q), g.rings))
        f.send(SET_VRING_CALL, struct.pack("<Q", q), [calls[-1]])
        f.send(SET_VRING_KICK, struct.pack("<Q", q), [kicks[-1]])
        f.send(SET_VRING_ENABLE, vring_state(q, 1))
    return f, kicks, calls


def stop(f, kicks, calls):
    f.close()
    for fd in kicks + calls:
        os.close(fd)


def kick(fd):
    os.eventfd_write(fd, 1)


def drain(fd):
    """Reads a (non-blocking) eventfd: whether it had been signalled."""
    try:
        return os.eventfd_read(fd) > 0
    except BlockingIOError:
        return False

# ---------------------------------------------------------------- taps


def if_offloads(name):
    """(tso, tx checksum) of the interface name as ethtool -k shows them
    (ETHTOOL_GTSO and ETHTOOL_GTXCSUM), each 0 or 1; None when they
    cannot be asked."""
    got = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for cmd in (0x1e, 0x16):
            val = array.array("I", [cmd, 0])
            ifr = struct.pack("16sP", name.encode(), val.buffer_info()[0])
            try:
                fcntl.ioctl(s.fileno(), 0x8946,    # SIOCETHTOOL
                            ifr + bytes(40 - len(ifr)))
            except OSError:
                return None
            got.append(val[1])
    return tuple(got)

# ---------------------------------------------------------------- breakage


def broken(be, what, expect, action):
    """action(guest) breaks the protocol on a connection to be's socket
    and returns (frontend, kicks, calls); the backend must close that
    connection, log expect in its "connection closed" line, and stay up.
    Whether it did (True when all of that held)."""
    mark = be.log_size()
    g = Guest()
    f = kicks = calls = None
    try:
        f, kicks, calls = action(g)
        closed = f.closed_by_peer()
    except (EOFError, ConnectionResetError, BrokenPipeError):
        closed = True
    # (the close of the connection before may be logged after mark: a
    # slow backend, under valgrind, says it late)
    wait_for(lambda: expect in be.log_since(mark), 2)
    log = be.log_since(mark)
    line = [s for s in log.splitlines()
            if "connection closed" in s and expect in s]
    good = False
    if not closed:
        fail("%s: the connection stays open" % what)
    elif not be.alive():
        fail("%s: the backend died" % what)
    elif not line:
        fail("%s: the log says %r, not %r" % (what, log, expect))
    else:
        ok("%s: %s" % (what, line[0].split("closed: ", 1)[-1]))
        good = True
    if f:
        stop(f, kicks or [], calls or [])
    g.close()
    return good


def raw(sock, send):
    """An action for broken(): send(frontend, guest) on a bare
    connection."""
    def action(g):
        f = Frontend(sock)
        send(f, g)
        return f, [], []
    return action


def capacity(sock):
    """The disk's capacity (sectors) in the config space of the
    vhost-user-blk export at sock, asked as the guest's qemu would."""
    f = Frontend(sock)
    if not f.u64(GET_FEATURES) & F_PROTOCOL:
        raise SystemExit("%s: no protocol features" % sock)
    pf = f.u64(GET_PROTOCOL_FEATURES)
    f.send(SET_PROTOCOL_FEATURES, struct.pack("<Q", pf & PF_CONFIG))
    f.send(GET_CONFIG, struct.pack("<III", 0, 8, 0) + bytes(8))
    return struct.unpack("<Q", f.recv()[1][12:20])[0]


if __name__ == "__main__":
    # vufront.py capacity SOCK: what shell tests ask of a disk's export
    import sys
    sys.dont_write_bytecode = True
    if len(sys.argv) != 3 or sys.argv[1] != "capacity":
        raise SystemExit("usage: vufront.py capacity SOCKET")
    try:
        print(capacity(sys.argv[2]))
    except (OSError, EOFError) as e:
        raise SystemExit("%s: %s" % (sys.argv[2], e))

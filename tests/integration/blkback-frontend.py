#!/usr/bin/env python3
"""blkback-frontend.py - a vhost-user-blk frontend of our own against the
raw disks xenolith-blkback serves itself (backends/blk/vublk.c), guest
memory a memfd as qemu's is, the request queue's ring built by hand:

  the features and protocol features offered, and the config space
  (capacity, seg_max, blk_size, the discard limits);
  OUT (the data in two descriptors) then IN of the same sectors: the
  used lengths (data and the status byte), status 0, the bytes in the
  image file at sector * 512 and back, the call eventfd signalled (and,
  with EVENT_IDX, not signalled when used_event says not yet), our
  avail_event moved; a header sharing its descriptor with the data and
  a status byte sharing one with it (the layout is free); the last
  sector read (bytes the host wrote); FLUSH 0; GET_ID the vdev padded
  with NULs in 20 bytes; unknown and unoffered types UNSUPP (2); reads
  and a discard past the capacity IOERR (1); DISCARD (offered: mode w,
  discard-enable 1) punching a hole where the filesystem can;
  each of a list of broken rings and messages (a device-readable
  descriptor after a writable one, a descriptor outside guest memory,
  GET_CONFIG of more than 256 bytes or without CONFIG, SET_BACKEND_REQ_FD
  without BACKEND_REQ) closes the connection with a log line that says
  why, the backend's worker stays the same process, and the next
  connection is served;
  with a read-only raw disk (SOCK_RO): RO offered and DISCARD not (even
  with discard-enable 1), an OUT answered IOERR with the file untouched,
  an IN served, DISCARD UNSUPP;
  many requests at once, on a ring of 64 (each request in an indirect
  table of its own): 64 OUTs in one kick, then 64 INs of the same
  sectors (each used once, the data in the image and back); OUTs, a
  FLUSH, then INs in one kick: the FLUSH used after every OUT before it
  and, with the io_uring (URING=1), after the INs behind it (answered out
  of order); GET_VRING_BASE sent right after a kick of 64 large
  requests: the base it reports is the used index (every request taken
  was answered first, none after); the connection closed right after
  such a kick: the backend stays up, every request it took is used with
  its status (the others untouched), and the next connection reads what
  those wrote.

Environment (blkback.sh): SOCK (the rw disk's socket), IMG (its image),
VBD and VDEV (its devid and vdev, as the log names it), DISCARD (1 when
it has discard-enable 1), BB_LOG (the backend's log), BB_PID (its
supervisor, whose worker must never die); optionally SOCK_RO, IMG_RO,
VBD_RO and VDEV_RO (a raw disk of mode r); URING (1 when the backend
serves the disk with an io_uring).  Prints "ok: ..." /
"FAIL: ..."; exit status 0, or 1 on failures.
"""
import ctypes
import ctypes.util
import os
import select
import socket
import struct
import sys
import tempfile

sys.dont_write_bytecode = True          # nothing written into the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vufront import (  # noqa: E402  (the generic half: vufront.py)
    DESC_NEXT, DESC_WRITE, F_EVENT_IDX, F_LOG_ALL, F_PROTOCOL, F_VERSION_1,
    GET_CONFIG, GET_FEATURES, GET_PROTOCOL_FEATURES, GET_VRING_BASE,
    MEM_SIZE, PF_BACKEND_REQ, PF_CONFIG, PF_LOG_SHMFD, PF_REPLY_ACK,
    SET_BACKEND_REQ_FD, SET_FEATURES, SET_LOG_BASE,
    SET_PROTOCOL_FEATURES, UVA, Backend, Frontend, Guest, broken, check,
    drain, exit_status, fail, kick, ok, raw, start, stop, vring_state,
    wait_for)

SOCK = os.environ["SOCK"]
IMG = os.environ["IMG"]
VBD = os.environ["VBD"]
VDEV = os.environ["VDEV"]
DISCARD = os.environ.get("DISCARD") == "1"
URING = os.environ.get("URING") == "1"
BB = Backend(SOCK, os.environ["BB_LOG"], int(os.environ["BB_PID"]))
SOCK_RO = os.environ.get("SOCK_RO")

# virtio-blk (virtio 1.x, 5.2)
BLK_F_SEG_MAX = 1 << 2
BLK_F_RO = 1 << 5
BLK_F_BLK_SIZE = 1 << 6
BLK_F_FLUSH = 1 << 9
BLK_F_DISCARD = 1 << 13
T_IN, T_OUT, T_FLUSH, T_GET_ID, T_DISCARD, T_WRITE_ZEROES = 0, 1, 4, 8, 11, 13
S_OK, S_IOERR, S_UNSUPP = 0, 1, 2
SECTOR = 512
F_INDIRECT = 1 << 28
DESC_INDIRECT = 4
OFFERED = (F_VERSION_1 | F_EVENT_IDX | F_INDIRECT | BLK_F_SEG_MAX |
           BLK_F_BLK_SIZE | BLK_F_FLUSH | F_PROTOCOL | F_LOG_ALL)
SEG_MAX = 510
TABLE = 0x80000                 # an indirect table's place
PROTOCOL = PF_REPLY_ACK | PF_CONFIG | PF_BACKEND_REQ | PF_LOG_SHMFD

# Guest memory: the request queue's ring, then the request's parts.
RINGS = {0: 0x1000}
HDR, STATUS, DATA, DATA2 = 0x10000, 0x10800, 0x20000, 0x40000


class Disk:
    """One connection to a disk's socket as qemu makes it (all that is
    offered acked, EVENT_IDX included), and its request queue."""

    def __init__(self, sock, vbd, vdev, features=~0,
                 protocol=PF_REPLY_ACK | PF_CONFIG):
        self.who = who(vbd, vdev)
        wait_for(lambda: idle(self.who))
        self.g = Guest(rings=RINGS)
        self.f, kicks, calls = start(sock, self.g, features, queues=(0,),
                                     protocol=protocol)
        self.kick, self.call = kicks[0], calls[0]
        self.next = 0                   # the next avail index
        self.used_event = True

    def close(self):
        stop(self.f, [self.kick], [self.call])
        self.g.close()
        if not wait_for(lambda: idle(self.who)):
            fail("%sthe backend did not see the connection end" % self.who)

    def config(self, off=0, size=64):
        self.f.send(GET_CONFIG, struct.pack("<III", off, size, 0) +
                    bytes(size))
        r, p = self.f.recv()
        return p[12:]

    def capacity(self):
        return struct.unpack_from("<Q", self.config())[0]

    def post(self, chain, used_event=True, indirect=False):
        """Puts a chain of (addr, len, writable) buffers in descriptors
        0.. (or, indirect, in a table at TABLE that descriptor 0 names)
        and the avail ring, and kicks; used_event: the interrupt is
        wanted for it (else used_event is put 4 entries ahead)."""
        g = self.g
        table = b""
        for i, (addr, length, w) in enumerate(chain):
            last = i == len(chain) - 1
            flags = (DESC_WRITE if w else 0) | (0 if last else DESC_NEXT)
            nxt = 0 if last else i + 1
            if indirect:
                table += struct.pack("<QIHH", addr, length, flags, nxt)
            else:
                g.desc(0, i, addr, length, flags, nxt)
        if indirect:
            g.write(TABLE, table)
            g.desc(0, 0, TABLE, len(table), DESC_INDIRECT)
        g.set_used_event(0, (g.used_idx(0) + (0 if used_event else 4))
                         & 0xffff)
        drain(self.call)
        g.avail(0, (self.next + 1) & 0xffff, [(self.next, 0)])
        self.next = (self.next + 1) & 0xffff
        kick(self.kick)
        self.used_event = used_event

    def wait(self):
        """Waits for the chain posted last to be used: (used length,
        whether the call fd was signalled, as used_event asked or not),
        or None when it was not used within 5 s."""
        g = self.g
        if not wait_for(lambda: g.used_idx(0) == self.next):
            return None
        head, length = g.used(0, (self.next - 1) & 0xffff)
        if head != 0:
            fail("%sthe used entry names descriptor %d, not 0" %
                 (self.who, head))
        if self.used_event:
            called = wait_for(lambda: drain(self.call), 2)
        else:
            called = bool(select.select([self.call], [], [], 0.3)[0])
        drain(self.call)
        return length, called

    def request(self, typ, sector, out=(), ins=(), used_event=True,
                indirect=False):
        """One request: the header, out's (addr, bytes) device-readable,
        ins's (addr, len) device-writable, then the status byte.
        (used length, status, whether the call fd was signalled); None
        when the chain was not used within 5 s."""
        g = self.g
        g.write(HDR, struct.pack("<IIQ", typ, 0, sector))
        g.write(STATUS, b"\xee")
        chain = [(HDR, 16, False)]
        for addr, data in out:
            g.write(addr, data)
            chain.append((addr, len(data), False))
        for addr, n in ins:
            g.write(addr, b"\xaa" * n)
            chain.append((addr, n, True))
        chain.append((STATUS, 1, True))
        self.post(chain, used_event, indirect)
        r = self.wait()
        return r and (r[0], g.read(STATUS, 1)[0], r[1])


def image(path, off, n):
    with open(path, "rb") as f:
        f.seek(off)
        return f.read(n)


def put_image(path, off, data):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, off)
    finally:
        os.close(fd)


def can_punch(where):
    """Whether the filesystem holding where punches holes (a discard is
    a hint: where it cannot, vublk keeps the data)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long,
                               ctypes.c_long]
    with tempfile.TemporaryFile(dir=where) as f:
        f.write(b"x" * 8192)
        f.flush()
        # FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
        if libc.fallocate(f.fileno(), 3, 0, 4096) != 0:
            return False
        f.seek(0)
        return f.read(4096) == bytes(4096)


def who(vbd, vdev):
    """How the backend's log names a disk."""
    return "vbd %s (%s): " % (vbd, vdev)


def idle(w):
    """Whether the backend has seen the end of every connection to disk
    w (it serves one frontend at a time: a new one is refused while the
    last is still served); or the worker died (which fails the test
    elsewhere: the waits need not go on)."""
    lines = [s for s in BB.log_since(0).splitlines() if w in s]
    return (sum("vhost-user frontend connected" in s for s in lines) ==
            sum("vhost-user connection closed" in s for s in lines) or
            not BB.alive())


def features(sock, w):
    """(features, protocol features) offered on a new connection to sock
    (the disk w's)."""
    wait_for(lambda: idle(w))
    f = Frontend(sock)
    try:
        return f.u64(GET_FEATURES), f.u64(GET_PROTOCOL_FEATURES)
    finally:
        f.close()
        if not wait_for(lambda: idle(w)):
            fail("%sthe backend did not see the connection end" % w)


def served(what):
    """A new connection to the rw disk gets its features."""
    try:
        feats = features(SOCK, who(VBD, VDEV))[0]
        check(feats & OFFERED == OFFERED, "%s: a new connection is served "
              "(features 0x%x)" % (what, feats))
    except (OSError, EOFError) as e:
        fail("%s: a new connection: %s" % (what, e))

# ---------------------------------------------------------------- checks


def negotiation():
    feats, pf = features(SOCK, who(VBD, VDEV))
    want = OFFERED | (BLK_F_DISCARD if DISCARD else 0)
    check(feats == want, "negotiation: features 0x%x offered (VERSION_1, "
          "EVENT_IDX, INDIRECT_DESC, SEG_MAX, BLK_SIZE, FLUSH, "
          "PROTOCOL_FEATURES, LOG_ALL%s; no RO)"
          % (feats, ", DISCARD" if DISCARD else ""), "want 0x%x" % want)
    check(pf == PROTOCOL, "negotiation: protocol features 0x%x (REPLY_ACK, "
          "CONFIG, BACKEND_REQ, LOG_SHMFD)" % pf, "want 0x%x" % PROTOCOL)

    d = Disk(SOCK, VBD, VDEV)
    cfg = d.config()
    cap, seg_max, blk_size = (struct.unpack_from("<Q", cfg)[0],
                              struct.unpack_from("<I", cfg, 12)[0],
                              struct.unpack_from("<I", cfg, 20)[0])
    size = os.path.getsize(IMG)
    check(cap == size // SECTOR and seg_max == SEG_MAX and blk_size == 512,
          "config: capacity %d (the image's %d bytes), seg_max %d, "
          "blk_size %d" % (cap, size, seg_max, blk_size))
    mds, mdseg, align = struct.unpack_from("<III", cfg, 36)
    if DISCARD:
        check(mds > 0 and mdseg > 0 and align == 1,
              "config: discard limits %d sectors, %d segments, alignment "
              "%d" % (mds, mdseg, align))
    else:
        check((mds, mdseg, align) == (0, 0, 0),
              "config: no discard limits", "%r" % ((mds, mdseg, align),))
    d.close()
    return cap


def data_path(cap):
    d = Disk(SOCK, VBD, VDEV)
    sector = 1000
    data = os.urandom(3 * SECTOR)
    put_image(IMG, (sector - 1) * SECTOR, b"\x11" * SECTOR)
    put_image(IMG, (sector + 3) * SECTOR, b"\x22" * SECTOR)

    # ---- OUT: 1024 bytes in one descriptor, 512 in the next
    r = d.request(T_OUT, sector, out=[(DATA, data[:1024]),
                                      (DATA2, data[1024:])])
    if check(r is not None, "OUT: the chain is used"):
        check(r[:2] == (1, S_OK), "OUT of 3 sectors in two descriptors: "
              "used length 1, status 0", "used length %d, status %d" % r[:2])
        check(r[2], "OUT: the call eventfd is signalled")
    on_disk = image(IMG, sector * SECTOR, len(data))
    check(on_disk == data, "OUT: the image holds the bytes at sector %d * "
          "512" % sector)
    check(image(IMG, (sector - 1) * SECTOR, SECTOR) == b"\x11" * SECTOR and
          image(IMG, (sector + 3) * SECTOR, SECTOR) == b"\x22" * SECTOR,
          "OUT: the sectors either side are untouched")
    check(d.g.avail_event(0) == d.next, "EVENT_IDX: avail_event %d is our "
          "next avail index" % d.g.avail_event(0), "want %d" % d.next)

    # ---- IN: 512 then 1024 bytes, the status byte in a third
    r = d.request(T_IN, sector, ins=[(DATA2, 512), (DATA, 1024)])
    if check(r is not None, "IN: the chain is used"):
        got = d.g.read(DATA2, 512) + d.g.read(DATA, 1024)
        check(r[:2] == (len(data) + 1, S_OK) and got == data,
              "IN of the same sectors: used length %d (data and status), "
              "status 0, the bytes written" % r[0],
              "used length %d, status %d, equal %r" % (r[0], r[1],
                                                       got == data))
        check(r[2], "IN: the call eventfd is signalled")

    # ---- the layout is free: header and data in one descriptor; the
    # last sector and the status byte in one
    more = os.urandom(SECTOR)
    g = d.g
    g.write(HDR, struct.pack("<IIQ", T_OUT, 0, sector + 10) + more)
    g.write(STATUS, b"\xee")
    d.post([(HDR, 16 + SECTOR, False), (STATUS, 1, True)])
    r = d.wait()
    check(r is not None and r[0] == 1 and g.read(STATUS, 1) == b"\0" and
          image(IMG, (sector + 10) * SECTOR, SECTOR) == more,
          "OUT with the header and data in one descriptor: status 0, the "
          "image holds it", repr(r))
    g.write(HDR, struct.pack("<IIQ", T_IN, 0, sector))
    g.write(DATA, b"\xaa" * 1024)
    g.write(DATA2, b"\xaa" * SECTOR + b"\xee")
    d.post([(HDR, 16, False), (DATA, 1024, True),
            (DATA2, SECTOR + 1, True)])
    r = d.wait()
    used = r[0] if r else -1
    check(used == 3 * SECTOR + 1 and
          g.read(DATA2 + SECTOR, 1) == b"\0" and
          g.read(DATA, 1024) + g.read(DATA2, SECTOR) == data,
          "IN with the status byte after the data in its last descriptor: "
          "status 0, used length %d, the bytes right" % used)

    # ---- interrupts as used_event asks
    r = d.request(T_FLUSH, 0, used_event=False)
    check(r is not None and r[1] == S_OK and not r[2],
          "EVENT_IDX: no interrupt while used_event is ahead", repr(r))
    r = d.request(T_FLUSH, 0)
    check(r is not None and r[1] == S_OK and r[2],
          "EVENT_IDX: an interrupt once used_event is reached", repr(r))

    # ---- the last sector, as the host wrote it; past the end
    last = os.urandom(SECTOR)
    put_image(IMG, (cap - 1) * SECTOR, last)
    r = d.request(T_IN, cap - 1, ins=[(DATA, SECTOR)])
    check(r is not None and r[:2] == (SECTOR + 1, S_OK) and
          g.read(DATA, SECTOR) == last,
          "IN of the last sector (%d): the bytes the host wrote" % (cap - 1),
          repr(r and r[:2]))
    r = d.request(T_IN, cap - 1, ins=[(DATA, 2 * SECTOR)])
    check(r is not None and r[:2] == (1, S_IOERR),
          "IN of 2 sectors from the last: status 1 (IOERR), used length 1",
          repr(r and r[:2]))
    r = d.request(T_IN, cap, ins=[(DATA, SECTOR)])
    check(r is not None and r[:2] == (1, S_IOERR),
          "IN at sector %d (the capacity): status 1 (IOERR)" % cap,
          repr(r and r[:2]))
    r = d.request(T_OUT, cap, out=[(DATA, b"x" * SECTOR)])
    check(r is not None and r[:2] == (1, S_IOERR) and
          os.path.getsize(IMG) == cap * SECTOR,
          "OUT at sector %d: status 1 (IOERR), the image not grown" % cap,
          repr(r and r[:2]))
    r = d.request(T_IN, sector, ins=[(DATA, 100)])
    check(r is not None and r[:2] == (1, S_IOERR),
          "IN of 100 bytes (not whole sectors): status 1 (IOERR)",
          repr(r and r[:2]))

    # ---- FLUSH, GET_ID, unknown types
    r = d.request(T_FLUSH, 0)
    check(r is not None and r[:2] == (1, S_OK), "FLUSH: status 0",
          repr(r and r[:2]))
    r = d.request(T_GET_ID, 0, ins=[(DATA, 20)])
    ident = g.read(DATA, 20)
    want = VDEV.encode() + bytes(20 - len(VDEV))
    check(r is not None and r[:2] == (21, S_OK) and ident == want,
          "GET_ID: %r, padded with NULs to 20 bytes, used length 21"
          % VDEV, "%r, %r" % (r and r[:2], ident))
    for typ, what in ((99, "an unknown type (99)"),
                      (T_WRITE_ZEROES, "WRITE_ZEROES (not offered)")):
        r = d.request(typ, 0, ins=[(DATA, SECTOR)])
        check(r is not None and r[:2] == (1, S_UNSUPP),
              "%s: status 2 (UNSUPP)" % what, repr(r and r[:2]))

    # ---- DISCARD
    dsec = 4000
    put_image(IMG, dsec * SECTOR, b"\x33" * (16 * SECTOR))
    seg = struct.pack("<QII", dsec, 8, 0)
    r = d.request(T_DISCARD, 0, out=[(DATA, seg)])
    if not DISCARD:
        check(r is not None and r[:2] == (1, S_UNSUPP) and
              image(IMG, dsec * SECTOR, 16 * SECTOR) == b"\x33" * 16 * SECTOR,
              "DISCARD (not offered): status 2 (UNSUPP), the data kept",
              repr(r and r[:2]))
    else:
        check(r is not None and r[:2] == (1, S_OK),
              "DISCARD of sectors %d-%d: status 0" % (dsec, dsec + 7),
              repr(r and r[:2]))
        if can_punch(os.path.dirname(IMG)):
            check(image(IMG, dsec * SECTOR, 8 * SECTOR) == bytes(8 * SECTOR)
                  and image(IMG, (dsec + 8) * SECTOR, 8 * SECTOR) ==
                  b"\x33" * 8 * SECTOR,
                  "DISCARD: those sectors read zeros now, the next 8 not")
        else:
            ok("DISCARD: (the filesystem punches no holes: data not "
               "checked)")
        r = d.request(T_DISCARD, 0, out=[(DATA, struct.pack("<QII", cap - 4,
                                                            8, 0))])
        check(r is not None and r[:2] == (1, S_IOERR),
              "DISCARD past the capacity: status 1 (IOERR)",
              repr(r and r[:2]))
        r = d.request(T_DISCARD, 0, out=[(DATA, struct.pack("<QII", 8, 8,
                                                            1))])
        check(r is not None and r[:2] == (1, S_UNSUPP),
              "DISCARD with the unmap flag: status 2 (UNSUPP, virtio 1.1 "
              "5.2.6.2)", repr(r and r[:2]))

    # ---- a chain with no writable buffer: used, empty; the queue goes on
    g.write(HDR, struct.pack("<IIQ", T_FLUSH, 0, 0))
    d.post([(HDR, 16, False)])
    r0 = d.wait()
    r = d.request(T_FLUSH, 0)
    check(r0 is not None and r0[0] == 0 and r is not None and
          r[:2] == (1, S_OK),
          "a request without a status byte: used with length 0, and the "
          "next one served", "%r, %r" % (r0, r))

    # ---- a request in an indirect table, longer than the ring (128):
    # 200 buffers of 512 bytes written, then read back the same way
    data = os.urandom(200 * SECTOR)
    outs = [(DATA + i * SECTOR, data[i * SECTOR:(i + 1) * SECTOR])
            for i in range(200)]
    r = d.request(T_OUT, 4096, out=outs, indirect=True)
    check(r is not None and r[:2] == (1, S_OK) and
          image(IMG, 4096 * SECTOR, len(data)) == data,
          "an indirect OUT of 200 buffers (longer than the ring): status "
          "0, the image holds the data", repr(r))
    ins = [(DATA2 + i * 1024, SECTOR) for i in range(200)]
    r = d.request(T_IN, 4096, ins=ins, indirect=True)
    back = b"".join(g.read(DATA2 + i * 1024, SECTOR) for i in range(200))
    check(r is not None and r[:2] == (len(data) + 1, S_OK) and
          back == data,
          "an indirect IN of 200 buffers: used length %d, the same data"
          % (len(data) + 1), repr(r and r[:2]))
    d.close()


class Deep:
    """A connection whose request queue has 64 entries, each request
    in an indirect table of its own (descriptor i names table i), so
    that 64 are in flight at once: guest memory of 16 MiB, the ring at
    DEEP_RING (avail +0x100, used +0x200, as vufront.py lays them out),
    its descriptors at DEEP_DESC."""
    N = 64
    MEM = 16 << 20
    DEEP_RING, DEEP_DESC = 0x1000, 0x2000
    TABLES, HDRS, STATUSES = 0x4000, 0x20000, 0x21000
    DATA, CHUNK = 0x100000, 0x20000     # request i's data: 128 KiB each

    def __init__(self):
        self.who = who(VBD, VDEV)
        wait_for(lambda: idle(self.who))
        self.g = Guest(size=self.MEM, rings={0: self.DEEP_RING},
                       qsize=self.N)
        self.f, kicks, calls = start(
            SOCK, self.g, ~0, queues=(0,),
            desc={0: UVA + self.DEEP_DESC},
            protocol=PF_REPLY_ACK | PF_CONFIG)
        self.kick, self.call = kicks[0], calls[0]
        self.next = 0

    def close(self):
        stop(self.f, [self.kick], [self.call])
        self.g.close()
        if not wait_for(lambda: idle(self.who)):
            fail("%sthe backend did not see the connection end" % self.who)

    def data(self, i):
        return self.DATA + i * self.CHUNK

    def status(self, i):
        return self.g.read(self.STATUSES + i, 1)[0]

    def post(self, reqs):
        """reqs[i] = (type, sector, outs, ins) as request i (descriptor
        i): outs (addr, bytes) device-readable, ins (addr, len)
        device-writable, before the status byte.  All made available at
        once, then one kick.  The avail index they end at."""
        g = self.g
        entries = []
        for i, (typ, sector, outs, ins) in enumerate(reqs):
            hdr, st = self.HDRS + 16 * i, self.STATUSES + i
            g.write(hdr, struct.pack("<IIQ", typ, 0, sector))
            g.write(st, b"\xee")
            chain = [(hdr, 16, 0)]
            for addr, data in outs:
                g.write(addr, data)
                chain.append((addr, len(data), 0))
            for addr, n in ins:
                g.write(addr, b"\xaa" * n)
                chain.append((addr, n, DESC_WRITE))
            chain.append((st, 1, DESC_WRITE))
            table = b"".join(
                struct.pack("<QIHH", a, n, fl | (DESC_NEXT if k + 1 <
                                                 len(chain) else 0),
                            k + 1 if k + 1 < len(chain) else 0)
                for k, (a, n, fl) in enumerate(chain))
            tab = self.TABLES + 0x400 * i
            g.write(tab, table)
            struct.pack_into("<QIHH", g.m, self.DEEP_DESC + 16 * i, tab,
                             len(table), DESC_INDIRECT, 0)
            entries.append(((self.next + i) & 0xffff, i))
        g.set_used_event(0, g.used_idx(0))
        drain(self.call)
        self.next = (self.next + len(reqs)) & 0xffff
        g.avail(0, self.next, entries)
        kick(self.kick)
        return self.next

    def used_since(self, first):
        """The used entries from index first to the used index: [(head,
        length)]."""
        g = self.g
        n = (g.used_idx(0) - first) & 0xffff
        return [g.used(0, (first + k) & 0xffff) for k in range(n)]

    def run(self, reqs):
        """post(reqs), then waits for all to be used: their used entries
        in the order used, or None (not all within 10 s)."""
        first = self.g.used_idx(0)
        end = self.post(reqs)
        if not wait_for(lambda: self.g.used_idx(0) == end, 10):
            return None
        return self.used_since(first)


def in_order(used):
    """Whether the used entries name their heads in posting order."""
    return [h for h, _ in used] == sorted(h for h, _ in used)


def many():
    n = Deep.N
    d = Deep()
    base = 20000                        # sectors, 256 per request
    span = Deep.CHUNK // SECTOR
    datas = [os.urandom(Deep.CHUNK) for _ in range(n)]
    half = Deep.CHUNK // 2

    # ---- 64 OUTs in one kick, each in two buffers
    used = d.run([(T_OUT, base + i * span,
                   [(d.data(i), datas[i][:half]),
                    (d.data(i) + half, datas[i][half:])], [])
                  for i in range(n)])
    if check(used is not None, "%d OUTs of 128 KiB in one kick: all used"
             % n):
        heads = sorted(h for h, _ in used)
        check(heads == list(range(n)) and all(ln == 1 for _, ln in used)
              and all(d.status(i) == S_OK for i in range(n)),
              "%d OUTs: each used once, length 1, status 0 (%s)" %
              (n, "in order" if in_order(used) else "out of order"),
              repr(used))
        bad = [i for i in range(n) if image(IMG, (base + i * span) * SECTOR,
                                            Deep.CHUNK) != datas[i]]
        check(not bad, "%d OUTs: the image holds each one's data" % n,
              "wrong: %r" % bad)

    # ---- 64 INs of the same sectors, in reverse order, in one kick
    used = d.run([(T_IN, base + (n - 1 - i) * span, [],
                   [(d.data(i), half), (d.data(i) + half, half)])
                  for i in range(n)])
    if check(used is not None, "%d INs of 128 KiB in one kick: all used"
             % n):
        check(sorted(h for h, _ in used) == list(range(n)) and
              all(ln == Deep.CHUNK + 1 for _, ln in used) and
              all(d.status(i) == S_OK for i in range(n)),
              "%d INs: each used once, length %d, status 0 (%s)" %
              (n, Deep.CHUNK + 1, "in order" if in_order(used) else
               "out of order"), repr(used[:4]))
        bad = [i for i in range(n)
               if d.g.read(d.data(i), Deep.CHUNK) != datas[n - 1 - i]]
        check(not bad, "%d INs: each read its sectors' data" % n,
              "wrong: %r" % bad)

    # ---- OUTs, a FLUSH, INs (of sectors written above: cached)
    nw, nr = 16, 8
    fresh = [os.urandom(Deep.CHUNK) for _ in range(nw)]
    wbase = base + n * span
    reqs = [(T_OUT, wbase + i * span, [(d.data(i), fresh[i])], [])
            for i in range(nw)]
    reqs.append((T_FLUSH, 0, [], []))
    reqs += [(T_IN, base + i * span, [], [(d.data(nw + 1 + i), SECTOR)])
             for i in range(nr)]
    used = d.run(reqs)
    if check(used is not None, "%d OUTs, a FLUSH, %d INs in one kick: all "
             "used" % (nw, nr)):
        order = [h for h, _ in used]
        fpos = order.index(nw) if nw in order else -1
        check(sorted(order) == list(range(nw + 1 + nr)) and
              all(d.status(i) == S_OK for i in range(nw + 1 + nr)),
              "OUTs, FLUSH, INs: each used once, status 0", repr(used))
        check(fpos >= 0 and all(order.index(i) < fpos for i in range(nw)),
              "FLUSH: used after each of the %d OUTs taken before it" % nw,
              "used order %r" % order)
        check(all(image(IMG, (wbase + i * span) * SECTOR, Deep.CHUNK) ==
                  fresh[i] for i in range(nw)),
              "OUTs before the FLUSH: the image holds their data")
        check(all(d.g.read(d.data(nw + 1 + i), SECTOR) ==
                  datas[i][:SECTOR] for i in range(nr)),
              "INs after the FLUSH: the data right")
        if URING:
            check(fpos > 0 and any(order.index(nw + 1 + i) < fpos
                                   for i in range(nr)),
                  "FLUSH: INs behind it were used before it (answered out "
                  "of order)", "used order %r" % order)
        else:
            ok("FLUSH: (no io_uring: requests are answered in order)")

    # ---- GET_VRING_BASE right after a kick of 64 requests (32 OUTs of
    # 128 KiB, 32 INs): what it reports is the used index
    first = d.g.used_idx(0)
    more = [os.urandom(Deep.CHUNK) for _ in range(n // 2)]
    reqs = [(T_OUT, wbase + i * span, [(d.data(i), more[i])], [])
            for i in range(n // 2)]
    reqs += [(T_IN, base + i * span, [], [(d.data(n // 2 + i), Deep.CHUNK)])
             for i in range(n // 2)]
    d.post(reqs)
    d.f.send(GET_VRING_BASE, vring_state(0, 0))
    r, p = d.f.recv()
    q, vbase = struct.unpack("<II", p)
    now = d.g.used_idx(0)
    taken = (vbase - first) & 0xffff
    used = d.used_since(first)
    heads = sorted(h for h, _ in used)
    check(vbase == now and heads == list(range(taken)) and
          all(d.status(i) == S_OK for i in range(taken)) and
          all(d.status(i) == 0xee for i in range(taken, n)),
          "GET_VRING_BASE right after a kick of %d: base %d is the used "
          "index (%d taken, each answered before the reply)" %
          (n, vbase, taken), "used index %d, used %r" % (now, used))
    d.close()

    # ---- the connection closed right after a kick of 64
    d = Deep()
    mark = BB.log_size()
    more = [os.urandom(Deep.CHUNK) for _ in range(n // 2)]
    reqs = [(T_OUT, wbase + i * span, [(d.data(i), more[i])], [])
            for i in range(n // 2)]
    reqs += [(T_IN, base + i * span, [], [(d.data(n // 2 + i), Deep.CHUNK)])
             for i in range(n // 2)]
    first = d.g.used_idx(0)
    d.post(reqs)
    g = d.g
    stop(d.f, [d.kick], [d.call])       # guest memory stays ours to read
    if not wait_for(lambda: idle(d.who)):
        fail("disconnect: the backend did not see the connection end")
    check(BB.alive(), "disconnect with requests in flight: the backend's "
          "worker lives")
    used = d.used_since(first)
    done = sorted(h for h, _ in used)
    check(len(set(done)) == len(done) and
          all(d.status(i) == (S_OK if i in done else 0xee)
              for i in range(n)),
          "disconnect: each request taken (%d) used with status 0, the "
          "others untouched" % len(done), "used %r" % used)
    wrote = [i for i in done if i < n // 2]
    check(all(image(IMG, (wbase + i * span) * SECTOR, Deep.CHUNK) == more[i]
              for i in wrote),
          "disconnect: the %d OUTs taken are in the image" % len(wrote))
    check("connection closed" in BB.log_since(mark) or
          "frontend closed it" in BB.log_since(mark),
          "disconnect: logged")
    g.close()
    d = Deep()
    used = d.run([(T_IN, wbase + i * span, [], [(d.data(i), Deep.CHUNK)])
                  for i in range(n // 2)])
    check(used is not None and
          all(d.g.read(d.data(i), Deep.CHUNK) == more[i] for i in wrote),
          "disconnect: the next connection is served, reads what the "
          "OUTs taken wrote")
    d.close()


def ring(setup):
    """A started disk connection whose request queue setup(g) breaks,
    kicked."""
    def action(g):
        # (broken()'s guest has queue 0's ring where RINGS has it)
        f, kicks, calls = start(SOCK, g, ~0, queues=(0,),
                                protocol=PF_REPLY_ACK | PF_CONFIG)
        setup(g)
        kick(kicks[0])
        return f, kicks, calls
    return action


def malformed():
    w = who(VBD, VDEV)

    def case(what, expect, action):
        wait_for(lambda: idle(w))
        mark = BB.log_size()
        if broken(BB, what, expect, action):
            check(any(w + "vhost-user connection closed: " in s and
                      expect in s for s in BB.log_since(mark).splitlines()),
                  "%s: the log line names the disk (%s)" % (what, w.strip()))
        served(what)

    def readable_after_writable(g):
        g.desc(0, 0, HDR, 16, DESC_NEXT, 1)
        g.desc(0, 1, DATA, SECTOR, DESC_WRITE | DESC_NEXT, 2)
        g.desc(0, 2, DATA2, SECTOR, DESC_NEXT, 3)
        g.desc(0, 3, STATUS, 1, DESC_WRITE)
        g.write(HDR, struct.pack("<IIQ", T_IN, 0, 0))
        g.avail(0, 1, [(0, 0)])
    case("a device-readable descriptor after a writable one",
         "the request queue: descriptor 2 is device-readable after a "
         "device-writable one in the chain from 0",
         ring(readable_after_writable))

    def outside(g):
        g.desc(0, 0, HDR, 16, DESC_NEXT, 1)
        g.desc(0, 1, MEM_SIZE - 256, SECTOR, DESC_WRITE | DESC_NEXT, 2)
        g.desc(0, 2, STATUS, 1, DESC_WRITE)
        g.write(HDR, struct.pack("<IIQ", T_IN, 0, 0))
        g.avail(0, 1, [(0, 0)])
    case("a descriptor running past guest memory",
         "the request queue: descriptor 1 (0x%x, 512 bytes) is not in "
         "guest memory" % (MEM_SIZE - 256), ring(outside))

    def far_outside(g):
        g.desc(0, 0, HDR, 16, DESC_NEXT, 1)
        g.desc(0, 1, UVA, SECTOR, DESC_WRITE | DESC_NEXT, 2)
        g.desc(0, 2, STATUS, 1, DESC_WRITE)
        g.write(HDR, struct.pack("<IIQ", T_IN, 0, 0))
        g.avail(0, 1, [(0, 0)])
    case("a descriptor at a user address, not a guest one",
         "descriptor 1 (0x%x, 512 bytes) is not in guest memory" % UVA,
         ring(far_outside))

    def indirect_with_next(g):
        g.write(TABLE, struct.pack("<QIHH", HDR, 16, 0, 0))
        g.desc(0, 0, TABLE, 16, DESC_INDIRECT | DESC_NEXT, 1)
        g.desc(0, 1, STATUS, 1, DESC_WRITE)
        g.avail(0, 1, [(0, 0)])
    case("an indirect descriptor with a next one",
         "descriptor 0 is indirect and has a next one",
         ring(indirect_with_next))

    def indirect_ragged(g):
        g.desc(0, 0, TABLE, 24, DESC_INDIRECT)
        g.avail(0, 1, [(0, 0)])
    case("an indirect table of 24 bytes",
         "descriptor 0's indirect table of 24 bytes is not 1 to",
         ring(indirect_ragged))

    def indirect_nested(g):
        g.write(TABLE, struct.pack("<QIHH", HDR, 16, DESC_NEXT, 1) +
                struct.pack("<QIHH", TABLE, 32, DESC_INDIRECT, 0))
        g.desc(0, 0, TABLE, 32, DESC_INDIRECT)
        g.avail(0, 1, [(0, 0)])
    case("an indirect descriptor inside an indirect table",
         "descriptor 1 is indirect, which only the head in the ring may be",
         ring(indirect_nested))

    def indirect_outside(g):
        g.desc(0, 0, MEM_SIZE - 16, 32, DESC_INDIRECT)
        g.avail(0, 1, [(0, 0)])
    case("an indirect table running past guest memory",
         "descriptor 0's indirect table (0x%x, 32 bytes) is not in guest "
         "memory" % (MEM_SIZE - 16), ring(indirect_outside))

    def config_big(g):
        f = Frontend(SOCK)
        f.send(SET_PROTOCOL_FEATURES, struct.pack("<Q", PF_CONFIG))
        f.send(GET_CONFIG, struct.pack("<III", 0, 300, 0) + bytes(300))
        return f, [], []
    case("GET_CONFIG of 300 bytes", "GET_CONFIG with a payload of 312 "
         "bytes, not 268", config_big)

    def config_big_header(g):
        f = Frontend(SOCK)
        f.send(SET_PROTOCOL_FEATURES, struct.pack("<Q", PF_CONFIG))
        f.send(GET_CONFIG, struct.pack("<III", 0, 257, 0))
        return f, [], []
    case("GET_CONFIG saying 257 bytes", "GET_CONFIG: 257 bytes at offset "
         "0 in a payload of 12", config_big_header)

    def config_past(g):
        f = Frontend(SOCK)
        f.send(SET_PROTOCOL_FEATURES, struct.pack("<Q", PF_CONFIG))
        f.send(GET_CONFIG, struct.pack("<III", 250, 8, 0) + bytes(8))
        return f, [], []
    case("GET_CONFIG past 256 bytes", "GET_CONFIG: 8 bytes at offset 250",
         config_past)

    case("GET_CONFIG without CONFIG negotiated",
         "GET_CONFIG: the config space was not negotiated",
         raw(SOCK, lambda f, g: f.send(GET_CONFIG, struct.pack(
             "<III", 0, 8, 0) + bytes(8))))

    def backend_req(g):
        f = Frontend(SOCK)
        f.send(SET_PROTOCOL_FEATURES,
               struct.pack("<Q", PF_REPLY_ACK | PF_CONFIG))
        ours, theirs = socket.socketpair()
        f.send(SET_BACKEND_REQ_FD, fds=[theirs.fileno()])
        theirs.close()
        ours.close()
        return f, [], []
    case("SET_BACKEND_REQ_FD without BACKEND_REQ negotiated",
         "SET_BACKEND_REQ_FD: the backend's channel was not negotiated",
         backend_req)

    # ---- after all that, the disk itself still works
    d = Disk(SOCK, VBD, VDEV)
    r = d.request(T_IN, 1000, ins=[(DATA, SECTOR)])
    check(r is not None and r[:2] == (SECTOR + 1, S_OK) and
          d.g.read(DATA, SECTOR) == image(IMG, 1000 * SECTOR, SECTOR),
          "after all that, a new frontend reads the disk", repr(r and r[:2]))
    d.close()


def read_only():
    img, vbd, vdev = (os.environ["IMG_RO"], os.environ["VBD_RO"],
                      os.environ["VDEV_RO"])
    feats = features(SOCK_RO, who(vbd, vdev))[0]
    want = OFFERED | BLK_F_RO
    check(feats == want, "read-only disk: features 0x%x: RO offered, "
          "DISCARD not (though discard-enable is 1)" % feats,
          "want 0x%x" % want)
    d = Disk(SOCK_RO, vbd, vdev)
    cap = d.capacity()
    check(cap == os.path.getsize(img) // SECTOR,
          "read-only disk: capacity %d" % cap)
    before = image(img, 0, 4 * SECTOR)
    r = d.request(T_OUT, 1, out=[(DATA, b"w" * SECTOR)])
    check(r is not None and r[:2] == (1, S_IOERR) and
          image(img, 0, 4 * SECTOR) == before,
          "read-only disk: OUT answers status 1 (IOERR), the image "
          "untouched", repr(r and r[:2]))
    r = d.request(T_IN, 1, ins=[(DATA, 2 * SECTOR)])
    check(r is not None and r[:2] == (2 * SECTOR + 1, S_OK) and
          d.g.read(DATA, 2 * SECTOR) == before[SECTOR:3 * SECTOR],
          "read-only disk: IN reads the image", repr(r and r[:2]))
    r = d.request(T_DISCARD, 0, out=[(DATA, struct.pack("<QII", 1, 1, 0))])
    check(r is not None and r[:2] == (1, S_UNSUPP) and
          image(img, 0, 4 * SECTOR) == before,
          "read-only disk: DISCARD answers status 2 (UNSUPP)",
          repr(r and r[:2]))
    r = d.request(T_FLUSH, 0)
    check(r is not None and r[:2] == (1, S_OK),
          "read-only disk: FLUSH status 0", repr(r and r[:2]))
    d.close()


def dirty_log():
    """LOG_ALL with the log in a memfd (SET_LOG_BASE, answered once
    mapped): an IN marks the pages the backend wrote (the data, the
    status byte, the used ring); with LOG_ALL off again nothing more is
    marked."""
    d = Disk(SOCK, VBD, VDEV, features=~F_LOG_ALL,
             protocol=PF_REPLY_ACK | PF_CONFIG | PF_LOG_SHMFD)
    log = os.memfd_create("log")
    os.ftruncate(log, 4096)
    d.f.send(SET_LOG_BASE, struct.pack("<QQ", 4096, 0), [log])
    r, p = d.f.recv()
    check(r == SET_LOG_BASE and len(p) == 8,
          "dirty log: SET_LOG_BASE answered (%r, %d bytes)" % (r, len(p)))
    feats = d.f.u64(GET_FEATURES)
    d.f.send(SET_FEATURES, struct.pack("<Q", feats), flags=1)

    def marked():
        b = os.pread(log, 4096, 0)
        return {i * 8 + j for i, v in enumerate(b) for j in range(8)
                if v & (1 << j)}

    r = d.request(T_IN, 8, ins=[(DATA, 2 * SECTOR), (DATA2, SECTOR)])
    pages = marked()
    want = {DATA >> 12, DATA2 >> 12, STATUS >> 12,
            (RINGS[0] + 0x200) >> 12}
    check(r is not None and r[1] == S_OK and want <= pages,
          "dirty log: an IN marks the data's pages, the status byte's and "
          "the used ring's (pages %s)" % sorted(pages),
          "want %s; %r" % (sorted(want), r))
    os.pwrite(log, bytes(4096), 0)
    d.f.send(SET_FEATURES, struct.pack("<Q", feats & ~F_LOG_ALL), flags=1)
    r = d.request(T_IN, 8, ins=[(DATA, SECTOR)])
    check(r is not None and r[1] == S_OK and not marked(),
          "dirty log: with LOG_ALL off, nothing is marked",
          str(sorted(marked())))
    os.close(log)
    d.close()


def main():
    if not BB.worker:
        fail("no worker under the backend's supervisor (pid %d)" % BB.sup)
        return
    cap = negotiation()
    data_path(cap)
    many()
    dirty_log()
    malformed()
    if SOCK_RO:
        read_only()
    check(BB.alive(), "the backend's worker (pid %r) is alive, never "
          "restarted" % BB.worker)


if __name__ == "__main__":
    try:
        main()
    except (OSError, EOFError, AssertionError) as e:
        fail("the frontend stopped: %r" % e)
    sys.exit(exit_status())

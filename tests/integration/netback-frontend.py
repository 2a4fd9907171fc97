#!/usr/bin/env python3
"""netback-frontend.py - a vhost-user frontend of our own against one of
xenolith-netback's sockets, guest memory a memfd as qemu's is:

  a tx chain (header and frame in two descriptors) comes out of the tap,
  the call eventfd signalled; a 400-byte frame sent into the tap lands
  in 128-byte rx buffers, merged (num_buffers 4, the used lengths and
  the bytes right); a frame too big for every posted buffer waits, and
  goes once more buffers come;
  the offloads, through TCP connections between the host's stack (an
  address on the tap) and a TCP of our own in the frontend: a frontend
  that accepts GUEST_CSUM/TSO4/TSO6/ECN turns the tap's checksum and
  TSO on, and the host's segments arrive as GSO frames bigger than
  1514 bytes whose header (gso_type, gso_size, csum_start/offset,
  hdr_len, num_buffers) is right and whose partial checksum completes
  to a right one, merged over 4 KiB buffers or in one long chain
  without MRG_RXBUF; a frontend that accepts none turns them off and
  gets nothing bigger than 1514 bytes, no GSO type and no partial
  checksum, every checksum right; a HOST_TSO4 frame of 6000 bytes of
  the frontend's reaches the host's socket intact; a tx header that
  breaks what was negotiated (a GSO type without HOST_TSO4, a checksum
  past the frame, NEEDS_CSUM without CSUM) is dropped with a log line,
  its chain used, and the next frame goes out;
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
status 0, or 1 on failures.  The generic vhost-user half (guest memory,
rings, messages, the broken-connection check) is vufront.py's.
"""
import os
import select
import socket
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True          # nothing written into the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vufront import (  # noqa: E402  (the generic half: vufront.py)
    DESC_NEXT, DESC_WRITE, F_EVENT_IDX, F_PROTOCOL, F_VERSION_1,
    GET_FEATURES, MEM_SIZE, QSIZE, SET_FEATURES, SET_MEM_TABLE,
    SET_VRING_CALL, SET_VRING_NUM, UVA, Backend, Frontend, Guest, check,
    exit_status, fail, if_offloads, kick, mem_table, ok, stop, vring_state,
    wait_for)
import vufront  # noqa: E402

SOCK = os.environ["SOCK"]
TAP = os.environ["TAP"]
NB = Backend(SOCK, os.environ["NB_LOG"], int(os.environ["NB_PID"]))
WORKER = NB.worker

F_MRG_RXBUF = 1 << 15
(F_CSUM, F_GUEST_CSUM, F_GUEST_TSO4, F_GUEST_TSO6, F_GUEST_ECN,
 F_HOST_TSO4, F_HOST_TSO6, F_HOST_ECN) = (1 << 0, 1 << 1, 1 << 7, 1 << 8,
                                          1 << 9, 1 << 11, 1 << 12, 1 << 13)
F_OFFLOADS = (F_CSUM | F_GUEST_CSUM | F_GUEST_TSO4 | F_GUEST_TSO6 |
              F_GUEST_ECN | F_HOST_TSO4 | F_HOST_TSO6 | F_HOST_ECN)
F_UFO = 1 << 10 | 1 << 14       # GUEST_UFO, HOST_UFO: never offered
NEEDS_CSUM = 1
GSO_NONE, GSO_TCPV4 = 0, 1
ETH_P_ALL = 3


def start(g, features=F_VERSION_1 | F_MRG_RXBUF | F_PROTOCOL, desc=None):
    """A frontend as qemu starts one; (frontend, kick fds, call fds)."""
    return vufront.start(SOCK, g, features,
                         desc=None if desc is None else {1: desc})


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


# ---------------------------------------------------------------- offloads
#
# The host's TCP on the tap (HOST_IP, a permanent neighbour entry for
# the frontend's address) against a TCP of our own in the frontend:
# just enough of one to open a connection and move one burst of data.

HOST_IP, FRONT_IP = "10.98.0.1", "10.98.0.2"
HOST_MAC = bytes.fromhex("feffffffffff")        # the tap's
FRONT_MAC = bytes.fromhex("00163e000005")
MSS = 1460
SYN, RST, PSH, ACK = 0x02, 0x04, 0x08, 0x10
RXBUF = 0x1000                  # merged rx buffers: QSIZE of 4 KiB
CHAIN = 5                       # or one chain of 5 x 16 KiB
RX_BASE, TX_HDR, TX_DATA = 0x40000, 0x80000, 0x80100


def csum16(data):
    """The folded one's complement sum of data (16-bit big-endian
    words)."""
    if len(data) % 2:
        data += b"\0"
    n = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while n >> 16:
        n = (n & 0xffff) + (n >> 16)
    return n


def pseudo(ip, seglen):
    """TCP's IPv4 pseudo-header for the packet ip."""
    return ip[12:20] + struct.pack("!BBH", 0, 6, seglen)


def tcp_frame(sport, dport, seq, ack, flags, payload=b"", opts=b"",
              partial=False):
    """An Ethernet frame from the frontend to the host: IPv4 and TCP,
    the TCP checksum complete, or (partial) only the pseudo-header's
    sum in it, as a sender that leaves the rest to the device."""
    src, dst = socket.inet_aton(FRONT_IP), socket.inet_aton(HOST_IP)
    th = struct.pack("!HHIIBBHHH", sport, dport, seq, ack,
                     (20 + len(opts)) // 4 << 4, flags, 65535, 0, 0) + opts
    seg = th + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(seg), 1, 0x4000,
                     64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", 0xffff - csum16(ip)) + ip[12:]
    c = csum16(pseudo(ip, len(seg)))
    if not partial:
        c = 0xffff - csum16(pseudo(ip, len(seg)) + seg)
    seg = seg[:16] + struct.pack("!H", c) + seg[18:]
    return HOST_MAC + FRONT_MAC + b"\x08\x00" + ip + seg


def tcp_parse(frame):
    """(sport, dport, seq, ack, flags, payload, checksum right) of an
    IPv4 TCP frame, or None."""
    if len(frame) < 54 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return None
    ip = frame[14:]
    ihl = (ip[0] & 15) * 4
    seg = ip[ihl:struct.unpack("!H", ip[2:4])[0]]
    sport, dport, seq, ack, off, flags = struct.unpack("!HHIIBB", seg[:14])
    return (sport, dport, seq, ack, flags, seg[(off >> 4) * 4:],
            csum16(pseudo(ip, len(seg)) + seg) == 0xffff)


def complete_csum(frame, start, offset):
    """frame with its partial checksum completed, as the guest's stack
    would: the sum from start on, complemented, at start + offset."""
    c = 0xffff - csum16(frame[start:])
    at = start + offset
    return frame[:at] + struct.pack("!H", c) + frame[at + 2:]


class Net:
    """A frontend on SOCK as a virtio-net driver: features asked, rx
    buffers kept posted (merged: QSIZE of RXBUF bytes; else one chain of
    CHAIN descriptors of 16 KiB, as Linux posts for GUEST_TSO without
    MRG_RXBUF), frames read off the used ring with their headers, and
    frames sent through the tx ring one at a time."""

    def __init__(self, features):
        self.g = Guest()
        self.mrg = bool(features & F_MRG_RXBUF)
        self.f, self.kicks, self.calls = start(self.g, features)
        # answered after what came before: SET_FEATURES has been served
        self.f.u64(GET_FEATURES)
        self.rx_avail = self.rx_used = self.tx_n = 0
        if self.mrg:
            for i in range(QSIZE):
                self.g.desc(0, i, RX_BASE + RXBUF * i, RXBUF, DESC_WRITE)
            self.post(list(range(QSIZE)))
        else:
            for i in range(CHAIN):
                self.g.desc(0, i, RX_BASE + 0x4000 * i, 0x4000,
                            DESC_WRITE | (DESC_NEXT if i < CHAIN - 1
                                          else 0), i + 1)
            self.post([0])

    def close(self):
        stop(self.f, self.kicks, self.calls)
        self.g.close()

    def post(self, heads):
        self.g.avail(0, self.rx_avail + len(heads),
                     [(self.rx_avail + k, h) for k, h in enumerate(heads)])
        self.rx_avail += len(heads)
        kick(self.kicks[0])

    def _buf(self, head, n):
        base = RX_BASE + (RXBUF if self.mrg else 0x4000) * head
        return self.g.read(base, n)

    def frames(self, secs, enough):
        """(header dict, frame) pairs as they arrive, each one's buffers
        posted again, until enough(list) or secs pass."""
        got = []
        end = time.monotonic() + secs
        while not enough(got) and time.monotonic() < end:
            if self.g.used_idx(0) == self.rx_used & 0xffff:
                time.sleep(0.005)
                continue
            head, n = self.g.used(0, self.rx_used)
            data = self._buf(head, n)
            flags, gso, hlen, gsz, cstart, coff, nbuf = struct.unpack(
                "<BBHHHHH", data[:12])
            heads, used = [head], 1
            while self.mrg and used < nbuf:
                if not wait_for(lambda: (self.g.used_idx(0) -
                                         self.rx_used) & 0xffff > used, 2):
                    break
                h, m = self.g.used(0, self.rx_used + used)
                data += self._buf(h, m)
                heads.append(h)
                used += 1
            self.rx_used += used
            got.append(({"flags": flags, "gso_type": gso, "hdr_len": hlen,
                         "gso_size": gsz, "csum_start": cstart,
                         "csum_offset": coff, "num_buffers": nbuf,
                         "used": used}, data[12:]))
            self.post(heads)
        return got

    def send(self, frame, hdr=None):
        """frame (after hdr: 12 bytes, zero when None) through the tx
        ring; whether the backend used the chain."""
        self.g.write(TX_HDR, hdr or bytes(12))
        self.g.write(TX_DATA, frame)
        self.g.desc(1, 0, TX_HDR, 12, DESC_NEXT, 1)
        self.g.desc(1, 1, TX_DATA, len(frame))
        self.tx_n += 1
        self.g.avail(1, self.tx_n, [(self.tx_n - 1, 0)])
        kick(self.kicks[1])
        return wait_for(lambda: self.g.used_idx(1) == self.tx_n & 0xffff)


def gso_hdr(gso_type, gso_size, csum_start, csum_offset, hdr_len,
            flags=NEEDS_CSUM):
    return struct.pack("<BBHHHHH", flags, gso_type, hdr_len, gso_size,
                       csum_start, csum_offset, 0)


def host_address(on):
    """The host's address on the tap and the frontend's neighbour
    entry (no ARP to answer), or their removal."""
    cmds = ([["ip", "addr", "add", HOST_IP + "/24", "dev", TAP],
             ["ip", "neigh", "replace", FRONT_IP, "lladdr",
              FRONT_MAC.hex(":"), "dev", TAP, "nud", "permanent"]] if on
            else [["ip", "addr", "flush", "dev", TAP],
                  ["ip", "neigh", "flush", "dev", TAP]])
    for c in cmds:
        subprocess.run(c, check=True)


def wait_tcp(n, pred, secs=5):
    """The first TCP frame n receives (parsed) that pred takes, or
    None; frames before it are dropped."""
    def found(got):
        return [t for t in (tcp_parse(fr) for h, fr in got)
                if t and pred(t)]
    got = found(n.frames(secs, lambda got: found(got)))
    return got[0] if got else None


def handshake_from_host(n, port):
    """The host connects to the frontend's port (non-blocking socket,
    closed with a reset); the frontend answers its SYN.  The connected
    socket and the host's next sequence number, or None."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                 struct.pack("ii", 1, 0))
    s.setblocking(False)
    s.connect_ex((FRONT_IP, port))
    syn = wait_tcp(n, lambda t: t[1] == port and t[4] & SYN)
    if not syn:
        fail("offloads: the host's SYN to port %d never reached the "
             "frontend" % port)
        s.close()
        return None
    sport, _, seq = syn[:3]
    n.send(tcp_frame(port, sport, 1000, seq + 1, SYN | ACK,
                     opts=struct.pack("!BBH", 2, 4, MSS)))
    if not select.select([], [s], [], 5)[1] or \
            s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
        fail("offloads: the host's connection to port %d did not open"
             % port)
        s.close()
        return None
    s.setblocking(True)
    return s, seq + 1


def host_to_front(n, port, size):
    """size random bytes from the host's TCP to the frontend: (data,
    [(header, frame, parsed)] of the frames that carried it), or None."""
    hs = handshake_from_host(n, port)
    if hs is None:
        return None
    s, seq0 = hs
    data = os.urandom(size)
    s.sendall(data)

    def payload(got):
        segs = {}
        for h, fr in got:
            t = tcp_parse(fr)
            if t and t[1] == port and t[5]:
                segs[t[2]] = t[5]
        out, at = b"", seq0
        while at in segs:
            out += segs[at]
            at += len(segs[at])
        return out
    got = n.frames(10, lambda got: len(payload(got)) >= size)
    s.close()
    ours = [(h, fr, tcp_parse(fr)) for h, fr in got]
    ours = [x for x in ours if x[2] and x[2][1] == port and x[2][5]]
    if payload(got) != data:
        fail("offloads: %d bytes from the host on port %d: %d came right"
             % (size, port, len(payload(got))))
        return None
    return data, ours


def gso_in(features, port, how):
    """A frontend that accepts the offloads (how: "merged" or "one
    chain") gets the host's segments as GSO frames."""
    n = Net(F_VERSION_1 | F_PROTOCOL | features)
    try:
        check(if_offloads(TAP) == (1, 1), "offloads (%s): the tap's TSO "
              "and checksum offload are on (ethtool: %r)"
              % (how, if_offloads(TAP)))
        r = host_to_front(n, port, 12000)
        if r is None:
            return
        data, frames = r
        big = [x for x in frames if len(x[1]) > 1514]
        if not check(big, "offloads (%s): the host's 12000 bytes came in "
                     "frames of %r bytes, some bigger than 1514"
                     % (how, [len(x[1]) for x in frames])):
            return
        bad = []
        for h, fr, t in big:
            whole = complete_csum(fr, h["csum_start"], h["csum_offset"])
            want_buf = -(-(len(fr) + 12) // RXBUF) if n.mrg else 1
            if (h["gso_type"] != GSO_TCPV4 or h["gso_size"] != MSS or
                    h["flags"] & NEEDS_CSUM == 0 or
                    h["csum_start"] != 34 or h["csum_offset"] != 16 or
                    not 54 <= h["hdr_len"] <= len(fr) or
                    h["num_buffers"] != want_buf or
                    h["used"] != want_buf or not tcp_parse(whole)[6]):
                bad.append((len(fr), h))
        check(not bad, "offloads (%s): each is one GSO frame, gso_type "
              "TCPV4, gso_size %d, NEEDS_CSUM at 34+16 (completing to a "
              "right checksum), hdr_len %s, num_buffers %s"
              % (how, MSS, sorted(set(x[0]["hdr_len"] for x in big)),
                 [x[0]["num_buffers"] for x in big]), repr(bad))
    finally:
        n.close()


def no_gso_in(port):
    """A frontend that accepts no offload never gets a frame bigger
    than 1514 bytes, a GSO type or a partial checksum."""
    n = Net(F_VERSION_1 | F_PROTOCOL | F_MRG_RXBUF)
    try:
        check(if_offloads(TAP) == (0, 0), "no offloads: the tap's TSO and "
              "checksum offload are off (ethtool: %r)"
              % (if_offloads(TAP),))
        r = host_to_front(n, port, 12000)
        if r is None:
            return
        data, frames = r
        bad = [(len(fr), h) for h, fr, t in frames
               if len(fr) > 1514 or h["gso_type"] != GSO_NONE or
               h["flags"] or not t[6]]
        check(not bad, "no offloads: the host's 12000 bytes came in %d "
              "frames of at most 1514 bytes (%d), no GSO type, flags 0, "
              "every checksum right" % (len(frames),
                                        max(len(x[1]) for x in frames)),
              repr(bad[:3]))
    finally:
        n.close()


def tso_out(port):
    """A HOST_TSO4 frame of the frontend's, 6000 bytes in one frame with
    a partial checksum, reaches the host's socket intact."""
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((HOST_IP, port))
    lsock.listen(1)
    lsock.settimeout(5)
    n = Net(F_VERSION_1 | F_PROTOCOL | F_MRG_RXBUF | F_OFFLOADS)
    conn = None
    try:
        n.send(tcp_frame(40001, port, 5000, 0, SYN,
                         opts=struct.pack("!BBH", 2, 4, MSS)))
        sa = wait_tcp(n, lambda t: t[0] == port and t[4] & SYN)
        if not check(sa, "HOST_TSO4: the host answers the frontend's "
                     "SYN"):
            return
        hseq = sa[2] + 1
        n.send(tcp_frame(40001, port, 5001, hseq, ACK))
        conn = lsock.accept()[0]
        conn.settimeout(5)
        data = os.urandom(6000)
        fr = tcp_frame(40001, port, 5001, hseq, ACK | PSH, data,
                       partial=True)
        used = n.send(fr, gso_hdr(GSO_TCPV4, MSS, 34, 16, 54))
        got = b""
        try:
            while len(got) < len(data):
                b = conn.recv(65536)
                if not b:
                    break
                got += b
        except socket.timeout:
            pass
        check(used and got == data, "HOST_TSO4: a frame of %d bytes "
              "(gso_type TCPV4, gso_size %d, a partial checksum) reaches "
              "the host's socket as its %d bytes, intact" % (len(fr), MSS,
                                                            len(data)),
              "used %r, %d bytes came" % (used, len(got)))
    except OSError as e:
        fail("HOST_TSO4: %s" % e)
    finally:
        if conn:
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                            struct.pack("ii", 1, 0))
            conn.close()
        lsock.close()
        n.close()


def bad_header(what, features, hdr, expect):
    """A tx frame whose header breaks what was negotiated: dropped (its
    chain used, nothing on the tap), logged, and the next frame of the
    same connection goes out."""
    mark = NB.log_size()
    pkt = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                        socket.htons(ETH_P_ALL))
    pkt.bind((TAP, 0))
    pkt.settimeout(0.5)
    n = Net(F_VERSION_1 | F_PROTOCOL | F_MRG_RXBUF | features)
    try:
        bad = frame(b"xenolith-badhdr-", 3000)
        used = n.send(bad, hdr(len(bad)))
        good = frame(b"xenolith-after-", 200)
        n.send(good)
        seen = []
        try:
            while True:
                b = pkt.recv(65536)
                if b"xenolith-" in b:
                    seen.append(b)
        except socket.timeout:
            pass
        wait_for(lambda: expect in NB.log_since(mark), 2)
        line = [ln for ln in NB.log_since(mark).splitlines()
                if "dropping tx frames" in ln and expect in ln]
        check(used and line and seen == [good] and NB.alive(),
              "a bad tx header (%s): dropped and logged, the next frame "
              "goes" % what, "used %r, log %r, the tap saw %r"
              % (used, NB.log_since(mark), [s[:20] for s in seen]))
        if line:
            ok("  ... %s" % line[0].split(": ", 2)[-1])
    finally:
        n.close()
        pkt.close()


def offloads():
    try:
        f = Frontend(SOCK)
        feats = f.u64(GET_FEATURES)
        f.close()
    except (OSError, EOFError) as e:
        fail("offloads: GET_FEATURES: %s" % e)
        return
    check(feats & F_OFFLOADS == F_OFFLOADS and not feats & F_UFO,
          "the offloads are offered (CSUM, GUEST_CSUM/TSO4/TSO6/ECN, "
          "HOST_TSO4/TSO6/ECN), UFO is not (features 0x%x)" % feats)
    host_address(True)
    try:
        gso_in(F_MRG_RXBUF | F_OFFLOADS, 5000, "merged")
        no_gso_in(5001)
        gso_in(F_OFFLOADS, 5002, "one chain")
        tso_out(5003)
        bad_header("gso_type TCPV4 without HOST_TSO4", F_CSUM,
                   lambda n: gso_hdr(GSO_TCPV4, MSS, 34, 16, 54),
                   "gso_type 0x1 without its feature negotiated")
        bad_header("csum_start past the frame", F_OFFLOADS,
                   lambda n: gso_hdr(GSO_NONE, 0, n + 10, 16, 0),
                   "past the end of a frame of 3000 bytes")
        bad_header("NEEDS_CSUM without CSUM", 0,
                   lambda n: gso_hdr(GSO_NONE, 0, 34, 16, 0),
                   "NEEDS_CSUM without VIRTIO_NET_F_CSUM")
    finally:
        host_address(False)


def broken(what, expect, action):
    """action(guest) breaks the protocol; the backend must close that
    connection, log expect and stay up."""
    vufront.broken(NB, what, expect, action)


def raw(send):
    return vufront.raw(SOCK, send)


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
        f = Frontend(SOCK)
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
        f = Frontend(SOCK)
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
    offloads()
    malformed()
    check(NB.alive(), "the backend's worker (pid %r) is alive, never "
          "restarted" % WORKER)


if __name__ == "__main__":
    main()
    sys.exit(exit_status())

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
status 0, or 1 on failures.  The generic vhost-user half (guest memory,
rings, messages, the broken-connection check) is vufront.py's.
"""
import os
import select
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True          # nothing written into the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vufront import (  # noqa: E402  (the generic half: vufront.py)
    DESC_NEXT, DESC_WRITE, F_EVENT_IDX, F_PROTOCOL, F_VERSION_1,
    GET_FEATURES, MEM_SIZE, QSIZE, SET_FEATURES, SET_MEM_TABLE,
    SET_VRING_CALL, SET_VRING_NUM, UVA, Backend, Frontend, Guest, check,
    exit_status, fail, kick, mem_table, stop, vring_state, wait_for)
import vufront  # noqa: E402

SOCK = os.environ["SOCK"]
TAP = os.environ["TAP"]
NB = Backend(SOCK, os.environ["NB_LOG"], int(os.environ["NB_PID"]))
WORKER = NB.worker

F_MRG_RXBUF = 1 << 15
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
    malformed()
    check(NB.alive(), "the backend's worker (pid %r) is alive, never "
          "restarted" % WORKER)


if __name__ == "__main__":
    main()
    sys.exit(exit_status())

#!/usr/bin/env python3
"""make-corpus.py: writes the seed corpus of fuzz_xenstored.

Usage: make-corpus.py DIR   (the committed corpus is corpus/xenstored)

Each seed is a script in fuzz_xenstored.c's record format: valid requests
of every message type from the control domain and from domains 1 and 2,
plus scenarios (transactions, watches, permissions, introduce/release,
split and abandoned messages, slow readers).
"""
import os
import struct
import sys

XS = dict(CONTROL=0, DIRECTORY=1, READ=2, GET_PERMS=3, WATCH=4, UNWATCH=5,
          TRANSACTION_START=6, TRANSACTION_END=7, INTRODUCE=8, RELEASE=9,
          GET_DOMAIN_PATH=10, WRITE=11, MKDIR=12, RM=13, SET_PERMS=14,
          WATCH_EVENT=15, ERROR=16, IS_DOMAIN_INTRODUCED=17, RESUME=18,
          SET_TARGET=19, RESET_WATCHES=21, DIRECTORY_PART=22)

DOM0, DOM0B, DOM1, DOM2, DOM3 = 0, 1, 2, 3, 4


def msg(kind, payload=b"", req=1, tx=0):
    if isinstance(payload, str):
        payload = payload.encode()
    t = XS[kind] if isinstance(kind, str) else kind
    return struct.pack("<IIII", t, req, tx, len(payload)) + payload


def z(*parts):
    """NUL-terminated strings, joined."""
    return b"".join(p.encode() + b"\0" for p in parts)


def data(slot, raw):
    out = b""
    while True:
        piece, raw = raw[:0xffff], raw[0xffff:]
        out += bytes([slot]) + struct.pack("<H", len(piece)) + piece
        if not raw:
            return out


def close(slot):
    return bytes([0xc0 + slot])


def drain(slot):
    return bytes([0xe0 + slot])


def write(path, value, req=1, tx=0):
    return msg("WRITE", path.encode() + b"\0" + value.encode(), req, tx)


seeds = {}

# ---- one valid request of each type, a few variants each -----------------
singles = [
    ("READ", z("/tool")), ("READ", z("/local/domain/0/name")),
    ("READ", z("tool")),
    ("WRITE", b"/a/b\0value"), ("WRITE", b"/a\0"),
    ("WRITE", b"/local/domain/1/x\0" + b"v" * 2000),
    ("MKDIR", z("/a/b/c")), ("MKDIR", z("/local/domain/1/device")),
    ("RM", z("/a")), ("RM", z("/tool")), ("RM", z("/nonexistent")),
    ("DIRECTORY", z("/")), ("DIRECTORY", z("/local/domain")),
    ("DIRECTORY_PART", z("/", "0")), ("DIRECTORY_PART", z("/tool", "5")),
    ("GET_PERMS", z("/")), ("GET_PERMS", z("/tool")),
    ("SET_PERMS", z("/tool", "n0")), ("SET_PERMS", z("/tool", "r0", "w1")),
    ("SET_PERMS", z("/a", "b1", "r2", "n3")),
    ("WATCH", z("/a", "tok")), ("WATCH", z("@introduceDomain", "intro")),
    ("WATCH", z("@releaseDomain", "rel")), ("WATCH", z("/", "root")),
    ("UNWATCH", z("/a", "tok")), ("UNWATCH", z("/x", "none")),
    ("TRANSACTION_START", z("")), ("TRANSACTION_END", z("T")),
    ("TRANSACTION_END", z("F")),
    ("INTRODUCE", z("5", "4660", "3")), ("INTRODUCE", z("13", "1", "1")),
    ("INTRODUCE", z("1", "4660", "3")),
    ("RELEASE", z("1")), ("RELEASE", z("7")),
    ("GET_DOMAIN_PATH", z("1")), ("GET_DOMAIN_PATH", z("0")),
    ("IS_DOMAIN_INTRODUCED", z("1")), ("IS_DOMAIN_INTRODUCED", z("9")),
    ("RESUME", z("1")), ("SET_TARGET", z("2", "1")),
    ("RESET_WATCHES", z("")),
    ("CONTROL", z("log", "on")), ("CONTROL", z("logfile", "/tmp/x")),
    ("CONTROL", z("help")), ("CONTROL", z("memreport")),
    ("CONTROL", z("quota")), ("CONTROL", z("print", "hello")),
    ("WATCH_EVENT", z("/a", "t")), ("ERROR", z("EINVAL")),
]
for i, (kind, payload) in enumerate(singles):
    seeds["single-%02d-%s-dom0" % (i, kind.lower())] = \
        data(DOM0, msg(kind, payload, req=100 + i))
    if i % 2 == 0:
        seeds["single-%02d-%s-dom1" % (i, kind.lower())] = \
            data(DOM1, msg(kind, payload, req=200 + i))

# ---- scenarios ------------------------------------------------------------
seeds["scenario-transaction"] = (
    data(DOM0, msg("TRANSACTION_START", z(""), req=1)) +
    data(DOM0, write("/t/a", "1", req=2, tx=1)) +
    data(DOM0, msg("READ", z("/t/a"), req=3, tx=1)) +
    data(DOM0, msg("DIRECTORY", z("/t"), req=4, tx=1)) +
    data(DOM0B, write("/t/a", "2", req=5)) +
    data(DOM0, msg("TRANSACTION_END", z("T"), req=6, tx=1)) +
    data(DOM0, msg("TRANSACTION_START", z(""), req=7)) +
    data(DOM0, msg("RM", z("/t"), req=8, tx=2)) +
    data(DOM0, msg("TRANSACTION_END", z("F"), req=9, tx=2)))

seeds["scenario-watch"] = (
    data(DOM0B, msg("WATCH", z("/w", "tok"), req=1)) +
    data(DOM0, write("/w/x", "1", req=2)) +
    data(DOM0, write("/w/y", "2", req=3)) +
    data(DOM0, msg("RM", z("/w"), req=4)) +
    drain(DOM0B) +
    data(DOM0B, msg("UNWATCH", z("/w", "tok"), req=5)) +
    data(DOM0B, msg("RESET_WATCHES", z(""), req=6)))

seeds["scenario-domain-perms"] = (
    data(DOM0, write("/local/domain/1/data", "x", req=1)) +
    data(DOM0, msg("SET_PERMS", z("/local/domain/1/data", "n1", "r2"),
                   req=2)) +
    data(DOM1, write("/local/domain/1/data", "mine", req=3)) +
    data(DOM2, msg("READ", z("/local/domain/1/data"), req=4)) +
    data(DOM2, write("/local/domain/1/data", "theirs", req=5)) +
    data(DOM3, msg("READ", z("/local/domain/1/data"), req=6)) +
    data(DOM1, msg("WATCH", z("data", "rel"), req=7)) +
    data(DOM1, msg("GET_PERMS", z("data"), req=8)) +
    data(DOM1, write("data/sub", "rel", req=9)) +
    data(DOM0, msg("SET_TARGET", z("2", "1"), req=10)) +
    data(DOM2, write("/local/domain/1/data", "target", req=11)))

seeds["scenario-introduce-release"] = (
    data(DOM0B, msg("WATCH", z("@introduceDomain", "i"), req=1)) +
    data(DOM0B, msg("WATCH", z("@releaseDomain", "r"), req=2)) +
    data(DOM0, msg("INTRODUCE", z("4", "4660", "3"), req=3)) +
    data(DOM0, msg("IS_DOMAIN_INTRODUCED", z("4"), req=4)) +
    data(DOM1, write("/local/domain/1/k", "v", req=5)) +
    data(DOM0, msg("RELEASE", z("1"), req=6)) +
    data(DOM1, msg("READ", z("/local/domain/1/k"), req=7)) +
    data(DOM0, msg("RELEASE", z("4"), req=8)) +
    data(DOM0, msg("GET_DOMAIN_PATH", z("4"), req=9)))

seeds["scenario-quota"] = b"".join(
    data(DOM1, write("/local/domain/1/n%d" % i, "v" * 100, req=i))
    for i in range(60))

seeds["scenario-transactions-many"] = b"".join(
    data(DOM2, msg("TRANSACTION_START", z(""), req=i)) for i in range(14))

big = "/local/domain/0/big"
seeds["scenario-max-payload"] = (
    data(DOM0, msg("WRITE", big.encode() + b"\0" +
                   b"x" * (4096 - len(big) - 1), req=1)) +
    data(DOM0, msg("READ", z(big), req=2)))

# A message cut at every few bytes, and messages in one chunk.
stream = (write("/s/a", "1", req=1) + msg("READ", z("/s/a"), req=2) +
          msg("DIRECTORY", z("/s"), req=3))
seeds["scenario-split"] = b"".join(
    data(DOM0, stream[i:i + 5]) for i in range(0, len(stream), 5))
seeds["scenario-one-chunk"] = data(DOM0, stream * 4)

seeds["scenario-disconnect-mid-message"] = (
    data(DOM0B, stream[:20]) + close(DOM0B) + data(DOM0B, stream) +
    data(DOM1, msg("TRANSACTION_START", z(""), req=1)) +
    data(DOM1, write("/local/domain/1/t", "x", req=2, tx=1)[:25]) +
    close(DOM1) + data(DOM1, msg("READ", z("/local/domain/1/t"), req=3)))

# A watcher that does not read while others write: held, then drained.
slow = data(DOM0B, msg("WATCH", z("/slow", "t"), req=1))
for i in range(40):
    slow += data(DOM0, write("/slow/%d" % i, "y" * 300, req=10 + i))
    slow += data(DOM0B, msg("READ", z("/slow/%d" % i), req=100 + i))
slow += drain(DOM0B) + drain(DOM0)
seeds["scenario-slow-reader"] = slow

seeds["scenario-bad-header"] = (
    data(DOM0, write("/h", "1", req=1)) +
    data(DOM0, struct.pack("<IIII", XS["WRITE"], 2, 0, 5000)) +
    data(DOM0, msg(9999, z("/h"), req=3)) +
    data(DOM1, msg("READ", b"/h", req=4)) +
    data(DOM1, msg("WRITE", b"/local/domain/1/nonul", req=5)))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, blob in sorted(seeds.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(blob)
    print("%d seeds written to %s" % (len(seeds), out))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""make-corpus-engine.py: writes the seed corpus of fuzz_xenstored_engine.

Usage: make-corpus-engine.py DIR   (the committed corpus is
corpus/xenstored_engine)

Each seed is a request script in fuzz_xenstored_engine.c's record format:
valid request sequences of the control domain and of domains 1-3
(transactions with and without conflicts, permissions, quotas, watches,
domain introduction and release, CONTROL commands).
"""
import os
import sys

(READ, WRITE, MKDIR, RM, DIRECTORY, GET_PERMS, SET_PERMS, WATCH, UNWATCH,
 TX_START, TX_COMMIT, TX_ABORT, DIRECTORY_PART, INTRODUCE, RELEASE,
 SET_TARGET, RESET_WATCHES, IS_INTRODUCED, GET_DOMAIN_PATH, RESUME,
 CONTROL, RECONNECT, VERIFY, RAW) = range(24)

# Wire types, for RAW records.
MKDIR_T, SET_PERMS_T = 12, 14

# Slots: 0, 1 the control domain; 2, 3 domains 1, 2; 4 domain 3.
ROOT, DOM1, DOM2, REL = range(4)
COMP = {"a": 0, "b": 1, "c": 2, "d": 3}


def path(prefix, comps=""):
    """Path selector: prefix, then up to three of a-d (third = first)."""
    c = [COMP[x] for x in comps] + [0, 0]
    return prefix | len(comps) << 2 | c[0] << 4 | c[1] << 6


def rec(kind, slot=0, p=0, tx=0, extra=b""):
    return bytes([slot << 5 | kind, p, tx]) + extra


def write(slot, p, value, tx=0):
    v = value.encode()
    return rec(WRITE, slot, p, tx, bytes([len(v)]) + v)


def perms(slot, p, entries, tx=0):
    """entries: (letter, domid) pairs."""
    out = bytes([len(entries) - 1])
    for letter, domid in entries:
        out += bytes([domid << 2 | "nrwb".index(letter)])
    return rec(SET_PERMS, slot, p, tx, out)


seeds = {}

seeds["basic"] = b"".join([
    write(0, path(ROOT, "a"), "1"),
    write(0, path(ROOT, "ab"), "2"),
    rec(READ, 0, path(ROOT, "ab")),
    rec(DIRECTORY, 0, path(ROOT, "a")),
    rec(GET_PERMS, 0, path(ROOT, "a")),
    rec(MKDIR, 1, path(ROOT, "bc")),
    rec(RM, 1, path(ROOT, "a")),
    rec(READ, 0, path(ROOT, "ab")),
])

seeds["tx-commit"] = b"".join([
    write(0, path(ROOT, "a"), "old"),
    rec(TX_START, 0),
    write(0, path(ROOT, "ab"), "in-tx", tx=1),
    rec(READ, 0, path(ROOT, "ab"), tx=1),
    rec(VERIFY, 0, 0, 1),
    rec(TX_COMMIT, 0, 0, 1),
    rec(READ, 1, path(ROOT, "ab")),
])

seeds["tx-isolation"] = b"".join([
    write(0, path(ROOT, "aa"), "1"),
    write(0, path(ROOT, "ab"), "2"),
    rec(TX_START, 1),
    write(0, path(ROOT, "aa"), "changed"),
    rec(RM, 0, path(ROOT, "ab")),
    write(0, path(ROOT, "ac"), "new"),
    perms(0, path(ROOT, "a"), [("n", 0), ("r", 1)]),
    rec(VERIFY, 1, 0, 1),
    rec(READ, 1, path(ROOT, "aa"), tx=1),
    rec(DIRECTORY, 1, path(ROOT, "a"), tx=1),
    write(1, path(ROOT, "ab"), "mine", tx=1),
    rec(VERIFY, 1, 0, 1),
    rec(TX_COMMIT, 1, 0, 1),
])

seeds["tx-abort-many"] = b"".join([
    rec(TX_START, 0), rec(TX_START, 0), rec(TX_START, 1),
    write(0, path(ROOT, "b"), "x", tx=1),
    write(0, path(ROOT, "bc"), "y", tx=2),
    rec(RM, 1, path(ROOT, "b")),
    write(1, path(ROOT, "b"), "z", tx=1),
    rec(TX_ABORT, 0, 0, 1),
    rec(TX_COMMIT, 0, 0, 1),
    rec(TX_COMMIT, 1, 0, 1),
    rec(TX_COMMIT, 0, 0, 0xff),
])

seeds["domain-perms"] = b"".join([
    rec(MKDIR, 0, path(DOM1, "a")),
    perms(0, path(DOM1, "a"), [("n", 1), ("r", 2)]),
    write(2, path(REL, "ab"), "from-dom1"),
    rec(READ, 3, path(DOM1, "ab")),
    rec(READ, 3, path(DOM1, "a")),
    rec(TX_START, 2),
    write(2, path(REL, "ac"), "tx", tx=1),
    rec(RM, 2, path(REL, "ab"), tx=1),
    rec(VERIFY, 2, 0, 1),
    rec(TX_COMMIT, 2, 0, 1),
    perms(2, path(REL, "a"), [("b", 1), ("w", 2)]),
    perms(2, path(REL, "a"), [("b", 2)]),
    rec(GET_PERMS, 3, path(DOM1, "a")),
])

seeds["watches"] = b"".join([
    rec(WATCH, 0, path(ROOT, "a"), 0, b"\x01"),
    rec(WATCH, 2, path(REL, ""), 0, b"\x02"),
    rec(WATCH, 2, path(REL, "a"), 0, b"\x00"),
    write(0, path(ROOT, "ab"), "ev"),
    rec(RM, 0, path(ROOT, "a")),
    rec(UNWATCH, 0, path(ROOT, "a"), 0, b"\x01"),
    rec(RESET_WATCHES, 2),
    rec(INTRODUCE, 0, 0, 0, b"\x03\x01"),
])

home3 = b"/local/domain/3\0"
seeds["introduce-release"] = b"".join([
    rec(RAW, 0, 0, 0, bytes([MKDIR_T, len(home3)]) + home3),
    rec(RAW, 0, 0, 0, bytes([SET_PERMS_T, len(home3) + 3]) + home3 +
        b"n3\0"),
    rec(INTRODUCE, 0, 0, 0, b"\x03\x01"),
    rec(IS_INTRODUCED, 0, 0, 0, b"\x03"),
    write(4, path(REL, "a"), "dom3"),
    rec(TX_START, 4),
    write(4, path(REL, "b"), "tx", tx=1),
    rec(GET_DOMAIN_PATH, 4, 0, 0, b"\x03"),
    rec(RESUME, 0, 0, 0, b"\x03"),
    rec(SET_TARGET, 0, 0, 0, b"\x03\x01"),
    rec(READ, 4, path(DOM1, "")),
    rec(RELEASE, 0, 0, 0, b"\x03"),
    rec(READ, 0, path(ROOT, "")),
    rec(INTRODUCE, 0, 0, 0, b"\x04\x01"),
])

quota = [rec(MKDIR, 0, path(DOM2, "")),
         perms(0, path(DOM2, ""), [("n", 2)])]
for a in "abcd":
    for b in "abcd":
        quota.append(write(3, path(REL, a + b), "v" * 20))
for a in "abcd":
    for b in "abcd":
        quota.append(write(3, path(REL, a + b + a), "w" * 20))
quota += [rec(TX_START, 3), rec(CONTROL, 0, 0, 0, b"\x03")]
for a in "abcd":
    quota.append(write(3, path(REL, a + "a" + "a"), "t", tx=1))
quota += [rec(TX_COMMIT, 3, 0, 1), rec(CONTROL, 0, 0, 0, b"\x00")]
seeds["quota"] = b"".join(quota)

seeds["control"] = b"".join(
    rec(CONTROL, 0, 0, 0, bytes([i])) for i in range(8))

seeds["directory-part"] = b"".join([
    write(0, path(ROOT, "ca"), "1"),
    write(0, path(ROOT, "cb"), "2"),
    write(0, path(ROOT, "cc"), "3"),
    rec(DIRECTORY_PART, 0, path(ROOT, "c"), 0, b"\x00"),
    rec(DIRECTORY_PART, 0, path(ROOT, "c"), 0, b"\x02"),
    rec(TX_START, 0),
    rec(DIRECTORY_PART, 0, path(ROOT, "c"), 1, b"\x00"),
])

seeds["raw-and-reconnect"] = b"".join([
    rec(RAW, 0, 0, 0, bytes([11, 6]) + b"/r\0val"),
    rec(RAW, 2, 0, 0, bytes([2, 2]) + b"a\0"),
    rec(TX_START, 1),
    rec(RAW, 1, 0, 1, bytes([11, 4]) + b"/q\0x"),
    rec(RECONNECT, 1),
    rec(RAW, 3, 0, 0, bytes([99, 0])),
])


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make-corpus-engine.py DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(seeds.items()):
        with open(os.path.join(out, "script-" + name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()

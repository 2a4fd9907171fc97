#!/usr/bin/env python3
"""make-corpus-dom.py: writes the seed corpus of fuzz_dom_image.

Usage: make-corpus-dom.py DIR   (the committed corpus is corpus/dom_image)

Each seed is an options byte (see fuzz_dom_image.c) and a small valid PVH
kernel: ELF64 and ELF32 images with a XEN_ELFNOTE_PHYS32_ENTRY note, and
bzImages (boot protocol 2.15) whose payload is such an ELF compressed with
each format the builder reads.  gzip, bzip2, lzma and xz come from
Python; lzop, lz4 and zstd from their commands (Debian packages lzop, lz4,
zstd), and their seeds are skipped when a command is missing.
"""
import bz2
import gzip
import lzma
import os
import shutil
import struct
import subprocess
import sys

PHYS32_ENTRY = 18
MIB = 1 << 20


def note(name, ntype, desc):
    n = name.encode() + b"\0"
    out = struct.pack("<III", len(n), len(desc), ntype)
    out += n + b"\0" * (-len(n) % 4)
    return out + desc + b"\0" * (-len(desc) % 4)


def elf(bits=64, segs=((MIB, 512, 4096),), entry=MIB + 0x10,
        other_notes=False):
    """segs: (paddr, filesz, memsz) per PT_LOAD."""
    is64 = bits == 64
    ehsize, phsize = (64, 56) if is64 else (52, 32)
    notes = b""
    if other_notes:
        notes += note("GNU", 3, struct.pack("<I", 0x1234))
    notes += note("Xen", PHYS32_ENTRY,
                  struct.pack("<Q" if is64 else "<I", entry))
    nph = len(segs) + 1
    off = ehsize + nph * phsize + len(notes)
    offsets = []
    for _, filesz, _ in segs:
        off = (off + 15) & ~15
        offsets.append(off)
        off += filesz
    img = bytearray(off)
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 1, 1]) + b"\0" * 9
    if is64:
        eh = ident + struct.pack("<HHIQQQIHHHHHH", 2, 62, 1,
                                 0xffffffff81000000, ehsize, 0, 0, ehsize,
                                 phsize, nph, 64, 0, 0)
    else:
        eh = ident + struct.pack("<HHIIIIIHHHHHH", 2, 3, 1, entry, ehsize,
                                 0, 0, ehsize, phsize, nph, 40, 0, 0)
    img[0:len(eh)] = eh
    phs = []
    for (paddr, filesz, memsz), o in zip(segs, offsets):
        phs.append((1, o, paddr, filesz, memsz, 0x1000))
    phs.append((4, ehsize + nph * phsize, 0, len(notes), len(notes), 4))
    for i, (ptype, o, pa, fs, ms, al) in enumerate(phs):
        if is64:
            ph = struct.pack("<IIQQQQQQ", ptype, 5, o, pa + 0xffffffff80000000
                             if ptype == 1 else 0, pa, fs, ms, al)
        else:
            ph = struct.pack("<IIIIIIII", ptype, o, pa, pa, fs, ms, 5, al)
        at = ehsize + i * phsize
        img[at:at + len(ph)] = ph
    at = ehsize + nph * phsize
    img[at:at + len(notes)] = notes
    for (paddr, filesz, _), o in zip(segs, offsets):
        for j in range(filesz):
            img[o + j] = (j * 7 + (j >> 5)) & 0xff
    return bytes(img)


def bzimage(payload, version=0x020f):
    sects = 3
    pm = (sects + 1) * 512
    poff = 0x200
    img = bytearray(pm + poff + len(payload) + 0x40)
    img[0x1f1] = sects
    img[0x1fe:0x200] = b"\x55\xaa"
    img[0x202:0x206] = b"HdrS"
    img[0x206:0x208] = struct.pack("<H", version)
    img[0x248:0x250] = struct.pack("<II", poff, len(payload))
    img[pm:pm + poff] = b"\xcc" * poff
    img[pm + poff:pm + poff + len(payload)] = payload
    return bytes(img)


def size_append(data, size):
    return data + struct.pack("<I", size)


def tool(cmd, data):
    if not shutil.which(cmd[0]):
        return None
    return subprocess.run(cmd, input=data, stdout=subprocess.PIPE,
                          check=True).stdout


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make-corpus-dom.py DIR")
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    k64 = elf(64)
    k32 = elf(32)
    seeds = {
        "elf64": (0x04, k64),
        "elf32": (0x04, k32),
        "elf64-two-segments": (0x04, elf(64, ((MIB, 300, 8192),
                                              (3 * MIB, 200, 200)),
                                         other_notes=True)),
        "elf64-module-cmdline": (0x0d, k64 + bytes(range(64))),
        "gzip-bare": (0x04, gzip.compress(k64, mtime=0)),
        "bzimage-gzip": (0x04, bzimage(gzip.compress(k64, mtime=0))),
        "bzimage-bzip2": (0x04, bzimage(size_append(bz2.compress(k64),
                                                    len(k64)))),
        "bzimage-lzma": (0x04, bzimage(size_append(
            lzma.compress(k64, format=lzma.FORMAT_ALONE), len(k64)))),
        "bzimage-xz": (0x04, bzimage(size_append(
            lzma.compress(k64, format=lzma.FORMAT_XZ,
                          check=lzma.CHECK_CRC32), len(k64)))),
    }
    for name, cmd in (("lzo", ["lzop", "-9", "-c"]),
                      ("lz4", ["lz4", "-l", "-12", "-c"]),
                      ("zstd", ["zstd", "-19", "-q", "-c"])):
        packed = tool(cmd, k64)
        if packed is None:
            print("make-corpus-dom: %s missing, no %s seed" % (cmd[0], name),
                  file=sys.stderr)
            continue
        seeds["bzimage-" + name] = (0x04, bzimage(size_append(packed,
                                                              len(k64))))
    for name, (opt, data) in sorted(seeds.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes([opt]) + data)


if __name__ == "__main__":
    main()

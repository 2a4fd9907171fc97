#!/usr/bin/env python3
"""stallpipe.py N MARKER: copies the first N bytes of its stdin to its
stdout, then creates the file MARKER and passes nothing more: the rest
of its stdin is read and dropped until it ends.  A migration stream cut
in the middle, at a moment the test knows (tests/integration/xl)."""
import os
import sys


def main():
    left = int(sys.argv[1])
    while left > 0:
        data = os.read(0, min(left, 65536))
        if not data:
            return 1
        left -= len(data)
        while data:
            try:
                n = os.write(1, data)
            except BrokenPipeError:
                return 1
            data = data[n:]
    with open(sys.argv[2], "w"):
        pass
    while os.read(0, 65536):
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

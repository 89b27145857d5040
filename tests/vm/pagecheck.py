#!/usr/bin/env python3
"""Reference pages for the fault-injection cases, and a page-by-page check of a device.

  pagecheck.py make REF PAGES    write REF: PAGES pages of mixed content (text-like,
                                 same-filled, random, half random), all different
  pagecheck.py check DEV REF     read every page of REF from DEV with O_DIRECT, one read
                                 per page; print "pagecheck: pages=N ok=A eio=B wrong=C"

A read that fails with EIO is what a failing backing device may cause; a read that
returns anything but the reference page is wrong data. check exits 1 if any page is
wrong or fails with another error, 0 otherwise (EIO allowed; the caller decides).
"""
import errno
import mmap
import os
import random
import sys

PAGE = 4096


def page(i, rng):
    kind = i % 4
    if kind == 0:
        words = b"page %d of the reference: swap, frame, slot, block; " % i
        return (words * (PAGE // len(words) + 1))[:PAGE]
    if kind == 1:
        return (i * 0x0101010101010101 & (2**64 - 1) or 1).to_bytes(8, "little") * (PAGE // 8)
    if kind == 2:
        return rng.randbytes(PAGE)
    half = rng.randbytes(PAGE // 2)
    return half + (b"%08d" % i) * (PAGE // 16)


def make(ref, pages):
    rng = random.Random(20261130)
    with open(ref, "wb") as f:
        for i in range(pages):
            f.write(page(i, rng))


def check(dev, ref):
    with open(ref, "rb") as f:
        expected = f.read()
    pages = len(expected) // PAGE
    buf = mmap.mmap(-1, PAGE)
    fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
    ok = eio = wrong = other = 0
    try:
        for i in range(pages):
            try:
                n = os.preadv(fd, [buf], i * PAGE)
            except OSError as e:
                if e.errno == errno.EIO:
                    eio += 1
                else:
                    other += 1
                continue
            if n == PAGE and buf[:] == expected[i * PAGE:(i + 1) * PAGE]:
                ok += 1
            else:
                wrong += 1
                if wrong <= 5:
                    print("pagecheck: page %d is wrong" % i)
    finally:
        os.close(fd)
    print("pagecheck: pages=%d ok=%d eio=%d wrong=%d other_errors=%d" % (pages, ok, eio, wrong, other))
    return 1 if wrong or other else 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)

#!/usr/bin/env python3
"""Reference pages for the fault-injection cases, and a page-by-page check of a device.

  pagecheck.py make REF PAGES [SEED]
                                 write REF: PAGES pages of mixed content (text-like,
                                 same-filled, random, half random), all different;
                                 another SEED gives other pages
  pagecheck.py check DEV REF [OLD]
                                 read every page of REF from DEV with O_DIRECT, one read
                                 per page; print "pagecheck: pages=N ok=A eio=B wrong=C"
                                 With OLD (what the pages held before REF was written
                                 over them, with writes allowed to fail): a page of
                                 zeroes is a refused write ("refused=R", allowed), a
                                 page of OLD is stale data ("stale=S", wrong).
  pagecheck.py check-shuffled DEV REF
                                 as check, one read per page in a shuffled order
                                 (the same each run): random access
  pagecheck.py write DEV REF     write every page of REF to DEV with O_DIRECT, one write
                                 per page, going on after a failed one; print
                                 "pagecheck: written=N failed=M"

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


def page(i, rng, seed):
    kind = i % 4
    if kind == 0:
        words = b"page %d of reference %d: swap, frame, slot, block; " % (i, seed)
        return (words * (PAGE // len(words) + 1))[:PAGE]
    if kind == 1:
        return ((i + seed) * 0x0101010101010101 & (2**64 - 1) or 1).to_bytes(8, "little") * (PAGE // 8)
    if kind == 2:
        return rng.randbytes(PAGE)
    half = rng.randbytes(PAGE // 2)
    return half + (b"%08d" % i) * (PAGE // 16)


def make(ref, pages, seed=20261130):
    rng = random.Random(seed)
    with open(ref, "wb") as f:
        for i in range(pages):
            f.write(page(i, rng, seed))


def check(dev, ref, old_ref=None, shuffled=False):
    with open(ref, "rb") as f:
        expected = f.read()
    old = None
    if old_ref is not None:
        with open(old_ref, "rb") as f:
            old = f.read()
    pages = len(expected) // PAGE
    buf = mmap.mmap(-1, PAGE)
    fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
    ok = eio = wrong = other = refused = stale = 0
    zero = bytes(PAGE)
    order = list(range(pages))
    if shuffled:
        random.Random(pages).shuffle(order)
    try:
        for i in order:
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
            elif old is not None and n == PAGE and buf[:] == zero:
                refused += 1
            elif old is not None and n == PAGE and buf[:] == old[i * PAGE:(i + 1) * PAGE]:
                stale += 1
                wrong += 1
                if wrong <= 5:
                    print("pagecheck: page %d is stale" % i)
            else:
                wrong += 1
                if wrong <= 5:
                    print("pagecheck: page %d is wrong" % i)
    finally:
        os.close(fd)
    line = "pagecheck: pages=%d ok=%d eio=%d wrong=%d other_errors=%d" % (pages, ok, eio, wrong, other)
    if old is not None:
        line += " refused=%d stale=%d" % (refused, stale)
    print(line)
    return 1 if wrong or other else 0


def write(dev, ref):
    with open(ref, "rb") as f:
        data = f.read()
    buf = mmap.mmap(-1, PAGE)
    fd = os.open(dev, os.O_WRONLY | os.O_DIRECT)
    written = failed = 0
    try:
        for i in range(len(data) // PAGE):
            buf[:] = data[i * PAGE:(i + 1) * PAGE]
            try:
                os.pwritev(fd, [buf], i * PAGE)
                written += 1
            except OSError:
                failed += 1
    finally:
        os.close(fd)
    print("pagecheck: written=%d failed=%d" % (written, failed))
    return 0


if __name__ == "__main__":
    if len(sys.argv) in (4, 5) and sys.argv[1] == "make":
        make(sys.argv[2], int(sys.argv[3]), *[int(a) for a in sys.argv[4:]])
    elif len(sys.argv) in (4, 5) and sys.argv[1] == "check":
        sys.exit(check(*sys.argv[2:]))
    elif len(sys.argv) == 4 and sys.argv[1] == "check-shuffled":
        sys.exit(check(sys.argv[2], sys.argv[3], shuffled=True))
    elif len(sys.argv) == 4 and sys.argv[1] == "write":
        sys.exit(write(sys.argv[2], sys.argv[3]))
    else:
        sys.exit(__doc__)

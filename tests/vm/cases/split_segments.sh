#!/bin/bash
# Proves that data in buffers that are not whole pages round-trips: O_DIRECT writes and reads whose buffers start 512 to 3584 bytes into a page, in one or several iovecs, so that every bio segment is part of a page, with compressible, random and same-filled pages.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

load_module disksize=16M || fail "load_module disksize=16M failed"

out=$(python3 - "$GS_DEV" <<'PY' 2>&1
import mmap, os, random, sys

dev = sys.argv[1]
PAGE = 4096
rng = random.Random(20261125)

def page_data(kind):
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(PAGE))
    if kind == 1:
        text = b"ghostswap split segment %06d " % rng.randrange(10**6)
        return (text * 200)[:3600] + bytes(PAGE - 3600)
    return bytes([rng.randrange(1, 256)]) * PAGE

def chunks(view, cuts):
    # Splits `view` at the given offsets into iovecs.
    edges = [0] + cuts + [len(view)]
    return [view[a:b] for a, b in zip(edges, edges[1:])]

fd = os.open(dev, os.O_RDWR | os.O_DIRECT)
wbuf = mmap.mmap(-1, 8 * PAGE)
rbuf = mmap.mmap(-1, 8 * PAGE)
checked = 0
for n in range(48):
    pages = 1 + n % 3
    data = b"".join(page_data((n + i) % 3) for i in range(pages))
    size = pages * PAGE
    # The buffer starts 512 * k bytes into a page, so every block straddles two pages.
    wshift = 512 * (1 + n % 7)
    wbuf[wshift:wshift + size] = data
    wview = memoryview(wbuf)[wshift:wshift + size]
    # O_DIRECT takes iovecs of whole logical blocks at 512-byte aligned addresses.
    cuts = sorted({PAGE * rng.randrange(1, pages) for _ in range(n % 3)}) if pages > 1 else []
    offset = PAGE * rng.randrange(0, 4096 - 3)
    if os.pwritev(fd, chunks(wview, cuts), offset) != size:
        sys.exit("short write at %d" % offset)
    rshift = 512 * (1 + (n * 3) % 7)
    rview = memoryview(rbuf)[rshift:rshift + size]
    rcuts = sorted({PAGE * rng.randrange(1, pages) for _ in range(n % 2 + 1)}) if pages > 1 else []
    if os.preadv(fd, chunks(rview, rcuts), offset) != size:
        sys.exit("short read at %d" % offset)
    if bytes(rview) != data:
        sys.exit("mismatch at offset %d (pages %d, write cuts %s, read cuts %s)" % (offset, pages, cuts, rcuts))
    # The same data read through a whole-page aligned buffer must match too.
    aligned = memoryview(rbuf)[0:size]
    if os.preadv(fd, [aligned], offset) != size or bytes(aligned) != data:
        sys.exit("mismatch on aligned read-back at offset %d" % offset)
    checked += pages
os.close(fd)
print("checked %d pages" % checked)
PY
) || fail "split-segment round trip: $out"
info "$out"
read_swap_counters "$GS_DEV"
check_gt "$GS_STORES" 0 "stores"
unload_module || fail "unload failed"
info "split_segments: done"

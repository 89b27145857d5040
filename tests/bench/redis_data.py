#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""The data of the bench's redis workload (tests/bench/redis.sh), and its result.

usage: redis_data.py noise PATH              write the text the values are cut from
       redis_data.py load NKEYS VSIZE NOISE  SET commands (RESP) for redis-cli --pipe
       redis_data.py value I VSIZE NOISE     the value of key number I
       redis_data.py parse FILE              "OPS_PER_S P99_MS" of redis-benchmark's GET
                                             test in FILE ("NA NA" if not found)

Keys are key:000000000000 .. key:<NKEYS-1>, 12 digits: the form redis-benchmark's
-r NKEYS gives key:__rand_int__, so its GETs hit loaded keys. The value of key number
i is its 12 digits, ":", then VSIZE - 13 bytes of the noise text from the 0-based
offset (i * 7919) % (len(noise) - VSIZE). redis_verify.lua computes the same in Lua,
so keep the two in step. The noise is text of short phrases that repeat (Zipf-like)
with numbers in between: lz4 packs a 4 KiB page of such values to about 40% (zstd
to about 30%), near what real caches give, so the pool fills and the systems have to
write back. Values that repeat one short string would pack 20x or more and fit the
whole data set in the pool.
"""
import csv
import itertools
import random
import sys

NOISE_BYTES = 65536
SEED = 20261207
STRIDE = 7919  # a prime: neighbouring keys take far-apart slices


def noise():
    rng = random.Random(SEED)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(512)]
    phrases = [" ".join(rng.choice(words) for _ in range(rng.randint(2, 6))) for _ in range(64)]
    weights = list(itertools.accumulate(1.0 / (rank + 1) for rank in range(len(phrases))))
    out, size = [], 0
    while size < NOISE_BYTES:
        p = rng.choices(phrases, cum_weights=weights)[0]
        if rng.random() < 0.3:
            p += " %d" % rng.randrange(100000)
        out.append(p)
        size += len(p) + 2
    return ". ".join(out)[:NOISE_BYTES]


def read_noise(path):
    with open(path, "rb") as f:
        return f.read().decode("ascii")


def check_vsize(vsize, text):
    if not 14 <= vsize < len(text):
        sys.exit("redis_data.py: value size %d out of range 14..%d" % (vsize, len(text) - 1))


def value(i, vsize, text):
    off = (i * STRIDE) % (len(text) - vsize)
    return "%012d:%s" % (i, text[off:off + vsize - 13])


def load(nkeys, vsize, text):
    out = sys.stdout.buffer
    head = b"*3\r\n$3\r\nSET\r\n$16\r\n"
    for start in range(0, nkeys, 4096):
        chunk = []
        for i in range(start, min(start + 4096, nkeys)):
            chunk.append(head + b"key:%012d\r\n$%d\r\n%s\r\n" % (i, vsize, value(i, vsize, text).encode()))
        out.write(b"".join(chunk))
    out.flush()


def parse(text):
    """(ops/s, p99 ms) of the GET test, or None. --csv (redis-benchmark 6.2 and later):
    a header "test","rps","avg_latency_ms",...,"p99_latency_ms",... and a line per test;
    without --csv (7.x): "throughput summary: N requests per second", then under
    "latency summary (msec):" a line of names (avg min p50 p95 p99 max) and their values."""
    lines = [ln.strip() for ln in text.replace("\r", "\n").split("\n") if ln.strip()]
    header = None
    for cells in csv.reader(lines):
        if cells and cells[0] == "test":
            header = cells
        elif header and cells and cells[0] == "GET" and len(cells) == len(header):
            row = dict(zip(header, cells))
            try:
                return float(row["rps"]), float(row["p99_latency_ms"])
            except (KeyError, ValueError):
                return None
    ops = p99 = None
    for n, ln in enumerate(lines):
        words = ln.split()
        if ln.startswith("throughput summary:") and len(words) > 2:
            ops = float(words[2])
        elif ln.startswith("latency summary") and n + 2 < len(lines):
            names, values = lines[n + 1].split(), lines[n + 2].split()
            if "p99" in names and len(values) == len(names):
                p99 = float(values[names.index("p99")])
    return None if ops is None or p99 is None else (ops, p99)


def main():
    args = sys.argv[1:]
    if args[:1] == ["noise"] and len(args) == 2:
        with open(args[1], "wb") as f:
            f.write(noise().encode("ascii"))
    elif args[:1] == ["load"] and len(args) == 4:
        text = read_noise(args[3])
        check_vsize(int(args[2]), text)
        load(int(args[1]), int(args[2]), text)
    elif args[:1] == ["value"] and len(args) == 4:
        text = read_noise(args[3])
        check_vsize(int(args[2]), text)
        print(value(int(args[1]), int(args[2]), text))
    elif args[:1] == ["parse"] and len(args) == 2:
        try:
            with open(args[1], errors="replace") as f:
                r = parse(f.read())
        except (OSError, ValueError):
            r = None
        print("NA NA" if r is None else "%.2f %.3f" % r)
    else:
        sys.exit(__doc__.split("\n\n")[1])


if __name__ == "__main__":
    main()

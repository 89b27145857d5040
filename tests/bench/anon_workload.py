#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A real process with realistic anonymous memory, for the bench's snapshot.

It does what a code-indexing tool does, on real text that is on every machine of this
kind: it reads Python 3.11's standard-library sources (sorted, so the same files every
run), parses each into an AST (kept alive: many small linked objects with pointers,
refcounts, type pointers, interned names and small ints), keeps every source line as a
str, builds an identifier index {word: [(file, line), ...]} and per-file statistics
(ints, floats, dicts). The heap is then ordinary CPython heap: pymalloc arenas, obmalloc
pools, malloc'ed large objects and freed holes, the mix a long-running Python service
shows.

usage: anon_workload.py [SOURCE_BYTES]   (default 2 MiB of source, ~100 MiB of heap)
Prints "READY <pid> <rss_anon_kB>" once built, then sleeps until killed.
Run it with PYTHONHASHSEED=0 so dict layouts repeat from run to run.
"""
import ast
import os
import re
import sys
import time

LIMIT = int(sys.argv[1]) if len(sys.argv) > 1 else 2 << 20
ROOT = "/usr/lib/python3.11"
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

files = []
for root, dirs, names in os.walk(ROOT):
    dirs.sort()
    if "test" in dirs:
        dirs.remove("test")  # huge and atypical; the library itself is the realistic part
    for name in sorted(names):
        if name.endswith(".py"):
            files.append(os.path.join(root, name))

trees = []
lines = []
index = {}
stats = {}
total = 0
for fi, path in enumerate(files):
    try:
        with open(path, encoding="utf-8") as f:
            src = f.read()
    except (OSError, UnicodeDecodeError):
        continue
    try:
        tree = ast.parse(src, filename=path)
    except (SyntaxError, ValueError):
        continue
    trees.append(tree)
    flines = src.splitlines()
    lines.append(flines)
    nwords = 0
    for ln, line in enumerate(flines, 1):
        for w in WORD.findall(line):
            index.setdefault(w, []).append((fi, ln))
            nwords += 1
    lens = [len(x) for x in flines] or [0]
    stats[path] = {
        "bytes": len(src),
        "lines": len(flines),
        "words": nwords,
        "mean_line": sum(lens) / len(lens),
        "max_line": max(lens),
        "nodes": sum(1 for _ in ast.walk(tree)),
        "mtime": os.stat(path).st_mtime,
    }
    total += len(src)
    if total >= LIMIT:
        break

rss = 0
with open("/proc/self/status") as f:
    for line in f:
        if line.startswith("RssAnon:"):
            rss = int(line.split()[1])
print(f"READY {os.getpid()} {rss} files={len(trees)} source_bytes={total} words={len(index)}",
      flush=True)
while True:
    time.sleep(3600)

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Snapshot a process's anonymous memory, as swap would see it, into a file of pages.

usage: snapshot.py PID OUT [MAX_BYTES]

Reads the private anonymous mappings of PID (/proc/PID/maps lines with "rw-p" and no
backing file, plus [heap] and [stack]) through /proc/PID/mem, page by page in 4 KiB
units; unreadable pages are skipped. All-zero pages are left out, because in 6.12 swap
never sends those to a device (swap zeromap); every other page is appended to OUT.
Stops at MAX_BYTES (a multiple of 4096). The process should be stopped (SIGSTOP) while
this runs. Prints one JSON object of counts on stdout.
"""
import json
import sys

PAGE = 4096
ZERO = bytes(PAGE)
CHUNK = 256 * PAGE


def regions(pid):
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split(maxsplit=5)
            addr, perms = parts[0], parts[1]
            path = parts[5].strip() if len(parts) > 5 else ""
            if perms != "rw-p":
                continue
            if path not in ("", "[heap]", "[stack]"):
                continue
            lo, hi = (int(x, 16) for x in addr.split("-"))
            yield lo, hi, path or "anon"


def main():
    pid, out = sys.argv[1], sys.argv[2]
    limit = int(sys.argv[3]) if len(sys.argv) > 3 else 1 << 62
    st = {"pid": int(pid), "regions": 0, "region_bytes": 0, "pages_read": 0,
          "pages_unreadable": 0, "zero_pages": 0, "same_filled_pages": 0,
          "pages_written": 0, "truncated": False, "by_region": {}}
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem, open(out, "wb") as dst:
        for lo, hi, kind in regions(pid):
            st["regions"] += 1
            st["region_bytes"] += hi - lo
            kept = 0
            addr = lo
            while addr < hi and not st["truncated"]:
                n = min(CHUNK, hi - addr)
                try:
                    mem.seek(addr)
                    buf = mem.read(n)
                except OSError:
                    buf = b""
                if len(buf) != n:
                    # Retry page by page so one bad page does not drop the chunk.
                    pages = []
                    for a in range(addr, addr + n, PAGE):
                        try:
                            mem.seek(a)
                            p = mem.read(PAGE)
                        except OSError:
                            p = b""
                        if len(p) == PAGE:
                            pages.append(p)
                        else:
                            st["pages_unreadable"] += 1
                else:
                    pages = [buf[i:i + PAGE] for i in range(0, n, PAGE)]
                for p in pages:
                    st["pages_read"] += 1
                    if p == ZERO:
                        st["zero_pages"] += 1
                        continue
                    if p == p[:8] * (PAGE // 8):
                        st["same_filled_pages"] += 1
                    if (st["pages_written"] + 1) * PAGE > limit:
                        st["truncated"] = True
                        break
                    dst.write(p)
                    st["pages_written"] += 1
                    kept += 1
                addr += n
            st["by_region"][kind] = st["by_region"].get(kind, 0) + kept
    st["bytes_written"] = st["pages_written"] * PAGE
    print(json.dumps(st))


if __name__ == "__main__":
    main()

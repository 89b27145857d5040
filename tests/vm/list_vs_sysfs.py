#!/usr/bin/env python3
"""Checks `ghostswapctl list --json` against sysfs and /proc/swaps.

usage: list_vs_sysfs.py LIST.json

Every ghostswap device with a non-zero disksize must be listed once, and each column
of the default list must say what its sysfs file says. Prints one line per field;
exit status 0 if all agree, 1 otherwise.
"""

import glob
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import stat_fields  # noqa: E402 (found through the path above)


def read(path):
    with open(path) as f:
        return f.read()


def fields(dev, name):
    return stat_fields.parse(name, read(f"/sys/block/{dev}/{name}"))


def swap_priorities():
    prio = {}
    for line in read("/proc/swaps").splitlines()[1:]:
        f = line.split()
        prio[os.path.basename(f[0])] = int(f[4])
    return prio


def expected(dev, prio):
    mm = fields(dev, "mm_stat")
    bd = fields(dev, "bd_stat")
    algo = [w[1:-1] for w in read(f"/sys/block/{dev}/comp_algorithm").split() if w.startswith("[")]
    backing = read(f"/sys/block/{dev}/backing_dev").strip()
    return {
        "name": f"/dev/{dev}",
        "disksize": int(read(f"/sys/block/{dev}/disksize")),
        "data": mm["orig_data_size"],
        "compr": mm["compr_data_size"],
        "total": mm["mem_used_total"],
        "algorithm": algo[0] if len(algo) == 1 else None,
        "mem-limit": mm["mem_limit"],
        "backing": None if backing == "none" else backing,
        "wb-data": bd["bd_count"] * 4096,
        "swap-prio": prio.get(dev),
    }


def main():
    listed = json.loads(read(sys.argv[1]))["devices"]
    prio = swap_priorities()
    devices = sorted(
        os.path.basename(d)
        for d in glob.glob("/sys/block/ghostswap*")
        if int(read(f"{d}/disksize")) != 0
    )
    ok = True
    names = [d["name"] for d in listed]
    if names != [f"/dev/{d}" for d in devices]:
        print(f"listed {names}, set up in sysfs {devices}")
        ok = False
    for entry in listed:
        dev = os.path.basename(entry["name"])
        want = expected(dev, prio)
        for key, value in want.items():
            got = entry.get(key, "(missing)")
            same = got == value
            ok &= same
            print(f"{'ok' if same else 'MISMATCH'}: {dev} {key}: list {got!r}, sysfs {value!r}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the raw results of one bench run (tests/bench/guest.sh) into the table.

usage: report.py RESULTS_DIR

IOPS g/z: the geometric mean of the ratios of the run pairs of a test (each pair one
ghostswap and one zram run back to back, the order alternating G Z, Z G, ...); > 1 means
ghostswap is faster. A pair's ratio cancels what the host did to both runs; the mean of
ratios weighs every pair the same. mem_used g/z: mm_stat mem_used_total of
ghostswap0 over zram0's for the same data; < 1 means ghostswap uses less memory.
ratio orig/mem: mm_stat orig_data_size / mem_used_total (higher is better).
"fio data" is the devices right after the prefill; "after randwrite" the same devices
after the randwrite runs overwrote blocks in place (no compaction requested); "anon
snapshot" fresh devices holding only the snapshot pages.
writeback pages/s g/z: pages moved to the backing disk per second of a write to
"writeback" of a whole prefilled device (ghostswap "all", zram "idle" after "idle all"),
geometric mean over the pairs. swap 8x mem_limit time z/g: wall time of the verified swap
workload on zram over ghostswap's (> 1: ghostswap is faster); n/a if a run failed or saw
a mismatch on either device. hot/cold: the same set-up under swapcheck's hot/cold
workload (20% of the pages take 80% of the accesses): time z/g, p99 of a faulting access
z/g (> 1: ghostswap's faults are quicker), and per device the share of swap-in reads
served from the backing disk (lower: the pages written back were the cold ones). All
for the first algorithm only.
Prints the table, then the numbers behind it. Exit status 1 if a cell is missing.
"""
import json
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import stat_fields  # noqa: E402 (found through the path above)

G, Z = "ghostswap0", "zram0"
TESTS = [("randread", 1), ("randread", 2), ("randwrite", 1), ("randwrite", 2)]


def read_tsv(path):
    try:
        with open(path) as f:
            return [line.rstrip("\n").split("\t") for line in f if line.strip()]
    except OSError:
        return []


def mean(xs):
    return sum(xs) / len(xs) if xs else None


def fmt(x, spec="%.2f"):
    return "n/a" if x is None else spec % x


def main():
    d = sys.argv[1]
    config = {}
    try:
        with open(os.path.join(d, "config")) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                config[k] = v.strip("'")
    except OSError:
        pass
    algos = config.get("GS_ALGOS", "lz4 zstd").replace("\\ ", " ").split()

    runs = {}  # (algo, rw, jobs, dev) -> [(rep, iops or None)]
    for algo, rw, jobs, dev, rep, iops, rc in read_tsv(os.path.join(d, "runs.tsv")):
        v = None if iops == "NA" or rc != "0" else float(iops)
        runs.setdefault((algo, rw, int(jobs), dev), []).append((int(rep), v))

    mm = {}  # (algo, phase, dev) -> dict
    for row in read_tsv(os.path.join(d, "mm_stat.tsv")):
        algo, phase, dev = row[0], row[1], row[2]
        mm[(algo, phase, dev)] = stat_fields.parse("mm_stat", row[3])

    missing = False
    rows = []

    def row(label, vals):
        nonlocal missing
        missing |= any(v is None for v in vals)
        rows.append((label, [fmt(v) for v in vals]))

    def pair_ratios(algo, rw, jobs):
        # The g/z ratio of every pair of the test, or None if a run of it is missing.
        g = dict(runs.get((algo, rw, jobs, G), []))
        z = dict(runs.get((algo, rw, jobs, Z), []))
        if not g or set(g) != set(z) or None in g.values() or None in z.values():
            return None
        return [g[i] / z[i] for i in sorted(g)]

    def iops_ratio(algo, rw, jobs):
        pr = pair_ratios(algo, rw, jobs)
        return None if not pr else math.exp(mean([math.log(r) for r in pr]))

    def mm_val(algo, phase, dev, key):
        m = mm.get((algo, phase, dev))
        return None if m is None else m[key]

    def mem_ratio(algo, phase):
        g, z = mm_val(algo, phase, G, "mem_used_total"), mm_val(algo, phase, Z, "mem_used_total")
        return None if g is None or not z else g / z

    def orig_over_mem(algo, phase, dev):
        o, m = mm_val(algo, phase, dev, "orig_data_size"), mm_val(algo, phase, dev, "mem_used_total")
        return None if o is None or not m else o / m

    def noisy(algo, rw, jobs):
        # The pair ratios of the test spread by more than 25%.
        pr = pair_ratios(algo, rw, jobs)
        return bool(pr) and max(pr) > 1.25 * min(pr)

    any_noisy = False
    for rw, jobs in TESTS:
        label = "%-9s QD1 %-6s IOPS g/z" % (rw, "1 job" if jobs == 1 else "%d jobs" % jobs)
        row(label, [iops_ratio(a, rw, jobs) for a in algos])
        marks = [noisy(a, rw, jobs) for a in algos]
        any_noisy |= any(marks)
        rows[-1] = (label, [v + ("*" if m else " ") for v, m in zip(rows[-1][1], marks)])
    row("fio data: mem_used g/z", [mem_ratio(a, "prefill") for a in algos])
    row("fio data: ratio orig/mem g", [orig_over_mem(a, "prefill", G) for a in algos])
    row("fio data: ratio orig/mem z", [orig_over_mem(a, "prefill", Z) for a in algos])
    row("fio data after randwrite: mem g/z", [mem_ratio(a, "after_perf") for a in algos])
    row("anon snapshot: mem_used g/z", [mem_ratio(a, "snapshot") for a in algos])
    row("anon snapshot: ratio orig/mem g", [orig_over_mem(a, "snapshot", G) for a in algos])
    row("anon snapshot: ratio orig/mem z", [orig_over_mem(a, "snapshot", Z) for a in algos])

    # Writeback, first algorithm only. (algo, dev) -> [(rep, value, ...)]
    wb, swap = {}, {}
    for algo, dev, rep, pages, secs, blocks in read_tsv(os.path.join(d, "wb.tsv")):
        ok = float(secs) > 0 and int(pages) > 0
        wb.setdefault((algo, dev), []).append(
            (int(rep), int(pages) / float(secs) if ok else None, int(pages), int(blocks)))
    def workload_runs(name):
        # (algo, dev) -> [(rep, seconds, disk share, p99 us)]; None where the run failed.
        table = {}
        for algo, dev, rep, secs, rc, mism, *more in read_tsv(os.path.join(d, name)):
            ok = rc == "0" and mism == "0"
            share, _p50, p99 = (more + ["NA"] * 3)[:3]
            number = lambda v: float(v) if ok and v != "NA" else None  # noqa: E731
            table.setdefault((algo, dev), []).append(
                (int(rep), float(secs) if ok else None, number(share), number(p99)))
        return table

    swap = workload_runs("swap.tsv")
    hotcold = workload_runs("hotcold.tsv") if os.path.exists(os.path.join(d, "hotcold.tsv")) else {}

    def paired(table, algo, num, den):
        # Geometric mean over the reps of num's value over den's.
        a = {r[0]: r[1] for r in table.get((algo, num), [])}
        b = {r[0]: r[1] for r in table.get((algo, den), [])}
        if not a or set(a) != set(b) or None in a.values() or None in b.values():
            return None
        return math.exp(mean([math.log(a[i] / b[i]) for i in sorted(a)]))

    def row_first(label, value):
        # A row with a value for the first algorithm only.
        nonlocal missing
        missing |= value is None
        rows.append((label, [fmt(value)] + ["-"] * (len(algos) - 1)))

    wb_algo = algos[0] if algos else ""
    row_first("writeback pages/s g/z", paired(wb, wb_algo, G, Z))
    row_first("swap 8x mem_limit time z/g", paired(swap, wb_algo, Z, G))
    packed = [p / b for _, _, p, b in wb.get((wb_algo, G), []) if b]
    row_first("packed writeback pages/block g", mean(packed))
    if hotcold:
        p99 = {k: [(r[0], r[3]) for r in v] for k, v in hotcold.items()}
        row_first("hot/cold time z/g", paired(hotcold, wb_algo, Z, G))
        row_first("hot/cold p99 fault z/g", paired(p99, wb_algo, Z, G))
        for dev, who in ((G, "g"), (Z, "z")):
            shares = [r[2] for r in hotcold.get((wb_algo, dev), [])]
            row_first("hot/cold swap-ins from disk " + who,
                      None if None in shares else mean(shares))

    w = max(len(r[0]) for r in rows) + 2
    print("%-*s" % (w, "bench (TCG: ratios only)") + "".join("%10s " % a for a in algos))
    for label, vals in rows:
        print("%-*s" % (w, label) + "".join("%11s" % (v if v.endswith(("*", " ")) else v + " ")
                                            for v in vals))
    if any_noisy:
        print("* the G/Z pair ratios of this cell spread by more than 25% (noisy host)")
    print("targets: IOPS g/z >= 1.00, mem_used g/z <= 1.00, writeback pages/s g/z >= 3 "
          "(as measured, nothing tuned)")
    if config.get("GS_CLOCK") == "icount":
        print("clock: icount (guest time = instructions executed; caches and TLBs not modelled)")
    else:
        print("clock: wall (QEMU/TCG on the host's clock; host noise shows in the pair spread)")

    # --- the numbers behind it -----------------------------------------------------
    print()
    print("IOPS per pair (g/z), mean IOPS of g and of z, and the ratio of each pair:")
    for algo in algos:
        for rw, jobs in TESTS:
            g = dict(runs.get((algo, rw, jobs, G), []))
            z = dict(runs.get((algo, rw, jobs, Z), []))
            pairs = sorted(set(g) | set(z))
            seq = ["%s/%s" % (fmt(g.get(i), "%.0f"), fmt(z.get(i), "%.0f")) for i in pairs]
            pr = [fmt(g[i] / z[i]) if g.get(i) and z.get(i) else "n/a" for i in pairs]
            gm = mean([v for v in g.values() if v is not None])
            zm = mean([v for v in z.values() if v is not None])
            print("  %-4s %-9s j%d  %s   mean %s / %s   pairs %s" % (
                algo, rw, jobs, " ".join(seq), fmt(gm, "%.0f"), fmt(zm, "%.0f"), " ".join(pr)))

    print()
    print("writeback (pages, pages/s, blocks) and swap workload (seconds) per run:")
    for (algo, dev), rs in sorted(wb.items()):
        print("  %-4s %-10s writeback %s" % (algo, dev, "  ".join(
            "#%d %d pages %s %d blocks" % (r, p, "n/a" if v is None else "%.0f/s" % v, b)
            for r, v, p, b in rs)))
    for name, table in (("swap", swap), ("hot/cold", hotcold)):
        for (algo, dev), rs in sorted(table.items()):
            print("  %-4s %-10s %-9s %s" % (algo, dev, name, "  ".join(
                "#%d %s, from disk %s, p99 fault %s us" % (
                    r, "failed" if v is None else "%.1fs" % v, fmt(sh), fmt(p99, "%.1f"))
                for r, v, sh, p99 in rs)))

    print()
    print("mm_stat (MiB: orig compr mem_used | same huge):")
    for algo in algos:
        for phase in ("prefill", "after_perf", "snapshot"):
            for dev in (G, Z):
                m = mm.get((algo, phase, dev))
                if m is None:
                    continue
                print("  %-4s %-10s %-10s %8.2f %8.2f %8.2f | %6d %6d" % (
                    algo, phase, dev, m["orig_data_size"] / 2**20, m["compr_data_size"] / 2**20,
                    m["mem_used_total"] / 2**20, m["same_pages"], m["huge_pages"]))

    try:
        with open(os.path.join(d, "snapshot.json")) as f:
            s = json.load(f)
        wl = ""
        try:
            with open(os.path.join(d, "workload.txt")) as f:
                wl = f.readline().strip()
        except OSError:
            pass
        print()
        print("anon snapshot: python3 tests/bench/anon_workload.py (stdlib ASTs + identifier "
              "index), %s" % wl)
        print("  %d regions, %.1f MiB mapped, %d pages read, %d all-zero pages left out, "
              "%d same-filled, %d unreadable; %d pages (%.1f MiB) written to each device%s" % (
                  s["regions"], s["region_bytes"] / 2**20, s["pages_read"], s["zero_pages"],
                  s["same_filled_pages"], s["pages_unreadable"], s["pages_written"],
                  s["bytes_written"] / 2**20, " (TRUNCATED)" if s["truncated"] else ""))
    except (OSError, ValueError, KeyError):
        print("anon snapshot: no snapshot.json")
        missing = True
    print("mem_used_total = zsmalloc pages (zram) / pool frames incl. reserve (ghostswap); "
          "neither counts the per-slot table.")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())

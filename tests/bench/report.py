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
The writeback part (first algorithm only) has three systems with the same pool budget
(zswap's max_pool_percent of RAM; ghostswap's and zram's mem_limit, printed under the
table) and the same kind of backing disk: g = ghostswap0, z = zram0, zswap = zswap in
front of a swap partition. Each of its ratio rows is the geometric mean over the pairs of
the per-pair ratios (a pair: the two systems' runs of the same rep), then in brackets the
spread of the pair ratios (min..max) and the number of pairs; n/a if a run of a pair is
missing, failed or saw a mismatch, and then the brackets say how many pairs were whole.
writeback pages/s g/z: pages moved to the backing disk per second of a write to
"writeback" of a whole prefilled device (ghostswap "all", zram "idle" after "idle all");
ghostswap and zram only, zswap has no such knob. packed writeback pages/block g: pages
per 4 KiB block ghostswap wrote in those runs.
swap 8x mem_limit time z/g, time zswap/g: wall time of the verified swap workload
(8x the budget, in a cgroup) on zram, on zswap, over ghostswap's (> 1: ghostswap is
faster).
hot/cold: the same set-up under swapcheck's hot/cold workload (20% of the pages take 80%
of the accesses): time z/g and zswap/g; p99 fault z/g and zswap/g, the p99 of a faulting
access (> 1: ghostswap's faults are quicker); and per system the mean share of the
swap-ins served from the backing disk ("swap-ins from disk g", "z", "zswap"; lower: the
pages written back were the cold ones). zswap's share is vmstat pswpin / (pswpin +
zswpin) over the run.
redis: a redis-server in the cgroup holding 3x its memory, random GETs by
redis-benchmark, every value checked afterwards: GET ops/s g/z and g/zswap (ghostswap's
ops/s over the other's: > 1, ghostswap serves more), GET p99 z/g and zswap/g (> 1:
ghostswap's p99 is lower), and per system the share of swap-ins from the disk during
the GETs.
Rows of a part that GS_PARTS (config) did not ask for are left out, as are the hot/cold
and redis rows when their workload did not run (0 reps).
Prints the table, then the numbers behind it. Exit status 1 if a cell is missing.
"""
import json
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import stat_fields  # noqa: E402 (found through the path above)

G, Z, W = "ghostswap0", "zram0", "zswap"
WHO = {G: "g", Z: "z", W: "zswap"}
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


def gmean(xs):
    return math.exp(mean([math.log(x) for x in xs]))


def budget(d):
    """The writeback part's budget line, from guest.sh's guest-env.txt."""
    g = zs = pct = None
    try:
        with open(os.path.join(d, "guest-env.txt")) as f:
            for line in f:
                words = line.split()
                if line.startswith("wb budget:"):
                    g = int(words[2])
                elif line.startswith("wb zswap budget:"):
                    zs = int(words[3])
                    pct = line.split("max_pool_percent=")[1].split()[0]
    except (OSError, IndexError, ValueError):
        pass
    if g is None:
        return "pool budget: not recorded in guest-env.txt"
    text = "pool budget: %.2f MiB (%d bytes), ghostswap and zram mem_limit" % (g / 2**20, g)
    if zs == g:
        return text + "; zswap max_pool_percent=%s, the same" % pct
    if zs is not None:
        return text + "; zswap max_pool_percent=%s = %.2f MiB (%d bytes), NOT the same" % (
            pct, zs / 2**20, zs)
    return text + "; zswap's not recorded"


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
    parts = config.get("GS_PARTS", "pool writeback").replace("\\ ", " ").split()

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
        rows.append((label, [fmt(v) for v in vals], ""))

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
    if "pool" in parts:
        for rw, jobs in TESTS:
            label = "%-9s QD1 %-6s IOPS g/z" % (rw, "1 job" if jobs == 1 else "%d jobs" % jobs)
            row(label, [iops_ratio(a, rw, jobs) for a in algos])
            marks = [noisy(a, rw, jobs) for a in algos]
            any_noisy |= any(marks)
            rows[-1] = (label, [v + ("*" if m else " ") for v, m in zip(rows[-1][1], marks)], "")
        row("fio data: mem_used g/z", [mem_ratio(a, "prefill") for a in algos])
        row("fio data: ratio orig/mem g", [orig_over_mem(a, "prefill", G) for a in algos])
        row("fio data: ratio orig/mem z", [orig_over_mem(a, "prefill", Z) for a in algos])
        row("fio data after randwrite: mem g/z", [mem_ratio(a, "after_perf") for a in algos])
        row("anon snapshot: mem_used g/z", [mem_ratio(a, "snapshot") for a in algos])
        row("anon snapshot: ratio orig/mem g", [orig_over_mem(a, "snapshot", G) for a in algos])
        row("anon snapshot: ratio orig/mem z", [orig_over_mem(a, "snapshot", Z) for a in algos])

    # Writeback, first algorithm only. (algo, dev) -> [(rep, value, ...)], value None
    # where the run failed.
    wb = {}
    for algo, dev, rep, pages, secs, blocks in read_tsv(os.path.join(d, "wb.tsv")):
        ok = float(secs) > 0 and int(pages) > 0
        wb.setdefault((algo, dev), []).append(
            (int(rep), int(pages) / float(secs) if ok else None, int(pages), int(blocks)))

    def number(v, ok=True):
        return float(v) if ok and v != "NA" else None

    def workload_runs(name):
        # (algo, dev) -> [(rep, seconds, disk share, p99 us)]
        table = {}
        for algo, dev, rep, secs, rc, mism, *more in read_tsv(os.path.join(d, name)):
            ok = rc == "0" and mism == "0"
            share, _p50, p99 = (more + ["NA"] * 3)[:3]
            table.setdefault((algo, dev), []).append(
                (int(rep), number(secs, ok), number(share, ok), number(p99, ok)))
        return table

    def redis_runs():
        # (algo, dev) -> [(rep, GET ops/s, disk share, p99 ms, load s, rc, mismatches)]
        table = {}
        for algo, dev, rep, ops, p99, rc, mism, *more in read_tsv(os.path.join(d, "redis.tsv")):
            ok = rc == "0" and mism == "0"
            share, load = (more + ["NA"] * 2)[:2]
            table.setdefault((algo, dev), []).append(
                (int(rep), number(ops, ok), number(share, ok), number(p99, ok), number(load),
                 rc, mism))
        return table

    swap = workload_runs("swap.tsv")
    hotcold = workload_runs("hotcold.tsv")
    redis = redis_runs()

    def project(table, i):
        # The same table with field i as the value of each run.
        return {k: [(r[0], r[i]) for r in v] for k, v in table.items()}

    def pair_row(label, table, algo, num, den):
        # The geometric mean over the reps of num's value over den's, the spread of those
        # ratios and their number; n/a unless every rep has both runs and both succeeded.
        a = {r[0]: r[1] for r in table.get((algo, num), [])}
        b = {r[0]: r[1] for r in table.get((algo, den), [])}
        reps = sorted(set(a) | set(b))
        ratios = [a[i] / b[i] for i in reps if a.get(i) and b.get(i)]
        if reps and len(ratios) == len(reps):
            row_first(label, gmean(ratios), "(%.2f..%.2f, %d pair%s)" % (
                min(ratios), max(ratios), len(ratios), "" if len(ratios) == 1 else "s"))
        else:
            row_first(label, None, "(%d of %d pairs whole)" % (len(ratios), len(reps)))

    def share_row(label, table, algo, dev):
        # The mean share of swap-ins from the disk over dev's runs; n/a if one failed.
        shares = [r[2] for r in table.get((algo, dev), [])]
        row_first(label, None if None in shares else mean(shares))

    def row_first(label, value, note=""):
        # A row with a value for the first algorithm only.
        nonlocal missing
        missing |= value is None
        rows.append((label, [fmt(value)] + ["-"] * (len(algos) - 1), note))

    wb_algo = algos[0] if algos else ""
    if "writeback" in parts:
        pair_row("writeback pages/s g/z", wb, wb_algo, G, Z)
        packed = [p / b for _, _, p, b in wb.get((wb_algo, G), []) if b]
        row_first("packed writeback pages/block g", mean(packed))
        pair_row("swap 8x mem_limit time z/g", swap, wb_algo, Z, G)
        pair_row("swap 8x mem_limit time zswap/g", swap, wb_algo, W, G)
    if "writeback" in parts and hotcold:
        p99 = project(hotcold, 3)
        pair_row("hot/cold time z/g", hotcold, wb_algo, Z, G)
        pair_row("hot/cold time zswap/g", hotcold, wb_algo, W, G)
        pair_row("hot/cold p99 fault z/g", p99, wb_algo, Z, G)
        pair_row("hot/cold p99 fault zswap/g", p99, wb_algo, W, G)
        for dev in (G, Z, W):
            share_row("hot/cold swap-ins from disk " + WHO[dev], hotcold, wb_algo, dev)
    if "writeback" in parts and redis:
        p99 = project(redis, 3)
        pair_row("redis GET ops/s g/z", redis, wb_algo, G, Z)
        pair_row("redis GET ops/s g/zswap", redis, wb_algo, G, W)
        pair_row("redis GET p99 z/g", p99, wb_algo, Z, G)
        pair_row("redis GET p99 zswap/g", p99, wb_algo, W, G)
        for dev in (G, Z, W):
            share_row("redis swap-ins from disk " + WHO[dev], redis, wb_algo, dev)

    w = max([len(r[0]) for r in rows] + [24]) + 2
    print("%-*s" % (w, "bench (TCG: ratios only)") + "".join("%10s " % a for a in algos))
    for label, vals, note in rows:
        print(("%-*s" % (w, label) + "".join("%11s" % (v if v.endswith(("*", " ")) else v + " ")
                                             for v in vals) + " " + note).rstrip())
    if any_noisy:
        print("* the G/Z pair ratios of this cell spread by more than 25% (noisy host)")
    print("targets: IOPS g/z >= 1.00, mem_used g/z <= 1.00, writeback pages/s g/z >= 3 "
          "(as measured, nothing tuned)")
    if config.get("GS_CLOCK") == "icount":
        print("clock: icount (guest time = instructions executed; caches and TLBs not modelled)")
    else:
        print("clock: wall (QEMU/TCG on the host's clock; host noise shows in the pair spread)")
    if "writeback" in parts:
        print(budget(d))

    # --- the numbers behind it -----------------------------------------------------
    if "pool" in parts:
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

    if "writeback" in parts:
        print()
        print("writeback (pages, pages/s, blocks), swap workloads (seconds) and redis per run:")
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
        for (algo, dev), rs in sorted(redis.items()):
            print("  %-4s %-10s %-9s %s" % (algo, dev, "redis", "  ".join(
                "#%d %s, p99 %s ms, from disk %s, load %s s" % (
                    r, "failed (rc=%s, mismatches=%s)" % (rc, mism) if v is None
                    else "%.0f GET/s" % v, fmt(p99, "%.2f"), fmt(sh), fmt(load, "%.0f"))
                for r, v, sh, p99, load, rc, mism in rs)))

    if "pool" in parts:
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

#!/usr/bin/env python3
"""Where the threads of one program spend their time, on the CPU or off it.

A sampler for the bench's perf mode (GS_BENCH_PERF=1): perf's cpu-clock profile
shows only the time on a CPU, and a swap workload under TCG spends most of its
time waiting. Every PERIOD seconds this reads, for each thread of each process
named COMM, its state and its kernel stack (/proc/PID/task/TID/stack, which
needs CONFIG_STACKTRACE and root), and counts the top FRAMES frames. On SIGTERM
or SIGINT it writes the counts, most frequent first, to OUT.

usage: offcpu.py COMM OUT [PERIOD] [FRAMES]
"""

import os
import signal
import sys
import time
from collections import Counter


def threads(comm):
    """(pid, tid) of every thread of the processes named comm."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() != comm:
                    continue
            for tid in os.listdir(f"/proc/{pid}/task"):
                yield pid, tid
        except OSError:
            continue


def sample(pid, tid, frames):
    """'STATE frame;frame;...' of one thread, or None if it is gone."""
    base = f"/proc/{pid}/task/{tid}"
    try:
        with open(f"{base}/stat") as f:
            # The state follows the parenthesised name, which may hold spaces.
            state = f.read().rsplit(")", 1)[1].split()[0]
        if state == "R":
            return "R (running or runnable)"
        with open(f"{base}/stack") as f:
            names = [line.split()[1].split("+")[0] for line in f if len(line.split()) > 1]
    except (OSError, IndexError):
        return None
    # A thread between sleeping and running may show no stack.
    return f"{state} " + (";".join(names[:frames]) or "(no stack read)")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    comm, out = sys.argv[1], sys.argv[2]
    period = float(sys.argv[3]) if len(sys.argv) > 3 else 0.02
    frames = int(sys.argv[4]) if len(sys.argv) > 4 else 6
    counts = Counter()
    done = []
    signal.signal(signal.SIGTERM, lambda *_: done.append(1))
    signal.signal(signal.SIGINT, lambda *_: done.append(1))
    # The threads are looked up once a second, not every period: a scan of
    # /proc costs the guest far more than reading the threads found.
    found, scanned = [], 0.0
    while not done:
        if time.monotonic() - scanned >= 1.0:
            found, scanned = list(threads(comm)), time.monotonic()
        for pid, tid in found:
            key = sample(pid, tid, frames)
            if key:
                counts[key] += 1
        time.sleep(period)
    total = sum(counts.values()) or 1
    with open(out, "w") as f:
        f.write(f"# {total} samples of the threads of {comm}, every {period}s\n")
        for key, n in counts.most_common(40):
            f.write(f"{100 * n / total:6.2f}% {n:7d}  {key}\n")


if __name__ == "__main__":
    main()

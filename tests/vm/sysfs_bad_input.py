#!/usr/bin/env python3
"""Writes malformed input to every writable attribute of /sys/block/ghostswap0,
before and after initialization, and checks the errno and that nothing changed.

Usage: sysfs_bad_input.py SYSFS_DIR. Prints one line per rejected write class and
exits 1 on the first wrong outcome. Empty writes are not sent: sysfs never passes
a zero-length write to the driver.
"""
import errno
import os
import sys

SYS = sys.argv[1]
GARBAGE = [
    b"\n", b" ", b"abc", b"-1", b"+5", b"1.5G", b"0x10", b"1 2", b"1KK", b"16E",
    b"99999999999999999999999999", b"\xff\xfe\xfd", b"\x00", b"1\x002",
    b"lz4 zstd", b"LZ4", b"level=", b"level=99", b"level=3 level=4", b"algo=gzip",
    b"9" * 4000, b"\xc3\x28" * 100,
]
# Inputs that are valid for an attribute are not garbage for it.
VALID = {
    "reset": {b"0"},
    "mem_limit": set(),
    "algorithm_params": {b"\n", b" "},  # whitespace only: back to defaults
    "compact": set(),
}
STATE_FILES = ["disksize", "initstate", "comp_algorithm", "mm_stat", "io_stat"]


def read(name):
    with open(os.path.join(SYS, name), "rb") as f:
        return f.read()


def state():
    return {name: read(name) for name in STATE_FILES}


def write(name, data):
    try:
        fd = os.open(os.path.join(SYS, name), os.O_WRONLY)
    except OSError as e:
        return e.errno
    try:
        os.write(fd, data)
        return 0
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def check(name, expected_errno, inputs):
    before = state()
    for data in inputs:
        got = write(name, data)
        if got != expected_errno:
            sys.exit(f"FAIL {name} <- {data[:40]!r}: errno {errno.errorcode.get(got, got)}, "
                     f"expected {errno.errorcode[expected_errno]}")
        after = state()
        if after != before:
            changed = [k for k in STATE_FILES if after[k] != before[k]]
            sys.exit(f"FAIL {name} <- {data[:40]!r} was rejected but changed {changed}")
    print(f"ok   {len(inputs):3d} writes to {name:16s} -> {errno.errorcode[expected_errno]}, state unchanged")


def garbage_for(name):
    return [g for g in GARBAGE if g not in VALID.get(name, set())]


# Uninitialized: everything malformed is EINVAL; compact needs an initialized device.
assert read("initstate").strip() == b"0", "device should start uninitialized"
for name in ["disksize", "comp_algorithm", "algorithm_params", "mem_limit", "mem_used_max",
             "reset"]:
    check(name, errno.EINVAL, garbage_for(name))
check("compact", errno.EINVAL, [b"1"] + garbage_for("compact"))
# Sizes that parse but are not allowed: zero, unaligned, beyond 1 TiB, below a page.
check("disksize", errno.EINVAL, [b"0", b"4097", b"2T", b"1K"])

# Read-only files refuse writes at the VFS (no write permission) or with EINVAL.
for name in ["initstate", "mm_stat", "io_stat", "debug_stat", "frontswap_stat"]:
    got = write(name, b"1")
    if got not in (errno.EACCES, errno.EPERM, errno.EINVAL, errno.EIO):
        sys.exit(f"FAIL read-only {name} accepted a write (errno {got})")
print("ok   read-only files refuse writes")

# Initialize, then configuration that only makes sense before first use is EBUSY.
if write("disksize", b"16M\n") != 0:
    sys.exit("FAIL could not initialize with disksize=16M")
for name in ["disksize", "comp_algorithm", "algorithm_params"]:
    check(name, errno.EBUSY, [b"32M", b"zstd", b"level=3"] + garbage_for(name)[:6])
for name in ["mem_limit", "mem_used_max", "reset", "compact"]:
    check(name, errno.EINVAL, garbage_for(name))
print("PASS")

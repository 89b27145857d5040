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
STATE_FILES = ["disksize", "initstate", "comp_algorithm", "mm_stat", "io_stat",
               "backing_dev", "writeback_limit", "writeback_limit_enable",
               "pool_high_wmark", "pool_low_wmark", "promote_on_read", "bd_stat",
               "writeback_stat"]
WRITABLE = ["disksize", "reset", "comp_algorithm", "algorithm_params", "mem_limit",
            "mem_used_max", "compact", "backing_dev", "writeback", "idle", "writeback_limit",
            "writeback_limit_enable", "pool_high_wmark", "pool_low_wmark", "promote_on_read"]
READ_ONLY = ["initstate", "mm_stat", "io_stat", "debug_stat", "frontswap_stat", "bd_stat",
             "writeback_stat"]
# The writeback settings: garbage is EINVAL before and after initialization.
SETTINGS = ["writeback_limit", "writeback_limit_enable", "pool_high_wmark", "pool_low_wmark",
            "promote_on_read"]


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


# Every attribute the ABI file documents is one this test knows (argv[2], optional).
if len(sys.argv) > 2:
    with open(sys.argv[2]) as f:
        documented = {line.split("/")[-1].strip() for line in f if line.startswith("What:")}
    unknown = documented - set(WRITABLE) - set(READ_ONLY)
    if unknown:
        sys.exit(f"FAIL documented attributes this test does not cover: {sorted(unknown)}")
    print(f"ok   the {len(documented)} documented attributes are all covered")

# Uninitialized: everything malformed is EINVAL; compact needs an initialized device.
assert read("initstate").strip() == b"0", "device should start uninitialized"
for name in ["disksize", "comp_algorithm", "algorithm_params", "mem_limit", "mem_used_max",
             "reset"]:
    check(name, errno.EINVAL, garbage_for(name))
check("compact", errno.EINVAL, [b"1"] + garbage_for("compact"))
# backing_dev: malformed paths are EINVAL (255 bytes at most); well-formed ones that are
# no block device fail as the open does.
check("backing_dev", errno.EINVAL, garbage_for("backing_dev") + [b"/" + b"a" * 300, b"dev/vda"])
check("backing_dev", errno.ENOENT, [b"/nonexistent/disk"])
check("backing_dev", errno.ENOTBLK, [b"/dev/null", b"/"])
# writeback and idle need an initialized device, whatever the input (as zram).
check("writeback", errno.EINVAL, [b"all", b"huge", b"page_index=1"] + garbage_for("writeback"))
check("idle", errno.EINVAL, [b"all", b"10"] + garbage_for("idle"))
for name in SETTINGS:
    check(name, errno.EINVAL, garbage_for(name))
check("pool_high_wmark", errno.EINVAL, [b"0", b"101", b"80", b"50"])  # low is 80
check("pool_low_wmark", errno.EINVAL, [b"0", b"90", b"100"])  # high is 90
check("writeback_limit_enable", errno.EINVAL, [b"2", b"10"])
check("promote_on_read", errno.EINVAL, [b"2", b"yes"])
# Sizes that parse but are not allowed: zero, unaligned, beyond 1 TiB, below a page.
check("disksize", errno.EINVAL, [b"0", b"4097", b"2T", b"1K"])

# Read-only files refuse writes at the VFS (no write permission) or with EINVAL.
for name in READ_ONLY:
    got = write(name, b"1")
    if got not in (errno.EACCES, errno.EPERM, errno.EINVAL, errno.EIO):
        sys.exit(f"FAIL read-only {name} accepted a write (errno {got})")
print("ok   read-only files refuse writes")

# Initialize, then configuration that only makes sense before first use is EBUSY.
if write("disksize", b"16M\n") != 0:
    sys.exit("FAIL could not initialize with disksize=16M")
for name in ["disksize", "comp_algorithm", "algorithm_params"]:
    check(name, errno.EBUSY, [b"32M", b"zstd", b"level=3"] + garbage_for(name)[:6])
for name in ["mem_limit", "mem_used_max", "reset", "compact"] + SETTINGS:
    check(name, errno.EINVAL, garbage_for(name))
check("backing_dev", errno.EBUSY, [b"/dev/null", b"none"] + garbage_for("backing_dev")[:6])
# No backing device: well-formed writeback requests are ENODEV, malformed ones or pages
# past the device's end EINVAL.
check("writeback", errno.ENODEV, [b"all", b"idle", b"huge", b"page_index=0"])
check("writeback", errno.EINVAL, garbage_for("writeback") + [b"page_index=4096",
      b"page_indexes=5-2", b"page_indexes=0-4096", b"hot"])
check("idle", errno.EINVAL, garbage_for("idle"))
print("PASS")

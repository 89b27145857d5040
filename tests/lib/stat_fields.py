# SPDX-License-Identifier: GPL-2.0
"""The statistics files' field names for Python scripts, from tests/lib/stat.sh.

The names and their order live once, in stat.sh's GS_STAT_FIELDS (checked against
Documentation/ABI/testing/sysfs-block-ghostswap by check-stat-names.sh); this asks bash
for them rather than keeping a copy.
"""
import functools
import os
import subprocess

STAT_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stat.sh")


@functools.lru_cache(maxsize=None)
def names(file):
    """The field names of the statistics file `file` (e.g. "mm_stat"), in order."""
    out = subprocess.run(
        ["bash", "-c", '. "$1" && echo ${GS_STAT_FIELDS[$2]}', "-", STAT_SH, file],
        check=True, capture_output=True, text=True).stdout.split()
    if not out:
        raise KeyError(f"tests/lib/stat.sh has no field names for {file}")
    return out


def parse(file, text):
    """The numbers of one line of the statistics file `file`, as a dict by field name."""
    return dict(zip(names(file), (int(x) for x in text.split())))

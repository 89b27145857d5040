#!/bin/bash
# Host check: the field names of tests/lib/stat.sh (GS_STAT_FIELDS), by which the VM
# tests, the bench, the soak and the demo read the statistics files, are those of
# Documentation/ABI/testing/sysfs-block-ghostswap, in its order: each file's table of
# fields, or for io_stat the list after "order:". Prints `PASS stat_names` or
# `FAIL stat_names: ...` per difference; exit status 0 iff they agree.
#
# usage: tests/lib/check-stat-names.sh   (tests/run-all.sh runs it with the host tests)
set -u -o pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=SCRIPTDIR/stat.sh
. "$repo/tests/lib/stat.sh"

# The files the ABI doc describes; `stat` is the block layer's, documented elsewhere.
table=$(for f in "${!GS_STAT_FIELDS[@]}"; do
	[[ $f == stat ]] || echo "$f" "${GS_STAT_FIELDS[$f]//[$'\t\n']/ }"
done)
python3 - "$repo/Documentation/ABI/testing/sysfs-block-ghostswap" "$table" <<'EOF_PY'
import re
import sys

# The doc: "What: .../<file>" starts an entry; its fields are the first words of the rows
# of its table (rows start one space in, continuation lines further), or, without a
# table, the names listed after "order:" with their remarks in parentheses left out.
doc = {}
name = None
for block in re.split(r"\n(?=What:)", open(sys.argv[1]).read()):
    m = re.match(r"What:\s*/sys/block/ghostswap<id>/(\w+)", block)
    if not m:
        continue
    name = m.group(1)
    rows = re.findall(r"^\t\t (\w+) ", block, re.M)
    if rows:
        doc[name] = rows
    elif "order:" in block:
        text = re.sub(r"\([^)]*\)", "", block.split("order:", 1)[1].split("\n\n")[0])
        doc[name] = re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", text)

bad = 0
for line in sys.argv[2].splitlines():
    words = line.split()
    if not words:
        continue
    f, ours = words[0], words[1:]
    if f not in doc:
        print(f"FAIL stat_names: {f} is not described with its fields in {sys.argv[1]}")
        bad += 1
    elif doc[f] != ours:
        print(f"FAIL stat_names: {f}: tests/lib/stat.sh has {' '.join(ours)}; "
              f"the ABI doc has {' '.join(doc[f])}")
        bad += 1
if not bad:
    print(f"PASS stat_names ({len(sys.argv[2].splitlines())} files)")
sys.exit(1 if bad else 0)
EOF_PY

#!/bin/bash
# Proves the disk cannot be partitioned (swap's slot-free offsets are relative to the device swap is on, so a swap area on a partition would free the wrong slots): a valid partition table written to it and re-read creates no partition, and adding one by ioctl fails.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

name=${GS_DEV##*/}
load_module "disksize=64M" || fail "load_module failed"

# A DOS partition table in the first page: one Linux partition from sector 2048,
# 65536 sectors long; the rest of the page zero.
mbr=$GS_CASE_DIR/mbr.img
python3 - "$mbr" <<'PY' || fail "cannot make the partition table"
import struct, sys
sector = bytearray(512)
# status, CHS first (unused), type 0x83, CHS last (unused), LBA first, sectors
sector[446:462] = struct.pack("<B3sB3sII", 0, b"\0\0\0", 0x83, b"\0\0\0", 2048, 65536)
sector[510:512] = b"\x55\xaa"
open(sys.argv[1], "wb").write(bytes(sector) + bytes(4096 - 512))
PY
expect_ok "write the partition table" dd if="$mbr" of="$GS_DEV" bs=4k oflag=direct status=none
# The kernel re-reads the table on request; with partitions refused it says so.
rc=0
blockdev --rereadpt "$GS_DEV" 2>"$GS_CASE_DIR/rereadpt.err" || rc=$?
info "blockdev --rereadpt: exit $rc: $(cat "$GS_CASE_DIR/rereadpt.err")"
partx -a "$GS_DEV" >/dev/null 2>&1
expect_fail "adding a partition by ioctl (BLKPG)" addpart "$GS_DEV" 1 2048 65536
sleep 0.5
for p in /sys/block/"$name"/"$name"*; do
	[[ -e $p ]] && fail "partition $p exists"
done
[[ -e ${GS_DEV}p1 || -e ${GS_DEV}1 ]] && fail "a partition device node exists"
info "ok: no partition of $name"
# The table is plain data to the device: it reads back as written.
expect_ok "read the table back" cmp <(dd if="$GS_DEV" bs=4k count=1 iflag=direct status=none) "$mbr"
unload_module || fail "unload failed"

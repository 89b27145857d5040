#!/bin/bash
# Proves every block written back carries a CRC32C that every read of it checks: with the backing device's blocks changed behind the driver's back (through a device-mapper twin of its backing device), reads of migrated pages fail with EIO and are counted in bd_stat's checksum_errors (but for those of extents kept in memory, read and checked before the change), and none returns wrong data; with the blocks put back, every page reads back right.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "zram keeps no checksums of what it writes back"; exit 0; }
BD=$(backing_disk) || fail "no backing disk (tests/vm/run.sh attaches one)"
command -v dmsetup >/dev/null || fail "dmsetup not found"
S=$GS_SYSFS
CHECK=$(dirname "$0")/../pagecheck.py
ref=$GS_CASE_DIR/ref.img
saved=$GS_CASE_DIR/saved.img
changed=$GS_CASE_DIR/changed.img
pages=2048
# The blocks written back: a fresh allocator hands them out from the start of the
# device, and 2048 pages take far fewer than these 4096.
region_mib=16
sectors=$(blockdev --getsz "$BD") || fail "cannot size $BD"
DM=gscsum
TWIN=gscsum-twin

# The mapped devices go after the module, whatever happens.
cleanup() {
	module_loaded && rmmod ghostswap 2>/dev/null
	dmsetup remove "$DM" 2>/dev/null
	dmsetup remove "$TWIN" 2>/dev/null
}
trap cleanup EXIT

bd() { read_stat "$GS_DEV" bd_stat "$1"; }

# Two linear maps of the same disk: the driver claims the first; the second writes
# to the same blocks without it knowing.
for name in "$DM" "$TWIN"; do
	dmsetup create "$name" --table "0 $sectors linear $BD 0" || fail "cannot create $name over $BD"
	# No udev in the VM: make the /dev/mapper node by hand.
	dmsetup mknodes "$name" || fail "cannot make the node of $name"
done
load_module disksize= || fail "load_module failed"
echo "/dev/mapper/$DM" >"$S/backing_dev" || fail "cannot use /dev/mapper/$DM as backing_dev"
echo $((pages * 4))K >"$S/disksize" || fail "cannot set disksize"
python3 "$CHECK" make "$ref" $pages || fail "cannot make the reference pages"
expect_ok "write the reference pages" dd if="$ref" of="$GS_DEV" bs=1M oflag=direct status=none

# 1. Everything but the same-filled pages moves to the disk and reads back right:
# every block read matches its checksum.
echo all >"$S/writeback" || fail "writeback all failed"
check_gt "$(read_stat "$GS_DEV" writeback_stat pages_written)" 1000 "pages written back"
used=$(bd bd_count)
check_gt "$used" 0 "blocks in use"
((used < region_mib * 256)) || fail "$used blocks in use: more than the $region_mib MiB changed below"
pagecheck "$ref" no "with pages migrated"
check_gt "$(bd bd_reads)" 0 "blocks read"
check_eq "$(bd checksum_errors)" 0 "checksum errors of blocks as written"

# 2. One byte of every block changed through the twin: each read of a migrated page
# fails with EIO and is counted; same-filled pages, which never left memory, still
# read back right. No page reads back wrong (pagecheck fails on one).
expect_ok "save the blocks" dd if="/dev/mapper/$TWIN" of="$saved" bs=1M count=$region_mib \
	iflag=direct status=none
python3 - "$saved" "$changed" <<'EOF' || fail "cannot change the blocks"
import sys
data = bytearray(open(sys.argv[1], "rb").read())
for block in range(0, len(data), 4096):
    data[block + 1000] ^= 0x40
open(sys.argv[2], "wb").write(data)
EOF
expect_ok "change a byte of every block" dd if="$changed" of="/dev/mapper/$TWIN" bs=1M \
	oflag=direct conv=notrunc status=none
failed0=$(read_stat "$GS_DEV" io_stat failed_reads)
hits0=$(debug_stat_field extent_cache_hits)
pagecheck "$ref" yes "reads of changed blocks"
eio=$(sed -n 's/.* eio=\([0-9]*\) .*/\1/p' <<<"$PAGECHECK")
ok=$(sed -n 's/.* ok=\([0-9]*\) .*/\1/p' <<<"$PAGECHECK")
migrated=$(read_stat "$GS_DEV" writeback_stat pages_written)
# The extents the cache kept from step 1 were read and checked before the change: their
# pages still read back right, from memory. No other extent can be kept now (a whole
# extent is kept only if every block matches), so every other migrated page fails.
cached=$(($(debug_stat_field extent_cache_hits) - hits0))
info "pages read from extents kept in memory since step 1: $cached"
check_eq "$eio" $((migrated - cached)) "pages failing with EIO (every migrated one not kept in memory)"
check_eq "$ok" $((pages - migrated + cached)) "pages read back right (never written back, or kept)"
check_eq "$(bd checksum_errors)" "$eio" "checksum errors (one per failed read)"
check_gt "$(read_stat "$GS_DEV" io_stat failed_reads)" "$failed0" "io_stat failed_reads"

# 3. The blocks put back: nothing was dropped, every page reads back right.
expect_ok "put the blocks back" dd if="$saved" of="/dev/mapper/$TWIN" bs=1M oflag=direct \
	conv=notrunc status=none
pagecheck "$ref" no "with the blocks put back"
check_eq "$(bd checksum_errors)" "$eio" "checksum errors after the blocks were put back"

expect_ok "blkdiscard" blkdiscard "$GS_DEV"
check_eq "$(bd bd_count)" 0 "bd_count after discarding everything"
unload_module || fail "unload failed"

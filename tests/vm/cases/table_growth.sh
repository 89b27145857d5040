#!/bin/bash
# Proves the frame table and the backing allocator's tables grow as they are used instead of being allocated for the worst case at disksize: initializing a 64 GiB device over a 16 TiB backing device takes about the slot table (16 bytes a page) and the tables' directories; debug_stat's figures follow the frames and the backing blocks in use, and agree with what the kernel's free memory says.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "zram has no debug_stat table figures"; exit 0; }
command -v dmsetup >/dev/null || fail "dmsetup not found"
FIO=$(fio_bin) || fail "fio not found"
BD=$(backing_disk) || fail "no backing disk (tests/vm/run.sh attaches one)"
S=$GS_SYSFS

# dbg KEY: a "key: value" line of debug_stat.
dbg() { awk -v k="$1:" '$1 == k { print $2 }' "$S/debug_stat"; }
mem_free_kib() { awk '$1 == "MemFree:" { print $2 }' /proc/meminfo; }

cleanup() {
	module_loaded && { echo 1 >"$S/reset"; rmmod ghostswap; } 2>/dev/null
	dmsetup remove gs_huge 2>/dev/null
}
trap cleanup EXIT

# 1. A 64 GiB device over a 16 TiB backing device (dm error: nothing is written to it).
# Tables for the worst case would take 16M pages * 72 bytes (1152 MiB) plus 4G blocks *
# 2 bytes (8 GiB) in this 2 GiB guest; grown on demand, the slot table (256 MiB) and the
# directories.
load_module disksize= || fail "load_module failed"
dmsetup create gs_huge --table "0 $((16 << 31)) error" || fail "cannot create the 16 TiB dm error device"
# No udev in the VM: make the /dev/mapper node by hand.
dmsetup mknodes gs_huge || fail "cannot make the node of gs_huge"
echo /dev/mapper/gs_huge >"$S/backing_dev" || fail "cannot set backing_dev to the 16 TiB device"
sync
echo 3 >/proc/sys/vm/drop_caches
before=$(mem_free_kib)
echo 64G >"$S/disksize" || fail "cannot initialize a 64 GiB device over a 16 TiB backing device"
after=$(mem_free_kib)
taken_mib=$(((before - after) >> 10))
slot_bytes=$(dbg slot_table_bytes)
frame_bytes=$(dbg frame_table_bytes)
backing_bytes=$(dbg backing_table_bytes)
info "disksize 64G: MemFree dropped ${taken_mib} MiB; debug_stat: slot_table_bytes $slot_bytes frame_table_bytes $frame_bytes backing_table_bytes $backing_bytes frame_table_entries $(dbg frame_table_entries)"
check_eq "$(dbg slot_metadata_bytes)" 16 "slot_metadata_bytes"
check_eq "$slot_bytes" $((16 << 20 << 4)) "slot_table_bytes (16M slots of 16 bytes)"
check_eq "$(dbg frame_table_entries)" 0 "frame_table_entries before any write"
# Directories only: a pointer-sized entry per chunk (64 frames, 16384 blocks).
((frame_bytes < 8 << 20)) || fail "frame_table_bytes $frame_bytes at init (directory only expected)"
((backing_bytes < 16 << 20)) || fail "backing_table_bytes $backing_bytes at init (directories only expected)"
((taken_mib < 256 + 48)) || fail "initializing took ${taken_mib} MiB (slot table 256 MiB + directories expected)"
((taken_mib >= 200)) || fail "initializing took only ${taken_mib} MiB: the measure does not see the slot table"
echo 1 >"$S/reset" || fail "reset failed"
dmsetup remove gs_huge || fail "cannot remove gs_huge"

# 2. The frame table follows the frames in use, the backing tables the blocks in use.
echo "$BD" >"$S/backing_dev" || fail "cannot set backing_dev to $BD"
echo 256M >"$S/disksize" || fail "cannot set disksize"
check_eq "$(dbg frame_table_entries)" 0 "frame_table_entries before any write"
"$FIO" --name=fill --filename="$GS_DEV" --rw=write --bs=4k --direct=1 --ioengine=psync \
	--size=96M --buffer_compress_percentage=60 --refill_buffers --verify=crc32c \
	--verify_fatal=1 --verify_state_save=0 --output="$GS_CASE_DIR/fio-fill.log" || fail "fio fill failed"
entries=$(dbg frame_table_entries)
frames=$(($(dbg packed_frames) + $(dbg huge_frames) + $(dbg reserve_frames)))
info "after 96M written: $frames frames, frame_table_entries $entries, frame_table_bytes $(dbg frame_table_bytes)"
check_gt "$frames" 0 "frames in the pool"
((entries >= frames)) || fail "frame_table_entries $entries < $frames frames held"
# Entries are taken from the lowest free one and never beyond need: at most the most
# frames held at once (here: all of them) rounded up to a chunk of 64.
((entries <= (frames + 63) / 64 * 64)) || fail "frame_table_entries $entries for $frames frames"
# The directories of the 1 GiB disk: 16 chunks, two tables, 24 bytes an entry.
dirs=$((2 * 24 * 16))
check_eq "$(dbg backing_table_bytes)" "$dirs" "backing_table_bytes before writeback"
echo all >"$S/writeback" || fail "writeback all failed"
used=$(read_stat "$GS_DEV" bd_stat 1) || fail "no bd_stat"
check_gt "$used" 0 "blocks on the backing device after writeback"
got=$(dbg backing_table_bytes)
info "writeback: $used blocks used; backing_table_bytes $got"
# The tables cover the blocks in use rounded up to a chunk of 16384, or one chunk more
# if the last frame did not fit in the end of the chunk before.
covered=$(((used + 16383) / 16384 * 16384))
bytes_for() { echo $(($1 / 64 * 8 + $1 * 2 + dirs)); }
[[ $got == "$(bytes_for "$covered")" || $got == "$(bytes_for $((covered + 16384)))" ]] ||
	fail "backing_table_bytes $got for $used blocks in use (expected $(bytes_for "$covered"))"
"$FIO" --name=fill --filename="$GS_DEV" --rw=write --bs=4k --direct=1 --ioengine=psync \
	--size=96M --buffer_compress_percentage=60 --refill_buffers --verify=crc32c \
	--verify_only=1 --verify_fatal=1 --verify_state_save=0 --output="$GS_CASE_DIR/fio-verify.log" || fail "fio verify failed"
info "ok: every page reads back after the tables grew"
unload_module || fail "unload failed"

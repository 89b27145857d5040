#!/bin/bash
# Proves the slot table, the frame table and the backing allocator's tables grow as they are used instead of being allocated for the worst case at disksize: initializing a 1 TiB device over a 16 TiB backing device takes only the tables' directories (just under 1 byte a page, where zram takes 16), as the kernel's free memory confirms; debug_stat's figures follow the slots, frames and backing blocks in use.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "zram has no debug_stat table figures"; exit 0; }
command -v dmsetup >/dev/null || fail "dmsetup not found"
FIO=$(fio_bin) || fail "fio not found"
BD=$(backing_disk) || fail "no backing disk (tests/vm/run.sh attaches one)"
S=$GS_SYSFS
# Entries per chunk of the slot and frame tables (src/tables.rs).
SLOT_CHUNK=128
FRAME_CHUNK=32

mem_free_kib() { awk '$1 == "MemFree:" { print $2 }' /proc/meminfo; }

cleanup() {
	module_loaded && { echo 1 >"$S/reset"; rmmod ghostswap; } 2>/dev/null
	dmsetup remove gs_huge 2>/dev/null
}
trap cleanup EXIT

# 1. A 1 TiB device over a 16 TiB backing device (dm error: nothing is written to it).
# Tables for the worst case would take 256M pages * 72 bytes (18 GiB) plus 4G blocks *
# 6 bytes (24 GiB) in this 2 GiB guest; grown on demand, only their directories.
load_module disksize= || fail "load_module failed"
dmsetup create gs_huge --table "0 $((16 << 31)) error" || fail "cannot create the 16 TiB dm error device"
# No udev in the VM: make the /dev/mapper node by hand.
dmsetup mknodes gs_huge || fail "cannot make the node of gs_huge"
echo /dev/mapper/gs_huge >"$S/backing_dev" || fail "cannot set backing_dev to the 16 TiB device"
sync
echo 3 >/proc/sys/vm/drop_caches
before=$(mem_free_kib)
echo 1T >"$S/disksize" || fail "cannot initialize a 1 TiB device over a 16 TiB backing device"
after=$(mem_free_kib)
taken_mib=$(((before - after) >> 10))
slot_bytes=$(debug_stat_field slot_table_bytes)
frame_bytes=$(debug_stat_field frame_table_bytes)
backing_bytes=$(debug_stat_field backing_table_bytes)
tables_mib=$(((slot_bytes + frame_bytes + backing_bytes) >> 20))
info "disksize 1T: MemFree dropped ${taken_mib} MiB; debug_stat: slot_table_bytes $slot_bytes frame_table_bytes $frame_bytes backing_table_bytes $backing_bytes (${tables_mib} MiB)"
check_eq "$(debug_stat_field slot_metadata_bytes)" 16 "slot_metadata_bytes"
# Directories only, 24 bytes a chunk: 128 slots, 32 frames, 16384 blocks (two tables).
pages=$((1 << 28))
check_eq "$slot_bytes" $((pages / SLOT_CHUNK * 24)) "slot_table_bytes (the directory of 2M chunks)"
check_eq "$frame_bytes" $(((pages + 2 + 2 * $(nproc --all) + FRAME_CHUNK - 1) / FRAME_CHUNK * 24)) "frame_table_bytes (the directory)"
check_eq "$backing_bytes" $(((0xffffffff + 16383) / 16384 * 2 * 24)) "backing_table_bytes (the directories)"
check_eq "$(debug_stat_field frame_table_entries)" 0 "frame_table_entries before any write"
# The kernel agrees: what initializing took is the tables, give or take 32 MiB. The
# directories are vmalloc'd: the debug kernel's KASAN_VMALLOC shadow takes 1/8 more.
expected_mib=$tables_mib
if ((GS_DEBUG_KERNEL)); then
	expected_mib=$((tables_mib + tables_mib / 8))
	info "KASAN: expecting the tables plus their vmalloc shadow, ${expected_mib} MiB"
fi
((taken_mib < expected_mib + 32)) || fail "initializing took ${taken_mib} MiB, the tables ${tables_mib} MiB"
((taken_mib + 32 > expected_mib)) || fail "initializing took only ${taken_mib} MiB: the measure does not see the tables"
echo 1 >"$S/reset" || fail "reset failed"
dmsetup remove gs_huge || fail "cannot remove gs_huge"

# 2. The slot table follows the slots written, the frame table the frames in use, the
# backing tables the blocks in use.
echo "$BD" >"$S/backing_dev" || fail "cannot set backing_dev to $BD"
echo 256M >"$S/disksize" || fail "cannot set disksize"
check_eq "$(debug_stat_field frame_table_entries)" 0 "frame_table_entries before any write"
slot_dir=$((65536 / SLOT_CHUNK * 24))
check_eq "$(debug_stat_field slot_table_bytes)" "$slot_dir" "slot_table_bytes before any write"
# 96 MiB (a quarter on the debug kernel) from offset 0.
fill_mb=$(scaled_mib 96)
fill_pages=$((fill_mb * 256))
"$FIO" --name=fill --filename="$GS_DEV" --rw=write --bs=4k --direct=1 --ioengine=psync \
	--size="${fill_mb}M" --buffer_compress_percentage=60 --refill_buffers --verify=crc32c \
	--verify_fatal=1 --verify_state_save=0 --output="$GS_CASE_DIR/fio-fill.log" || fail "fio fill failed"
# Chunks of 128 slots, 2 KiB each, for the pages written.
chunk_bytes=$((SLOT_CHUNK * 16))
check_eq "$(debug_stat_field slot_table_bytes)" $((fill_pages / SLOT_CHUNK * chunk_bytes + slot_dir)) "slot_table_bytes after ${fill_mb} MiB"
# One page far away: one chunk more, not the slots in between.
"$FIO" --name=far --filename="$GS_DEV" --rw=write --bs=4k --direct=1 --ioengine=psync \
	--offset=250M --size=4k --buffer_compress_percentage=60 --output="$GS_CASE_DIR/fio-far.log" ||
	fail "fio far failed"
check_eq "$(debug_stat_field slot_table_bytes)" $(((fill_pages / SLOT_CHUNK + 1) * chunk_bytes + slot_dir)) "slot_table_bytes after one more page at 250 MiB"
entries=$(debug_stat_field frame_table_entries)
frames=$(($(debug_stat_field packed_frames) + $(debug_stat_field huge_frames) + $(debug_stat_field reserve_frames)))
info "after ${fill_mb}M written: $frames frames, frame_table_entries $entries, frame_table_bytes $(debug_stat_field frame_table_bytes)"
check_gt "$frames" 0 "frames in the pool"
((entries >= frames)) || fail "frame_table_entries $entries < $frames frames held"
# Entries are taken from the lowest free one and never beyond need: at most the most
# frames held at once (here: all of them) rounded up to a chunk.
((entries <= (frames + FRAME_CHUNK - 1) / FRAME_CHUNK * FRAME_CHUNK)) || fail "frame_table_entries $entries for $frames frames"
# The directories of the 1 GiB disk: 16 chunks, two tables, 24 bytes an entry.
dirs=$((2 * 24 * 16))
check_eq "$(debug_stat_field backing_table_bytes)" "$dirs" "backing_table_bytes before writeback"
echo all >"$S/writeback" || fail "writeback all failed"
used=$(read_stat "$GS_DEV" bd_stat bd_count) || fail "no bd_stat"
check_gt "$used" 0 "blocks on the backing device after writeback"
got=$(debug_stat_field backing_table_bytes)
info "writeback: $used blocks used; backing_table_bytes $got"
# The tables cover the blocks in use rounded up to a chunk of 16384, or one chunk more
# if the last frame did not fit in the end of the chunk before.
covered=$(((used + 16383) / 16384 * 16384))
# A bit of map and a 6-byte entry (hold count, CRC32C) per block covered.
bytes_for() { echo $(($1 / 64 * 8 + $1 * 6 + dirs)); }
[[ $got == "$(bytes_for "$covered")" || $got == "$(bytes_for $((covered + 16384)))" ]] ||
	fail "backing_table_bytes $got for $used blocks in use (expected $(bytes_for "$covered"))"
"$FIO" --name=fill --filename="$GS_DEV" --rw=write --bs=4k --direct=1 --ioengine=psync \
	--size="${fill_mb}M" --buffer_compress_percentage=60 --refill_buffers --verify=crc32c \
	--verify_only=1 --verify_fatal=1 --verify_state_save=0 --output="$GS_CASE_DIR/fio-verify.log" || fail "fio verify failed"
info "ok: every page reads back after the tables grew"
unload_module || fail "unload failed"

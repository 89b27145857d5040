#!/bin/bash
# Proves malformed I/O is refused cleanly: misaligned direct I/O and I/O past the end fail, partial-page buffered writes round-trip, discard and write-zeroes free and zero the data.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

size=$((64 << 20))
blocks=$((size / 4096))
load_module disksize=64M || fail "load_module disksize=64M failed"
check_eq "$(blockdev --getsize64 "$GS_DEV")" $size "device size"
check_eq "$(blockdev --getss "$GS_DEV")" 4096 "logical block size"

# Direct I/O must be aligned to the 4096-byte logical block size.
expect_fail "O_DIRECT write of 512 bytes at offset 512" \
	dd if=/dev/zero of="$GS_DEV" bs=512 count=1 seek=1 oflag=direct status=none
expect_fail "O_DIRECT read of 512 bytes at offset 512" \
	dd if="$GS_DEV" of=/dev/null bs=512 count=1 skip=1 iflag=direct status=none
expect_fail "O_DIRECT write of 4096 bytes at offset 512" \
	dd if=/dev/zero of="$GS_DEV" bs=512 count=8 seek=1 oflag=direct status=none
expect_fail "O_DIRECT 2048-byte write at offset 0" \
	dd if=/dev/zero of="$GS_DEV" bs=2048 count=1 oflag=direct status=none

# The last block is usable; the one after it is not.
expect_ok "O_DIRECT write of the last block" \
	dd if=/dev/urandom of="$GS_DEV" bs=4096 count=1 seek=$((blocks - 1)) oflag=direct status=none
expect_fail "O_DIRECT write past the end" \
	dd if=/dev/zero of="$GS_DEV" bs=4096 count=1 seek=$blocks oflag=direct
grep -q 'No space left on device' <<<"$GS_OUT" || fail "write past the end: expected ENOSPC, got: $GS_OUT"
out=$(dd if="$GS_DEV" of=/dev/null bs=4096 count=1 skip=$blocks iflag=direct 2>&1) ||
	fail "read at the end failed instead of returning 0 bytes: $out"
grep -q '^0+0 records in' <<<"$out" || fail "read past the end transferred data: $out"
info "ok: read past the end returns 0 bytes"

# A 512-byte buffered write in the middle of a page: the page cache reads, modifies and
# writes the whole 4 KiB page; the other bytes must survive.
dd if=/dev/urandom of="$GS_CASE_DIR/page" bs=4096 count=1 status=none
expect_ok "write a random page at block 100" \
	dd if="$GS_CASE_DIR/page" of="$GS_DEV" bs=4096 seek=100 oflag=direct status=none
dd if=/dev/urandom of="$GS_CASE_DIR/patch" bs=512 count=1 status=none
expect_ok "buffered 512-byte write at byte 1536 of block 100" \
	dd if="$GS_CASE_DIR/patch" of="$GS_DEV" bs=512 seek=$((100 * 8 + 3)) conv=notrunc,fsync status=none
dd if="$GS_CASE_DIR/patch" of="$GS_CASE_DIR/page" bs=512 seek=3 conv=notrunc status=none
dd if="$GS_DEV" of="$GS_CASE_DIR/readback" bs=4096 count=1 skip=100 iflag=direct status=none ||
	fail "read back of block 100 failed"
cmp "$GS_CASE_DIR/page" "$GS_CASE_DIR/readback" || fail "block 100 differs after a partial buffered write"
info "ok: partial buffered write round-trips"

# Discards: misaligned ones are refused, a whole-device one frees everything.
expect_ok "fill the first 8M" \
	dd if=/dev/urandom of="$GS_DEV" bs=1M count=8 oflag=direct status=none
check_gt "$(read_stat "$GS_DEV" mm_stat orig_data_size)" 0 "mm_stat orig_data_size after writing"
expect_fail "discard at a 512-byte offset" blkdiscard -f -o 512 -l 4096 "$GS_DEV"
expect_ok "blkdiscard of the whole device" blkdiscard -f "$GS_DEV"
check_eq "$(read_stat "$GS_DEV" mm_stat orig_data_size)" 0 "mm_stat orig_data_size after blkdiscard"
check_eq "$(read_stat "$GS_DEV" mm_stat mem_used_total)" 0 "mm_stat mem_used_total after blkdiscard"

# Write-zeroes: data is replaced by zeros.
expect_ok "fill the first 8M again" \
	dd if=/dev/urandom of="$GS_DEV" bs=1M count=8 oflag=direct status=none
expect_ok "blkdiscard -z of the whole device" blkdiscard -f -z "$GS_DEV"
nonzero=$(dd if="$GS_DEV" bs=1M iflag=direct status=none | tr -d '\0' | wc -c)
check_eq "$nonzero" 0 "non-zero bytes on the device after blkdiscard -z"
show_stats "$GS_DEV"

unload_module || fail "unload failed"
info "bad_io: done"

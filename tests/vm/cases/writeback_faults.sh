#!/bin/bash
# Proves a failing backing device never makes the device return wrong data: device-mapper error and flakey targets under writeback and under reads of migrated pages; failed writes leave pages in memory, failed reads end in EIO, both are counted, and everything reads back right once the disk works again; automatic writeback under mem_limit onto a failing disk backs off (bounded failed writes per second) and never leaves a page stale.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "zram has no 'all' writeback mode"; exit 0; }
BD=$(backing_disk) || fail "no backing disk (tests/vm/run.sh attaches one)"
command -v dmsetup >/dev/null || fail "dmsetup not found"
S=$GS_SYSFS
CHECK=$(dirname "$0")/../pagecheck.py
ref=$GS_CASE_DIR/ref.img
pages=2048
sectors=$(blockdev --getsz "$BD") || fail "cannot size $BD"
DM=gsfault

# The mapped device goes after the module, whatever happens.
cleanup() {
	module_loaded && rmmod ghostswap 2>/dev/null
	dmsetup remove "$DM" 2>/dev/null
}
trap cleanup EXIT

# table TARGET...: replace the mapped device's table (suspend, load, resume).
table() {
	dmsetup suspend "$DM" && dmsetup load "$DM" --table "0 $sectors $*" && dmsetup resume "$DM" ||
		fail "cannot switch $DM to '$*'"
	info "$DM: $*"
}

wb() { read_stat "$GS_DEV" writeback_stat "$1"; }
bd() { read_stat "$GS_DEV" bd_stat "$1"; }

dmsetup create "$DM" --table "0 $sectors linear $BD 0" || fail "cannot create $DM over $BD"
# No udev in the VM: make the /dev/mapper node by hand.
dmsetup mknodes "$DM" || fail "cannot make the node of $DM"
load_module disksize= || fail "load_module failed"
echo "/dev/mapper/$DM" >"$S/backing_dev" || fail "cannot use /dev/mapper/$DM as backing_dev"
echo $((pages * 4))K >"$S/disksize" || fail "cannot set disksize"
python3 "$CHECK" make "$ref" $pages || fail "cannot make the reference pages"
expect_ok "write the reference pages" dd if="$ref" of="$GS_DEV" bs=1M oflag=direct status=none
pagecheck "$ref" no "after writing"

# 1. Every backing write fails: nothing migrates, the pages stay in memory, the
# failures are counted and the extents are freed again.
table error
expect_fail "writeback all onto a failing disk" sh -c "echo all >$S/writeback"
check_gt "$(wb failed_writebacks)" 0 "failed_writebacks"
check_eq "$(wb pages_written)" 0 "pages written back"
check_eq "$(bd bd_count)" 0 "bd_count after failed writes"
pagecheck "$ref" no "after failed writeback"

# 2. The disk works again: writeback moves everything.
table linear "$BD" 0
echo all >"$S/writeback" || fail "writeback all on a working disk failed"
check_gt "$(wb pages_written)" 1000 "pages written back"
pagecheck "$ref" no "with pages migrated"

# 3. Every backing read fails: migrated pages fail with EIO, none returns wrong data.
table error
failed0=$(read_stat "$GS_DEV" io_stat failed_reads)
pagecheck "$ref" yes "reads from a failing disk"
grep -q ' eio=0 ' <<<"$PAGECHECK" && fail "no read failed although the disk fails every read"
check_gt "$(read_stat "$GS_DEV" io_stat failed_reads)" "$failed0" "io_stat failed_reads"

# 4. A flakey disk (1 s up, 1 s down) under writeback and reads together: rewrite the
# pages, keep writing back, and check everything twice.
table linear "$BD" 0
expect_ok "rewrite the reference pages" dd if="$ref" of="$GS_DEV" bs=1M oflag=direct status=none
table flakey "$BD" 0 1 1
stop=$GS_CASE_DIR/stop
rm -f "$stop"
(while [[ ! -e $stop ]]; do echo all >"$S/writeback"; echo all >"$S/idle"; done) 2>/dev/null &
loop=$!
pagecheck "$ref" yes "flakey disk, pass 1"
pagecheck "$ref" yes "flakey disk, pass 2"
touch "$stop"
wait "$loop"
info "writeback_stat: $(cat "$S/writeback_stat")"
info "bd_stat: $(cat "$S/bd_stat")"
info "io_stat: $(cat "$S/io_stat")"

# 5. The disk works again: every page reads back right, nothing was lost.
table linear "$BD" 0
pagecheck "$ref" no "after the faults"
check_eq "$(read_stat "$GS_DEV" writeback_stat fallthrough_stores)" 0 "fall-through stores (no mem_limit here)"
expect_ok "blkdiscard" blkdiscard "$GS_DEV"
check_eq "$(bd bd_count)" 0 "bd_count after discarding everything"

# 6. Automatic writeback under mem_limit onto a failing disk: writes past the limit
# fail, but writeback backs off (100 ms doubling to 10 s) instead of writing every
# frame on every kick, and no page ever reads back stale. The old pages sit in RAM;
# the new ones are written over them for WINDOW seconds with the disk failing.
old=$GS_CASE_DIR/old.img
python3 "$CHECK" make "$old" $pages 7 || fail "cannot make the old pages"
expect_ok "write the old pages" dd if="$old" of="$GS_DEV" bs=1M oflag=direct status=none
table error
echo 2M >"$S/mem_limit" || fail "mem_limit"
failed0=$(wb failed_writebacks)
WINDOW=15
end=$((SECONDS + WINDOW))
rounds=0
while ((SECONDS < end)); do
	python3 "$CHECK" write "$GS_DEV" "$ref" >"$GS_CASE_DIR/write.out" || fail "pagecheck write"
	rounds=$((rounds + 1))
done
info "last round: $(cat "$GS_CASE_DIR/write.out")"
failed=$(($(wb failed_writebacks) - failed0))
info "writeback_stat: $(cat "$S/writeback_stat")"
info "$rounds rounds of writes in ${WINDOW}s: $failed frame writes failed"
check_gt "$(wb backoff_deferrals)" 0 "automatic runs held back (backoff_deferrals)"
# At most 1 + 7 doublings + WINDOW/10 runs are let through, each ending at its first
# failed batch of 16 frames.
bound=$((16 * (1 + 7 + WINDOW / 10)))
((failed <= bound)) || fail "$failed frame writes failed in ${WINDOW}s, more than the back-off allows ($bound)"
info "ok: $failed failed frame writes <= $bound"
echo 0 >"$S/mem_limit" || fail "mem_limit 0"
table linear "$BD" 0
out=$(python3 "$CHECK" check "$GS_DEV" "$ref" "$old" 2>&1)
printf '%s\n' "$out" | sed 's/^/  | /'
grep -q ' eio=0 wrong=0 other_errors=0 ' <<<"$out" || fail "after writes onto a failing disk: $out"
expect_ok "blkdiscard" blkdiscard "$GS_DEV"
check_eq "$(bd bd_count)" 0 "bd_count after discarding everything"
unload_module || fail "unload failed"
dmsetup remove "$DM" || fail "cannot remove $DM"
trap - EXIT

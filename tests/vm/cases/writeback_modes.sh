#!/bin/bash
# Proves each manual writeback mode moves what it says to the backing disk (counted in bd_stat and writeback_stat), that writeback_limit stops it at the budget, that promote_on_read brings pages back, that migrated pages read back right (fio crc32c verify after every step) and that freeing every page frees every backing block.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "zram's writeback moves single pages and has no 'all' mode"; exit 0; }
FIO=$(fio_bin) || fail "fio not found"
BD=$(backing_disk) || fail "no backing disk (tests/vm/run.sh attaches one)"
S=$GS_SYSFS

load_module disksize= || fail "load_module failed"
check_eq "$(cat "$S/backing_dev")" none "backing_dev before it is set"
echo "$BD" >"$S/backing_dev" || fail "cannot set backing_dev to $BD"
check_eq "$(cat "$S/backing_dev")" "$BD" "backing_dev"
echo 16M >"$S/disksize" || fail "cannot set disksize"
expect_fail "backing_dev after init" sh -c "echo $BD >$S/backing_dev"

# wb FIELD: field FIELD of writeback_stat; bd FIELD: of bd_stat.
wb() { read_stat "$GS_DEV" writeback_stat "$1"; }
bd() { read_stat "$GS_DEV" bd_stat "$1"; }

# fio_data WHAT OFFSET SIZE COMPRESS [EXTRA...]: write (or with --verify_only=1, verify)
# crc32c-tagged 4 KiB blocks; COMPRESS is fio's buffer_compress_percentage.
fio_data() {
	local what=$1 offset=$2 size=$3 pct=$4 rc=0
	shift 4
	"$FIO" --name="$what" --filename="$GS_DEV" --rw=write --bs=4k --direct=1 --ioengine=psync \
		--offset="$offset" --size="$size" --buffer_compress_percentage="$pct" --refill_buffers \
		--verify=crc32c --verify_fatal=1 "$@" >"$GS_CASE_DIR/fio-$what.log" 2>&1 || rc=$?
	((rc == 0)) || {
		tail -n 20 "$GS_CASE_DIR/fio-$what.log" | sed 's/^/  | /'
		fail "fio $what exited $rc"
	}
	info "ok: fio $what ($offset +$size)"
}

# verify_all: every region written so far reads back right.
verify_all() {
	fio_data verify-packed 0 12M 60 --verify_only=1
	fio_data verify-huge 12M 2M 0 --verify_only=1
}

# 12 MiB of compressible pages (packed frames) and 2 MiB of random ones (huge pages).
fio_data packed 0 12M 60
fio_data huge 12M 2M 0
huge=$(read_stat "$GS_DEV" mm_stat 8) || fail "no mm_stat"
check_gt "$huge" 400 "huge pages stored"
check_eq "$(bd 1)" 0 "bd_count before any writeback"
show_stats "$GS_DEV"

# huge: exactly the huge pages go, one block each.
echo huge >"$S/writeback" || fail "writeback huge failed"
check_eq "$(wb 1)" "$huge" "pages written by 'huge'"
check_eq "$(bd 1)" "$huge" "bd_count after 'huge' (one block per huge page)"
check_eq "$(bd 3)" "$huge" "bd_writes after 'huge'"
check_eq "$(read_stat "$GS_DEV" mm_stat 8)" 0 "huge pages still in RAM after 'huge'"
verify_all
check_gt "$(bd 2)" 0 "bd_reads (migrated pages read back)"

# page_index=N: the frame that holds page N goes, with every page in it.
before=$(wb 1)
frames=$(wb 2)
echo page_index=100 >"$S/writeback" || fail "writeback page_index=100 failed"
check_eq "$(wb 2)" $((frames + 1)) "frames written by page_index=100"
check_gt "$(wb 1)" "$before" "pages written by page_index=100"
# The same page again: already migrated, nothing more is written.
echo page_index=100 >"$S/writeback" 2>/dev/null
check_eq "$(wb 2)" $((frames + 1)) "frames written after page_index=100 again"

# page_indexes=LO-HI: the frames of a range.
before=$(wb 1)
echo page_indexes=1000-1999 >"$S/writeback" || fail "writeback page_indexes failed"
check_gt $(($(wb 1) - before)) 999 "pages written by page_indexes=1000-1999"
verify_all

# idle by age: nothing has gone unused for a day, so nothing is marked or written.
echo 86400 >"$S/idle" || fail "idle 86400 failed"
before=$(wb 1)
echo idle >"$S/writeback" || fail "writeback idle (nothing idle) failed"
check_eq "$(wb 1)" "$before" "pages written by 'idle' with nothing a day old"

# idle: mark everything idle, rewrite the first 2 MiB (its frames are fresh, not idle),
# then write back the idle frames: the rewritten pages must stay.
echo all >"$S/idle" || fail "idle all failed"
fio_data packed-again 0 2M 60
before=$(wb 1)
echo idle >"$S/writeback" || fail "writeback idle failed"
moved=$(($(wb 1) - before))
check_gt "$moved" 300 "pages written by 'idle'"
echo all >"$S/writeback" || fail "writeback all failed"
check_gt $(($(wb 1) - before - moved)) 500 "pages 'all' found that 'idle' left (the 512 rewritten)"
verify_all

# writeback_limit: a budget of 100 blocks (4 KiB each, like zram's) stops 'all' there.
fio_data packed-third 0 4M 60
echo 1 >"$S/writeback_limit_enable" || fail "writeback_limit_enable"
echo 100 >"$S/writeback_limit" || fail "writeback_limit"
before=$(bd 3)
pages=$(wb 1)
echo all >"$S/writeback" || true
spent=$(($(bd 3) - before))
((spent > 0 && spent <= 100)) || fail "blocks written under a budget of 100: $spent"
info "ok: $spent blocks ($(($(wb 1) - pages)) pages) written under a budget of 100"
check_eq "$(cat "$S/writeback_limit")" $((100 - spent)) "writeback_limit left"
expect_fail "writeback with the budget spent" sh -c "echo all >$S/writeback"
echo 0 >"$S/writeback_limit_enable" || fail "writeback_limit_enable 0"
verify_all

# promote_on_read: reading migrated pages brings them back into the pool and frees
# their blocks once a block's last page is back.
echo all >"$S/writeback" 2>/dev/null
blocks=$(bd 1)
echo 1 >"$S/promote_on_read" || fail "promote_on_read 1"
verify_all
check_gt "$(wb 5)" 300 "promotions"
(($(bd 1) < blocks)) || fail "bd_count did not drop with promotions: $blocks -> $(bd 1)"
info "ok: bd_count $blocks -> $(bd 1) with promote_on_read"
echo 0 >"$S/promote_on_read" || fail "promote_on_read 0"
verify_all
show_stats "$GS_DEV"
info "writeback_stat: $(cat "$S/writeback_stat")"
info "bd_stat: $(cat "$S/bd_stat")"

# Freeing every page frees every backing block.
expect_ok "blkdiscard" blkdiscard "$GS_DEV"
check_eq "$(bd 1)" 0 "bd_count after discarding everything"
check_eq "$(wb 6)" 0 "backing blocks in use after discarding everything"
check_eq "$(read_stat "$GS_DEV" mm_stat 1)" 0 "orig_data_size after discarding everything"
unload_module || fail "unload failed"

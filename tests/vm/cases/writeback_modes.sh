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

# wb NAME: the field NAME of writeback_stat; bd NAME: of bd_stat.
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
huge=$(read_stat "$GS_DEV" mm_stat huge_pages) || fail "no mm_stat"
check_gt "$huge" 400 "huge pages stored"
check_eq "$(bd bd_count)" 0 "bd_count before any writeback"
show_stats "$GS_DEV"

# huge: exactly the huge pages go, one block each.
echo huge >"$S/writeback" || fail "writeback huge failed"
check_eq "$(wb pages_written)" "$huge" "pages written by 'huge'"
check_eq "$(bd bd_count)" "$huge" "bd_count after 'huge' (one block per huge page)"
check_eq "$(bd bd_writes)" "$huge" "bd_writes after 'huge'"
check_eq "$(read_stat "$GS_DEV" mm_stat huge_pages)" 0 "huge pages still in RAM after 'huge'"
verify_all
check_gt "$(bd bd_reads)" 0 "bd_reads (migrated pages read back)"

# page_index=N: the frame that holds page N goes, with every page in it.
before=$(wb pages_written)
frames=$(wb frames_written)
echo page_index=100 >"$S/writeback" || fail "writeback page_index=100 failed"
check_eq "$(wb frames_written)" $((frames + 1)) "frames written by page_index=100"
check_gt "$(wb pages_written)" "$before" "pages written by page_index=100"
# The same page again: already migrated, nothing more is written.
echo page_index=100 >"$S/writeback" 2>/dev/null
check_eq "$(wb frames_written)" $((frames + 1)) "frames written after page_index=100 again"

# page_indexes=LO-HI: the frames of a range.
before=$(wb pages_written)
echo page_indexes=1000-1999 >"$S/writeback" || fail "writeback page_indexes failed"
check_gt $(($(wb pages_written) - before)) 999 "pages written by page_indexes=1000-1999"
verify_all

# idle by age: nothing has gone unused for a day, so nothing is marked or written.
echo 86400 >"$S/idle" || fail "idle 86400 failed"
before=$(wb pages_written)
echo idle >"$S/writeback" || fail "writeback idle (nothing idle) failed"
check_eq "$(wb pages_written)" "$before" "pages written by 'idle' with nothing a day old"

# idle: mark everything idle, rewrite the first 2 MiB (its frames are fresh, not idle),
# then write back the idle frames: the rewritten pages must stay.
echo all >"$S/idle" || fail "idle all failed"
fio_data packed-again 0 2M 60
before=$(wb pages_written)
echo idle >"$S/writeback" || fail "writeback idle failed"
moved=$(($(wb pages_written) - before))
check_gt "$moved" 300 "pages written by 'idle'"
echo all >"$S/writeback" || fail "writeback all failed"
check_gt $(($(wb pages_written) - before - moved)) 500 "pages 'all' found that 'idle' left (the 512 rewritten)"
verify_all

# writeback_limit: a budget of 100 blocks (4 KiB each, like zram's) stops 'all' there.
fio_data packed-third 0 4M 60
echo 1 >"$S/writeback_limit_enable" || fail "writeback_limit_enable"
echo 100 >"$S/writeback_limit" || fail "writeback_limit"
before=$(bd bd_writes)
pages=$(wb pages_written)
echo all >"$S/writeback" || true
spent=$(($(bd bd_writes) - before))
((spent > 0 && spent <= 100)) || fail "blocks written under a budget of 100: $spent"
info "ok: $spent blocks ($(($(wb pages_written) - pages)) pages) written under a budget of 100"
check_eq "$(cat "$S/writeback_limit")" $((100 - spent)) "writeback_limit left"
expect_fail "writeback with the budget spent" sh -c "echo all >$S/writeback"
echo 0 >"$S/writeback_limit_enable" || fail "writeback_limit_enable 0"
verify_all

# promote_on_read: reading migrated pages brings them back into the pool and frees
# their blocks once a block's last page is back.
echo all >"$S/writeback" 2>/dev/null
blocks=$(bd bd_count)
echo 1 >"$S/promote_on_read" || fail "promote_on_read 1"
verify_all
check_gt "$(wb promotions)" 300 "promotions"
(($(bd bd_count) < blocks)) || fail "bd_count did not drop with promotions: $blocks -> $(bd bd_count)"
info "ok: bd_count $blocks -> $(bd bd_count) with promote_on_read"
echo 0 >"$S/promote_on_read" || fail "promote_on_read 0"
verify_all
show_stats "$GS_DEV"
info "writeback_stat: $(cat "$S/writeback_stat")"
info "bd_stat: $(cat "$S/bd_stat")"

# Freeing every page frees every backing block.
expect_ok "blkdiscard" blkdiscard "$GS_DEV"
check_eq "$(bd bd_count)" 0 "bd_count after discarding everything"
check_eq "$(wb backing_blocks_used)" 0 "backing blocks in use after discarding everything"
check_eq "$(read_stat "$GS_DEV" mm_stat orig_data_size)" 0 "orig_data_size after discarding everything"
unload_module || fail "unload failed"

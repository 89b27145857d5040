#!/bin/bash
# needs: debug-kernel (fail_page_alloc with a stack-trace filter)
# Proves stores and backing-device I/O make progress when the allocator has no multi-page block to give: with every allocation of order 1 or more made from the module's code failing (fail_page_alloc), stores still grow the tables and fall back to single-page frames, writeback still moves every frame with its preallocated copy buffer, a read of a migrated page that needs a two-page buffer goes to the work queue and uses the reserve there, the fallbacks are counted, and every page reads back right.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "fault injection targets the ghostswap module"; exit 0; }
F=/sys/kernel/debug/fail_page_alloc
[[ -d $F && -e $F/require-start ]] ||
	fail "no $F with a stack-trace filter (CONFIG_FAIL_PAGE_ALLOC, CONFIG_FAULT_INJECTION_STACKTRACE_FILTER)"
BD=$(backing_disk) || fail "no backing disk (tests/vm/run.sh attaches one)"
S=$GS_SYSFS
CHECK=$(dirname "$0")/../pagecheck.py
ref=$GS_CASE_DIR/ref.img
pages=4096

trap fault_restore EXIT

load_module disksize= async_reads=1 || fail "load_module failed"
echo "$BD" >"$S/backing_dev" || fail "backing_dev"
echo $((pages * 4))K >"$S/disksize" || fail "disksize"
python3 "$CHECK" make "$ref" $pages || fail "cannot make the reference pages"
# The first quarter goes in while the allocator still gives multi-page frames, where
# compressed pages lie across two blocks: once written back, each needs a two-page
# read buffer.
quarter=$((pages * 4 / 1024 / 4))
expect_ok "write the first quarter" dd if="$ref" of="$GS_DEV" bs=1M count=$quarter oflag=direct \
	status=none

# Fail every allocation of order >= 1 whose stack passes through the module.
fault_filter_module fail_page_alloc
echo 1 >"$F/min-order"
echo N >"$F/ignore-gfp-highmem"
echo N >"$F/task-filter"
echo 0 >"$F/space"
echo 0 >"$F/verbose"
echo -1 >"$F/times"
echo 1 >"$F/interval"
echo 100 >"$F/probability"
info "fail_page_alloc: order >= 1 under the module's code fails"
# The stores grow the slot and frame tables by chunks from the slab allocator: a
# chunk must come from an order-0 slab (a 4 KiB chunk needs order 1 when KASAN's
# redzones make kmalloc-4k objects larger than a page), or these writes fail.
expect_ok "write the rest" dd if="$ref" of="$GS_DEV" bs=1M skip=$quarter seek=$quarter oflag=direct \
	status=none

expect_ok "writeback all" sh -c "echo all >$S/writeback"
moved=$(read_stat "$GS_DEV" writeback_stat pages_written) || fail "writeback_stat"
check_gt "$moved" $((pages / 2)) "pages written back"
out=$(python3 "$CHECK" check "$GS_DEV" "$ref" 2>&1) || fail "pagecheck: $out"
info "$out"
grep -q ' eio=0 wrong=0 ' <<<"$out" || fail "pages read back wrong or with EIO: $out"
check_gt "$(read_stat "$GS_DEV" writeback_stat buffer_fallbacks)" 0 "buffer_fallbacks"
# A read of one block needs an order-0 buffer and starts from submit_bio; one
# of two blocks (an object across them) needs order 1, so its bio goes to the
# work queue and reads from the reserve.
info "debug_stat: async_read_bios $(debug_stat_field async_read_bios) worker_read_bios $(debug_stat_field worker_read_bios)"
check_gt "$(debug_stat_field async_read_bios)" 0 "read bios answered by reads started from submit_bio"
check_gt "$(debug_stat_field worker_read_bios)" 0 "read bios handed to the work queue (no order-1 buffer)"
fault_restore
show_stats "$GS_DEV"
echo 1 >"$S/reset" || fail "reset"
unload_module || fail "unload failed"

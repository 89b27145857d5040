#!/bin/bash
# needs: debug-kernel (fail_page_alloc with a stack-trace filter)
# Proves stores and backing-device I/O make progress when the allocator has no multi-page block to give: with every allocation of order 1 or more made from the module's code failing (fail_page_alloc), stores still grow the tables and fall back to single-page frames, writeback still moves every frame with its preallocated copy buffer, reads of migrated pages use the reserve, the fallbacks are counted, and every page reads back right.
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

load_module disksize= || fail "load_module failed"
echo "$BD" >"$S/backing_dev" || fail "backing_dev"
echo $((pages * 4))K >"$S/disksize" || fail "disksize"
python3 "$CHECK" make "$ref" $pages || fail "cannot make the reference pages"

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
expect_ok "write the reference pages" dd if="$ref" of="$GS_DEV" bs=1M oflag=direct status=none

expect_ok "writeback all" sh -c "echo all >$S/writeback"
moved=$(read_stat "$GS_DEV" writeback_stat pages_written) || fail "writeback_stat"
check_gt "$moved" $((pages / 2)) "pages written back"
out=$(python3 "$CHECK" check "$GS_DEV" "$ref" 2>&1) || fail "pagecheck: $out"
info "$out"
grep -q ' eio=0 wrong=0 ' <<<"$out" || fail "pages read back wrong or with EIO: $out"
check_gt "$(read_stat "$GS_DEV" writeback_stat buffer_fallbacks)" 0 "buffer_fallbacks"
fault_restore
show_stats "$GS_DEV"
echo 1 >"$S/reset" || fail "reset"
unload_module || fail "unload failed"

#!/bin/bash
# Proves a store the pool cannot take at mem_limit falls through to the backing device instead of failing: with a limit of one page, pages that writeback cannot make room for are stored straight to blocks of their own, counted, none fails, and all read back right; discarding frees every block.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "zram fails stores at mem_limit"; exit 0; }
BD=$(backing_disk) || fail "no backing disk (tests/vm/run.sh attaches one)"
S=$GS_SYSFS
CHECK=$(dirname "$0")/../pagecheck.py
ref=$GS_CASE_DIR/ref.img
pages=2048

load_module disksize= || fail "load_module failed"
echo "$BD" >"$S/backing_dev" || fail "cannot set backing_dev"
echo $((pages * 4))K >"$S/disksize" || fail "cannot set disksize"
# One page: no frame of the pool fits, so writeback has nothing to make room with.
echo 4K >"$S/mem_limit" || fail "cannot set mem_limit"
python3 "$CHECK" make "$ref" $pages || fail "cannot make the reference pages"
expect_ok "write $pages pages at a 4K mem_limit" dd if="$ref" of="$GS_DEV" bs=64K oflag=direct status=none
info "writeback_stat: $(cat "$S/writeback_stat")"
info "frontswap_stat: $(cat "$S/frontswap_stat")"
info "mm_stat: $(cat "$S/mm_stat")"
# A quarter of the reference pages are same-filled (kept in their slots). The rest
# either fit the pool while it is below its limit (it takes a frame whenever it holds
# less) and are written back from there, or fall through; none may fail.
direct=$(read_stat "$GS_DEV" writeback_stat fallthrough_stores) || fail "no writeback_stat"
check_gt "$direct" 0 "fall-through stores"
check_eq "$(read_stat "$GS_DEV" frontswap_stat failed_stores)" 0 "failed stores"
check_gt "$(read_stat "$GS_DEV" bd_stat bd_count)" $((direct - 1)) "bd_count (a block per fall-through store at least)"
out=$(python3 "$CHECK" check "$GS_DEV" "$ref" 2>&1) || fail "pagecheck: $out"
info "$out"
grep -q " ok=$pages " <<<"$out" || fail "not every page read back right"
expect_ok "blkdiscard" blkdiscard "$GS_DEV"
check_eq "$(read_stat "$GS_DEV" bd_stat bd_count)" 0 "bd_count after discarding everything"
unload_module || fail "unload failed"

#!/bin/bash
# needs: debug-kernel (failslab and fail_page_alloc with a stack-trace filter)
# Proves allocation failures anywhere in the module never cost a page: a verified swap workload 8x mem_limit, with automatic writeback to a backing disk, runs while 5% of the slab and page allocations made from the module's code fail (frames, copy and read buffers, work items of deferred bios, batches); failed stores fall back or fail cleanly, every page comes back right, and the failures injected are counted.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "fault injection targets the ghostswap module"; exit 0; }
SWAPCHECK=$(swapcheck_bin) || fail "swapcheck binary not found (cargo build --release -p swapcheck)"
BD=$(backing_disk) || fail "no backing disk (tests/vm/run.sh attaches one)"
S=$GS_SYSFS
D=/sys/kernel/debug
TIMES=1000000

trap fault_restore EXIT

load_module disksize= || fail "load_module failed"
echo "$BD" >"$S/backing_dev" || fail "backing_dev"
echo 128M >"$S/disksize" || fail "disksize"
echo 6M >"$S/mem_limit" || fail "mem_limit"
expect_ok "mkswap" mkswap "$GS_DEV"
expect_ok "swapon -p 100" swapon -p 100 "$GS_DEV"

fault_filter_module failslab fail_page_alloc
for f in failslab fail_page_alloc; do
	echo N >"$D/$f/task-filter"
	echo 0 >"$D/$f/space"
	echo 0 >"$D/$f/verbose"
	echo 1 >"$D/$f/interval"
	echo $TIMES >"$D/$f/times"
	echo 5 >"$D/$f/probability"
done
echo N >"$D/fail_page_alloc/ignore-gfp-highmem"
echo 0 >"$D/fail_page_alloc/min-order"
info "failslab and fail_page_alloc: 5% of the module's allocations fail"

log=$GS_CASE_DIR/swapcheck.log
rc=0
# One pass (writes, then reads back every page) covers every allocation site; a
# second doubled the case's time on the debug kernel without reaching a new one.
cgroup_run 16M "$SWAPCHECK" --size 48M --passes 1 --mix mixed >"$log" 2>&1 || rc=$?
slab=$((TIMES - $(cat "$D/failslab/times")))
pages=$((TIMES - $(cat "$D/fail_page_alloc/times")))
fault_restore
sed 's/^/  | /' "$log"
info "failures injected: $slab slab, $pages page"
show_stats "$GS_DEV"
info "writeback_stat: $(cat "$S/writeback_stat")"
check_eq "$rc" 0 "swapcheck exit status"
grep -q '^swapcheck: pages=12288 verified=[0-9]* mismatches=0 passes=1$' "$log" ||
	fail "swapcheck summary line missing or shows mismatches"
check_gt $((slab + pages)) 0 "allocation failures injected"
check_gt "$(read_stat "$GS_DEV" writeback_stat pages_written)" 0 "pages written back"
expect_ok "swapoff" swapoff "$GS_DEV"
echo 1 >"$S/reset" || fail "reset"
unload_module || fail "unload failed"

#!/bin/bash
# Proves automatic writeback under a verified swap workload 8x the pool's mem_limit: pages move to the backing disk at the high watermark, migrated pages are read back bit-exact by the work queue (async_reads=0: the way reads take without the default, and when memory for reads started from submit_bio is short), swap reads ahead (the disk is not synchronous with a backing device), and swapoff with many migrated slots brings every page back and leaves every backing block free.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "zram has no automatic writeback"; exit 0; }
SWAPCHECK=$(swapcheck_bin) || fail "swapcheck binary not found (cargo build --release -p swapcheck)"
BD=$(backing_disk) || fail "no backing disk (tests/vm/run.sh attaches one)"
S=$GS_SYSFS
# The workload is 8x mem_limit and 3x its cgroup; on the debug kernel, half as much
# data and one pass (every migrated page read back is a synchronous read there).
size=$(on_kernel 48 24) cg_mib=$(on_kernel 16 8) limit_mib=$(on_kernel 6 3) passes=$(on_kernel 2 1)
pages=$((size << 8))

wb() { read_stat "$GS_DEV" writeback_stat "$1"; }
bd() { read_stat "$GS_DEV" bd_stat "$1"; }

load_module disksize= async_reads=0 || fail "load_module failed"
echo "$BD" >"$S/backing_dev" || fail "cannot set backing_dev"
echo 128M >"$S/disksize" || fail "cannot set disksize"
echo "${limit_mib}M" >"$S/mem_limit" || fail "cannot set mem_limit"
expect_ok "mkswap" mkswap "$GS_DEV"
expect_ok "swapon -p 100" swapon -p 100 "$GS_DEV"

# 1. Verified passes over 48 MiB of mixed pages in a 16 MiB cgroup: the pool (6 MiB)
# cannot hold what goes to swap, so the worker must write frames back.
log=$GS_CASE_DIR/swapcheck.log
rc=0
read_swap_counters "$GS_DEV"
loads0=$GS_LOADS
cgroup_run "${cg_mib}M" "${TIME_MAJFLT[@]}" "$SWAPCHECK" --size "${size}M" \
	--passes "$passes" --mix mixed >"$log" 2>&1 || rc=$?
read_swap_counters "$GS_DEV"
sed 's/^/  | /' "$log"
show_stats "$GS_DEV"
info "writeback_stat: $(cat "$S/writeback_stat")"
info "bd_stat: $(cat "$S/bd_stat")"
check_eq "$rc" 0 "swapcheck exit status"
grep -q "^swapcheck: pages=$pages verified=[0-9]* mismatches=0 passes=$passes\$" "$log" ||
	fail "swapcheck summary line missing or shows mismatches"
check_gt "$(wb auto_runs)" 0 "automatic writeback runs"
check_gt "$(wb pages_written)" 0 "pages written back"
check_gt "$(bd bd_writes)" 0 "bd_writes"
check_gt "$(bd bd_reads)" 0 "bd_reads (migrated pages read back by swap-in)"
check_gt "$(debug_stat_field worker_read_bios)" 0 "swap-in bios read by the work queue"
check_eq "$(debug_stat_field async_read_bios)" 0 "swap-in bios read from submit_bio (async_reads=0)"
# With a backing device the disk is not synchronous: swap reads ahead through its cache,
# so a major fault loads several pages (one each without: swap_verified).
majflt=$(majflt_of "$log")
check_gt "${majflt:-0}" 0 "major faults of the workload"
loads=$((GS_LOADS - loads0))
info "pages loaded $loads for $majflt major faults"
((loads >= 2 * majflt)) || fail "$loads pages loaded for $majflt major faults: no readahead"
used=$(read_stat "$GS_DEV" mm_stat mem_used_total) || fail "no mm_stat"
((used <= limit_mib << 20)) || fail "mem_used_total $used over mem_limit"

# 2. swapoff with many migrated slots: hold the workload in swap, push all of it to the disk,
# then swapoff must bring every page back and free every block.
cgroup_create "${cg_mib}M" || fail "cannot create the cgroup"
cg=$GS_CGROUP
swapcheck_hold "$cg" "$size"
# An automatic run may still be at work: the manual one gets EAGAIN until it ends.
for ((i = 0; ; i++)); do
	echo all >"$S/writeback" 2>"$GS_CASE_DIR/writeback.err" && break
	grep -q 'Resource temporarily unavailable' "$GS_CASE_DIR/writeback.err" && ((i < 300)) ||
		fail "writeback all failed: $(cat "$GS_CASE_DIR/writeback.err")"
	sleep 0.2
done
migrated=$(bd bd_count)
check_gt "$migrated" 250 "backing blocks in use with the workload paused"
cgroup_set "$cg" memory.max max || fail "cannot raise memory.max"
expect_ok "swapoff with migrated slots" swapoff "$GS_DEV"
info "writeback_stat: $(cat "$S/writeback_stat")"
info "bd_stat: $(cat "$S/bd_stat")"
# Every slot was freed; only the header page mkswap wrote is left (it is no swap
# slot), and it may have been written back too: at most its frame's extent.
check_eq "$(read_stat "$GS_DEV" mm_stat orig_data_size)" 4096 "orig_data_size after swapoff (the header page)"
(($(bd bd_count) <= 8)) || fail "bd_count after swapoff: $(bd bd_count) blocks for the header page"
expect_ok "blkdiscard after swapoff" blkdiscard -f "$GS_DEV"
check_eq "$(bd bd_count)" 0 "bd_count after swapoff and discarding the header"
check_eq "$(wb backing_blocks_used)" 0 "backing blocks in use after swapoff and discarding the header"
swapcheck_release "$pages" "after swapoff"
cgroup_report "$cg"
cgroup_remove "$cg"
unload_module || fail "unload failed"

#!/bin/bash
# Proves the device works as swap: 192M of verifiable anonymous memory in a 64M cgroup goes out to the device and comes back bit-exact, one major fault per page loaded (without a backing device the disk is synchronous: no swap cache, no readahead).
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

SWAPCHECK=$(swapcheck_bin) || fail "swapcheck binary not found (cargo build --release -p swapcheck)"

# 192 MiB of pages out of a 64 MiB cgroup (divided by GS_SCALE on the debug kernel).
size=$(scaled_mib 192) cg_mib=$(scaled_mib 64)
load_module disksize=512M || fail "load_module disksize=512M failed"
expect_ok "mkswap" mkswap "$GS_DEV"
expect_ok "swapon -p 100" swapon -p 100 "$GS_DEV"
prio=$(swap_priority "$GS_DEV") || fail "$GS_DEV not listed in /proc/swaps"
check_eq "$prio" 100 "priority of $GS_DEV in /proc/swaps"

read_swap_counters "$GS_DEV"
stores0=$GS_STORES
loads0=$GS_LOADS

log=$GS_CASE_DIR/swapcheck.log
rc=0
cgroup_run "${cg_mib}M" "${TIME_MAJFLT[@]}" "$SWAPCHECK" --size "${size}M" --passes 2 \
	--mix plain >"$log" 2>&1 || rc=$?
sed 's/^/  | /' "$log"
check_eq "$rc" 0 "swapcheck exit status"
grep -q "^swapcheck: pages=$((size * 256)) verified=[0-9]* mismatches=0 passes=2\$" "$log" ||
	fail "swapcheck summary line missing or shows mismatches"
# The workload must really have been in swap, or this proved nothing.
grep -Eq 'VmSwap=[1-9][0-9]*kB' "$log" || fail "swapcheck never had pages in swap (VmSwap stayed 0)"

read_swap_counters "$GS_DEV"
info "counters ($GS_COUNTER_SOURCE): stores $stores0 -> $GS_STORES, loads $loads0 -> $GS_LOADS"
if is_selftest; then
	selftest_note "frontswap_stat does not exist in zram; checked block write/read counts instead"
fi
check_gt $((GS_STORES - stores0)) 0 "pages stored during the workload"
check_gt $((GS_LOADS - loads0)) 0 "pages loaded during the workload"
# Without a backing device the disk is synchronous: swap reads each page straight into
# the faulting task, one major fault per page loaded, with no readahead.
majflt=$(majflt_of "$log")
check_gt "${majflt:-0}" 0 "major faults of the workload"
loads=$((GS_LOADS - loads0))
((loads <= majflt * 5 / 4 + 64)) || fail "$loads pages loaded for $majflt major faults: swap read ahead"
show_stats "$GS_DEV"

expect_ok "swapoff" swapoff "$GS_DEV"
unload_module || fail "unload failed"
info "swap_verified: done"

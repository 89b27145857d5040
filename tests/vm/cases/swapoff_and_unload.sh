#!/bin/bash
# Proves a swapped-on device pins the module, swapoff brings every page back intact and frees all device memory, and the module then unloads.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"


load_module disksize=512M || fail "load_module disksize=512M failed"
expect_ok "mkswap" mkswap "$GS_DEV"
expect_ok "swapon" swapon "$GS_DEV"
# What the device holds before the workload: the swap header page mkswap wrote, which
# stays stored after swapoff (it is not a swap slot, so nothing frees it).
orig0=$(read_stat "$GS_DEV" mm_stat orig_data_size) || fail "cannot read mm_stat"
used0=$(read_stat "$GS_DEV" mm_stat mem_used_total) || fail "cannot read mm_stat"
check_eq "$orig0" 4096 "mm_stat orig_data_size after mkswap+swapon (the header page)"
check_gt "$used0" 0 "mm_stat mem_used_total after mkswap+swapon"

# 192 MiB of pages out of a 64 MiB cgroup (divided by GS_SCALE on the debug kernel).
size=$(scaled_mib 192)
cgroup_create "$(scaled_mib 64)M" || fail "cannot create the cgroup"
cg=$GS_CGROUP
swapcheck_hold "$cg" "$size"
sed 's/^/  | /' "$SC_LOG"

used=$(swap_used_kb "$GS_DEV") || fail "$GS_DEV not in /proc/swaps"
check_gt "$used" 0 "swap used on $GS_DEV (kB) while swapcheck is paused"
check_gt "$(read_stat "$GS_DEV" mm_stat orig_data_size)" 0 "mm_stat orig_data_size while pages are out"

# The device is open by the swap subsystem: the module must refuse to go.
if is_selftest; then
	selftest_note "zram is built in: 'unload' is a reset of zram0, which is refused with EBUSY while open"
fi
expect_fail "unload refused while swapped on" unload_module
module_loaded || fail "module gone after a refused unload"
swap_priority "$GS_DEV" >/dev/null || fail "$GS_DEV no longer swapped on after the refused unload"

# swapoff reads every page back into RAM: lift the limit or it would OOM.
cgroup_set "$cg" memory.max max || fail "cannot raise memory.max"
expect_ok "swapoff with pages on the device" swapoff "$GS_DEV"
show_stats "$GS_DEV"
# Every slot was freed (slot-free notification): only the header page is left.
check_eq "$(read_stat "$GS_DEV" mm_stat orig_data_size)" "$orig0" "mm_stat orig_data_size after swapoff (back to the header page)"
check_eq "$(read_stat "$GS_DEV" mm_stat mem_used_total)" "$used0" "mm_stat mem_used_total after swapoff (back to before the workload)"
# And with the header discarded too, the device holds nothing at all.
expect_ok "blkdiscard after swapoff" blkdiscard -f "$GS_DEV"
check_eq "$(read_stat "$GS_DEV" mm_stat orig_data_size)" 0 "mm_stat orig_data_size after swapoff + blkdiscard"
check_eq "$(read_stat "$GS_DEV" mm_stat mem_used_total)" 0 "mm_stat mem_used_total after swapoff + blkdiscard"

swapcheck_release $((size << 8)) "after swapoff and unload"
cgroup_report "$cg"
cgroup_remove "$cg"

unload_module || fail "unload after swapoff failed"
module_loaded && fail "module still loaded after unload"
[[ -e /sys/block/${GS_NAME}0 ]] && ! is_selftest && fail "/sys/block/${GS_NAME}0 still exists after rmmod"
info "swapoff_and_unload: done"

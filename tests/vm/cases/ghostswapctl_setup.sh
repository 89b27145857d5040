#!/bin/bash
# Proves ghostswapctl end to end with a regular file as backing store: setup --find loads the module, puts a direct-I/O loop device over the file and sets the device up in the driver's order; its refusals explain themselves; under a swap workload `list --json` agrees with sysfs, writeback says what moved, status speaks; reset --swapoff removes the loop device.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "ghostswapctl drives ghostswap devices only"; exit 0; }
CTL=$(ghostswapctl_bin) || fail "no ghostswapctl"
SWAPCHECK=$(swapcheck_bin) || fail "no swapcheck"
S=$GS_SYSFS
ctl() { "$CTL" --module "$GS_MODULE" "$@"; }
wb() { read_stat "$GS_DEV" writeback_stat "$1"; }

module_loaded && fail "the module is loaded before the case"
file=$(backing_file_on_tmpfs 128M) || fail "cannot make a backing file"

# 1. One command: module, loop device, backing_dev, algorithm, level, size, limit, swap.
err=$GS_CASE_DIR/setup.err
dev=$(ctl setup --find --size 256M --algorithm zstd --level 5 --mem-limit 16M \
	--backing "$file" --priority 100 --swapon 2>"$err") || {
	sed 's/^/  | /' "$err"
	fail "setup failed"
}
sed 's/^/  | /' "$err"
check_eq "$dev" "$GS_DEV" "the device setup --find printed"
check_eq "$(cat "$S/disksize")" $((256 << 20)) "disksize"
check_eq "$(cat "$S/comp_algorithm")" "lz4 [zstd] " "comp_algorithm"
lo=$(cat "$S/backing_dev")
[[ $lo == /dev/loop* ]] || fail "backing_dev is '$lo', not a loop device"
check_eq "$(cat "/sys/block/${lo#/dev/}/loop/backing_file")" "$file" "the loop device's file"
check_eq "$(cat "/sys/block/${lo#/dev/}/loop/dio")" 1 "the loop device's direct I/O"
check_eq "$(read_stat "$GS_DEV" mm_stat mem_limit)" $((16 << 20)) "mem_limit"
check_eq "$(swap_priority "$GS_DEV")" 100 "swap priority"

# 2. Refusals say why and what to do, and change nothing.
expect_fail "a second setup of the device" ctl setup "$GS_DEV" --size 64M
grep -q "already set up.*ghostswapctl reset ghostswap0" <<<"$GS_OUT" ||
	fail "the refusal does not say to reset first"
expect_fail "reset while swapped on" ctl reset ghostswap0
grep -q "in use as swap.*--swapoff" <<<"$GS_OUT" || fail "the refusal does not name --swapoff"
expect_fail "lz4 with a level" ctl setup --find --size 64M --level 3
grep -q "lz4 takes no level" <<<"$GS_OUT" || fail "the refusal does not say lz4 takes no level"
check_eq "$(cat "$S/disksize")" $((256 << 20)) "disksize after the refusals"

# 3. A workload that swaps, paused after its fill so the counters hold still.
sc_mib=$(scaled_mib 64)
log=$GS_CASE_DIR/swapcheck.log
pause=$GS_CASE_DIR/pause
cgroup_create "$(scaled_mib 24)M" || fail "cannot create a cgroup"
cg=$GS_CGROUP
cgroup_exec "$cg" "$SWAPCHECK" --size "${sc_mib}M" --passes 0 --mix mixed --seed 1 \
	--pause-file "$pause" >"$log" 2>&1 &
sc_pid=$!
wait_for_line "$log" 'filled; waiting' 300 || fail "swapcheck did not fill: $(tail -n 3 "$log")"
read_swap_counters "$GS_DEV"
check_gt "$GS_STORES" 0 "pages stored"
# Let automatic writeback finish: the counters hold still for a second.
for ((i = 0; i < 30; i++)); do
	a=$(cat "$S/mm_stat" "$S/writeback_stat")
	sleep 1
	[[ $a == "$(cat "$S/mm_stat" "$S/writeback_stat")" ]] && break
done

# 4. list --json says what sysfs says (the counters may still settle: a few tries).
agreed=0
for try in 1 2 3 4 5; do
	ctl list --json >"$GS_CASE_DIR/list.json" || fail "list --json failed"
	if python3 "$GS_REPO/tests/vm/list_vs_sysfs.py" "$GS_CASE_DIR/list.json" >"$GS_CASE_DIR/list.check"; then
		agreed=1
		break
	fi
	info "list and sysfs differ on try $try; again"
	sleep 1
done
sed 's/^/  | /' "$GS_CASE_DIR/list.check"
((agreed)) || fail "list --json disagrees with sysfs"
expect_ok "list" ctl list
ctl list | grep -q "^NAME  *DISKSIZE  *DATA  *COMPR  *TOTAL  *ALGORITHM  *MEM-LIMIT  *BACKING  *WB-DATA  *SWAP-PRIO$" ||
	fail "list has not zramctl's header"

# 5. writeback says what moved, as writeback_stat counts it.
before=$(wb pages_written) || fail "no writeback_stat"
out=$(ctl writeback ghostswap0 all 2>&1) || fail "writeback all failed: $out"
printf '%s\n' "$out" | sed 's/^/  | /'
moved=$(($(wb pages_written) - before))
check_gt "$moved" 0 "pages written back by writeback all"
grep -q "wrote $moved pages" <<<"$out" || fail "writeback did not report the $moved pages writeback_stat counted"

# 6. status in words: the backing file, the pages stored.
out=$(ctl status ghostswap0) || fail "status failed"
printf '%s\n' "$out" | sed 's/^/  | /'
pages=$(($(read_stat "$GS_DEV" mm_stat orig_data_size) / 4096))
grep -q "backing device  $lo (over $file)" <<<"$out" || fail "status does not name the backing file"
grep -q "stored  *$pages pages" <<<"$out" || fail "status does not show the $pages pages stored"
grep -q "swap priority 100" <<<"$out" || fail "status does not show the swap priority"

# 7. The workload verifies every page, those read back from the loop device included.
touch "$pause"
rc=0
wait "$sc_pid" || rc=$?
sed 's/^/  | /' "$log"
cgroup_report "$cg"
cgroup_remove "$cg"
check_eq "$rc" 0 "swapcheck exit status"
grep -q "mismatches=0 passes=0$" "$log" || fail "swapcheck found mismatches"
check_gt "$(read_stat "$GS_DEV" bd_stat bd_reads)" 0 "pages read back from the loop device"

# 8. reset --swapoff: swap off, reset, loop device and state gone.
out=$(ctl reset ghostswap0 --swapoff) || fail "reset --swapoff failed"
printf '%s\n' "$out" | sed 's/^/  | /'
check_eq "$(cat "$S/disksize")" 0 "disksize after reset"
check_eq "$(cat "$S/backing_dev")" none "backing_dev after reset"
[[ -e /sys/block/${lo#/dev/}/loop/backing_file ]] && fail "the loop device $lo is still set up"
grep -q "removed loop device $lo" <<<"$out" || fail "reset did not say it removed $lo"
[[ -e /run/ghostswapctl/ghostswap0.json ]] && fail "ghostswapctl's state is left"
out=$(ctl reset ghostswap0) || fail "reset of a device not set up failed"
grep -q "not set up: nothing to reset" <<<"$out" || fail "reset of a device not set up says '$out'"

# 9. The driver's own refusal (a ghostswap disk cannot back one) is explained, and
# the device is left as it was.
expect_fail "ghostswap0 as its own backing device" ctl setup ghostswap0 --size 64M --backing "$GS_DEV"
grep -q "the driver refused $GS_DEV as backing device: a ghostswap disk cannot back a ghostswap device" <<<"$GS_OUT" ||
	fail "the refusal does not explain the driver's EINVAL"
check_eq "$(cat "$S/disksize")" 0 "disksize after the refused backing device"
check_eq "$(cat "$S/backing_dev")" none "backing_dev after the refused backing device"

unload_module || fail "unload failed"
umount "$GS_CASE_DIR/backing-fs" || fail "cannot unmount the backing file's tmpfs"

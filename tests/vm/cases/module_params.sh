#!/bin/bash
# Proves the module parameters: without any the device is unconfigured as zram's (disksize 0, and zram's sequence backing_dev then disksize works), num_devices/disksize create the right devices with 4096-byte non-rotational queues, async_reads is on unless turned off, cached_extents is 8 unless set (0 to 16), and invalid values make insmod fail cleanly.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

# check_device N SIZE: device N exists with SIZE bytes and the promised queue limits.
check_device() {
	local dev sys
	dev=$(gs_dev "$1")
	sys=$(gs_sysfs "$1")
	[[ -b $dev ]] || fail "$dev missing"
	check_eq "$(blockdev --getsize64 "$dev")" "$2" "size of $dev"
	check_eq "$(cat "$sys/queue/logical_block_size")" 4096 "$sys/queue/logical_block_size"
	check_eq "$(cat "$sys/queue/physical_block_size")" 4096 "$sys/queue/physical_block_size"
	check_eq "$(cat "$sys/queue/rotational")" 0 "$sys/queue/rotational"
	read_stat "$dev" mm_stat orig_data_size >/dev/null || fail "$sys/mm_stat unreadable"
	if is_selftest; then
		selftest_note "no frontswap_stat in zram; not checked for $dev"
	else
		read_stat "$dev" frontswap_stat stores >/dev/null || fail "$sys/frontswap_stat unreadable"
	fi
}

# Defaults: one unconfigured device, as zram's: size 0 until disksize is written.
load_module || fail "load_module without parameters failed"
[[ -b $GS_DEV ]] || fail "$GS_DEV missing"
check_eq "$(cat "$GS_SYSFS/disksize")" 0 "disksize after a load without parameters"
check_eq "$(cat "$GS_SYSFS/initstate")" 0 "initstate after a load without parameters"
check_eq "$(blockdev --getsize64 "$GS_DEV")" 0 "size of $GS_DEV after a load without parameters"
[[ -e $(gs_dev 1) ]] && fail "$(gs_dev 1) exists with the default num_devices=1"
# zram's sequence: the backing device first, then the size.
backing=$(backing_disk) || fail "no backing disk"
echo "$backing" >"$GS_SYSFS/backing_dev" || fail "backing_dev before disksize refused"
echo 32M >"$GS_SYSFS/disksize" || fail "disksize after backing_dev refused"
check_device 0 $((32 << 20))
check_eq "$(cat "$GS_SYSFS/backing_dev")" "$backing" "backing_dev after disksize"
unload_module || fail "unload failed"

# Three devices of 32M.
load_module num_devices=3 disksize=32M || fail "load_module num_devices=3 disksize=32M failed"
for i in 0 1 2; do
	check_device $i $((32 << 20))
done
[[ -e $(gs_dev 3) ]] && fail "$(gs_dev 3) exists with num_devices=3"
unload_module || fail "unload failed"
if ! is_selftest; then
	for i in 0 1 2; do
		[[ -e $(gs_sysfs $i) ]] && fail "$(gs_sysfs $i) still exists after rmmod"
	done
fi

# Invalid parameters: insmod fails, nothing is left loaded or created.
if is_selftest; then
	selftest_note "zram is built in: invalid insmod parameters cannot be checked"
else
	for p in disksize=abc disksize=0 disksize=4097 disksize=12X num_devices=0 num_devices=17 \
		num_devices=1000 async_reads=2 async_reads=maybe cached_extents=17 cached_extents=-1 \
		cached_extents=x; do
		rc=0
		out=$(insmod "$GS_MODULE" "$p" 2>&1) || rc=$?
		printf '%s\n' "$out" | sed 's/^/  | /'
		if ((rc == 0)); then
			rmmod ghostswap
			fail "insmod with $p succeeded"
		fi
		module_loaded && fail "module loaded after the failed insmod with $p"
		[[ -e /sys/block/ghostswap0 ]] && fail "ghostswap0 exists after the failed insmod with $p"
		info "ok: insmod $p refused (exit $rc)"
	done
fi

# And the module still loads after all that.
load_module disksize=16M || fail "load_module disksize=16M failed after the invalid attempts"
check_device 0 $((16 << 20))
if ! is_selftest; then
	check_eq "$(cat /sys/module/ghostswap/parameters/async_reads)" Y "async_reads by default"
	check_eq "$(cat /sys/module/ghostswap/parameters/cached_extents)" 8 "cached_extents by default"
fi
unload_module || fail "unload failed"
if ! is_selftest; then
	load_module disksize=16M async_reads=0 || fail "load_module async_reads=0 failed"
	check_eq "$(cat /sys/module/ghostswap/parameters/async_reads)" N "async_reads=0"
	unload_module || fail "unload failed"
	load_module disksize=16M cached_extents=0 || fail "load_module cached_extents=0 failed"
	check_eq "$(cat /sys/module/ghostswap/parameters/cached_extents)" 0 "cached_extents=0"
	unload_module || fail "unload failed"
fi
info "module_params: done"

#!/bin/bash
# Proves the raw block device stores and returns data correctly: fio crc32c-verified random writes/reads and trims over the whole device, with a corruption control showing verification is live.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

FIO=$(fio_bin) || fail "fio not found"
# 32 MiB on the debug kernel (GS_SCALE).
size_mb=$(scaled_mib 128)
half_mb=$((size_mb / 2))

load_module disksize=${size_mb}M || fail "load_module disksize=${size_mb}M failed"
check_eq "$(blockdev --getsize64 "$GS_DEV")" $((size_mb << 20)) "device size"
# One I/O alone first. A new disk's io_ticks stamp starts at 0 (block/genhd.c): if
# two I/Os start together first, one may see the other in flight and add the whole
# time since boot to io_ticks (stat field 10), which the check at the end would
# take for broken accounting. The first I/O alone sets the stamp.
dd if="$GS_DEV" of=/dev/null bs=4k count=1 iflag=direct status=none || fail "first read failed"

# Two jobs, each on its own half of the device, so each verifies only what it wrote.
common=(--filename="$GS_DEV" --bs=4k --direct=1 --numjobs=2
	"--size=${half_mb}M" "--offset_increment=${half_mb}M" --group_reporting
	--verify=crc32c --do_verify=1 --verify_fatal=1)

# run_fio WHAT ARGS...: run fio, show its summary, fail on a non-zero exit.
run_fio() {
	local what=$1 rc=0
	shift
	info "fio $what: $*"
	"$FIO" "$@" >"$GS_CASE_DIR/fio-$what.log" 2>&1 || rc=$?
	grep -E 'err=|verify|issued rwts|READ:|WRITE:|TRIM:|trim:' "$GS_CASE_DIR/fio-$what.log" | sed 's/^/  | /'
	((rc == 0)) || {
		tail -n 20 "$GS_CASE_DIR/fio-$what.log" | sed 's/^/  | /'
		fail "fio $what exited $rc"
	}
}

# issued_reads WHAT: reads fio issued (the verify phase's reads are counted there).
issued_reads() {
	sed -n 's/.*issued rwts: total=\([0-9]*\),.*/\1/p' "$GS_CASE_DIR/fio-$1.log" | head -n 1
}

blocks=$((size_mb << 8))

# 1. Every block written once in random order, then read back and verified.
run_fio write --name=write --rw=randwrite --ioengine=psync "${common[@]}"
check_eq "$(issued_reads write)" $blocks "blocks read by the verify phase of 'write'"

# 2. A separate fio process verifies the same data again (nothing cached: O_DIRECT).
run_fio reverify --name=write --rw=randwrite --ioengine=psync "${common[@]}" --verify_only=1
check_eq "$(issued_reads reverify)" $blocks "blocks re-verified"

# 3. Mixed random reads and writes with several I/Os in flight per job.
run_fio randrw --name=randrw --rw=randrw --rwmixread=50 --ioengine=libaio --iodepth=8 "${common[@]}"

# 4. Trim each block, write it again, verify.
run_fio trimwrite --name=trimwrite --rw=trimwrite --ioengine=psync "${common[@]}"

# 5. Trim everything: the device must then hold no data.
run_fio randtrim --name=randtrim --rw=randtrim --ioengine=psync --filename="$GS_DEV" --bs=4k \
	--direct=1 --numjobs=2 --size=${half_mb}M --offset_increment=${half_mb}M
check_eq "$(read_stat "$GS_DEV" mm_stat orig_data_size)" 0 "mm_stat orig_data_size after trimming everything"

# 6. Control: corrupt one verified block behind fio's back; verify_only must now fail.
ctl=(--name=control --filename="$GS_DEV" --rw=write --bs=4k --direct=1 --size=1M --offset=0
	--verify=crc32c --verify_fatal=1)
run_fio control-write "${ctl[@]}"
dd if=/dev/urandom of="$GS_DEV" bs=4k count=1 seek=3 oflag=direct conv=notrunc status=none ||
	fail "dd to corrupt block 3 failed"
rc=0
"$FIO" "${ctl[@]}" --verify_only=1 >"$GS_CASE_DIR/fio-control-verify.log" 2>&1 || rc=$?
grep -E 'verify:|err=' "$GS_CASE_DIR/fio-control-verify.log" | head -n 3 | sed 's/^/  | /'
((rc != 0)) || fail "fio verify_only did not notice a corrupted block: verification is not running"
grep -q 'offset 12288' "$GS_CASE_DIR/fio-control-verify.log" ||
	fail "fio reported a corruption, but not at the corrupted block (offset 12288)"
info "ok: control: fio caught the corrupted block (exit $rc)"

read_swap_counters "$GS_DEV"
info "counters ($GS_COUNTER_SOURCE): stores=$GS_STORES loads=$GS_LOADS"
if is_selftest; then
	selftest_note "frontswap_stat does not exist in zram; checked block write/read counts instead"
fi
check_gt "$GS_STORES" 0 "stores"
check_gt "$GS_LOADS" 0 "loads"
show_stats "$GS_DEV"

# The block layer's I/O accounting (/sys/block/<dev>/stat) must be sane: I/Os counted,
# nothing in flight, and times of minutes at most (a wrapped negative duration shows as
# about 2^32 ms).
info "stat: $(cat "$GS_SYSFS/stat")"
check_gt "$(stat_field "$GS_SYSFS/stat" read_ios)" 0 "stat: reads completed"
check_gt "$(stat_field "$GS_SYSFS/stat" write_ios)" 0 "stat: writes completed"
check_eq "$(stat_field "$GS_SYSFS/stat" in_flight)" 0 "stat: I/Os in flight"
for name in read_ticks write_ticks io_ticks time_in_queue; do
	ms=$(stat_field "$GS_SYSFS/stat" "$name") || fail "cannot read $GS_SYSFS/stat"
	((ms < 3600000)) || fail "stat $name is $ms ms: I/O accounting is off"
done
info "ok: stat times are below an hour"

unload_module || fail "unload failed"
info "raw_fio_verify: done"

#!/bin/bash
# Proves writeback stays coherent with I/O racing it: fio crc32c-verified random writes and reads on the raw device while a loop keeps triggering writeback, then a separate verify of everything.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "zram has no 'all' writeback mode"; exit 0; }
FIO=$(fio_bin) || fail "fio not found"
BD=$(backing_disk) || fail "no backing disk (tests/vm/run.sh attaches one)"
S=$GS_SYSFS

load_module disksize= || fail "load_module failed"
echo "$BD" >"$S/backing_dev" || fail "cannot set backing_dev"
echo 16M >"$S/disksize" || fail "cannot set disksize"

# Two jobs, each on its own half, each verifying what it wrote; the data half
# compressible, with random (huge) blocks mixed in.
common=(--filename="$GS_DEV" --bs=4k --direct=1 --numjobs=2 --size=8M --offset_increment=8M
	--group_reporting --buffer_compress_percentage=50 --refill_buffers
	--verify=crc32c --verify_fatal=1)
run_fio() {
	local what=$1 rc=0
	shift
	"$FIO" --name="$what" "${common[@]}" "$@" >"$GS_CASE_DIR/fio-$what.log" 2>&1 || rc=$?
	grep -E 'err=|verify|issued rwts' "$GS_CASE_DIR/fio-$what.log" | sed 's/^/  | /'
	((rc == 0)) || {
		tail -n 20 "$GS_CASE_DIR/fio-$what.log" | sed 's/^/  | /'
		fail "fio $what exited $rc"
	}
}

run_fio fill --rw=write --ioengine=psync

# The writeback loop: every mode in turn, as fast as it goes, until told to stop.
stop=$GS_CASE_DIR/stop
rm -f "$stop"
(
	n=0
	while [[ ! -e $stop ]]; do
		for mode in all idle huge page_index=$((RANDOM % 4096)) page_indexes=100-900; do
			echo "$mode" >"$S/writeback" 2>/dev/null
		done
		echo all >"$S/idle"
		n=$((n + 1))
	done
	echo "$n" >"$GS_CASE_DIR/rounds"
) &
loop=$!

run_fio randrw --rw=randrw --rwmixread=50 --ioengine=libaio --iodepth=4 --time_based --runtime=10 \
	--verify_backlog=64
run_fio rewrite --rw=randwrite --ioengine=psync
touch "$stop"
wait "$loop"
info "writeback rounds during fio: $(cat "$GS_CASE_DIR/rounds")"
info "writeback_stat: $(cat "$S/writeback_stat")"
info "bd_stat: $(cat "$S/bd_stat")"
check_gt "$(cat "$GS_CASE_DIR/rounds")" 2 "writeback rounds while fio ran"
check_gt "$(read_stat "$GS_DEV" writeback_stat pages_written)" 0 "pages written back during the stress"
check_gt "$(read_stat "$GS_DEV" bd_stat bd_reads)" 0 "bd_reads during the stress"
run_fio reverify --rw=randwrite --ioengine=psync --verify_only=1
check_eq "$(read_stat "$GS_DEV" writeback_stat failed_writebacks)" 0 "failed writebacks"
unload_module || fail "unload failed"

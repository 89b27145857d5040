#!/bin/bash
# Proves the raw device keeps data exact with each compression algorithm: fio crc32c verify of 4k random writes on partly compressible buffers (buffer_compress_percentage=65), 2 jobs, then a trim of everything frees all memory.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "ghostswap's comp_algorithm semantics differ from zram's"; exit 0; }
FIO=$(fio_bin) || fail "fio not found"
S=$GS_SYSFS

for algo in lz4 zstd; do
	info "== $algo"
	load_module "disksize=" || fail "load_module failed"
	echo "$algo" >"$S/comp_algorithm" || fail "cannot select $algo"
	echo 64M >"$S/disksize" || fail "cannot set disksize"
	log=$GS_CASE_DIR/fio-$algo.log
	rc=0
	"$FIO" --name=verify --filename="$GS_DEV" --rw=randwrite --bs=4k --direct=1 --ioengine=psync \
		--numjobs=2 --size=32M --offset_increment=32M --group_reporting \
		--buffer_compress_percentage=65 --refill_buffers --buffer_pattern=0xdeadbeef \
		--verify=crc32c --do_verify=1 --verify_fatal=1 >"$log" 2>&1 || rc=$?
	grep -E 'err=|issued rwts|WRITE:|READ:' "$log" | sed 's/^/  | /'
	check_eq "$rc" 0 "$algo: fio verify exit status"
	reads=$(sed -n 's/.*issued rwts: total=\([0-9]*\),.*/\1/p' "$log" | head -n 1)
	check_eq "$reads" 16384 "$algo: blocks read back by fio's verify phase"
	read -r orig compr < <(stat_field "$S/mm_stat" orig_data_size compr_data_size)
	info "$algo mm_stat: $(cat "$S/mm_stat")"
	check_eq "$orig" $((64 << 20)) "$algo: orig_data_size after writing every block"
	check_gt "$orig" "$compr" "$algo: data was compressed"
	expect_ok "blkdiscard" blkdiscard "$GS_DEV"
	read -r orig used < <(stat_field "$S/mm_stat" orig_data_size mem_used_total)
	check_eq "$orig" 0 "$algo: orig_data_size after discard"
	check_eq "$used" 0 "$algo: mem_used_total after discard"
	unload_module || fail "unload failed"
done

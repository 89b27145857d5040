#!/bin/bash
# Proves reads of migrated pages are answered without a detour through the work queue (module parameter async_reads=1), and stay right when they race: after every page is written back, four readers read the same pages at once (the same extents, in whole and split buffers, bios of 1 to 4 pages) while fio verifies its own data with 32 reads in flight; then again with promote_on_read, so that pages move back into the pool while others still read their extents; then a swap workload whose every page is on the disk is faulted back by four threads at once (swapcheck --threads 4). Every page reads back right, and debug_stat counts every such bio as answered by reads started from submit_bio (async_read_bios), none handed to the work queue (worker_read_bios), while the extent cache serves readers of an extent another has read whole (extent_cache_hits, extent_cache_fills).
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "zram reads written-back pages in its own way"; exit 0; }
FIO=$(fio_bin) || fail "fio not found"
BD=$(backing_disk) || fail "no backing disk (tests/vm/run.sh attaches one)"
S=$GS_SYSFS
CHECK=$(dirname "$0")/../pagecheck.py
ref=$GS_CASE_DIR/ref.img
# The reference pages fill the first half of the device, fio's the second.
pages=$(($(scaled_mib 16) * 256))
half=$((pages * 4))K


load_module disksize= async_reads=1 || fail "load_module failed"
echo "$BD" >"$S/backing_dev" || fail "cannot set backing_dev"
echo $((pages * 8))K >"$S/disksize" || fail "cannot set disksize"
python3 "$CHECK" make "$ref" "$pages" || fail "cannot make the reference pages"
expect_ok "write the reference pages" dd if="$ref" of="$GS_DEV" bs=1M oflag=direct status=none

fio_common=(--filename="$GS_DEV" --offset="$half" --size=$((pages * 2))K --numjobs=2
	--offset_increment=$((pages * 2))K --bs=16k --direct=1 --group_reporting
	--buffer_compress_percentage=50 --refill_buffers --verify=crc32c --verify_fatal=1)
"$FIO" --name=fill "${fio_common[@]}" --rw=write --ioengine=psync --do_verify=0 \
	>"$GS_CASE_DIR/fio-fill.log" 2>&1 || {
	tail -n 20 "$GS_CASE_DIR/fio-fill.log" | sed 's/^/  | /'
	fail "fio fill failed"
}

echo all >"$S/writeback" || fail "writeback all failed"
moved=$(read_stat "$GS_DEV" writeback_stat pages_written)
info "after writeback all: mm_stat $(cat "$S/mm_stat"); frontswap_stat $(cat "$S/frontswap_stat")"
# Every page but the same-filled ones (a quarter of the reference pages, half of fio's).
check_eq "$(read_stat "$GS_DEV" mm_stat compr_data_size)" 0 "compressed bytes left in memory"
check_gt "$moved" "$pages" "pages written back (of $((pages * 2)))"

# reader K: reads every reference page, in bios of K+1 pages, into a buffer
# 512*K bytes into a page (K > 0: every segment is part of a page), starting at
# a different page each, and compares.
reader() {
	python3 - "$GS_DEV" "$ref" "$1" <<'PY'
import mmap, os, sys
dev, ref, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
PAGE = 4096
data = open(ref, "rb").read()
pages = len(data) // PAGE
step = k + 1
fd = os.open(dev, os.O_RDONLY | os.O_DIRECT)
buf = mmap.mmap(-1, (step + 1) * PAGE)
view = memoryview(buf)[512 * k:512 * k + step * PAGE]
start = pages * k // 4
for n in range(0, pages, step):
    first = (start + n) % pages
    count = min(step, pages - first)
    part = view[:count * PAGE]
    if os.preadv(fd, [part], first * PAGE) != count * PAGE:
        sys.exit("reader %d: short read at page %d" % (k, first))
    if bytes(part) != data[first * PAGE:(first + count) * PAGE]:
        sys.exit("reader %d: wrong data in pages %d-%d" % (k, first, first + count - 1))
print("reader %d: %d pages right" % (k, pages))
PY
}

# round WHAT: four readers and fio's verify at once; all must succeed.
round() {
	local k pids=() rc=0 pid
	for k in 0 1 2 3; do
		reader "$k" >"$GS_CASE_DIR/reader-$k.log" 2>&1 &
		pids+=($!)
	done
	"$FIO" --name=verify "${fio_common[@]}" --rw=write --ioengine=libaio --iodepth=32 \
		--verify_only=1 >"$GS_CASE_DIR/fio-verify.log" 2>&1 || {
		tail -n 20 "$GS_CASE_DIR/fio-verify.log" | sed 's/^/  | /'
		rc=1
	}
	for pid in "${pids[@]}"; do
		wait "$pid" || rc=1
	done
	sed 's/^/  | /' "$GS_CASE_DIR"/reader-*.log
	grep -E 'err=|verify' "$GS_CASE_DIR/fio-verify.log" | sed 's/^/  | /'
	((rc == 0)) || fail "$1: a reader or fio's verify failed"
	info "ok: $1"
}

reads0=$(read_stat "$GS_DEV" bd_stat bd_reads)
round "every page migrated, read by five at once"
check_gt "$(read_stat "$GS_DEV" bd_stat bd_reads)" "$reads0" "blocks read from the backing device"
check_eq "$(read_stat "$GS_DEV" writeback_stat promotions)" 0 "promotions with promote_on_read off"

echo 1 >"$S/promote_on_read" || fail "cannot set promote_on_read"
round "pages promoted while others read their extents"
check_gt "$(read_stat "$GS_DEV" writeback_stat promotions)" 0 "promotions"
echo 0 >"$S/promote_on_read" || fail "cannot clear promote_on_read"

# Everything back on the disk: one more round, reading only from it.
echo all >"$S/writeback" || fail "second writeback all failed"
round "written back again, read by five at once"

info "debug_stat: $(tr '\n' ' ' <"$S/debug_stat")"
check_gt "$(debug_stat_field async_read_bios)" 0 "read bios answered by reads started from submit_bio"
check_eq "$(debug_stat_field worker_read_bios)" 0 "read bios handed to the work queue"
# Readers of one extent meet: the first reads it whole, the others take their pages
# from memory, or read alone while it is being read.
check_gt "$(debug_stat_field extent_cache_fills)" 0 "extents read whole and kept"
check_gt "$(debug_stat_field extent_cache_hits)" 0 "pages taken from extents kept in memory"
check_eq "$(read_stat "$GS_DEV" io_stat failed_reads)" 0 "failed reads"
check_eq "$(read_stat "$GS_DEV" bd_stat checksum_errors)" 0 "checksum errors"

# Swap-ins: four threads fault one workload's pages back at once, every page on the
# disk; neighbours (one extent) are faulted by different threads together, and two
# far-apart halves at the same time.
echo 1 >"$S/reset" || fail "reset"
echo "$BD" >"$S/backing_dev" || fail "cannot set backing_dev again"
echo "$(scaled_mib 64)M" >"$S/disksize" || fail "cannot set disksize again"
expect_ok "mkswap" mkswap "$GS_DEV"
expect_ok "swapon -p 100" swapon -p 100 "$GS_DEV"
size=$(scaled_mib 48)
cgroup_create "$(scaled_mib 16)M" || fail "cannot create the cgroup"
swapcheck_hold "$GS_CGROUP" "$size" --threads 4
expect_ok "writeback all with the workload swapped out" sh -c "echo all >$S/writeback"
check_gt "$(read_stat "$GS_DEV" writeback_stat pages_written)" $((size << 7)) \
	"pages written back (of $((size << 8)))"
async0=$(debug_stat_field async_read_bios)
swapcheck_release $((size << 8)) "with four threads swapping in"
check_gt "$(debug_stat_field async_read_bios)" "$async0" "swap-ins answered by reads started from submit_bio"
cgroup_report "$GS_CGROUP"
cgroup_remove "$GS_CGROUP"
check_eq "$(debug_stat_field worker_read_bios)" 0 "swap-in bios handed to the work queue"
expect_ok "swapoff" swapoff "$GS_DEV"
show_stats "$GS_DEV"
echo 1 >"$S/reset" || fail "reset"
unload_module || fail "unload failed"

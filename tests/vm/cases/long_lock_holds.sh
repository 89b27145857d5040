#!/bin/bash
# needs: debug-kernel (the soft-lockup detector)
# Proves compaction and idle marking never hold the store lock for long: a pool of about 1 GiB of pages, fragmented, is compacted and marked idle again and again while a verified swap workload runs on the same device (whose slot-free notifications take that lock) and a reader of mm_stat (which takes it too) measures how long it waits; the longest wait stays under 100 ms, no soft lockup is reported with the threshold lowered to 2 s (the harness fails the case on one), and no swapped page comes back wrong.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "zram's compaction is its allocator's"; exit 0; }
SWAPCHECK=$(swapcheck_bin) || fail "swapcheck binary not found (cargo build --release -p swapcheck)"
FIO=$(fio_bin) || fail "fio not found"
S=$GS_SYSFS
thresh=/proc/sys/kernel/watchdog_thresh
[[ -w $thresh ]] || fail "no $thresh (soft-lockup detector)"
old_thresh=$(cat "$thresh")
restore() { echo "$old_thresh" >"$thresh"; }
trap restore EXIT

load_module disksize=1536M || fail "load_module failed"
# 1 GiB of half-compressible pages above the first 512 MiB, then an eighth of them
# rewritten with pages that compress better: holes in most frames.
common=(--filename="$GS_DEV" --bs=4k --direct=1 --ioengine=psync --offset=512M --size=1G
	--output="$GS_CASE_DIR/fio.log")
expect_ok "write 1 GiB" "$FIO" --name=fill --rw=write --buffer_compress_percentage=50 "${common[@]}"
expect_ok "rewrite an eighth" "$FIO" --name=holes --rw=randwrite --number_ios=32768 \
	--buffer_compress_percentage=85 --randrepeat=0 "${common[@]}"
info "mm_stat after the fill: $(cat "$S/mm_stat")"
expect_ok "mkswap" mkswap "$GS_DEV"
expect_ok "swapon -p 100" swapon -p 100 "$GS_DEV"

# A soft lockup is reported after 2 * watchdog_thresh seconds without scheduling.
echo 1 >"$thresh" || fail "cannot lower watchdog_thresh"
log=$GS_CASE_DIR/swapcheck.log
# 48 MiB out of a 16 MiB cgroup, one pass: enough swap traffic (and slot-free
# notifications) for several rounds; more only lengthened the case on the debug kernel.
cgroup_create 16M || fail "cgroup"
cg=$GS_CGROUP
cgroup_exec "$cg" "$SWAPCHECK" --size 48M --passes 1 --mix mixed >"$log" 2>&1 &
sc=$!
# The reader: how long one read of mm_stat (the store lock, briefly) can take.
waits=$GS_CASE_DIR/waits
stop=$GS_CASE_DIR/stop-reader
python3 - "$S/mm_stat" "$stop" "$waits" <<'PY' &
import os, sys, time
path, stop, out = sys.argv[1:]
longest = reads = 0
while not os.path.exists(stop):
    fd = os.open(path, os.O_RDONLY)
    start = time.monotonic()
    os.read(fd, 4096)
    longest = max(longest, time.monotonic() - start)
    os.close(fd)
    reads += 1
open(out, "w").write("%d %d\n" % (reads, longest * 1000))
PY
reader=$!
rounds=0
while kill -0 $sc 2>/dev/null && ((rounds < 20)); do
	start=$(date +%s%N)
	echo 1 >"$S/compact" || fail "compact"
	echo all >"$S/idle" || fail "idle all"
	echo 3600 >"$S/idle" || fail "idle 3600"
	info "round $rounds: compact + idle took $((($(date +%s%N) - start) / 1000000)) ms"
	rounds=$((rounds + 1))
done
rc=0
wait $sc || rc=$?
touch "$stop"
wait $reader
restore
read -r reads longest <"$waits" || fail "the mm_stat reader left no result"
info "mm_stat reads during the rounds: $reads, the longest took ${longest} ms"
sed 's/^/  | /' "$log"
cgroup_report "$cg"
cgroup_remove "$cg"
check_eq "$rc" 0 "swapcheck exit status"
grep -Eq '^swapcheck: pages=12288 verified=[0-9]+ mismatches=0 passes=1$' "$log" ||
	fail "swapcheck summary missing or shows mismatches"
check_gt "$rounds" 0 "compact and idle rounds during the workload"
((longest < 100)) || fail "a reader waited ${longest} ms for the store lock (compaction or idle marking held it)"
info "mm_stat: $(cat "$S/mm_stat")"
expect_ok "swapoff" swapoff "$GS_DEV"
unload_module || fail "unload failed"

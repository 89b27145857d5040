#!/bin/bash
# needs: debug-kernel (failslab, fail_page_alloc and /proc/thread-self/fail-nth)
# Proves a writeback run that meets an allocation failure after good batches still charges writeback_limit with every block it wrote: the N-th allocation the writing task makes under the module's code fails, for N = 1, 2, ... until a run ends untouched, so each allocation a run makes (every batch's bookkeeping, every submit) fails once; after each run writeback_limit dropped by exactly the blocks bd_stat counts as written, and every page reads back right.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "fault injection targets the ghostswap module"; exit 0; }
BD=$(backing_disk) || fail "no backing disk (tests/vm/run.sh attaches one)"
S=$GS_SYSFS
[[ -e /proc/thread-self/fail-nth ]] || fail "no fail-nth"
# Two batches per run: the second one's allocations come after good writes.
BUDGET=17
MAX_TRIES=400

trap fault_restore EXIT

load_module disksize= || fail "load_module failed"
echo "$BD" >"$S/backing_dev" || fail "backing_dev"
echo 32M >"$S/disksize" || fail "disksize"
# Random pages: each a huge frame of one block, so blocks written = pages.
data=$GS_CASE_DIR/data.bin
head -c 16M /dev/urandom >"$data"
dd if="$data" of="$GS_DEV" bs=1M oflag=direct status=none || fail "writing the data"
check_eq "$(read_stat "$GS_DEV" mm_stat huge_pages)" 4096 "huge pages stored"
echo 1 >"$S/writeback_limit_enable" || fail "writeback_limit_enable"

# Only the writing task's fail-nth count fails an allocation (probability 0:
# no random failures), and only allocations made under the module's code
# count (fault_filter_module): fail-nth counts in every attribute whose filter
# passes, so fail_page_alloc is kept to the module's code as well.
fault_filter_module failslab fail_page_alloc
for f in failslab fail_page_alloc; do
	echo 0 >"/sys/kernel/debug/$f/probability"
	echo 0 >"/sys/kernel/debug/$f/verbose"
done

# run_failing N: write "huge" to writeback with the N-th allocation failing;
# prints the calls fail-nth had left (0: the failure was injected). The files
# are opened before arming it, so only the write itself counts.
run_failing() {
	(
		exec 3</proc/thread-self/fail-nth 4>/proc/thread-self/fail-nth 5>"$S/writeback" 2>/dev/null
		echo "$1" >&4
		echo huge >&5
		read -r left <&3
		echo "$left"
	)
}

n=0 partial=0 left=0
while ((left == 0)); do
	((++n <= MAX_TRIES)) || fail "no run ended untouched within $MAX_TRIES failures"
	huge=$(read_stat "$GS_DEV" mm_stat huge_pages) || fail "no mm_stat"
	((huge > BUDGET)) || fail "out of huge pages after $n runs (write more data)"
	echo "$BUDGET" >"$S/writeback_limit" || fail "writeback_limit"
	writes=$(read_stat "$GS_DEV" bd_stat bd_writes) || fail "no bd_stat"
	left=$(run_failing "$n")
	[[ $left =~ ^[0-9]+$ ]] || fail "fail-nth read '$left' after run $n"
	written=$(($(read_stat "$GS_DEV" bd_stat bd_writes) - writes))
	charged=$((BUDGET - $(cat "$S/writeback_limit")))
	check_eq "$charged" "$written" "writeback_limit charged by the run failing at allocation $n"
	((written > 0 && written < BUDGET)) && partial=$((partial + 1))
done
info "$((n - 1)) runs each failed one allocation ($partial of them after writing some blocks); run $n ended untouched"
check_gt "$partial" 0 "runs that failed after writing some blocks"
check_eq "$written" "$BUDGET" "blocks written by the untouched run"

cmp <(dd if="$GS_DEV" bs=1M count=16 iflag=direct status=none) "$data" ||
	fail "pages read back differ from those written"
check_gt "$(read_stat "$GS_DEV" bd_stat bd_reads)" 0 "blocks read back from the backing device"
show_stats "$GS_DEV"
echo 1 >"$S/reset" || fail "reset"
unload_module || fail "unload failed"

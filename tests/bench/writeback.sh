# shellcheck shell=bash
# The writeback part of the bench, sourced by guest.sh after the pool part (it uses its
# helpers: say, err, setup_dev, prefill, G, Z, GS_OUT; and lib.sh's disk_by_serial and
# stat_field). ghostswap0 writes back to the virtio disk with serial gsback, zram0 to the
# one with serial zback (run.sh attaches both). Writes to $GS_OUT:
#   wb.tsv    algo dev rep pages seconds blocks   (one line per writeback of a full device)
#   swap.tsv, hotcold.tsv  algo dev rep seconds rc mismatches disk_share p50_us p99_us
#             (one line per verified swap workload; see swap_run)
#
# 1. Writeback throughput: a prefilled device written back whole; ghostswap with
#    "writeback all", zram as its users do it ("idle all" then "writeback idle").
#    Pages per second = pages migrated / wall seconds of the write to "writeback".
# 2. A verified swap workload whose working set is 8x the pool's mem_limit, with the
#    same mem_limit and backing disk kind on both: ghostswap writes back by itself at
#    its watermarks; zram gets a loop doing "idle all; writeback idle" every second.
# 3. The same set-up under a hot/cold workload (swapcheck --hot-fraction): its time,
#    the p99 of a faulting access, and the share of swap-ins served from the disk,
#    which shows whether the pages written back were the cold ones.

WB_LIMIT=${WB_LIMIT:-24M}
WB_SWAP_SIZE=${WB_SWAP_SIZE:-192M}
WB_CGROUP=${WB_CGROUP:-64M}
# Swap workload runs per device (each several minutes under TCG), alternating the order.
WB_SWAP_REPS=${WB_SWAP_REPS:-1}
# The hot/cold workload: its size (4x WB_CGROUP), passes and runs per device.
WB_HOT_SIZE=${WB_HOT_SIZE:-256M}
WB_HOT_PASSES=${WB_HOT_PASSES:-3}
WB_HOT_REPS=${WB_HOT_REPS:-1}

: >"$GS_OUT/wb.tsv"
: >"$GS_OUT/swap.tsv"
: >"$GS_OUT/hotcold.tsv"

# now: seconds since boot, with nanoseconds.
now() {
	awk '{ print $1 }' /proc/uptime
}

# wb_setup DEV ALGO: setup_dev with DEV's backing disk attached.
wb_setup() {
	local disk
	disk=$(disk_by_serial "$([[ $1 == "$G" ]] && echo gsback || echo zback)") ||
		{ err "$1: no backing disk"; return 1; }
	setup_dev "$1" "$2" "$disk"
}

# wb_pages DEV: pages DEV has written back so far (ghostswap: writeback_stat's
# pages_written; zram: bd_stat's bd_writes, one page per block).
wb_pages() {
	if [[ $1 == "$G" ]]; then
		stat_field "/sys/block/$1/writeback_stat" pages_written
	else
		wb_blocks "$1"
	fi
}

# wb_blocks DEV: 4 KiB blocks DEV wrote to its backing disk (bd_stat's bd_writes).
wb_blocks() {
	stat_field "/sys/block/$1/bd_stat" bd_writes
}

# wb_throughput ALGO DEV REP
wb_throughput() {
	local algo=$1 dev=$2 rep=$3 s=/sys/block/$2 t0 t1 rc=0
	wb_setup "$dev" "$algo" && prefill "$dev" "$algo" || return 1
	sync
	# shellcheck disable=SC2320 # rc is the status of the writes to sysfs.
	if [[ $dev == "$G" ]]; then
		t0=$(now)
		echo all >"$s/writeback" || rc=$?
	else
		echo all >"$s/idle" || rc=$?
		t0=$(now)
		echo idle >"$s/writeback" || rc=$?
	fi
	t1=$(now)
	((rc == 0)) || err "$algo writeback of $dev #$rep failed ($rc)"
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$algo" "$dev" "$rep" "$(wb_pages "$dev")" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" "$(wb_blocks "$dev")" \
		>>"$GS_OUT/wb.tsv"
	say "$algo writeback $dev #$rep: $(wb_pages "$dev") pages, $(wb_blocks "$dev") blocks," \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')s"
}

# reads_from_disk DEV: swap-in bios of DEV so far that read the backing disk (ghostswap:
# debug_stat's async_read_bios + worker_read_bios; zram: bd_stat's bd_reads, a page each).
reads_from_disk() {
	if [[ $1 == "$G" ]]; then
		awk '$1 == "async_read_bios:" || $1 == "worker_read_bios:" { n += $2 } END { print n + 0 }' \
			"/sys/block/$1/debug_stat"
	else
		stat_field "/sys/block/$1/bd_stat" bd_reads
	fi
}

# swap_run ALGO DEV REP NAME SWAPCHECK_ARGS...: one verified swapcheck workload in a
# $WB_CGROUP cgroup, swapping to DEV with the pool's limit and its backing disk. Appends
# to NAME.tsv: algo dev rep seconds rc mismatches, the share of the swap-in reads that
# went to the disk, and swapcheck's p50 and p99 of a faulting access in us (NA without
# --hot-fraction).
swap_run() {
	local algo=$1 dev=$2 rep=$3 name=$4 s=/sys/block/$2 loop=0 t0 t1 rc=0 log mism share p50 p99
	local reads0 disk0
	shift 4
	wb_setup "$dev" "$algo" || return 1
	echo "$WB_LIMIT" >"$s/mem_limit" || { err "$dev: mem_limit refused"; return 1; }
	mkswap "/dev/$dev" >/dev/null && swapon -p 100 "/dev/$dev" || { err "swapon $dev failed"; return 1; }
	if [[ $dev == "$Z" ]]; then
		(while :; do echo all >"$s/idle"; echo idle >"$s/writeback"; sleep 1; done) 2>/dev/null &
		loop=$!
	fi
	log=$GS_OUT/$name-$algo-$dev-$rep.log
	reads0=$(stat_field "$s/stat" read_ios)
	disk0=$(reads_from_disk "$dev")
	t0=$(now)
	cgroup_run "$WB_CGROUP" "$GS_SWAPCHECK" "$@" >"$log" 2>&1 || rc=$?
	t1=$(now)
	((loop)) && { kill "$loop"; wait "$loop" 2>/dev/null; }
	share=$(awk -v r="$(($(stat_field "$s/stat" read_ios) - reads0))" \
		-v d="$(($(reads_from_disk "$dev") - disk0))" 'BEGIN { printf "%.4f", r ? d / r : 0 }')
	swapoff "/dev/$dev" || err "swapoff $dev failed"
	mism=$(sed -n 's/^swapcheck: pages=.* mismatches=\([0-9]*\) .*/\1/p' "$log")
	p50=$(sed -n 's/^swapcheck: accesses=.* fault_p50_us=\([0-9.]*\) .*/\1/p' "$log")
	p99=$(sed -n 's/^swapcheck: accesses=.* fault_p99_us=\([0-9.]*\) .*/\1/p' "$log")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$algo" "$dev" "$rep" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" "$rc" "${mism:-NA}" \
		"$share" "${p50:-NA}" "${p99:-NA}" >>"$GS_OUT/$name.tsv"
	say "$algo $name workload on $dev #$rep: rc=$rc mismatches=${mism:-NA}," \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s; swap-ins from disk $share;" \
		"fault p50/p99 ${p50:-NA}/${p99:-NA} us; bd_stat $(tr -s ' ' <"$s/bd_stat")"
	[[ $rc == 0 && $mism == 0 ]] || err "$algo $name workload on $dev #$rep: rc=$rc mismatches=${mism:-NA}"
}

# wb_swap ALGO DEV REP: the verified swap workload, 8x the pool's limit.
wb_swap() {
	swap_run "$1" "$2" "$3" swap --size "$WB_SWAP_SIZE" --passes 2 --mix mixed
}

# wb_hotcold ALGO DEV REP: a working set 4x the cgroup's memory, 20% of its pages taking
# 80% of the accesses, two threads, each access timed.
wb_hotcold() {
	swap_run "$1" "$2" "$3" hotcold --size "$WB_HOT_SIZE" --passes "$WB_HOT_PASSES" --mix mixed \
		--hot-fraction 0.2 --hot-share 0.8 --threads 2
}

# alternate REPS FN ARGS...: FN ARGS... DEV REP for ghostswap and zram, REPS times, the
# order alternating (G Z, Z G, ...) so that drift of the host cancels in the pairs.
alternate() {
	local reps=$1 rep
	shift
	for ((rep = 1; rep <= reps; rep++)); do
		if ((rep % 2)); then
			"$@" $G $rep
			"$@" $Z $rep
		else
			"$@" $Z $rep
			"$@" $G $rep
		fi
	done
}

wb_algo=${GS_ALGOS%% *}
say "=== writeback ($wb_algo)"
alternate 2 wb_throughput "$wb_algo"
alternate "$WB_SWAP_REPS" wb_swap "$wb_algo"
alternate "$WB_HOT_REPS" wb_hotcold "$wb_algo"
# A reset closes the backing disks.
for dev in $G $Z; do
	echo 1 >"/sys/block/$dev/reset" || err "reset of $dev after the writeback bench failed"
done

# shellcheck shell=bash
# The writeback part of the bench, sourced by guest.sh after the pool part (it uses its
# helpers: say, err, setup_dev, prefill, G, Z, GS_OUT, PY, BENCH; and lib.sh's
# disk_by_serial, stat_field and cgroup_*). Three systems, each with the same pool budget
# and a backing disk of the same kind (a sparse 1 GiB virtio disk, run.sh attaches them):
#   ghostswap0 (G)  writes back to the disk with serial gsback,
#   zram0 (Z)       to the one with serial zback,
#   zswap (W)       the kernel's zswap in front of a swap partition on the one with serial
#                   zswback; "zswap" is its name in the TSVs.
# The budget is zswap's pool limit, totalram_pages * max_pool_percent / 100 pages, at 1%
# (WB_LIMIT sets another, zswap then gets the nearest whole percent); ghostswap0 and
# zram0 get the same byte count as mem_limit. guest-env.txt gets it as "wb budget:" and
# "wb zswap budget:" lines. Writes to $GS_OUT:
#   wb.tsv    algo dev rep pages seconds blocks   (one line per writeback of a full device)
#   swap.tsv, hotcold.tsv  algo dev rep seconds rc mismatches disk_share p50_us p99_us
#             (one line per verified swap workload; see swap_run)
#   redis.tsv algo dev rep ops_per_s p99_ms rc mismatches disk_share load_seconds
#             (see redis.sh)
#
# 1. Writeback throughput: a prefilled device written back whole; ghostswap with
#    "writeback all", zram as its users do it ("idle all" then "writeback idle").
#    Pages per second = pages migrated / wall seconds of the write to "writeback".
#    ghostswap and zram only: zswap has no such knob.
# 2. A verified swap workload whose working set is 8x the budget: ghostswap writes back
#    by itself at its watermarks; zram gets a loop doing "idle all; writeback idle" every
#    second; zswap writes back when its pool is full and from its shrinker.
# 3. The same set-up under a hot/cold workload (swapcheck --hot-fraction): its time,
#    the p99 of a faulting access, and the share of swap-ins served from the disk,
#    which shows whether the pages written back were the cold ones.
# 4. redis GETs over a data set 3x the cgroup's memory (redis.sh).
# 2-4 rotate the three systems, each rep starting one later (G Z W, Z W G, W G Z, ...).

W=zswap
# The budget: empty for 1% of RAM (zswap's max_pool_percent=1), else bytes or K/M/G.
WB_LIMIT=${WB_LIMIT:-}
WB_CGROUP=${WB_CGROUP:-64M}
# Swap workload runs per system (each several minutes under TCG); its size, empty for
# 8x the budget.
WB_SWAP_REPS=${WB_SWAP_REPS:-1}
WB_SWAP_SIZE=${WB_SWAP_SIZE:-}
# The swap area of ghostswap0 and zram0 in the swap workloads: as large as zswap's, a
# partition of its 1 GiB disk. Swap keeps the slot of a page it read back only while
# less than half of the area is used, so areas of one size make the systems' swap
# caches alike.
WB_SWAP_DISKSIZE=${WB_SWAP_DISKSIZE:-1G}
# The hot/cold workload: its size (4x WB_CGROUP), passes and runs per system.
WB_HOT_SIZE=${WB_HOT_SIZE:-256M}
WB_HOT_PASSES=${WB_HOT_PASSES:-3}
WB_HOT_REPS=${WB_HOT_REPS:-1}
# Its hot set, as a fraction of its pages (they take 80% of the accesses).
WB_HOT_FRACTION=${WB_HOT_FRACTION:-0.2}
# The systems the swap workloads and redis run on (g z zswap: all three).
WB_SYSTEMS=${WB_SYSTEMS:-g z zswap}
ZSWAP_PARAMS=/sys/module/zswap/parameters

: >"$GS_OUT/wb.tsv"
: >"$GS_OUT/swap.tsv"
: >"$GS_OUT/hotcold.tsv"

# now: seconds since boot, with nanoseconds.
now() {
	awk '{ print $1 }' /proc/uptime
}

# --- the budget -----------------------------------------------------------------------

# MemTotal is totalram_pages in KiB, the base of zswap's max_pool_percent.
wb_ram_pages=$(($(awk '$1 == "MemTotal:" { print $2 }' /proc/meminfo) / 4))

# zswap_budget PERCENT: zswap's pool limit at max_pool_percent=PERCENT, in bytes: whole
# pages, totalram_pages * PERCENT / 100, as the kernel computes it.
zswap_budget() {
	local pages=$((wb_ram_pages * $1 / 100))
	echo $((pages * 4096))
}

if [[ -z $WB_LIMIT ]]; then
	wb_zswap_percent=1
	wb_limit_bytes=$(zswap_budget 1)
else
	if wb_limit_bytes=$(numfmt --from=iec "$WB_LIMIT"); then
		((wb_limit_bytes -= wb_limit_bytes % 4096))
	else
		err "WB_LIMIT '$WB_LIMIT' is not a size; 1% of RAM instead"
		wb_limit_bytes=$(zswap_budget 1)
	fi
	# zswap takes whole percents only: the nearest one, at least 1.
	wb_zswap_percent=$((((wb_limit_bytes >> 12) * 100 + wb_ram_pages / 2) / wb_ram_pages))
	((wb_zswap_percent >= 1)) || wb_zswap_percent=1
fi
wb_zswap_bytes=$(zswap_budget "$wb_zswap_percent")
WB_SWAP_SIZE=${WB_SWAP_SIZE:-$((8 * wb_limit_bytes))}
{
	echo "wb budget: $wb_limit_bytes bytes (mem_limit of $G and $Z; ${WB_LIMIT:-1% of RAM})"
	echo "wb zswap budget: $wb_zswap_bytes bytes (max_pool_percent=$wb_zswap_percent of $wb_ram_pages pages)"
	echo "wb cgroup=$WB_CGROUP swap size=$WB_SWAP_SIZE reps=$WB_SWAP_REPS hot size=$WB_HOT_SIZE" \
		"passes=$WB_HOT_PASSES reps=$WB_HOT_REPS hot fraction=$WB_HOT_FRACTION"
} >>"$GS_OUT/guest-env.txt"
((wb_limit_bytes == wb_zswap_bytes)) ||
	say "WARNING: zswap's budget ($wb_zswap_bytes bytes) differs from the others' ($wb_limit_bytes)"

# --- ghostswap0 and zram0 -------------------------------------------------------------

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

# --- zswap ----------------------------------------------------------------------------

# vmstat_get NAME...: those /proc/vmstat counters, space-separated in the order asked,
# NA for one the kernel does not have.
vmstat_get() {
	awk -v want="$*" 'BEGIN { n = split(want, w, " ") } { v[$1] = $2 }
		END { for (i = 1; i <= n; i++) printf "%s%s", (w[i] in v) ? v[w[i]] : "NA", (i < n) ? " " : "\n" }' \
		/proc/vmstat
}

# zswap_param NAME VALUE: set zswap's module parameter NAME and check it reads back as
# VALUE; err if not.
zswap_param() {
	local p=$ZSWAP_PARAMS/$1 out
	if ! out=$({ echo "$2" >"$p"; } 2>&1); then
		err "zswap: $1=$2 refused: $out"
		return 1
	fi
	out=$(cat "$p")
	[[ $out == "$2" ]] || { err "zswap: $1 reads '$out' after writing '$2'"; return 1; }
}

# zswap_off: zswap enabled=N, silently: for a set-up that failed and has said why.
zswap_off() {
	{ echo N >"$ZSWAP_PARAMS/enabled"; } 2>/dev/null
}

# zswap_partition: leave in wb_zswap_part the swap partition for zswap, one partition
# spanning the disk with serial zswback (made on first use); err if there is none.
wb_zswap_part=
zswap_partition() {
	local disk i
	[[ -n $wb_zswap_part ]] && return 0
	disk=$(disk_by_serial zswback) || { err "zswap: no backing disk (serial zswback)"; return 1; }
	# ",,S": default start, the rest of the disk, type Linux swap (a DOS label).
	if ! echo ',,S' | sfdisk --quiet "$disk" >"$GS_OUT/sfdisk.txt" 2>&1; then
		err "zswap: sfdisk $disk failed: $(head -c 300 "$GS_OUT/sfdisk.txt")"
		return 1
	fi
	# devtmpfs makes the node when the kernel has read the new table.
	for ((i = 0; i < 50; i++)); do
		[[ -b ${disk}1 ]] && break
		sleep 0.1
	done
	[[ -b ${disk}1 ]] || { err "zswap: no ${disk}1 after sfdisk"; return 1; }
	wb_zswap_part=${disk}1
	say "zswap: swap partition $wb_zswap_part, $(($(blockdev --getsize64 "$wb_zswap_part") >> 20)) MiB"
}

# zswap_on ALGO: zswap with ALGO, zsmalloc and the budget, in front of the swap partition;
# on any failure zswap is left off.
zswap_on() {
	local algo=$1
	zswap_partition || return 1
	if ! zswap_param compressor "$algo" || ! zswap_param zpool zsmalloc ||
		! zswap_param max_pool_percent "$wb_zswap_percent" ||
		! zswap_param shrinker_enabled Y || ! zswap_param enabled Y; then
		zswap_off
		return 1
	fi
	# Enabling creates the pool the first time, and falls back to the built-in default
	# compressor or zpool if the one asked for fails.
	if [[ $(cat "$ZSWAP_PARAMS/compressor") != "$algo" || $(cat "$ZSWAP_PARAMS/zpool") != zsmalloc ]]; then
		err "zswap: pool is $(cat "$ZSWAP_PARAMS/compressor")/$(cat "$ZSWAP_PARAMS/zpool") once enabled, not $algo/zsmalloc"
		zswap_off
		return 1
	fi
	if ! mkswap "$wb_zswap_part" >/dev/null || ! swapon -p 100 "$wb_zswap_part"; then
		err "swapon $wb_zswap_part failed"
		zswap_off
		return 1
	fi
	say "zswap: $algo, zsmalloc, max_pool_percent=$wb_zswap_percent ($wb_zswap_bytes bytes)," \
		"accept_threshold_percent=$(cat "$ZSWAP_PARAMS/accept_threshold_percent" 2>/dev/null)," \
		"swap on $wb_zswap_part"
}

# --- the three systems ------------------------------------------------------------------

# swap_on SYS ALGO: swap on SYS with the budget and its backing disk: ghostswap0 or
# zram0 with mem_limit (zram with a loop doing "idle all; writeback idle" every second,
# its pid in wb_loop), or zswap in front of its partition.
wb_loop=0
swap_on() {
	local sys=$1 algo=$2 s=/sys/block/$1
	wb_loop=0
	[[ $sys == "$W" ]] && { zswap_on "$algo"; return; }
	# zswap would sit in front of ghostswap0 and zram0 too.
	[[ $(cat "$ZSWAP_PARAMS/enabled") == N ]] || { err "zswap is on before a $sys run"; return 1; }
	SETUP_DISKSIZE=$WB_SWAP_DISKSIZE wb_setup "$sys" "$algo" || return 1
	echo "$wb_limit_bytes" >"$s/mem_limit" || { err "$sys: mem_limit $wb_limit_bytes refused"; return 1; }
	if ! mkswap "/dev/$sys" >/dev/null || ! swapon -p 100 "/dev/$sys"; then
		err "swapon $sys failed"
		return 1
	fi
	if [[ $sys == "$Z" ]]; then
		(while :; do echo all >"$s/idle"; echo idle >"$s/writeback"; sleep 1; done) 2>/dev/null &
		wb_loop=$!
	fi
}

# swap_off SYS: undo swap_on SYS; zswap is switched off, so the other systems never see it.
swap_off() {
	if ((wb_loop)); then
		kill "$wb_loop"
		wait "$wb_loop" 2>/dev/null
		wb_loop=0
	fi
	if [[ $1 == "$W" ]]; then
		swapoff "$wb_zswap_part" || err "swapoff $wb_zswap_part failed"
		zswap_param enabled N
	else
		swapoff "/dev/$1" || err "swapoff $1 failed"
	fi
}

# swapins SYS: "ALL FROM_DISK", the swap-ins of SYS so far and those of them served from
# the disk. ghostswap0, zram0: the device's reads and reads_from_disk; zswap: vmstat's
# zswpin (loads from its pool) + pswpin (reads of the swap partition), and pswpin. "NA NA"
# if vmstat lacks a counter.
swapins() {
	local p z
	if [[ $1 == "$W" ]]; then
		read -r p z < <(vmstat_get pswpin zswpin)
		if [[ $p == NA || $z == NA ]]; then
			echo NA NA
		else
			echo "$((p + z)) $p"
		fi
	else
		echo "$(stat_field "/sys/block/$1/stat" read_ios) $(reads_from_disk "$1")"
	fi
}

# disk_share "ALL0 DISK0" "ALL1 DISK1": the share of the swap-ins between two swapins
# readings that came from the disk (4 decimals; 0 if none; NA if a reading is NA).
disk_share() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		split(a, x, " "); split(b, y, " ")
		if (x[1] == "NA" || y[1] == "NA") print "NA"
		else printf "%.4f\n", y[1] - x[1] ? (y[2] - x[2]) / (y[1] - x[1]) : 0 }'
}

# sys_note SYS VMSTAT0: how SYS's backing disk was used, for the log: bd_stat of
# ghostswap0 (and its extent cache's counters) and zram0; for zswap the growth of
# vmstat's zswpout zswpwb pswpout since VMSTAT0 (vmstat_get zswpout zswpwb pswpout).
sys_note() {
	if [[ $1 == "$W" && $2 == *NA* ]]; then
		# The bench kernel is built without CONFIG_VM_EVENT_COUNTERS.
		echo "no vm event counters in this kernel"
	elif [[ $1 == "$W" ]]; then
		awk -v a="$2" -v b="$(vmstat_get zswpout zswpwb pswpout)" 'BEGIN {
			split(a, x, " "); split(b, y, " ")
			printf "zswpout +%s zswpwb +%s pswpout +%s\n", y[1] - x[1], y[2] - x[2], y[3] - x[3] }'
	elif [[ $1 == "$G" ]]; then
		echo "bd_stat $(tr -s ' ' <"/sys/block/$1/bd_stat");" \
			"$(awk -F': ' '/^(extent_cache_(hits|fills|busy|alone)|worker_read_bios)/ {
				printf "%s %s ", $1, $2 }' "/sys/block/$1/debug_stat")"
	else
		echo "bd_stat $(tr -s ' ' <"/sys/block/$1/bd_stat")"
	fi
}

# The systems of WB_SYSTEMS, by device name, in the order G Z W; read once.
wb_systems=()
for wb_name in $WB_SYSTEMS; do
	case $wb_name in
	g) wb_systems+=("$G") ;;
	z) wb_systems+=("$Z") ;;
	zswap) wb_systems+=("$W") ;;
	*) err "WB_SYSTEMS: no system '$wb_name' (g, z or zswap)" ;;
	esac
done

# rotate REPS FN ARGS...: FN ARGS... SYS REP for each system of wb_systems (ghostswap0,
# zram0 and zswap by default), REPS times, each rep starting one system later (G Z W,
# Z W G, W G Z, G Z W, ...): every system takes every position in turn, so that drift of
# the host cancels over the reps.
rotate() {
	local reps=$1 rep i n=${#wb_systems[@]}
	shift
	for ((rep = 1; rep <= reps; rep++)); do
		for ((i = 0; i < n; i++)); do
			"$@" "${wb_systems[(rep - 1 + i) % n]}" "$rep"
		done
	done
}

# alternate REPS FN ARGS...: FN ARGS... DEV REP for ghostswap and zram, REPS times, the
# order alternating (G Z, Z G, ...) so that drift of the host cancels in the pairs.
alternate() {
	local reps=$1 rep
	shift
	for ((rep = 1; rep <= reps; rep++)); do
		if ((rep % 2)); then
			"$@" "$G" "$rep"
			"$@" "$Z" "$rep"
		else
			"$@" "$Z" "$rep"
			"$@" "$G" "$rep"
		fi
	done
}

# --- the swap workloads -----------------------------------------------------------------

# perf_start NAME, perf_stop: with GS_PERF=1, a system-wide cpu-clock profile between
# them, reported (where the time went, by symbol) to $GS_OUT/perf-NAME.txt while the
# kernel's symbols are still those of the run; and where swapcheck's threads waited
# (offcpu.py) to $GS_OUT/offcpu-NAME.txt.
perf_pid=0
offcpu_pid=0
perf_name=
perf_start() {
	((${GS_PERF:-0})) || return 0
	perf_name=$1
	command perf record -a -g -F 250 -o "$GS_OUT/perf-$perf_name.data" >/dev/null 2>&1 &
	perf_pid=$!
	"$PY" "$BENCH/offcpu.py" "$(basename "$GS_SWAPCHECK")" "$GS_OUT/offcpu-$perf_name.txt" &
	offcpu_pid=$!
}
perf_stop() {
	((perf_pid)) || return 0
	kill -INT "$perf_pid" "$offcpu_pid"
	wait "$perf_pid" "$offcpu_pid"
	perf_pid=0 offcpu_pid=0
	{
		command perf report -i "$GS_OUT/perf-$perf_name.data" --stdio --no-children -g none \
			--sort sym --percent-limit 0.3 2>&1
		command perf report -i "$GS_OUT/perf-$perf_name.data" --stdio --children -g none \
			--sort sym --percent-limit 2 2>&1
	} >"$GS_OUT/perf-$perf_name.txt"
	rm -f "$GS_OUT/perf-$perf_name.data"
}

# swap_run ALGO SYS REP NAME SWAPCHECK_ARGS...: one verified swapcheck workload in a
# $WB_CGROUP cgroup, swapping to SYS (swap_on). Appends to NAME.tsv: algo dev rep seconds
# rc mismatches, the share of the swap-ins served from the disk (swapins), and
# swapcheck's p50 and p99 of a faulting access in us (NA without --hot-fraction). A run
# that cannot be set up gets a line with rc "setup".
swap_run() {
	local algo=$1 sys=$2 rep=$3 name=$4 t0 t1 rc=0 log mism share p50 p99 c0 c1 vm0 note
	shift 4
	if ! swap_on "$sys" "$algo"; then
		printf '%s\t%s\t%s\tNA\tsetup\tNA\tNA\tNA\tNA\n' "$algo" "$sys" "$rep" >>"$GS_OUT/$name.tsv"
		err "$algo $name workload on $sys #$rep: cannot set up swap"
		return 1
	fi
	log=$GS_OUT/$name-$algo-$sys-$rep.log
	c0=$(swapins "$sys")
	vm0=$(vmstat_get zswpout zswpwb pswpout)
	perf_start "$name-$sys-$rep"
	t0=$(now)
	cgroup_run "$WB_CGROUP" "$GS_SWAPCHECK" "$@" >"$log" 2>&1 || rc=$?
	t1=$(now)
	perf_stop
	c1=$(swapins "$sys")
	share=$(disk_share "$c0" "$c1")
	note=$(sys_note "$sys" "$vm0")
	swap_off "$sys"
	mism=$(sed -n 's/^swapcheck: pages=.* mismatches=\([0-9]*\) .*/\1/p' "$log")
	p50=$(sed -n 's/^swapcheck: accesses=.* fault_p50_us=\([0-9.]*\) .*/\1/p' "$log")
	p99=$(sed -n 's/^swapcheck: accesses=.* fault_p99_us=\([0-9.]*\) .*/\1/p' "$log")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$algo" "$sys" "$rep" \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" "$rc" "${mism:-NA}" \
		"$share" "${p50:-NA}" "${p99:-NA}" >>"$GS_OUT/$name.tsv"
	say "$algo $name workload on $sys #$rep: rc=$rc mismatches=${mism:-NA}," \
		"$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')s; swap-ins from disk $share;" \
		"fault p50/p99 ${p50:-NA}/${p99:-NA} us; $note"
	[[ $rc == 0 && $mism == 0 ]] || err "$algo $name workload on $sys #$rep: rc=$rc mismatches=${mism:-NA}"
}

# wb_swap ALGO SYS REP: the verified swap workload, 8x the budget.
wb_swap() {
	swap_run "$1" "$2" "$3" swap --size "$WB_SWAP_SIZE" --passes 2 --mix mixed
}

# wb_hotcold ALGO SYS REP: a working set 4x the cgroup's memory, 20% of its pages taking
# 80% of the accesses, two threads, each access timed.
wb_hotcold() {
	swap_run "$1" "$2" "$3" hotcold --size "$WB_HOT_SIZE" --passes "$WB_HOT_PASSES" --mix mixed \
		--hot-fraction "$WB_HOT_FRACTION" --hot-share 0.8 --threads 2
}

# redis_run and its settings.
# shellcheck source=SCRIPTDIR/redis.sh
. "$BENCH/redis.sh"

wb_algo=${GS_ALGOS%% *}
say "=== writeback ($wb_algo): budget $wb_limit_bytes bytes, zswap $wb_zswap_bytes bytes" \
	"(max_pool_percent=$wb_zswap_percent), swap workload $WB_SWAP_SIZE bytes"
alternate 2 wb_throughput "$wb_algo"
rotate "$WB_SWAP_REPS" wb_swap "$wb_algo"
rotate "$WB_HOT_REPS" wb_hotcold "$wb_algo"
if ((WB_REDIS_REPS > 0)) && redis_prepare; then
	rotate "$WB_REDIS_REPS" redis_run "$wb_algo"
fi
# A reset closes the backing disks.
for dev in $G $Z; do
	echo 1 >"/sys/block/$dev/reset" || err "reset of $dev after the writeback bench failed"
done
if [[ $(cat "$ZSWAP_PARAMS/enabled") != N ]]; then
	err "zswap still on after the writeback bench"
	zswap_off
fi

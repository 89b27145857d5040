#!/bin/bash
# Runs inside the bench VM (started by tests/bench/run.sh); ghostswap0 and zram0 side by
# side, same algorithm, same disksize, same data. Writes everything it measures to
# $GS_OUT (the host folder given to the VM with --rwdir):
#   runs.tsv        algo test jobs dev rep iops fio_rc      (one line per fio run)
#   mm_stat.tsv     algo phase dev + the nine mm_stat fields
#   fio/*.json      fio's JSON output of every run; stats/* the sysfs files after phases
#   snapshot.json   what snapshot.py read from the workload process
#   errors.txt      anything that went wrong (failed fio, bad kernel log, ...)
#   dmesg.txt       the kernel log of the whole run
# Progress goes to the console as "BENCH: ..." lines.
#
#   wb.tsv, swap.tsv, hotcold.tsv, redis.tsv  writeback throughput, swap workloads and
#                   redis, ghostswap0 and zram0 and (but for wb.tsv) zswap (see writeback.sh)
#
# usage: guest.sh CONFIG   (CONFIG sets GS_REPO GS_OUT GS_MODULE GS_RUNTIME GS_RAMP
#                           GS_PAIRS GS_DISKSIZE GS_ALGOS GS_SEED GS_SNAP_SOURCE
#                           GS_SWAPCHECK GS_PARTS GS_MODULE_ARGS GS_PERF WB_LIMIT WB_SWAP_REPS
#                           WB_HOT_REPS WB_REDIS_REPS WB_REDIS_KEYS WB_REDIS_VALUE
#                           WB_REDIS_REQUESTS)

set -u

config=${1:?usage: guest.sh CONFIG}
# shellcheck source=/dev/null
. "$config"
: "${GS_REPO:?}" "${GS_OUT:?}" "${GS_MODULE:?}"
GS_RUNTIME=${GS_RUNTIME:-8}
GS_PAIRS=${GS_PAIRS:-4}
GS_RAMP=${GS_RAMP:-1}
GS_DISKSIZE=${GS_DISKSIZE:-256M}
GS_ALGOS=${GS_ALGOS:-lz4 zstd}
GS_SEED=${GS_SEED:-20261123}
GS_SNAP_SOURCE=${GS_SNAP_SOURCE:-2097152}
# The parts to run: "pool" (fio and the memory snapshot per algorithm), "writeback".
GS_PARTS=${GS_PARTS:-pool writeback}
# Extra insmod parameters (space-separated), e.g. async_reads=1.
GS_MODULE_ARGS=${GS_MODULE_ARGS:-}
# 1: perf profiles of the swap workloads (writeback.sh).
GS_PERF=${GS_PERF:-0}
has_part() { [[ " $GS_PARTS " == *" $1 "* ]]; }
export GS_MODULE GS_SELFTEST_ZRAM=0
# shellcheck source=SCRIPTDIR/../vm/lib.sh
. "$GS_REPO/tests/vm/lib.sh"
# BAD_KMSG: kernel log lines that make the run suspect (as in the VM tests).
# shellcheck source=SCRIPTDIR/../lib/kmsg.sh
. "$GS_REPO/tests/lib/kmsg.sh"
# FIO_DATA (seeded with GS_SEED), fio_prefill, fio_result.
# shellcheck source=SCRIPTDIR/../lib/fio.sh
. "$GS_REPO/tests/lib/fio.sh"
set +o pipefail

bench_start=$SECONDS
PY=/usr/bin/python3
BENCH=$GS_REPO/tests/bench
G=ghostswap0
Z=zram0

mkdir -p "$GS_OUT/fio" "$GS_OUT/stats"
: >"$GS_OUT/runs.tsv"
: >"$GS_OUT/mm_stat.tsv"
: >"$GS_OUT/errors.txt"

say() {
	echo "BENCH: [$(printf '%4d' $((SECONDS - bench_start)))s] $*"
}

err() {
	echo "BENCH: [$(printf '%4d' $((SECONDS - bench_start)))s] ERROR: $*"
	echo "$*" >>"$GS_OUT/errors.txt"
}

# setup_dev DEV ALGO [BACKING]: reset DEV, attach BACKING if given, select ALGO, set the
# bench disksize (SETUP_DISKSIZE if set).
setup_dev() {
	local dev=$1 algo=$2 backing=${3:-} s=/sys/block/$1
	echo 1 >"$s/reset" || { err "$dev: reset failed"; return 1; }
	if [[ -n $backing ]]; then
		echo "$backing" >"$s/backing_dev" || { err "$dev: backing_dev $backing refused"; return 1; }
	fi
	echo "$algo" >"$s/comp_algorithm" || { err "$dev: cannot select $algo"; return 1; }
	echo "${SETUP_DISKSIZE:-$GS_DISKSIZE}" >"$s/disksize" ||
		{ err "$dev: cannot set disksize ${SETUP_DISKSIZE:-$GS_DISKSIZE}"; return 1; }
	grep -q "\[$algo\]" "$s/comp_algorithm" ||
		{ err "$dev: comp_algorithm reads '$(cat "$s/comp_algorithm")'"; return 1; }
	say "$dev: $algo, disksize $(cat "$s/disksize")"
}

# record ALGO PHASE DEV: mm_stat line to mm_stat.tsv, all stat files to stats/.
record() {
	local algo=$1 phase=$2 dev=$3 s=/sys/block/$3 f
	printf '%s\t%s\t%s\t%s\n' "$algo" "$phase" "$dev" "$(tr -s ' ' <"$s/mm_stat" | sed 's/^ //')" \
		>>"$GS_OUT/mm_stat.tsv"
	for f in mm_stat io_stat debug_stat frontswap_stat stat; do
		[[ -r $s/$f ]] && { echo "== $f"; cat "$s/$f"; }
	done >"$GS_OUT/stats/$algo-$phase-$dev.txt" 2>&1
	say "$dev $phase mm_stat: $(tr -s ' ' <"$s/mm_stat" | sed 's/^ //')"
}

# iops JSON RW: "IOPS ERROR" of the (group-reported) job in fio's JSON output, RW being
# read or write; "NA NA" if the file cannot be parsed.
iops() {
	local v e
	if read -r v _ e < <(fio_result "$1" "$2" 2>/dev/null); then
		printf '%.1f %s\n' "$v" "$e"
	else
		echo NA NA
	fi
}

# prefill DEV ALGO: one sequential write of the whole device with the bench data.
prefill() {
	local dev=$1 algo=$2 out=$GS_OUT/fio/$2-prefill-$1.json rc=0 v e
	fio_prefill "$dev" --output-format=json --output="$out" >/dev/null 2>"$out.err" || rc=$?
	((rc == 0)) || err "$algo prefill $dev: fio exited $rc ($(head -c 300 "$out.err"))"
	read -r v e < <(iops "$out" write)
	[[ $e == 0 ]] || err "$algo prefill $dev: fio job error '$e'"
	say "$dev prefill ($algo): fio rc=$rc, $v x 128k writes/s"
	return $rc
}

# perf ALGO RW JOBS DEV REP
perf() {
	local algo=$1 rw=$2 jobs=$3 dev=$4 rep=$5 rc=0 out v e
	out=$GS_OUT/fio/$algo-$rw-j$jobs-$dev-$rep.json
	fio --name="$rw" --filename="/dev/$dev" --rw="$rw" --bs=4k --ioengine=psync --iodepth=1 \
		--direct=1 --numjobs="$jobs" --group_reporting --time_based --runtime="$GS_RUNTIME" \
		--ramp_time="$GS_RAMP" --norandommap "${FIO_DATA[@]}" \
		--output-format=json --output="$out" >/dev/null 2>"$out.err" || rc=$?
	read -r v e < <(iops "$out" "${rw#rand}")
	if ((rc != 0)); then
		err "$algo $rw jobs=$jobs $dev rep $rep: fio exited $rc ($(head -c 300 "$out.err"))"
		v=NA
	elif [[ $e != 0 ]]; then
		err "$algo $rw jobs=$jobs $dev rep $rep: fio job error '$e'"
		v=NA
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$algo" "$rw" "$jobs" "$dev" "$rep" "$v" "$rc" >>"$GS_OUT/runs.tsv"
	say "$algo $rw QD1 jobs=$jobs $dev #$rep: $v IOPS (rc=$rc)"
}

# --- start --------------------------------------------------------------------------

{
	echo "kernel: $(uname -r)"
	echo "cpus: $(nproc)"
	grep -m1 'model name' /proc/cpuinfo
	echo "mem: $(grep MemTotal /proc/meminfo)"
	echo "cmdline: $(cat /proc/cmdline)"
	echo "fio: $(fio --version)"
	echo "zswap enabled: $(cat /sys/module/zswap/parameters/enabled 2>/dev/null)"
	echo "module args: disksize= $GS_MODULE_ARGS"
	echo "pairs=$GS_PAIRS runtime=$GS_RUNTIME ramp=$GS_RAMP disksize=$GS_DISKSIZE algos=$GS_ALGOS seed=$GS_SEED"
} >"$GS_OUT/guest-env.txt"
say "start: $(uname -r), $(nproc) cpus, $(fio --version), zswap $(cat /sys/module/zswap/parameters/enabled 2>/dev/null)," \
	"pairs=$GS_PAIRS runtime=${GS_RUNTIME}s ramp=${GS_RAMP}s disksize=$GS_DISKSIZE algos='$GS_ALGOS'"

dmesg --clear
# shellcheck disable=SC2086 # GS_MODULE_ARGS is a list of parameters.
if ! load_module "disksize=" $GS_MODULE_ARGS >>"$GS_OUT/guest.log" 2>&1; then
	err "insmod $GS_MODULE disksize= $GS_MODULE_ARGS failed: $(tail -n 3 "$GS_OUT/guest.log" | tr '\n' ' ')"
	dmesg >"$GS_OUT/dmesg.txt"
	echo "BENCH-DONE"
	exit 1
fi
[[ -b /dev/$Z ]] || { err "no /dev/$Z"; echo "BENCH-DONE"; exit 1; }

# --- the pool part (GS_PARTS has "pool"): a memory snapshot, then per algorithm fio and
# the snapshot on each device

if has_part pool; then

	snap=/tmp/bench-anon.snap
	say "snapshot: starting anon_workload.py (source bytes $GS_SNAP_SOURCE)"
	PYTHONHASHSEED=0 "$PY" "$BENCH/anon_workload.py" "$GS_SNAP_SOURCE" >/tmp/workload.out 2>&1 &
	wpid=$!
	if wait_for_line /tmp/workload.out '^READY ' 600; then
		cat /tmp/workload.out >"$GS_OUT/workload.txt"
		grep -E '^(Rss|Vm(RSS|Data))' "/proc/$wpid/status" >>"$GS_OUT/workload.txt"
		cp "/proc/$wpid/maps" "$GS_OUT/workload-maps.txt"
		kill -STOP "$wpid"
		limit=$(($(numfmt --from=iec "$GS_DISKSIZE") - (1 << 20)))
		"$PY" "$BENCH/snapshot.py" "$wpid" "$snap" "$limit" >"$GS_OUT/snapshot.json" 2>"$GS_OUT/snapshot.err" ||
			err "snapshot.py failed: $(head -c 300 "$GS_OUT/snapshot.err")"
		say "snapshot: $(head -n 1 /tmp/workload.out); $(cat "$GS_OUT/snapshot.json")"
		sha256sum "$snap" >>"$GS_OUT/workload.txt"
	else
		err "anon_workload.py did not get ready: $(tail -c 300 /tmp/workload.out)"
	fi
	kill -KILL "$wpid" 2>/dev/null
	wait "$wpid" 2>/dev/null
	snap_bytes=$(stat -c %s "$snap" 2>/dev/null || echo 0)

	# --- per algorithm ------------------------------------------------------------------

	for algo in $GS_ALGOS; do
		say "=== $algo"
		if ! setup_dev $G "$algo" || ! setup_dev $Z "$algo"; then
			continue
		fi

		# Same data on both: prefill each fully, then check the contents are identical.
		prefill $G "$algo"
		prefill $Z "$algo"
		sync
		record "$algo" prefill $G
		record "$algo" prefill $Z
		if cmp "/dev/$G" "/dev/$Z" >"$GS_OUT/cmp-$algo.txt" 2>&1; then
			say "$algo: ghostswap0 and zram0 hold identical data after prefill"
		else
			err "$algo: contents differ after prefill: $(head -c 200 "$GS_OUT/cmp-$algo.txt")"
		fi
		echo 3 >/proc/sys/vm/drop_caches

		# Throughput: GS_PAIRS pairs per test, in alternating order (G Z, Z G, G Z, ...), so
		# that drift of the host cancels and each pair gives one ratio. TCG on a shared host
		# moves a single run by 15% and more; many short pairs beat few long ones.
		for rw in randread randwrite; do
			for jobs in 1 2; do
				for ((rep = 1; rep <= GS_PAIRS; rep++)); do
					if ((rep % 2)); then
						perf "$algo" $rw $jobs $G $rep
						perf "$algo" $rw $jobs $Z $rep
					else
						perf "$algo" $rw $jobs $Z $rep
						perf "$algo" $rw $jobs $G $rep
					fi
				done
			done
		done
		record "$algo" after_perf $G
		record "$algo" after_perf $Z

		# Memory for the snapshot of real anonymous memory: fresh devices, same pages.
		if ((snap_bytes > 0)); then
			for dev in $G $Z; do
				setup_dev "$dev" "$algo" || continue
				if ! dd if="$snap" of="/dev/$dev" bs=1M oflag=direct status=none 2>"$GS_OUT/dd.err"; then
					err "$algo: dd of the snapshot to $dev failed: $(head -c 300 "$GS_OUT/dd.err")"
					continue
				fi
				sync
				record "$algo" snapshot "$dev"
				if ! cmp -n "$snap_bytes" "$snap" "/dev/$dev" >"$GS_OUT/cmp.txt" 2>&1; then
					err "$algo: $dev does not read back the snapshot: $(head -c 200 "$GS_OUT/cmp.txt")"
				fi
				echo 3 >/proc/sys/vm/drop_caches
			done
		fi
	done
fi

# --- writeback: throughput, swap workloads and redis over the pool's budget, zswap too --

if has_part writeback; then
	# shellcheck source=SCRIPTDIR/writeback.sh
	. "$BENCH/writeback.sh"
fi

# --- teardown and kernel log ----------------------------------------------------------

echo 1 >/sys/block/$G/reset || err "final reset of $G failed"
echo 1 >/sys/block/$Z/reset || err "final reset of $Z failed"
rmmod ghostswap || err "rmmod ghostswap failed"
dmesg >"$GS_OUT/dmesg.txt" 2>&1
bad=$(grep -E "$BAD_KMSG" "$GS_OUT/dmesg.txt")
if [[ -n $bad ]]; then
	err "kernel log has suspicious lines: $(printf '%s' "$bad" | head -n 5 | tr '\n' ';')"
fi
say "guest finished in $((SECONDS - bench_start))s, $(wc -l <"$GS_OUT/errors.txt") error(s)"
echo "BENCH-DONE"

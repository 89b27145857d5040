# shellcheck shell=bash
# The redis workload of the bench's writeback part, sourced by writeback.sh (it uses its
# swap_on, swap_off, swapins, disk_share, sys_note, vmstat_get and now; guest.sh's say,
# err, PY, BENCH, GS_OUT; lib.sh's cgroup_create, cgroup_report, cgroup_remove).
#
# Per system, with swap set up as swap_run sets it up: a fresh redis-server (no
# persistence, a unix socket only) in a $WB_CGROUP cgroup is loaded with WB_REDIS_KEYS
# values of WB_REDIS_VALUE bytes (redis_data.py, through redis-cli --pipe), about 3x the
# cgroup's memory, so most of it is swapped out; redis-benchmark then runs
# WB_REDIS_REQUESTS GETs of random keys from 4 clients, and a Lua script
# (redis_verify.lua) checks every value afterwards. Results in redis.tsv:
#   algo dev rep ops_per_s p99_ms rc mismatches disk_share load_seconds
# ops/s and p99 come from redis-benchmark --csv (its "rps" and "p99_latency_ms"
# columns); redis_data.py parse also reads the plain 7.x summary.

# Runs per system (0 skips the workload).
WB_REDIS_REPS=${WB_REDIS_REPS:-1}
# Bytes per value: 1000 takes one 1 KiB allocation in redis with its header.
WB_REDIS_VALUE=${WB_REDIS_VALUE:-1000}
# Keys, empty for 3x the cgroup's memory in values at 24 bytes of overhead each. The data
# set must fit the swap (GS_DISKSIZE for ghostswap0 and zram0).
WB_REDIS_KEYS=${WB_REDIS_KEYS:-}
# GETs per run: under TCG, with most of them faulting, some 1000 a second.
WB_REDIS_REQUESTS=${WB_REDIS_REQUESTS:-50000}
WB_REDIS_CLIENTS=4
# A bound on each step (load, benchmark, check), so a stuck server does not eat the VM's
# whole timeout.
WB_REDIS_TIMEOUT=1800
REDIS_SOCK=/tmp/gsbench-redis.sock
REDIS_NOISE=/tmp/gsbench-redis.noise

if [[ -z $WB_REDIS_KEYS ]]; then
	WB_REDIS_KEYS=$((3 * $(numfmt --from=iec "$WB_CGROUP") / (WB_REDIS_VALUE + 24)))
fi
: >"$GS_OUT/redis.tsv"

# redis_prepare: check the redis tools are there and write the noise the values are cut
# from; err and fail if not.
redis_prepare() {
	local c
	for c in redis-server redis-cli redis-benchmark; do
		command -v "$c" >/dev/null ||
			{ err "redis: no $c (scripts/install-deps.sh installs redis-server and redis-tools)"; return 1; }
	done
	if ! "$PY" "$BENCH/redis_data.py" noise "$REDIS_NOISE" 2>"$GS_OUT/redis-noise.err"; then
		err "redis: cannot write the noise: $(head -c 300 "$GS_OUT/redis-noise.err")"
		return 1
	fi
	echo "wb redis: $(redis-server --version); keys=$WB_REDIS_KEYS value=$WB_REDIS_VALUE" \
		"requests=$WB_REDIS_REQUESTS clients=$WB_REDIS_CLIENTS reps=$WB_REDIS_REPS" \
		"noise sha256 $(sha256sum <"$REDIS_NOISE" | cut -d' ' -f1)" >>"$GS_OUT/guest-env.txt"
	say "redis: $WB_REDIS_KEYS keys of $WB_REDIS_VALUE bytes" \
		"($((WB_REDIS_KEYS * WB_REDIS_VALUE >> 20)) MiB of values) in a $WB_CGROUP cgroup," \
		"$WB_REDIS_REQUESTS GETs from $WB_REDIS_CLIENTS clients"
}

# cgroup_spawn CGROUP CMD...: start CMD in the background inside CGROUP (as lib.sh's
# cgroup_exec, but without waiting); its pid in spawned_pid.
cgroup_spawn() {
	local cg=$1
	shift
	# One fork: the subshell joins the cgroup and becomes CMD, so $! is CMD's pid.
	(echo "$BASHPID" >"$cg/cgroup.procs" && exec "$@") &
	spawned_pid=$!
}

# running PID: PID is there and has not exited (kill -0 succeeds on a zombie too).
running() {
	local state
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $state && ${state%% *} != Z ]]
}

# redis_ready PID: wait (up to 2 minutes, TCG) until the server answers PING; fails if
# it does not or PID exits.
redis_ready() {
	local end=$((SECONDS + 120))
	while ((SECONDS < end)); do
		[[ $(redis-cli -s "$REDIS_SOCK" PING </dev/null 2>/dev/null) == PONG ]] && return 0
		running "$1" || return 1
		sleep 0.2
	done
	return 1
}

# redis_int CMD...: the integer reply of redis-cli CMD... (without the "(integer) " it
# shows on a terminal); fails, printing what it got, if the reply is not one. Standard
# input goes to redis-cli (for -x).
redis_int() {
	local out
	out=$(timeout "$WB_REDIS_TIMEOUT" redis-cli -s "$REDIS_SOCK" "$@" 2>&1)
	out=${out#(integer) }
	[[ $out =~ ^[0-9]+$ ]] || { printf '%s\n' "$out" | head -c 300; return 1; }
	echo "$out"
}

# redis_run ALGO SYS REP: one verified redis run on SYS. Appends to redis.tsv; rc is 0,
# redis-benchmark's exit status, or the step that failed: setup (of the swap), cgroup,
# start, load, parse (of redis-benchmark's output) or verify (no count from the check).
redis_run() {
	local algo=$1 sys=$2 rep=$3 base rc=0 ops=NA p99=NA mism=NA share=NA load=NA
	local cg='' pid='' loaded=0 t0 t1 c0 c1 vm0 n note='' i
	base=$GS_OUT/redis-$algo-$sys-$rep
	if ! swap_on "$sys" "$algo"; then
		printf '%s\t%s\t%s\tNA\tNA\tsetup\tNA\tNA\tNA\n' "$algo" "$sys" "$rep" >>"$GS_OUT/redis.tsv"
		err "$algo redis on $sys #$rep: cannot set up swap"
		return 1
	fi
	vm0=$(vmstat_get zswpout zswpwb pswpout)
	rm -f "$REDIS_SOCK"
	if cgroup_create "$WB_CGROUP" >>"$base.log" 2>&1; then
		cg=$GS_CGROUP
		cgroup_spawn "$cg" redis-server --port 0 --unixsocket "$REDIS_SOCK" --unixsocketperm 700 \
			--save '' --appendonly no --dir /tmp --daemonize no --logfile "$base.server.log" \
			>>"$base.log" 2>&1
		pid=$spawned_pid
		if ! redis_ready "$pid"; then
			err "$algo redis on $sys #$rep: redis-server did not answer: $(tail -c 300 "$base.server.log")"
			rc=start
		fi
	else
		err "$algo redis on $sys #$rep: cannot create a cgroup with memory.max=$WB_CGROUP"
		rc=cgroup
	fi

	if [[ $rc == 0 ]]; then
		t0=$(now)
		"$PY" "$BENCH/redis_data.py" load "$WB_REDIS_KEYS" "$WB_REDIS_VALUE" "$REDIS_NOISE" |
			timeout "$WB_REDIS_TIMEOUT" redis-cli -s "$REDIS_SOCK" --pipe --pipe-timeout 600 \
				>"$base.load.txt" 2>&1
		t1=$(now)
		load=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
		n=$(redis_int DBSIZE </dev/null)
		# --pipe ends with "errors: E, replies: R"; a full DBSIZE shows no SET was lost.
		if grep -q '^errors: 0,' "$base.load.txt" && [[ $n == "$WB_REDIS_KEYS" ]]; then
			loaded=1
		else
			err "$algo redis on $sys #$rep: load failed (DBSIZE '$n'): $(tail -c 300 "$base.load.txt")"
			rc=load
		fi
	fi

	if ((loaded)); then
		c0=$(swapins "$sys")
		timeout "$WB_REDIS_TIMEOUT" redis-benchmark -s "$REDIS_SOCK" -t get -r "$WB_REDIS_KEYS" \
			-n "$WB_REDIS_REQUESTS" -c "$WB_REDIS_CLIENTS" --csv \
			>"$base.bench.csv" 2>"$base.bench.err" || rc=$?
		c1=$(swapins "$sys")
		share=$(disk_share "$c0" "$c1")
		read -r ops p99 < <("$PY" "$BENCH/redis_data.py" parse "$base.bench.csv")
		if [[ $rc != 0 ]]; then
			err "$algo redis on $sys #$rep: redis-benchmark exited $rc: $(head -c 300 "$base.bench.err")"
			ops=NA p99=NA
		elif [[ $ops == NA ]]; then
			err "$algo redis on $sys #$rep: no GET result in $(head -c 300 "$base.bench.csv")"
			rc=parse
		fi
		# Every value, after the GETs faulted pages in and out of the pool and the disk.
		if mism=$(redis_int -x EVAL "$(cat "$BENCH/redis_verify.lua")" 0 "$WB_REDIS_KEYS" \
			"$WB_REDIS_VALUE" <"$REDIS_NOISE"); then
			((mism == 0)) || err "$algo redis on $sys #$rep: $mism of $WB_REDIS_KEYS values wrong or missing"
		else
			err "$algo redis on $sys #$rep: the check failed: $mism"
			mism=NA
			[[ $rc == 0 ]] && rc=verify
		fi
		note=$(sys_note "$sys" "$vm0")
	fi

	if [[ -n $pid ]]; then
		redis-cli -s "$REDIS_SOCK" SHUTDOWN NOSAVE </dev/null >/dev/null 2>&1
		for ((i = 0; i < 300; i++)); do
			running "$pid" || break
			sleep 0.2
		done
	fi
	if [[ -n $cg ]]; then
		cgroup_report "$cg" >>"$base.log"
		# Kills the server if SHUTDOWN did not end it.
		cgroup_remove "$cg" >>"$base.log" 2>&1 || err "redis on $sys #$rep: cannot remove $cg"
	fi
	[[ -n $pid ]] && wait "$pid" 2>/dev/null
	swap_off "$sys"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$algo" "$sys" "$rep" "$ops" "$p99" "$rc" "$mism" \
		"$share" "$load" >>"$GS_OUT/redis.tsv"
	say "$algo redis on $sys #$rep: rc=$rc mismatches=$mism, $ops GET/s, p99 $p99 ms, load ${load}s;" \
		"swap-ins from disk $share; $note"
}

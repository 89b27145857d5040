# shellcheck shell=bash
# shellcheck disable=SC2034 # GS_SYSFS, GS_STORES, ... are set here for the cases to read.
# Helpers shared by the VM test cases (tests/vm/cases/*.sh); sourced, never run.
#
# Environment (set by guest.sh; defaults make a case runnable by hand inside a VM):
#   GS_MODULE         path of ghostswap.ko
#   GS_SWAPCHECK      path of the swapcheck binary
#   GS_GHOSTSWAPCTL   path of the ghostswapctl binary
#   GS_SELFTEST_ZRAM  1: drive the built-in zram instead of ghostswap (harness self-test)
#   GS_CASE_DIR       writable scratch directory for this case
#
# Conventions: `fail` ends the case with `FAIL: <reason>` (guest.sh reports the last such
# line); helpers that print a value return non-zero instead of failing, because `fail`
# inside `$(...)` only leaves the subshell.

set -u -o pipefail

# disk_by_serial, stat_field (by the names of Documentation/ABI/testing/sysfs-block-ghostswap).
# shellcheck source=SCRIPTDIR/../lib/disk.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/disk.sh"
# shellcheck source=SCRIPTDIR/../lib/stat.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/stat.sh"

GS_SELFTEST_ZRAM=${GS_SELFTEST_ZRAM:-0}
GS_MODULE=${GS_MODULE:-}
GS_SWAPCHECK=${GS_SWAPCHECK:-swapcheck}
GS_GHOSTSWAPCTL=${GS_GHOSTSWAPCTL:-ghostswapctl}
GS_CGROUP_ROOT=${GS_CGROUP_ROOT:-/sys/fs/cgroup}
# The divisor of the data sizes of the heaviest cases: run.sh --debug sets it, since
# the debug kernel (KASAN, lockdep) runs them several times slower. Each case keeps
# its ratios (workload to cgroup to mem_limit), so it proves the same with less data.
GS_SCALE=${GS_SCALE:-1}
if [[ -z ${GS_CASE_DIR:-} ]]; then
	GS_CASE_DIR=$(mktemp -d /tmp/gstest.XXXXXX)
fi

# Device naming: ghostswapN, or zramN in self-test mode.
if [[ $GS_SELFTEST_ZRAM == 1 ]]; then
	GS_NAME=zram
else
	GS_NAME=ghostswap
fi
GS_DEV=/dev/${GS_NAME}0
GS_SYSFS=/sys/block/${GS_NAME}0
# Where load_module remembers (for the zram emulation) how many devices it set up.
GS_ZRAM_STATE=/run/gstest-zram-devices

# --- reporting ---------------------------------------------------------------------

info() {
	echo "# $*"
}

# fail MESSAGE: end the case as failed.
fail() {
	echo "FAIL: $*"
	exit 1
}

is_selftest() {
	[[ $GS_SELFTEST_ZRAM == 1 ]]
}

# selftest_note MESSAGE: say what the zram self-test cannot check.
selftest_note() {
	echo "# SELFTEST(zram): $*"
}

# check_eq ACTUAL EXPECTED WHAT
check_eq() {
	if [[ "$1" != "$2" ]]; then
		fail "$3: expected '$2', got '$1'"
	fi
	info "ok: $3 = $1"
}

# check_gt ACTUAL MIN WHAT: integer ACTUAL > MIN.
check_gt() {
	if ! [[ "$1" =~ ^[0-9]+$ ]] || (($1 <= $2)); then
		fail "$3: expected > $2, got '$1'"
	fi
	info "ok: $3 = $1 (> $2)"
}

# check_lt ACTUAL MAX WHAT: integer ACTUAL (may be negative) < MAX.
check_lt() {
	if ! [[ "$1" =~ ^-?[0-9]+$ ]] || (($1 >= $2)); then
		fail "$3: expected < $2, got '$1'"
	fi
	info "ok: $3 = $1 (< $2)"
}

# check_ge ACTUAL MIN WHAT: integer ACTUAL (may be negative) >= MIN.
check_ge() {
	if ! [[ "$1" =~ ^-?[0-9]+$ ]] || (($1 < $2)); then
		fail "$3: expected >= $2, got '$1'"
	fi
	info "ok: $3 = $1 (>= $2)"
}

# expect_ok WHAT CMD...: CMD must succeed; its output is shown.
expect_ok() {
	local what=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	[[ -n $out ]] && printf '%s\n' "$out" | sed 's/^/  | /'
	((rc == 0)) || fail "$what: '$*' exited $rc"
	info "ok: $what"
}

# expect_fail WHAT CMD...: CMD must fail (non-zero exit); its output is kept in $GS_OUT.
expect_fail() {
	local what=$1 rc=0
	shift
	GS_OUT=$("$@" 2>&1) || rc=$?
	[[ -n $GS_OUT ]] && printf '%s\n' "$GS_OUT" | sed 's/^/  | /'
	((rc != 0)) || fail "$what: '$*' succeeded but must fail"
	info "ok: $what (exit $rc)"
}

# pagecheck REF EIO_ALLOWED WHAT: every page of REF (pagecheck.py make) reads back right
# from the device, or (if EIO_ALLOWED is yes) fails with EIO; fails the case with WHAT
# otherwise. Leaves pagecheck.py's summary line in PAGECHECK. PAGECHECK_MODE=check-shuffled
# reads the pages in a shuffled order.
pagecheck() {
	local out rc=0
	out=$(python3 "$(dirname "${BASH_SOURCE[0]}")/pagecheck.py" "${PAGECHECK_MODE:-check}" \
		"$GS_DEV" "$1" 2>&1) || rc=$?
	printf '%s\n' "$out" | sed 's/^/  | /'
	((rc == 0)) || fail "$3: wrong data or unexpected errors"
	if [[ $2 == no ]] && ! grep -q ' eio=0 ' <<<"$out"; then
		fail "$3: reads failed with EIO"
	fi
	PAGECHECK=$out
}

# wait_for_line FILE REGEX SECONDS: wait until a line of FILE matches REGEX.
wait_for_line() {
	local file=$1 re=$2 left=$(($3 * 10))
	while ! grep -qE "$re" "$file" 2>/dev/null; do
		((left-- > 0)) || return 1
		sleep 0.1
	done
}

# scaled_mib N: N MiB divided by GS_SCALE (at least 1), as a number of MiB.
scaled_mib() {
	local n=$(($1 / GS_SCALE))
	echo $((n > 0 ? n : 1))
}

# on_kernel RELEASE DEBUG: DEBUG on the debug kernel, RELEASE otherwise; for what
# GS_SCALE cannot divide (passes, rounds), or a case whose cgroup would get too small.
on_kernel() {
	if ((${GS_DEBUG_KERNEL:-0})); then echo "$2"; else echo "$1"; fi
}

# --- tools -------------------------------------------------------------------------

# fio_bin: path of fio (use as `FIO=$(fio_bin) || fail ...`).
fio_bin() {
	command -v fio || {
		echo "fio not found" >&2
		return 1
	}
}

# swapcheck_bin: path of swapcheck (use as `SC=$(swapcheck_bin) || fail ...`).
swapcheck_bin() {
	[[ -x $GS_SWAPCHECK ]] || {
		echo "swapcheck binary '$GS_SWAPCHECK' not found or not executable" >&2
		return 1
	}
	echo "$GS_SWAPCHECK"
}

# swapcheck_hold CG MIB [ARG...]: starts swapcheck (with ARGs) in cgroup CG on MIB MiB of
# mixed pages, one pass, paused once they are all written (swapped out, for a small cgroup) until
# swapcheck_release; fails the case if filling does not end within 600 s. Sets SC_PID,
# SC_LOG and SC_RELEASE, and ends the paused workload with the case whatever happens.
swapcheck_hold() {
	local sc
	sc=$(swapcheck_bin) || fail "swapcheck binary not found (cargo build --release -p swapcheck)"
	SC_LOG=$GS_CASE_DIR/swapcheck-hold.log
	SC_RELEASE=$GS_CASE_DIR/release
	rm -f "$SC_RELEASE"
	# shellcheck disable=SC2064 # the path now, not when the trap runs
	trap "touch '$SC_RELEASE'" EXIT
	cgroup_exec "$1" "$sc" --size "$2M" --passes 1 --mix mixed --pause-file "$SC_RELEASE" \
		"${@:3}" >"$SC_LOG" 2>&1 &
	SC_PID=$!
	if ! wait_for_line "$SC_LOG" '^swapcheck: filled; waiting' 600; then
		sed 's/^/  | /' "$SC_LOG"
		fail "swapcheck did not finish filling"
	fi
}

# TIME_MAJFLT: a command prefix that logs the command's major faults (getrusage, with its
# children's) as the line "swapcheck: majflt=N" on stderr; majflt_of LOG reads N back
# (empty if LOG has no such line).
TIME_MAJFLT=(/usr/bin/time -f "swapcheck: majflt=%F")
majflt_of() {
	sed -n 's/^swapcheck: majflt=\([0-9]*\)$/\1/p' "$1"
}

# swapcheck_release PAGES WHAT: lets swapcheck_hold's workload verify its PAGES pages and
# end; fails the case (with WHAT) unless it exits 0 with no mismatch.
swapcheck_release() {
	local rc=0
	touch "$SC_RELEASE"
	wait "$SC_PID" || rc=$?
	sed -n '/pause file found/,$p' "$SC_LOG" | sed 's/^/  | /'
	check_eq "$rc" 0 "swapcheck exit status $2"
	grep -q "^swapcheck: pages=$1 verified=[0-9]* mismatches=0 passes=1\$" "$SC_LOG" ||
		fail "swapcheck summary line missing or shows mismatches $2"
}

# ghostswapctl_bin: path of ghostswapctl (use as `CTL=$(ghostswapctl_bin) || fail ...`).
ghostswapctl_bin() {
	[[ -x $GS_GHOSTSWAPCTL ]] || {
		echo "ghostswapctl binary '$GS_GHOSTSWAPCTL' not found or not executable (make tools)" >&2
		return 1
	}
	echo "$GS_GHOSTSWAPCTL"
}

# --- devices and sysfs -------------------------------------------------------------

# gs_dev N / gs_sysfs N: device node and sysfs directory of device N.
gs_dev() {
	echo "/dev/${GS_NAME}$1"
}

gs_sysfs() {
	echo "/sys/block/${GS_NAME}$1"
}

# debug_stat_field KEY: the value of KEY in the first device's debug_stat ("key: value"
# lines, Documentation/ABI/testing/sysfs-block-ghostswap).
debug_stat_field() {
	awk -v k="$1:" '$1 == k { print $2 }' "$GS_SYSFS/debug_stat"
}

# read_stat DEV FILE NAME: the field NAME of /sys/block/DEV/FILE, a number; NAME as in
# Documentation/ABI/testing/sysfs-block-ghostswap (tests/lib/stat.sh: GS_STAT_FIELDS).
# DEV may be a name (ghostswap0) or a node (/dev/ghostswap0).
read_stat() {
	local dev=${1##*/} file=$2 name=$3 path v
	path=/sys/block/$dev/$file
	[[ -r $path ]] || {
		echo "read_stat: no $path" >&2
		return 1
	}
	v=$(stat_field "$path" "$name") || return 1
	[[ $v =~ ^[0-9]+$ ]] || {
		echo "read_stat: $name of $path is '$v'" >&2
		return 1
	}
	echo "$v"
}

# read_swap_counters DEV: sets GS_STORES and GS_LOADS (pages the device stored and
# loaded). ghostswap: frontswap_stat's stores and loads. zram has no frontswap_stat;
# the self-test uses the block layer's completed writes and reads.
read_swap_counters() {
	local dev=${1##*/}
	if is_selftest; then
		GS_STORES=$(read_stat "$dev" stat write_ios) || fail "cannot read $dev/stat"
		GS_LOADS=$(read_stat "$dev" stat read_ios) || fail "cannot read $dev/stat"
		GS_COUNTER_SOURCE="stat (write/read I/Os; zram has no frontswap_stat)"
	else
		GS_STORES=$(read_stat "$dev" frontswap_stat stores) || fail "cannot read $dev/frontswap_stat"
		GS_LOADS=$(read_stat "$dev" frontswap_stat loads) || fail "cannot read $dev/frontswap_stat"
		GS_COUNTER_SOURCE="frontswap_stat"
	fi
}

# show_stats DEV: print the device's counters, for the log.
show_stats() {
	local sys=/sys/block/${1##*/} f
	for f in mm_stat frontswap_stat io_stat stat; do
		[[ -r $sys/$f ]] && info "$f: $(tr -s ' ' <"$sys/$f" | sed 's/^ //')"
	done
	return 0
}

# backing_disk: the node of the spare disk run.sh attaches for writeback (virtio-blk,
# serial "gsback"); fails if there is none.
backing_disk() {
	disk_by_serial gsback || {
		echo "backing_disk: no virtio disk with serial gsback" >&2
		return 1
	}
}

# --- module (or the zram emulation) ------------------------------------------------

# zram_setup NUM DISKSIZE: reset zram0..NUM-1 (hot-adding as needed) and size them
# (an empty DISKSIZE leaves them unconfigured).
zram_setup() {
	local num=$1 size=$2 i id
	for ((i = 1; i < num; i++)); do
		if [[ ! -e /sys/block/zram$i ]]; then
			id=$(cat /sys/class/zram-control/hot_add) || return 1
			[[ $id == "$i" ]] || {
				echo "zram hot_add gave zram$id, wanted zram$i" >&2
				return 1
			}
		fi
	done
	echo "$num" >"$GS_ZRAM_STATE"
	for ((i = 0; i < num; i++)); do
		echo 1 >/sys/block/zram$i/reset || return 1
		if [[ -n $size ]]; then
			echo "$size" >/sys/block/zram$i/disksize || return 1
		fi
	done
}

# load_module [PARAM=VALUE...]: insmod $GS_MODULE with the parameters and wait for the
# device nodes. Returns insmod's status (cases assert on it). Without disksize= the
# devices are unconfigured, as zram's. Self-test: sets up zram with the same
# `num_devices` and `disksize` meaning (default 1 and unconfigured).
load_module() {
	local p num=1 size='' i rc
	for p in "$@"; do
		case $p in
		num_devices=*) num=${p#*=} ;;
		disksize=*) size=${p#*=} ;;
		esac
	done
	if is_selftest; then
		info "load (zram self-test): num_devices=$num disksize=$size"
		zram_setup "$num" "$size" || return 1
	else
		[[ -r $GS_MODULE ]] || fail "module '$GS_MODULE' not found"
		info "insmod $GS_MODULE $*"
		rc=0
		insmod "$GS_MODULE" "$@" || rc=$?
		((rc == 0)) || return $rc
	fi
	# devtmpfs creates the nodes; give it a moment.
	for ((i = 0; i < 50; i++)); do
		[[ -b $GS_DEV ]] && return 0
		sleep 0.1
	done
	echo "load_module: $GS_DEV did not appear" >&2
	return 1
}

# unload_module: rmmod ghostswap; returns rmmod's status. Self-test: reset the zram
# devices (which, like rmmod of a busy module, fails with EBUSY while one is open) and
# hot-remove the extra ones.
unload_module() {
	local num i
	if is_selftest; then
		num=$(cat "$GS_ZRAM_STATE" 2>/dev/null || echo 1)
		for ((i = 0; i < num; i++)); do
			echo 1 >/sys/block/zram$i/reset || return 1
		done
		for ((i = num - 1; i > 0; i--)); do
			echo "$i" >/sys/class/zram-control/hot_remove || return 1
		done
		rm -f "$GS_ZRAM_STATE"
		return 0
	fi
	rmmod ghostswap
}

# module_loaded: the module (self-test: a configured zram0) is present.
module_loaded() {
	if is_selftest; then
		[[ $(cat /sys/block/zram0/disksize 2>/dev/null) != 0 ]]
	else
		[[ -d /sys/module/ghostswap ]]
	fi
}

# swap_priority DEV: the priority /proc/swaps lists for DEV; fails if not listed.
swap_priority() {
	awk -v d="$1" '$1 == d { print $5; found = 1 } END { exit !found }' /proc/swaps
}

# swap_used_kb DEV: the `Used` column of /proc/swaps for DEV.
swap_used_kb() {
	awk -v d="$1" '$1 == d { print $4; found = 1 } END { exit !found }' /proc/swaps
}

# --- cgroups -----------------------------------------------------------------------

# cgroup_create MEMORY_MAX: create a child cgroup with memory.max=MEMORY_MAX and
# memory.swap.max=max; its path is left in GS_CGROUP.
cgroup_create() {
	local cg
	if ! grep -qw memory "$GS_CGROUP_ROOT/cgroup.subtree_control"; then
		echo +memory >"$GS_CGROUP_ROOT/cgroup.subtree_control" || return 1
	fi
	cg=$(mktemp -d "$GS_CGROUP_ROOT/gstest.XXXXXX" 2>/dev/null) || {
		# mktemp's chmod is refused on cgroupfs on some kernels; fall back to mkdir.
		cg=$GS_CGROUP_ROOT/gstest.$$.$RANDOM
		mkdir "$cg" || return 1
	}
	echo "$1" >"$cg/memory.max" || return 1
	echo max >"$cg/memory.swap.max" || return 1
	GS_CGROUP=$cg
	info "cgroup $cg: memory.max=$1 memory.swap.max=max"
}

# cgroup_exec CGROUP CMD...: run CMD inside CGROUP (foreground; use & to background).
cgroup_exec() {
	local cg=$1
	shift
	(
		echo "$BASHPID" >"$cg/cgroup.procs" || exit 2
		exec "$@"
	)
}

# cgroup_set CGROUP FILE VALUE
cgroup_set() {
	echo "$3" >"$1/$2"
}

# cgroup_report CGROUP: peaks and OOM events, for the log.
cgroup_report() {
	local cg=$1 f
	for f in memory.peak memory.swap.peak; do
		[[ -r $cg/$f ]] && info "$f: $(cat "$cg/$f")"
	done
	[[ -r $cg/memory.events ]] && info "memory.events: $(tr '\n' ' ' <"$cg/memory.events")"
	return 0
}

# cgroup_remove CGROUP: kill what is left in it and remove it.
cgroup_remove() {
	local cg=$1 i
	[[ -d $cg ]] || return 0
	# (cgroupfs files have no size: `-s cgroup.procs` is never true.)
	if [[ -n $(cat "$cg/cgroup.procs" 2>/dev/null) ]]; then
		echo 1 >"$cg/cgroup.kill" 2>/dev/null
	fi
	for ((i = 0; i < 300; i++)); do
		rmdir "$cg" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "cgroup_remove: cannot remove $cg; what is left in it:" >&2
	cgroup_show_tasks "$cg" >&2
	return 1
}

# cgroup_show_tasks CG: each task still in CG, with its state, wait channel and kernel stack.
cgroup_show_tasks() {
	local pid
	for pid in $(cat "$1/cgroup.threads" 2>/dev/null); do
		echo "  task $pid ($(cat "/proc/$pid/comm" 2>/dev/null)): state $(awk '{ print $3 }' "/proc/$pid/stat" 2>/dev/null), wchan $(cat "/proc/$pid/wchan" 2>/dev/null)"
		sed 's/^/    /' "/proc/$pid/stack" 2>/dev/null
	done
}

# cgroup_run MEMORY_MAX CMD...: run CMD in a fresh cgroup with that memory.max and
# unlimited swap, then remove the cgroup; returns CMD's status.
cgroup_run() {
	local max=$1 rc=0 cg
	shift
	cgroup_create "$max" || fail "cannot create a cgroup with memory.max=$max"
	cg=$GS_CGROUP
	cgroup_exec "$cg" "$@" || rc=$?
	cgroup_report "$cg"
	cgroup_remove "$cg"
	return $rc
}

# --- cleanup between cases (called by guest.sh) ------------------------------------

# Fault-injection settings are kernel-wide and outlive a case: every case that
# changes one calls fault_save first and fault_restore when it exits (its EXIT trap),
# and gs_cleanup_all restores what a case left. A setting one case leaves (say
# fail_page_alloc's min-order 0 over the whole kernel) would otherwise count in the
# next case's /proc/thread-self/fail-nth.
GS_FAULT_SAVED=${GS_SCRATCH:-/tmp}/fault-settings

# fault_save FAULT...: remembers every setting of each attribute under
# /sys/kernel/debug (failslab, fail_page_alloc), once per case.
fault_save() {
	local d f
	for d in "$@"; do
		d=/sys/kernel/debug/$d
		[[ -d $d ]] || fail "no $d (CONFIG_FAULT_INJECTION_DEBUG_FS)"
		grep -q "^$d/" "$GS_FAULT_SAVED" 2>/dev/null && continue
		for f in "$d"/*; do
			[[ -f $f && -w $f ]] && printf '%s %s\n' "$f" "$(<"$f")"
		done >>"$GS_FAULT_SAVED"
	done
}

# fault_restore: puts back what fault_save remembered, injection off first; returns 1
# if there was nothing to restore.
fault_restore() {
	local f value
	[[ -f $GS_FAULT_SAVED ]] || return 1
	while read -r f _; do
		[[ $f == */probability ]] && echo 0 >"$f"
	done <"$GS_FAULT_SAVED"
	while read -r f value; do
		[[ $f == */probability ]] || echo "$value" >"$f"
	done <"$GS_FAULT_SAVED"
	while read -r f value; do
		[[ $f == */probability ]] && echo "$value" >"$f"
	done <"$GS_FAULT_SAVED"
	rm -f "$GS_FAULT_SAVED"
}

# fault_filter_module FAULT...: saves each attribute's settings (fault_save) and makes
# it count only the allocations made under the module's code (the stack-trace filter,
# 32 frames deep), and fail those on a GFP_NOIO path too; fails the case if the
# module is not loaded.
fault_filter_module() {
	local f size base end
	fault_save "$@"
	read -r _ size _ _ _ base _ < <(grep "^${GS_NAME} " /proc/modules)
	[[ $base =~ ^0x[0-9a-f]+$ && $base != 0x0000000000000000 ]] ||
		fail "no module address in /proc/modules"
	# debugfs takes the addresses in hex; bash's arithmetic is signed, so python adds.
	end=$(python3 -c "print(hex($base + $size))")
	for f in "$@"; do
		f=/sys/kernel/debug/$f
		[[ -e $f/require-start ]] || fail "no $f with a stack-trace filter"
		echo "$base" >"$f/require-start" || fail "$f require-start"
		echo "$end" >"$f/require-end" || fail "$f require-end"
		echo 32 >"$f/stacktrace-depth"
		echo N >"$f/ignore-gfp-wait"
	done
}

# gs_cleanup_all: undo whatever a case left behind; prints what it did and returns 1
# if there was anything to undo.
gs_cleanup_all() {
	local left=0 cg dev i stuck=${GS_SCRATCH:-/tmp}/stuck-cgroups
	for cg in "$GS_CGROUP_ROOT"/gstest.*; do
		[[ -d $cg ]] || continue
		# One that could not be removed failed the case that left it; it is not
		# counted against every case after it.
		grep -qxF "$cg" "$stuck" 2>/dev/null && continue
		echo "cleanup: removing cgroup $cg"
		cgroup_remove "$cg" || echo "$cg" >>"$stuck"
		left=1
	done
	# Any swap a case left on (a case may swap on zram too, to compare).
	while read -r dev _; do
		echo "cleanup: swapoff $dev"
		swapoff "$dev"
		left=1
	done < <(tail -n +2 /proc/swaps)
	if ! is_selftest && [[ -e /sys/block/zram0 && $(cat /sys/block/zram0/disksize) != 0 ]]; then
		echo "cleanup: reset zram0"
		echo 1 >/sys/block/zram0/reset
		left=1
	fi
	if is_selftest; then
		for dev in /sys/block/zram*; do
			[[ -e $dev ]] || continue
			i=${dev##*/zram}
			if [[ $(cat "$dev/disksize") != 0 ]]; then
				echo "cleanup: reset zram$i"
				echo 1 >"$dev/reset"
				left=1
			fi
			if ((i > 0)); then
				echo "cleanup: hot_remove zram$i"
				echo "$i" >/sys/class/zram-control/hot_remove
				left=1
			fi
		done
		rm -f "$GS_ZRAM_STATE"
	elif [[ -d /sys/module/ghostswap ]]; then
		echo "cleanup: rmmod ghostswap"
		rmmod ghostswap
		left=1
	fi
	gs_cleanup_backing_files || left=1
	if fault_restore; then
		echo "cleanup: fault-injection settings restored"
		left=1
	fi
	return $left
}

# backing_file_on_tmpfs SIZE: a file of SIZE on a tmpfs mounted under the case's
# scratch directory, for a backing store that is a regular file (ghostswapctl puts a
# loop device over it); prints its path. tmpfs takes direct I/O since Linux 6.6, so
# the loop device does too.
backing_file_on_tmpfs() {
	local mnt=$GS_CASE_DIR/backing-fs file
	mkdir -p "$mnt" || return 1
	mount -t tmpfs -o "size=$1" tmpfs "$mnt" || return 1
	file=$mnt/backing.img
	truncate -s "$1" "$file" || return 1
	echo "$file"
}

# gs_cleanup_backing_files: undo what the ghostswapctl cases set up for backing files
# (loop devices over files below the scratch directory, mounts there) and
# ghostswapctl's state; returns 1 if there was anything.
gs_cleanup_backing_files() {
	local left=0 lo file mnt root=${GS_SCRATCH:-/nonexistent}
	for lo in /sys/block/loop*; do
		file=$(cat "$lo/loop/backing_file" 2>/dev/null) || continue
		[[ $file == "$root"/* ]] || continue
		echo "cleanup: losetup -d /dev/${lo##*/}"
		losetup -d "/dev/${lo##*/}"
		left=1
	done
	while read -r mnt; do
		echo "cleanup: umount $mnt"
		umount "$mnt"
		left=1
	done < <(awk -v r="$root/" 'index($2, r) == 1 { print $2 }' /proc/mounts)
	if [[ -n $(ls -A /run/ghostswapctl 2>/dev/null) ]]; then
		echo "cleanup: rm /run/ghostswapctl/*"
		rm -f /run/ghostswapctl/*
		left=1
	fi
	return $left
}

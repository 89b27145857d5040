#!/bin/bash
# Runs inside the test VM (started by tests/vm/run.sh): runs each case in a fresh shell
# with a timeout, checks the kernel log after it, and reports one tagged line per case:
#   GSTEST-RESULT <name> PASS
#   GSTEST-RESULT <name> FAIL <reason>
# The same lines go to $GS_SCRATCH/results, which run.sh prefers to the console (where
# kernel messages can interleave with them).
#
# usage: guest.sh CONFIG   (CONFIG is a shell file setting the GS_* variables below)

set -u

config=${1:?usage: guest.sh CONFIG}
# shellcheck source=/dev/null
. "$config"

: "${GS_REPO:?}" "${GS_SCRATCH:?}" "${GS_TESTS:?}"
GS_CASES_DIR=${GS_CASES_DIR:-$GS_REPO/tests/vm/cases}
GS_CASE_TIMEOUT=${GS_CASE_TIMEOUT:-600}
GS_SELFTEST_ZRAM=${GS_SELFTEST_ZRAM:-0}
GS_LIB=$GS_REPO/tests/vm/lib.sh
GS_DEBUG_KERNEL=${GS_DEBUG_KERNEL:-0}
GS_SCALE=${GS_SCALE:-1}
export GS_REPO GS_SCRATCH GS_MODULE GS_SWAPCHECK GS_GHOSTSWAPCTL GS_SELFTEST_ZRAM GS_LIB GS_CASES_DIR GS_DEBUG_KERNEL GS_SCALE

# BAD_KMSG: kernel log lines that fail a case.
# shellcheck source=SCRIPTDIR/../lib/kmsg.sh
. "$GS_REPO/tests/lib/kmsg.sh"

results=$GS_SCRATCH/results
: >"$results"

if ! grep -q '^cgroup2 /sys/fs/cgroup ' /proc/mounts; then
	mount -t cgroup2 none /sys/fs/cgroup || echo "guest: cannot mount cgroup2"
fi
if ! grep -q ' /sys/kernel/debug debugfs ' /proc/mounts; then
	mount -t debugfs none /sys/kernel/debug || echo "guest: cannot mount debugfs"
fi

report() {
	local name=$1 status=$2 reason=${3:-}
	echo "GSTEST-RESULT $name $status${reason:+ $reason}"
	echo "$name $status${reason:+ $reason}" >>"$results"
}

# lockdep reports once and then turns itself off: a case after that could hide a
# splat, so each case also checks that it is still on.
lockdep_on() {
	grep -q '^ *debug_locks: *1' /proc/lockdep_stats 2>/dev/null
}
lockdep_was_on=0
lockdep_on && lockdep_was_on=1

echo "GSTEST-BEGIN kernel=$(uname -r) selftest_zram=$GS_SELFTEST_ZRAM debug=${GS_DEBUG_KERNEL:-0} lockdep=$lockdep_was_on tests=$GS_TESTS"
for name in $GS_TESTS; do
	case_file=$GS_CASES_DIR/$name.sh
	out=$GS_SCRATCH/$name.out
	export GS_CASE_DIR=$GS_SCRATCH/$name
	mkdir -p "$GS_CASE_DIR"
	dmesg --clear
	echo "GSTEST-START $name"
	start=$SECONDS

	# A fresh shell per case; timeout signals the whole process group, so background
	# helpers of a timed-out case die too.
	timeout --kill-after=20 "$GS_CASE_TIMEOUT" bash "$case_file" </dev/null 2>&1 |
		tee "$out" | sed -u "s/^/[$name] /"
	rc=${PIPESTATUS[0]}

	reason=
	if ((rc == 124 || rc == 137)); then
		reason="timed out after ${GS_CASE_TIMEOUT}s"
	elif ((rc != 0)); then
		reason=$(grep '^FAIL: ' "$out" | tail -n 1 | sed 's/^FAIL: //')
		reason=${reason:-exit status $rc}
	fi

	# Undo what the case left (swap, cgroups, module) before reading the kernel log, so
	# that warnings from the teardown count against this case too.
	cleanup_out=$(bash -c '. "$GS_LIB" && gs_cleanup_all' 2>&1)
	cleanup_rc=$?
	if [[ -n $cleanup_out ]]; then
		printf '%s\n' "$cleanup_out" | sed "s/^/[$name] /"
	fi
	if [[ -z $reason ]] && ((cleanup_rc != 0)); then
		reason="left state behind: $(printf '%s' "$cleanup_out" | tr '\n' ';')"
	fi

	dmesg >"$GS_SCRATCH/$name.dmesg" 2>&1
	# A case that accepts an OOM kill (it creates $GS_CASE_DIR/expect-oom) gets the
	# OOM killer's own reports, stack dump included, left out of the scan; any other
	# suspicious line still fails it.
	if [[ -e $GS_CASE_DIR/expect-oom ]]; then
		scan=$(awk '/invoked oom-killer/ { oom = 1 } !oom { print } /Killed process/ { oom = 0 }' \
			"$GS_SCRATCH/$name.dmesg")
	else
		scan=$(cat "$GS_SCRATCH/$name.dmesg")
	fi
	bad=$(grep -E "$BAD_KMSG" <<<"$scan")
	if [[ -n $bad ]]; then
		echo "[$name] kernel log has suspicious lines:"
		printf '%s\n' "$bad" | sed "s/^/[$name]   /"
		first=$(printf '%s\n' "$bad" | head -n 1 | sed 's/^\[[ 0-9.]*\] //')
		reason="${reason:+$reason; }kernel log: $first"
	fi

	if ((lockdep_was_on)) && ! lockdep_on; then
		reason="${reason:+$reason; }lockdep turned itself off (a lock report in this case or its teardown)"
		lockdep_was_on=0
	fi

	echo "[$name] took $((SECONDS - start))s"
	if [[ -z $reason ]]; then
		report "$name" PASS
	else
		report "$name" FAIL "$reason"
	fi
done
echo "GSTEST-DONE"

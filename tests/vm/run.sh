#!/bin/bash
# Boots one virtme-ng VM with the test kernel, runs the VM test cases in it (guest.sh)
# and prints `PASS name` / `FAIL name: reason` per case and a closing
# `vm: N passed, N failed` line. Exit status 0 iff every requested case passed.
#
# usage: tests/vm/run.sh [--debug] [--kernel BZIMAGE] [--module KO] [--swapcheck BIN]
#                        [--ghostswapctl BIN] [CASE...]
#
# CASE is a name from tests/vm/cases (with or without .sh); default: all of them but
# those whose header says `# needs: debug-kernel` (fault injection), which only the
# debug run includes, and, on the debug kernel, those whose header says
# `# kernels: release` (with why: no module path the other cases leave unchecked there).
# --debug: the debug kernel (KASAN, lockdep, ...; `make kernel-debug`) and the module
# built for it (ghostswap-debug.ko), longer timeouts, and the closing line reads
# `vm-debug: N passed, N failed`.
# Environment (the options win over it):
#   GS_KERNEL         kernel image (default $GHOSTSWAP_CACHE/build/arch/x86/boot/bzImage)
#   GS_MODULE         module (default <repo>/ghostswap.ko)
#   GS_SWAPCHECK      swapcheck binary (default <repo>/target/release/swapcheck)
#   GS_GHOSTSWAPCTL   ghostswapctl binary (default <repo>/target/release/ghostswapctl)
#   GS_TESTS          space-separated case names, if none are given as arguments
#   GS_SELFTEST_ZRAM  1: run the cases against the built-in zram (harness self-test;
#                     no module needed)
#   GS_CASES_DIR      directory of the case scripts (default <repo>/tests/vm/cases)
#   GS_CASE_TIMEOUT   seconds per case (default 600; --debug: 900)
#   GS_VM_TIMEOUT     seconds for the whole VM (default 1500; --debug: 4200: 29 cases took
#                     2763-2960 s on a slow host)
#   GS_VERBOSE        1: show the VM console while it runs
#   GS_QEMU_OPT       one extra QEMU option string, e.g. "-icount shift=0,sleep=off" to
#                     compare two modules by the guest's own timings on a busy host
#   GHOSTSWAP_CACHE   default $HOME/.cache/ghostswap; logs go to its vm-logs/

set -u -o pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=SCRIPTDIR/../lib/vm.sh
. "$repo/tests/lib/vm.sh"
cache=${GHOSTSWAP_CACHE:-$HOME/.cache/ghostswap}
debug=0
for arg in "$@"; do [[ $arg == --debug ]] && debug=1; done
if ((debug)); then
	kernel=${GS_KERNEL:-$cache/build-debug/arch/x86/boot/bzImage}
	module=${GS_MODULE:-$repo/ghostswap-debug.ko}
	vm_timeout=${GS_VM_TIMEOUT:-4200}
	case_timeout=${GS_CASE_TIMEOUT:-900}
	label=vm-debug
	# Every KASAN report, not only the first of the boot. 4-level paging: with
	# TCG's 5-level paging, 2 of 7 boots of the KASAN kernel stopped at
	# 0.01 s in "wild-memory-access" reports on direct-map (ff11...)
	# addresses, in interrupts taken during identify_cpu.
	append="zswap.enabled=0 kasan_multi_shot no5lvl"
else
	kernel=${GS_KERNEL:-$cache/build/arch/x86/boot/bzImage}
	module=${GS_MODULE:-$repo/ghostswap.ko}
	vm_timeout=${GS_VM_TIMEOUT:-1500}
	case_timeout=${GS_CASE_TIMEOUT:-600}
	label=vm
	append="zswap.enabled=0"
fi
swapcheck=${GS_SWAPCHECK:-$repo/target/release/swapcheck}
ghostswapctl=${GS_GHOSTSWAPCTL:-$repo/target/release/ghostswapctl}
cases_dir=${GS_CASES_DIR:-$repo/tests/vm/cases}
selftest=${GS_SELFTEST_ZRAM:-0}

usage() {
	sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
	exit 2
}

die() {
	echo "run.sh: $*" >&2
	exit 2
}

tests=()
while (($#)); do
	case $1 in
	--debug) ;;
	--kernel) kernel=${2:?}; shift ;;
	--module) module=${2:?}; shift ;;
	--swapcheck) swapcheck=${2:?}; shift ;;
	--ghostswapctl) ghostswapctl=${2:?}; shift ;;
	-h | --help) usage ;;
	-*) die "unknown option $1" ;;
	*) tests+=("$1") ;;
	esac
	shift
done
if ((${#tests[@]} == 0)); then
	if [[ -n ${GS_TESTS:-} ]]; then
		read -ra tests <<<"$GS_TESTS"
	else
		for f in "$cases_dir"/*.sh; do
			[[ -e $f ]] || continue
			if ((!debug)) && grep -q '^# needs: debug-kernel' "$f"; then
				continue
			fi
			if ((debug)) && grep -q '^# kernels: release' "$f"; then
				continue
			fi
			tests+=("$f")
		done
	fi
fi
((${#tests[@]} > 0)) || die "no test cases in $cases_dir"
names=()
for t in "${tests[@]}"; do
	t=${t##*/}
	t=${t%.sh}
	[[ -r $cases_dir/$t.sh ]] || die "no case $cases_dir/$t.sh"
	names+=("$t")
done

abspath() {
	realpath -- "$1" 2>/dev/null || die "$2 '$1' not found"
}
kernel=$(abspath "$kernel" "kernel image") || exit 2
cases_dir=$(abspath "$cases_dir" "cases directory") || exit 2
if [[ $selftest == 1 ]]; then
	module=
else
	module=$(abspath "$module" "module (build it, or set GS_SELFTEST_ZRAM=1 for the zram self-test)") || exit 2
fi
# swapcheck and ghostswapctl are only needed by some cases; they report their absence
# themselves.
swapcheck=$(realpath -m -- "$swapcheck")
ghostswapctl=$(realpath -m -- "$ghostswapctl")
vm_vng >/dev/null || die "cannot start a VM"

logdir=$cache/vm-logs
stamp=$(date +%Y%m%d-%H%M%S)
((debug)) && stamp+=-debug
# Two runs started in the same second get directories of their own.
[[ -e $logdir/$stamp ]] && stamp+=-$$
scratch=$logdir/$stamp
log=$logdir/$stamp.log
mkdir -p "$scratch" || die "cannot create $scratch"

config=$scratch/config
{
	printf 'GS_REPO=%q\n' "$repo"
	printf 'GS_SCRATCH=%q\n' "$scratch"
	printf 'GS_MODULE=%q\n' "$module"
	printf 'GS_SWAPCHECK=%q\n' "$swapcheck"
	printf 'GS_GHOSTSWAPCTL=%q\n' "$ghostswapctl"
	printf 'GS_SELFTEST_ZRAM=%q\n' "$selftest"
	printf 'GS_CASES_DIR=%q\n' "$cases_dir"
	printf 'GS_CASE_TIMEOUT=%q\n' "$case_timeout"
	printf 'GS_TESTS=%q\n' "${names[*]}"
	printf 'GS_DEBUG_KERNEL=%q\n' "$debug"
	# The debug kernel runs the heaviest cases with a quarter of their data (lib.sh).
	printf 'GS_SCALE=%q\n' "$((debug ? 4 : 1))"
} >"$config"

echo "$label: kernel $kernel"
if [[ -n $module ]]; then
	echo "$label: module $module"
else
	echo "$label: zram self-test (GS_SELFTEST_ZRAM=1), no module"
fi
echo "$label: cases ${names[*]}"
echo "$label: log $log"

# A spare disk for the writeback cases, attached over virtio-blk with the serial
# "gsback" (lib.sh: backing_disk). Sparse on the host, removed after the run.
backing=$scratch/backing.img
truncate -s 1G "$backing" || die "cannot create $backing"

qemu_opt=()
[[ -n ${GS_QEMU_OPT:-} ]] && qemu_opt=(--qemu-opt "$GS_QEMU_OPT")
start=$SECONDS
vm_run "${qemu_opt[@]}" --kernel "$kernel" --mem 2G --cpus 2 --append "$append" --rwdir "$scratch" \
	--disk "$backing" gsback --timeout "$vm_timeout" --log "$log" \
	--progress "s/.*GSTEST-START \\([^ ]*\\).*/$label: running \\1/p" \
	-- bash "$repo/tests/vm/guest.sh" "$config"
vm_rc=$?
rm -f "$backing"
elapsed=$((SECONDS - start))
# vng's own exit status carries no meaning here (255 even for a clean run with the
# console fallback); only timeout's 124/137 does.
if ((vm_rc == 124 || vm_rc == 137)); then
	echo "$label: timed out after ${elapsed}s"
else
	echo "$label: finished in ${elapsed}s"
fi

# Results: the guest's results file first, the console as a fallback.
declare -A result
if [[ -r $scratch/results ]]; then
	while read -r name status reason; do
		[[ -n $name ]] && result[$name]="$status${reason:+ $reason}"
	done <"$scratch/results"
fi
while read -r name status reason; do
	[[ -n $name && -z ${result[$name]:-} ]] && result[$name]="$status${reason:+ $reason}"
done < <(tr -d '\r' <"$log" | sed -n 's/.*GSTEST-RESULT \([^ ]*\) \(.*\)$/\1 \2/p')

missing="no result (VM crashed, hung or timed out"
if ((vm_rc == 124 || vm_rc == 137)); then
	missing="$missing: VM timed out after ${vm_timeout}s"
elif grep -q 'Kernel panic' "$log"; then
	missing="$missing: kernel panic in the log"
fi
missing="$missing; see $log)"

passed=0
failed=0
for name in "${names[@]}"; do
	r=${result[$name]:-}
	if [[ $r == PASS ]]; then
		echo "PASS $name"
		passed=$((passed + 1))
	elif [[ $r == FAIL* ]]; then
		reason=${r#FAIL}
		reason=${reason# }
		echo "FAIL $name: ${reason:-failed}"
		failed=$((failed + 1))
	else
		echo "FAIL $name: $missing"
		failed=$((failed + 1))
	fi
done
echo "$label: $passed passed, $failed failed"
((failed == 0 && passed > 0))

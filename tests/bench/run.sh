#!/bin/bash
# Benchmark: ghostswap0 against the built-in zram0, side by side in ONE VM boot, same
# algorithm, same disksize, same data (tests/bench/guest.sh does the work inside); the
# writeback part has zswap as a third system, same pool budget, same kind of backing disk.
# Prints a table of ghostswap/zram ratios and keeps everything under
# $GHOSTSWAP_CACHE/bench/<timestamp>/ (table.txt, runs.tsv, mm_stat.tsv, fio JSON,
# snapshot.json, dmesg.txt, console.log). The VM runs under QEMU/TCG, ~20-50x slower than
# native: only the ratios mean something.
#
# usage: tests/bench/run.sh [--kernel BZIMAGE] [--module KO]
#
# Environment:
#   GS_KERNEL            kernel image (default $GHOSTSWAP_CACHE/build/arch/x86/boot/bzImage)
#   GS_MODULE            module (default <repo>/ghostswap.ko; copied into the results)
#   GS_BENCH_CLOCK       wall (default): the guest's clock is the host's, and a shared
#                        host moves single runs by 15% and more, so many pairs are run.
#                        icount: QEMU's -icount shift=0, the guest's clock advances 1 ns
#                        per instruction executed. Times then count instructions: the
#                        same result on every run, whatever the host does, but blind to
#                        caches and TLBs. Defaults then: 1 pair of 3 s runs.
#   GS_BENCH_RUNTIME     seconds per fio run, after the ramp (default 8; icount 3)
#   GS_BENCH_PAIRS       ghostswap/zram run pairs per fio test, alternating order (default 4;
#                        icount 1)
#   GS_BENCH_RAMP        fio ramp_time seconds, not measured (default 1)
#   GS_BENCH_DISKSIZE    disksize of both devices (default 256M)
#   GS_BENCH_ALGOS       algorithms (default "lz4 zstd")
#   GS_BENCH_SEED        fio randseed (default 20261123)
#   GS_BENCH_PARTS       what to run: "pool" (fio, snapshot), "writeback" (throughput, swap
#                        workloads, redis); default both
#   GS_BENCH_WB_LIMIT    the writeback part's pool budget: ghostswap's and zram's mem_limit
#                        (bytes or K/M/G); default empty: 1% of the guest's RAM, which is
#                        zswap's max_pool_percent=1 (zswap gets the nearest whole percent)
#   GS_BENCH_SWAP_REPS   swap 8x mem_limit workload rounds (default 1; each run minutes),
#                        ghostswap, zram and zswap once a round, rotating the order
#   GS_BENCH_HOT_REPS    hot/cold workload rounds (default 1; 0 skips it)
#   GS_BENCH_HOT_FRACTION  its hot set, a fraction of its pages taking 80% of the
#                        accesses (default 0.2)
#   GS_BENCH_REDIS_REPS  redis workload rounds (default 1; 0 skips it; a run is a few
#                        minutes: load, GETs, check of every value)
#   GS_BENCH_REDIS_KEYS  keys of the redis data set (default empty: 3x the 64 MiB cgroup
#                        in values, 196608 of 1000 bytes)
#   GS_BENCH_REDIS_VALUE bytes per redis value (default 1000; 14 to 65535)
#   GS_BENCH_REDIS_REQUESTS  redis-benchmark GETs per run (default 50000)
#   GS_BENCH_MODULE_ARGS extra insmod parameters for ghostswap, e.g. "async_reads=1"
#   GS_BENCH_SYSTEMS     the systems of the swap workloads and redis, of "g z zswap" (the
#                        default, all three); fewer to A/B ghostswap changes sooner (the
#                        rows of a system left out are then missing, and the exit status 1)
#   GS_BENCH_PERF        1: a system-wide perf profile (cpu-clock) of every swap workload
#                        run, reported in the guest to perf-NAME-SYS-REP.txt (a profile
#                        slows the run: its times are not for ratios)
#   GS_BENCH_SNAP_SOURCE bytes of Python source the snapshot workload indexes (default
#                        2097152, ~95 MiB of anonymous memory)
#   GS_VM_TIMEOUT        seconds for the whole VM (default 5400)
#   GS_VERBOSE           1: show the whole VM console
#   GHOSTSWAP_CACHE      default $HOME/.cache/ghostswap
#
# Exit status: 0 if the guest finished without recording an error, 1 otherwise.

set -u -o pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=SCRIPTDIR/../lib/vm.sh
. "$repo/tests/lib/vm.sh"
cache=${GHOSTSWAP_CACHE:-$HOME/.cache/ghostswap}
kernel=${GS_KERNEL:-$cache/build/arch/x86/boot/bzImage}
module=${GS_MODULE:-$repo/ghostswap.ko}
vm_timeout=${GS_VM_TIMEOUT:-5400}
clock=${GS_BENCH_CLOCK:-wall}
case $clock in
wall) qemu_clock=() runtime=8 pairs=4 ;;
icount) qemu_clock=(--qemu-opt "-icount shift=0,sleep=off") runtime=3 pairs=1 ;;
*) echo "bench: GS_BENCH_CLOCK must be wall or icount, not '$clock'" >&2; exit 2 ;;
esac

die() {
	echo "bench: $*" >&2
	exit 2
}

while (($#)); do
	case $1 in
	--kernel) kernel=${2:?}; shift ;;
	--module) module=${2:?}; shift ;;
	-h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 2 ;;
	*) die "unknown argument $1" ;;
	esac
	shift
done

kernel=$(realpath -- "$kernel" 2>/dev/null) || die "kernel image not found (make kernel)"
[[ -r $module ]] || die "module '$module' not found (make module)"
vm_vng >/dev/null || die "cannot start a VM"

stamp=$(date +%Y%m%d-%H%M%S)
out=$cache/bench/$stamp
mkdir -p "$out" || die "cannot create $out"
# The module under test is copied, so a rebuild during the run cannot swap it.
cp "$module" "$out/ghostswap.ko" || die "cannot copy $module"

{
	echo "date: $(date -Is)"
	echo "repo: $repo"
	echo "commit: $(git -C "$repo" rev-parse HEAD 2>/dev/null) $(git -C "$repo" log -1 --format=%s 2>/dev/null)"
	echo "uncommitted: $(git -C "$repo" status --short -- src patches Kbuild 2>/dev/null | tr '\n' ' ')"
	echo "module: $module sha256 $(sha256sum <"$module" | cut -d' ' -f1)"
	echo "kernel: $kernel"
	echo "host: $(nproc) cpus, load at start $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$out/host-env.txt"

config=$out/config
{
	printf 'GS_REPO=%q\n' "$repo"
	printf 'GS_OUT=%q\n' "$out"
	printf 'GS_MODULE=%q\n' "$out/ghostswap.ko"
	printf 'GS_CLOCK=%q\n' "$clock"
	printf 'GS_RUNTIME=%q\n' "${GS_BENCH_RUNTIME:-$runtime}"
	printf 'GS_PAIRS=%q\n' "${GS_BENCH_PAIRS:-$pairs}"
	printf 'GS_RAMP=%q\n' "${GS_BENCH_RAMP:-1}"
	printf 'GS_DISKSIZE=%q\n' "${GS_BENCH_DISKSIZE:-256M}"
	printf 'GS_ALGOS=%q\n' "${GS_BENCH_ALGOS:-lz4 zstd}"
	printf 'GS_SEED=%q\n' "${GS_BENCH_SEED:-20261123}"
	printf 'GS_SNAP_SOURCE=%q\n' "${GS_BENCH_SNAP_SOURCE:-2097152}"
	printf 'GS_SWAPCHECK=%q\n' "$repo/target/release/swapcheck"
	printf 'GS_PARTS=%q\n' "${GS_BENCH_PARTS:-pool writeback}"
	printf 'GS_MODULE_ARGS=%q\n' "${GS_BENCH_MODULE_ARGS:-}"
	printf 'GS_PERF=%q\n' "${GS_BENCH_PERF:-0}"
	printf 'WB_LIMIT=%q\n' "${GS_BENCH_WB_LIMIT:-}"
	printf 'WB_SWAP_REPS=%q\n' "${GS_BENCH_SWAP_REPS:-1}"
	printf 'WB_HOT_REPS=%q\n' "${GS_BENCH_HOT_REPS:-1}"
	printf 'WB_HOT_FRACTION=%q\n' "${GS_BENCH_HOT_FRACTION:-0.2}"
	printf 'WB_REDIS_REPS=%q\n' "${GS_BENCH_REDIS_REPS:-1}"
	printf 'WB_REDIS_KEYS=%q\n' "${GS_BENCH_REDIS_KEYS:-}"
	printf 'WB_REDIS_VALUE=%q\n' "${GS_BENCH_REDIS_VALUE:-1000}"
	printf 'WB_REDIS_REQUESTS=%q\n' "${GS_BENCH_REDIS_REQUESTS:-50000}"
	printf 'WB_SYSTEMS=%q\n' "${GS_BENCH_SYSTEMS:-g z zswap}"
} >"$config"

# Backing disks for the writeback part, one per system (virtio-blk serials gsback,
# zback, and zswback for zswap's swap partition), sparse on the host and removed after
# the run.
drives=()
for disk in gsback zback zswback; do
	truncate -s 1G "$out/$disk.img" || die "cannot create $out/$disk.img"
	drives+=(--disk "$out/$disk.img" "$disk")
done

echo "bench: kernel $kernel"
echo "bench: module $module"
echo "bench: results $out"
echo "bench: clock $clock"

start=$SECONDS
# The same VM as tests/vm/run.sh: TCG, 9p root, 2 GiB, 2 CPUs, zswap off.
vm_run --kernel "$kernel" --mem 2G --cpus 2 --append "zswap.enabled=0" --rwdir "$out" \
	"${qemu_clock[@]}" "${drives[@]}" --timeout "$vm_timeout" --log "$out/console.log" \
	--progress 's/.*BENCH: \(.*\)$/bench: \1/p' -- bash "$repo/tests/bench/guest.sh" "$config"
vm_rc=$?
elapsed=$((SECONDS - start))
rm -f "$out/gsback.img" "$out/zback.img" "$out/zswback.img"
echo "host: load at end $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/host-env.txt"
echo "wall: ${elapsed}s" >>"$out/host-env.txt"

ok=1
if ((vm_rc == 124 || vm_rc == 137)); then
	echo "bench: VM timed out after ${elapsed}s" | tee -a "$out/errors.txt"
	ok=0
elif ! grep -q 'BENCH-DONE' "$out/console.log"; then
	echo "bench: the guest did not finish (crash? see $out/console.log)" | tee -a "$out/errors.txt"
	grep -m1 -E 'Kernel panic|BUG:|Oops' "$out/console.log" | tee -a "$out/errors.txt"
	ok=0
fi
echo "bench: VM finished in ${elapsed}s"

/usr/bin/python3 "$repo/tests/bench/report.py" "$out" >"$out/table.txt" || ok=0
echo "wall time: ${elapsed}s (one VM boot, clock $clock)" >>"$out/table.txt"
echo
cat "$out/table.txt"
if [[ -s $out/errors.txt ]]; then
	echo
	echo "ERRORS (from $out/errors.txt):"
	sed 's/^/  /' "$out/errors.txt"
	ok=0
fi
echo
echo "raw results: $out"
((ok))

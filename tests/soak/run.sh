#!/bin/bash
# Soak: boots the debug kernel (KASAN, lockdep, ...) once and loops every kind of
# work on ghostswap for DURATION: verified swap workloads with automatic writeback,
# every writeback mode on verified raw data, reset and re-init, module reload, and
# a flakey backing disk under writeback and reads. Prints one line per round and a
# closing `soak: rounds=R pages_verified=P mismatches=M kernel_reports=K`.
#
# usage: tests/soak/run.sh DURATION     (seconds, or with an m or h suffix: 30m)
#        make soak DURATION=30m
#
# Exit status 0 iff at least one round ran, no page was wrong and the kernel
# reported nothing (tests/lib/kmsg.sh). Logs: $GHOSTSWAP_CACHE/soak-logs/.
set -u -o pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=SCRIPTDIR/../lib/vm.sh
. "$repo/tests/lib/vm.sh"
cache=${GHOSTSWAP_CACHE:-$HOME/.cache/ghostswap}
die() { echo "soak: $*" >&2; exit 2; }

duration=${1:-}
case $duration in
*h) secs=$((${duration%h} * 3600)) ;;
*m) secs=$((${duration%m} * 60)) ;;
*[0-9]) secs=$duration ;;
*) die "usage: tests/soak/run.sh DURATION (e.g. 1800, 30m, 1h)" ;;
esac
((secs > 0)) || die "DURATION must be positive"

kernel=$cache/build-debug/arch/x86/boot/bzImage
module=$repo/ghostswap-debug.ko
swapcheck=$repo/target/release/swapcheck
for f in "$kernel" "$module" "$swapcheck"; do
	[[ -r $f ]] || die "$f missing (make module-debug tools)"
done
vm_vng >/dev/null || die "vng missing (scripts/install-deps.sh)"

stamp=$(date +%Y%m%d-%H%M%S)
scratch=$cache/soak-logs/$stamp
log=$cache/soak-logs/$stamp.log
mkdir -p "$scratch" || die "cannot create $scratch"
backing=$scratch/backing.img
truncate -s 1G "$backing" || die "cannot create $backing"
echo "soak: $duration on $kernel, log $log"
# The VM gets the soak's time plus a margin for the round in progress and boot.
vm_run --kernel "$kernel" --mem 2G --cpus 2 --append "zswap.enabled=0 kasan_multi_shot" \
	--rwdir "$scratch" --disk "$backing" gsback --timeout $((secs + 1200)) --log "$log" \
	--progress 's/.*\(SOAK-\(ROUND\|RESULT\) .*\)/\1/p' \
	-- bash "$repo/tests/soak/guest.sh" "$repo" "$scratch" "$secs" "$module" "$swapcheck"
rm -f "$backing"
result=$(tr -d '\r' <"$log" | sed -n 's/.*SOAK-RESULT \(.*\)$/\1/p' | tail -n 1)
[[ -n $result ]] || { echo "soak: no result (VM crashed or hung; see $log)"; exit 1; }
echo "soak: $result"
[[ $result =~ rounds=([0-9]+)\ pages_verified=[0-9]+\ mismatches=0\ kernel_reports=0$ ]] &&
	((BASH_REMATCH[1] > 0))

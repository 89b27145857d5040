#!/bin/bash
# A/B of module builds: each given ghostswap.ko against zram0 in ONE VM boot, fio 4k
# QD1 randwrite and randread on 64 MiB prefilled with the bench data, each module run
# followed at once by the same zram run. By default the guest runs under QEMU's -icount
# (guest time = instructions executed): repeated runs agree to 0.1%, so a change of a few
# percent shows, which wall-clock TCG on a shared host cannot (single runs move by 15%
# and more). icount counts instructions only: caches and TLBs cost nothing there.
# Diagnostic only, not part of `make test` or `make bench`.
#
# usage: tests/bench/ab.sh A.ko [B.ko ...]
#   AB_CLOCK=wall      host clock instead of icount
#   AB_ALGOS="lz4"     algorithms, AB_RUNTIME=4 seconds per fio run, AB_JOBS=1 fio jobs
#   AB_REPS=1          rounds over the modules
# Prints "AB:" lines and, per module and test, the ratio ghostswap/zram of each round.
# Inside the VM: tests/bench/ab.sh --guest DIR NAME...
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${GHOSTSWAP_CACHE:-$HOME/.cache/ghostswap}

if [[ ${1:-} == --guest ]]; then
	out=$2
	shift 2
	# shellcheck source=/dev/null
	. "$out/config"
	# FIO_DATA, fio_prefill, fio_result; BAD_KMSG.
	# shellcheck source=SCRIPTDIR/../lib/fio.sh
	. "$repo/tests/lib/fio.sh"
	# shellcheck source=SCRIPTDIR/../lib/kmsg.sh
	. "$repo/tests/lib/kmsg.sh"
	prefill() {
		fio_prefill "$1" >/dev/null
	}
	# run DEV LABEL RW: one fio run, one "AB:" line.
	run() {
		local f=$out/last.json iops clat
		fio --name="$3" --filename="/dev/$1" --rw="$3" --numjobs="$AB_JOBS" --group_reporting \
			--bs=4k --ioengine=psync --direct=1 --time_based --runtime="$AB_RUNTIME" \
			--norandommap "${FIO_DATA[@]}" --output-format=json --output="$f" >/dev/null ||
			echo "AB: fio failed on $2"
		read -r iops clat _ < <(fio_result "$f" "${3#rand}") &&
			printf 'AB: %-14s %-9s %9.0f IOPS  clat %7.2f us\n' "$2" "$3" "$iops" "$clat"
	}
	# The kernel log of the runs only, as the bench guest scans it (the boot's command
	# line has "panic=-1", which BAD_KMSG matches).
	dmesg --clear
	for algo in $AB_ALGOS; do
		echo "AB: === $algo"
		echo 1 >/sys/block/zram0/reset
		echo "$algo" >/sys/block/zram0/comp_algorithm && echo 64M >/sys/block/zram0/disksize &&
			prefill zram0 || echo "AB: zram0 setup failed"
		for ((rep = 1; rep <= AB_REPS; rep++)); do
			for m in "$@"; do
				insmod "$out/$m" disksize= || { echo "AB: insmod $m failed"; continue; }
				echo "$algo" >/sys/block/ghostswap0/comp_algorithm &&
					echo 64M >/sys/block/ghostswap0/disksize && prefill ghostswap0 ||
					echo "AB: ghostswap0 setup failed"
				for rw in randwrite randread; do
					run ghostswap0 "$m" $rw
					run zram0 zram $rw
				done
				rmmod ghostswap
			done
		done
	done
	dmesg | grep -E "$BAD_KMSG" | sed 's/^/AB: KERNEL: /'
	echo "AB-DONE"
	exit 0
fi

(($#)) || { sed -n '2,/^set/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" | grep -v '^set'; exit 2; }
out=$cache/ab/$(date +%Y%m%d-%H%M%S)
mkdir -p "$out" || exit 2
names=()
for ko in "$@"; do
	name=$(basename "$ko")
	[[ -r $ko ]] || { echo "ab: $ko not found" >&2; exit 2; }
	[[ -e $out/$name ]] && name=${#names[@]}-$name
	cp "$ko" "$out/$name" && names+=("$name")
done
printf 'AB_ALGOS=%q\nAB_RUNTIME=%q\nAB_JOBS=%q\nAB_REPS=%q\n' "${AB_ALGOS:-lz4}" \
	"${AB_RUNTIME:-4}" "${AB_JOBS:-1}" "${AB_REPS:-1}" >"$out/config"
clock=()
[[ ${AB_CLOCK:-icount} == icount ]] && clock=(--qemu-opt "-icount shift=0,sleep=off")
# shellcheck source=SCRIPTDIR/../lib/vm.sh
. "$repo/tests/lib/vm.sh"
vm_run --kernel "$cache/build/arch/x86/boot/bzImage" --mem 2G --cpus 2 --rwdir "$out" \
	--append zswap.enabled=0 "${clock[@]}" --timeout 1800 --log "$out/console.log" \
	-- bash "$repo/tests/bench/ab.sh" --guest "$out" "${names[@]}" >/dev/null
grep -a '^AB' "$out/console.log" | sed 's/\r//' | tee "$out/ab.txt"
# Each module line is followed by its zram line: their ratio, per module and test.
python3 - "$out/ab.txt" <<'EOF'
import collections, sys
rows = [l.split() for l in open(sys.argv[1]) if l.startswith("AB: ") and " IOPS " in l]
ratios = collections.defaultdict(list)
for a, b in zip(rows, rows[1:]):
    if a[1] != "zram" and b[1] == "zram" and a[2] == b[2]:
        ratios[(a[1], a[2])].append(float(a[3]) / float(b[3]))
for (name, rw), r in sorted(ratios.items()):
    print("ab: %-14s %-9s g/z %s" % (name, rw, " ".join("%.3f" % x for x in r)))
EOF
grep -q AB-DONE "$out/console.log"

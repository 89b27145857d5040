#!/bin/bash
# Where a 4 KiB direct read or write spends its time: fio QD1 latency on rnull (the
# kernel's Rust blk-mq null device: no data, no copy), ghostswap0 and zram0 in one VM
# boot, interleaved, lz4, 64 MiB prefilled with the bench data. rnull is the floor a
# blk-mq driver cannot go below; zram is bio-based. Diagnostic only, not part of
# `make test` or `make bench`.
#
# usage: tests/bench/floor.sh            (host: boots the VM, prints "FLOOR: ..." lines)
#        tests/bench/floor.sh --guest DIR (inside the VM)
set -u
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${GHOSTSWAP_CACHE:-$HOME/.cache/ghostswap}

if [[ ${1:-} == --guest ]]; then
	out=$2
	insmod "$cache/build/drivers/block/rnull_mod.ko" || exit 1
	insmod "$out/ghostswap.ko" disksize= || exit 1
	# FIO_DATA, fio_prefill, fio_result.
	# shellcheck source=SCRIPTDIR/../lib/fio.sh
	. "$repo/tests/lib/fio.sh"
	for d in ghostswap0 zram0; do
		echo lz4 >/sys/block/$d/comp_algorithm && echo 64M >/sys/block/$d/disksize || exit 1
		fio_prefill $d >/dev/null || exit 1
	done
	for rep in 1 2; do
		for d in rnullb0 ghostswap0 zram0; do
			for rw in randread randwrite; do
				f=$out/$d-$rw-$rep.json
				fio --name=$rw --filename=/dev/$d --rw=$rw --bs=4k --ioengine=psync --direct=1 \
					--time_based --runtime=10 --norandommap "${FIO_DATA[@]}" \
					--output-format=json --output="$f" >/dev/null || echo "FLOOR: fio failed on $d"
				read -r iops clat _ < <(fio_result "$f" "${rw#rand}") &&
					printf 'FLOOR: %-10s %-9s rep %s  %7.0f IOPS  clat %6.2f us\n' \
						"$d" "$rw" "$rep" "$iops" "$clat"
			done
		done
	done
	echo "FLOOR-DONE"
	exit 0
fi

out=$cache/floor/$(date +%Y%m%d-%H%M%S)
mkdir -p "$out" && cp "$repo/ghostswap.ko" "$out/" || exit 2
# shellcheck source=SCRIPTDIR/../lib/vm.sh
. "$repo/tests/lib/vm.sh"
vm_run --kernel "$cache/build/arch/x86/boot/bzImage" --mem 2G --cpus 2 --rwdir "$out" \
	--append zswap.enabled=0 --timeout 900 --log "$out/console.log" \
	-- bash "$repo/tests/bench/floor.sh" --guest "$out" >/dev/null
grep -a '^FLOOR' "$out/console.log" | sed 's/\r//'
grep -q FLOOR-DONE "$out/console.log"

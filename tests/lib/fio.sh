# shellcheck shell=bash
# shellcheck disable=SC2034 # FIO_DATA is read by who sources this.
# fio as the benchmarks run it (tests/bench: guest.sh, writeback.sh, ab.sh, floor.sh):
# the data every run writes, the prefill, and fio's JSON results; sourced, never run.

# FIO_DATA: the options that give every fio run the same data: 65% compressible buffers,
# refilled per I/O, random seed GS_SEED (default 20261123).
FIO_DATA=(--randseed="${GS_SEED:-20261123}" --buffer_compress_percentage=65 --refill_buffers)

# fio_prefill DEV [FIO_OPTION...]: one sequential direct write of the whole /dev/DEV with
# the FIO_DATA data, in 128 KiB blocks; returns fio's status.
fio_prefill() {
	local dev=$1
	shift
	fio --name=prefill --filename="/dev/$dev" --rw=write --bs=128k --ioengine=psync \
		--direct=1 "${FIO_DATA[@]}" "$@"
}

# fio_result JSON RW: "IOPS CLAT_US ERROR" of the first job (with --group_reporting, all
# of them) in fio's JSON output JSON, RW being read or write: I/Os per second, the mean
# completion latency in microseconds, the job's error code. Fails if JSON cannot be
# read.
fio_result() {
	/usr/bin/python3 -c 'import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
r = j[sys.argv[2]]
print(r["iops"], r["clat_ns"]["mean"] / 1000, j["error"])' "$1" "$2"
}

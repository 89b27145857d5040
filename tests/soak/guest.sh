#!/bin/bash
# The soak's loop inside the VM (started by tests/soak/run.sh); see there.
# usage: guest.sh REPO SCRATCH SECONDS MODULE SWAPCHECK
set -u -o pipefail
repo=$1 scratch=$2 secs=$3
export GS_MODULE=$4 GS_SWAPCHECK=$5 GS_CASE_DIR=$scratch
# shellcheck source=SCRIPTDIR/../vm/lib.sh
. "$repo/tests/vm/lib.sh"
# shellcheck source=SCRIPTDIR/../lib/kmsg.sh
. "$repo/tests/lib/kmsg.sh"
CHECK=$repo/tests/vm/pagecheck.py
S=$GS_SYSFS
DM=gssoak
mount | grep -q ' /sys/fs/cgroup type cgroup2' || mount -t cgroup2 none /sys/fs/cgroup
BD=$(backing_disk) || { echo "SOAK-RESULT no backing disk"; exit 1; }
sectors=$(blockdev --getsz "$BD")
dmsetup create "$DM" --table "0 $sectors linear $BD 0" && dmsetup mknodes "$DM" ||
	{ echo "SOAK-RESULT cannot create $DM"; exit 1; }
table() { dmsetup suspend "$DM" && dmsetup load "$DM" --table "0 $sectors $*" && dmsetup resume "$DM"; }

rounds=0 verified=0 mismatches=0 reports=0 problems=0
ref=$scratch/ref.img
python3 "$CHECK" make "$ref" 4096 || { echo "SOAK-RESULT cannot make pages"; exit 1; }

# note WHAT: a step that went wrong without a wrong page (counted, not fatal).
note() { echo "soak: round $rounds: $*"; problems=$((problems + 1)); }

# count_pagecheck OUTPUT: add a pagecheck line's ok and wrong pages.
count_pagecheck() {
	local ok wrong
	ok=$(sed -n 's/.* ok=\([0-9]*\) .*/\1/p' <<<"$1" | tail -n 1)
	wrong=$(sed -n 's/.* wrong=\([0-9]*\) .*/\1/p' <<<"$1" | tail -n 1)
	verified=$((verified + ${ok:-0}))
	mismatches=$((mismatches + ${wrong:-1}))
}

# 1. A verified swap workload 8x mem_limit, with automatic writeback.
swap_round() {
	load_module disksize= || { note "insmod failed"; return; }
	echo "/dev/mapper/$DM" >"$S/backing_dev" && echo 128M >"$S/disksize" &&
		echo 6M >"$S/mem_limit" && mkswap "$GS_DEV" >/dev/null && swapon -p 100 "$GS_DEV" ||
		{ note "swap setup failed"; return; }
	local log=$scratch/swapcheck.log line v m
	cgroup_run 16M "$GS_SWAPCHECK" --size 48M --passes 1 --mix mixed >"$log" 2>&1
	line=$(grep '^swapcheck: pages=' "$log" | tail -n 1)
	v=$(sed -n 's/.* verified=\([0-9]*\) .*/\1/p' <<<"$line")
	m=$(sed -n 's/.* mismatches=\([0-9]*\) .*/\1/p' <<<"$line")
	[[ -n $v && -n $m ]] || { note "swapcheck gave no summary: $(tail -n 2 "$log" | tr '\n' ' ')"; m=0 v=0; }
	verified=$((verified + v))
	mismatches=$((mismatches + m))
	swapoff "$GS_DEV" || note "swapoff failed"
	echo 1 >"$S/reset" || note "reset failed"
}

# 2. Raw pages, every writeback mode, a flakey disk, reset and re-init on the way.
raw_round() {
	local out mode
	echo "/dev/mapper/$DM" >"$S/backing_dev" && echo 16M >"$S/disksize" ||
		{ note "re-init failed"; return; }
	dd if="$ref" of="$GS_DEV" bs=1M oflag=direct status=none || note "write failed"
	for mode in huge idle huge_idle incompressible page_index=$((RANDOM % 4096)) \
		page_indexes=$((RANDOM % 2048))-$((2048 + RANDOM % 2048)) all; do
		echo all >"$S/idle"
		echo "$mode" >"$S/writeback" 2>/dev/null
	done
	echo 1 >"$S/compact"
	out=$(python3 "$CHECK" check "$GS_DEV" "$ref")
	count_pagecheck "$out"
	# A flakey disk under writeback and reads: EIO allowed, wrong data never.
	dd if="$ref" of="$GS_DEV" bs=1M oflag=direct status=none || note "rewrite failed"
	table flakey "$BD" 0 1 1 || note "cannot make $DM flakey"
	(for _ in 1 2 3; do echo all >"$S/writeback"; echo all >"$S/idle"; done) 2>/dev/null
	out=$(python3 "$CHECK" check "$GS_DEV" "$ref")
	mismatches=$((mismatches + $(sed -n 's/.* wrong=\([0-9]*\) .*/\1/p' <<<"$out")))
	table linear "$BD" 0
	out=$(python3 "$CHECK" check "$GS_DEV" "$ref")
	count_pagecheck "$out"
	echo 1 >"$S/reset" || note "reset failed"
	unload_module || note "rmmod failed"
}

dmesg --clear
end=$((SECONDS + secs))
while ((SECONDS < end)); do
	rounds=$((rounds + 1))
	start=$SECONDS
	swap_round
	raw_round
	gs_cleanup_all >/dev/null 2>&1
	bad=$(dmesg --read-clear | grep -E "$BAD_KMSG")
	if [[ -n $bad ]]; then
		reports=$((reports + 1))
		printf '%s\n' "$bad" | head -n 20 | sed "s/^/soak: round $rounds: kernel: /"
	fi
	echo "SOAK-ROUND $rounds took $((SECONDS - start))s verified=$verified mismatches=$mismatches kernel_reports=$reports problems=$problems"
done
dmsetup remove "$DM"
echo "SOAK-RESULT rounds=$rounds pages_verified=$verified mismatches=$mismatches kernel_reports=$reports"

#!/bin/bash
# Proves reset waits for every backing write in flight: with writes to the backing disk delayed 8 s, a reset while an automatic writeback run has a batch in flight must not return before it lands; the device re-initialized on the same disk then writes back new data to the same blocks, and every page reads back right afterwards (a late write of the old device would overwrite them).
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "zram has no automatic writeback"; exit 0; }
BD=$(backing_disk) || fail "no backing disk (tests/vm/run.sh attaches one)"
command -v dmsetup >/dev/null || fail "dmsetup not found"
FIO=$(fio_bin) || fail "fio not found"
S=$GS_SYSFS
DELAY_MS=8000
# 256 MiB of the disk, seen twice: writes delayed, and straight through.
sectors=$((256 * 2048))
SLOW=gsslow FAST=gsfast

cleanup() {
	module_loaded && { echo 1 >"$S/reset"; rmmod ghostswap; } 2>/dev/null
	dmsetup remove "$SLOW" 2>/dev/null
	dmsetup remove "$FAST" 2>/dev/null
}
trap cleanup EXIT

# data SEED [OPTION...]: write 16 MiB of half-compressible pages whose contents
# depend on SEED (with --verify_only=1: check them instead).
data() {
	"$FIO" --name="seed$1" --filename="$GS_DEV" --rw=write --bs=4k --size=16M --direct=1 \
		--ioengine=psync --buffer_compress_percentage=50 --randseed="$1" --verify=crc32c \
		--verify_state_save=0 "${@:2}" --output="$GS_CASE_DIR/fio-$1-$#.log"
}

dmsetup create "$SLOW" --table "0 $sectors delay $BD 0 0 $BD 0 $DELAY_MS" ||
	fail "cannot create a dm-delay device over $BD"
dmsetup create "$FAST" --table "0 $sectors linear $BD 0" || fail "cannot create $FAST"
dmsetup mknodes || fail "dmsetup mknodes"

# 1. A pool of 16 MiB on the slow device, then a small mem_limit: the next store
# (a same-filled page, which needs no frame) starts an automatic run.
load_module disksize= || fail "load_module failed"
echo "/dev/mapper/$SLOW" >"$S/backing_dev" || fail "backing_dev $SLOW"
echo 64M >"$S/disksize" || fail "disksize"
expect_ok "write 16 MiB (seed 1)" data 1 --do_verify=0
echo 2M >"$S/mem_limit" || fail "mem_limit"
head -c 4096 /dev/zero | tr '\0' '\253' >"$GS_CASE_DIR/same.page"
expect_ok "store a same-filled page past the watermark" \
	dd if="$GS_CASE_DIR/same.page" of="$GS_DEV" bs=4k seek=16383 oflag=direct status=none
for ((i = 0; i < 50; i++)); do
	(($(read_stat "$GS_DEV" writeback_stat auto_runs) > 0)) && break
	sleep 0.1
done
check_gt "$(read_stat "$GS_DEV" writeback_stat auto_runs)" 0 "automatic runs started"
sleep 1

# 2. Reset with the run's first batch still delayed in the slow device.
start=$(date +%s%N)
echo 1 >"$S/reset" || fail "reset during writeback"
took=$((($(date +%s%N) - start) / 1000000))
info "reset took ${took} ms (the batch in flight was delayed ${DELAY_MS} ms)"
# Checked at the end, so that a reset returning early shows what it breaks.
early=
((took >= 3000)) || early="reset returned after ${took} ms, before the delayed writes could land"

# 3. The same disk, undelayed: new data written back over the same blocks.
echo "/dev/mapper/$FAST" >"$S/backing_dev" || fail "backing_dev $FAST"
echo 64M >"$S/disksize" || fail "disksize again"
expect_ok "write 16 MiB (seed 2)" data 2 --do_verify=0
expect_ok "writeback all" sh -c "echo all >$S/writeback"
check_gt "$(read_stat "$GS_DEV" bd_stat bd_count)" 0 "blocks on the backing device"
# Long enough for any write of the old device to have landed.
sleep $((DELAY_MS / 1000 + 2))
rc=0
data 2 --verify_only=1 --verify_fatal=1 || rc=$?
show_stats "$GS_DEV"
loads=$(read_stat "$GS_DEV" frontswap_stat loads)
((rc == 0)) || fail "${early:+$early; }verify of seed 2 after writeback failed (exit $rc): $(grep -m1 -iE 'verify|bad|error' "$GS_CASE_DIR"/fio-2-3.log)"
check_gt "$loads" 4000 "pages loaded by the verify"
[[ -z $early ]] || fail "$early"
info "ok: every page of seed 2 reads back right"

#!/bin/bash
# Proves hitting mem_limit without a backing device fails stores instead of corrupting data: writes past the limit get ENOMEM and count as failed stores, and a swap workload beyond the limit never reads back a wrong page (an OOM kill is accepted).
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "zram's mem_limit counts differently"; exit 0; }
SWAPCHECK=$(swapcheck_bin) || fail "swapcheck binary not found (cargo build --release -p swapcheck)"
S=$GS_SYSFS

# Raw device: random (incompressible) data past a 1 MiB limit.
load_module "disksize=64M" || fail "load_module failed"
echo 1M >"$S/mem_limit" || fail "cannot set mem_limit"
expect_fail "writing 4 MiB of random data past a 1 MiB mem_limit" \
	dd if=/dev/urandom of="$GS_DEV" bs=4k count=1024 oflag=direct status=none
grep -q 'Cannot allocate memory' <<<"$GS_OUT" || fail "expected ENOMEM, got: $GS_OUT"
read -r _ failed _ <"$S/frontswap_stat"
check_gt "$failed" 0 "failed_stores after hitting mem_limit"
read -r _ _ used limit _ <"$S/mm_stat"
check_eq "$limit" 1048576 "mm_stat mem_limit"
((used <= limit)) || fail "mem_used_total $used exceeds mem_limit $limit"
# What was stored before the limit reads back; nothing reads back stale.
expect_ok "blkdiscard" blkdiscard "$GS_DEV"
unload_module || fail "unload failed"

# Swap: a workload three times its cgroup limit, on a device limited to 8 MiB. Stores
# past the limit fail, those pages stay in RAM, and the cgroup may run out: an OOM
# kill (and its report in the kernel log) is accepted, a wrong page is not.
touch "$GS_CASE_DIR/expect-oom"
load_module "disksize=256M" || fail "load_module failed"
echo 8M >"$S/mem_limit" || fail "cannot set mem_limit"
expect_ok "mkswap" mkswap "$GS_DEV"
expect_ok "swapon -p 100" swapon -p 100 "$GS_DEV"
log=$GS_CASE_DIR/swapcheck.log
rc=0
# Reclaim can retry refused stores for minutes under TCG before the OOM killer
# acts, so the run is bounded: killed by the OOM killer or by the timeout, it
# must still never have read back a wrong page.
cgroup_run 24M timeout -s KILL 150 "$SWAPCHECK" --size 72M --passes 1 --mix mixed \
	>"$log" 2>&1 || rc=$?
sed 's/^/  | /' "$log"
info "mm_stat: $(cat "$S/mm_stat")"
info "frontswap_stat: $(cat "$S/frontswap_stat")"
if grep -q 'mismatches=[1-9]' "$log" || grep -q '^MISMATCH' "$log"; then
	fail "a page read back wrong"
fi
case $rc in
0) grep -Eq 'mismatches=0' "$log" || fail "swapcheck finished without a summary" ;;
137 | 9) info "swapcheck was killed, by the OOM killer or the 150 s bound (accepted: pages that could not be stored stay in RAM)" ;;
*) fail "swapcheck exit status $rc" ;;
esac
read -r _ _ used limit _ <"$S/mm_stat"
((used <= limit)) || fail "mem_used_total $used exceeds mem_limit $limit"
expect_ok "swapoff" swapoff "$GS_DEV"
unload_module || fail "unload failed"

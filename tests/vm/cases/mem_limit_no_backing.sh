#!/bin/bash
# Proves hitting mem_limit without a backing device fails stores instead of corrupting data: writes past the limit get ENOMEM and count as failed stores, and swapped pages refused at the limit stay in RAM while every page reads back right.
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
read -r failed < <(stat_field "$S/frontswap_stat" failed_stores)
check_gt "$failed" 0 "failed_stores after hitting mem_limit"
read -r used limit < <(stat_field "$S/mm_stat" mem_used_total mem_limit)
check_eq "$limit" 1048576 "mm_stat mem_limit"
((used <= limit)) || fail "mem_used_total $used exceeds mem_limit $limit"
# What was stored before the limit reads back; nothing reads back stale.
expect_ok "blkdiscard" blkdiscard "$GS_DEV"
unload_module || fail "unload failed"

# Swap: 64 MiB of mixed pages pushed out with MADV_PAGEOUT (no cgroup, so no memory
# pressure) onto a device limited to 8 MiB. Stores past the limit fail, swap keeps
# those pages in RAM, and every page must read back right. (Under a cgroup limit the
# same refusals make reclaim retry for minutes before the OOM killer acts, which is
# the kernel's answer to a failing swap device, not a property of this driver.)
load_module "disksize=256M" || fail "load_module failed"
echo 8M >"$S/mem_limit" || fail "cannot set mem_limit"
expect_ok "mkswap" mkswap "$GS_DEV"
expect_ok "swapon -p 100" swapon -p 100 "$GS_DEV"
log=$GS_CASE_DIR/swapcheck.log
rc=0
"$SWAPCHECK" --size 64M --passes 1 --mix mixed --madvise-pageout >"$log" 2>&1 || rc=$?
sed 's/^/  | /' "$log"
info "mm_stat: $(cat "$S/mm_stat")"
info "frontswap_stat: $(cat "$S/frontswap_stat")"
check_eq "$rc" 0 "swapcheck exit status"
grep -Eq '^swapcheck: pages=16384 verified=[0-9]+ mismatches=0 passes=1$' "$log" ||
	fail "swapcheck summary missing or shows mismatches"
read -r stores failed loads < <(stat_field "$S/frontswap_stat" stores failed_stores loads)
check_gt "$stores" 0 "stores (pages that fit under the limit)"
check_gt "$failed" 0 "failed_stores (pages refused at the limit)"
check_gt "$loads" 0 "loads (stored pages read back)"
read -r used limit < <(stat_field "$S/mm_stat" mem_used_total mem_limit)
((used <= limit)) || fail "mem_used_total $used exceeds mem_limit $limit"
expect_ok "swapoff" swapoff "$GS_DEV"
unload_module || fail "unload failed"

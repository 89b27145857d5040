#!/bin/bash
# Proves the bounded part of a swap workload that does not fit under mem_limit without a backing device: when no page of it can be stored (random pages), reclaim finds no progress and the memory cgroup's OOM killer ends it within minutes, every refusal counted, the pool never over its limit. (With compressible and same-filled pages the kernel keeps reclaiming on them and on clean swap-cache pages, and thrashes instead: only the swap layer or user space can bound that; see the admin guide, "mem_limit without a backing device".)
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "zram stores same-filled pages past its mem_limit"; exit 0; }
SWAPCHECK=$(swapcheck_bin) || fail "swapcheck binary not found (cargo build --release -p swapcheck)"
S=$GS_SYSFS
# 160 MiB of random pages in a 32 MiB cgroup, pool limited to 16 MiB (divided by GS_SCALE
# on the debug kernel): neither RAM nor the pool can hold what does not fit. The time to
# the OOM kill grows with the cgroup: until it comes, every reclaim pass offers each of
# its anonymous pages to swap again (each a refused store), so the cgroup is kept small.
size=$(scaled_mib 160) cg_mib=$(scaled_mib 32) limit_mib=$(scaled_mib 16)
BOUND=300

# The OOM kill is the expected end: its report is no failure (guest.sh).
touch "$GS_CASE_DIR/expect-oom"
load_module disksize=1G || fail "load_module failed"
echo "${limit_mib}M" >"$S/mem_limit" || fail "cannot set mem_limit"
expect_ok "mkswap" mkswap "$GS_DEV"
expect_ok "swapon -p 100" swapon -p 100 "$GS_DEV"
cgroup_create "${cg_mib}M" || fail "cannot create the cgroup"
cg=$GS_CGROUP
log=$GS_CASE_DIR/swapcheck.log
start=$SECONDS
rc=0
# The bound: a workload still running after BOUND seconds is killed, and the case fails.
cgroup_exec "$cg" timeout -s KILL "$BOUND" "$SWAPCHECK" --size "${size}M" --passes 1 \
	--mix plain >"$log" 2>&1 || rc=$?
elapsed=$((SECONDS - start))
sed 's/^/  | /' "$log" | tail -n 5
events=$(tr '\n' ' ' <"$cg/memory.events")
info "swapcheck exit $rc after ${elapsed}s; memory.events: $events"
info "frontswap_stat: $(cat "$S/frontswap_stat"); mm_stat: $(cat "$S/mm_stat")"
oom_kills=$(awk '$1 == "oom_kill" { print $2 }' "$cg/memory.events")
cgroup_remove "$cg"
check_gt "$oom_kills" 0 "OOM kills in the cgroup (the workload must end in one)"
((elapsed < BOUND)) || fail "the workload ran ${elapsed}s, not ended by the OOM killer within ${BOUND}s"
read -r stores failed < <(stat_field "$S/frontswap_stat" stores failed_stores)
check_gt "$stores" 0 "stores before the pool filled"
check_gt "$failed" 0 "failed stores at the limit"
read -r used limit < <(stat_field "$S/mm_stat" mem_used_total mem_limit)
((used <= limit)) || fail "mem_used_total $used exceeds mem_limit $limit"
expect_ok "swapoff" swapoff "$GS_DEV"
unload_module || fail "unload failed"

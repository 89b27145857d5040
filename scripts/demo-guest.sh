#!/usr/bin/env bash
# Runs inside the demo VM: swap a memory-hungry, self-verifying workload
# through /dev/ghostswap0 and show what happened.
set -uo pipefail
repo=$1
dev=/dev/ghostswap0
sys=/sys/block/ghostswap0
say() { printf '\n### %s\n' "$*"; }

mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup
say "insmod ghostswap.ko disksize=512M"
insmod "$repo/ghostswap.ko" disksize=512M || { echo "DEMO RESULT: FAIL (insmod)"; exit 1; }
mkswap "$dev" >/dev/null
swapon -p 100 "$dev"
say "/proc/swaps"
cat /proc/swaps

say "swapcheck: 192 MiB of distinct, checkable pages in a cgroup limited to 64 MiB"
echo +memory > /sys/fs/cgroup/cgroup.subtree_control
mkdir -p /sys/fs/cgroup/demo
echo 64M > /sys/fs/cgroup/demo/memory.max
( echo $BASHPID > /sys/fs/cgroup/demo/cgroup.procs &&
  exec "$repo/target/release/swapcheck" --size 192M --passes 2 --mix plain )
rc=$?

say "device counters"
read -r stores failed loads invalidates _ < <(cat "$sys/frontswap_stat")
echo "frontswap_stat: stores=$stores failed_stores=$failed loads=$loads invalidates=$invalidates"
echo "mm_stat:        $(cat "$sys/mm_stat")"
echo "peak swap use of the cgroup: $(cat /sys/fs/cgroup/demo/memory.swap.peak 2>/dev/null || echo n/a)"
rmdir /sys/fs/cgroup/demo

say "swapoff and rmmod"
swapoff "$dev" && echo "swapoff: ok"
echo "mm_stat after swapoff: $(cat "$sys/mm_stat")"
rmmod ghostswap && echo "rmmod: ok"

if [ "$rc" -eq 0 ] && [ "$stores" -gt 0 ] && [ "$loads" -gt 0 ]; then
    echo "DEMO RESULT: PASS (every page verified, $stores pages stored, $loads loaded)"
else
    echo "DEMO RESULT: FAIL (swapcheck exit $rc, stores=$stores loads=$loads)"
fi

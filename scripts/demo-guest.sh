#!/usr/bin/env bash
# Runs inside the demo VM: set /dev/ghostswap0 up with ghostswapctl (a file as backing
# store), swap a memory-hungry, self-verifying workload through it, write cold frames
# back, and show what happened.
set -uo pipefail
repo=$1
# stat_field: the statistics files read by field name.
# shellcheck source=SCRIPTDIR/../tests/lib/stat.sh
. "$repo/tests/lib/stat.sh"
ctl=$repo/target/release/ghostswapctl
say() { printf '\n### %s\n' "$*"; }
fail() { echo "DEMO RESULT: FAIL ($*)"; exit 1; }

mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup
# The backing store: a file on a tmpfs of its own (the test kernel has no disk file
# system); on a real machine, a file on a local disk.
mkdir -p /run/demo-backing && mount -t tmpfs -o size=256M tmpfs /run/demo-backing
truncate -s 256M /run/demo-backing/backing.img

say "ghostswapctl setup --find --size 512M --algorithm lz4 --mem-limit 24M --backing /run/demo-backing/backing.img --priority 100 --swapon"
"$ctl" --module "$repo/ghostswap.ko" setup --find --size 512M --algorithm lz4 --mem-limit 24M \
    --backing /run/demo-backing/backing.img --priority 100 --swapon || fail "setup"
say "ghostswapctl list"
"$ctl" list
say "/proc/swaps"
cat /proc/swaps

say "swapcheck: 128 MiB of distinct, checkable pages (text, same-filled, random) in a cgroup limited to 48 MiB"
echo +memory > /sys/fs/cgroup/cgroup.subtree_control
mkdir -p /sys/fs/cgroup/demo
echo 48M > /sys/fs/cgroup/demo/memory.max
log=/run/demo-swapcheck.log
( echo $BASHPID > /sys/fs/cgroup/demo/cgroup.procs &&
  exec "$repo/target/release/swapcheck" --size 128M --passes 0 --mix mixed \
      --pause-file /run/demo-go ) > "$log" 2>&1 &
sc=$!
until grep -q 'filled; waiting' "$log"; do
    kill -0 "$sc" 2>/dev/null || { cat "$log"; fail "swapcheck"; }
    sleep 0.5
done
cat "$log"

say "ghostswapctl status ghostswap0 (the workload holds its memory)"
"$ctl" status ghostswap0

say "ghostswapctl writeback ghostswap0 huge (the pages that did not compress)"
"$ctl" writeback ghostswap0 huge 2>&1 | cat   # no spinner in the log

say "swapcheck verifies every page, reading back what is on the backing file"
touch /run/demo-go
wait "$sc"
rc=$?
tail -n +"$(($(wc -l < "$log") > 3 ? 4 : 1))" "$log"
echo "peak swap use of the cgroup: $(cat /sys/fs/cgroup/demo/memory.swap.peak 2>/dev/null || echo n/a)"
rmdir /sys/fs/cgroup/demo

say "ghostswapctl status ghostswap0"
"$ctl" status ghostswap0
read -r stores loads < <(stat_field /sys/block/ghostswap0/frontswap_stat stores loads)
written=$(stat_field /sys/block/ghostswap0/bd_stat bd_writes)
if [ "$rc" -eq 0 ] && [ "$stores" -gt 0 ] && [ "$loads" -gt 0 ] && [ "$written" -gt 0 ]; then
    echo "DEMO RESULT: PASS (every page verified, $stores pages stored, $loads loaded, $written blocks written to the backing file)"
else
    echo "DEMO RESULT: FAIL (swapcheck exit $rc, stores=$stores loads=$loads backing writes=$written)"
fi

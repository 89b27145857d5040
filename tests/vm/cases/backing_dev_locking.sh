#!/bin/bash
# Proves backing_dev refuses every ghostswap disk (itself or another, which could make writeback wait for itself) and that backing_dev and reset written at the same time never deadlock (backing_dev opens its path before taking the device's configuration lock, the order reset takes them in reverse).
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "zram does not refuse zram disks as backing devices"; exit 0; }
BD=$(backing_disk) || fail "no backing disk (tests/vm/run.sh attaches one)"
S0=$(gs_sysfs 0)
load_module num_devices=2 disksize= || fail "load_module failed"

# 1. Ghostswap disks are refused and nothing is attached (checked at the end, so that
# the deadlock check below runs in any case). Another, initialized one opens, and is
# refused with EINVAL; the device itself cannot be initialized yet (backing_dev comes
# first), so its open may fail before that.
echo 16M >"$(gs_sysfs 1)/disksize" || fail "disksize of $(gs_dev 1)"
accepted=()
for target in "$(gs_dev 1)" "$(gs_dev 0)"; do
	if bash -c "echo $target >$S0/backing_dev" 2>"$GS_CASE_DIR/err"; then
		accepted+=("$target")
		echo none >"$S0/backing_dev"
	else
		info "backing_dev $target refused: $(cat "$GS_CASE_DIR/err")"
		if [[ $target == "$(gs_dev 1)" ]] && ! grep -q 'Invalid argument' "$GS_CASE_DIR/err"; then
			fail "expected EINVAL for $target, got: $(cat "$GS_CASE_DIR/err")"
		fi
		check_eq "$(cat "$S0/backing_dev")" none "backing_dev after refusing $target"
	fi
done
expect_ok "backing_dev $BD" sh -c "echo $BD >$S0/backing_dev"
check_eq "$(cat "$S0/backing_dev")" "$BD" "backing_dev"

# 2. backing_dev (a real disk, and the device itself) against reset, in two loops at
# once. A deadlock leaves both writers in D state: the loops never end.
writer() {
	local i
	for ((i = 0; i < 300; i++)); do
		echo "$1" >"$S0/backing_dev" 2>/dev/null
	done
}
resetter() {
	local i
	for ((i = 0; i < 300; i++)); do
		echo 1 >"$S0/reset" 2>/dev/null
	done
}
writer "$BD" &
a=$!
writer "$(gs_dev 0)" &
b=$!
resetter &
c=$!
for ((t = 0; t < 180; t++)); do
	kill -0 $a 2>/dev/null || kill -0 $b 2>/dev/null || kill -0 $c 2>/dev/null || break
	sleep 1
done
if kill -0 $a 2>/dev/null || kill -0 $b 2>/dev/null || kill -0 $c 2>/dev/null; then
	ps -eo pid,stat,wchan:30,cmd | grep -E ' D' | sed 's/^/  | /'
	fail "backing_dev and reset writers still running after 180 s (deadlock)"
fi
wait
info "ok: 300 backing_dev writes of each kind and 300 resets ended in ${t}s"

# 3. The device still works: attach, size, write, write back, read.
echo 1 >"$S0/reset" || fail "reset"
echo "$BD" >"$S0/backing_dev" || fail "backing_dev after the loops"
echo 16M >"$S0/disksize" || fail "disksize after the loops"
FIO=$(fio_bin) || fail "fio not found"
expect_ok "write and verify 4 MiB" "$FIO" --name=after --filename="$(gs_dev 0)" --rw=write \
	--bs=4k --size=4M --direct=1 --ioengine=psync --buffer_compress_percentage=50 \
	--verify=crc32c --do_verify=0 --output="$GS_CASE_DIR/write.log"
expect_ok "writeback all" sh -c "echo all >$S0/writeback"
check_gt "$(read_stat "$(gs_dev 0)" bd_stat bd_count)" 0 "blocks on the backing device"
expect_ok "verify after writeback" "$FIO" --name=after --filename="$(gs_dev 0)" --rw=write \
	--bs=4k --size=4M --direct=1 --ioengine=psync --buffer_compress_percentage=50 \
	--verify=crc32c --verify_only=1 --output="$GS_CASE_DIR/verify.log"
echo 1 >"$S0/reset" || fail "final reset"
unload_module || fail "unload failed"
((${#accepted[@]} == 0)) || fail "ghostswap disks accepted as backing_dev: ${accepted[*]}"

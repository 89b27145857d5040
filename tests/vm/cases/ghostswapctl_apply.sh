#!/bin/bash
# Proves ghostswapctl apply: a configuration of two devices (one sized relative to RAM with a backing file and swap, one zstd without swap) loads the module and sets both up; applied again it changes nothing; a new mem-limit is applied live; a new size is refused without --reconfigure and applied with it.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "ghostswapctl drives ghostswap devices only"; exit 0; }
CTL=$(ghostswapctl_bin) || fail "no ghostswapctl"
ctl() { "$CTL" --module "$GS_MODULE" "$@"; }
S0=$(gs_sysfs 0)
S1=$(gs_sysfs 1)

module_loaded && fail "the module is loaded before the case"
file=$(backing_file_on_tmpfs 64M) || fail "cannot make a backing file"
conf=$GS_CASE_DIR/ghostswap.toml

# write_config MEM_LIMIT SIZE1
write_config() {
	cat >"$conf" <<-TOML
		# Written by the ghostswapctl_apply case.
		[ghostswap0]
		size = "ram / 4"
		mem-limit = "$1"
		backing = "$file"
		swap-priority = 50

		[ghostswap1]
		size = "$2"
		algorithm = "zstd"
		level = 9
		swap = false
	TOML
}

# state: everything apply may change, one line each.
state() {
	local s
	for s in "$S0" "$S1"; do
		echo "${s##*/}: disksize=$(cat "$s/disksize") algo=$(cat "$s/comp_algorithm")" \
			"backing=$(cat "$s/backing_dev") mem_limit=$(stat_field "$s/mm_stat" mem_limit)"
	done
	tail -n +2 /proc/swaps | awk '{ print "swap", $1, $5 }'
	losetup -a | sort
}

apply() {
	local out rc=0
	out=$(ctl apply "$@" 2>&1) || rc=$?
	printf '%s\n' "$out" | sed 's/^/  | /' >&2
	printf '%s\n' "$out"
	return $rc
}

# 1. The first apply loads the module with two devices and sets both up.
write_config 24M 64M
apply "$conf" >/dev/null || fail "the first apply failed"
ram=$(awk '/^MemTotal:/ { print $2 * 1024 }' /proc/meminfo)
check_eq "$(cat "$S0/disksize")" $((ram / 4 / 4096 * 4096)) "ghostswap0's size (ram / 4, whole pages)"
check_eq "$(cat "$S1/disksize")" $((64 << 20)) "ghostswap1's size"
check_eq "$(cat "$S0/comp_algorithm")" "[lz4] zstd " "ghostswap0's algorithm"
check_eq "$(cat "$S1/comp_algorithm")" "lz4 [zstd] " "ghostswap1's algorithm"
check_eq "$(read_stat ghostswap0 mm_stat mem_limit)" $((24 << 20)) "ghostswap0's mem_limit"
lo=$(cat "$S0/backing_dev")
check_eq "$(cat "/sys/block/${lo#/dev/}/loop/backing_file" 2>/dev/null)" "$file" "ghostswap0's backing file"
check_eq "$(swap_priority "$(gs_dev 0)")" 50 "ghostswap0's swap priority"
swap_priority "$(gs_dev 1)" >/dev/null && fail "ghostswap1 is swapped on, the configuration says swap = false"
check_eq "$(cat "$S1/backing_dev")" none "ghostswap1's backing_dev"

# 2. Applied again: nothing changes, and it says so.
first=$(state)
out=$(apply "$conf") || fail "the second apply failed"
check_eq "$(printf '%s\n' "$out" | sort | tr '\n' ' ')" "ghostswap0: unchanged ghostswap1: unchanged " "what the second apply did"
check_eq "$(state)" "$first" "devices, swaps and loop devices after the second apply"

# 3. A new mem-limit is applied live, then nothing again.
write_config 32M 64M
out=$(apply "$conf") || fail "the apply of a new mem-limit failed"
grep -q "^ghostswap0: set mem_limit 32M$" <<<"$out" || fail "apply did not say it set mem_limit"
check_eq "$(read_stat ghostswap0 mm_stat mem_limit)" $((32 << 20)) "ghostswap0's mem_limit after the change"
check_eq "$(swap_priority "$(gs_dev 0)")" 50 "ghostswap0 still swapped on"
second=$(state)
apply "$conf" >/dev/null || fail "the apply after the change failed"
check_eq "$(state)" "$second" "devices after applying the changed file twice"

# 4. A new size needs a reset: refused without --reconfigure, done with it.
write_config 32M 128M
expect_fail "apply of a new size without --reconfigure" ctl apply "$conf"
grep -q "ghostswap1: set up differently: size is 64M, the configuration says 128M; pass --reconfigure" <<<"$GS_OUT" ||
	fail "the refusal does not say what differs and what to do"
check_eq "$(cat "$S1/disksize")" $((64 << 20)) "ghostswap1's size after the refusal"
apply --reconfigure "$conf" >/dev/null || fail "apply --reconfigure failed"
check_eq "$(cat "$S1/disksize")" $((128 << 20)) "ghostswap1's size after --reconfigure"
check_eq "$(cat "$S1/comp_algorithm")" "lz4 [zstd] " "ghostswap1's algorithm after --reconfigure"

# 5. Bad configurations are refused before anything is touched.
printf '[ghostswap0]\nsize = "ram / 0"\n' >"$GS_CASE_DIR/bad.toml"
expect_fail "a size of ram / 0" ctl apply "$GS_CASE_DIR/bad.toml"
grep -q "has no finite value" <<<"$GS_OUT" || fail "the refusal does not say why"

for d in ghostswap0 ghostswap1; do
	expect_ok "reset $d" ctl reset "$d" --swapoff
done
[[ -z $(losetup -a) ]] || fail "loop devices left: $(losetup -a)"
unload_module || fail "unload failed"
umount "$GS_CASE_DIR/backing-fs" || fail "cannot unmount the backing file's tmpfs"

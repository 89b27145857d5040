#!/bin/bash
# Proves compressed swap works with lz4 and zstd: mixed-content pages (text, same-filled, random, half-random) go out compressed and come back bit-exact, and mm_stat shows compression and same-filled pages while they are out.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "ghostswap's comp_algorithm/frontswap fields differ from zram's"; exit 0; }
SWAPCHECK=$(swapcheck_bin) || fail "swapcheck binary not found (cargo build --release -p swapcheck)"
S=$GS_SYSFS
# 192 MiB of pages out of a 64 MiB cgroup (divided by GS_SCALE on the debug kernel).
size=$(scaled_mib 192) cg_mib=$(scaled_mib 64)

for algo in lz4 zstd; do
	info "== $algo"
	load_module "disksize=" || fail "load_module failed"
	echo "$algo" >"$S/comp_algorithm" || fail "cannot select $algo"
	[[ $algo == zstd ]] && { echo "level=3" >"$S/algorithm_params" || fail "cannot set zstd level"; }
	echo 512M >"$S/disksize" || fail "cannot set disksize"
	grep -q "\[$algo\]" "$S/comp_algorithm" || fail "comp_algorithm does not show [$algo]"
	expect_ok "mkswap" mkswap "$GS_DEV"
	expect_ok "swapon -p 100" swapon -p 100 "$GS_DEV"

	cgroup_create "${cg_mib}M" || fail "cannot create the cgroup"
	cg=$GS_CGROUP
	log=$GS_CASE_DIR/swapcheck-$algo.log
	release=$GS_CASE_DIR/release-$algo
	rm -f "$release"
	cgroup_exec "$cg" "$SWAPCHECK" --size "${size}M" --passes 1 --mix mixed --pause-file "$release" \
		>"$log" 2>&1 &
	sc_pid=$!
	wait_for_line "$log" '^swapcheck: filled; waiting' 600 || {
		sed 's/^/  | /' "$log"
		fail "$algo: swapcheck did not finish filling"
	}
	# While the pages are out: compression and same-filled pages must show.
	read -r orig compr used same huge < <(stat_field "$S/mm_stat" orig_data_size compr_data_size \
		mem_used_total same_pages huge_pages)
	info "$algo mm_stat while out: $(cat "$S/mm_stat")"
	info "$algo debug_stat: $(tr '\n' ' ' <"$S/debug_stat")"
	check_gt "$orig" $((cg_mib << 20)) "$algo: orig_data_size while ${size}M are out of a ${cg_mib}M cgroup"
	check_gt "$orig" "$compr" "$algo: orig_data_size > compr_data_size"
	check_gt "$orig" "$used" "$algo: orig_data_size > mem_used_total (memory saved)"
	check_gt "$same" 0 "$algo: same_pages"
	check_gt "$huge" 0 "$algo: huge_pages (the random quarter)"
	read -r fs_same fs_huge < <(stat_field "$S/frontswap_stat" same_filled huge)
	check_eq "$fs_same" "$same" "$algo: frontswap_stat same_filled = mm_stat same_pages"
	check_eq "$fs_huge" "$huge" "$algo: frontswap_stat huge = mm_stat huge_pages"

	touch "$release"
	rc=0
	wait "$sc_pid" || rc=$?
	sed 's/^/  | /' "$log"
	cgroup_report "$cg"
	cgroup_remove "$cg"
	check_eq "$rc" 0 "$algo: swapcheck exit status"
	grep -Eq "^swapcheck: pages=$((size * 256)) verified=[0-9]+ mismatches=0 passes=1\$" "$log" ||
		fail "$algo: swapcheck summary missing or shows mismatches"
	expect_ok "swapoff" swapoff "$GS_DEV"
	unload_module || fail "unload failed"
done

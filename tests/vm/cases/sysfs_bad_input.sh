#!/bin/bash
# Proves every writable attribute rejects malformed input with EINVAL (or EBUSY after init) without changing any state, before and after initialization.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "zram's attribute rules differ; nothing to check"; exit 0; }
load_module "disksize=" || fail "load_module disksize= failed"
out=$(python3 "$(dirname "$0")/../sysfs_bad_input.py" "$GS_SYSFS" \
	"$(dirname "$0")/../../../Documentation/ABI/testing/sysfs-block-ghostswap" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/  | /'
((rc == 0)) || fail "$(tail -n 1 <<<"$out")"
unload_module || fail "unload failed"

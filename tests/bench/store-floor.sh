#!/bin/bash
# The write path's floor: how close to zram a ghostswap write can get when its store costs
# nothing. Builds two modules from COMMIT (default c9ff6af, where store-floor.diff
# applies): as committed, and with store-floor.diff, which turns every compressed store
# into "take the store lock, copy the compressed bytes once, drop the lock" (nothing is
# kept: reads of those pages return older data, so only the randwrite figures mean
# anything). Then runs both against zram in one icount boot with ab.sh.
# Diagnostic only, not part of `make test` or `make bench`.
#
# usage: tests/bench/store-floor.sh [COMMIT]   (AB_* variables as for ab.sh)
set -eu
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
commit=${1:-c9ff6af}
work=$(mktemp -d /tmp/store-floor.XXXXXX)
trap 'git -C "$repo" worktree remove --force "$work/tree" >/dev/null 2>&1; rm -rf "$work"' EXIT
. "$repo/scripts/kmake-env.sh"
build() { # build NAME: the module of $work/tree, copied to $work/NAME.ko
	kmake M="$work/tree" modules >"$work/$1.log" 2>&1 || { cat "$work/$1.log"; exit 1; }
	cp "$work/tree/src/ghostswap.ko" "$work/$1.ko"
}
git -C "$repo" worktree add --detach "$work/tree" "$commit" >/dev/null 2>&1
build committed
git -C "$work/tree" apply "$repo/tests/bench/store-floor.diff"
build floor
AB_ALGOS=${AB_ALGOS:-lz4 zstd} "$repo/tests/bench/ab.sh" "$work/committed.ko" "$work/floor.ko"

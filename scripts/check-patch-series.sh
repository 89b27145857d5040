#!/usr/bin/env bash
# Checks that every prefix of patches/series applies to the pristine source and
# builds on its own: the kernel crate, its doctests, and rnull (the in-tree user
# of the block abstractions). Uses the cached tree and leaves it with the full
# series applied again. Takes about a minute per patch.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
. "$repo/scripts/kmake-env.sh"
mapfile -t series < <(grep -v -e '^#' -e '^\s*$' "$repo/patches/series")

apply_first() {
    git -C "$KSRC" checkout -q -f --detach pristine
    git -C "$KSRC" clean -q -fdx
    for p in "${series[@]:0:$1}"; do git -C "$KSRC" apply "$repo/patches/$p"; done
}

failed=0
for n in $(seq 1 "${#series[@]}"); do
    apply_first "$n"
    if kmake -j"$(nproc)" rust/ drivers/block/rnull.o >"$KOUT/series-check-$n.log" 2>&1 &&
        ! grep -q '^warning' "$KOUT/series-check-$n.log"; then
        echo "ok   $n ${series[$((n - 1))]}"
    else
        echo "FAIL $n ${series[$((n - 1))]} (see $KOUT/series-check-$n.log)"
        failed=1
    fi
done
apply_first "${#series[@]}"
exit $failed

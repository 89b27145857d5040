#!/usr/bin/env bash
# Boots the test kernel under QEMU (TCG) and runs scripts/demo-guest.sh in it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${GHOSTSWAP_CACHE:-$HOME/.cache/ghostswap}
# shellcheck source=SCRIPTDIR/../tests/lib/vm.sh
. "$repo/tests/lib/vm.sh"
log=$cache/demo.log
vm_run --kernel "$cache/build/arch/x86/boot/bzImage" --mem 1G --cpus 2 --append "zswap.enabled=0" \
    --timeout 900 --log "$log" -- bash "$repo/scripts/demo-guest.sh" "$repo" |
    grep -v -E '^\[ *[0-9]+\.[0-9]+\]' || true
grep -q "DEMO RESULT: PASS" "$log"

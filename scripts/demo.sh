#!/usr/bin/env bash
# Boots the test kernel under QEMU (TCG) and runs scripts/demo-guest.sh in it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${GHOSTSWAP_CACHE:-$HOME/.cache/ghostswap}
export PATH=$cache/venv/bin:$PATH
log=$cache/demo.log
timeout 900 vng --run "$cache/build/arch/x86/boot/bzImage" --disable-kvm --force-9p \
    -m 1G -p 2 --verbose --append "zswap.enabled=0" \
    --exec "bash $repo/scripts/demo-guest.sh $repo" 2>&1 | tee "$log" |
    grep -v -E '^\[ *[0-9]+\.[0-9]+\]' || true
grep -q "DEMO RESULT: PASS" "$log"

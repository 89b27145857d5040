#!/usr/bin/env bash
# Runs every test of the project, host and VM, and prints one closing line
# "N passed, N failed" over all of them. VM cases run twice: on the release
# kernel and on the debug kernel (kernel/ghostswap-debug.config). Exit status 0 only if nothing failed.
set -uo pipefail
cd "$(dirname "$0")/.."
cache=${GHOSTSWAP_CACHE:-$HOME/.cache/ghostswap}
mkdir -p "$cache"

host_log=$cache/host-tests.log
echo "== host tests (cargo test --workspace)"
cargo test --workspace 2>&1 | tee "$host_log"
host_rc=${PIPESTATUS[0]}
# Sum libtest's "test result:" lines (unit, integration and doc tests).
read -r host_pass host_fail < <(awk '/^test result:/ {
        for (i = 1; i <= NF; i++) { if ($(i) ~ /^passed;?$/) p += $(i-1); if ($(i) ~ /^failed;?$/) f += $(i-1) }
    } END { print p + 0, f + 0 }' "$host_log")
if [ "$host_rc" -ne 0 ] && [ "$host_fail" -eq 0 ]; then
    echo "host tests: cargo failed without a failing test (build error?)"
    host_fail=1
fi

echo "== VM tests"
vm_log=$cache/vm-tests.log
bash tests/vm/run.sh 2>&1 | tee "$vm_log"
vm_rc=${PIPESTATUS[0]}
read -r vm_pass vm_fail < <(awk '/^vm: [0-9]+ passed, [0-9]+ failed$/ { p = $2; f = $4 } END { print p + 0, f + 0 }' "$vm_log")
if [ "$vm_rc" -ne 0 ] && [ "$vm_fail" -eq 0 ]; then
    echo "VM tests: run.sh failed without a failing test (VM did not boot?)"
    vm_fail=1
fi

echo "== VM tests on the debug kernel (KASAN, lockdep, atomic sleep, fault injection)"
vmd_log=$cache/vm-debug-tests.log
bash tests/vm/run.sh --debug 2>&1 | tee "$vmd_log"
vmd_rc=${PIPESTATUS[0]}
read -r vmd_pass vmd_fail < <(awk '/^vm-debug: [0-9]+ passed, [0-9]+ failed$/ { p = $2; f = $4 } END { print p + 0, f + 0 }' "$vmd_log")
if [ "$vmd_rc" -ne 0 ] && [ "$vmd_fail" -eq 0 ]; then
    echo "VM debug tests: run.sh failed without a failing test (VM did not boot?)"
    vmd_fail=1
fi

echo "== KUnit doctests of the patch series"
kunit_log=$cache/kunit-summary.log
bash tests/vm/kunit-doctests.sh 2>&1 | tee "$kunit_log"
read -r ku_pass ku_fail < <(awk '/^kunit: [0-9]+ passed, [0-9]+ failed$/ { p = $2; f = $4 } END { print p + 0, f + 0 }' "$kunit_log")
[ $((ku_pass + ku_fail)) -gt 0 ] || ku_fail=1

passed=$((host_pass + vm_pass + vmd_pass + ku_pass))
failed=$((host_fail + vm_fail + vmd_fail + ku_fail))
echo "host: $host_pass passed, $host_fail failed; vm: $vm_pass passed, $vm_fail failed; vm-debug: $vmd_pass passed, $vmd_fail failed; kunit: $ku_pass passed, $ku_fail failed"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

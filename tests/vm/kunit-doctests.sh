#!/usr/bin/env bash
# Boots the test kernel with KUnit enabled, which runs the kernel crate's
# doctests (the patch series' examples among them), and checks the results.
# Prints "kunit: N passed, N failed", counting this as one test.
set -uo pipefail
cache=${GHOSTSWAP_CACHE:-$HOME/.cache/ghostswap}
# shellcheck source=SCRIPTDIR/../lib/vm.sh
. "$(dirname "$0")/../lib/vm.sh"
log=$cache/kunit-doctests.log
# Doctests added by patches/: each must be reported "ok".
ours=(rust_doctest_kernel_block_mq_gen_disk_rs_0 rust_doctest_kernel_block_mq_rs_0
      rust_doctest_kernel_module_param_rs_0 rust_doctest_kernel_compress_lz4_rs_0
      rust_doctest_kernel_compress_zstd_rs_0 rust_doctest_kernel_cpu_rs_0
      rust_doctest_kernel_page_rs_0 rust_doctest_kernel_sync_lock_rs_0
      rust_doctest_kernel_task_rs_0 rust_doctest_kernel_block_bdev_reads_rs_0
      rust_doctest_kernel_block_bdev_reads_rs_1)

vm_run --kernel "$cache/build/arch/x86/boot/bzImage" --mem 1G --cpus 2 \
    --append "zswap.enabled=0 kunit.enable=1" --timeout 600 --log "$log" -- dmesg >/dev/null

fail() { echo "FAIL kunit_doctests: $*"; echo "kunit: 0 passed, 1 failed"; exit 1; }
totals=$(grep -o '# Totals: pass:[0-9]* fail:[0-9]* skip:[0-9]* total:[0-9]*' "$log" | tail -1)
[ -n "$totals" ] || fail "no KUnit totals in $log (did the VM boot?)"
failed=$(sed -E 's/.*fail:([0-9]+).*/\1/' <<<"$totals")
total=$(sed -E 's/.*total:([0-9]+).*/\1/' <<<"$totals")
[ "$failed" = 0 ] || fail "$totals; see $log"
[ "$total" -gt 0 ] || fail "no doctests ran"
for t in "${ours[@]}"; do
    tr -d '\r' < "$log" | grep -E "^\[ *[0-9.]+\] +ok [0-9]+ $t\$" >/dev/null || fail "$t did not report ok"
done
echo "PASS kunit_doctests ($totals)"
echo "kunit: 1 passed, 0 failed"

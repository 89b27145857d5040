#!/bin/bash
# Proves a mem_limit smaller than a multi-page frame (32 KiB) still stores compressible pages without a backing device: a frame refused at the limit is retried as a single page instead of failing the write with ENOMEM.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "zram's mem_limit counts zsmalloc pages differently"; exit 0; }
FIO=$(fio_bin) || fail "fio not found"
S=$GS_SYSFS
load_module "disksize=64M" || fail "load_module failed"
echo 16K >"$S/mem_limit" || fail "cannot set mem_limit"
# Eight pages that compress to about a quarter: they fit in one or two pages.
expect_ok "write 8 compressible pages under a 16 KiB mem_limit" \
	"$FIO" --name=tiny --filename="$GS_DEV" --rw=write --bs=4k --size=32k --direct=1 \
	--ioengine=psync --buffer_compress_percentage=75 --buffer_compress_chunk=4k \
	--verify=crc32c --do_verify=1 --verify_fatal=1 --output="$GS_CASE_DIR/fio.log"
read -r stores failed < <(stat_field "$S/frontswap_stat" stores failed_stores)
check_eq "$failed" 0 "failed_stores"
check_gt "$stores" 7 "stores"
read -r used limit < <(stat_field "$S/mm_stat" mem_used_total mem_limit)
check_eq "$limit" 16384 "mm_stat mem_limit"
((used <= limit)) || fail "mem_used_total $used exceeds mem_limit $limit"
info "mem_used_total $used"
unload_module || fail "unload failed"

#!/bin/bash
# Proves the extent cache reads whole extents only while that pays (the fill policy): with every page written back, reading the pages in a shuffled order drops the extents it reads whole before their other pages are asked for, so the policy turns to reading pages alone (debug_stat extent_cache_alone grows, extent_fill_score goes below 0); reading them again in order brings neighbours back, and whole-extent reads resume (extent_cache_fills grows, the score ends at or above 0). Every page reads back right both times.
# shellcheck source=SCRIPTDIR/../lib.sh
. "${GS_LIB:-$(dirname "$0")/../lib.sh}"

is_selftest && { selftest_note "zram keeps no extents in memory"; exit 0; }
BD=$(backing_disk) || fail "no backing disk (tests/vm/run.sh attaches one)"
S=$GS_SYSFS
CHECK=$(dirname "$0")/../pagecheck.py
ref=$GS_CASE_DIR/ref.img
pages=$(($(scaled_mib 16) * 256))


# Two entries: with the debug kernel's quarter of the pages, 8 entries would hold a
# third of the extents, and random reads would find theirs kept often enough to pay.
load_module disksize= cached_extents=2 || fail "load_module failed"
echo "$BD" >"$S/backing_dev" || fail "cannot set backing_dev"
echo $((pages * 4))K >"$S/disksize" || fail "cannot set disksize"
python3 "$CHECK" make "$ref" "$pages" || fail "cannot make the reference pages"
expect_ok "write the reference pages" dd if="$ref" of="$GS_DEV" bs=1M oflag=direct status=none
echo all >"$S/writeback" || fail "writeback all failed"
check_gt "$(read_stat "$GS_DEV" writeback_stat pages_written)" $((pages / 2)) \
	"pages written back (of $pages, a quarter same-filled)"

# 1. Random access: whole extents are read for nothing, and the policy stops.
PAGECHECK_MODE=check-shuffled pagecheck "$ref" no "shuffled reads of migrated pages"
fills=$(debug_stat_field extent_cache_fills) alone=$(debug_stat_field extent_cache_alone) hits=$(debug_stat_field extent_cache_hits)
info "shuffled: fills=$fills hits=$hits alone=$alone score=$(debug_stat_field extent_fill_score)"
check_gt "$alone" $((pages / 4)) "pages read alone, the policy's choice"
check_gt "$alone" "$fills" "pages read alone rather than with their extent"
check_lt "$(debug_stat_field extent_fill_score)" 0 "fill score after random reads"

# 2. In order: neighbours come back, and whole extents are read again.
pagecheck "$ref" no "reads of migrated pages in order"
info "in order: fills=$(debug_stat_field extent_cache_fills) hits=$(debug_stat_field extent_cache_hits)" \
	"alone=$(debug_stat_field extent_cache_alone) score=$(debug_stat_field extent_fill_score)"
# About 28 packed pages share an extent here: the extents of the half of the pages that
# are packed number about pages / 56.
check_gt $(($(debug_stat_field extent_cache_fills) - fills)) $((pages / 256)) "extents read whole again"
check_gt $(($(debug_stat_field extent_cache_hits) - hits)) $((pages / 4)) "pages taken from extents kept in memory"
check_ge "$(debug_stat_field extent_fill_score)" 0 "fill score after reads in order"
unload_module || fail "unload failed"

# shellcheck shell=bash
# Reading a device's one-line statistics files by field name, not by column number;
# sourced, never run (tests/vm/lib.sh sources it for the cases, the bench and the soak).
#
# GS_STAT_FIELDS[FILE] names FILE's fields in their order. For ghostswap's files the order
# is Documentation/ABI/testing/sysfs-block-ghostswap's, which tests/lib/check-stat-names.sh
# (run by tests/run-all.sh with the host tests) checks, so the two cannot drift apart.
# zram's files of the same names have the same fields (its io_stat prints 0 for
# invalid_io); `stat` is the block layer's (Documentation/block/stat.rst).
declare -gA GS_STAT_FIELDS=(
	[mm_stat]="orig_data_size compr_data_size mem_used_total mem_limit mem_used_max
		same_pages pages_compacted huge_pages huge_pages_since"
	[io_stat]="failed_reads failed_writes invalid_io notify_free"
	[frontswap_stat]="stores failed_stores loads invalidates same_filled huge"
	[bd_stat]="bd_count bd_reads bd_writes checksum_errors"
	[writeback_stat]="pages_written frames_written bytes_written failed_writebacks promotions
		backing_blocks_used backing_blocks_free fallthrough_stores auto_runs manual_runs
		buffer_fallbacks backoff_deferrals"
	[stat]="read_ios read_merges read_sectors read_ticks write_ios write_merges write_sectors
		write_ticks in_flight io_ticks time_in_queue discard_ios discard_merges
		discard_sectors discard_ticks flush_ios flush_ticks"
)

# stat_field PATH NAME...: the fields NAME... of the statistics file PATH (its file name,
# e.g. mm_stat, picks the table), space-separated in the order asked, all from one read
# of the file. Fails, saying why, for a file or field not in the table, or a file
# shorter than its table says.
stat_field() {
	local path=$1 file=${1##*/} name i
	local -a fields values out=()
	shift
	[[ -n ${GS_STAT_FIELDS[$file]:-} ]] || {
		echo "stat_field: no field names for $file" >&2
		return 1
	}
	read -r -d '' -a fields <<<"${GS_STAT_FIELDS[$file]}"
	read -r -a values <"$path" || {
		echo "stat_field: cannot read $path" >&2
		return 1
	}
	for name; do
		for ((i = 0; i < ${#fields[@]}; i++)); do
			[[ ${fields[i]} == "$name" ]] && break
		done
		if ((i == ${#fields[@]})); then
			echo "stat_field: $file has no field $name (fields: ${fields[*]})" >&2
			return 1
		fi
		if ((i >= ${#values[@]})); then
			echo "stat_field: $path has ${#values[@]} fields, no $name (field $((i + 1)))" >&2
			return 1
		fi
		out+=("${values[i]}")
	done
	echo "${out[*]}"
}

# shellcheck shell=bash
# Finding, inside a VM, a disk that tests/lib/vm.sh's `vm_run --disk IMAGE SERIAL`
# attached; sourced, never run.

# disk_by_serial SERIAL: the node (/dev/vdX) of the virtio disk whose serial is SERIAL;
# fails if there is none.
disk_by_serial() {
	local d
	for d in /sys/block/vd*; do
		[[ $(cat "$d/serial" 2>/dev/null) == "$1" ]] && {
			echo "/dev/${d##*/}"
			return 0
		}
	done
	return 1
}

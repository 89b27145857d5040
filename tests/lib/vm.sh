# shellcheck shell=bash
# The one virtme-ng launcher of the project's scripts (tests/vm, tests/bench, tests/soak,
# the KUnit runner, scripts/demo.sh); sourced, never run. Every VM is the same machine:
# QEMU under TCG (KVM does not work on these hosts), the host's root file system read-only
# over 9p, the guest's output on the console (`--verbose`: vng shows it only then when
# stdout is not a terminal).
#
#   vm_run --kernel BZIMAGE --log FILE [--mem SIZE] [--cpus N] [--append STRING]
#          [--rwdir DIR]... [--disk IMAGE SERIAL]... [--qemu-opt STRING]...
#          [--timeout SECONDS] [--progress SED_SCRIPT] -- COMMAND [ARG...]
#
# boots BZIMAGE with SIZE of memory (default 2G) and N CPUs (default 2), the kernel
# command line STRING (default "zswap.enabled=0"), each DIR writable, each IMAGE as a raw
# virtio-blk disk whose serial is SERIAL (the guest finds it with disk_by_serial,
# tests/lib/disk.sh), and the extra QEMU options (e.g. "-icount shift=0,sleep=off"), and
# runs COMMAND ARG... in it (each word quoted for the guest's shell). The whole console
# goes to FILE and to stdout; with --progress, stdout gets only what `sed -un SED_SCRIPT`
# prints of it, unless GS_VERBOSE=1. The VM is stopped after SECONDS (default 1500;
# SIGKILL 30 s after SIGTERM). Returns timeout's status: 124 or 137 if the VM was stopped, otherwise
# vng's (which means nothing: 255 even for a clean run with the console fallback), 2 if
# the call is wrong or vng is missing.
#
# vng is looked up on PATH after $GHOSTSWAP_CACHE/venv/bin (scripts/install-deps.sh puts
# it there), and its folder goes first on PATH: vng runs virtme-run from there.

# vm_vng: the path of vng; fails, saying why, if there is none.
vm_vng() {
	PATH=${GHOSTSWAP_CACHE:-$HOME/.cache/ghostswap}/venv/bin:$PATH command -v vng || {
		echo "vng not found (scripts/install-deps.sh puts it in \$GHOSTSWAP_CACHE/venv/bin)" >&2
		return 1
	}
}

# vm_run ...: see above.
vm_run() {
	local kernel='' log='' mem=2G cpus=2 append=zswap.enabled=0 timeout=1500 progress=''
	local vng arg
	local -a rwdirs=() qemu=() cmd=() vng_args run
	while (($#)); do
		case $1 in
		--kernel) kernel=${2:?} ;;
		--log) log=${2:?} ;;
		--mem) mem=${2:?} ;;
		--cpus) cpus=${2:?} ;;
		--append) append=${2?} ;;
		--rwdir) rwdirs+=(--rwdir "${2:?}") ;;
		--qemu-opt) qemu+=("${2:?}") ;;
		--timeout) timeout=${2:?} ;;
		--progress) progress=${2:?} ;;
		--disk)
			# IMAGE SERIAL: the serial doubles as QEMU's drive id.
			qemu+=("-drive file=${2:?},format=raw,if=none,id=${3:?},cache=unsafe"
				"-device virtio-blk-pci,drive=$3,serial=$3")
			shift
			;;
		--)
			shift
			cmd=("$@")
			break
			;;
		*)
			echo "vm_run: unknown argument '$1'" >&2
			return 2
			;;
		esac
		shift 2
	done
	if [[ -z $kernel || -z $log ]] || ((${#cmd[@]} == 0)); then
		echo "vm_run: --kernel, --log and a command are required" >&2
		return 2
	fi
	vng=$(vm_vng) || return 2
	vng_args=(--run "$kernel" --disable-kvm --force-9p -m "$mem" -p "$cpus" --verbose
		"${rwdirs[@]}" --append "$append")
	((${#qemu[@]} > 0)) && vng_args+=(--qemu-opts="${qemu[*]}")
	arg=$(printf '%q ' "${cmd[@]}")
	vng_args+=(--exec "${arg% }")
	run=(env "PATH=$(dirname "$vng"):$PATH" timeout --kill-after=30 "$timeout" "$vng" "${vng_args[@]}")
	if [[ -n $progress && ${GS_VERBOSE:-0} != 1 ]]; then
		"${run[@]}" </dev/null 2>&1 | tee "$log" | sed -un "$progress"
	else
		"${run[@]}" </dev/null 2>&1 | tee "$log"
	fi
	return "${PIPESTATUS[0]}"
}

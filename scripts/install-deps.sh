#!/usr/bin/env bash
# Installs everything the kernel build, the VM harness and the workloads need.
# Idempotent: a second run does nothing but check. Safe to call from every make target.
set -euo pipefail

RUST_PIN="1.85.0+dfsg3-1~deb12u3"
BINDGEN_VERSION="0.69.5"
VIRTME_VERSION="1.42"
STAMP_DIR="${GHOSTSWAP_CACHE:-$HOME/.cache/ghostswap}"
STAMP="$STAMP_DIR/deps-v1.stamp"

log() { printf 'install-deps: %s\n' "$*" >&2; }
die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

have_all() {
    [ -f "$STAMP" ] || return 1
    # The stamp records the rustc the kernel was set up with; a different one
    # (e.g. an apt upgrade) means installing again.
    [ "$(/usr/bin/rustc --version 2>/dev/null)" = "$(cat "$STAMP")" ] || return 1
    [ -f /usr/src/linux-source-6.12.tar.xz ] &&
    [ -x "$HOME/.cargo/bin/bindgen" ] && [ -x "$STAMP_DIR/venv/bin/vng" ] &&
    command -v fio >/dev/null && command -v clang-19 >/dev/null &&
    command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null &&
    command -v redis-cli >/dev/null && command -v sfdisk >/dev/null &&
    [ -x /usr/bin/time ] && command -v perf >/dev/null
}

if have_all; then exit 0; fi

APT_PKGS=(linux-source-6.12 clang-19 lld-19 llvm-19 libclang-19-dev
    flex bison bc libelf-dev libssl-dev cpio kmod xz-utils rsync
    fio stress-ng util-linux qemu-system-x86 busybox-static python3-venv
    dmsetup e2fsprogs procps fdisk redis-server redis-tools time linux-perf)
RUST_PKGS=(rustc-web rust-web-src libstd-rust-web-dev libstd-rust-web-1.85)

export DEBIAN_FRONTEND=noninteractive
log "apt-get update"
as_root apt-get update -qq
log "installing build and test packages"
as_root apt-get install -y -qq --no-install-recommends "${APT_PKGS[@]}" >/dev/null
# The bench (tests/bench/redis.sh) starts its own redis-server on a socket of its own; the
# packaged service must not run beside it. Without systemd (a container) the package may
# have started it through its init script.
as_root systemctl disable --now redis-server 2>/dev/null || true
if [ ! -d /run/systemd/system ] && [ -x /etc/init.d/redis-server ]; then
    as_root /etc/init.d/redis-server stop >/dev/null 2>&1 || true
fi

# The kernel needs rustc with a matching rust-src. Prefer the verified 1.85 pin; if
# Debian dropped it, fall back to whatever version the archive has and say so.
if apt-cache policy rustc-web | grep -F "$RUST_PIN" >/dev/null; then
    pinned=()
    for p in "${RUST_PKGS[@]}"; do pinned+=("$p=$RUST_PIN"); done
    log "installing pinned Rust $RUST_PIN"
    as_root apt-get install -y -qq --no-install-recommends --allow-downgrades "${pinned[@]}" >/dev/null
else
    log "WARNING: pinned Rust $RUST_PIN is no longer in the archive; using the candidate version"
    cand=$(apt-cache policy rustc-web | awk '/Candidate:/ {print $2}')
    [ -n "$cand" ] && [ "$cand" != "(none)" ] || die "rustc-web is not available from apt at all"
    minor=$(echo "$cand" | sed -E 's/^([0-9]+\.[0-9]+).*/\1/')
    as_root apt-get install -y -qq --no-install-recommends rustc-web rust-web-src \
        libstd-rust-web-dev "libstd-rust-web-$minor" >/dev/null
fi
[ -x /usr/bin/rustc ] || die "/usr/bin/rustc missing after install"

if ! "$HOME/.cargo/bin/bindgen" --version 2>/dev/null | grep -q "$BINDGEN_VERSION"; then
    log "building bindgen-cli $BINDGEN_VERSION"
    cargo install -q bindgen-cli --version "$BINDGEN_VERSION" --locked
fi

VENV="$STAMP_DIR/venv"
if [ ! -x "$VENV/bin/vng" ]; then
    log "installing virtme-ng $VIRTME_VERSION into $VENV"
    mkdir -p "$STAMP_DIR"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "virtme-ng==$VIRTME_VERSION"
fi
[ -x "$VENV/bin/vng" ] || die "virtme-ng did not install"

mkdir -p "$STAMP_DIR"
/usr/bin/rustc --version > "$STAMP"
log "all dependencies present"

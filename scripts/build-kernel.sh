#!/usr/bin/env bash
# Builds a ghostswap test kernel: Debian's 6.12 source + patches/ + config fragments.
#
# usage: scripts/build-kernel.sh [release|debug]
#
#   release  tinyconfig + kernel/ghostswap.config, built in $GHOSTSWAP_CACHE/build
#   debug    the same + kernel/ghostswap-debug.config (KASAN, lockdep, ...),
#            built in $GHOSTSWAP_CACHE/build-debug
#
# The source tree lives in $GHOSTSWAP_CACHE/src as a git repository of the pristine
# source, shared by both variants; it is only rewritten when the patch series
# changed, so one variant's build never makes the other rebuild. Each variant has
# its own output directory (O=) and its own stamp, keyed on the patches, its config
# fragments and the toolchain, so a module-only change skips the kernel entirely.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
variant=${1:-release}
cache=${GHOSTSWAP_CACHE:-$HOME/.cache/ghostswap}
src=$cache/src
tarball=/usr/src/linux-source-6.12.tar.xz

log() { printf 'build-kernel(%s): %s\n' "$variant" "$*" >&2; }
die() { printf 'build-kernel(%s): error: %s\n' "$variant" "$*" >&2; exit 1; }

GS_KERNEL_VARIANT=$variant
. "$repo/scripts/kmake-env.sh"
out=$KOUT
case $variant in
release) frags=("$repo/kernel/ghostswap.config") ;;
debug) frags=("$repo/kernel/ghostswap.config" "$repo/kernel/ghostswap-debug.config") ;;
*) die "unknown variant '$variant' (release or debug)" ;;
esac

series() { grep -v -e '^#' -e '^\s*$' "$repo/patches/series" 2>/dev/null || true; }
toolchain() {
    /usr/bin/rustc --version; "$BINDGEN" --version; clang-19 --version | head -1
    sha256sum "$tarball" | cut -d' ' -f1
}
series_key() {
    { for p in $(series); do cat "$repo/patches/$p"; done; toolchain; } | sha256sum | cut -d' ' -f1
}
key() { { cat "${frags[@]}"; series_key; } | sha256sum | cut -d' ' -f1; }

want=$(key)
if [ -f "$out/arch/x86/boot/bzImage" ] && [ "$(cat "$out.key" 2>/dev/null)" = "$want" ]; then
    log "kernel up to date ($out/arch/x86/boot/bzImage)"
    exit 0
fi

if [ ! -d "$src/.git" ]; then
    [ -f "$tarball" ] || die "$tarball missing: run scripts/install-deps.sh"
    log "extracting $tarball"
    rm -rf "$src" "$cache/linux-source-6.12"
    mkdir -p "$cache"
    tar -C "$cache" -xf "$tarball"
    mv "$cache/linux-source-6.12" "$src"
    # The Debian tree's .gitignore ignores everything; track it all with -f.
    git -C "$src" init -q
    git -C "$src" add -f -A .
    git -C "$src" -c user.name=ghostswap -c user.email=ghostswap@localhost commit -qm pristine
    git -C "$src" tag pristine
fi

# Back to pristine (only changed files are rewritten), then the series in order;
# skipped when the tree already carries this series.
series_want=$(series_key)
if [ "$(cat "$cache/src.key" 2>/dev/null)" != "$series_want" ]; then
    log "applying patches/series"
    rm -f "$cache/src.key"
    git -C "$src" checkout -q -f --detach pristine
    git -C "$src" clean -q -fdx
    for p in $(series); do
        git -C "$src" apply --whitespace=nowarn "$repo/patches/$p" || die "patch $p does not apply"
    done
    echo "$series_want" >"$cache/src.key"
fi

mkdir -p "$out"
merged=$out.fragment
if ! cat "${frags[@]}" | cmp -s - "$merged"; then
    log "configuring (tinyconfig + ${frags[*]##*/})"
    rm -f "$merged"
    kmake tinyconfig >/dev/null
    "$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "${frags[@]}" >/dev/null
    kmake olddefconfig >/dev/null
    # Every requested option must have survived dependency resolution.
    bad=0
    while IFS= read -r line; do
        case "$line" in CONFIG_*=*) ;; *) continue ;; esac
        opt=${line%%=*} val=${line#*=}
        if [ "$val" = n ]; then
            grep -q "^$opt=" "$out/.config" && { log "$opt should be off"; bad=1; }
        else
            grep -qx "$line" "$out/.config" || { log "$line did not take"; bad=1; }
        fi
    done < <(cat "${frags[@]}")
    [ "$bad" = 0 ] || die "config fragments not satisfied (see above)"
    cat "${frags[@]}" >"$merged"
fi

log "building bzImage in $out (10-25 minutes on a fresh cache)"
kmake -j"$(nproc)" bzImage modules
echo "$want" >"$out.key"
log "done: $out/arch/x86/boot/bzImage"

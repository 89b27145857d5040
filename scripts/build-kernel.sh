#!/usr/bin/env bash
# Builds the ghostswap test kernel: Debian's 6.12 source + patches/ + kernel/ghostswap.config.
#
# The source tree lives in $GHOSTSWAP_CACHE/src as a git repository of the pristine
# source, so switching to another patch series only rewrites the files that differ
# and make rebuilds incrementally. Build output goes to $GHOSTSWAP_CACHE/build (O=).
# A stamp keyed on the patches, the config fragment and the toolchain lets a
# module-only change skip the kernel entirely.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${GHOSTSWAP_CACHE:-$HOME/.cache/ghostswap}
src=$cache/src
out=$cache/build
tarball=/usr/src/linux-source-6.12.tar.xz

log() { printf 'build-kernel: %s\n' "$*" >&2; }
die() { printf 'build-kernel: error: %s\n' "$*" >&2; exit 1; }

. "$repo/scripts/kmake-env.sh"

key() {
    {
        cat "$repo/kernel/ghostswap.config"
        for p in $(series); do cat "$repo/patches/$p"; done
        /usr/bin/rustc --version; "$BINDGEN" --version; clang-19 --version | head -1
        sha256sum "$tarball" | cut -d' ' -f1
    } | sha256sum | cut -d' ' -f1
}
series() { grep -v -e '^#' -e '^\s*$' "$repo/patches/series" 2>/dev/null || true; }

want=$(key)
if [ -f "$out/arch/x86/boot/bzImage" ] && [ "$(cat "$cache/kernel.key" 2>/dev/null)" = "$want" ]; then
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

# Back to pristine (only changed files are rewritten), then the series in order.
log "applying patches/series"
git -C "$src" checkout -q -f --detach pristine
git -C "$src" clean -q -fdx
for p in $(series); do
    git -C "$src" apply --whitespace=nowarn "$repo/patches/$p" || die "patch $p does not apply"
done

mkdir -p "$out"
frag=$repo/kernel/ghostswap.config
if ! cmp -s "$frag" "$cache/config.fragment"; then
    log "configuring (tinyconfig + fragment)"
    kmake tinyconfig >/dev/null
    "$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$frag" >/dev/null
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
    done < "$frag"
    [ "$bad" = 0 ] || die "config fragment not satisfied (see above)"
    cp "$frag" "$cache/config.fragment"
fi

log "building bzImage (this takes 10-25 minutes on a fresh cache)"
kmake -j"$(nproc)" bzImage modules
echo "$want" > "$cache/kernel.key"
log "done: $out/arch/x86/boot/bzImage"

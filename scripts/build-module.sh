#!/usr/bin/env bash
# Builds ghostswap.ko against one of the cached test kernels.
#
# usage: scripts/build-module.sh [release|debug]
#
#   release  built in place (src/), copied to ./ghostswap.ko
#   debug    built in a mirror of the module's sources in
#            $GHOSTSWAP_CACHE/module-debug/<checkout>, so the two builds never
#            overwrite each other's objects (nor do two checkouts' debug
#            builds); copied to ./ghostswap-debug.ko
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
variant=${1:-release}
GS_KERNEL_VARIANT=$variant
. "$repo/scripts/kmake-env.sh"
case $variant in
release)
    kmake M="$repo" modules
    cp "$repo/src/ghostswap.ko" "$repo/ghostswap.ko"
    ;;
debug)
    mirror=$cache/module-debug/$(printf '%s' "$repo" | md5sum | cut -c1-12)
    mkdir -p "$mirror"
    # Sources only; rsync keeps their times, so an unchanged file is not rebuilt.
    # (--delete spares the excluded build products.)
    rsync -a --delete --include='*/' --include='*.rs' --exclude='*' \
        "$repo/src/" "$mirror/src/"
    cp -p "$repo/Kbuild" "$mirror/Kbuild"
    kmake M="$mirror" modules
    cp "$mirror/src/ghostswap.ko" "$repo/ghostswap-debug.ko"
    ;;
*)
    echo "build-module: unknown variant '$variant' (release or debug)" >&2
    exit 2
    ;;
esac

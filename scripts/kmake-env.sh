# shellcheck shell=bash
# Sourced by the build scripts: how to call the kernel's make with the pinned toolchain.
# GS_KERNEL_VARIANT (release or debug) picks the build directory; see build-kernel.sh.
cache=${GHOSTSWAP_CACHE:-$HOME/.cache/ghostswap}
KSRC=$cache/src
case ${GS_KERNEL_VARIANT:-release} in
debug) KOUT=$cache/build-debug ;;
*) KOUT=$cache/build ;;
esac
BINDGEN=${BINDGEN:-$HOME/.cargo/bin/bindgen}
export LIBCLANG_PATH=/usr/lib/llvm-19/lib
kmake() {
    make -C "$KSRC" O="$KOUT" LLVM=-19 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
        BINDGEN="$BINDGEN" "$@"
}

# Sourced by the build scripts: how to call the kernel's make with the pinned toolchain.
cache=${GHOSTSWAP_CACHE:-$HOME/.cache/ghostswap}
KSRC=$cache/src
KOUT=$cache/build
BINDGEN=${BINDGEN:-$HOME/.cargo/bin/bindgen}
export LIBCLANG_PATH=/usr/lib/llvm-19/lib
kmake() {
    make -C "$KSRC" O="$KOUT" LLVM=-19 RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc \
        BINDGEN="$BINDGEN" "$@"
}

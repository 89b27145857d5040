# SPDX-License-Identifier: GPL-2.0
#
# ghostswap: top-level targets. Kbuild (the kernel's make) is called for the
# module itself; see Kbuild.
#
#   make demo     install what is missing, build, boot a VM, swap through ghostswap0
#   make test     host tests + VM tests; ends with "N passed, N failed"
#   make kernel   the cached test kernel (~/.cache/ghostswap/build)
#   make module   ghostswap.ko against that kernel
#   make kernel-debug, make module-debug
#                 the same with KASAN, lockdep & co (~/.cache/ghostswap/build-debug,
#                 ghostswap-debug.ko); make test runs every VM case on both
#   make bench    ghostswap vs zram in one VM (tests/bench); not part of make test
#   make soak DURATION=30m
#                 loops every kind of work on the debug kernel (tests/soak)

SHELL := /bin/bash
CACHE ?= $(HOME)/.cache/ghostswap
export GHOSTSWAP_CACHE := $(CACHE)

KMAKE = source scripts/kmake-env.sh && kmake

.PHONY: all deps kernel kernel-debug module module-debug tools test test-host test-vm \
	test-vm-debug demo bench soak clean

all: module tools

deps:
	@bash scripts/install-deps.sh

kernel: deps
	@bash scripts/build-kernel.sh

kernel-debug: deps
	@bash scripts/build-kernel.sh debug

module: kernel
	@bash scripts/build-module.sh release

module-debug: kernel-debug
	@bash scripts/build-module.sh debug

tools: deps
	@cargo build --release -q -p swapcheck -p ghostswapctl

test-host: deps
	@cargo test --workspace 2>&1 | tee $(CACHE)/host-tests.log

test-vm: module tools
	@bash tests/vm/run.sh

test-vm-debug: module-debug tools
	@bash tests/vm/run.sh --debug

test: module module-debug tools
	@bash tests/run-all.sh

demo: module tools
	@bash scripts/demo.sh

bench: module tools
	@bash tests/bench/run.sh

DURATION ?= 30m
soak: module-debug tools
	@bash tests/soak/run.sh $(DURATION)

clean:
	-@$(KMAKE) M=$(CURDIR) clean >/dev/null 2>&1
	rm -f ghostswap.ko ghostswap-debug.ko
	cargo clean

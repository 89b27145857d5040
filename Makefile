# SPDX-License-Identifier: GPL-2.0
#
# ghostswap: top-level targets. Kbuild (the kernel's make) is called for the
# module itself; see Kbuild.
#
#   make demo     install what is missing, build, boot a VM, swap through ghostswap0
#   make test     host tests + VM tests; ends with "N passed, N failed"
#   make kernel   the cached test kernel (~/.cache/ghostswap)
#   make module   ghostswap.ko against that kernel
#   make bench    ghostswap vs zram in one VM (tests/bench); not part of make test

SHELL := /bin/bash
CACHE ?= $(HOME)/.cache/ghostswap
export GHOSTSWAP_CACHE := $(CACHE)

KMAKE = source scripts/kmake-env.sh && kmake

.PHONY: all deps kernel module tools test test-host test-vm demo bench clean

all: module tools

deps:
	@bash scripts/install-deps.sh

kernel: deps
	@bash scripts/build-kernel.sh

module: kernel
	@$(KMAKE) M=$(CURDIR) modules
	@cp src/ghostswap.ko ghostswap.ko

tools: deps
	@cargo build --release -q -p swapcheck

test-host: deps
	@cargo test --workspace 2>&1 | tee $(CACHE)/host-tests.log

test-vm: module tools
	@bash tests/vm/run.sh

test: module tools
	@bash tests/run-all.sh

demo: module tools
	@bash scripts/demo.sh

bench: module tools
	@bash tests/bench/run.sh

clean:
	-@$(KMAKE) M=$(CURDIR) clean >/dev/null 2>&1
	rm -f ghostswap.ko
	cargo clean

# LANrage top-level Makefile: thin wrapper over Meson/Ninja.
#   make          build everything into build/
#   make check    install missing packages, build, run every test
#   make demo     install missing packages, build, run `lanrage demo` (a party in natlab)
#   make fuzz     run each fuzz target for FUZZ_SECONDS (default 300)
#   make bench    run the benchmarks (root)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
CLANG_BUILD ?= build-clang
FUZZ_SECONDS ?= 300

.PHONY: all build asan clang fuzz-build deps check demo fuzz bench clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

asan: $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

$(CLANG_BUILD)/build.ninja:
	CC=clang meson setup $(CLANG_BUILD) --buildtype=debugoptimized

clang: $(CLANG_BUILD)/build.ninja
	ninja -C $(CLANG_BUILD)

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) --buildtype=debugoptimized -Dfuzz=true -Dtests=false \
		-Db_sanitize=address,undefined -Db_lundef=false

fuzz-build: $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)

check: deps
	@scripts/check.sh

demo: deps build
	@$(BUILD)/lanrage demo

fuzz: deps fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

bench: deps build
	@bench/wg-vs-wireguard-go

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(CLANG_BUILD) $(FUZZ_BUILD)

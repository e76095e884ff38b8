# eseal: thin wrapper around CMake. `make help` lists the targets.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
WERROR     ?= OFF
FUZZ_SECONDS ?= 60
LISTEN     ?= 127.0.0.1:8440
CMAKE_GEN  := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all build deps check check-asan run demo fuzz bench bench-ofd format clean help

all: build

help:
	@echo "make            build everything into $(BUILD)/"
	@echo "make run        build and start esealsd on embedded defaults (var/), LISTEN=$(LISTEN)"
	@echo "make demo       the walk-through: root key, a seal, sign a file, verify it"
	@echo "make check      install missing Debian packages, build, run every test"
	@echo "make check-asan the tests under AddressSanitizer + UBSan ($(ASAN_BUILD)/)"
	@echo "make fuzz       libFuzzer targets for FUZZ_SECONDS each (default $(FUZZ_SECONDS))"
	@echo "make bench      benchmark programs (figures, not tests): seal, key devices, CA"
	@echo "make bench-ofd  sign and verify a generated 200 MB OFD"
	@echo "make format     clang-format the C sources"

deps:
	scripts/deps.sh

$(BUILD)/build.ninja $(BUILD)/Makefile:
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DESEAL_WERROR=$(WERROR)

build: $(BUILD)/$(if $(CMAKE_GEN),build.ninja,Makefile)
	cmake --build $(BUILD) -j $(JOBS)

check: deps
	cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DESEAL_WERROR=$(WERROR)
	cmake --build $(BUILD) -j $(JOBS)
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

check-asan: deps
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DESEAL_SANITIZE=ON -DESEAL_WERROR=$(WERROR)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j $(JOBS)

# The daemon on embedded defaults: the site (keys, SQLite) in var/ of the repository. The first
# start prints the console URL and the administrator's one-time password.
run: deps build
	$(BUILD)/esealsd --var var --listen $(LISTEN)

demo: deps build
	scripts/demo.sh $(BUILD)/eseal

fuzz: deps
	scripts/fuzz.sh $(FUZZ_SECONDS)

bench: build
	$(BUILD)/bench_seal
	$(BUILD)/bench_keydev
	$(BUILD)/bench_ca
	bench/bench_api.sh $(BUILD)/esealsd

# Generates a 200 MB OFD in a temporary directory: minutes, and 400 MB of disk.
bench-ofd: build
	$(BUILD)/bench_ofd

format:
	clang-format -i include/eseal/*.h src/*/*.c src/*/*.h tools/*.c tools/*.h tests/*.c tests/*.h \
	    $(wildcard bench/*.c bench/*.h fuzz/*.c)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz

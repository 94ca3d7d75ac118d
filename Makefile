# sqz - the two commands of the README:
#   make demo    install what is missing, build, then a short tour that trains and evaluates (scripts/demo.sh)
#   make test    install missing build + test packages, build, run every test (ctest)
# and
#   make build   install missing build packages, configure build/ (warnings are errors), compile
#   make asan    unit, CLI and malformed-input tests in an AddressSanitizer + UBSan build (build-asan/)
#   make clean   remove build/ and build-asan/
SHELL := /bin/bash
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all build test demo asan clean compile

all: build

build:
	@scripts/setup.sh --build
	@$(MAKE) --no-print-directory compile || { echo "make build: FAILED: the build failed (see above)"; exit 1; }

compile:
	cmake -S . -B $(BUILD) -DSQZ_WERROR=ON $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j$(JOBS)

test:
	@scripts/setup.sh --test
	@$(MAKE) --no-print-directory compile || { echo "make test: FAILED: the build failed (see above)"; exit 1; }
	@set -o pipefail; rc=0; \
	ctest --test-dir $(BUILD) --output-on-failure -j$(JOBS) 2>&1 | tee $(BUILD)/ctest.log || rc=$$?; \
	echo; \
	if [[ $$rc -eq 0 ]]; then \
	  echo "make test: PASSED: $$(grep -E 'tests passed' $(BUILD)/ctest.log | tail -1)"; \
	else \
	  echo "make test: FAILED: $$(grep -E 'tests passed' $(BUILD)/ctest.log | tail -1)"; \
	  sed -n '/The following tests FAILED/,$$p' $(BUILD)/ctest.log; \
	fi; \
	exit $$rc

demo:
	@scripts/setup.sh --build
	@$(MAKE) --no-print-directory compile >/dev/null
	@scripts/demo.sh $(BUILD)/sqz

asan:
	@scripts/setup.sh --build
	cmake -S . -B $(ASAN_BUILD) -DSQZ_WERROR=ON -DSQZ_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	@set -o pipefail; rc=0; \
	ASAN_OPTIONS=$${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1} \
	UBSAN_OPTIONS=$${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
	ctest --test-dir $(ASAN_BUILD) -L 'unit|cli|malformed' --output-on-failure -j$(JOBS) || rc=$$?; \
	if [[ $$rc -eq 0 ]]; then echo "make asan: PASSED (unit, CLI and malformed-input tests under ASan+UBSan)"; \
	else echo "make asan: FAILED (unit tests under ASan+UBSan, see above)"; fi; \
	exit $$rc

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

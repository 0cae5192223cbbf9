# objgraph -- the two set-up commands of the README, and a few more.
#   make demo   installs what is missing, builds, runs the demo
#   make test   installs what is missing, builds, runs every test
# Each works on a fresh Debian machine by itself (apt-get as root or sudo).

PYTHON ?= python3
PIP := $(PYTHON) -m pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := cmake g++ graphviz libjemalloc-dev libbenchmark-dev \
                libigraph-dev clang-format gdb
# the HTML report's tests load it in headless Chromium
APT_PACKAGES += chromium
PY_PACKAGES := scikit-build-core cmake ninja pytest hypothesis ruff graphviz mypy
REF_DIR := build/ref
REF := $(REF_DIR)/objgraph.py
STAMP := build/.installed

.PHONY: all deps build demo test test-core test-python lint bench clean

C_SOURCES = $(shell git ls-files 'core/*.c' 'core/*.h' 'capture/*.c' \
              'capture/*.h' 'python/ext/*.c' 'python/ext/*.h' \
              'tests/core/*.c' 'tests/core/*.h' 'bench/*.cc' 2>/dev/null)
PY_SOURCES = python/objgraph python/_objgraph_pytestplugin.py tests/python bench docs/run_doctests.py tools

all: build

deps: build/.deps
build/.deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    $(SUDO) apt-get install -y -qq $$missing >/dev/null; fi
	$(PIP) install -q --disable-pip-version-check $(PY_PACKAGES)
	@mkdir -p build && touch $@

# objgraph 3.7.0, the reference the differential tests compare against,
# installed beside the project (it is loaded as objgraph_ref, never as
# objgraph).
$(REF): | build/.deps
	$(PIP) install -q --disable-pip-version-check --no-deps \
	  --target $(REF_DIR) objgraph==3.7.0

build: build/.deps
	$(PIP) install -q --disable-pip-version-check --no-build-isolation .

demo: build
	objgraph demo --image build/demo-leak.png

# The Python suite and the doctests run once per CPython >= 3.10 found
# (test-versions, last: it takes the longest); the core's ctest and the
# fuzzing once.
test: lint build $(REF) test-core fuzz test-versions

test-core: build/.deps
	cmake -S . -B build/core -DHG_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Release \
	  >/dev/null
	cmake --build build/core -j2
	ctest --test-dir build/core --output-on-failure

test-python: build $(REF)
	cd tests/python && OBJGRAPH_REF_PATH=$(CURDIR)/$(REF) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider .

# The Python suite (the differential tests against objgraph 3.7.0
# included) and the guide's doctests on every CPython >= 3.10 found --
# pyenv's versions and python3.X on PATH, one per minor version -- each in
# its own virtual environment, build/venv-3.X, and on 3.11 once more with
# the portable capture forced.  One "== suite on CPython ..." line per run;
# any failure fails the target (tools/test_versions.py).
.PHONY: test-versions
test-versions: $(REF)
	$(PYTHON) tools/test_versions.py --ref $(REF)

# The Python suite again with the portable capture forced (capture/
# portable.c: public C API only, the capture of every CPython without a
# native one); the few tests of what only the native capture does are
# skipped, each saying why (tests/python/conftest.py: native_only).
.PHONY: test-portable
test-portable: build $(REF)
	cd tests/python && OBJGRAPH_CAPTURE=portable \
	  OBJGRAPH_REF_PATH=$(CURDIR)/$(REF) \
	  $(PYTHON) -m pytest -q -p no:cacheprovider .

# libFuzzer on the snapshot file reader (tests/core/fuzz_snapfile.c) for
# FUZZ_SECONDS, built with clang, ASan and UBSan in build/fuzz; installs clang
# and its fuzzer runtime when missing.  Crashes leave crash-* files in
# build/fuzz.
FUZZ_SECONDS ?= 40
.PHONY: fuzz
fuzz:
	@command -v clang >/dev/null && dpkg -s libclang-rt-14-dev >/dev/null \
	  2>&1 || { echo "installing clang libclang-rt-14-dev"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  $(SUDO) apt-get install -y -qq clang libclang-rt-14-dev >/dev/null; }
	CC=clang cmake -S . -B build/fuzz -DHG_BUILD_FUZZ=ON -DHG_USE_OPENMP=OFF \
	  -DHG_WITH_JEMALLOC=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build/fuzz -j2 --target fuzz_snapfile
	mkdir -p build/fuzz/corpus
	cd build/fuzz && HG_FUZZ_SEED_DIR=corpus ./fuzz_snapfile \
	  -max_total_time=$(FUZZ_SECONDS) -max_len=4096 corpus >fuzz.log 2>&1 \
	  || { tail -40 fuzz.log; exit 1; }; tail -2 fuzz.log

# The user guide's examples (docs/*.rst) as doctests.  Here the pictures
# they draw go to build/...
.PHONY: test-docs docs
test-docs: build
	$(PYTHON) docs/run_doctests.py --images build/docs-images

# ... and here to docs/images/: the pictures the guide shows, redrawn in
# place, to be looked at and committed.
docs: build
	$(PYTHON) docs/run_doctests.py

# One layout, enforced: clang-format (.clang-format) and ruff (pyproject).
lint: build/.deps
	clang-format --dry-run -Werror $(C_SOURCES)
	$(PYTHON) -m ruff check $(PY_SOURCES)

# The Python suite: 1M/3M/10M-instance heaps against gc.collect(), one
# tp_traverse pass, objgraph 3.7.0, guppy3 and pympler; snapshot(fork=True)
# against one tp_traverse pass and the in-process capture, with a counting
# thread and the child's memory (bench/fork_bench.py); writes
# build/heap_bench.json, docs/benchmarks.md and docs/benchmarks.png (with
# the core harness tables from bench-core, which runs first, and the fork
# table).  Then the
# capture on every CPython >= 3.10 found, native and portable, at 1M and 3M
# instances (bench/version_bench.py, a venv per version in
# build/bench-venv-3.X): build/version_bench.json,
# docs/benchmarks-versions.md and its section of docs/benchmarks.md.
# Then the capture on heaps shaped like real programs (ast, json, mixed
# beside the plain one: bench/shapes_bench.py), its section of
# docs/benchmarks.md.
bench: build $(REF) bench-core
	$(PIP) install -q --disable-pip-version-check guppy3 pympler matplotlib
	OBJGRAPH_REF_PATH=$(CURDIR)/$(REF) $(PYTHON) bench/draw_bench.py \
	  --dot-timeout 60 --json build/draw_bench.json \
	  --markdown build/draw_bench.md
	OBJGRAPH_REF_PATH=$(CURDIR)/$(REF) $(PYTHON) bench/retention_bench.py \
	  --json build/retention_bench.json --markdown build/retention_bench.md
	$(PYTHON) bench/fork_bench.py --json build/fork_bench.json \
	  --markdown build/fork_bench.md
	$(PYTHON) bench/canary_bench.py --json build/canary_bench.json --markdown build/canary_bench.md
	OBJGRAPH_REF_PATH=$(CURDIR)/$(REF) $(PYTHON) bench/heap_bench.py \
	  --json build/heap_bench.json --markdown docs/benchmarks.md
	$(PYTHON) bench/version_bench.py --json build/version_bench.json \
	  --markdown docs/benchmarks-versions.md --section docs/benchmarks.md
	$(PYTHON) bench/shapes_bench.py --json build/shapes_bench.json \
	  --section docs/benchmarks.md

# The core kernels against igraph's C core and memcpy (bench/core_bench.cc),
# built with jemalloc and with malloc: build/core_bench.json and
# build/core_bench_malloc.json (the kernels that allocate), tables from
# bench/core_report.py.  About 4 minutes on 2 busy cores.
CORE_BENCH_RUN = --benchmark_min_time=0.2 --benchmark_repetitions=3 \
                 --benchmark_report_aggregates_only=true \
                 --benchmark_out_format=json
CORE_BENCH_ALLOC = ^BM_(Transpose|Bfs|Reach|InDegree)

.PHONY: bench-core
bench-core: build/.deps
	cmake -S . -B build/bench -DHG_BUILD_BENCH=ON -DHG_WITH_JEMALLOC=ON \
	  -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build/bench -j2
	cmake -S . -B build/bench-malloc -DHG_BUILD_BENCH=ON \
	  -DHG_WITH_JEMALLOC=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build/bench-malloc -j2
	build/bench/bench/core_bench $(CORE_BENCH_RUN) \
	  --benchmark_out=build/core_bench.json
	build/bench-malloc/bench/core_bench $(CORE_BENCH_RUN) \
	  --benchmark_filter='$(CORE_BENCH_ALLOC)' \
	  --benchmark_out=build/core_bench_malloc.json
	$(PYTHON) bench/core_report.py build/core_bench.json \
	  build/core_bench_malloc.json

# One repaired manylinux wheel per CPython >= 3.10 found (pyenv's, then
# python3.X on PATH) in build/wheels/dist, libgomp bundled by auditwheel;
# each installed into a fresh venv and run (objgraph demo) with no compiler
# on PATH: tools/build_wheels.py.  WHEEL_PYTHONS: interpreters to build
# for instead.
.PHONY: wheels
wheels: build/.deps
	$(PYTHON) tools/build_wheels.py $(WHEEL_PYTHONS)

clean:
	rm -rf build

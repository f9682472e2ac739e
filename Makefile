# nomaly: the two commands are `make quickstart` and `make test`. Both run scripts/setup.sh first.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
LAUNCHER := $(shell command -v ccache >/dev/null 2>&1 && echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

PREFIX ?= /usr/local

.PHONY: setup configure build test python python-test python-install quickstart bench accuracy fuzz clean install

setup:
	@bash scripts/setup.sh >/dev/null

configure: setup
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release -DNOMALY_WERROR=ON $(LAUNCHER) $(CMAKE_FLAGS) >/dev/null

build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)

# ctest, then the Python package's pytest suite (python/tests, run with Debian's /usr/bin/python3).
test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 900
	$(MAKE) --no-print-directory python-test

# The Python package (issue 12): the _nomaly extension + python/nomaly, assembled in $(BUILD_DIR)/python.
python: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target nomaly_python_files nomaly_cli

python-test: python
	NOMALY_BUILD_DIR=$(abspath $(BUILD_DIR)) /usr/bin/python3 -m pytest -q -p no:cacheprovider python/tests

# Installs `nomaly` for the current user (pip --user); VENV=/path installs into a --system-site-packages venv
# (usable by other users), SYSTEM=1 into the system Python. Offline: pip --no-build-isolation --no-index.
python-install: python
	SYSTEM=$(SYSTEM) bash scripts/python_install.sh $(BUILD_DIR) $(VENV)

# The quickstart needs only the CLI, not the test suite and benchmarks.
quickstart: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target nomaly_cli
	./$(BUILD_DIR)/nomaly quickstart

# <PREFIX>/bin/nomaly and <PREFIX>/lib/libonnxruntime.so.1 (found through the rpath $ORIGIN/../lib).
install: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target nomaly_cli
	cmake --install $(BUILD_DIR) --prefix $(PREFIX)

bench: build
	bash bench/run_bench.sh $(BUILD_DIR)

accuracy: build
	bash bench/run_accuracy.sh $(BUILD_DIR)

fuzz: setup
	bash fuzz/run_fuzz.sh $${FUZZ_SECONDS:-60}

clean:
	rm -rf $(BUILD_DIR)

#!/usr/bin/env bash
# Extra CI stage (issue 8), run by .ci/run after `make test`:
#   1. the test suite built with -fsanitize=address,undefined (and without libtorch, which is also CI's
#      torch-less configuration) in build-asan/, running the documented subset below;
#   2. every libFuzzer target for FUZZ_SECONDS (default 30) via fuzz/run_fuzz.sh.
# Any sanitizer report, leak, test failure or fuzzer crash fails the stage.
#
# The subset (see docs/robustness.md, "Sanitizers"): every loader and parser (CSV, parameters, flags, the
# native format and the persistence service, ONNX model loading and inspection, ONNX export), the
# robustness table, crash safety, concurrency, and the deep detectors' DependencyMissing/flag tests.
# Left out: the all-dataset accuracy/parity loops (Conformance, Zoo*, *RealData, DeepAccuracy), which
# exercise the same code as the kept tests on more data and take minutes under ASan.
#
# Env: SKIP_FUZZ=1 (sanitizer tests only), SKIP_ASAN=1 (fuzzing only), JOBS (default nproc),
#      ASAN_BUILD_DIR (default build-asan), FUZZ_SECONDS (default 30).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${JOBS:-$(nproc)}"
BUILD="${ASAN_BUILD_DIR:-build-asan}"
LAUNCHER=()
command -v ccache >/dev/null 2>&1 && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

GTEST_SUBSET='Csv*:Dataset*:Params*:Flags*:Metrics*:Persistence*:Native*:Store*:Export*:Stub*'
GTEST_SUBSET+=':OnnxModel*:OnnxInspect*:OnnxExport*:GraphBuilder*:IForest.*:IForestMath*:Hbos*:Ecod*'
GTEST_SUBSET+=':Robustness*:CrashSafety*:*Concurrency*:DeepNoTorch*:DeepFlag*:DeepRegistry*'

if [ "${SKIP_ASAN:-0}" != 1 ]; then
  t0=$(date +%s)
  # -O1 -g1: ASan's recommended optimisation, line tables for symbolised reports, half the compile time
  # of -O2 -g. Assertions stay on (no NDEBUG). Warnings are not errors here: GCC 12 reports false
  # -Wmaybe-uninitialized inside <regex> under ASan; the normal build (make test) enforces -Werror.
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" \
    -DNOMALY_SANITIZE=ON -DNOMALY_WITH_TORCH=OFF -DNOMALY_BUILD_BENCH=OFF -DNOMALY_WERROR=OFF "${LAUNCHER[@]}" >/dev/null
  cmake --build "$BUILD" -j "$JOBS" --target nomaly_tests
  t1=$(date +%s)
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
  export LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  "$BUILD/nomaly_tests" --gtest_filter="$GTEST_SUBSET" --gtest_brief=1
  t2=$(date +%s)
  echo "ci_extra: sanitizer build $((t1 - t0)) s, sanitizer tests $((t2 - t1)) s"
fi

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
  # A fixed libFuzzer seed keeps CI repeatable; `make fuzz` explores with random seeds.
  FUZZ_SEED="${FUZZ_SEED:-1}" bash fuzz/run_fuzz.sh "${FUZZ_SECONDS:-30}"
fi

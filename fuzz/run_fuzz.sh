#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, ASan + UBSan) in build-fuzz/, writes the seed corpora, and runs
# each target for SECONDS (default 60). Any crash, sanitizer report, leak or uncaught exception fails the
# run; the reproducer is kept in build-fuzz/artifacts/<target>/.
#
# Usage: fuzz/run_fuzz.sh [SECONDS] [TARGET...]      (targets: csv native stub metadata onnx)
# Env:   FUZZ_BUILD_DIR (default build-fuzz), FUZZ_JOBS (build jobs, default 2), FUZZ_SEED (libFuzzer -seed;
#        unset = random, as `make fuzz` runs; CI sets 1 so that a run is repeatable)
# Reproduce a finding: build-fuzz/fuzz_<target> build-fuzz/artifacts/<target>/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET="${1:-60}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(csv native stub metadata onnx)
BUILD="${FUZZ_BUILD_DIR:-build-fuzz}"
CXX_BIN="$(command -v clang++-14 || true)"
[ -n "$CXX_BIN" ] || { echo "run_fuzz.sh: clang++-14 not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 2; }
LAUNCHER=()
command -v ccache >/dev/null 2>&1 && LAUNCHER=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

cmake -S fuzz -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang-14 \
  -DCMAKE_CXX_COMPILER="$CXX_BIN" "${LAUNCHER[@]}" >/dev/null
cmake --build "$BUILD" -j "${FUZZ_JOBS:-2}" --target make_seeds $(printf 'fuzz_%s ' "${TARGETS[@]}")

# Leaks inside ONNX Runtime / protobuf (uninstrumented) are suppressed by name; never our code.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}"
export LSAN_OPTIONS="suppressions=$PWD/fuzz/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# ONNX Runtime's arena cap (docs/onnx-contract.md), below libFuzzer's 2 GiB -malloc_limit_mb: a graph that
# computes a huge size must fail as an OnnxModelError, which is what the harness accepts.
export NOMALY_ONNX_MAX_MEMORY_MB="${NOMALY_ONNX_MAX_MEMORY_MB:-1024}"

SEEDS="$BUILD/seeds"
rm -rf "$SEEDS"
"$BUILD/make_seeds" "$SEEDS" >/dev/null 2>"$BUILD/make_seeds.log" || { cat "$BUILD/make_seeds.log" >&2; exit 1; }

SEED_ARGS=()
[ -n "${FUZZ_SEED:-}" ] && SEED_ARGS=(-seed="$FUZZ_SEED")
declare -A MAXLEN=([csv]=4096 [native]=65536 [stub]=8192 [metadata]=8192 [onnx]=65536)
failed=()
for t in "${TARGETS[@]}"; do
  corpus="$BUILD/corpus/$t"
  artifacts="$BUILD/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  echo "== fuzz_$t: ${SECONDS_PER_TARGET}s (corpus $corpus, seeds $SEEDS/$t)"
  # -rss_limit_mb bounds memory per input; -timeout flags inputs that hang.
  if "$BUILD/fuzz_$t" "$corpus" "$SEEDS/$t" -max_total_time="$SECONDS_PER_TARGET" -max_len="${MAXLEN[$t]}" \
      -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 -artifact_prefix="$artifacts/" "${SEED_ARGS[@]}" \
      >"$BUILD/fuzz_$t.log" 2>&1; then
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$BUILD/fuzz_$t.log" | tr '\n' ' '; echo
  else
    echo "!! fuzz_$t FAILED; log: $BUILD/fuzz_$t.log; artifacts: $artifacts" >&2
    grep -E "ERROR|SUMMARY|terminate|==[0-9]+==" "$BUILD/fuzz_$t.log" | head -20 >&2 || true
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found problems in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzzing: all ${#TARGETS[@]} targets clean"

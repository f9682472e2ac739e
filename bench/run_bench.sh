#!/usr/bin/env bash
# `make bench`: nomaly's Google Benchmark suite, then scikit-learn on the same rows, then the ratio report.
#   bash bench/run_bench.sh [BUILD_DIR]
# Environment: BENCH_FILTER (Google Benchmark regex, default all), BENCH_MIN_TIME (seconds per benchmark,
# default 0.2), SK_BUDGET (seconds per sklearn measurement, default 0.3), SK_ALGORITHMS (comma list, default
# all), BENCH_OUT (default bench/results/speed.md), PYTHON (default /usr/bin/python3, Debian's sklearn),
# SKIP_SERVE_BENCH=1, SERVE_BENCH_SECONDS (per wrk case, default 10), SERVE_BENCH_OUT (default bench/results/serve.md).
# Raw results stay in BUILD_DIR/bench/: nomaly_bench.json (Google Benchmark JSON), sklearn_speed.json.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$(cd "$ROOT" && realpath -m "${1:-build}")"
PYTHON="${PYTHON:-/usr/bin/python3}"
RAW="$BUILD_DIR/bench"
OUT="${BENCH_OUT:-$ROOT/bench/results/speed.md}"

[[ -x "$BUILD_DIR/nomaly_bench" ]] || cmake --build "$BUILD_DIR" --target nomaly_bench -j "$(nproc)"
"$PYTHON" -c 'import sklearn, threadpoolctl' 2>/dev/null ||
  { echo "run_bench: $PYTHON lacks sklearn (apt-get install python3-sklearn)" >&2; exit 1; }
mkdir -p "$RAW"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

echo "== nomaly_bench (Google Benchmark JSON: $RAW/nomaly_bench.json)"
start=$SECONDS
"$BUILD_DIR/nomaly_bench" --benchmark_filter="${BENCH_FILTER:-.}" --benchmark_min_time="${BENCH_MIN_TIME:-0.2}" \
  --benchmark_out="$RAW/nomaly_bench.json" --benchmark_out_format=json --benchmark_counters_tabular=false
echo "   $((SECONDS - start)) s"

echo "== scikit-learn on the same rows ($RAW/sklearn_speed.json)"
start=$SECONDS
PYTHONWARNINGS=ignore "$PYTHON" "$ROOT/bench/sklearn_speed.py" --out "$RAW/sklearn_speed.json" \
  --budget "${SK_BUDGET:-0.3}" --algorithms "${SK_ALGORITHMS:-}"
echo "   $((SECONDS - start)) s"

"$PYTHON" "$ROOT/bench/report.py" speed --bench "$RAW/nomaly_bench.json" --sklearn "$RAW/sklearn_speed.json" \
  --out "$OUT" --note "Run on $(date -u +%Y-%m-%d) on $(nproc) cores; load average $load_before before the run, \
$(cut -d' ' -f1-3 /proc/loadavg) after it."
echo "== wrote $OUT"

# Python package (issue 12): IForest from Python vs the CLI's native scoring and sklearn, same run.
echo "== Python package (bench/results/python.md)"
[[ -n "$(ls "$BUILD_DIR"/python/nomaly/_nomaly*.so 2>/dev/null)" ]] ||
  cmake --build "$BUILD_DIR" --target nomaly_python_files nomaly_cli -j "$(nproc)"
PYTHONWARNINGS=ignore "$PYTHON" "$ROOT/bench/python_speed.py" --build "$BUILD_DIR" \
  --out "$(dirname "$OUT")/python.md" --json "$RAW/python_speed.json"
# nomaly serve against FastAPI + uvicorn + sklearn over HTTP (wrk on loopback); SKIP_SERVE_BENCH=1 skips it.
if [[ "${SKIP_SERVE_BENCH:-0}" != 1 ]]; then
  SERVE_OUT="${SERVE_BENCH_OUT:-$ROOT/bench/results/serve.md}"
  echo "== nomaly serve vs FastAPI + uvicorn + scikit-learn ($SERVE_OUT)"
  [[ -x "$BUILD_DIR/nomaly" ]] || cmake --build "$BUILD_DIR" --target nomaly_cli -j "$(nproc)"
  "$PYTHON" "$ROOT/bench/serve_bench.py" --cli "$BUILD_DIR/nomaly" --out "$SERVE_OUT" --json-out "$RAW/serve_bench.json"
fi

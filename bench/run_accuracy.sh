#!/usr/bin/env bash
# `make accuracy`: every registered detector on every ../shared/data set, scikit-learn beside it, in one run.
#   bash bench/run_accuracy.sh [BUILD_DIR]
# Environment: ACCURACY_SEEDS (default 5), ACCURACY_DEEP_SEEDS (seeds of the libtorch networks, default 1:
# DeepSVDD's 100 epochs take minutes per seed on musk/optdigits), ACCURACY_DATASETS / ACCURACY_ALGORITHMS (comma lists, default all),
# ACCURACY_OUT (default bench/results), NOMALY_DATA_DIR (default <repo>/../shared/data), PYTHON (default
# /usr/bin/python3, Debian's, which has python3-sklearn and python3-matplotlib).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="$(cd "$ROOT" && realpath -m "${1:-build}")"
PYTHON="${PYTHON:-/usr/bin/python3}"
DATA_DIR="${NOMALY_DATA_DIR:-$ROOT/../shared/data}"
OUT="${ACCURACY_OUT:-$ROOT/bench/results}"
SEEDS="${ACCURACY_SEEDS:-5}"
DEEP_SEEDS="${ACCURACY_DEEP_SEEDS:-1}"
RAW="$BUILD_DIR/accuracy"

[[ -d "$DATA_DIR" ]] || { echo "run_accuracy: data folder $DATA_DIR not found (set NOMALY_DATA_DIR)" >&2; exit 3; }
[[ -x "$BUILD_DIR/nomaly_accuracy" ]] || cmake --build "$BUILD_DIR" --target nomaly_accuracy -j "$(nproc)"
"$PYTHON" -c 'import sklearn, matplotlib' 2>/dev/null ||
  { echo "run_accuracy: $PYTHON lacks sklearn/matplotlib (apt-get install python3-sklearn python3-matplotlib)" >&2; exit 1; }
mkdir -p "$RAW" "$OUT"

sel=()
[[ -n "${ACCURACY_DATASETS:-}" ]] && sel+=(--datasets "$ACCURACY_DATASETS")
[[ -n "${ACCURACY_ALGORITHMS:-}" ]] && sel+=(--algorithms "$ACCURACY_ALGORITHMS")

echo "== nomaly: every registered detector, $SEEDS seed(s) for randomised ones, $DEEP_SEEDS for networks (log: $RAW/nomaly.log)"
start=$SECONDS
"$BUILD_DIR/nomaly_accuracy" --data-dir "$DATA_DIR" --out "$RAW/nomaly_runs.csv" --seeds "$SEEDS" \
  --deep-seeds "$DEEP_SEEDS" "${sel[@]}" 2>"$RAW/nomaly.log"
echo "   $((SECONDS - start)) s"
echo "== scikit-learn $("$PYTHON" -c 'import sklearn; print(sklearn.__version__)') reference (log: $RAW/sklearn.log)"
start=$SECONDS
PYTHONWARNINGS=ignore "$PYTHON" "$ROOT/bench/sklearn_accuracy.py" --data-dir "$DATA_DIR" \
  --out "$RAW/sklearn_runs.csv" --seeds "$SEEDS" "${sel[@]}" 2>"$RAW/sklearn.log"
echo "   $((SECONDS - start)) s"
"$PYTHON" "$ROOT/bench/report.py" accuracy --nomaly "$RAW/nomaly_runs.csv" --sklearn "$RAW/sklearn_runs.csv" \
  --out-dir "$OUT" --note "Run on $(date -u +%Y-%m-%d), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
echo "== wrote $OUT/accuracy.md, $OUT/accuracy.csv, $OUT/accuracy.png"

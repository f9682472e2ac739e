#!/usr/bin/python3
"""Python side of `make bench` (issue 12): IForest().fit(X).decision_function(X) from Python on 100k x 10 float64,
against the CLI's native scoring (`nomaly score --json` score_seconds, CSV parsing excluded) and against
scikit-learn's IsolationForest.score_samples in the same process. Targets: >= 0.8x the CLI, >= 20x sklearn.

  python_speed.py --build BUILD_DIR --out bench/results/python.md [--json BUILD_DIR/bench/python_speed.json]
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from sklearn_speed import synthetic  # noqa: E402  (the same rows as nomaly_bench and sklearn_speed.py)

ROWS, COLS, SEED, REPEATS = 100_000, 10, 1, 5


def best_of(fn, repeats=REPEATS):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def cli_score_seconds(cli, X):
    """Best score_seconds of `nomaly score` (native) over REPEATS runs on the same rows as a stored IForest."""
    with tempfile.TemporaryDirectory() as tmp:
        csv = os.path.join(tmp, "x.csv")
        np.savetxt(csv, X.astype(np.float32), delimiter=",", fmt="%.9g",
                   header=",".join(f"f{i}" for i in range(COLS)), comments="")
        store = os.path.join(tmp, "store")
        subprocess.run([cli, "train", "--store", store, "-a", "iforest", "-i", csv, "--id", "bench",
                        "-p", f"random_state={SEED}"], check=True, capture_output=True)
        runs = []
        for _ in range(REPEATS):
            out = subprocess.run([cli, "score", "bench", "--store", store, "-i", csv, "--json", "-f", "native"],
                                 check=True, capture_output=True, text=True).stdout
            runs.append(json.loads(out)["score_seconds"])
        return min(runs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--json")
    a = ap.parse_args()
    build = pathlib.Path(a.build).resolve()
    sys.path.insert(0, str(build / "python"))
    import nomaly
    from sklearn.ensemble import IsolationForest

    X = synthetic(ROWS, COLS, SEED)  # float64, as a Python user holds it
    py_s = best_of(lambda: nomaly.IForest(random_state=SEED).fit(X).decision_function(X))
    py1_s = best_of(lambda: nomaly.IForest(random_state=SEED, n_jobs=1).fit(X).decision_function(X))
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    det = nomaly.IForest(random_state=SEED).fit(X32)
    df32_s = best_of(lambda: det.decision_function(X32))
    sk = IsolationForest(random_state=SEED).fit(X)
    sk_s = best_of(lambda: sk.score_samples(X), repeats=2)
    cli_s = cli_score_seconds(str(build / "nomaly"), X)

    rate = lambda s: ROWS / s  # noqa: E731
    res = {
        "rows": ROWS, "cols": COLS, "cores": os.cpu_count(), "load_avg": os.getloadavg()[0],
        "python_fit_decision_function_rows_per_s": rate(py_s),
        "python_fit_decision_function_1thread_rows_per_s": rate(py1_s),
        "python_decision_function_float32_rows_per_s": rate(df32_s),
        "cli_native_score_rows_per_s": rate(cli_s),
        "sklearn_score_samples_rows_per_s": rate(sk_s),
    }
    res["ratio_vs_cli"] = res["python_fit_decision_function_rows_per_s"] / res["cli_native_score_rows_per_s"]
    res["ratio_vs_sklearn"] = res["python_fit_decision_function_rows_per_s"] / res["sklearn_score_samples_rows_per_s"]
    res["ratio_1thread_vs_sklearn"] = res["python_fit_decision_function_1thread_rows_per_s"] / res["sklearn_score_samples_rows_per_s"]
    ok_cli, ok_sk = res["ratio_vs_cli"] >= 0.8, res["ratio_vs_sklearn"] >= 20
    mark = lambda ok: "pass" if ok else "FAIL"  # noqa: E731
    lines = [
        "# Python package speed (issue 12)",
        "",
        f"IsolationForest (100 trees, max_samples auto) on {ROWS:,} x {COLS} float64 rows (bench/sklearn_speed.py's "
        f"synthetic rows), best of {REPEATS}; {res['cores']} cores, load average {res['load_avg']:.1f} at the end. "
        "Every nomaly row uses all cores unless it says 1 thread; sklearn's score_samples is single-threaded.",
        "",
        "| measurement | rows/s |",
        "|---|---|",
        f"| Python `IForest().fit(X).decision_function(X)` (float64 in) | {res['python_fit_decision_function_rows_per_s']:,.0f} |",
        f"| the same, `n_jobs=1` | {res['python_fit_decision_function_1thread_rows_per_s']:,.0f} |",
        f"| Python `decision_function` alone, C-contiguous float32 (zero-copy) | {res['python_decision_function_float32_rows_per_s']:,.0f} |",
        f"| CLI `nomaly score` native scoring (score_seconds, CSV parsing excluded) | {res['cli_native_score_rows_per_s']:,.0f} |",
        f"| sklearn `IsolationForest.score_samples` (scoring only, same process) | {res['sklearn_score_samples_rows_per_s']:,.0f} |",
        "",
        "| ratio | value | target | |",
        "|---|---|---|---|",
        f"| Python fit+decision_function / CLI native scoring | {res['ratio_vs_cli']:.2f}x | >= 0.8x | {mark(ok_cli)} |",
        f"| Python fit+decision_function / sklearn score_samples | {res['ratio_vs_sklearn']:.1f}x | >= 20x | {mark(ok_sk)} |",
        f"| the same at 1 thread / sklearn | {res['ratio_1thread_vs_sklearn']:.1f}x | (info) | |",
        "",
    ]
    pathlib.Path(a.out).write_text("\n".join(lines))
    if a.json:
        pathlib.Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        pathlib.Path(a.json).write_text(json.dumps(res, indent=2))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

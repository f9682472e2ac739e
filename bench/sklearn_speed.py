#!/usr/bin/python3
"""scikit-learn side of `make bench` (issue 7 section 2): the same synthetic rows as nomaly_bench, the same
sizes, batch sizes and thread counts, timed here so bench/report.py can print nomaly / sklearn ratios.

  sklearn_speed.py --out sk_speed.json [--algorithms iforest,lof] [--budget 0.5]

Data: synthetic() mirrors bench/bench_common.hpp bit for bit (splitmix64 counters, Box-Muller in float64,
every 100th row a uniform outlier in [-6, 6]^10), rounded to float32 as nomaly stores it.
Threads: threadpoolctl caps OpenMP/BLAS pools and n_jobs is set where the estimator has it, so "threads: 2"
means the same budget on both sides. libsvm (OneClassSVM) is single-threaded: its threads:2 rows reuse the
1-thread timings and say so ("single_threaded": true).
"""
import argparse
import json
import sys
import time

import numpy as np
import sklearn
from sklearn.covariance import MinCovDet
from sklearn.ensemble import IsolationForest
from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors
from sklearn.svm import OneClassSVM
from threadpoolctl import threadpool_limits

COLS = 10
TRAIN_SEED, TEST_SEED = 1, 2
BULK = 100_000
M64 = np.uint64


def splitmix64(x):
    with np.errstate(over="ignore"):
        x = x + M64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> M64(30))) * M64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> M64(27))) * M64(0x94D049BB133111EB)
        return x ^ (x >> M64(31))


def synthetic(rows, cols, seed):
    idx = np.arange(rows * cols, dtype=np.uint64)
    base = M64(seed) << M64(40)
    u1 = (splitmix64(base + M64(2) * idx) >> M64(11)).astype(np.float64) * 2.0 ** -53
    u2 = (splitmix64(base + M64(2) * idx + M64(1)) >> M64(11)).astype(np.float64) * 2.0 ** -53
    z = np.sqrt(-2.0 * np.log1p(-u1)) * np.cos(6.283185307179586 * u2)
    outlier = np.repeat(np.arange(rows) % 100 == 99, cols)
    X = np.where(outlier, -6.0 + 12.0 * u1, z).astype(np.float32).reshape(rows, cols)
    return X.astype(np.float64)  # the float32 values, as nomaly sees them


def status_mib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return float(line.split()[1]) / 1024.0
    return 0.0


def reset_peak_rss():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


# nomaly name -> (sklearn label, sizes (= bench_common.hpp train_sizes), make(threads), score(model, X), threaded)
def _knn_score(m, X):
    return m.kneighbors(X)[0][:, -1]


class PyodKnn(NearestNeighbors):
    """PyOD's KNN fit: the neighbour index plus the training scores (each row's 5th neighbour, self excluded),
    which nomaly's fit computes too."""

    def fit(self, X, y=None):
        super().fit(X)
        self.decision_scores_ = self.kneighbors()[0][:, -1]
        return self


ALGORITHMS = {
    "iforest": ("IsolationForest", [100_000, 1_000_000],
                lambda t: IsolationForest(random_state=0, n_jobs=t), lambda m, X: -m.score_samples(X), True),
    "lof": ("LocalOutlierFactor(novelty=True)", [20_000],
            lambda t: LocalOutlierFactor(n_neighbors=20, novelty=True, n_jobs=t), lambda m, X: -m.score_samples(X),
            True),
    "knn": ("NearestNeighbors(5) + training kneighbors (PyOD KNN)", [20_000], lambda t: PyodKnn(n_neighbors=5, n_jobs=t),
            _knn_score, True),
    "mcd": ("MinCovDet", [100_000], lambda t: MinCovDet(random_state=0), lambda m, X: m.mahalanobis(X), False),
    "ocsvm": ("OneClassSVM(rbf, nu=0.5, gamma=scale)", [10_000],
              lambda t: OneClassSVM(kernel="rbf", nu=0.5, gamma="scale"), lambda m, X: -m.decision_function(X),
              False),
}


def time_fit(make, X, threads, budget):
    """Mean fit time over repetitions filling `budget` seconds (at least one), and the peak RSS of a fit."""
    base = status_mib("VmRSS")
    reset = reset_peak_rss()
    times, cpu, model = [], [], None
    while not times or (sum(times) < budget and len(times) < 5):
        model = None
        t0, c0 = time.perf_counter(), time.process_time()
        model = make(threads).fit(X)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    peak = status_mib("VmHWM")
    return model, dict(seconds=float(np.mean(times)), cpu_seconds=float(np.mean(cpu)), reps=len(times),
                       peak_rss_mib=peak, rss_delta_mib=peak - base, rss_peak_reset=reset)


def time_score(score, model, T, batch, budget):
    """Rows/s (wall and process CPU) scoring consecutive batches of T until `budget` seconds pass (>= 1 batch)."""
    rows, off, t0, c0 = 0, 0, time.perf_counter(), time.process_time()
    while True:
        s = score(model, T[off:off + batch])
        assert len(s) == batch
        rows += batch
        off = 0 if off + 2 * batch > len(T) else off + batch
        elapsed = time.perf_counter() - t0
        if elapsed >= budget:
            return rows / elapsed, rows / max(time.process_time() - c0, 1e-9), rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--algorithms", default="")
    ap.add_argument("--budget", type=float, default=0.5, help="seconds per timed measurement (min one run)")
    ap.add_argument("--max-rows", type=int, default=0, help="skip training sizes above this (smoke runs)")
    a = ap.parse_args(argv)
    only = [s for s in a.algorithms.split(",") if s]
    results = []
    test = synthetic(BULK, COLS, TEST_SEED)
    for name, (label, sizes, make, score, threaded) in ALGORITHMS.items():
        if only and name not in only:
            continue
        for n in sizes:
            if a.max_rows and n > a.max_rows:
                continue
            X = synthetic(n, COLS, TRAIN_SEED)
            T = test[:min(n, BULK)]
            for threads in (1, 2):
                if not threaded and threads == 2:
                    for r in [r for r in results if r["algo"] == name and r["n"] == n and r["threads"] == 1]:
                        results.append(dict(r, threads=2, single_threaded=True))
                    continue
                with threadpool_limits(limits=threads):
                    model, fit = time_fit(make, X, threads, a.budget)
                    results.append(dict(kind="fit", algo=name, n=n, threads=threads, estimator=label, **fit))
                    print(f"sklearn fit {name} n={n} threads={threads}: {fit['seconds']:.4f} s", file=sys.stderr)
                    for batch in (1, 64, BULK):
                        b = min(batch, len(T))
                        rate, cpu_rate, rows = time_score(score, model, T, b, a.budget)
                        results.append(dict(kind="score", algo=name, n=n, batch=b, threads=threads,
                                            rows_per_s=rate, cpu_rows_per_s=cpu_rate, rows_timed=rows,
                                            estimator=label))
                        print(f"sklearn score {name} n={n} batch={b} threads={threads}: {rate:,.0f} rows/s",
                              file=sys.stderr)
    versions = {"scikit-learn": sklearn.__version__, "numpy": np.__version__, "python": sys.version.split()[0]}
    with open(a.out, "w") as f:
        json.dump({"versions": versions, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

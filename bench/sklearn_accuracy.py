#!/usr/bin/python3
"""scikit-learn reference runs for `make accuracy` (issue 7 section 1).

Same protocol and the same long CSV as nomaly_accuracy: fit on all rows, score all rows (higher = more
anomalous), ROC-AUC and average precision, 5 seeds for the randomised estimators. Run with Debian's
/usr/bin/python3 (python3-sklearn); the rows are read as float32, as nomaly reads them.

  sklearn_accuracy.py --data-dir DIR --out runs.csv [--seeds 5] [--datasets a,b] [--algorithms x,y]
                      [--seed-time-cap 60]

A randomised reference stops adding seeds on a data set once one seed took longer than --seed-time-cap seconds
(MinCovDet on the 166-column musk takes minutes per seed); the CSV shows how many seeds ran.
"""
import argparse
import csv
import pathlib
import sys
import time

import numpy as np
from sklearn.covariance import MinCovDet
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors
from sklearn.svm import OneClassSVM

HEADER = ["impl", "algorithm", "dataset", "seed", "roc_auc", "average_precision", "fit_seconds",
          "score_seconds", "status"]


def _iforest(X, seed):
    m = IsolationForest(random_state=seed).fit(X)
    return m, lambda: -m.score_samples(X)


def _lof(X, seed):
    # novelty=False: negative_outlier_factor_ leaves each row out of its own neighbourhood (nomaly's training
    # scores, PyOD's decision_scores_).
    m = LocalOutlierFactor(n_neighbors=20).fit(X)
    return m, lambda: -m.negative_outlier_factor_


def _knn(X, seed):
    # PyOD KNN (method "largest", n_neighbors=5) is NearestNeighbors' distance to the 5th neighbour, self excluded.
    m = NearestNeighbors(n_neighbors=5).fit(X)
    return m, lambda: m.kneighbors()[0][:, -1]


def _mcd(X, seed):
    m = MinCovDet(random_state=seed).fit(X)
    return m, lambda: m.mahalanobis(X)


def _ocsvm(X, seed):
    m = OneClassSVM(kernel="rbf", nu=0.5, gamma="scale").fit(X)
    return m, lambda: -m.decision_function(X)


# nomaly registry name -> (scikit-learn estimator name, runner, randomised)
ALGORITHMS = {
    "iforest": ("IsolationForest", _iforest, True),
    "lof": ("LocalOutlierFactor", _lof, False),
    "knn": ("NearestNeighbors (PyOD KNN)", _knn, False),
    "mcd": ("MinCovDet", _mcd, True),
    "ocsvm": ("OneClassSVM", _ocsvm, False),
}


def load(path):
    with open(path, newline="") as f:
        header = next(csv.reader(f))
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64)
    li = header.index("label")
    X = np.delete(data, li, axis=1).astype(np.float32).astype(np.float64)
    return X, data[:, li].astype(int)


def run_one(X, y, dataset, name, seed):
    _, runner, _ = ALGORITHMS[name]
    row = {"impl": "sklearn", "algorithm": name, "dataset": dataset, "seed": seed, "roc_auc": 0,
           "average_precision": 0, "fit_seconds": 0, "score_seconds": 0, "status": "ok"}
    try:
        t0 = time.perf_counter()
        _, score = runner(X, seed)
        t1 = time.perf_counter()
        s = np.asarray(score(), dtype=np.float64)
        t2 = time.perf_counter()
        row.update(roc_auc=roc_auc_score(y, s), average_precision=average_precision_score(y, s),
                   fit_seconds=t1 - t0, score_seconds=t2 - t1)
    except Exception as e:  # a refused data set is a result, not a crash (same as the C++ runner)
        row["status"] = " ".join(str(e).replace(",", " ").replace('"', " ").split()) or type(e).__name__
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--datasets", default="")
    ap.add_argument("--algorithms", default="")
    ap.add_argument("--seed-time-cap", type=float, default=60.0)
    a = ap.parse_args(argv)
    only_sets = [s for s in a.datasets.split(",") if s]
    only_algos = [s for s in a.algorithms.split(",") if s]
    files = sorted(p for p in pathlib.Path(a.data_dir).glob("*.csv") if not only_sets or p.stem in only_sets)
    if not files:
        print(f"sklearn_accuracy: no data sets in {a.data_dir}", file=sys.stderr)
        return 3
    with open(a.out, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=HEADER, lineterminator="\n")
        w.writeheader()
        for path in files:
            X, y = load(path)
            for name, (_, _, randomised) in ALGORITHMS.items():
                if only_algos and name not in only_algos:
                    continue
                for seed in range(a.seeds if randomised else 1):
                    row = run_one(X, y, path.stem, name, seed)
                    w.writerow(row)
                    print(f"{path.stem} sklearn {name} seed {seed}: auc {row['roc_auc']:.3f} {row['status']}",
                          file=sys.stderr)
                    if row["fit_seconds"] + row["score_seconds"] > a.seed_time_cap:
                        break
                f.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Small numpy re-implementations of PyOD's HBOS, ECOD and COPOD (PyOD is not packaged in Debian), following
pyod/models/hbos.py (_calculate_outlier_scores, static bins), pyod/models/ecod.py with
pyod/utils/stat_models.py (column_ecdf) and pyod/models/copod.py (statsmodels-style ECDF), single-job paths.

Usage: pyod_ref.py ALGO CSV [SCORES_OUT]

Reads CSV (header f0..f{d-1},label; label 1 = outlier), fits ALGO on all rows with PyOD's defaults and prints
the ROC-AUC of the training scores (decision_scores_); with SCORES_OUT also writes one score per line.
Features are rounded to float32 first, as nomaly reads them.

ALGO: hbos (n_bins=10, alpha=0.1, tol=0.5) | ecod (per feature max(U_l, U_r, U_skew), summed: PyOD's ecod.py
as released through 2.x, commit 8e6218e0) | copod (per feature max(U_skew, (U_l + U_r) / 2), summed: copod.py,
commit 44c0ad79) | ecod_paper (max of the left, right and skew-corrected sums, Algorithm 1 of the ECOD paper;
not in PyOD)
"""
import sys

import numpy as np
from scipy.stats import skew as skew_sp


def load(path):
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return data[:, :-1].astype(np.float32).astype(np.float64), data[:, -1].astype(int)


def hbos(X, n_bins=10, alpha=0.1, tol=0.5):
    n, d = X.shape
    hist = np.zeros([n_bins, d])
    edges = np.zeros([n_bins + 1, d])
    for i in range(d):
        hist[:, i], edges[:, i] = np.histogram(X[:, i], bins=n_bins, density=True)
    scores = np.zeros([n, d])
    for i in range(d):
        bin_inds = np.digitize(X[:, i], edges[:, i], right=True)
        out = np.log2(hist[:, i] + alpha)
        for j in range(n):
            if bin_inds[j] == 0:
                dist = edges[0, i] - X[j, i]
                width = edges[1, i] - edges[0, i]
                scores[j, i] = out[0] if dist <= width * tol else np.min(out)
            elif bin_inds[j] == n_bins + 1:
                dist = X[j, i] - edges[-1, i]
                width = edges[-1, i] - edges[-2, i]
                scores[j, i] = out[n_bins - 1] if dist <= width * tol else np.min(out)
            else:
                scores[j, i] = out[bin_inds[j] - 1]
    return -np.sum(scores, axis=1)


def column_ecdf(matrix):
    # pyod.utils.stat_models.column_ecdf: ties take the largest rank, so the value is #{x_i <= x} / n.
    probabilities = np.linspace(np.ones(matrix.shape[1]) / matrix.shape[0], np.ones(matrix.shape[1]),
                                matrix.shape[0])
    sort_idx = np.argsort(matrix, axis=0)
    matrix = np.take_along_axis(matrix, sort_idx, axis=0)
    for cx in range(probabilities.shape[1]):
        for rx in range(probabilities.shape[0] - 2, -1, -1):
            if matrix[rx, cx] == matrix[rx + 1, cx]:
                probabilities[rx, cx] = probabilities[rx + 1, cx]
    reordered = np.ones_like(probabilities)
    np.put_along_axis(reordered, sort_idx, probabilities, axis=0)
    return reordered


def statsmodels_ecdf(X):
    # statsmodels ECDF(x)(x) (side='right'): #{x_i <= x} / n, column by column (pyod.models.copod.ecdf).
    out = np.empty_like(X)
    for j in range(X.shape[1]):
        col = np.sort(X[:, j])
        out[:, j] = np.searchsorted(col, X[:, j], side="right") / X.shape[0]
    return out


def tails(X, ecdf):
    U_l = -1 * np.log(ecdf(X))
    U_r = -1 * np.log(ecdf(-X))
    skewness = np.sign(np.nan_to_num(skew_sp(X, axis=0)))
    U_skew = U_l * -1 * np.sign(skewness - 1) + U_r * np.sign(skewness + 1)
    return U_l, U_r, U_skew


def ecod(X):
    U_l, U_r, U_skew = tails(X, column_ecdf)
    return np.maximum(U_skew, np.maximum(U_l, U_r)).sum(axis=1)


def copod(X):
    U_l, U_r, U_skew = tails(X, statsmodels_ecdf)
    return np.maximum(U_skew, np.add(U_l, U_r) / 2).sum(axis=1)


def ecod_paper(X):
    U_l, U_r, U_skew = tails(X, column_ecdf)
    return np.maximum(np.maximum(U_l.sum(axis=1), U_r.sum(axis=1)), U_skew.sum(axis=1))


ALGOS = {"hbos": hbos, "ecod": ecod, "copod": copod, "ecod_paper": ecod_paper}


def main():
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in ALGOS:
        raise SystemExit(__doc__)
    from sklearn.metrics import roc_auc_score
    X, y = load(sys.argv[2])
    s = np.asarray(ALGOS[sys.argv[1]](X), dtype=np.float64)
    if len(sys.argv) == 4:
        np.savetxt(sys.argv[3], s, fmt="%.17g")
    print("%.10f" % roc_auc_score(y, s))


if __name__ == "__main__":
    main()

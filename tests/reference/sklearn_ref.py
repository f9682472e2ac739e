#!/usr/bin/python3
"""Reference anomaly scores for nomaly's tests, computed with Debian's scikit-learn / scipy / numpy.

Usage: sklearn_ref.py ALGO CSV [SCORES_OUT]

Reads CSV (header f0..f{d-1},label; label 1 = outlier), fits ALGO on all rows, scores all rows (higher = more
anomalous) and prints one line: the ROC-AUC. With SCORES_OUT, also writes one score per line there.
Features are rounded to float32 first, as nomaly reads them, so both sides see identical inputs.

ALGO (add more as needed; keep each one a few lines that follow the reference library's code):
  lof           sklearn LocalOutlierFactor(n_neighbors=20): -negative_outlier_factor_ (training scores)
  lof_novelty   sklearn LocalOutlierFactor(n_neighbors=20, novelty=True): -score_samples(X) (new-point scoring)
  mcd           sklearn MinCovDet(random_state=SEED).fit(X).mahalanobis(X), as PyOD MCD.decision_function;
                SEED from the environment variable REF_SEED (default 0)
  mcd_mean5     the mean ROC-AUC of mcd over random_state 0..4 (FastMCD's random subsets move a single seed's
                ROC-AUC by several hundredths, e.g. cardio 0.771-0.819); SCORES_OUT gets the random_state=0 scores
  pyod_knn      PyOD KNN(n_neighbors=5, method='largest') training scores, re-implemented from
                pyod/models/knn.py (PyOD is not packaged in Debian): NearestNeighbors.kneighbors() (self
                excluded), distance to the 5th neighbour
  pyod_pca      PyOD PCA() training scores, re-implemented from pyod/models/pca.py: StandardScaler, sklearn PCA
                (svd_solver='full'), sum(cdist(X, components_) / explained_variance_ratio_, axis=1)
  ocsvm         sklearn OneClassSVM() (rbf, nu=0.5, gamma='scale', tol=1e-3): -decision_function(X)
"""
import os
import sys

import numpy as np


def load(path):
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    X = data[:, :-1].astype(np.float32).astype(np.float64)
    y = data[:, -1].astype(int)
    return X, y


def score(algo, X):
    if algo == "lof":
        from sklearn.neighbors import LocalOutlierFactor
        return -LocalOutlierFactor(n_neighbors=20).fit(X).negative_outlier_factor_
    if algo == "lof_novelty":
        from sklearn.neighbors import LocalOutlierFactor
        return -LocalOutlierFactor(n_neighbors=20, novelty=True).fit(X).score_samples(X)
    if algo == "mcd":
        from sklearn.covariance import MinCovDet
        seed = int(os.environ.get("REF_SEED", "0"))
        return MinCovDet(random_state=seed).fit(X).mahalanobis(X)
    if algo == "pyod_knn":
        from sklearn.neighbors import NearestNeighbors
        dist, _ = NearestNeighbors(n_neighbors=5).fit(X).kneighbors(n_neighbors=5, return_distance=True)
        return dist[:, -1]
    if algo == "pyod_pca":
        from scipy.spatial.distance import cdist
        from sklearn.decomposition import PCA
        from sklearn.preprocessing import StandardScaler
        Z = StandardScaler().fit(X).transform(X)
        pca = PCA(svd_solver="full").fit(Z)
        return np.sum(cdist(Z, pca.components_) / pca.explained_variance_ratio_, axis=1).ravel()
    if algo == "ocsvm":
        from sklearn.svm import OneClassSVM
        return -OneClassSVM().fit(X).decision_function(X)
    raise SystemExit("unknown ALGO " + algo)


def main():
    if len(sys.argv) not in (3, 4):
        raise SystemExit(__doc__)
    from sklearn.metrics import roc_auc_score
    import warnings
    warnings.simplefilter("ignore")
    X, y = load(sys.argv[2])
    algo = sys.argv[1]
    if algo == "mcd_mean5":
        runs = []
        for seed in range(5):
            os.environ["REF_SEED"] = str(seed)
            runs.append(np.asarray(score("mcd", X), dtype=np.float64))
        s, auc = runs[0], np.mean([roc_auc_score(y, r) for r in runs])
    else:
        s = np.asarray(score(algo, X), dtype=np.float64)
        auc = roc_auc_score(y, s)
    if len(sys.argv) == 4:
        np.savetxt(sys.argv[3], s, fmt="%.17g")
    print("%.10f" % auc)


if __name__ == "__main__":
    main()

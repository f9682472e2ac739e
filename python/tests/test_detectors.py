"""The PyOD-shaped detector classes: scores, PyOD attributes, sklearn compatibility, pandas names, pickle,
threads, and every bad input of issue 12 (DataError names the row and column)."""

import pickle
import subprocess
import threading

import numpy as np
import pandas as pd
import pytest

import nomaly
from conftest import DATA, require_data

# Small, fast parameters; every class of issue 12 (deep ones only when built with libtorch).
FAST = {
    nomaly.IForest: dict(n_estimators=50, random_state=3),
    nomaly.LOF: dict(n_neighbors=10),
    nomaly.KNN: dict(n_neighbors=5),
    nomaly.PCA: {},
    nomaly.MCD: dict(random_state=3),
    nomaly.HBOS: {},
    nomaly.ECOD: {},
    nomaly.COPOD: {},
    nomaly.OCSVM: {},
}
if nomaly.WITH_TORCH:
    FAST[nomaly.AutoEncoder] = dict(epochs=2, hidden_neurons=[8, 4], random_state=1)
    FAST[nomaly.DeepSVDD] = dict(epochs=2, pretrain_epochs=1, hidden_neurons=[8, 4], random_state=1)


@pytest.mark.parametrize("cls", list(FAST), ids=lambda c: c.__name__)
def test_fit_scores_and_pyod_attributes(cls, blobs):
    from sklearn.metrics import roc_auc_score

    X, y = blobs
    det = cls(**FAST[cls])
    assert det.fit(X) is det
    s = det.decision_function(X)
    assert s.dtype == np.float64 and s.shape == (500,)
    assert roc_auc_score(y, s) > 0.9  # the 10 far rows score highest
    assert det.n_features_in_ == 4 and not hasattr(det, "feature_names_in_")
    assert det.threshold_ == np.float32(det.threshold_)  # float32-exact, as native and ONNX labels use
    np.testing.assert_array_equal(det.labels_, (det.decision_scores_ > det.threshold_).astype(int))
    p = det.predict(X)
    assert p.dtype == np.int64 and set(np.unique(p)) <= {0, 1}
    np.testing.assert_array_equal(p, (s > det.threshold_).astype(int))
    np.testing.assert_array_equal(cls(**FAST[cls]).fit_predict(X), det.labels_)


def _cli_detect(cli, algorithm, params, csv, tmp_path):
    out = tmp_path / f"{algorithm}.csv"
    args = [cli, "detect", "-a", algorithm, "-i", str(csv), "--scores-out", str(out)]
    for k, v in params.items():
        args += ["-p", f"{k}={v}"]
    subprocess.run(args, check=True, capture_output=True)
    return pd.read_csv(out)["score"].to_numpy(np.float32)


@pytest.mark.parametrize("cls", [c for c in FAST if c._algorithm not in ("autoencoder", "deepsvdd")],
                         ids=lambda c: c.__name__)
def test_decision_scores_equal_cli_detect(cls, cli, tmp_path):
    """decision_scores_ are the training scores exactly as `nomaly detect` reports them (same CSV reader)."""
    require_data()
    csv = DATA / "vertebral.csv"
    X, names, labels = nomaly.read_csv(csv, "label")
    assert X.dtype == np.float32 and X.shape == (240, 6) and labels.sum() == 30
    det = cls(**FAST[cls]).fit(X)
    expected = _cli_detect(cli, cls._algorithm, FAST[cls], csv, tmp_path)
    np.testing.assert_array_equal(det.decision_scores_.astype(np.float32), expected)


def test_get_set_params_clone_and_pipeline(blobs):
    from sklearn.base import clone
    from sklearn.metrics import roc_auc_score
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = blobs
    det = nomaly.IForest(n_estimators=30, random_state=5)
    params = det.get_params()
    assert params["n_estimators"] == 30 and params["contamination"] == 0.1 and "max_samples" in params
    assert set(params) == {p["name"] for a in nomaly.algorithms() if a["name"] == "iforest" for p in a["params"]}
    det.set_params(contamination=0.05)
    assert det.contamination == 0.05
    c = clone(det)
    assert c.get_params() == det.get_params() and not hasattr(c, "threshold_")
    pipe = Pipeline([("scale", StandardScaler()), ("det", nomaly.KNN(n_neighbors=7))]).fit(X)
    scores = pipe.decision_function(X)
    assert roc_auc_score(y, scores) > 0.95
    direct = nomaly.KNN(n_neighbors=7).fit(StandardScaler().fit_transform(X))
    np.testing.assert_array_equal(scores, direct.decision_function(StandardScaler().fit_transform(X)))
    np.testing.assert_array_equal(pipe.predict(X), direct.predict(StandardScaler().fit_transform(X)))
    with pytest.raises(TypeError, match="n_trees"):
        nomaly.IForest(n_trees=3)
    with pytest.raises(nomaly.ParameterError, match="n_estimators") as e:
        nomaly.IForest(n_estimators=-1).fit(X)
    assert isinstance(e.value, ValueError)


def test_model_selection_with_roc_auc(blobs):
    """sklearn.model_selection scores the detectors with roc_auc through decision_function, as with PyOD."""
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = blobs
    order = np.random.RandomState(0).permutation(len(y))  # spread the outliers over the folds
    X, y = X[order], y[order]
    aucs = cross_val_score(make_pipeline(StandardScaler(), nomaly.KNN()), X, y, scoring="roc_auc", cv=3)
    assert aucs.shape == (3,) and aucs.min() > 0.95
    search = GridSearchCV(nomaly.LOF(), {"n_neighbors": [5, 20]}, scoring="roc_auc", cv=3).fit(X, y)
    assert search.best_params_["n_neighbors"] in (5, 20) and search.best_score_ > 0.95
    assert isinstance(search.best_estimator_, nomaly.LOF) and hasattr(search.best_estimator_, "threshold_")


def test_n_jobs_reaches_the_core_and_does_not_change_scores(blobs):
    import json

    X, _ = blobs
    one = nomaly.IForest(n_estimators=40, random_state=1, n_jobs=1).fit(X)
    two = nomaly.IForest(n_estimators=40, random_state=1, n_jobs=2).fit(X)
    assert json.loads(one._det.params_json)["n_jobs"] == 1 and json.loads(two._det.params_json)["n_jobs"] == 2
    assert json.loads(nomaly.LOF(n_jobs=-1).fit(X)._det.params_json)["n_jobs"] == 0  # sklearn's -1 = all cores
    np.testing.assert_array_equal(one.decision_function(X), two.decision_function(X))


def test_pandas_feature_names_checked_by_name(blobs):
    X, _ = blobs
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    det = nomaly.LOF(n_neighbors=10).fit(df)
    assert list(det.feature_names_in_) == ["a", "b", "c", "d"]
    base = det.decision_function(df)
    # Reordered columns and an extra column are matched by name, as `nomaly score` does.
    shuffled = df[["d", "b", "a", "c"]].assign(extra=1.0)
    np.testing.assert_array_equal(det.decision_function(shuffled), base)
    with pytest.raises(nomaly.DataError, match="missing feature column c") as e:
        det.decision_function(df.drop(columns=["c"]))
    assert isinstance(e.value, ValueError)
    with pytest.raises(nomaly.DataError, match="missing feature columns"):
        det.decision_function(df.rename(columns={"a": "x", "b": "y"}))
    np.testing.assert_array_equal(det.decision_function(X), base)  # plain arrays are positional


def test_input_layouts_and_zero_copy(blobs):
    from nomaly._validation import to_matrix

    X, _ = blobs
    X32 = np.ascontiguousarray(X, dtype=np.float32)
    assert to_matrix(X32)[0] is X32  # C-contiguous float32: no copy
    det = nomaly.HBOS().fit(X32)
    base = det.decision_function(X32)
    for variant in (X.astype(np.float32, order="F"), np.asfortranarray(X), X.tolist(), pd.DataFrame(X)):
        np.testing.assert_array_equal(det.decision_function(variant), base)


def test_pickle_and_joblib_are_bit_exact(blobs, tmp_path):
    import joblib

    X, _ = blobs
    for cls in (nomaly.IForest, nomaly.LOF, nomaly.OCSVM):
        det = cls(**FAST[cls]).fit(pd.DataFrame(X, columns=list("wxyz")))
        back = pickle.loads(pickle.dumps(det))
        np.testing.assert_array_equal(back.decision_function(X), det.decision_function(X))
        np.testing.assert_array_equal(back.decision_scores_, det.decision_scores_)
        assert back.threshold_ == det.threshold_ and list(back.feature_names_in_) == list("wxyz")
        assert back.get_params() == det.get_params()
        joblib.dump(det, tmp_path / "m.joblib")
        np.testing.assert_array_equal(joblib.load(tmp_path / "m.joblib").decision_function(X), det.decision_function(X))
    assert b"NOMALY\x00\x01" in pickle.dumps(det)  # the native format travels inside the pickle
    unfitted = pickle.loads(pickle.dumps(nomaly.KNN(n_neighbors=3)))
    assert unfitted.n_neighbors == 3
    with pytest.raises(nomaly.NotFittedError):
        unfitted.decision_function(X)


def test_two_threads_score_one_model_like_one_thread():
    rng = np.random.RandomState(1)
    X = rng.randn(20000, 8).astype(np.float32)
    det = nomaly.IForest(n_estimators=60, random_state=2).fit(X)
    expected = det.decision_function(X)
    results = [None] * 2

    def work(k):
        results[k] = [det.decision_function(X) for _ in range(3)]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for runs in results:
        for r in runs:
            np.testing.assert_array_equal(r, expected)


def test_scoring_releases_the_gil():
    """While one thread is inside C++ scoring, another thread keeps running Python code: with the GIL held, the
    main thread's longest pause would span the whole call."""
    import time

    X = np.random.RandomState(3).randn(200000, 10).astype(np.float32)
    det = nomaly.IForest(n_estimators=100, random_state=1, n_jobs=1).fit(X[:1000])
    span = {}

    def work():
        span["t0"] = time.perf_counter()
        det.decision_function(X)
        span["t1"] = time.perf_counter()

    t = threading.Thread(target=work)
    stamps = []
    t.start()
    while t.is_alive():
        stamps.append(time.perf_counter())
    t.join()
    inside = [s for s in stamps if span["t0"] <= s <= span["t1"]]
    duration = span["t1"] - span["t0"]
    assert len(inside) > 100, f"the main thread ran {len(inside)} iterations during a {duration:.3f} s call"
    longest = max(np.diff([span["t0"]] + inside + [span["t1"]]))
    assert longest < 0.5 * duration


def test_not_fitted_is_sklearns_not_fitted_error(blobs):
    from sklearn.exceptions import NotFittedError as SkNotFitted

    X, _ = blobs
    for call in (lambda d: d.decision_function(X), lambda d: d.predict(X), lambda d: d.decision_scores_,
                 lambda d: d.to_onnx()):
        with pytest.raises(SkNotFitted, match="not fitted"):
            call(nomaly.ECOD())
    assert issubclass(nomaly.NotFittedError, nomaly.NomalyError)


BAD_INPUTS = [
    ("nan", lambda X: np.where(np.arange(X.size).reshape(X.shape) == 13, np.nan, X), r"non-finite value nan at row 3, column 1"),
    ("inf", lambda X: np.where(np.arange(X.size).reshape(X.shape) == 6, np.inf, X), r"non-finite value inf at row 1, column 2"),
    ("float32 overflow", lambda X: np.where(np.arange(X.size).reshape(X.shape) == 0, 1e300, X),
     r"value 1e\+300 is outside the float32 range at row 0, column 0"),
    ("1-D", lambda X: X[:, 0], r"expected a 2-D array .* got 1-D input of shape \(20,\); use X.reshape"),
    ("3-D", lambda X: X[None], r"got 3-D input"),
    ("empty rows", lambda X: X[:0], r"empty input \(0 rows"),
    ("no columns", lambda X: X[:, :0], r"0 feature columns"),
    ("strings", lambda X: [[1.0, 2.0, 3.0, 4.0], [1.0, "abc", 3.0, 4.0]], r"non-numeric value 'abc' at row 1, column 1"),
    ("object column", lambda X: pd.DataFrame(X, columns=list("abcd")).assign(c=["x"] * 20),
     r"column 2 \('c'\) is not numeric: dtype object: non-numeric value 'x' at row 0"),
    ("None", lambda X: None, r"X is None"),
    ("complex", lambda X: X.astype(complex), r"complex array \(dtype complex128\) is not numeric: complex value"),
]


@pytest.mark.parametrize("name,make,message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_at_fit_and_score(name, make, message):
    X = np.random.RandomState(0).randn(20, 4)
    bad = make(X)
    with pytest.raises(nomaly.DataError, match=message) as e:
        nomaly.KNN().fit(bad)
    assert isinstance(e.value, ValueError)
    det = nomaly.KNN().fit(X)
    with pytest.raises(nomaly.DataError, match=message):
        det.decision_function(bad)


def test_wrong_width_and_sparse():
    from scipy import sparse

    X = np.random.RandomState(0).randn(20, 4)
    det = nomaly.PCA().fit(X)
    with pytest.raises(nomaly.DataError, match=r"expected 4 features \(columns\), got 3"):
        det.decision_function(X[:, :3])
    with pytest.raises(nomaly.DataError, match="sparse input is not supported"):
        det.fit(sparse.csr_matrix(X))


def test_deep_detectors_follow_the_build_and_the_flag(monkeypatch, blobs):
    X, _ = blobs
    if not nomaly.WITH_TORCH:
        with pytest.raises(nomaly.DependencyMissing, match="libtorch"):
            nomaly.AutoEncoder()
        return
    monkeypatch.setenv("NOMALY_DEEP_LEARNING", "false")
    with pytest.raises(nomaly.FeatureDisabled, match="Deep learning features are disabled") as e:
        nomaly.AutoEncoder(epochs=1).fit(X)
    assert isinstance(e.value, RuntimeError)


@pytest.mark.parametrize("cls", [nomaly.IForest, nomaly.LOF, nomaly.HBOS], ids=lambda c: c.__name__)
def test_default_contamination_is_pyods(cls, blobs):
    """PyOD's default contamination 0.1: the threshold is the 90th percentile of the training scores, so a PyOD user who
    changes only the import flags the same share of rows (the CLI's default stays "auto")."""
    X, _ = blobs
    det = cls().fit(X)
    assert det.get_params()["contamination"] == 0.1
    expected = np.float32(np.percentile(det.decision_scores_.astype(np.float32), 90))
    assert det.threshold_ == pytest.approx(float(expected), rel=1e-6)
    assert abs(det.labels_.mean() - 0.1) <= 1.0 / len(X) + 1e-9


def test_from_native_bytes_refuses_another_algorithms_class(blobs):
    """A class never wraps another algorithm's model (LOF.from_native_bytes of an IForest would score as an IForest
    while get_params/clone behave as LOF); BaseDetector.from_native_bytes returns the stored algorithm's class."""
    X, _ = blobs
    forest = nomaly.IForest(n_estimators=20, random_state=1).fit(X)
    with pytest.raises(TypeError, match="holds a iforest model, not a LOF"):
        nomaly.LOF.from_native_bytes(forest.to_native_bytes())
    back = nomaly.BaseDetector.from_native_bytes(forest.to_native_bytes())
    assert type(back) is nomaly.IForest
    np.testing.assert_array_equal(back.decision_function(X), forest.decision_function(X))

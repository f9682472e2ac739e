"""Bad input a PyOD/sklearn user can pass: each is a typed nomaly error (DataError / ParameterError, both
ValueErrors as in sklearn) whose message names the row, column or parameter; never a raw numpy/pybind error."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import nomaly
from nomaly import _nomaly

RNG = np.random.RandomState(3)
X_OK = RNG.randn(60, 2)


@pytest.mark.parametrize("X, needle", [
    (np.array([[1.0, 2.0], [None, 3.0]], dtype=object), "missing value None at row 1, column 0"),
    ([[1.0, 2.0], [3.0]], "ragged input: row 1 has 1 values, row 0 has 2"),
    ([[1.0, 2.0], [3.0, [4.0, 5.0]]], "a sequence [4.0, 5.0] at row 1, column 1, not a number"),
    (np.array([["a", "b"], ["c", "d"]]), "string array (dtype <U1) is not numeric: non-numeric value 'a' at row 0, column 0"),
    ([[1, 2], [3, "x"]], "non-numeric value 'x' at row 1, column 1"),
    (np.array([["1", "2"], ["3", "4"]]), "numeric text is not converted implicitly"),
    (np.array([[True, False], [False, True]]), "boolean value True at row 0, column 0"),
    (np.array([[1.0, 2.0], [3.0, 4.0 + 2j]]), "complex value (4+2j) at row 1, column 1"),
    (np.zeros((3, 2, 2)), "expected a 2-D array (n_samples, n_features), got 3-D input of shape (3, 2, 2)"),
    (np.zeros((3, 0)), "input has 0 feature columns (shape (3, 0))"),
    ([[], []], "input has 0 feature columns (shape (2, 0))"),
    (np.array([[1, 2]], dtype="datetime64[s]"), "datetime array (dtype datetime64[s]) is not numeric"),
    (pd.DataFrame({"a": [1.0, 2.0], "flag": [True, False]}), "column 1 ('flag') is not numeric: dtype bool"),
    (pd.DataFrame({"a": pd.array([1, None], dtype="Int64"), "b": [1.0, 2.0]}),
     "missing value <NA> at row 1, column 0 ('a')"),
    (pd.DataFrame({"a": [1.0, 2.0]}).iloc[:, []], "input has 0 feature columns"),
])
def test_bad_arrays_are_data_errors_naming_the_cell(X, needle):
    with pytest.raises(nomaly.DataError) as e:
        nomaly.IForest(n_estimators=5).fit(X)
    assert isinstance(e.value, ValueError)
    assert needle in str(e.value)


def test_bad_arrays_at_scoring_name_the_cell():
    det = nomaly.HBOS().fit(X_OK)
    with pytest.raises(nomaly.DataError, match=r"missing value None at row 1, column 1"):
        det.decision_function(np.array([[1.0, 2.0], [3.0, None]], dtype=object))
    with pytest.raises(nomaly.DataError, match=r"ragged input: row 2 has 3 values, row 0 has 2"):
        det.predict([[1, 2], [3, 4], [5, 6, 7]])


def test_duplicate_column_names_are_refused_at_fit_and_score():
    df = pd.DataFrame(X_OK, columns=["a", "b"])
    dup = pd.DataFrame(np.c_[X_OK, X_OK[:, :1]], columns=["a", "b", "a"])
    with pytest.raises(nomaly.DataError, match=r"duplicate column name 'a' \(columns 0 and 2\)"):
        nomaly.KNN().fit(dup)
    det = nomaly.KNN().fit(df)
    with pytest.raises(nomaly.DataError, match=r"duplicate column name 'a' \(columns 0 and 2\)"):
        det.decision_function(dup)
    with pytest.raises(nomaly.DataError, match=r"missing feature columns a, b .*; pass X.to_numpy\(\) to score the "
                                               r"columns in order$"):
        det.decision_function(pd.DataFrame(X_OK, columns=["x", "y"]))
    # the same rule as the core CSV reader, which the CLI uses
    assert det.decision_function(df[["b", "a"]]).tolist() == det.decision_function(df).tolist()


def test_memory_exhausting_parameters_are_refused_with_the_bound():
    with pytest.raises(nomaly.ParameterError, match=r"parameter 'n_bins' must be in \[1, 100000\], got 1000000000"):
        nomaly.HBOS(n_bins=10**9).fit(X_OK)
    with pytest.raises(nomaly.ParameterError, match=r"parameter 'n_estimators' must be <= 100000, got 1099511627776"):
        nomaly.IForest(n_estimators=2**40).fit(X_OK)
    assert nomaly.HBOS(n_bins=100000).fit(X_OK).decision_function(X_OK).shape == (60,)
    if nomaly.WITH_TORCH:
        with pytest.raises(nomaly.ParameterError, match=r"'hidden_neurons' = \[1000000,1000000\] gives 1000002000000 "
                                                        r"weights for 2 features; at most 134217728"):
            nomaly.DeepSVDD(hidden_neurons=[10**6, 10**6], epochs=1).fit(X_OK)
        with pytest.raises(nomaly.ParameterError, match=r"integers in \[1, 1048576\]"):
            nomaly.AutoEncoder(hidden_neurons=[10**9]).fit(X_OK)


def test_too_large_neighbours_and_samples_are_clipped_with_a_warning_as_sklearn():
    n = len(X_OK)
    with pytest.warns(UserWarning, match=rf"KNN: n_neighbors = 1000000000000 does not fit .* n_neighbors = {n - 1} is used"):
        big = nomaly.KNN(n_neighbors=10**12).fit(X_OK)
    assert big.n_neighbors == 10**12  # the estimator keeps the user's value (sklearn.clone)
    assert big.decision_function(X_OK).tolist() == nomaly.KNN(n_neighbors=n - 1).fit(X_OK).decision_function(X_OK).tolist()
    with pytest.warns(UserWarning, match=rf"IForest: max_samples = 10000000000 .* max_samples = {n} is used"):
        f = nomaly.IForest(max_samples=10**10, n_estimators=10, random_state=1).fit(X_OK)
    ref = nomaly.IForest(max_samples=n, n_estimators=10, random_state=1).fit(X_OK)
    assert f.decision_function(X_OK).tolist() == ref.decision_function(X_OK).tolist()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # defaults never warn
        nomaly.KNN().fit(X_OK)


def test_random_state_accepts_a_numpy_random_state_as_sklearn():
    seed = np.random.RandomState(5).randint(np.iinfo(np.int32).max)
    a = nomaly.IForest(n_estimators=20, random_state=np.random.RandomState(5)).fit(X_OK)
    b = nomaly.IForest(n_estimators=20, random_state=int(seed)).fit(X_OK)
    assert a.decision_function(X_OK).tolist() == b.decision_function(X_OK).tolist()
    rs = np.random.RandomState(0)
    det = nomaly.IForest(n_estimators=20, random_state=rs)
    first = det.fit(X_OK).decision_function(X_OK)
    second = det.fit(X_OK).decision_function(X_OK)  # each fit draws a new seed, as sklearn's estimators
    assert first.tolist() != second.tolist()
    assert isinstance(det.get_params()["random_state"], np.random.RandomState)
    with pytest.raises(nomaly.ParameterError, match=r"numpy.random.Generator is not accepted"):
        nomaly.IForest(random_state=np.random.default_rng(0)).fit(X_OK)


def test_parameter_values_without_a_json_form_are_parameter_errors():
    with pytest.raises(nomaly.ParameterError, match=r"parameter 'n_estimators' must be finite, got nan"):
        nomaly.IForest(n_estimators=float("nan")).fit(X_OK)
    with pytest.raises(nomaly.ParameterError, match=r"parameter 'alpha' has a value of type object"):
        nomaly.HBOS(alpha=object()).fit(X_OK)
    assert nomaly.IForest(n_estimators=np.int64(7), bootstrap=np.bool_(True)).fit(X_OK).threshold_ > 0


def test_low_level_type_errors_are_short():
    blob = b"x" * 100_000
    with pytest.raises(TypeError) as e:
        _nomaly.from_native_bytes(blob, 5)
    assert str(e.value) == "name: expected str, got int"
    with pytest.raises(TypeError) as e:
        _nomaly.OnnxModel.load_bytes(blob, None, 0, 0)
    assert str(e.value) == "name: expected str, got NoneType"
    with pytest.raises(TypeError) as e:
        _nomaly.from_native_bytes("text", "n")
    assert str(e.value) == "data: expected bytes, got str"
    det = _nomaly.create_detector("hbos", "{}")
    with pytest.raises(TypeError) as e:
        det.fit(["a"] * 100_000)
    assert str(e.value) == "X: expected a 2-D float32 array, got list"
    with pytest.raises(nomaly.CorruptModel, match="bad magic"):
        _nomaly.from_native_bytes(bytearray(blob), "n")
    with pytest.raises(TypeError) as e:
        nomaly.IForest.from_native_bytes("not bytes")
    assert str(e.value) == "data: expected bytes, got str"


# ---- a PyOD/sklearn user's break-test ---------------------------------------------------------------------


def test_layouts_dtypes_and_memory_maps_score_like_the_float32_array(tmp_path):
    det = nomaly.IForest(n_estimators=30, random_state=2).fit(X_OK)
    ref = det.decision_function(X_OK.astype(np.float32))
    mm = np.memmap(tmp_path / "x.f32", dtype=np.float32, mode="w+", shape=X_OK.shape)
    mm[:] = X_OK
    mm.flush()
    ro = np.memmap(tmp_path / "x.f32", dtype=np.float32, mode="r", shape=X_OK.shape)
    strided = np.repeat(X_OK, 2, axis=1)[:, ::2]  # a non-contiguous view
    assert not strided.flags.c_contiguous
    for variant in (X_OK.tolist(), np.asfortranarray(X_OK), ro, strided):
        assert det.decision_function(variant).tolist() == ref.tolist()
    assert det.decision_function(X_OK[::-1]).tolist() == ref[::-1].tolist()
    assert det.decision_function(X_OK[::3]).tolist() == ref[::3].tolist()
    f16 = X_OK.astype(np.float16)
    assert det.decision_function(f16).tolist() == det.decision_function(f16.astype(np.float32)).tolist()
    tiny = np.full((2, 2), 1e-40, dtype=np.float32)  # float32 denormals are finite values
    assert np.isfinite(det.decision_function(tiny)).all()
    with pytest.raises(nomaly.DataError, match=r"value 1e\+300 is outside the float32 range at row 0, column 1"):
        det.decision_function(np.array([[0.0, 1e300]]))


def test_predict_proba_follows_pyod():
    det = nomaly.KNN().fit(X_OK)
    train = det.decision_scores_
    test = det.decision_function(X_OK[:7] * 3)
    p = det.predict_proba(X_OK[:7] * 3)
    lin = np.clip((test - train.min()) / (train.max() - train.min()), 0, 1)
    assert p.shape == (7, 2) and np.allclose(p[:, 1], lin) and np.allclose(p.sum(axis=1), 1)
    from scipy.special import erf
    u = det.predict_proba(X_OK[:7] * 3, method="unify")
    assert np.allclose(u[:, 1], np.clip(erf((test - train.mean()) / (train.std() * np.sqrt(2))), 0, 1))
    with pytest.raises(nomaly.ParameterError, match="method must be 'linear' or 'unify'"):
        det.predict_proba(X_OK, method="softmax")
    with pytest.raises(nomaly.NotFittedError):
        nomaly.KNN().predict_proba(X_OK)


def test_sklearn_style_parameters():
    assert nomaly.IForest(n_jobs=None, n_estimators=10).fit(X_OK).threshold_ > 0  # sklearn's None = 1 job
    with pytest.raises(TypeError, match=r"IForest.__init__\(\) takes 1 positional argument"):
        nomaly.IForest(100)
    with pytest.raises(ValueError, match="Invalid parameter 'n_trees'"):
        nomaly.IForest().set_params(n_trees=5)
    with pytest.raises(nomaly.ParameterError, match=r"parameter 'n_estimators' must be >= 1, got -1"):
        nomaly.IForest().set_params(n_estimators=-1).fit(X_OK)


def test_service_and_onnx_model_reject_odd_arguments_with_short_typed_errors(tmp_path):
    svc = nomaly.ModelPersistenceService(tmp_path / "store")
    det = svc.register(nomaly.HBOS().fit(X_OK), "ok.model-1")
    for call in (svc.save_model, svc.load_model, svc.delete_model, svc.get_detector):
        for bad in (None, 5):
            with pytest.raises(TypeError) as e:
                call(bad)
            assert str(e.value) == f"detector_id must be a str, got {type(bad).__name__}"
    for bad in ("", "../x", "a b", "x" * 65, ".x"):
        with pytest.raises(nomaly.InvalidDetectorId, match="invalid detector id"):
            svc.save_model(bad)
    with pytest.raises(TypeError, match=r"format must be a str \('native' or 'onnx'\), got NoneType"):
        svc.save_model(det.id, format=None)
    svc.save_model(det.id)
    with pytest.raises(nomaly.ParameterError, match=r"batch_size must be >= 0"):
        svc.load_model(det.id, batch_size=-1)
    with pytest.raises(nomaly.ParameterError, match=r"threads must be an int, got 1.5"):
        svc.load_model(det.id, threads=1.5)
    assert svc.load_model(det.id).decision_function(X_OK).tolist() == det.decision_function(X_OK).tolist()

    onnx = nomaly.KNN().fit(X_OK).to_onnx()
    with pytest.raises(nomaly.ParameterError, match=r"threads must be an int, got 'x'"):
        nomaly.OnnxModel(onnx, threads="x")
    with pytest.raises(nomaly.OnnxModelError, match="is a folder, not an ONNX model file"):
        nomaly.OnnxModel(tmp_path)
    with pytest.raises(nomaly.OnnxModelError, match="empty input"):
        nomaly.OnnxModel(b"")
    stub = tmp_path / "stub.onnx"
    stub.write_bytes(b"not protobuf at all")
    with pytest.raises(nomaly.OnnxModelError, match="not an ONNX model"):
        nomaly.OnnxModel(stub)
    stub.write_text(json.dumps({"model_type": "stub", "format": "nomaly-onnx-stub/1", "native_model": "model.nomaly",
                                "message": "No ONNX converter for this detector (test)"}))
    for src in (stub, stub.read_bytes()):
        with pytest.raises(nomaly.OnnxModelError, match=r"a nomaly ONNX stub, not an ONNX model \(No ONNX converter "
                                                        r"for this detector \(test\)\); score it with nomaly.open_model"):
            nomaly.OnnxModel(src)
    with pytest.raises(nomaly.OnnxModelError, match=r"is a nomaly native model \(.nomaly\), not ONNX"):
        nomaly.OnnxModel(det.to_native_bytes())


def test_pickled_model_scores_the_same_in_another_process():
    import pickle
    import subprocess
    import sys

    det = nomaly.LOF().fit(X_OK)
    code = ("import pickle, sys; det = pickle.loads(sys.stdin.buffer.read()); "
            "sys.stdout.buffer.write(pickle.dumps((det.decision_function(det._train_rows), det.decision_scores_)))")
    det._train_rows = X_OK  # travels with the pickle (a plain attribute)
    out = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(det), capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr.decode()[-500:]
    scores, train = pickle.loads(out.stdout)
    assert scores.tolist() == det.decision_function(X_OK).tolist()
    assert train.tolist() == det.decision_scores_.tolist()

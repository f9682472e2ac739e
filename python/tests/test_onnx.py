"""ONNX from Python: to_onnx bytes are the CLI's model, OnnxModel runs ours and third-party models, and ONNX
Runtime matches the native scores within 1e-5 relative on every row of every shared data set."""

import subprocess
import sys

import numpy as np
import pytest

import nomaly
from conftest import DATA, DATASETS, require_data

# Every detector with an ONNX converter, with parameters that keep the whole matrix fast.
EXPORTABLE = {
    "iforest": dict(n_estimators=20, random_state=1),
    "lof": dict(n_neighbors=10),
    "knn": dict(n_neighbors=5),
    "pca": {},
    "mcd": dict(random_state=1),
    "hbos": {},
    "ecod": {},
    "copod": {},
    "ocsvm": {},
}
if nomaly.WITH_TORCH:
    EXPORTABLE["autoencoder"] = dict(epochs=1, hidden_neurons=[8, 4], random_state=1)
    EXPORTABLE["deepsvdd"] = dict(epochs=1, pretrain_epochs=1, hidden_neurons=[8, 4], random_state=1)
CLASSES = {c._algorithm: c for c in nomaly.BaseDetector.__subclasses__()}
# Detectors whose fit grows fast with rows x features are fitted on the first rows only (FastMCD on musk's 3062 x
# 166 takes minutes, libsvm is quadratic); parity is still checked on every row of the set.
FIT_ROWS = {"mcd": 300, "ocsvm": 1000}


def max_rel(got, want):
    return float(np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want))))


def test_every_converter_is_covered():
    with_converter = {a["name"] for a in nomaly.algorithms() if a["onnx_export"] and a["available"]}
    assert with_converter == set(EXPORTABLE)  # no exportable detector is skipped silently


@pytest.mark.parametrize("algorithm", list(EXPORTABLE))
def test_onnx_parity_on_every_shared_dataset(algorithm):
    require_data()
    worst = {}
    for name in DATASETS:
        X, names, _ = nomaly.read_csv(DATA / name, "label")
        det = CLASSES[algorithm](**EXPORTABLE[algorithm]).fit(X[:FIT_ROWS.get(algorithm, len(X))])
        onnx = nomaly.OnnxModel(det.to_onnx())
        worst[name] = max_rel(onnx.decision_function(X), det.decision_function(X))
    assert len(worst) == len(DATASETS)
    bad = {k: v for k, v in worst.items() if not v <= 1e-5}
    assert not bad, f"{algorithm}: max relative difference above 1e-5 on {bad}"


def test_to_onnx_is_a_valid_model_with_metadata(tmp_path, blobs):
    import pandas as pd

    X, _ = blobs
    det = nomaly.IForest(n_estimators=25, random_state=4, contamination=0.02).fit(pd.DataFrame(X, columns=list("pqrs")))
    data = det.to_onnx()
    path = tmp_path / "m.onnx"
    path.write_bytes(data)
    # The onnx package checks the bytes in its own process (its protobuf runtime stays apart from ours).
    check = "import onnx,sys; m=onnx.load_from_string(open(sys.argv[1],'rb').read()); onnx.checker.check_model(m); print(m.graph.input[0].name)"
    out = subprocess.run([sys.executable, "-c", check, str(path)], capture_output=True, text=True)
    if out.returncode != 0 and "No module named 'onnx'" in out.stderr:
        pytest.skip("python3-onnx not installed")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "X"
    for model in (nomaly.OnnxModel(data), nomaly.OnnxModel(path, threads=1, batch_size=64), nomaly.OnnxModel(str(path))):
        assert model.metadata["nomaly.algorithm"] == "iforest"
        # metadata_props carry the float32 threshold as its shortest decimal text
        assert np.float32(model.threshold) == np.float32(det.threshold_) and model.feature_names == list("pqrs")
        assert model.n_features_in_ == 4
        assert max_rel(model.decision_function(X), det.decision_function(X)) <= 1e-5
        agree = model.predict(X) == det.predict(X)
        near = np.abs(det.decision_function(X) - det.threshold_) <= 1e-5
        assert np.all(agree | near)
    assert det.predict(X).sum() == pytest.approx(10, abs=2)


def test_onnx_model_scores_a_third_party_model(tmp_path):
    """A single-output model that is not nomaly's (row sums of X) runs as `nomaly score` would run it."""
    build = """
import onnx, sys
from onnx import helper, TensorProto
x = helper.make_tensor_value_info('input', TensorProto.FLOAT, ['N', 3])
y = helper.make_tensor_value_info('anomaly_score', TensorProto.FLOAT, ['N'])
axes = helper.make_tensor('axes', TensorProto.INT64, [1], [1])
node = helper.make_node('ReduceSum', ['input', 'axes'], ['anomaly_score'], keepdims=0)
g = helper.make_graph([node], 'sum', [x], [y], initializer=[axes])
m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)], producer_name='third-party')
m.ir_version = 8
open(sys.argv[1], 'wb').write(m.SerializeToString())
"""
    path = tmp_path / "third.onnx"
    out = subprocess.run([sys.executable, "-c", build, str(path)], capture_output=True, text=True)
    if out.returncode != 0 and "No module named 'onnx'" in out.stderr:
        pytest.skip("python3-onnx not installed")
    assert out.returncode == 0, out.stderr
    model = nomaly.OnnxModel(path)
    X = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.testing.assert_array_equal(model.decision_function(X), [3.0, 12.0, 21.0, 30.0])
    assert model.threshold is None and model.metadata == {}


def test_onnx_model_bad_bytes_and_width(blobs):
    X, _ = blobs
    with pytest.raises(nomaly.OnnxModelError):
        nomaly.OnnxModel(b"not an onnx model")
    model = nomaly.OnnxModel(nomaly.HBOS().fit(X).to_onnx())
    with pytest.raises(nomaly.DataError, match="expected 4 features"):
        model.decision_function(X[:, :2])


def test_runtime_options_are_bounded():
    """threads beyond 1024 or a negative batch size are a ParameterError, never an abort of the interpreter inside
    ONNX Runtime's thread pool (nor pybind's TypeError that prints the whole model)."""
    X = np.random.RandomState(3).randn(200, 3)
    onnx = nomaly.IForest(n_estimators=10, random_state=0).fit(X).to_onnx()
    with pytest.raises(nomaly.ParameterError, match=r"threads must be in \[0, 1024\]"):
        nomaly.OnnxModel(onnx, threads=10**6)
    with pytest.raises(nomaly.ParameterError, match="batch_size must be >= 0"):
        nomaly.OnnxModel(onnx, batch_size=-1)
    assert nomaly.OnnxModel(onnx, threads=2, batch_size=50).decision_function(X).shape == (200,)

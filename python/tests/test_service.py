"""ModelPersistenceService from Python (the seed's cases), the asyncio facade, and the store shared with the CLI."""

import asyncio
import hashlib
import json
import pathlib
import pickle
import subprocess

import numpy as np
import pandas as pd
import pytest

import nomaly
import nomaly.aio
from conftest import DATA, require_data


@pytest.fixture
def fitted(blobs):
    X, _ = blobs
    return nomaly.IForest(n_estimators=30, random_state=9).fit(pd.DataFrame(X, columns=list("abcd"))), X


def test_native_round_trip_is_bit_exact_row_by_row(tmp_path, fitted):
    det, X = fitted
    service = nomaly.ModelPersistenceService(tmp_path / "store")
    assert service.register(det, "iso-1") is det and det.id == "iso-1"
    path = pathlib.Path(service.save_model(det.id))
    assert path == tmp_path / "store" / "iso-1" / "model.nomaly" and path.is_file()
    loaded = service.load_model(det.id)
    assert loaded.format == "native" and loaded.id == "iso-1" and loaded.feature_names == list("abcd")
    np.testing.assert_array_equal(loaded.decision_function(X), det.decision_function(X))
    np.testing.assert_array_equal(loaded.predict(X), det.predict(X))
    assert loaded.threshold == det.threshold_
    back = service.get_detector("iso-1")
    assert type(back) is nomaly.IForest and back.n_estimators == 30
    np.testing.assert_array_equal(back.decision_function(X), det.decision_function(X))
    assert not hasattr(back, "decision_scores_")  # the native format keeps no training scores
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(back)).decision_function(X), det.decision_function(X))


def test_onnx_round_trip_row_by_row(tmp_path, fitted):
    det, X = fitted
    service = nomaly.ModelPersistenceService(tmp_path)
    service.register(det)  # a new UUID v4
    assert len(det.id) == 36 and det.id[14] == "4"
    path = service.save_model(det.id, format="onnx")
    assert path.endswith("model.onnx")
    loaded = service.load_model(det.id, format="onnx")
    assert loaded.format == "onnx"
    native = det.decision_function(X)
    rel = np.abs(loaded.decision_function(X) - native) / np.maximum(1.0, np.abs(native))
    assert rel.max() <= 1e-5
    # The model file is the same model as to_onnx (equal scores from both).
    np.testing.assert_array_equal(nomaly.OnnxModel(path).decision_function(X), loaded.decision_function(X))


def test_seed_error_cases(tmp_path, fitted, monkeypatch):
    det, X = fitted
    service = nomaly.ModelPersistenceService(tmp_path)
    with pytest.raises(nomaly.DetectorNotFound, match="Detector ghost not found"):
        service.save_model("ghost")
    with pytest.raises(nomaly.NoSavedModel, match="No saved model found for detector ghost"):
        service.load_model("ghost")
    service.register(nomaly.LOF(n_neighbors=7), "raw")
    raw = service.get_detector("raw")
    assert type(raw) is nomaly.LOF and raw.n_neighbors == 7 and raw.id == "raw" and not hasattr(raw, "threshold_")
    with pytest.raises(nomaly.NotFitted, match="Detector lof is not fitted"):
        service.save_model("raw")
    service.register(det, "d1")
    with pytest.raises(nomaly.UnknownFormat, match="Unknown format 'pickle'"):
        service.save_model("d1", format="pickle")
    with pytest.raises(nomaly.UnknownFormat):
        service.load_model("d1", format="h5")
    with pytest.raises(nomaly.InvalidDetectorId):
        service.save_model("../etc")
    service.save_model("d1")
    with pytest.raises(nomaly.NoSavedModel, match="in format onnx"):
        service.load_model("d1", format="onnx")
    for cls in (nomaly.DetectorNotFound, nomaly.NotFitted, nomaly.UnknownFormat, nomaly.NoSavedModel,
                nomaly.CorruptModel, nomaly.OnnxExportError, nomaly.FeatureDisabled):
        assert issubclass(cls, nomaly.NomalyError)
    assert issubclass(nomaly.FeatureDisabled, RuntimeError)


def test_feature_flag_off_writes_nothing(tmp_path, fitted, monkeypatch):
    det, _ = fitted
    service = nomaly.ModelPersistenceService(tmp_path / "s")
    service.register(det, "flag")
    monkeypatch.setenv("NOMALY_DEEP_LEARNING", "false")
    with pytest.raises(nomaly.FeatureDisabled) as e:
        service.save_model("flag", format="onnx")
    # Pynomaly's sentence, then what the flag covers (every ONNX save and export, native saves still work).
    assert str(e.value).startswith("Deep learning features are disabled. Enable with NOMALY_DEEP_LEARNING=true")
    assert "blocks every ONNX save and export" in str(e.value)
    assert not (tmp_path / "s" / "flag").exists()
    with pytest.raises(nomaly.FeatureDisabled):
        service.export_model("flag", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_corrupt_model_is_reported(tmp_path, fitted):
    det, _ = fitted
    service = nomaly.ModelPersistenceService(tmp_path)
    service.register(det, "c1")
    path = pathlib.Path(service.save_model("c1"))
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(nomaly.CorruptModel, match="model.nomaly"):
        service.load_model("c1")


def test_export_files_and_checksums(tmp_path, fitted):
    det, X = fitted
    service = nomaly.ModelPersistenceService(tmp_path / "store")
    service.register(det, "exp")
    files = service.export_model("exp", tmp_path / "bundle", triton=True)
    for rel in ("model.onnx", "config.json", "SHA256SUMS", "golden/input.csv", "golden/expected.csv"):
        assert rel in files and pathlib.Path(files[rel]).is_file()
    assert any(r.startswith("triton/") and r.endswith("config.pbtxt") for r in files)
    sums = {}
    for line in pathlib.Path(files["SHA256SUMS"]).read_text().splitlines():
        digest, rel = line.split(maxsplit=1)
        sums[rel.lstrip("*")] = digest
    assert sums and set(sums) <= set(files)
    for rel, digest in sums.items():
        assert hashlib.sha256(pathlib.Path(files[rel]).read_bytes()).hexdigest() == digest, rel
    exported = nomaly.OnnxModel(files["model.onnx"])
    rel = np.abs(exported.decision_function(X) - det.decision_function(X)) / np.maximum(1, np.abs(det.decision_function(X)))
    assert rel.max() <= 1e-5


def test_list_and_delete(tmp_path, blobs):
    X, _ = blobs
    service = nomaly.ModelPersistenceService(tmp_path)
    assert service.list_saved_models() == {}
    a = service.register(nomaly.HBOS().fit(X), "a")
    b = service.register(nomaly.ECOD().fit(X), "b")
    service.save_model(a.id)
    service.save_model(b.id, format="onnx", metadata={"owner": "team-x"})
    listed = service.list_saved_models()
    assert sorted(listed) == ["a", "b"]
    assert listed["a"]["algorithm"] == "hbos" and listed["a"]["format"] == "native"
    assert listed["b"]["format"] == "onnx" and listed["b"]["owner"] == "team-x" and listed["b"]["n_features"] == 4
    assert service.delete_model("a") is True
    assert service.delete_model("a") is False
    assert sorted(service.list_saved_models()) == ["b"]
    assert service.list_detectors() == ["a", "b"]
    assert service.delete_model("b", unregister=True) is True and service.list_detectors() == ["a"]


def test_async_facade_in_pynomalys_shape(tmp_path, fitted):
    det, X = fitted

    async def main():
        service = nomaly.aio.ModelPersistenceService(tmp_path / "store")
        detector = await service.register(det, "async-1")
        onnx_path = await service.save_model(detector.id, format='onnx')
        native_path = await service.save_model(detector.id, format='native')
        onnx_model = await service.load_model(detector.id, format='onnx')
        native_model = await service.load_model(detector.id, format='native')
        files = await service.export_model(detector.id, tmp_path / "export")
        listed = await service.list_saved_models()
        with pytest.raises(nomaly.NoSavedModel):
            await service.load_model("missing")
        deleted = await service.delete_model(detector.id)
        return onnx_path, native_path, onnx_model, native_model, files, listed, deleted

    onnx_path, native_path, onnx_model, native_model, files, listed, deleted = asyncio.run(main())
    assert onnx_path.endswith("model.onnx") and native_path.endswith("model.nomaly")
    np.testing.assert_array_equal(native_model.decision_function(X), det.decision_function(X))
    assert np.abs(onnx_model.decision_function(X) - det.decision_function(X)).max() <= 1e-5
    assert "model.onnx" in files and listed["async-1"]["detector_id"] == "async-1" and deleted is True


def test_python_model_is_listed_and_scored_by_the_cli(tmp_path, cli):
    require_data()
    csv = DATA / "glass.csv"
    X, names, _ = nomaly.read_csv(csv, "label")
    det = nomaly.LOF(n_neighbors=15).fit(pd.DataFrame(X, columns=names))
    store = tmp_path / "store"
    service = nomaly.ModelPersistenceService(store)
    service.register(det, "from-python")
    service.save_model("from-python")
    listed = json.loads(subprocess.run([cli, "list", "--store", str(store), "--json"], check=True,
                                       capture_output=True, text=True).stdout)
    assert listed["from-python"]["algorithm"] == "lof"
    out = tmp_path / "scores.csv"
    subprocess.run([cli, "score", "from-python", "--store", str(store), "-i", str(csv), "--scores-out", str(out)],
                   check=True, capture_output=True)
    cli_scores = pd.read_csv(out)["score"].to_numpy(np.float32)
    np.testing.assert_array_equal(cli_scores, det.decision_function(X).astype(np.float32))


def test_cli_model_loads_in_python(tmp_path, cli):
    require_data()
    csv = DATA / "glass.csv"
    store = tmp_path / "store"
    run = subprocess.run([cli, "train", "--store", str(store), "-a", "iforest", "-i", str(csv), "--id", "from-cli",
                          "-p", "n_estimators=40", "-p", "random_state=3"], check=True, capture_output=True, text=True)
    assert run.stdout.strip() == "from-cli"
    X, names, _ = nomaly.read_csv(csv, "label")
    service = nomaly.ModelPersistenceService(store)
    loaded = service.load_model("from-cli")
    assert loaded.feature_names == names
    det = service.get_detector("from-cli")
    assert type(det) is nomaly.IForest and det.n_estimators == 40 and det.id == "from-cli"
    same = nomaly.IForest(n_estimators=40, random_state=3).fit(X)
    np.testing.assert_array_equal(loaded.decision_function(X), same.decision_function(X))
    np.testing.assert_array_equal(det.decision_function(pd.DataFrame(X, columns=names)), same.decision_function(X))
    # And back: Python saves ONNX for the CLI-trained detector, the CLI scores it.
    service.save_model("from-cli", format="onnx")
    out = tmp_path / "s.csv"
    subprocess.run([cli, "score", "from-cli", "--store", str(store), "-f", "onnx", "-i", str(csv), "--scores-out", str(out)],
                   check=True, capture_output=True)
    onnx_scores = pd.read_csv(out)["score"].to_numpy()
    assert np.abs(onnx_scores - same.decision_function(X)).max() <= 1e-5


def test_store_under_a_file_is_a_typed_io_error(tmp_path, fitted):
    """A store folder that cannot be created (here: under a regular file) is nomaly.IoError (an OSError) naming the
    path, not a raw RuntimeError from std::filesystem."""
    det, _ = fitted
    (tmp_path / "afile").write_text("x")
    service = nomaly.ModelPersistenceService(tmp_path / "afile" / "store")
    with pytest.raises(nomaly.IoError, match="afile/store") as e:
        service.register(det, "a")
        service.save_model("a")
    assert isinstance(e.value, OSError) and isinstance(e.value, nomaly.NomalyError)

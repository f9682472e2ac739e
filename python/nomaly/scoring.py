"""Fitted scorers that are not trainable detectors: ONNX Runtime models (OnnxModel) and models loaded from the
store (LoadedModel). Both score with decision_function/predict like the detectors."""

import json
import numbers
import os

import numpy as np

from . import _nomaly
from ._validation import to_matrix
from .errors import OnnxModelError, ParameterError


class _ScorerBase:
    """decision_function/predict over a C++ scorer returning (float64 scores, int64 labels)."""

    def _score(self, X):
        X32, _ = to_matrix(X, model_names=self.feature_names or None, n_features=self.n_features_in_ or None)
        return self._run(X32)

    def decision_function(self, X):
        """Scores, float64 shape (n,): higher = more anomalous."""
        return self._score(X)[0]

    def predict(self, X):
        """0/1 labels, int64 shape (n,): the model's label output (1 = anomaly)."""
        return self._score(X)[1]


class OnnxModel(_ScorerBase):
    """Any anomaly ONNX model run by the embedded ONNX Runtime: nomaly exports and third-party models, as
    `nomaly score` accepts them. `source`: a path (str / os.PathLike) or the model's bytes. `threads`: ONNX
    Runtime intra-op threads (0 = all cores); `batch_size`: rows per Run (0 = all at once).
    Pickles as its ONNX bytes (so Dask/joblib ship it to workers)."""

    def __init__(self, source, threads=0, batch_size=0):
        self.threads, self.batch_size = _checked_runtime_options(threads, batch_size)
        try:
            self._load(source)
        except OnnxModelError as e:
            stub = _stub_message(source)
            if stub is None:
                raise
            raise OnnxModelError(f"{str(e).split(':')[0]}: a nomaly ONNX stub, not an ONNX model ({stub}); score it "
                                 f"with nomaly.open_model(path), which follows the stub to the native model") from None
        self._meta = json.loads(self._model.metadata_json)

    def _load(self, source):
        if isinstance(source, (bytes, bytearray, memoryview)):
            self._bytes = bytes(source)
            self._model = _nomaly.OnnxModel.load_bytes(self._bytes, "<bytes>", self.threads, self.batch_size)
        else:
            path = os.fspath(source)
            # The core opens the file first: a folder, a missing file or a native model get its typed messages.
            self._model = _nomaly.OnnxModel.load_file(path, self.threads, self.batch_size)
            with open(path, "rb") as f:
                self._bytes = f.read()

    def _run(self, X32):
        return self._model.score(X32, self.batch_size)

    @property
    def metadata(self):
        """metadata_props as a dict of str -> str."""
        return dict(self._meta["props"])

    @property
    def threshold(self):
        """nomaly.threshold (float), or None for a model without one."""
        return self._meta["threshold"]

    @property
    def feature_names(self):
        """nomaly.feature_names, or [] when the model has none."""
        return list(self._meta["feature_names"])

    @property
    def n_features_in_(self):
        """Input width, or 0 when the model leaves it symbolic."""
        return self._meta["n_features"]

    @property
    def io(self):
        """{'inputs': [...], 'outputs': [...]} with name, type and shape (-1 = symbolic)."""
        return self._meta["io"]

    def to_bytes(self):
        return self._bytes

    def __getstate__(self):
        return {"bytes": self._bytes, "threads": self.threads, "batch_size": self.batch_size}

    def __setstate__(self, state):
        self.__init__(state["bytes"], state["threads"], state["batch_size"])


def _stub_message(source):
    """The message of a nomaly ONNX stub (the JSON file written when a detector had no ONNX export), else None."""
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source[:1 << 20])
        else:
            with open(os.fspath(source), "rb") as f:
                data = f.read(1 << 20)
        stub = json.loads(data) if data.lstrip()[:1] == b"{" else None
    except (OSError, ValueError, TypeError):
        return None
    if isinstance(stub, dict) and stub.get("model_type") == "stub":
        return str(stub.get("message", "no ONNX export"))
    return None


class LoadedModel(_ScorerBase):
    """A model loaded by ModelPersistenceService.load_model (native or ONNX). `info`: what the store knows about
    it (detector_id, algorithm, threshold, feature_names, format, metadata, ...)."""

    def __init__(self, scorer, batch_size=0):
        self._scorer, self.batch_size = scorer, batch_size
        self.info = json.loads(scorer.info_json)

    def _run(self, X32):
        return self._scorer.score(X32, self.batch_size)

    @property
    def threshold(self):
        return self.info["threshold"]

    @property
    def feature_names(self):
        return list(self.info["feature_names"])

    @property
    def n_features_in_(self):
        return self.info["n_features"]

    @property
    def format(self):
        return self.info["format"]

    @property
    def id(self):
        return self.info["detector_id"]


# Each ONNX Runtime intra-op thread is an OS thread: a runaway count fails thread creation inside the C++ runtime,
# which aborts the interpreter; refuse it up front instead.
MAX_THREADS = 1024


def _checked_runtime_options(threads, batch_size):
    for name, v in (("threads", threads), ("batch_size", batch_size)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral):
            raise ParameterError(f"{name} must be an int, got {v!r:.60}")
    threads, batch_size = int(threads), int(batch_size)
    if not 0 <= threads <= MAX_THREADS:
        raise ParameterError(f"threads must be in [0, {MAX_THREADS}] (0 = all cores), got {threads}")
    if batch_size < 0:
        raise ParameterError(f"batch_size must be >= 0 (0 = all rows per run), got {batch_size}")
    return threads, batch_size


def open_model(path, threads=0, batch_size=0):
    """Opens a `.nomaly` file, an ONNX file or an export directory for scoring (as `nomaly score PATH`)."""
    threads, batch_size = _checked_runtime_options(threads, batch_size)
    return LoadedModel(_nomaly.open_model_path(os.fspath(path), threads, batch_size), batch_size)

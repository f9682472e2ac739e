"""PyOD-compatible detector classes over the C++ detectors. Each class's keyword parameters are the parameter
names and defaults of `nomaly algorithms` (generated from the registry, so they never drift), and each follows
PyOD's BaseDetector: fit / decision_function / predict / fit_predict, decision_scores_, labels_, threshold_."""

import inspect
import json
import os
import warnings

import numpy as np

from . import _nomaly
from ._validation import to_matrix
from .errors import DependencyMissing, NotFittedError, ParameterError

try:  # get_params/set_params/clone/Pipeline come from sklearn when it is importable (PyOD does the same).
    from sklearn.base import BaseEstimator as _Base
except ImportError:  # pragma: no cover
    _Base = object

_ALGORITHMS = {a["name"]: a for a in json.loads(_nomaly.algorithms_json())}


# sklearn draws seeds below 2**31 - 1 from a RandomState (sklearn.utils.check_random_state + randint(MAX_INT)).
_MAX_SEED = np.iinfo(np.int32).max


def _param_value(name, v):
    """A parameter value as JSON-ready Python; ParameterError naming the parameter when it has no JSON form."""
    if name == "random_state" and isinstance(v, np.random.RandomState):
        return int(v.randint(_MAX_SEED))  # a new seed per fit, as sklearn estimators draw from a RandomState
    if name == "random_state" and isinstance(v, np.random.Generator):
        raise ParameterError("parameter 'random_state' expects None, an int or a numpy.random.RandomState (as "
                             "scikit-learn); a numpy.random.Generator is not accepted: pass an int seed, e.g. "
                             "int(rng.integers(2**31 - 1))")
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            raise ParameterError(f"parameter '{name}' must be finite, got {v!r}")
        return float(v)
    if isinstance(v, (np.ndarray, tuple, list)):
        return [_param_value(name, x) for x in (v.tolist() if isinstance(v, np.ndarray) else v)]
    if v is None or isinstance(v, (int, str)):
        return v
    raise ParameterError(f"parameter '{name}' has a value of type {type(v).__name__} ({v!r:.60}); "
                         f"expected a number, a string, a bool, None or a list")


def _erf(z):
    try:
        from scipy.special import erf
    except ImportError:  # pragma: no cover - scipy comes with sklearn
        import math
        erf = np.vectorize(math.erf, otypes=[np.float64])
    return erf(z)


def _n_jobs(v):
    """sklearn's n_jobs convention -> nomaly's (0 = all cores): None 1 (sklearn's default outside a joblib
    context), -1 all cores, -2 all but one, ..."""
    if v is None:
        return 1
    if isinstance(v, (int, np.integer)) and v < 0:
        return 0 if v == -1 else max(1, (os.cpu_count() or 1) + 1 + int(v))
    return v


def _warn_clipped(cls_name, requested, used):
    """A UserWarning per parameter the core clipped to the data (n_neighbors > n - 1, max_samples > n), as
    scikit-learn warns; the value used is stored in the model (det.params_json)."""
    for name, value in requested.items():
        if name in used and used[name] != value and name != "random_state":
            warnings.warn(f"{cls_name}: {name} = {value!r} does not fit the training data; {name} = {used[name]!r} "
                          f"is used (and stored in the model)", UserWarning, stacklevel=3)


class BaseDetector(_Base):
    """Shared implementation; use the concrete classes (IForest, LOF, ...)."""

    _algorithm = None
    _estimator_type = "outlier_detector"

    # ---- parameters ---------------------------------------------------------------------------------------
    def _params_json(self):
        names = [p["name"] for p in _ALGORITHMS[self._algorithm]["params"]]
        params = {n: _param_value(n, getattr(self, n)) for n in names}
        if "n_jobs" in params:
            params["n_jobs"] = _n_jobs(params["n_jobs"])
        return json.dumps(params, allow_nan=False)

    # ---- fit / score ------------------------------------------------------------------------------------------
    def fit(self, X, y=None):
        """Fits on X (n_samples, n_features); y is ignored (unsupervised, as in PyOD). Returns self."""
        X32, names = to_matrix(X)
        requested = json.loads(self._params_json())
        det = _nomaly.create_detector(self._algorithm, json.dumps(requested))
        det.fit(X32)  # releases the GIL
        _warn_clipped(type(self).__name__, requested, json.loads(det.params_json))
        self._det = det
        self._train = None if len(det.training_scores()) else np.array(X32, copy=True)
        self._decision_scores = None
        self.n_features_in_ = X32.shape[1]
        if names is not None:
            self.feature_names_in_ = np.asarray(names, dtype=object)
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        self.threshold_ = float(det.threshold)
        return self

    def _fitted(self):
        det = getattr(self, "_det", None)
        if det is None:
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with appropriate arguments first.")
        return det

    def _matrix(self, X):
        det = self._fitted()
        names = getattr(self, "feature_names_in_", None)
        X32, _ = to_matrix(X, model_names=None if names is None else list(names), n_features=det.n_features)
        return det, X32

    def decision_function(self, X):
        """Anomaly scores, float64 shape (n,): higher = more anomalous (the native float32 scores, widened)."""
        det, X32 = self._matrix(X)
        return det.score_samples(X32)  # releases the GIL

    def predict(self, X):
        """0/1 labels (1 = anomaly: score > threshold_)."""
        return (self.decision_function(X) > self.threshold_).astype(np.int64)

    def predict_proba(self, X, method="linear", return_confidence=False):
        """(n, 2) array: column 1 = probability of being an outlier, PyOD's conversion of the scores.
        method "linear": the score min-max scaled by the training scores' range, clipped to [0, 1]; "unify":
        erf((score - mean) / (std * sqrt(2))) of the training scores, clipped to [0, 1] (Kriegel et al. 2011).
        return_confidence (PyOD's ExCeeD confidence) is not offered: ParameterError."""
        if return_confidence:
            raise ParameterError("predict_proba(return_confidence=True) is not supported by nomaly")
        if method not in ("linear", "unify"):
            raise ParameterError(f"predict_proba: method must be 'linear' or 'unify' (as PyOD), got {method!r}")
        train = np.asarray(self.decision_scores_, dtype=np.float64)
        test = self.decision_function(X)
        if method == "linear":
            span = train.max() - train.min()
            p1 = (test - train.min()) / (span if span > 0 else 1.0)  # sklearn's MinMaxScaler: a 0 range scales by 1
        else:
            sigma = train.std()
            z = (test - train.mean()) / ((sigma if sigma > 0 else 1.0) * np.sqrt(2.0))
            p1 = _erf(z)
        p1 = np.clip(p1, 0.0, 1.0)
        return np.column_stack([1.0 - p1, p1])

    def fit_predict(self, X, y=None):
        """fit(X) then labels_ (PyOD: the training labels, from decision_scores_)."""
        return self.fit(X).labels_

    @property
    def decision_scores_(self):
        """Training scores exactly as `nomaly detect` reports them: the detector's training scores (LOF/KNN leave
        each row out of its own neighbours) or, when fit skipped them, score_samples on the training rows
        (computed on first access from a private copy of the training matrix, so fit stays as fast as the CLI)."""
        det = self._fitted()
        if self._decision_scores is None:
            ts = det.training_scores()
            if not len(ts) and self._train is None:
                raise AttributeError("decision_scores_ is not available on a detector loaded from a saved model: the "
                                     "native format keeps the model, not the training scores (pickle keeps them)")
            self._decision_scores = ts if len(ts) else det.score_samples(self._train)
            self._train = None
        return self._decision_scores

    @property
    def labels_(self):
        """Training labels: decision_scores_ > threshold_."""
        return (self.decision_scores_ > self.threshold_).astype(np.int64)

    # ---- export / identity --------------------------------------------------------------------------------------
    def _names(self):
        names = getattr(self, "feature_names_in_", None)
        return [] if names is None else [str(n) for n in names]

    def to_onnx(self):
        """The ONNX model as bytes: the same model as the CLI's export (contract: docs/onnx-contract.md)."""
        return self._fitted().to_onnx(self._names(), getattr(self, "id", None) or "", "")

    def to_native_bytes(self):
        """The native model file's bytes (`model.nomaly` format: docs/persistence.md)."""
        return self._fitted().native_bytes(self._names(), getattr(self, "id", None) or "", "")

    @classmethod
    def from_native_bytes(cls, data, name="<bytes>"):
        """A fitted detector from native bytes (from to_native_bytes or a store's model.nomaly)."""
        det, entity_json = _nomaly.from_native_bytes(data, name)  # bytes-like; a short TypeError otherwise
        if cls._algorithm is not None and det is not None and det.algorithm != cls._algorithm:
            raise TypeError(f"{name} holds a {det.algorithm} model, not a {cls.__name__} "
                            f"({cls._algorithm}); use nomaly.BaseDetector.from_native_bytes to get its own class")
        return _wrap_fitted(det, json.loads(entity_json), cls)

    # ---- pickle: through the native format (bit-exact) -----------------------------------------------------
    def __getstate__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("_det", "_train", "_decision_scores")}
        if getattr(self, "_det", None) is not None:
            state["_native"] = self.to_native_bytes()
            state["_decision_scores"] = getattr(self, "decision_scores_", None)  # None for a loaded model
        return state

    def __setstate__(self, state):
        state = dict(state)
        native = state.pop("_native", None)
        self.__dict__.update(state)
        self._train = None
        if native is not None:
            self._det, _ = _nomaly.from_native_bytes(native, "<pickle>")
        else:
            self._det, self._decision_scores = None, None


def _wrap_fitted(det, entity, cls=None):
    """A Python detector object from a C++ detector (None for an unfitted store record) and its entity fields."""
    algorithm = det.algorithm if det is not None else entity["algorithm"]
    cls = cls if cls not in (None, BaseDetector) else _CLASSES[algorithm]
    params = json.loads(det.params_json) if det is not None else entity.get("parameters", {})
    obj = cls(**{k: v for k, v in params.items() if k in inspect.signature(cls.__init__).parameters})
    if entity.get("id"):
        obj.id = entity["id"]
    if det is None or not det.is_fitted:  # a record registered before fit: parameters only
        return obj
    obj._det, obj._train = det, None
    ts = det.training_scores()
    obj._decision_scores = ts if len(ts) else None
    obj.n_features_in_ = det.n_features
    obj.threshold_ = float(det.threshold)
    names = entity.get("feature_names") or []
    if names:
        obj.feature_names_in_ = np.asarray(names, dtype=object)
    return obj


# ---- the classes, one per registered algorithm ----------------------------------------------------------------
_CLASS_NAMES = {"iforest": "IForest", "lof": "LOF", "knn": "KNN", "pca": "PCA", "mcd": "MCD", "hbos": "HBOS",
                "ecod": "ECOD", "copod": "COPOD", "ocsvm": "OCSVM", "autoencoder": "AutoEncoder", "deepsvdd": "DeepSVDD"}
_CLASSES = {}


# PyOD's default contamination for every detector (BaseDetector(contamination=0.1)): a PyOD user who only changes the
# import gets the same decision threshold rule (the 90th percentile of the training scores), not the CLI's "auto".
PYOD_CONTAMINATION = 0.1


def _default(p):
    return PYOD_CONTAMINATION if p["name"] == "contamination" else p["default"]


def _make_class(algorithm, class_name):
    info = _ALGORITHMS[algorithm]
    sig = inspect.Signature([inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)] + [
        inspect.Parameter(p["name"], inspect.Parameter.KEYWORD_ONLY, default=_default(p)) for p in info["params"]])

    def __init__(self, **kwargs):
        if not info["available"]:
            raise DependencyMissing(f"{class_name}: {info['unavailable_reason']}")
        bound = sig.bind(self, **kwargs)  # TypeError naming an unknown keyword, as any Python call
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)  # stored as given: sklearn.clone checks identity

    __init__.__signature__ = sig
    __init__.__qualname__ = f"{class_name}.__init__"  # TypeErrors name the class, not the factory
    params_doc = "\n".join(f"    {p['name']} = {_default(p)!r}  ({p['type']}) {p['help']}" for p in info["params"])
    doc = f"{info['summary']}\n\nReference: {info['reference']}\n\nParameters (`nomaly algorithms`):\n{params_doc}\n"
    cls = type(class_name, (BaseDetector,), {"__init__": __init__, "__doc__": doc, "_algorithm": algorithm,
                                              "__module__": __name__, "__qualname__": class_name})
    return cls


for _alg, _name in _CLASS_NAMES.items():
    if _alg in _ALGORITHMS:
        _CLASSES[_alg] = globals()[_name] = _make_class(_alg, _name)

__all__ = ["BaseDetector"] + [n for a, n in _CLASS_NAMES.items() if a in _ALGORITHMS]

"""nomaly for Python: PyOD-compatible anomaly detectors over nomaly's C++ core, ONNX scoring, the model store
(ModelPersistenceService, sync and nomaly.aio), and Dask scoring (nomaly.dask). API: docs/python.md."""

from . import _nomaly
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _errors_all
from .models import *  # noqa: F401,F403
from .models import __all__ as _models_all
from ._validation import read_csv
from .scoring import LoadedModel, OnnxModel, open_model
from .service import ModelPersistenceService

__version__ = _nomaly.version
#: True when the extension was built with libtorch (AutoEncoder, DeepSVDD available).
WITH_TORCH = _nomaly.with_torch


def algorithms():
    """The registered algorithms with their parameters, as `nomaly algorithms --json` prints them."""
    import json

    return json.loads(_nomaly.algorithms_json())


__all__ = list(_errors_all) + list(_models_all) + ["OnnxModel", "LoadedModel", "open_model",
                                                    "ModelPersistenceService", "algorithms", "read_csv", "WITH_TORCH"]

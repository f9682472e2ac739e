"""ModelPersistenceService: Pynomaly's service over nomaly's model store, the same directory layout and
detector records as the CLI (`nomaly --store DIR ...`), so either side reads what the other wrote."""

import json
import os

from . import _nomaly
from .models import BaseDetector, _wrap_fitted
from .scoring import LoadedModel, _checked_runtime_options


def _id(detector_id):
    """Detector ids are str (the core validates their characters: InvalidDetectorId)."""
    if not isinstance(detector_id, str):
        raise TypeError(f"detector_id must be a str, got {type(detector_id).__name__}")
    return detector_id


def _format(format):
    if not isinstance(format, str):
        raise TypeError(f"format must be a str ('native' or 'onnx'), got {type(format).__name__}")
    return format


class ModelPersistenceService:
    """save/load/export/list/delete fitted detectors under `storage_root` (created on first save).

    Thread-safe (the C++ service serialises saves per id and locks across processes)."""

    def __init__(self, storage_root):
        self.storage_root = os.fspath(storage_root)
        self._store = _nomaly.Store(self.storage_root)

    def register(self, detector, detector_id=None, name=None, metadata=None):
        """Records a detector in the store's repository (`<root>/.detectors/<id>.nomaly`) under `detector_id`
        (a new UUID v4 when None) and sets `detector.id`. Returns the detector, so `register(det).id` works.
        The record is a snapshot: register again after refitting."""
        if not isinstance(detector, BaseDetector):
            raise TypeError(f"register expects a nomaly detector (IForest, LOF, ...), got {type(detector).__name__}")
        det = getattr(detector, "_det", None)
        if det is None:  # an unfitted detector is registered with its parameters, as the C++ entity allows
            det = _nomaly.create_detector(detector._algorithm, detector._params_json())
        if detector_id is not None:
            _id(detector_id)
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str, got {type(name).__name__}")
        detector.id = self._store.register(det, detector_id or "", name or "", detector._names(),
                                           json.dumps(metadata or {}))
        return detector

    def get_detector(self, detector_id):
        """The registered detector (fitted when it was registered fitted). DetectorNotFound when absent."""
        found = self._store.find(_id(detector_id))
        if found is None:
            from .errors import DetectorNotFound
            raise DetectorNotFound(f"Detector {detector_id} not found")
        det, entity_json = found
        return _wrap_fitted(det, json.loads(entity_json))

    def list_detectors(self):
        """Registered detector ids, sorted."""
        return list(self._store.ids())

    def save_model(self, detector_id, format="native", metadata=None, strict_onnx=False):
        """Saves the registered detector's model; returns the model file's path (str).
        DetectorNotFound, NotFitted, UnknownFormat, FeatureDisabled (format='onnx' with NOMALY_DEEP_LEARNING
        false; nothing written); OnnxExportError with strict_onnx for a detector without an ONNX converter."""
        return self._store.save_model(_id(detector_id), _format(format), json.dumps(metadata or {}), bool(strict_onnx))

    def load_model(self, detector_id, format="native", threads=0, batch_size=0):
        """A fitted scorer (LoadedModel) with decision_function/predict. NoSavedModel, CorruptModel, UnknownFormat."""
        threads, batch_size = _checked_runtime_options(threads, batch_size)
        return LoadedModel(self._store.load_model(_id(detector_id), _format(format), threads, batch_size), batch_size)

    def export_model(self, detector_id, export_dir, triton=False):
        """Writes a deployment bundle; returns {relative path: absolute path} (SHA256SUMS lists the checksums)."""
        return dict(self._store.export_model(_id(detector_id), os.fspath(export_dir), bool(triton)))

    def list_saved_models(self):
        """{detector id: metadata.json content} for every saved model."""
        return json.loads(self._store.list_saved_models_json())

    def delete_model(self, detector_id, unregister=False):
        """Removes the saved models of `detector_id` (and with unregister=True its repository record, as
        `nomaly delete`). False when nothing was there."""
        removed = self._store.delete_model(_id(detector_id))
        if unregister:
            removed = self._store.unregister(detector_id) or removed
        return removed

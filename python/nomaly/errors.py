"""nomaly's Python exceptions. The C++ core raises these with its own messages (python/src/module.cpp maps each
C++ error type to the class of the same name). All derive from NomalyError."""

try:  # PyOD users catch sklearn's NotFittedError; subclass it when sklearn is importable.
    from sklearn.exceptions import NotFittedError as _SklearnNotFitted
except ImportError:  # pragma: no cover - sklearn is a Debian dependency of the tests
    class _SklearnNotFitted(ValueError, AttributeError):
        pass


class NomalyError(Exception):
    """Base of every nomaly error."""


class ParameterError(NomalyError, ValueError):
    """Unknown parameter name or bad value (names the parameter)."""


class DataError(NomalyError, ValueError):
    """Bad input data: NaN/inf, wrong width, 1-D or empty input, non-numeric values. Names the row and column."""


class InvalidDetectorId(NomalyError, ValueError):
    """A detector id that is neither a UUID v4 nor [A-Za-z0-9_-]{1,64}."""


class ModelError(NomalyError, RuntimeError):
    """Base of the model errors (loading, saving, exporting)."""


class NotFittedError(ModelError, _SklearnNotFitted):
    """Scoring, threshold or export before fit."""


class NotFitted(NotFittedError):
    """ModelPersistenceService.save_model/export_model on a detector that is not fitted."""


class DetectorNotFound(ModelError, KeyError):
    """No detector registered under this id."""

    def __str__(self):  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownFormat(ModelError, ValueError):
    """A model format other than 'native' or 'onnx'."""


class NoSavedModel(ModelError):
    """load_model for an id (or format) with nothing saved."""


class CorruptModel(ModelError):
    """A damaged model file (checksum, truncation, magic, version)."""


class OnnxExportError(ModelError):
    """A fitted detector could not be exported to ONNX."""


class OnnxModelError(ModelError):
    """An ONNX model could not be loaded or run."""


class FeatureDisabled(ModelError):
    """A feature switched off by a flag (NOMALY_DEEP_LEARNING=false). A RuntimeError."""


class IoError(NomalyError, OSError):
    """A file or folder could not be written or read (a read-only store, a missing folder); exit code 5 in the CLI."""


class DependencyMissing(ModelError, ImportError):
    """The build lacks an optional component (libtorch for AutoEncoder/DeepSVDD)."""


__all__ = [n for n in dir() if n[0].isupper() and not n.startswith("_")]

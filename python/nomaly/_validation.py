"""Turning user input into the float32 C-contiguous 2-D matrix the C++ core reads, with errors that name the
row and column (0-based numpy indices, plus the pandas column name when there is one).

Copies: a C-contiguous float32 numpy array is passed to C++ as it is (zero-copy). Anything else (float64,
Fortran order, other dtypes, lists, pandas) is converted once into a new float32 C-contiguous array."""

import numpy as np

from .errors import DataError
from . import _nomaly

try:
    import pandas as _pd
except ImportError:  # pragma: no cover
    _pd = None


def _is_dataframe(X):
    return _pd is not None and isinstance(X, _pd.DataFrame)


def _column_label(j, names):
    return f"column {j} ({names[j]!r})" if names is not None else f"column {j}"


def _first_unparsable(X, names):
    """(row, column, value) of the first cell float() refuses, for the error message."""
    rows = X.to_numpy(dtype=object) if _is_dataframe(X) else np.asarray(X, dtype=object)
    if rows.ndim != 2:
        return None
    for i in range(rows.shape[0]):
        for j in range(rows.shape[1]):
            try:
                float(rows[i, j])
            except (TypeError, ValueError):
                return i, j, rows[i, j]
    return None


def _to_float32(X, names):
    try:
        if _is_dataframe(X):
            for j, dt in enumerate(X.dtypes):
                if not (_pd.api.types.is_numeric_dtype(dt) or _pd.api.types.is_bool_dtype(dt)):
                    bad = _first_unparsable(X.iloc[:, [j]], None)
                    where = f" (row {bad[0]} holds {bad[2]!r})" if bad else ""
                    raise DataError(f"{_column_label(j, names)} is not numeric: dtype {dt}{where}")
            return np.ascontiguousarray(X.to_numpy(dtype=np.float32))
        arr = np.asarray(X)
        if arr.dtype.kind == "c":
            raise DataError("complex values are not supported; pass the real part or magnitude")
        with np.errstate(over="ignore"):  # out-of-range values become inf and are reported by _check_finite
            return np.ascontiguousarray(arr, dtype=np.float32)
    except (TypeError, ValueError) as e:
        if isinstance(e, DataError):
            raise
        bad = _first_unparsable(X, names)
        if bad is None:
            raise DataError(f"input is not a 2-D numeric array: {e}") from None
        i, j, v = bad
        raise DataError(f"non-numeric value {v!r} at row {i}, {_column_label(j, names)}") from None


def _check_finite(X32, source, names):
    if np.isfinite(X32).all():
        return
    i, j = (int(k[0]) for k in np.nonzero(~np.isfinite(X32)))
    v = source[i, j] if isinstance(source, np.ndarray) and source.ndim == 2 else X32[i, j]
    what = f"value {v!r} is outside the float32 range" if np.isfinite(v) else f"non-finite value {float(v)}"
    raise DataError(f"{what} at row {i}, {_column_label(j, names)}")


def feature_names_of(X):
    """Column names of a DataFrame (as strings), else None."""
    return [str(c) for c in X.columns] if _is_dataframe(X) else None


def to_matrix(X, model_names=None, n_features=None, source="X"):
    """Validated (rows x cols) float32 C-contiguous array and the data's feature names (None for unnamed data).

    With `model_names` (the names seen at fit), a DataFrame's columns are matched by name with the CLI's rule
    (nomaly::select_features): reordered, extra columns dropped, missing ones -> DataError naming them."""
    if X is None:
        raise DataError(f"{source} is None; expected a 2-D array of shape (n_samples, n_features)")
    if hasattr(X, "toarray") and not isinstance(X, np.ndarray):
        raise DataError(f"{source}: sparse input is not supported; pass X.toarray()")
    names = feature_names_of(X)
    if names is not None and model_names:
        chosen = _nomaly.select_columns(names, list(model_names), source)
        if chosen is not None:
            X = X.loc[:, [X.columns[names.index(c)] for c in chosen]]
            names = chosen
    ndim = np.ndim(X)
    if ndim != 2:
        shape = np.shape(X)
        hint = "; use X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one sample" if ndim == 1 else ""
        raise DataError(f"{source}: expected a 2-D array (n_samples, n_features), got {ndim}-D input of shape {shape}{hint}")
    X32 = _to_float32(X, names)
    if X32.shape[0] == 0:
        raise DataError(f"{source}: empty input (0 rows, shape {X32.shape}); at least 1 row is needed")
    if X32.shape[1] == 0:
        raise DataError(f"{source}: input has 0 feature columns (shape {X32.shape})")
    if n_features is not None and X32.shape[1] != n_features:
        raise DataError(f"{source}: expected {n_features} features (columns), got {X32.shape[1]} (shape {X32.shape})")
    _check_finite(X32, X if isinstance(X, np.ndarray) else X32, names)
    return X32, names


def read_csv(path, label_column=None, *, id_column="", columns=(), drop=(), sep=",", header=True, return_ids=False):
    """Reads a CSV with nomaly's core reader, nomaly::read_table: the CLI's rules for the header (blanks, BOM,
    CRLF/CR, quotes), the label, the columns and the errors (file:line:column). `label_column` None finds the
    label as `nomaly detect` does (a column named label/Label/LABEL/is_anomaly); "" reads none. `id_column`,
    `columns`, `drop`, `sep` ("," ";" "tab" ...) and `header=False` are the CLI's --id-column, --columns,
    --drop, --sep and --no-header. "-" reads standard input.
    Returns (X float32 (n, d), feature names, labels int64 (n,) or None), plus the ids (list of str) when
    `return_ids`."""
    import os

    X, names, labels, ids = _nomaly.read_table(os.fspath(path), label_column, id_column, list(columns), list(drop),
                                               sep, bool(header))
    return (X, names, labels, ids) if return_ids else (X, names, labels)

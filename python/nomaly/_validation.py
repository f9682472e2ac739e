"""Turning user input into the float32 C-contiguous 2-D matrix the C++ core reads, with errors that name the
row and column (0-based numpy indices, plus the pandas column name when there is one).

Copies: a C-contiguous float32 numpy array is passed to C++ as it is (zero-copy). Anything else (float64,
Fortran order, other dtypes, lists, pandas) is converted once into a new float32 C-contiguous array."""

import decimal
import numbers
import warnings

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


def _is_real(v):
    """A number a feature can hold: int/float/numpy real or Decimal; not bool, complex, str or None."""
    return isinstance(v, (numbers.Real, decimal.Decimal)) and not isinstance(v, (bool, np.bool_))


def _describe(v, where):
    """'<what v is> at <where>; <hint>' for a cell that is not a real number."""
    if v is None or (_pd is not None and v is _pd.NA):
        return f"missing value {v!r} at {where} (missing values are not supported)"
    if isinstance(v, (bool, np.bool_)):
        return f"boolean value {v!r} at {where} (booleans are not numeric features; convert with .astype(float) if 0/1 is meant)"
    if isinstance(v, (complex, np.complexfloating)):
        return f"complex value {v!r} at {where} (pass the real part or the magnitude)"
    if isinstance(v, (list, tuple, np.ndarray)):
        return f"a sequence {_short(v)} at {where}, not a number (input nested deeper than 2-D)"
    return f"non-numeric value {_short(v)} at {where}"


def _short(v, limit=60):
    r = repr(v)
    return r if len(r) <= limit else r[:limit] + "..."


def _first_bad_cell(arr, names, source):
    """DataError naming the first cell of an object array that is not a real number."""
    for (i, j), v in np.ndenumerate(arr):
        if not _is_real(v):
            return DataError(f"{source}: {_describe(v, f'row {i}, {_column_label(j, names)}')}")
    return None


def _ragged_error(X, source):
    """DataError naming the first row whose length differs from row 0's (X: a nested sequence numpy refused)."""
    try:
        rows = list(X)
        widths = [len(r) if hasattr(r, "__len__") and not isinstance(r, (str, bytes)) else None for r in rows]
    except TypeError:
        return DataError(f"{source}: not a 2-D array of numbers")
    for i, w in enumerate(widths):
        if w is None:
            return DataError(f"{source}: row {i} is {_short(rows[i])}, not a sequence of numbers")
        if w != widths[0]:
            return DataError(f"{source}: ragged input: row {i} has {w} values, row 0 has {widths[0]}; "
                             f"every row needs the same number of features")
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if isinstance(v, (list, tuple, np.ndarray)):
                return DataError(f"{source}: {_describe(v, f'row {i}, column {j}')}")
    return DataError(f"{source}: not a 2-D array of numbers")


def _as_array(X, source):
    """np.asarray(X) with typed errors for input numpy cannot turn into an array (ragged rows)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", getattr(np, "VisibleDeprecationWarning", DeprecationWarning))
            return np.asarray(X)
    except (ValueError, TypeError, DeprecationWarning):
        raise _ragged_error(X, source) from None


def _first_offender(arr, kind):
    """(row, column) to name for a non-numeric dtype: the first complex cell with an imaginary part, the first
    text that is not a number, else the first cell."""
    if kind == "c":
        nz = np.flatnonzero(arr.imag != 0)
        return np.unravel_index(int(nz[0]), arr.shape) if nz.size else (0, 0)
    if kind in "US":
        for (i, j), v in np.ndenumerate(arr):
            try:
                float(v)
            except ValueError:
                return i, j
    return 0, 0


_KIND_NAMES = {"U": "string", "S": "bytes", "b": "boolean", "c": "complex", "M": "datetime", "m": "timedelta",
               "V": "structured"}


def _to_float32(X, names, source):
    if _is_dataframe(X):
        for j, dt in enumerate(X.dtypes):
            if _pd.api.types.is_bool_dtype(dt) or not _pd.api.types.is_numeric_dtype(dt) or \
                    _pd.api.types.is_complex_dtype(dt):
                col = X.iloc[:, j].to_numpy(dtype=object)
                bad = next((i for i, v in enumerate(col) if not _is_real(v)), None)
                where = f": {_describe(col[bad], f'row {bad}')}" if bad is not None else ""
                raise DataError(f"{source}: {_column_label(j, names)} is not numeric: dtype {dt}{where}")
        # Nullable columns (Int64, Float64) hold pd.NA: NaN here, reported below as a missing value.
        return np.ascontiguousarray(X.to_numpy(dtype=np.float32, na_value=np.nan)), X
    arr = _as_array(X, source)
    if arr.ndim != 2:
        return None, arr
    kind = arr.dtype.kind
    if kind in _KIND_NAMES and arr.size:
        i, j = _first_offender(arr, kind)
        v = arr[i, j] if kind == "c" else arr[i, j].item()
        hint = "; numeric text is not converted implicitly (as scikit-learn): use X.astype(float)" if kind in "US" else ""
        raise DataError(f"{source}: {_KIND_NAMES[kind]} array (dtype {arr.dtype}) is not numeric: "
                        f"{_describe(v, f'row {i}, {_column_label(j, names)}')}{hint}")
    if kind == "O":
        err = _first_bad_cell(arr, names, source)
        if err is not None:
            raise err
    try:
        with np.errstate(over="ignore"):  # out-of-range values become inf and are reported by _check_finite
            return np.ascontiguousarray(arr, dtype=np.float32), arr
    except (TypeError, ValueError) as e:
        raise DataError(f"{source}: input is not a 2-D numeric array: {e}") from None


def _check_finite(X32, source_arr, names, source):
    if np.isfinite(X32).all():
        return
    i, j = (int(k[0]) for k in np.nonzero(~np.isfinite(X32)))
    v = X32[i, j]
    if isinstance(source_arr, np.ndarray) and source_arr.ndim == 2:
        v = source_arr[i, j]
    elif _is_dataframe(source_arr):
        v = source_arr.iat[i, j]
    where = f"row {i}, {_column_label(j, names)}"
    if v is None or (_pd is not None and v is _pd.NA):
        raise DataError(f"{source}: {_describe(v, where)}")
    f = float(v)
    what = f"value {v!r} is outside the float32 range" if np.isfinite(f) else f"non-finite value {f}"
    raise DataError(f"{source}: {what} at {where}")


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
    if names is not None:
        _check_unique(names, source)
    if names is not None and model_names:
        try:
            chosen = _nomaly.select_columns(names, list(model_names), source)
        except DataError as e:  # the CLI's hint names its flag; from Python, a plain array is scored in order
            raise DataError(str(e).replace("pass --positional to score the columns in order",
                                           "pass X.to_numpy() to score the columns in order")) from None
        if chosen is not None:
            X = X.loc[:, [X.columns[names.index(c)] for c in chosen]]
            names = chosen
    X32, arr = _to_float32(X, names, source)
    if X32 is None:
        ndim, shape = arr.ndim, arr.shape
        hint = "; use X.reshape(-1, 1) for one feature or X.reshape(1, -1) for one sample" if ndim == 1 else ""
        raise DataError(f"{source}: expected a 2-D array (n_samples, n_features), got {ndim}-D input of shape {shape}{hint}")
    if X32.shape[0] == 0:
        raise DataError(f"{source}: empty input (0 rows, shape {X32.shape}); at least 1 row is needed")
    if X32.shape[1] == 0:
        raise DataError(f"{source}: input has 0 feature columns (shape {X32.shape})")
    if n_features is not None and X32.shape[1] != n_features:
        raise DataError(f"{source}: expected {n_features} features (columns), got {X32.shape[1]} (shape {X32.shape})")
    _check_finite(X32, arr, names, source)
    return X32, names


def _check_unique(names, source):
    """Duplicate column names are refused, as the core CSV reader refuses a header naming a column twice."""
    seen = {}
    for j, n in enumerate(names):
        if n in seen:
            raise DataError(f"{source}: duplicate column name {n!r} (columns {seen[n]} and {j}); "
                            f"column names must be unique")
        seen[n] = j


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

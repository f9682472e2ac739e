"""Scoring Dask collections with a fitted detector, an OnnxModel or a LoadedModel.

How the model reaches the workers: it is pickled into the task graph once (dask deduplicates it) — a detector
pickles as its native model bytes (bit-exact), an OnnxModel as its ONNX bytes — and each worker unpickles it
and scores its partitions with the C++ core. Nothing else is shipped, so the same code runs on a LocalCluster
and on a multi-machine cluster, as long as each worker can `import nomaly` (install it on every worker)."""

import numpy as np


def decision_function(model, data):
    """Scores of a dask.array (n, d) -> dask.array (n,) float64, or of a dask.dataframe -> dask Series
    'score' with the frame's index. Each block/partition is scored with model.decision_function, so the
    result equals model.decision_function(data.compute()) row for row."""
    import dask.array as da

    if isinstance(data, da.Array):
        if data.ndim != 2:
            from .errors import DataError
            raise DataError(f"expected a 2-D dask array, got {data.ndim}-D")
        whole_rows = data.rechunk({1: -1})  # each block needs every feature of its rows
        return whole_rows.map_blocks(_score_block, model, drop_axis=1, dtype=np.float64)
    import dask.dataframe as dd

    if isinstance(data, dd.DataFrame):
        return data.map_partitions(_score_partition, model, meta=("score", "f8"))
    raise TypeError(f"expected a dask.array.Array or dask.dataframe.DataFrame, got {type(data).__name__}")


def predict(model, data):
    """0/1 labels of a dask.array or dask.dataframe (1 = anomaly), computed like decision_function."""
    import dask.array as da

    if isinstance(data, da.Array):
        return data.rechunk({1: -1}).map_blocks(_predict_block, model, drop_axis=1, dtype=np.int64)
    return data.map_partitions(_predict_partition, model, meta=("label", "i8"))


# Boolean filtering and uneven chunking give blocks with 0 rows: they score to 0 scores, as partitions do.
def _score_block(block, model):
    return model.decision_function(block) if block.shape[0] else np.empty(0, np.float64)


def _predict_block(block, model):
    return model.predict(block) if block.shape[0] else np.empty(0, np.int64)


def _score_partition(df, model):
    import pandas as pd

    return pd.Series(model.decision_function(df) if len(df) else np.empty(0), index=df.index, name="score")


def _predict_partition(df, model):
    import pandas as pd

    return pd.Series(model.predict(df) if len(df) else np.empty(0, np.int64), index=df.index, name="label")

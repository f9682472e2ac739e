"""Scoring Dask collections on a 2-process LocalCluster gives exactly the in-process scores."""

import numpy as np
import pandas as pd
import pytest

import nomaly
import nomaly.dask as ndask

dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    import dask.config

    # Workers are separate processes: the model reaches them pickled (native bytes / ONNX bytes).
    with dask.config.set({"distributed.worker.daemon": False}):
        with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                                      silence_logs=40) as cluster, distributed.Client(cluster) as c:
            yield c


def test_dask_array_and_dataframe_on_local_cluster(client):
    import dask.array as da
    import dask.dataframe as dd

    rng = np.random.RandomState(11)
    X = rng.randn(6000, 5)
    det = nomaly.IForest(n_estimators=40, random_state=2).fit(X)
    expected = det.decision_function(X)
    onnx = nomaly.OnnxModel(det.to_onnx())

    darr = da.from_array(X, chunks=(1000, 2))  # column chunks too: the helper joins each row's features
    got = ndask.decision_function(det, darr).compute()
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(ndask.predict(det, darr).compute(), det.predict(X))
    np.testing.assert_array_equal(ndask.decision_function(onnx, darr).compute(), onnx.decision_function(X))

    df = pd.DataFrame(X, columns=[f"c{i}" for i in range(5)])
    named = nomaly.KNN(n_neighbors=5).fit(df)
    ddf = dd.from_pandas(df, npartitions=4)
    series = ndask.decision_function(named, ddf).compute()
    np.testing.assert_array_equal(series.to_numpy(), named.decision_function(df))
    assert list(series.index) == list(df.index)
    workers = client.run(lambda: __import__("os").getpid())
    assert len(set(workers.values())) == 2  # two separate worker processes did the work


def test_bad_collection_type():
    with pytest.raises(TypeError, match="dask.array.Array or dask.dataframe.DataFrame"):
        ndask.decision_function(nomaly.HBOS(), np.zeros((3, 2)))


def test_empty_blocks_from_filtering_and_uneven_chunks(client):
    """Boolean filtering leaves blocks with 0 rows: they contribute 0 scores instead of failing the whole graph."""
    import dask.array as da

    rng = np.random.RandomState(5)
    X = rng.randn(300, 4)
    X[:100, 0] = -5.0  # the first block of 100 rows is filtered out entirely
    det = nomaly.HBOS().fit(X)
    a = da.from_array(X, chunks=(100, 4))
    kept = a[a[:, 0] > -4]
    np.testing.assert_array_equal(ndask.decision_function(det, kept).compute(), det.decision_function(X[X[:, 0] > -4]))
    np.testing.assert_array_equal(ndask.predict(det, kept).compute(), det.predict(X[X[:, 0] > -4]))
    uneven = da.from_array(X, chunks=((100, 0, 200), (4,)))
    np.testing.assert_array_equal(ndask.decision_function(det, uneven).compute(), det.decision_function(X))

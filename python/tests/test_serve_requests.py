"""`nomaly serve` (docs/serving.md) driven by Debian's python3-requests: the CLI trains a model into a temp store,
`build/nomaly serve --port 0` serves it on 127.0.0.1 (the printed port is parsed), and every route is exercised
with a real HTTP client. /infer scores equal `nomaly score` on the same rows, row by row."""

import re
import select
import subprocess

import numpy as np
import pytest
import requests

from conftest import CLI

TIMEOUT = 30  # seconds per request: a hang fails the test instead of blocking the suite


@pytest.fixture(scope="module")
def served(tmp_path_factory, blobs):
    if not CLI.exists():
        pytest.fail(f"CLI not built at {CLI}")
    tmp = tmp_path_factory.mktemp("serve")
    X, _ = blobs
    csv = tmp / "train.csv"
    np.savetxt(csv, X, delimiter=",", header="a,b,c,d", comments="", fmt="%.9g")
    store = tmp / "store"
    subprocess.run([str(CLI), "train", "--store", str(store), "--algorithm", "iforest", "--input", str(csv), "--id",
                    "forest", "--param", "n_estimators=50", "--param", "random_state=3"],
                   check=True, capture_output=True, timeout=300)
    server = subprocess.Popen([str(CLI), "serve", "--store", str(store), "--port", "0", "--threads", "4",
                               "--max-body-mb", "1"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        ready, _, _ = select.select([server.stdout], [], [], 60)
        banner = server.stdout.readline() if ready else ""
        m = re.search(r"http://127\.0\.0\.1:(\d+)", banner)
        assert m, f"no port in the banner: {banner!r}"
        yield {"url": f"http://127.0.0.1:{m.group(1)}", "store": store, "csv": csv, "X": X, "tmp": tmp}
    finally:
        server.terminate()  # SIGTERM: a graceful stop, exit 0
        assert server.wait(timeout=30) == 0


def cli_scores(served, rows):
    """`nomaly score` on `rows` (a CSV with the model's header), read back from --scores-out."""
    csv, out = served["tmp"] / "rows.csv", served["tmp"] / "scores.csv"
    np.savetxt(csv, rows, delimiter=",", header="a,b,c,d", comments="", fmt="%.9g")
    subprocess.run([str(CLI), "score", "--store", str(served["store"]), "forest", "--input", str(csv), "--threads", "1",
                    "--scores-out", str(out)], check=True, capture_output=True, timeout=300)
    return np.atleast_2d(np.genfromtxt(out, delimiter=",", skip_header=1, dtype=np.float32))[:, 0]


def tensor(rows, datatype="FP32", nested=False):
    rows = np.asarray(rows)
    data = rows.tolist() if nested else rows.ravel().tolist()
    return {"name": "X", "shape": list(rows.shape), "datatype": datatype, "data": data}


def output(body, name):
    return next(o for o in body["outputs"] if o["name"] == name)


def test_health_and_metadata(served):
    url = served["url"]
    assert requests.get(url + "/v2/health/live", timeout=TIMEOUT).json() == {"live": True}
    assert requests.get(url + "/v2/health/ready", timeout=TIMEOUT).json() == {"ready": True}
    assert requests.get(url + "/v2", timeout=TIMEOUT).json()["name"] == "nomaly"
    meta = requests.get(url + "/v2/models/forest", timeout=TIMEOUT).json()
    assert meta["name"] == "forest" and meta["platform"] == "nomaly_native"
    assert meta["inputs"] == [{"name": "X", "datatype": "FP32", "shape": [-1, 4]}]
    assert [o["name"] for o in meta["outputs"]] == ["scores", "label"]
    assert meta["parameters"]["feature_names"] == list("abcd")
    assert requests.get(url + "/v2/models/forest/ready", timeout=TIMEOUT).json() == {"name": "forest", "ready": True}
    assert list(requests.get(url + "/v1/models", timeout=TIMEOUT).json()) == ["forest"]


def test_infer_equals_nomaly_score_row_by_row(served):
    url, X = served["url"], served["X"]
    rows = X[480:500].astype(np.float32)  # normal rows and outliers
    r = requests.post(url + "/v2/models/forest/infer", json={"id": "req-1", "inputs": [tensor(rows)]}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model_name"] == "forest" and body["id"] == "req-1" and len(body["model_version"]) == 16
    scores = np.asarray(output(body, "scores")["data"], dtype=np.float32)
    assert output(body, "scores")["shape"] == [20] and output(body, "label")["datatype"] == "INT64"
    expected = cli_scores(served, rows)
    np.testing.assert_array_equal(scores, expected)
    threshold = requests.get(url + "/v2/models/forest", timeout=TIMEOUT).json()["parameters"]["threshold"]
    assert output(body, "label")["data"] == [int(s > np.float32(threshold)) for s in scores]
    assert sum(output(body, "label")["data"]) > 0  # the outliers at the end are labelled

    # Nested FP64 data and an output selection: the same scores, only the output asked for, no id.
    r = requests.post(url + "/v2/models/forest/infer",
                      json={"inputs": [tensor(rows.astype(np.float64), "FP64", nested=True)], "outputs": [{"name": "scores"}]},
                      timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    assert [o["name"] for o in r.json()["outputs"]] == ["scores"] and "id" not in r.json()
    np.testing.assert_array_equal(np.asarray(r.json()["outputs"][0]["data"], dtype=np.float32), expected)

    # A chunked body (requests sends a generator without Content-Length) is read and scored too.
    payload = requests.models.complexjson.dumps({"inputs": [tensor(rows[:3])]}).encode()
    r = requests.post(url + "/v2/models/forest/infer", data=(payload[i:i + 50] for i in range(0, len(payload), 50)),
                      headers={"Content-Type": "application/json"}, timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    np.testing.assert_array_equal(np.asarray(output(r.json(), "scores")["data"], dtype=np.float32), expected[:3])


def test_v1_score_rows_and_records(served):
    url, X = served["url"], served["X"]
    rows = X[490:495].astype(np.float32)
    expected = cli_scores(served, rows)
    records = [{"d": float(r[3]), "c": float(r[2]), "note": "dropped", "b": float(r[1]), "a": float(r[0])} for r in rows]
    for body in ({"rows": rows.tolist()}, {"records": records}):
        r = requests.post(url + "/v1/models/forest/score", json=body, timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        out = r.json()
        np.testing.assert_array_equal(np.asarray(out["scores"], dtype=np.float32), expected)
        assert out["labels"] == [int(s > np.float32(out["threshold"])) for s in np.float32(out["scores"])]
    del records[1]["c"]
    r = requests.post(url + "/v1/models/forest/score", json={"records": records}, timeout=TIMEOUT)
    assert r.status_code == 400 and "records[1].c: missing" in r.json()["error"]


def test_errors_404_400_405_413(served):
    url = served["url"]
    r = requests.post(url + "/v2/models/nosuch/infer", json={"inputs": [tensor(np.zeros((1, 4)))]}, timeout=TIMEOUT)
    assert r.status_code == 404 and r.json() == {"error": "No saved model found for detector nosuch"}
    r = requests.post(url + "/v2/models/forest/infer", json={"inputs": [tensor(np.zeros((1, 3)))]}, timeout=TIMEOUT)
    assert r.status_code == 400 and "has 3 columns; model forest expects [-1, 4]" in r.json()["error"]
    r = requests.post(url + "/v2/models/forest/infer", data="{not json", timeout=TIMEOUT)
    assert r.status_code == 400 and r.json()["error"].startswith("request body: malformed JSON")
    r = requests.get(url + "/v2/models/forest/infer", timeout=TIMEOUT)
    assert r.status_code == 405 and r.headers["Allow"] == "POST" and "method GET is not allowed" in r.json()["error"]
    r = requests.post(url + "/v2/models/..%2f..%2fetc/ready", timeout=TIMEOUT)
    assert r.status_code == 404
    r = requests.post(url + "/v2/models/forest/infer", data=b" " * (2 << 20), timeout=TIMEOUT)  # --max-body-mb 1
    assert r.status_code == 413 and "larger than the server's limit of 1048576 bytes" in r.json()["error"]
    assert requests.get(url + "/v2/health/ready", timeout=TIMEOUT).status_code == 200


def test_metrics_count_requests(served):
    url = served["url"]
    for _ in range(2):
        requests.post(url + "/v2/models/forest/infer", json={"inputs": [tensor(np.zeros((5, 4)))]}, timeout=TIMEOUT)
    r = requests.get(url + "/metrics", timeout=TIMEOUT)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    counts = dict(re.findall(r'^nomaly_requests_total\{route="([^"]+)",status="200"\} (\d+)$', r.text, re.M))
    assert int(counts["/v2/models/{id}/infer"]) >= 2
    rows = int(re.search(r"^nomaly_rows_scored_total (\d+)$", r.text, re.M).group(1))
    assert rows >= 10
    assert re.search(r"^nomaly_models_loaded 1$", r.text, re.M)

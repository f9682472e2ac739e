"""The stack Pynomaly users serve with: FastAPI + uvicorn + scikit-learn IsolationForest, speaking the same
Open Inference Protocol v2 JSON as `nomaly serve`, so that one load-generator body hits both (bench/serve_bench.py).

Environment: SERVE_BENCH_CSV (training CSV with a header; a `label` column is dropped), SERVE_BENCH_SEED.
"""
import os
from typing import Any, List, Optional

import numpy as np
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel
from sklearn.ensemble import IsolationForest


class Tensor(BaseModel):
    name: str
    shape: List[int]
    datatype: str
    data: List[Any]  # flat or nested, as the protocol allows


class InferRequest(BaseModel):
    id: Optional[str] = None
    inputs: List[Tensor]


def _load(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
    keep = [i for i, name in enumerate(header) if name != "label"]
    return np.loadtxt(path, delimiter=",", skiprows=1, usecols=keep, dtype=np.float32)


X = _load(os.environ["SERVE_BENCH_CSV"])
MODEL = IsolationForest(n_estimators=100, random_state=int(os.environ.get("SERVE_BENCH_SEED", "0"))).fit(X)
app = FastAPI()


@app.get("/v2/health/ready")
def ready():
    return {"ready": True}


@app.post("/v2/models/{model_id}/infer")
def infer(model_id: str, req: InferRequest):
    t = req.inputs[0]
    if t.name != "X" or len(t.shape) != 2 or t.shape[1] != X.shape[1]:
        raise HTTPException(status_code=400, detail="expected X FP32 [-1, %d]" % X.shape[1])
    x = np.asarray(t.data, dtype=np.float32).reshape(t.shape)
    scores = -MODEL.score_samples(x)  # higher = more anomalous, as nomaly
    labels = (scores > -MODEL.offset_).astype(np.int64)
    n = len(scores)
    out = {"model_name": model_id, "model_version": "1", "outputs": [
        {"name": "scores", "shape": [n], "datatype": "FP32", "data": scores.astype(np.float32).tolist()},
        {"name": "label", "shape": [n], "datatype": "INT64", "data": labels.tolist()}]}
    if req.id is not None:
        out["id"] = req.id
    return out

"""`nomaly serve` against FastAPI + uvicorn + scikit-learn IsolationForest, in the same run (part of `make bench`).

Both serve an Isolation Forest (100 trees, the same training CSV) on 127.0.0.1 and answer the same Open Inference
Protocol v2 body. wrk drives each with keep-alive connections for --seconds per case: 1-row and 1,000-row requests.
Reported: requests/s, p50/p99 latency (wrk's), non-2xx responses, and the nomaly/FastAPI ratios against the
targets (>= 10x FastAPI's 1-row requests/s; p99 <= 2 ms for 1-row requests).

  /usr/bin/python3 bench/serve_bench.py --cli build/nomaly --out bench/results/serve.md
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url, proc, timeout=60):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit("serve_bench: %s exited with %s" % (proc.args[0], proc.returncode))
        try:
            with urllib.request.urlopen(url + "/v2/health/ready", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("serve_bench: %s did not get ready" % url)


def training_csv(work):
    """../shared/data/cardio.csv (an ODDS set) when present, else 2000 x 21 synthetic rows."""
    cardio = os.path.join(HERE, "..", "..", "shared", "data", "cardio.csv")
    if os.path.exists(cardio):
        return os.path.abspath(cardio), "cardio (ODDS, 1831 x 21)"
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 21)).astype(np.float32)
    path = os.path.join(work, "train.csv")
    np.savetxt(path, X, delimiter=",", header=",".join("f%d" % j for j in range(21)), comments="", fmt="%.7g")
    return path, "synthetic (2000 x 21)"


def body(X, n):
    rows = X[np.arange(n) % len(X)]
    return json.dumps({"inputs": [{"name": "X", "shape": [n, X.shape[1]], "datatype": "FP32",
                                   "data": rows.ravel().tolist()}]})


def to_ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    x = float(m.group(1))
    return x / 1000 if m.group(2) == "us" else x if m.group(2) == "ms" else x * 1000


def wrk(url, body_path, seconds, connections, threads):
    lua = body_path + ".lua"
    with open(lua, "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                'local f = io.open("%s", "rb")\nwrk.body = f:read("*a")\nf:close()\n' % body_path)
    out = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds, "--latency", "-s", lua, url],
                         capture_output=True, text=True, check=True).stdout
    lat = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    total = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": rps, "p50_ms": to_ms(lat["50"]), "p99_ms": to_ms(lat["99"]), "requests": total,
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": sum(map(int, errors.groups())) if errors else 0}


def cpu_seconds(pid):
    """utime + stime of a process (and its finished threads), from /proc."""
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def check_answer(url, payload, n):
    req = urllib.request.Request(url, data=payload.encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        out = json.loads(r.read())
    scores = out["outputs"][0]["data"]
    if len(scores) != n or not all(np.isfinite(scores)):
        raise SystemExit("serve_bench: %s answered %d scores for %d rows" % (url, len(scores), n))
    return np.asarray(scores)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True, help="the built nomaly binary")
    ap.add_argument("--out", required=True)
    ap.add_argument("--json-out", default="")
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("SERVE_BENCH_SECONDS", "10")))
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--uvicorn-workers", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args()
    for tool in ("wrk",):
        if not shutil.which(tool):
            raise SystemExit("serve_bench: %s is missing (apt-get install %s; scripts/setup.sh lists it)" % (tool, tool))
    work = tempfile.mkdtemp(prefix="nomaly-serve-bench-")
    procs = []
    try:
        csv, data_name = training_csv(work)
        store = os.path.join(work, "store")
        subprocess.run([a.cli, "train", "--store", store, "--algorithm", "iforest", "--input", csv, "--id", "bench",
                        "--param", "n_estimators=100", "--param", "random_state=0"], check=True, capture_output=True)
        X = np.loadtxt(csv, delimiter=",", skiprows=1, dtype=np.float32)
        with open(csv) as f:
            header = f.readline().strip().split(",")
        if "label" in header:
            X = np.delete(X, header.index("label"), axis=1)

        nport, fport = free_port(), free_port()
        nurl, furl = "http://127.0.0.1:%d" % nport, "http://127.0.0.1:%d" % fport
        procs.append(subprocess.Popen([a.cli, "serve", "--store", store, "--port", str(nport)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        env = dict(os.environ, SERVE_BENCH_CSV=csv, SERVE_BENCH_SEED="0", PYTHONWARNINGS="ignore")
        procs.append(subprocess.Popen([sys.executable, "-m", "uvicorn", "serve_fastapi_app:app", "--app-dir", HERE,
                                       "--host", "127.0.0.1", "--port", str(fport), "--workers", str(a.uvicorn_workers),
                                       "--log-level", "warning", "--no-access-log"],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_ready(nurl, procs[0])
        wait_ready(furl, procs[1])
        results = {}
        for n in (1, 1000):
            path = os.path.join(work, "body-%d.json" % n)
            payload = body(X, n)
            with open(path, "w") as f:
                f.write(payload)
            for name, url in (("nomaly", nurl), ("fastapi", furl)):
                target = url + "/v2/models/bench/infer"
                check_answer(target, payload, n)
                cpu0 = cpu_seconds(procs[0].pid)
                results["%s_%d" % (name, n)] = r = wrk(target, path, a.seconds, a.connections, 1)
                if name == "nomaly":  # server CPU per request: independent of what else runs on the machine
                    r["cpu_us_per_request"] = 1e6 * (cpu_seconds(procs[0].pid) - cpu0) / max(1, r["requests"])
                print("serve_bench: %-7s %4d row(s): %9.1f requests/s  p50 %.3f ms  p99 %.3f ms  non-2xx %d" %
                      (name, n, r["rps"], r["p50_ms"], r["p99_ms"], r["non2xx"]), flush=True)
        # Latency without queueing: one connection, one request at a time.
        target = nurl + "/v2/models/bench/infer"
        results["nomaly_1_c1"] = r = wrk(target, os.path.join(work, "body-1.json"), a.seconds, 1, 1)
        print("serve_bench: nomaly     1 row(s), 1 connection: p50 %.3f ms  p99 %.3f ms" % (r["p50_ms"], r["p99_ms"]),
              flush=True)
        write_report(a, results, data_name)
        if a.json_out:
            with open(a.json_out, "w") as f:
                json.dump(results, f, indent=2)
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


def write_report(a, res, data_name):
    def row(n):
        nm, fa = res["nomaly_%d" % n], res["fastapi_%d" % n]
        return "| %d | %.0f | %.3f | %.3f | %d | %.0f | %.2f | %.2f | %d | %.1fx |" % (
            n, nm["rps"], nm["p50_ms"], nm["p99_ms"], nm["non2xx"] + nm["socket_errors"], fa["rps"], fa["p50_ms"],
            fa["p99_ms"], fa["non2xx"] + fa["socket_errors"], nm["rps"] / fa["rps"])
    ratio = res["nomaly_1"]["rps"] / res["fastapi_1"]["rps"]
    p99 = res["nomaly_1"]["p99_ms"]
    c1 = res["nomaly_1_c1"]
    lines = [
        "# nomaly serve vs FastAPI + uvicorn + scikit-learn (Isolation Forest, 100 trees)",
        "",
        "Run on %s on %d cores; load average %s at the end. Data: %s. wrk, %d keep-alive connections, 1 thread, "
        "%d s per case, on 127.0.0.1. nomaly serve: default options (native model). FastAPI: uvicorn with %d workers, "
        "pydantic request model, `IsolationForest.score_samples`. Both answer the same v2 JSON body."
        % (time.strftime("%Y-%m-%d", time.gmtime()), os.cpu_count(), " ".join(open("/proc/loadavg").read().split()[:3]),
           data_name, a.connections, a.seconds, a.uvicorn_workers),
        "",
        "| rows/request | nomaly req/s | nomaly p50 ms | nomaly p99 ms | nomaly errors | FastAPI req/s | FastAPI p50 ms | FastAPI p99 ms | FastAPI errors | req/s ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
        row(1),
        row(1000),
        "",
        "nomaly serve CPU time per request (user + system, all threads): %.0f us for 1 row, %.0f us for 1,000 rows. "
        "1 row over one connection (no queueing): p50 %.3f ms, p99 %.3f ms, %.0f requests/s."
        % (res["nomaly_1"]["cpu_us_per_request"], res["nomaly_1000"]["cpu_us_per_request"], c1["p50_ms"], c1["p99_ms"],
           c1["rps"]),
        "",
        "Targets: 1-row requests/s >= 10x FastAPI's: **%.1fx** (%s); 1-row p99 <= 2 ms: **%.3f ms** with 8 connections "
        "(%s), **%.3f ms** with one (%s)."
        % (ratio, "pass" if ratio >= 10 else "FAIL", p99, "pass" if p99 <= 2 else "FAIL", c1["p99_ms"],
           "pass" if c1["p99_ms"] <= 2 else "FAIL"),
        "",
    ]
    with open(a.out, "w") as f:
        f.write("\n".join(lines))
    print("serve_bench: wrote %s" % a.out)


if __name__ == "__main__":
    main()

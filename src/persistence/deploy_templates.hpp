// The scripts shipped in export bundles (kept verbatim here so the bundle needs nothing from nomaly).
#pragma once

namespace nomaly::detail {

/// deploy.py: scores a CSV (or checks the golden vectors with --check) with onnxruntime + numpy.
inline constexpr const char* kDeployPy = R"PY(#!/usr/bin/env python3
"""Score a CSV with this nomaly export, using onnxruntime and numpy only.

  python3 deploy.py input.csv [--output scores.csv]   writes "score,label" per row (stdout by default)
  python3 deploy.py --check                           re-scores golden/input.csv and compares with
                                                      golden/expected.csv (exit 0 when they agree)

The CSV needs a header; the model's feature columns are picked by name (config.json "input"), other
columns (e.g. a label) are ignored. Scores: higher = more anomalous; label 1 = anomaly.
"""
import argparse
import csv
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TOLERANCE = 1e-5  # max |diff| / max(1, |expected|)


def load_config():
    with open(os.path.join(HERE, "config.json"), encoding="utf-8") as f:
        return json.load(f)


def read_features(path, feature_names):
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    if not rows:
        sys.exit(f"{path}: empty file")
    header = [h.strip() for h in rows[0]]
    missing = [n for n in feature_names if n not in header]
    if missing:
        sys.exit(f"{path}: missing feature columns {missing}")
    idx = [header.index(n) for n in feature_names]
    data = [[float(r[i]) for i in idx] for r in rows[1:] if r]
    return np.asarray(data, dtype=np.float32).reshape(-1, len(feature_names))


def read_expected(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return (np.asarray([float(r["score"]) for r in rows], dtype=np.float64),
            np.asarray([int(r["label"]) for r in rows], dtype=np.int64))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", nargs="?", help="CSV to score")
    parser.add_argument("--output", help="write score,label CSV here instead of stdout")
    parser.add_argument("--check", action="store_true", help="compare with the golden vectors")
    args = parser.parse_args()
    config = load_config()
    if config.get("stub"):
        print("This bundle holds a native nomaly model (no ONNX converter for "
              f"{config.get('algorithm')}); score it with: nomaly score {HERE} --input FILE", file=sys.stderr)
        return 2
    import onnxruntime as ort

    session = ort.InferenceSession(os.path.join(HERE, config["model_file"]), providers=["CPUExecutionProvider"])
    names = config["input"]["feature_names"]
    out_names = [o["name"] for o in config["outputs"]]
    path = os.path.join(HERE, config["golden"]["input"]) if args.check else args.input
    if not path:
        parser.error("give an input CSV or --check")
    X = read_features(path, names)
    scores, labels = session.run(out_names, {config["input"]["name"]: X})
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if args.check:
        expected, expected_labels = read_expected(os.path.join(HERE, config["golden"]["expected"]))
        diff = np.abs(scores - expected)
        rel = float(np.max(diff / np.maximum(1.0, np.abs(expected)))) if len(diff) else 0.0
        print(f"rows {len(expected)}  max |diff| {float(np.max(diff)) if len(diff) else 0.0:.3e}  "
              f"max rel {rel:.3e}  label mismatches {int(np.sum(labels != expected_labels))}")
        return 0 if rel <= TOLERANCE else 1
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    out.write("score,label\n")
    for s, l in zip(scores, labels):
        out.write(f"{s:.9g},{int(l)}\n")
    if args.output:
        out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
)PY";

/// deploy.mjs: the same with onnxruntime-node (resolved through require, so NODE_PATH works too).
inline constexpr const char* kDeployMjs = R"JS(// Score a CSV with this nomaly export, using onnxruntime-node.
//
//   node deploy.mjs input.csv [--output scores.csv]   writes "score,label" per row (stdout by default)
//   node deploy.mjs --check                           re-scores golden/input.csv against golden/expected.csv
//
// Install the runtime with `npm install onnxruntime-node`. The CSV needs a header; feature columns are
// picked by name (config.json "input"). Scores: higher = more anomalous; label 1 = anomaly.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const HERE = dirname(fileURLToPath(import.meta.url));
const TOLERANCE = 1e-5; // max |diff| / max(1, |expected|)

function parseCsv(path) {
  const text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  const lines = text.split(/\r?\n/).filter((l) => l.length > 0);
  return { header: lines[0].split(',').map((h) => h.trim()), rows: lines.slice(1).map((l) => l.split(',')) };
}

function readFeatures(path, names) {
  const { header, rows } = parseCsv(path);
  const idx = names.map((n) => {
    const i = header.indexOf(n);
    if (i < 0) throw new Error(`${path}: missing feature column ${n}`);
    return i;
  });
  const data = new Float32Array(rows.length * names.length);
  rows.forEach((r, i) => idx.forEach((c, j) => { data[i * names.length + j] = Number(r[c]); }));
  return { data, n: rows.length };
}

async function main() {
  const args = process.argv.slice(2);
  const config = JSON.parse(readFileSync(join(HERE, 'config.json'), 'utf8'));
  if (config.stub) {
    console.error(`This bundle holds a native nomaly model (no ONNX converter for ${config.algorithm}); ` +
                  `score it with: nomaly score ${HERE} --input FILE`);
    return 2;
  }
  const ort = require('onnxruntime-node');
  const check = args.includes('--check');
  const outIdx = args.indexOf('--output');
  const output = outIdx >= 0 ? args[outIdx + 1] : null;
  const input = check ? join(HERE, config.golden.input) : args.find((a, i) => !a.startsWith('--') && i !== outIdx + 1);
  if (!input) throw new Error('usage: node deploy.mjs input.csv [--output F] | --check');
  const names = config.input.feature_names;
  const { data, n } = readFeatures(input, names);
  const session = await ort.InferenceSession.create(join(HERE, config.model_file));
  const feeds = { [config.input.name]: new ort.Tensor('float32', data, [n, names.length]) };
  const result = await session.run(feeds);
  const scores = Array.from(result[config.outputs[0].name].data, Number);
  const labels = Array.from(result[config.outputs[1].name].data, Number);
  if (check) {
    const { rows } = parseCsv(join(HERE, config.golden.expected));
    let maxDiff = 0, maxRel = 0, mismatches = 0;
    rows.forEach((r, i) => {
      const e = Number(r[0]);
      const d = Math.abs(scores[i] - e);
      maxDiff = Math.max(maxDiff, d);
      maxRel = Math.max(maxRel, d / Math.max(1, Math.abs(e)));
      if (labels[i] !== Number(r[1])) mismatches += 1;
    });
    if (rows.length !== n) throw new Error(`golden rows ${rows.length} != scored rows ${n}`);
    console.log(`rows ${n}  max |diff| ${maxDiff.toExponential(3)}  max rel ${maxRel.toExponential(3)}  ` +
                `label mismatches ${mismatches}`);
    return maxRel <= TOLERANCE ? 0 : 1;
  }
  const lines = ['score,label', ...scores.map((s, i) => `${s.toPrecision(9)},${labels[i]}`)];
  if (output) writeFileSync(output, lines.join('\n') + '\n');
  else process.stdout.write(lines.join('\n') + '\n');
  return 0;
}

main().then((code) => { process.exitCode = code; }, (err) => { console.error(`error: ${err.message}`); process.exitCode = 1; });
)JS";

}  // namespace nomaly::detail

// The scripts shipped in export bundles (kept verbatim here so the bundle needs nothing from nomaly).
#pragma once

namespace nomaly::detail {

/// deploy.py: scores a CSV (or checks the golden vectors with --check) with onnxruntime + numpy (or, without
/// onnxruntime, the nomaly Python package's embedded ONNX Runtime).
inline constexpr const char* kDeployPy = R"PY(#!/usr/bin/env python3
"""Score a CSV with this nomaly export, using onnxruntime and numpy only (without onnxruntime, the nomaly
Python package's embedded ONNX Runtime is used when it is installed; --check prints which runtime ran).

  python3 deploy.py input.csv [--output scores.csv]   writes "score,label" per row (stdout by default)
  python3 deploy.py --check                           verifies SHA256SUMS, re-scores golden/input.csv and
                                                      compares with golden/expected.csv: exit 0 only when
                                                      every file matches its checksum, every score is within
                                                      the tolerance and every label agrees

The CSV needs a header; the model's feature columns are picked by name (config.json "input"), other
columns (e.g. a label) are ignored. Fields may be double-quoted (RFC 4180); a UTF-8 BOM and CRLF line
ends are accepted. Every feature cell must be a finite float32 number: empty, non-numeric, NaN/inf and
out-of-range cells, ragged rows and an empty file are rejected with the line and column at fault, as are
header names that are empty, repeated or not UTF-8; a header without rows scores to an empty result.
"-" reads standard input. Scores: higher = more anomalous; label 1 = anomaly.

Exit codes: 0 ok, 1 --check mismatch or runtime failure, 2 usage / stub bundle, 3 bad input data.
"""
import argparse
import csv
import hashlib
import json
import math
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOLERANCE = 1e-5  # |diff| <= TOLERANCE * max(|expected|, floor); floor: 1e-3 x the expected scores' spread
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")
NON_FINITE = re.compile(r"[+-]?(nan|inf|infinity)\Z", re.IGNORECASE)


class DataError(Exception):
    """Bad input data (exit code 3)."""


def load_config():
    with open(os.path.join(HERE, "config.json"), encoding="utf-8") as f:
        return json.load(f)


SEP = [","]  # --sep
csv.field_size_limit(16 << 20)  # nomaly's line limit (the csv module's default is 128 KiB per field)


def read_records(path):
    """[(line, fields)] of the CSV ("-" = standard input); line is where the record starts (1-based). Bytes that
    are not UTF-8 are kept (surrogateescape): only the header and the feature cells must be UTF-8 text."""
    reader = None
    try:
        if path == "-":
            f = open(sys.stdin.fileno(), newline="", encoding="utf-8-sig", errors="surrogateescape", closefd=False)
        else:
            f = open(path, newline="", encoding="utf-8-sig", errors="surrogateescape")
        with f:
            reader = csv.reader(f, delimiter=SEP[0], strict=True, skipinitialspace=True)
            records, line = [], 1
            for fields in reader:
                records.append((line, fields if any(x.strip(" \t") for x in fields) else []))
                line = reader.line_num + 1
    except csv.Error as e:
        raise DataError(f"{path}:{reader.line_num if reader else 0}: malformed CSV ({e})") from None
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror})") from None
    while records and not records[-1][1]:
        records.pop()  # trailing blank lines
    return records


def shown(s):
    """Text for a message, as nomaly prints it: bytes that are not UTF-8 and control characters as \\xNN."""
    out = []
    for c in s:
        o = ord(c)
        if 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o - 0xDC00:02X}")
        elif o < 0x20 or o == 0x7F:
            out.append({"\r": "\\r", "\n": "\\n", "\t": "\\t"}.get(c, f"\\x{o:02X}"))
        else:
            out.append(c)
    return "".join(out)


def check_header(path, header):
    """nomaly's header rules: UTF-8 names, none empty, no duplicates."""
    seen = {}
    for i, h in enumerate(header):
        try:
            h.encode("utf-8")
        except UnicodeEncodeError as e:
            byte = ord(h[e.start]) - 0xDC00
            raise DataError(f"{path}:1:{i + 1}: column {i + 1}'s name \"{shown(h)}\" is not valid UTF-8 "
                            f"(byte 0x{byte:02X}); save the file as UTF-8") from None
        if not h:
            raise DataError(f"{path}:1:{i + 1}: column {i + 1} has an empty name in the header")
        if h in seen:
            raise DataError(f"{path}:1:{i + 1}: duplicate column name '{shown(h)}' (also column {seen[h] + 1})")
        seen[h] = i


def parse_cell(path, line, col, name, cell):
    s = cell.strip(" \t")
    where = f"{path}:{line}:{col}: column '{name}'"
    if not s:
        raise DataError(f"{where}: empty cell (missing values are not supported)")
    if NON_FINITE.match(s):
        raise DataError(f"{where}: non-finite value \"{s}\" (NaN and inf are rejected)")
    if not NUMBER.match(s):
        raise DataError(f"{where}: non-numeric value \"{shown(s)}\"")
    v = float(s)
    try:
        if not math.isfinite(v):
            raise OverflowError
        struct.pack("<f", v)  # raises when v rounds to infinity in float32
    except OverflowError:
        raise DataError(f"{where}: value \"{s}\" overflows float32 (non-finite values are rejected)") from None
    return v


def read_features(path, feature_names):
    """Rows of the model's feature columns (lists of floats), validated."""
    records = read_records(path)
    if not records:
        raise DataError(f"{path}: empty file (expected a header row and data rows)")
    header = [h.strip(" \t") for h in records[0][1]]
    check_header(path, header)
    missing = [n for n in feature_names if n not in header]
    if missing:
        hint = next((f"; the file looks {s!r}-separated: pass --sep {'tab' if s == chr(9) else repr(s)}"
                     for s in ";\t|," if len(header) == 1 and s != SEP[0] and s in header[0]), "")
        raise DataError(f"{path}: missing feature column{'s' if len(missing) > 1 else ''} {', '.join(missing)}{hint}")
    idx = [header.index(n) for n in feature_names]
    data = []
    for line, r in records[1:]:
        if not r:
            raise DataError(f"{path}:{line}: blank line between data rows")
        if len(r) != len(header):
            raise DataError(f"{path}:{line}: expected {len(header)} fields (as in the header), found {len(r)}")
        data.append([parse_cell(path, line, i + 1, header[i], r[i]) for i in idx])
    return data


def verify_checksums(required):
    """Problems with the bundle's files against SHA256SUMS (missing, changed or unlisted files, malformed lines)."""
    sums = os.path.join(HERE, "SHA256SUMS")
    if not os.path.exists(sums):
        return ["SHA256SUMS is missing"]
    problems, listed = [], set()
    with open(sums, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            digest, sep, name = line.partition(" ")
            name = name[1:] if name[:1] in (" ", "*") else name  # sha256sum's text and binary markers
            if not sep or not name or not re.fullmatch(r"[0-9a-f]{64}", digest):
                problems.append(f"SHA256SUMS line {number} is malformed: {line[:80]!r}")
                continue
            listed.add(name)
            path = os.path.join(HERE, name)
            if not os.path.isfile(path):
                problems.append(f"{name}: missing (listed in SHA256SUMS)")
                continue
            with open(path, "rb") as g:
                if hashlib.sha256(g.read()).hexdigest() != digest:
                    problems.append(f"{name}: changed since export (SHA-256 differs from SHA256SUMS)")
    problems += [f"{name}: not listed in SHA256SUMS" for name in required if name not in listed]
    return problems


def bundle_files(config):
    """The files every bundle's SHA256SUMS must list: an emptied or shortened list would check nothing."""
    return [config["model_file"], "config.json", config["golden"]["input"], config["golden"]["expected"],
            "deploy.py", "deploy.mjs"]


def same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def read_expected(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [float(r["score"]) for r in rows], [int(r["label"]) for r in rows]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", nargs="?", help="CSV to score")
    parser.add_argument("--output", help="write score,label CSV here instead of stdout")
    parser.add_argument("--check", action="store_true", help="compare with the golden vectors")
    parser.add_argument("--sep", default=",", help="field separator: one character, or 'tab' (as nomaly's --sep)")
    args = parser.parse_args()
    SEP[0] = "\t" if args.sep in ("tab", "\\t") else args.sep
    if len(SEP[0]) != 1 or SEP[0] in "\"\r\n":
        parser.error("--sep must be one character (not a quote or a newline) or 'tab'")
    config = load_config()
    if config.get("stub"):
        print("This bundle holds a native nomaly model (no ONNX converter for "
              f"{config.get('algorithm')}); score it with: nomaly score {HERE} --input FILE", file=sys.stderr)
        return 2
    names = config["input"]["feature_names"]
    if args.check:
        problems = verify_checksums(bundle_files(config))
        for p in problems:
            print(f"check failed: {p}", file=sys.stderr)
        if problems:
            return 1
    path = os.path.join(HERE, config["golden"]["input"]) if args.check else args.input
    if not args.check and args.output not in (None, "-") and path not in (None, "-") and same_file(path, args.output):
        parser.error(f"--output '{args.output}' is the input file '{path}'; refusing to overwrite it (choose another path)")
    if not path:
        parser.error("give an input CSV or --check")
    try:
        rows = read_features(path, names)  # validated before the runtime is even imported
    except DataError as e:
        print(f"error: {e}", file=sys.stderr)
        return 3
    if not rows and not args.check:  # a header-only file scores to an empty result, as `nomaly score` does
        write_scores(args.output, [], [])
        return 0
    try:
        import numpy as np
    except ImportError:
        np = None
    try:
        runtime, run = load_runtime(os.path.join(HERE, config["model_file"])) if np is not None else (None, None)
    except Exception as e:  # a damaged model.onnx: one line, not a traceback
        print(f"error: cannot load {config['model_file']}: {str(e).splitlines()[0] if str(e) else type(e).__name__}",
              file=sys.stderr)
        return 1
    if run is None:
        print("error: onnxruntime is not installed; deploy.py needs numpy and onnxruntime "
              "(pip install numpy onnxruntime), or the nomaly Python package, whose ONNX Runtime it then uses"
              if np is not None else "error: numpy is not installed; deploy.py needs numpy and onnxruntime "
              "(pip install numpy onnxruntime)", file=sys.stderr)
        return 1

    X = np.asarray(rows, dtype=np.float32).reshape(-1, len(names))
    out_names = [o["name"] for o in config["outputs"]]
    try:
        scores, labels = run(out_names, {config["input"]["name"]: X})
    except Exception as e:
        print(f"error: scoring failed: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        return 1
    if args.check:
        print(f"runtime: {runtime}")
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if args.check:
        expected, expected_labels = read_expected(os.path.join(HERE, config["golden"]["expected"]))
        expected = np.asarray(expected, dtype=np.float64)
        expected_labels = np.asarray(expected_labels, dtype=np.int64)
        if len(expected) != len(scores):
            print(f"check failed: golden rows {len(expected)} != scored rows {len(scores)}", file=sys.stderr)
            return 1
        same = (scores == expected) | (np.isnan(scores) & np.isnan(expected))  # the same inf / NaN agrees
        with np.errstate(invalid="ignore"):
            diff = np.where(same, 0.0, np.nan_to_num(np.abs(scores - expected), nan=np.inf, posinf=np.inf))
        floor = max(1e-3 * float(np.ptp(expected)), 1.1754943508222875e-38) if len(diff) else 1.0
        rel = float(np.max(np.where(np.isinf(diff), np.inf, diff / np.maximum(floor, np.abs(expected))))) if len(diff) else 0.0
        mismatches = int(np.sum(labels != expected_labels))
        print(f"rows {len(expected)}  max |diff| {float(np.max(diff)) if len(diff) else 0.0:.3e}  "
              f"max rel {rel:.3e}  label mismatches {mismatches}")
        if rel > TOLERANCE or mismatches:
            print(f"check failed: max rel {rel:.3e} (tolerance {TOLERANCE:g}), {mismatches} label mismatches",
                  file=sys.stderr)
            return 1
        return 0
    try:
        write_scores(args.output, scores, labels)
    except OSError as e:
        print(f"error: cannot write --output '{args.output}': {e.strerror or e}", file=sys.stderr)
        return 1
    return 0


def load_runtime(model_path):
    """(name, run(output_names, feeds) -> [scores, labels]) with onnxruntime when it is installed, else with the
    nomaly Python package (it embeds ONNX Runtime; Debian has no onnxruntime wheel); (None, None) with neither."""
    try:
        import onnxruntime as ort
    except ImportError:
        ort = None
    if ort is not None:
        session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
        return f"onnxruntime {getattr(ort, '__version__', '?')}", session.run
    try:
        import nomaly
    except ImportError:
        return None, None
    model = nomaly.OnnxModel(model_path)

    def run(names, feeds):
        X = next(iter(feeds.values()))
        return [model.decision_function(X), model.predict(X)]

    return f"nomaly {nomaly.__version__} (its embedded ONNX Runtime)", run


def write_scores(output, scores, labels):
    """score,label lines to `output` (a temp file renamed into place) or stdout."""
    text = "score,label\n" + "".join(f"{s:.9g},{int(l)}\n" for s, l in zip(scores, labels))
    if not output or output == "-":
        sys.stdout.write(text)
        return
    tmp = os.path.join(os.path.dirname(os.path.abspath(output)), f".{os.path.basename(output)}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, output)


if __name__ == "__main__":
    sys.exit(main())
)PY";

/// deploy.mjs: the same with onnxruntime-node (resolved through require, so NODE_PATH works too).
inline constexpr const char* kDeployMjs = R"JS(// Score a CSV with this nomaly export, using onnxruntime-node.
//
//   node deploy.mjs input.csv [--output scores.csv]   writes "score,label" per row (stdout by default)
//   node deploy.mjs --check                           verifies SHA256SUMS, re-scores golden/input.csv against
//                                                     golden/expected.csv; exit 0 only when every file matches its
//                                                     checksum, every score is within tolerance, every label agrees
//
// Install the runtime with `npm install onnxruntime-node`. The CSV needs a header; feature columns are
// picked by name (config.json "input"). Fields may be double-quoted (RFC 4180, "" inside quotes is a
// quote); a UTF-8 BOM and CRLF line ends are accepted. Every feature cell must be a finite float32
// number: empty, non-numeric, NaN/inf and out-of-range cells, ragged rows and an empty file are rejected
// with the line and column at fault, as are header names that are empty, repeated or not UTF-8; a header
// without rows scores to an empty result. "-" reads standard input. Scores: higher = more anomalous; label 1 = anomaly.
//
// Exit codes: 0 ok, 1 --check mismatch or runtime failure, 2 usage / stub bundle, 3 bad input data.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const HERE = dirname(fileURLToPath(import.meta.url));
const TOLERANCE = 1e-5; // |diff| <= TOLERANCE * max(|expected|, floor); floor: 1e-3 x the expected scores' spread
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

class DataError extends Error {}
let SEP = ','; // --sep
class CheckError extends Error {}

// Missing, changed or unlisted bundle files against SHA256SUMS, and malformed lines, as messages.
function verifyChecksums(required) {
  const sums = join(HERE, 'SHA256SUMS');
  if (!existsSync(sums)) return ['SHA256SUMS is missing'];
  const problems = [], listed = new Set();
  readFileSync(sums, 'utf8').split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (!line.trim()) return;
    const at = line.indexOf(' ');
    const digest = at < 0 ? line : line.slice(0, at);
    let name = at < 0 ? '' : line.slice(at + 1);
    if (name[0] === ' ' || name[0] === '*') name = name.slice(1); // sha256sum's text and binary markers
    if (at < 0 || !name || !/^[0-9a-f]{64}$/.test(digest)) {
      problems.push(`SHA256SUMS line ${i + 1} is malformed: ${JSON.stringify(line.slice(0, 80))}`);
      return;
    }
    listed.add(name);
    const path = join(HERE, name);
    if (!existsSync(path) || !statSync(path).isFile()) problems.push(`${name}: missing (listed in SHA256SUMS)`);
    else if (createHash('sha256').update(readFileSync(path)).digest('hex') !== digest)
      problems.push(`${name}: changed since export (SHA-256 differs from SHA256SUMS)`);
  });
  for (const name of required) if (!listed.has(name)) problems.push(`${name}: not listed in SHA256SUMS`);
  return problems;
}

// The files every bundle's SHA256SUMS must list: an emptied or shortened list would check nothing.
const bundleFiles = (config) => [config.model_file, 'config.json', config.golden.input, config.golden.expected,
                                 'deploy.py', 'deploy.mjs'];

function sameFile(a, b) {
  try {
    const x = statSync(a), y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}
class UsageError extends Error {}

const isBlank = (c) => c === ' ' || c === '\t';
const trimBlanks = (s) => s.replace(/^[ \t]+|[ \t]+$/g, '');

// RFC 4180 records as [{ line, fields }]; `line` is where the record starts (1-based). Blanks around
// unquoted fields are dropped; quoted fields keep their content verbatim. Trailing blank lines are dropped.
function parseCsv(path) {
  let bytes;
  try {
    bytes = readFileSync(path === '-' ? 0 : path);
  } catch (e) {
    throw new DataError(`${path}: cannot read (${e.code || e.message})`);
  }
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  // One char per byte: bytes that are not UTF-8 are kept; header names are decoded (strictly) in readFeatures.
  const text = bytes.toString('latin1');
  const records = [];
  let fields = [], field = '', quoted = false, wasQuoted = false, closed = false;
  let line = 1, start = 1;
  const endField = () => {
    fields.push(wasQuoted ? field : trimBlanks(field));
    field = ''; wasQuoted = false; closed = false;
  };
  const endRecord = () => {
    const blank = fields.length === 0 && !wasQuoted && trimBlanks(field) === '';
    endField();
    records.push({ line: start, fields: blank ? [] : fields });
    fields = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else { quoted = false; closed = true; }
      } else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === SEP) {
      endField();
    } else if (c === '\r' || c === '\n') {
      endRecord();
      if (c === '\r' && text[i + 1] === '\n') i++;
      line++;
      start = line;
    } else if (closed) {
      if (!isBlank(c)) throw new DataError(`${path}:${line}:${fields.length + 1}: text after a closing quote`);
    } else if (c === '"') {
      if (trimBlanks(field) !== '') throw new DataError(`${path}:${line}:${fields.length + 1}: quote inside an unquoted field`);
      quoted = true; wasQuoted = true; field = '';
    } else {
      field += c;
    }
  }
  if (quoted) throw new DataError(`${path}:${start}: unterminated quoted field`);
  if (field !== '' || wasQuoted || fields.length > 0) endRecord();
  while (records.length && records[records.length - 1].fields.length === 0) records.pop();
  return records;
}

// A name or cell as UTF-8 text; null when its bytes are not UTF-8.
const utf8 = (s) => {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(s, 'latin1'));
  } catch {
    return null;
  }
};
// Text for a message, as nomaly prints it: bytes that are not UTF-8 and control characters as \xNN.
const shown = (s) => utf8(s) !== null
  ? utf8(s).replace(/[\x00-\x1f\x7f]/g, (c) => ({ '\r': '\\r', '\n': '\\n', '\t': '\\t' })[c] ||
      `\\x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
  : Array.from(s, (c) => (c.charCodeAt(0) >= 0x80 || c < ' ' ? `\\x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}` : c)).join('');

// nomaly's header rules: UTF-8 names, none empty, no duplicates. Returns the decoded names.
function checkHeader(path, raw) {
  const seen = new Map();
  return raw.map((h, i) => {
    const name = utf8(h);
    if (name === null) {
      const bad = Array.from(h).find((c) => c.charCodeAt(0) >= 0x80); // the first non-ASCII byte
      throw new DataError(`${path}:1:${i + 1}: column ${i + 1}'s name "${shown(h)}" is not valid UTF-8 ` +
                          `(byte 0x${bad.charCodeAt(0).toString(16).toUpperCase()}); save the file as UTF-8`);
    }
    if (name === '') throw new DataError(`${path}:1:${i + 1}: column ${i + 1} has an empty name in the header`);
    if (seen.has(name))
      throw new DataError(`${path}:1:${i + 1}: duplicate column name '${shown(h)}' (also column ${seen.get(name) + 1})`);
    seen.set(name, i);
    return name;
  });
}

function parseCell(path, line, col, name, cell) {
  const s = trimBlanks(cell);
  const where = `${path}:${line}:${col}: column '${name}'`;
  if (s === '') throw new DataError(`${where}: empty cell (missing values are not supported)`);
  if (NON_FINITE.test(s)) throw new DataError(`${where}: non-finite value "${s}" (NaN and inf are rejected)`);
  if (!NUMBER.test(s)) throw new DataError(`${where}: non-numeric value "${shown(s)}"`);
  const v = Math.fround(Number(s));
  if (!Number.isFinite(v)) throw new DataError(`${where}: value "${s}" overflows float32 (non-finite values are rejected)`);
  return v;
}

function readFeatures(path, names) {
  const records = parseCsv(path);
  if (records.length === 0) throw new DataError(`${path}: empty file (expected a header row and data rows)`);
  const header = checkHeader(path, records[0].fields.map(trimBlanks));
  const missing = names.filter((n) => !header.includes(n));
  if (missing.length) {
    const s = header.length === 1 ? [';', '\t', '|', ','].find((x) => x !== SEP && header[0].includes(x)) : undefined;
    const hint = s ? `; the file looks '${s === '\t' ? '\\t' : s}'-separated: pass --sep ${s === '\t' ? 'tab' : `'${s}'`}` : '';
    throw new DataError(`${path}: missing feature column${missing.length > 1 ? 's' : ''} ${missing.join(', ')}${hint}`);
  }
  const idx = names.map((n) => header.indexOf(n));
  const rows = records.slice(1);
  const data = new Float32Array(rows.length * names.length);
  rows.forEach(({ line, fields }, i) => {
    if (fields.length === 0) throw new DataError(`${path}:${line}: blank line between data rows`);
    if (fields.length !== header.length)
      throw new DataError(`${path}:${line}: expected ${header.length} fields (as in the header), found ${fields.length}`);
    idx.forEach((c, j) => { data[i * names.length + j] = parseCell(path, line, c + 1, header[c], fields[c]); });
  });
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
  const usage = "usage: node deploy.mjs input.csv [--output F] [--sep ';'|tab] | --check";
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage);
    return 0;
  }
  const check = args.includes('--check');
  if (check) {
    const problems = verifyChecksums(bundleFiles(config));
    if (problems.length) throw new CheckError(problems.join('\ncheck failed: '));
  }
  const outIdx = args.indexOf('--output'), sepIdx = args.indexOf('--sep');
  const output = outIdx >= 0 ? args[outIdx + 1] : null;
  if (outIdx >= 0 && !output) throw new UsageError('--output needs a file name');
  if (sepIdx >= 0) {
    SEP = args[sepIdx + 1] === 'tab' || args[sepIdx + 1] === '\\t' ? '\t' : args[sepIdx + 1];
    if (!SEP || SEP.length !== 1 || '"\r\n'.includes(SEP)) throw new UsageError("--sep must be one character (not a quote or a newline) or 'tab'");
  }
  const input = check ? join(HERE, config.golden.input)
                      : args.find((a, i) => (a === '-' || !a.startsWith('--')) && (outIdx < 0 || i !== outIdx + 1) &&
                                            (sepIdx < 0 || i !== sepIdx + 1));
  if (!input) throw new UsageError(usage);
  if (!check && output && output !== '-' && input !== '-' && sameFile(input, output))
    throw new UsageError(`--output '${output}' is the input file '${input}'; refusing to overwrite it (choose another path)`);
  const names = config.input.feature_names;
  const { data, n } = readFeatures(input, names); // validated before the runtime is loaded
  if (n === 0 && !check) { // a header-only file scores to an empty result, as `nomaly score` does
    writeScores(output, []);
    return 0;
  }
  let ort;
  try {
    ort = require('onnxruntime-node');
  } catch (e) {
    throw new Error('onnxruntime-node not found (npm install onnxruntime-node, or set NODE_PATH to a node_modules ' +
                    `folder that has it): ${e.message.split('\n')[0]}`);
  }
  const session = await ort.InferenceSession.create(join(HERE, config.model_file));
  const feeds = { [config.input.name]: new ort.Tensor('float32', data, [n, names.length]) };
  const result = await session.run(feeds);
  const scores = Array.from(result[config.outputs[0].name].data, Number);
  const labels = Array.from(result[config.outputs[1].name].data, Number);
  if (check) {
    const rows = parseCsv(join(HERE, config.golden.expected)).slice(1).map((r) => r.fields);
    let maxDiff = 0, maxRel = 0, mismatches = 0;
    const expected = rows.map((r) => Number(r[0]));
    const floor = Math.max(1e-3 * (Math.max(...expected) - Math.min(...expected)), 1.1754943508222875e-38);
    rows.forEach((r, i) => {
      const e = expected[i];
      const same = scores[i] === e || (Number.isNaN(scores[i]) && Number.isNaN(e)); // the same inf / NaN agrees
      const raw = same ? 0 : Math.abs(scores[i] - e);
      const d = Number.isFinite(raw) ? raw : Infinity;
      maxDiff = Math.max(maxDiff, d);
      maxRel = Math.max(maxRel, Number.isFinite(d) ? d / Math.max(floor, Math.abs(e)) : Infinity);
      if (labels[i] !== Number(r[1])) mismatches += 1;
    });
    if (rows.length !== n) throw new CheckError(`golden rows ${rows.length} != scored rows ${n}`);
    console.log(`rows ${n}  max |diff| ${maxDiff.toExponential(3)}  max rel ${maxRel.toExponential(3)}  ` +
                `label mismatches ${mismatches}`);
    if (maxRel > TOLERANCE || mismatches > 0)
      throw new CheckError(`max rel ${maxRel.toExponential(3)} (tolerance ${TOLERANCE}), ${mismatches} label mismatches`);
    return 0;
  }
  writeScores(output, scores.map((s, i) => `${s.toPrecision(9)},${labels[i]}`));
  return 0;
}

// score,label lines to `output` (a temp file renamed into place) or stdout.
function writeScores(output, rows) {
  const text = ['score,label', ...rows].join('\n') + '\n';
  if (!output || output === '-') return process.stdout.write(text);
  const tmp = join(dirname(resolve(output)), `.${basename(output)}.tmp-${process.pid}`);
  writeFileSync(tmp, text);
  renameSync(tmp, output);
}

main().then((code) => { process.exitCode = code; }, (err) => {
  console.error(`${err instanceof CheckError ? 'check failed' : 'error'}: ${err.message}`);
  process.exitCode = err instanceof DataError ? 3 : err instanceof UsageError ? 2 : 1;
});
)JS";

}  // namespace nomaly::detail

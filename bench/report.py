#!/usr/bin/python3
"""Turns raw benchmark runs into the tables of bench/results/ (issue 7).

  report.py accuracy --nomaly runs.csv --sklearn sk.csv --out-dir bench/results [--no-png] [--note TEXT]
      -> accuracy.csv (mean/sd per dataset x algorithm, sklearn beside), accuracy.md, accuracy.png
  report.py speed --bench bench.json --sklearn sk_speed.json --out bench/results/speed.md [--note TEXT]
      -> ratio tables with pass/fail marks for the issue 7 targets; also printed to stdout

Standard library + numpy; matplotlib (Debian's python3-matplotlib, Agg backend) only for the PNG.
"""
import argparse
import csv
import json
import math
import pathlib
import re
import statistics
import sys
from collections import defaultdict

# ---------------------------------------------------------------------------------------------- accuracy


def _read_runs(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _mean_sd(values):
    if not values:
        return None, None
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def aggregate(rows):
    """(dataset, algorithm) -> {auc, auc_sd, ap, ap_sd, n, status} over the seeds that ran."""
    groups = defaultdict(list)
    for r in rows:
        groups[(r["dataset"], r["algorithm"])].append(r)
    out = {}
    for key, rs in groups.items():
        ok = [r for r in rs if r["status"] == "ok"]
        auc, auc_sd = _mean_sd([float(r["roc_auc"]) for r in ok])
        ap, ap_sd = _mean_sd([float(r["average_precision"]) for r in ok])
        fit, _ = _mean_sd([float(r["fit_seconds"]) for r in ok])
        status = "ok" if ok else rs[0]["status"]
        out[key] = dict(auc=auc, auc_sd=auc_sd, ap=ap, ap_sd=ap_sd, n=len(ok), fit=fit, status=status)
    return out


def _fmt(m, sd):
    if m is None:
        return "–"
    return f"{m:.3f}" if sd is None else f"{m:.3f} ± {sd:.3f}"


def accuracy_report(a):
    ours = aggregate(_read_runs(a.nomaly))
    sk = aggregate(_read_runs(a.sklearn)) if a.sklearn and pathlib.Path(a.sklearn).exists() else {}
    datasets = sorted({d for d, _ in ours})
    algos = list(dict.fromkeys(al for _, al in ours))  # registry order, as the runner wrote them
    sk_algos = [al for al in algos if any((d, al) in sk for d in datasets)]
    out_dir = pathlib.Path(a.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    with open(out_dir / "accuracy.csv", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["dataset", "algorithm", "seeds", "roc_auc_mean", "roc_auc_sd", "ap_mean", "ap_sd",
                    "fit_seconds_mean", "sklearn_seeds", "sklearn_roc_auc_mean", "sklearn_roc_auc_sd",
                    "sklearn_ap_mean", "sklearn_ap_sd", "status", "sklearn_status"])
        for d in datasets:
            for al in algos:
                o = ours.get((d, al))
                if o is None:
                    continue
                s = sk.get((d, al), {})
                num = lambda v: "" if v is None else f"{v:.6f}"
                w.writerow([d, al, o["n"], num(o["auc"]), num(o["auc_sd"]), num(o["ap"]), num(o["ap_sd"]),
                            num(o["fit"]), s.get("n", ""), num(s.get("auc")), num(s.get("auc_sd")),
                            num(s.get("ap")), num(s.get("ap_sd")), o["status"], s.get("status", "")])

    def cols():
        for al in algos:
            yield al, ours, al
            if al in sk_algos:
                yield al, sk, f"{al} (sklearn)"

    def table(metric, title):
        header = list(cols())
        lines = [f"### {title}", "", "| dataset | " + " | ".join(h for _, _, h in header) + " |",
                 "|---|" + "---|" * len(header)]
        for d in datasets:
            cells = []
            for al, src, _ in header:
                r = src.get((d, al))
                if r is None:
                    cells.append("")
                elif r["status"] != "ok":
                    cells.append("n/a")
                else:
                    cells.append(_fmt(r[metric], r[metric + "_sd"] if r["n"] > 1 else None))
            lines.append(f"| {d} | " + " | ".join(cells) + " |")
        means = []
        for al, src, _ in header:
            vals = [src[(d, al)][metric] for d in datasets if (d, al) in src and src[(d, al)]["status"] == "ok"]
            means.append(f"**{statistics.fmean(vals):.3f}**" if vals else "")
        lines.append("| **mean** | " + " | ".join(means) + " |")
        return lines

    summary = ["| algorithm | seeds | data sets | mean ROC-AUC | mean AP | sklearn mean ROC-AUC | mean abs ΔAUC vs sklearn "
               "| within 0.02 | mean fit (s) |", "|---|---|---|---|---|---|---|---|---|"]
    for al in algos:
        okd = [d for d in datasets if (d, al) in ours and ours[(d, al)]["status"] == "ok"]
        if not okd:
            reason = next((ours[(d, al)]["status"] for d in datasets if (d, al) in ours), "")
            summary.append(f"| {al} | 0 | 0 | – | – | – | – | – | {reason} |")
            continue
        auc = statistics.fmean(ours[(d, al)]["auc"] for d in okd)
        ap = statistics.fmean(ours[(d, al)]["ap"] for d in okd)
        fit = statistics.fmean(ours[(d, al)]["fit"] for d in okd)
        both = [d for d in okd if (d, al) in sk and sk[(d, al)]["status"] == "ok"]
        if both:
            sk_auc = statistics.fmean(sk[(d, al)]["auc"] for d in both)
            deltas = [abs(ours[(d, al)]["auc"] - sk[(d, al)]["auc"]) for d in both]
            within = sum(x <= 0.02 for x in deltas)
            sk_cells = f"{sk_auc:.3f} | {statistics.fmean(deltas):.3f} | {within}/{len(both)}"
        else:
            sk_cells = "– | – | –"
        seeds = max(ours[(d, al)]["n"] for d in okd)
        summary.append(f"| {al} | {seeds} | {len(okd)} | {auc:.3f} | {ap:.3f} | {sk_cells} | {fit:.3f} |")

    md = ["# Accuracy: nomaly vs scikit-learn", "",
          "Generated by `make accuracy` (bench/run_accuracy.sh). Protocol: every registered detector with default "
          "parameters, fit on all rows and score all rows of each `../shared/data` set (ADBench's unsupervised "
          "setting); ROC-AUC and average precision (AP), mean ± sd over the seeds in the summary's `seeds` "
          "column (`random_state` 0..4 for randomised detectors; the libtorch networks get fewer, see "
          "ACCURACY_DEEP_SEEDS), one run for deterministic ones. scikit-learn (Debian's python3-sklearn) runs the same rows "
          "in the same run where it has the algorithm; `knn (sklearn)` is `NearestNeighbors`' distance to the "
          "5th neighbour, which is PyOD's KNN. `n/a` = the detector refused the data set (see accuracy.csv).", ""]
    if a.note:
        md += [a.note, ""]
    md += ["## Summary", ""] + summary + [""]
    md += table("auc", "ROC-AUC") + [""] + table("ap", "Average precision") + [""]
    (out_dir / "accuracy.md").write_text("\n".join(md))
    print("\n".join(summary))

    if not a.no_png and sk_algos:
        plot_accuracy(out_dir / "accuracy.png", datasets, sk_algos, ours, sk)
    return 0


def plot_accuracy(path, datasets, algos, ours, sk):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(len(algos), 1, figsize=(12, 2.6 * len(algos)), sharex=True, squeeze=False)
    x = np.arange(len(datasets))
    for ax, al in zip(axes[:, 0], algos):
        for off, src, label, color in ((-0.2, ours, "nomaly", "tab:blue"), (0.2, sk, "scikit-learn", "tab:orange")):
            vals = [src.get((d, al), {}).get("auc") or 0.0 for d in datasets]
            sds = [src.get((d, al), {}).get("auc_sd") or 0.0 for d in datasets]
            ax.bar(x + off, vals, 0.4, yerr=sds, label=label, color=color, capsize=2)
        ax.set_ylim(0.0, 1.0)
        ax.axhline(0.5, color="grey", lw=0.6, ls="--")
        ax.set_ylabel("ROC-AUC")
        ax.set_title(al, loc="left", fontsize=10)
        ax.legend(loc="lower right", fontsize=8)
    axes[-1, 0].set_xticks(x, datasets, rotation=30, ha="right")
    fig.suptitle("Per-dataset ROC-AUC, nomaly vs scikit-learn (mean ± sd over seeds)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


# ---------------------------------------------------------------------------------------------- speed

NAME = re.compile(r"^(?P<kind>fit|score|session|data)/(?P<rest>.*)$")


def parse_bench(path):
    """Google Benchmark JSON -> list of dicts with the name fields split out."""
    with open(path) as f:
        data = json.load(f)
    out = []
    for b in data.get("benchmarks", []):
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        parts = b["name"].split("/")
        rec = {"name": b["name"], "kind": parts[0], "seconds": _seconds(b), "cpu": _seconds(b, "cpu_time"),
               "rate": b.get("items_per_second"), "counters": b}
        for p in parts[1:]:
            if p in ("real_time", "process_time"):  # suffixes Google Benchmark appends
                continue
            if ":" in p:
                k, v = p.split(":", 1)
                rec[k] = int(v) if v.isdigit() else v
            elif p in ("native", "ort"):
                rec["engine"] = p
            elif "algo" not in rec:
                rec["algo"] = p
            else:
                rec["set"], rec["algo"] = rec["algo"], p
        out.append(rec)
    return out, data.get("context", {})


def _seconds(b, field="real_time"):
    scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b.get("time_unit", "ns")]
    return b[field] * scale


def _cpu_rate(r):
    """Rows per CPU-second of the calling thread; meaningful for 1-thread runs, where all work is on it."""
    return r["batch"] / r["cpu"] if r.get("batch") and r.get("cpu") else None


def _find(recs, **kw):
    for r in recs:
        if all(r.get(k) == v for k, v in kw.items()):
            return r
    return None


def _ratio(a, b):
    return a / b if a and b else None


def _fx(v, digits=2):
    if v is None:
        return "–"
    if v >= 100:
        return f"{v:,.0f}×"
    return f"{v:.{digits}f}×"


def _rate(v):
    if v is None:
        return "–"
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if v >= div:
            return f"{v / div:.2f}{unit}"
    return f"{v:.1f}"


def _mark(ok):
    return "–" if ok is None else ("PASS" if ok else "FAIL")


def speed_report(a):
    recs, ctx = parse_bench(a.bench)
    sk = json.load(open(a.sklearn)) if a.sklearn and pathlib.Path(a.sklearn).exists() else {"results": []}
    skr = sk.get("results", [])

    def sk_find(**kw):
        for r in skr:
            if all(r.get(k) == v for k, v in kw.items()):
                return r
        return None

    fits = [r for r in recs if r["kind"] == "fit"]
    algos = list(dict.fromkeys(r["algo"] for r in fits))
    targets = []  # (target, measured, pass, cpu-time measurement)
    md = ["# Speed: nomaly vs scikit-learn, native vs ONNX Runtime", "",
          "Generated by `make bench` (bench/run_bench.sh). Synthetic data: standard-normal inliers with 1% uniform "
          "outliers in [-6, 6]^10 (bench/bench_common.hpp and bench/sklearn_speed.py draw the same rows). Scoring "
          "uses 100k held-out rows (or n when smaller). Ratios > 1 mean nomaly is faster. Throughput = rows/s.", ""]
    if a.note:
        md += [a.note, ""]
    host = f"{ctx.get('num_cpus', '?')} CPUs @ {ctx.get('mhz_per_cpu', '?')} MHz, load avg {ctx.get('load_avg', '?')}"
    md += [f"Machine (Google Benchmark context): {host}; the Google Benchmark library is Debian's "
           f"{ctx.get('library_build_type', '?')} build (nomaly itself is built Release).", ""]

    # -- fit
    md += ["## Fit time", "", "Wall-clock ratios, and for 1 thread also the CPU-time ratio (robust to other load on "
           "the machine).", "",
           "| algorithm | n | threads | nomaly (s) | sklearn (s) | sklearn / nomaly | same, CPU time | "
           "peak RSS nomaly (MiB, +delta) | peak RSS sklearn (MiB, +delta) |", "|---|---|---|---|---|---|---|---|---|"]
    for r in fits:
        s = sk_find(kind="fit", algo=r["algo"], n=r["n"], threads=r["threads"])
        ratio = _ratio(s and s["seconds"], r["seconds"])
        cpu_ratio = _ratio(s and s.get("cpu_seconds"), r["cpu"]) if r["threads"] == 1 else None
        c = r["counters"]
        rss = f"{c.get('peak_rss_mib', 0):.0f} (+{c.get('rss_delta_mib', 0):.0f})"
        srss = f"{s['peak_rss_mib']:.0f} (+{s['rss_delta_mib']:.0f})" if s and "peak_rss_mib" in s else "–"
        md.append(f"| {r['algo']} | {r['n']:,} | {r['threads']} | {r['seconds']:.4f} | "
                  f"{'–' if not s else format(s['seconds'], '.4f')} | {_fx(ratio)} | {_fx(cpu_ratio)} | {rss} | {srss} |")
        if r["algo"] == "iforest" and r["n"] == 100000 and ratio is not None:
            targets.append((f"iforest fit ≥ 10× faster than sklearn (100k×10, {r['threads']} thread(s))",
                            _fx(ratio), ratio >= 10, cpu_ratio))
    md.append("")

    # -- score
    md += ["## Score throughput", "",
           "| algorithm | n | batch | threads | native rows/s | ORT rows/s | ORT / native | same, CPU time | "
           "sklearn rows/s | nomaly / sklearn | same, CPU time |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    scores = [r for r in recs if r["kind"] == "score" and r.get("engine") == "native"]
    for r in scores:
        o = _find(recs, kind="score", algo=r["algo"], n=r["n"], engine="ort", batch=r["batch"], threads=r["threads"])
        s = sk_find(kind="score", algo=r["algo"], n=r["n"], batch=r["batch"], threads=r["threads"])
        ort_ratio = _ratio(o and o["rate"], r["rate"])
        sk_ratio = _ratio(r["rate"], s and s["rows_per_s"])
        one = r["threads"] == 1
        ort_cpu = _ratio(o and _cpu_rate(o), _cpu_rate(r)) if one else None
        sk_cpu = _ratio(_cpu_rate(r), s and s.get("cpu_rows_per_s")) if one else None
        md.append(f"| {r['algo']} | {r['n']:,} | {r['batch']:,} | {r['threads']} | {_rate(r['rate'])} | "
                  f"{_rate(o and o['rate'])} | {_fx(ort_ratio)} | {_fx(ort_cpu)} | {_rate(s and s['rows_per_s'])} | "
                  f"{_fx(sk_ratio)} | {_fx(sk_cpu)} |")
        bulk = r["batch"] == min(r["n"], 100000)
        if r["algo"] == "iforest" and r["n"] == 100000 and bulk and sk_ratio is not None:
            targets.append((f"iforest score ≥ 20× sklearn (100k×10, batch {r['batch']:,}, {r['threads']} thread(s))",
                            _fx(sk_ratio), sk_ratio >= 20, sk_cpu))
        if r["algo"] in ("lof", "knn") and bulk and sk_ratio is not None:
            targets.append((f"{r['algo']} score ≥ 3× sklearn ({r['n'] // 1000}k×10, {r['threads']} thread(s))",
                            _fx(sk_ratio), sk_ratio >= 3, sk_cpu))
        # 1 thread where measured; the libtorch networks only run with their own pool (threads:2).
        only_run = not _find(recs, kind="score", algo=r["algo"], n=r["n"], engine="native", batch=r["batch"], threads=1)
        if bulk and (one or only_run) and ort_ratio is not None:
            targets.append((f"{r['algo']} ORT ≥ 0.5× native ({r['n']:,}×10 fit, batch {r['batch']:,}, "
                            f"{r['threads']} thread(s))", _fx(ort_ratio), ort_ratio >= 0.5, ort_cpu))
    md.append("")

    # -- model size and sessions
    md += ["## Exported models and ONNX Runtime sessions", "", "| model | bytes | session creation (ms) |",
           "|---|---|---|"]
    seen = set()
    for r in recs:
        if r["kind"] == "score" and r.get("engine") == "ort" and (r["algo"], r["n"]) not in seen:
            seen.add((r["algo"], r["n"]))
            md.append(f"| {r['algo']} (n={r['n']:,}) | {int(r['counters'].get('model_bytes', 0)):,} | |")
    for r in recs:
        if r["kind"] == "session":
            ms = r["seconds"] * 1e3
            md.append(f"| iforest, {r['trees']} trees (session) | {int(r['counters'].get('model_bytes', 0)):,} | "
                      f"{ms:.1f} |")
            if r["trees"] == 100:
                targets.append(("ORT session creation < 50 ms (iforest, 100 trees)", f"{ms:.1f} ms", ms < 50,
                                f"{r['cpu'] * 1e3:.1f} ms"))
    md.append("")

    # -- shared data sets
    data = [r for r in recs if r["kind"] == "data" and r.get("engine") == "native"]
    if data:
        md += ["## Isolation Forest on the shared data sets (1 thread, whole set per call)", "",
               "| data set | native rows/s | ORT rows/s | ORT / native |", "|---|---|---|---|"]
        for r in data:
            o = _find(recs, kind="data", set=r["set"], algo=r["algo"], engine="ort")
            md.append(f"| {r['set']} | {_rate(r['rate'])} | {_rate(o and o['rate'])} | "
                      f"{_fx(_ratio(o and o['rate'], r['rate']))} |")
        md.append("")

    md += ["## Targets (issue 7 §3)", "", "Judged twice: on wall-clock time, and on CPU time of the calling thread "
           "(1-thread runs only), which other load on the machine inflates far less. On a quiet machine the two "
           "agree; when they differ, the machine was busy and the CPU-time mark is the one to trust.", "",
           "| target | wall clock | result | CPU time | result (CPU) |", "|---|---|---|---|---|"]
    for t, m, ok, c in targets:
        if isinstance(c, str):  # session creation: a time, lower is better
            cpu_cell, cpu_ok = c, float(c.split()[0]) < 50
        else:
            cpu_cell, cpu_ok = _fx(c), None
            if c is not None:
                cpu_ok = c >= float(re.search(r"≥ ([0-9.]+)×", t).group(1))
        md.append(f"| {t} | {m} | {_mark(ok)} | {cpu_cell} | {_mark(cpu_ok)} |")
    md.append("")
    if sk.get("versions"):
        md += ["Reference: " + ", ".join(f"{k} {v}" for k, v in sk["versions"].items()) + ".", ""]
    pathlib.Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    pathlib.Path(a.out).write_text("\n".join(md))
    print("\n".join(md))
    fails = [t for t, _, ok, _ in targets if ok is False]
    if fails:
        print(f"\n{len(fails)} target(s) missed: " + "; ".join(fails), file=sys.stderr)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    acc = sub.add_parser("accuracy")
    acc.add_argument("--nomaly", required=True)
    acc.add_argument("--sklearn")
    acc.add_argument("--out-dir", required=True)
    acc.add_argument("--no-png", action="store_true")
    acc.add_argument("--note", default="")
    sp = sub.add_parser("speed")
    sp.add_argument("--bench", required=True)
    sp.add_argument("--sklearn")
    sp.add_argument("--out", required=True)
    sp.add_argument("--note", default="")
    a = ap.parse_args(argv)
    return accuracy_report(a) if a.cmd == "accuracy" else speed_report(a)


if __name__ == "__main__":
    sys.exit(main())

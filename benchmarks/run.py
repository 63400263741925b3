"""Time the whole ``directory-audit audit`` process, stage by stage, at several sizes, with peak memory.

    python benchmarks/run.py --rows 100000 300000 1000000 [--repeat 5] [--defect-rate 0.15] [--splink] [--qhp-gb 2]

For each size the generator (benchmarks/generate.py, seed 7) writes ``benchmarks/data/defects_<n>.csv``
(``dir_<n>.csv`` with ``--defect-rate 0``) unless it exists: 15 % of providers carry a defect, about
0.19 findings per row. Then ``--repeat`` interleaved pairs, each process fresh:

* ``read_csv``: a bare ``pandas.read_csv(path, dtype=str, keep_default_na=False)`` of the same file,
  the yardstick the issue names (the seconds of the call itself, not of the interpreter around it);
* ``cli``: ``directory-audit audit FILE --out TMP --quiet --fail-on never --as-of 2026-11-01`` as a
  user runs it, timed from just before the process is started to its exit (every output written),
  peak RSS from ``wait4``. The CLI writes its stage seconds and peak memory after each stage to the
  file named by ``DIRECTORY_AUDIT_TIMINGS``: load, normalize, each check family, findings.csv,
  findings.jsonl, summary.json, reports; "startup" is process start to the command's first line
  (interpreter and imports), "exit" its last line to the process's end.

The ratio of a pair is the CLI's seconds over read_csv's; the figure reported is the median over the
pairs (this shared machine's speed drifts by tens of percent within minutes, so each pair is run
back to back). Beside it, the CPU-time ratio (the CLI process's user + system seconds from ``wait4``
over read_csv's ``process_time``), which a machine shared with other jobs distorts less than wall
time; Arrow's multithreaded CSV reader makes the CLI's CPU time exceed its wall time on an idle box. Quality: the ``duplicate.probable`` pairs (findings.csv's detail) against the
generator's labels. ``--splink``: Splink on the same individuals. ``--qhp-gb``: the directory of the
first size written as a QHP providers.json padded to that many GB, audited whole with ``--format qhp``.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
sys.path.insert(0, str(HERE.parent))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_read_csv(path: str) -> dict:
    import pandas as pd
    t, cpu = time.perf_counter(), time.process_time()
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {"seconds": time.perf_counter() - t, "cpu_seconds": time.process_time() - cpu, "rows": len(frame),
            "peak_mb": _peak_mb()}


def run_cli(path: Path, fmt: str = "auto", keep: Path | None = None) -> dict:
    """One whole CLI process: wall seconds, peak RSS and the stage timings it wrote. ``keep``: a
    folder to copy findings.csv and findings.jsonl into (to compare runs byte for byte)."""
    import os
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        timings_path = Path(tmp) / "timings.json"
        out = Path(tmp) / "out"
        env = dict(os.environ, DIRECTORY_AUDIT_TIMINGS=str(timings_path))
        cmd = [sys.executable, "-m", "directory_audit", "audit", str(path), "--out", str(out), "--quiet",
               "--fail-on", "never", "--as-of", "2026-11-01"] + (["--format", fmt] if fmt != "auto" else [])
        started = time.time()
        proc = subprocess.Popen(cmd, cwd=HERE.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        ended = time.time()
        stderr = proc.stderr.read().decode(errors="replace")
        proc.stderr.close()
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{stderr[-3000:]}")
        t = json.loads(timings_path.read_text())
        stages = {"startup": t["entered"] - started, **{k: v for k, v in t["stages"].items()},
                  **t["outputs"], "exit": ended - t["left"]}
        stages["setup"] = (t["left"] - t["entered"]) - sum(t["stages"].values()) - sum(t["outputs"].values())
        if keep is not None:
            import shutil
            keep.mkdir(parents=True, exist_ok=True)
            for name in ("findings.csv", "findings.jsonl"):
                shutil.copyfile(out / name, keep / name)
        quality = {}
        labels_path = path.with_suffix(".labels.csv")
        if labels_path.exists():
            quality = score_probable(out / "findings.csv", labels_path)
    return {"seconds": ended - started, "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "peak_mb": usage.ru_maxrss / 1024, "stages": stages,
            "stage_peak_mb": t["peak_mb"], "families": t["families"], "checks": t["checks"],
            "rows": t["rows"], "findings": t["findings"], "quality": quality}


def _pairs_from_findings(findings_csv: Path) -> set[tuple[str, str]]:
    import pandas as pd
    findings = pd.read_csv(findings_csv, dtype=str, keep_default_na=False, usecols=["check_id", "detail"])
    pairs: set[tuple[str, str]] = set()
    seen = set()
    for d in findings.loc[findings["check_id"] == "duplicate.probable", "detail"]:
        if d in seen:
            continue
        seen.add(d)
        for p in json.loads(d)["pairs"]:
            pairs.add(tuple(sorted((p["a"], p["b"]))))
    return pairs


def _prf(predicted: set, truth: set) -> dict:
    tp = len(predicted & truth)
    return {"true_pairs": len(truth), "predicted_pairs": len(predicted), "true_positives": tp,
            "precision": round(tp / len(predicted), 4) if predicted else None,
            "recall": round(tp / len(truth), 4) if truth else None}


def _truth(labels_path: Path) -> set[tuple[str, str]]:
    import pandas as pd
    lab = pd.read_csv(labels_path, dtype=str)
    return {tuple(sorted(x)) for x in zip(lab["record_id_a"], lab["record_id_b"])}


def score_probable(findings_csv: Path, labels_path: Path) -> dict:
    return _prf(_pairs_from_findings(findings_csv), _truth(labels_path))


def child_splink(path: str) -> dict:
    """Splink on the same individuals, blocked like our check (same street or phone + a name token)."""
    import pandas as pd
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    from checks.duplicates import person_frame, street_key
    from directory_audit.loaders import load
    from directory_audit.normalize import normalize
    from directory_audit.settings import load_settings
    table = normalize(load(path, load_settings()).frame)
    ind = table[table["provider_type"] == "individual"]
    p = person_frame(ind)
    df = pd.DataFrame({"unique_id": ind["record_id"].astype(str).to_numpy(),
                       "first_name": p["first"].replace("", None).to_numpy(),
                       "last_name": p["last"].replace("", None).to_numpy(),
                       "street": street_key(ind["address_line1"], ind["zip"]).to_numpy(),
                       "phone": ind["phone"].to_numpy(), "gender": p["gender"].replace("", None).to_numpy(),
                       "npi": ind["npi"].to_numpy()})
    t = time.perf_counter()
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[cl.NameComparison("first_name"), cl.NameComparison("last_name"),
                     cl.ExactMatch("street"), cl.ExactMatch("phone"), cl.ExactMatch("gender")],
        blocking_rules_to_generate_predictions=[block_on("street", "last_name"), block_on("phone", "last_name"),
                                                block_on("street", "first_name"), block_on("phone", "first_name")],
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(df), settings, log_level=30)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("street", "last_name", "first_name")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("street"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("last_name"))
    preds = linker.inference.predict(threshold_match_probability=0.9).as_pandas_dataframe()
    seconds = time.perf_counter() - t
    npi = dict(zip(df["unique_id"], df["npi"]))
    pred = {tuple(sorted((a, b))) for a, b in zip(preds["unique_id_l"], preds["unique_id_r"])
            if not (npi.get(a) and npi.get(a) == npi.get(b))}   # same NPI: not a "probable" pair
    out = {"seconds": seconds, "peak_mb": _peak_mb()}
    out.update(_prf(pred, _truth(Path(path).with_suffix(".labels.csv"))))
    return out


def _run_child(kind: str, *args: str) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=HERE.parent)
    if proc.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def data_path(n: int, defect_rate: float) -> Path:
    if defect_rate == 0:
        return DATA / f"dir_{n}.csv"
    return DATA / (f"defects_{n}.csv" if defect_rate == 0.15 else f"dir_{n}_defects{defect_rate:g}.csv")


def _median(values: list[float]) -> float:
    import statistics
    return statistics.median(values)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="*", default=[100_000, 300_000, 1_000_000])
    ap.add_argument("--defect-rate", type=float, default=0.15, help="share of providers carrying a defect")
    ap.add_argument("--splink", action="store_true")
    ap.add_argument("--qhp-gb", type=float, default=0, help="also a QHP providers.json of this many GB")
    ap.add_argument("--qhp-only", action="store_true", help="only the QHP run (no CSV pairs)")
    ap.add_argument("--repeat", type=int, default=5, help="interleaved (read_csv, CLI) pairs per size")
    ap.add_argument("--keep", action="store_true",
                    help="copy each size's findings.csv/jsonl to benchmarks/data/findings_<file>/")
    ap.add_argument("--child", nargs="+")
    args = ap.parse_args()
    if args.child:
        kind, rest = args.child[0], args.child[1:]
        fn = {"read_csv": child_read_csv, "splink": child_splink}[kind]
        print(json.dumps(fn(*rest), default=float))
        return
    sys.path.insert(0, str(HERE))
    from generate import write, write_qhp
    results = {"load_average_before": _loadavg()}
    for n in args.rows:
        path = data_path(n, args.defect_rate)
        if not path.exists():
            t = time.perf_counter()
            write(n, path, defect_rate=args.defect_rate)
            print(f"generated {path} in {time.perf_counter() - t:.1f}s", file=sys.stderr)
        if args.qhp_only:
            continue
        pairs = []
        for _ in range(max(1, args.repeat)):
            rc = _run_child("read_csv", str(path))
            cli = run_cli(path, keep=DATA / f"findings_{path.stem}" if args.keep else None)
            pairs.append({"read_csv": rc, "cli": cli, "ratio": cli["seconds"] / rc["seconds"],
                          "cpu_ratio": cli["cpu_seconds"] / rc["cpu_seconds"], "load_average": _loadavg()})
            print(json.dumps({n: {"read_csv": round(rc["seconds"], 2), "cli": round(cli["seconds"], 2),
                                  "peak_mb": round(cli["peak_mb"])}}), file=sys.stderr)
            (DATA / "results.partial.json").write_text(json.dumps({**results, n: {"pairs": pairs}}, default=float))
        entry = {"file_mb": path.stat().st_size / 1e6, "pairs": pairs,
                 "ratio_median": _median([p["ratio"] for p in pairs]),
                 "cpu_ratio_median": _median([p["cpu_ratio"] for p in pairs]),
                 "read_csv_median": _median([p["read_csv"]["seconds"] for p in pairs]),
                 "cli_median": _median([p["cli"]["seconds"] for p in pairs]),
                 "peak_mb_max": max(p["cli"]["peak_mb"] for p in pairs)}
        if args.splink:
            entry["splink"] = _run_child("splink", str(path))
        results[n] = entry
    if args.qhp_gb:
        n = args.rows[0]
        qpath = DATA / f"providers_{n}_{args.qhp_gb:g}gb.json"
        if not qpath.exists():
            write_qhp(data_path(n, args.defect_rate), qpath, int(args.qhp_gb * 1e9))
        results["qhp"] = {"file_gb": qpath.stat().st_size / 1e9, "cli": run_cli(qpath, "qhp")}
    results["load_average_after"] = _loadavg()
    out = DATA / "results.json"
    out.write_text(json.dumps(results, indent=2, default=float))
    print(markdown(results))


def _loadavg() -> list[float]:
    import os
    return [round(x, 2) for x in os.getloadavg()]


STAGES = ("startup", "setup", "load", "normalize", "reference", "checks", "fixlist", "findings.csv", "findings.jsonl",
          "fixlist.csv", "summary.json", "reports", "exit")
#: The stage after which the CLI records each peak ("outputs": once every output is written).
PEAK_AT = {"load": "load", "normalize": "normalize", "checks": "checks", "reports": "outputs"}


def markdown(results: dict) -> str:
    sizes = [k for k in results if k not in ("qhp", "load_average_before", "load_average_after")]
    lines = ["| rows | file MB | findings | read_csv s (median; pairs) | CLI s (median; pairs) | ratio (median of pairs) | CPU-time ratio (median of pairs) | peak MB |",
             "|---:|---:|---:|---|---|---:|---:|---:|"]
    for n in sizes:
        e = results[n]
        rc = ", ".join(f"{p['read_csv']['seconds']:.2f}" for p in e["pairs"])
        cl = ", ".join(f"{p['cli']['seconds']:.2f}" for p in e["pairs"])
        ratios = ", ".join(f"{p['ratio']:.1f}" for p in e["pairs"])
        cpu_ratios = ", ".join(f"{p.get('cpu_ratio', float('nan')):.1f}" for p in e["pairs"])
        lines.append(f"| {int(n):,} | {e['file_mb']:.0f} | {e['pairs'][0]['cli']['findings']:,} | "
                     f"{e['read_csv_median']:.2f}; {rc} | {e['cli_median']:.2f}; {cl} | "
                     f"{e['ratio_median']:.2f} ({ratios}) | "
                     f"{e.get('cpu_ratio_median', float('nan')):.2f} ({cpu_ratios}) | "
                     f"{e['peak_mb_max']:.0f} |")
    if sizes:
        lines += ["", "Seconds per stage (the median CLI run of each size), and peak MB at the end of the stage:", "",
                  "| rows | " + " | ".join(STAGES) + " |", "|---:|" + "---:|" * len(STAGES)]
        fam_rows = []
        for n in sizes:
            pairs = sorted(results[n]["pairs"], key=lambda p: p["cli"]["seconds"])
            c = pairs[len(pairs) // 2]["cli"]
            lines.append(f"| {int(n):,} | " + " | ".join(f"{c['stages'].get(s, 0):.2f}" for s in STAGES) + " |")
            pk = c["stage_peak_mb"]
            lines.append("| peak MB | " + " | ".join(f"{pk[PEAK_AT[s]]:.0f}" if PEAK_AT.get(s) in pk else ""
                                                      for s in STAGES) + " |")
            fam_rows.append((n, c["families"]))
        fams = sorted({f for _, d in fam_rows for f in d})
        lines += ["", "| rows | " + " | ".join(fams) + " |", "|---:|" + "---:|" * len(fams)]
        for n, d in fam_rows:
            lines.append(f"| {int(n):,} | " + " | ".join(f"{d.get(f, 0):.2f}" for f in fams) + " |")
        lines += ["", "| rows | tool | seconds | precision | recall | predicted | true |", "|---:|---|---:|---:|---:|---:|---:|"]
        for n in sizes:
            e = results[n]
            c = e["pairs"][0]["cli"]
            q = c["quality"]
            if q:
                lines.append(f"| {int(n):,} | directory-audit duplicate.probable | {c['checks'].get('duplicate.probable', 0):.2f} | "
                             f"{q['precision']} | {q['recall']} | {q['predicted_pairs']} | {q['true_pairs']} |")
            if "splink" in e:
                sp = e["splink"]
                lines.append(f"| {int(n):,} | Splink (DuckDB, EM, p>=0.9) | {sp['seconds']:.2f} | {sp['precision']} | "
                             f"{sp['recall']} | {sp['predicted_pairs']} | {sp['true_pairs']} |")
    if "qhp" in results:
        q = results["qhp"]
        c = q["cli"]
        lines += ["", f"QHP providers.json {q['file_gb']:.2f} GB: CLI {c['seconds']:.1f} s, peak {c['peak_mb']:.0f} MB, "
                      f"{c['rows']:,} provider-location rows (stages: " +
                      ", ".join(f"{k} {v:.1f}s" for k, v in c["stages"].items()) + "; peak MB after: " +
                      ", ".join(f"{k} {v:.0f}" for k, v in c["stage_peak_mb"].items()) + ")"]
    lines += ["", f"Load average (1, 5, 15 min) before: {results['load_average_before']}, "
                  f"after: {results['load_average_after']}."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

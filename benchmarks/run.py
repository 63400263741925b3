"""Time every stage of a whole audit at several sizes and record peak memory.

    python benchmarks/run.py --rows 100000 300000 1000000 [--repeat 3] [--splink] [--qhp-gb 2]

For each size the generator (benchmarks/generate.py, seed 7) writes ``benchmarks/data/dir_<n>.csv``
unless it exists. Then, each in its own fresh process so peak memory (ru_maxrss) is that stage's alone:

* ``read_csv``: a bare ``pandas.read_csv(path, dtype=str, keep_default_na=False)`` of the same file,
  the yardstick the issue names (audit time at most 8x this); ``--repeat`` runs of it and of the
  audit, interleaved, and the ratio is the median audit over the median read_csv;
* ``audit``: the library's whole audit as the CLI runs it (load, normalize, every registered check,
  outputs written to a temporary folder), with the seconds of each stage and each check family;
* quality: the ``duplicate.probable`` pairs (from the findings' detail) against the generator's labels:
  precision, recall;
* ``--splink``: Splink (DuckDB backend, benchmark-only extra) deduplicating the same individuals with
  the same blocking, trained by EM, pairs with match probability >= 0.9, scored on the same labels;
* ``--qhp-gb``: the directory of the first size also written as a QHP providers.json padded to that
  many GB (plans arrays), audited with ``--format qhp``: time and peak memory.
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
    t = time.perf_counter()
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {"seconds": time.perf_counter() - t, "rows": len(frame), "peak_mb": _peak_mb()}


def child_audit(path: str, fmt: str = "auto") -> dict:
    from collections import defaultdict

    from directory_audit.audit import audit
    from directory_audit.outputs import write_outputs
    from directory_audit.settings import load_settings
    settings = load_settings(as_of="2026-11-01", fail_on="never")
    t0 = time.perf_counter()
    result = audit(path, settings, format=fmt)
    t_audit = time.perf_counter() - t0
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        write_outputs(result, Path(out), settings)
    t_out = time.perf_counter() - t
    families: dict[str, float] = defaultdict(float)
    checks = {}
    for r in result.check_runs:
        families[r.check_id.split(".")[0]] += r.seconds
        checks[r.check_id] = {"seconds": round(r.seconds, 3), "count": r.count, "status": r.status}
    stages = dict(result.summary["stage_seconds"])
    stages["outputs"] = t_out
    quality = {}
    labels_path = Path(path).with_suffix(".labels.csv")
    if labels_path.exists():
        quality = score_probable(result.findings, labels_path)
    return {"seconds_total": t_audit + t_out, "stages": stages, "families": dict(families), "checks": checks,
            "rows": int(len(result.table)), "findings": int(len(result.findings)), "peak_mb": _peak_mb(),
            "quality": quality}


def _pairs_from_findings(findings) -> set[tuple[str, str]]:
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


def score_probable(findings, labels_path: Path) -> dict:
    return _prf(_pairs_from_findings(findings), _truth(labels_path))


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, nargs="*", default=[100_000, 300_000, 1_000_000])
    ap.add_argument("--splink", action="store_true")
    ap.add_argument("--qhp-gb", type=float, default=0)
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of read_csv and of the audit, interleaved; the ratio is median over median")
    ap.add_argument("--child", nargs="+")
    args = ap.parse_args()
    if args.child:
        kind, rest = args.child[0], args.child[1:]
        fn = {"read_csv": child_read_csv, "audit": child_audit, "splink": child_splink}[kind]
        print(json.dumps(fn(*rest), default=float))
        return
    sys.path.insert(0, str(HERE))
    from generate import write, write_qhp
    results = {}
    for n in args.rows:
        path = DATA / f"dir_{n}.csv"
        if not path.exists():
            t = time.perf_counter()
            write(n, path)
            print(f"generated {path} in {time.perf_counter() - t:.1f}s", file=sys.stderr)
        # Interleaved runs, each in a fresh process: this shared machine's speed drifts by tens of
        # percent within minutes, so one run of each can land on different sides of a drift.
        rcs, aus = [], []
        for _ in range(max(1, args.repeat)):
            rcs.append(_run_child("read_csv", str(path)))
            aus.append(_run_child("audit", str(path)))
        rc = sorted(rcs, key=lambda r: r["seconds"])[len(rcs) // 2]
        au = sorted(aus, key=lambda r: r["seconds_total"])[len(aus) // 2]
        au["all_seconds"] = [round(a["seconds_total"], 2) for a in aus]
        au["peak_mb"] = max(a["peak_mb"] for a in aus)
        rc["all_seconds"] = [round(r["seconds"], 2) for r in rcs]
        entry = {"read_csv": rc, "audit": au, "ratio": au["seconds_total"] / rc["seconds"],
                 "file_mb": path.stat().st_size / 1e6}
        if args.splink:
            entry["splink"] = _run_child("splink", str(path))
        results[n] = entry
        print(json.dumps({n: entry}, default=float), file=sys.stderr)
    if args.qhp_gb:
        n = args.rows[0]
        qpath = DATA / f"providers_{n}_{args.qhp_gb:g}gb.json"
        if not qpath.exists():
            write_qhp(DATA / f"dir_{n}.csv", qpath, int(args.qhp_gb * 1e9))
        results["qhp"] = {"file_gb": qpath.stat().st_size / 1e9, "audit": _run_child("audit", str(qpath), "qhp")}
    out = DATA / "results.json"
    out.write_text(json.dumps(results, indent=2, default=float))
    print(markdown(results))


def markdown(results: dict) -> str:
    lines = ["| rows | file MB | read_csv s (median; runs) | audit s (median; runs) | ratio | peak MB | load | normalize | checks | outputs |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    fam_rows = []
    for n, e in results.items():
        if n == "qhp":
            continue
        a, s = e["audit"], e["audit"]["stages"]
        runs = lambda r, k: "; " + ", ".join(f"{x:.2f}" for x in r.get("all_seconds", [r[k]]))
        lines.append(f"| {int(n):,} | {e['file_mb']:.0f} | {e['read_csv']['seconds']:.2f}{runs(e['read_csv'], 'seconds')} | "
                     f"{a['seconds_total']:.2f}{runs(a, 'seconds_total')} | "
                     f"{e['ratio']:.2f} | {a['peak_mb']:.0f} | {s['load']:.2f} | {s['normalize']:.2f} | "
                     f"{s['checks']:.2f} | {s['outputs']:.2f} |")
        fam_rows.append((n, a["families"]))
    if fam_rows:
        fams = sorted({f for _, d in fam_rows for f in d})
        lines += ["", "| rows | " + " | ".join(fams) + " |", "|---:|" + "---:|" * len(fams)]
        for n, d in fam_rows:
            lines.append(f"| {int(n):,} | " + " | ".join(f"{d.get(f, 0):.2f}" for f in fams) + " |")
    lines += ["", "| rows | tool | seconds | precision | recall | predicted | true |", "|---:|---|---:|---:|---:|---:|---:|"]
    for n, e in results.items():
        if n == "qhp":
            continue
        q = e["audit"]["quality"]
        if q:
            lines.append(f"| {int(n):,} | directory-audit duplicate.probable | {e['audit']['checks'].get('duplicate.probable', {}).get('seconds', 0):.2f} | "
                         f"{q['precision']} | {q['recall']} | {q['predicted_pairs']} | {q['true_pairs']} |")
        if "splink" in e:
            sp = e["splink"]
            lines.append(f"| {int(n):,} | Splink (DuckDB, EM, p>=0.9) | {sp['seconds']:.2f} | {sp['precision']} | "
                         f"{sp['recall']} | {sp['predicted_pairs']} | {sp['true_pairs']} |")
    if "qhp" in results:
        q = results["qhp"]
        lines += ["", f"QHP providers.json {q['file_gb']:.2f} GB: audit {q['audit']['seconds_total']:.1f} s, "
                      f"peak {q['audit']['peak_mb']:.0f} MB, {q['audit']['rows']:,} provider-location rows "
                      f"(stages: " + ", ".join(f"{k} {v:.1f}s" for k, v in q['audit']['stages'].items()) + ")"]
    return "\n".join(lines)


if __name__ == "__main__":
    main()

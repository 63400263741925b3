"""History store at scale: N nightly runs of a R-row directory, saved through the real ``Store.save``
path, then ``history`` and ``diff`` timed through the CLI's library calls.

    python benchmarks/history_bench.py --rows 10000 --runs 1000 [--store PATH_OR_URL] [--churn 0.005]

Each night changes ``churn`` of the rows (a phone edited, an accepting flag flipped, a row removed and
another added, a last-updated date moved) and about as many findings appear or go. The canonical
table is synthetic (the columns a snapshot keeps), so a thousand nights cost minutes, not hours of
full audits; everything from the snapshot on is the code a real run uses. Prints one JSON object.

``--bulk`` fills the store at numpy speed instead: the same tables and version layout ``save`` writes
(versions opened and closed per night with the same churn, runs, per-item counts, changes), inserted in
one go, then a few real ``save`` calls on top. On a shared 2-core machine a thousand real saves take
longer than an hour; the query side (``history``, ``diff``) is what the bulk store measures. Content
hashes in a bulk store are random, so ``verify`` is not run on it.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from directory_audit.findings import FINDING_COLUMNS  # noqa: E402
from directory_audit import history as h  # noqa: E402
from directory_audit.history import open_store  # noqa: E402
from directory_audit.registry import load_catalogue  # noqa: E402


def directory(rows: int, rng: np.random.Generator) -> pd.DataFrame:
    npi = (1_000_000_000 + rng.choice(10 ** 8, rows, replace=False)).astype(str)
    return pd.DataFrame({
        "npi": npi, "provider_key": npi, "location_key": [f"{i % 3000} MAIN ST|97{i % 900:03d}" for i in range(rows)],
        "display_name": [f"Provider {i}" for i in range(rows)], "provider_type": "individual",
        "specialty_codes": "207Q00000X", "address_line1": [f"{i % 3000} Main St" for i in range(rows)],
        "address_line2": "", "city": "PORTLAND", "state": "OR", "zip": [f"97{i % 900:03d}" for i in range(rows)],
        "phone": [f"+1503555{i % 10000:04d}" for i in range(rows)],
        "accepting_status": np.where(rng.random(rows) < 0.6, "accepting", "not_accepting"),
        "languages": "en|es", "plan_ids": "P1", "network_ids": "N1",
        "last_updated": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 300, rows), unit="D"),
    })


def findings_for(table: pd.DataFrame) -> pd.DataFrame:
    """About one finding per five rows: the rows whose phone ends in 0 or 5."""
    hit = table[table["phone"].str[-1].isin(["0", "5"])]
    f = pd.DataFrame({"check_id": "location.phone_invalid", "severity": "warning", "factor_item": "T1.i",
                      "record_id": [f"d.csv:{i}" for i in hit.index], "npi": hit["npi"].to_numpy(),
                      "provider_name": hit["display_name"].to_numpy(), "field": "phone",
                      "observed": hit["phone"].to_numpy(), "expected": "a phone", "message": "m", "detail": ""})
    return f[list(FINDING_COLUMNS)]


def night(table: pd.DataFrame, rng: np.random.Generator, churn: float, day: int) -> pd.DataFrame:
    t = table.copy()
    n = max(1, int(len(t) * churn))
    idx = rng.choice(len(t), 4 * n, replace=False)
    a, b, c, d = idx[:n], idx[n:2 * n], idx[2 * n:3 * n], idx[3 * n:]
    t.loc[t.index[a], "phone"] = [f"+1541555{x:04d}" for x in rng.integers(0, 10000, n)]
    t.loc[t.index[b], "accepting_status"] = np.where(t.loc[t.index[b], "accepting_status"] == "accepting",
                                                     "not_accepting", "accepting")
    t.loc[t.index[c], "last_updated"] = pd.Timestamp("2026-01-01") + pd.Timedelta(days=300 + day)
    t = t.drop(index=t.index[d])
    new = directory(n, rng)
    return pd.concat([t, new], ignore_index=True)


def summary(table: pd.DataFrame, f: pd.DataFrame, as_of: str) -> dict:
    return {"tool": "directory-audit", "tool_version": "bench", "source": "bench.csv", "sources_read": ["bench.csv"],
            "format": "csv", "input_checksum": f"sha256:{as_of}", "started_at": as_of + "T02:00:00+00:00",
            "duration_seconds": 1.0, "settings": {"as_of": as_of}, "rows_audited": len(table),
            "providers_audited": len(table), "findings_total": len(f),
            "findings_by_severity": {"error": 0, "warning": len(f), "info": 0},
            "factor_items": {"T1.i": {"findings_by_severity": {"warning": len(f)},
                                      "metrics": {"location.valid_share": {"value": {"share": 0.8}}}}}}


def bulk_fill(store, rows: int, runs: int, churn: float, rng: np.random.Generator) -> None:
    import sqlalchemy as sa
    table = directory(rows, rng)
    cur = h.snapshot(table).assign(first_run=1)
    fcur = h.finding_versions(findings_for(table)).assign(first_run=1)
    closed, fclosed, n = [], [], max(1, int(rows * churn))
    changes = []
    next_key = 0
    for i in range(2, runs + 1):
        pick = rng.choice(len(cur), 3 * n, replace=False)
        gone = cur.iloc[pick]
        closed.append(gone.assign(last_run=i - 1))
        edited = gone.iloc[:2 * n].copy()
        edited["phone"] = [f"+1541555{x:04d}" for x in rng.integers(0, 10000, 2 * n)]
        added = gone.iloc[2 * n:].copy()
        added["key"] = [f"9{next_key + k:09d}@NEW ST|97000" for k in range(n)]
        next_key += n
        opened = pd.concat([edited, added]).assign(first_run=i)
        opened["content_hash"] = rng.integers(-2 ** 63, 2 ** 63 - 1, len(opened), dtype=np.int64)
        cur = pd.concat([cur.drop(index=cur.index[pick]), opened], ignore_index=True)
        fpick = rng.choice(len(fcur), n // 5 + 1, replace=False)
        fgone = fcur.iloc[fpick]
        fclosed.append(fgone.assign(last_run=i - 1))
        fnew = fgone.copy().assign(first_run=i)
        fnew["fingerprint"] = [f"b{i:05d}{k:05d}" for k in range(len(fnew))]
        fnew["content_hash"] = rng.integers(-2 ** 63, 2 ** 63 - 1, len(fnew), dtype=np.int64)
        fcur = pd.concat([fcur.drop(index=fcur.index[fpick]), fnew], ignore_index=True)
        changes.append({"run_id": i, "previous_run_id": i - 1, "rows_added": n, "rows_removed": n, "rows_changed": 2 * n,
                        "providers_joined": n, "providers_left": n, "findings_new": len(fnew),
                        "findings_resolved": len(fnew)})
    versions = pd.concat(closed + [cur.assign(last_run=None)], ignore_index=True)
    fversions = pd.concat(fclosed + [fcur.assign(last_run=None)], ignore_index=True)
    day = pd.Timestamp("2025-01-01")
    run_rows = [{"id": i, "started_at": f"{(day + pd.Timedelta(days=i)).date()}T02:00:00+00:00",
                 "finished_at": f"{(day + pd.Timedelta(days=i)).date()}T02:01:00+00:00",
                 "as_of": str((day + pd.Timedelta(days=i)).date()), "source": "bench.csv", "format": "csv",
                 "settings": "{}", "tool_version": "bench", "catalogue_version": "bench", "input_checksum": "x",
                 "duration_seconds": 1.0, "rows_audited": rows, "providers_audited": rows, "findings_total": 2000,
                 "errors": 0, "warnings": 2000, "info": 0, "snapshot_digest": "0", "findings_digest": "0",
                 "manifest": "{}", "manifest_sha256": f"{i:064d}", "previous_manifest_sha256": f"{i - 1:064d}"}
                for i in range(1, runs + 1)]
    with store.engine.begin() as conn:
        conn.execute(sa.insert(h.runs), run_rows)
        conn.execute(sa.insert(h.run_items), [{"run_id": i, "factor_item": "T1.i", "errors": 0, "warnings": 2000, "info": 0}
                                              for i in range(1, runs + 1)])
        conn.execute(sa.insert(h.run_metrics), [{"run_id": i, "metric": "location.valid_share", "name": "share",
                                                 "factor_item": "T1.i", "value": 0.8} for i in range(1, runs + 1)])
        conn.execute(sa.insert(h.run_changes), changes)
        cols = ["key", "first_run", "last_run", "content_hash", *h.SNAPSHOT_FIELDS]
        recs = versions[cols].astype(object).where(versions[cols].notna(), None).to_dict(orient="records")
        for start in range(0, len(recs), 20000):
            conn.execute(sa.insert(h.locations), recs[start:start + 20000])
        fcols = ["fingerprint", "first_run", "last_run", "content_hash", *h.FINDING_FIELDS]
        frecs = fversions[fcols].astype(object).where(fversions[fcols].notna(), None).to_dict(orient="records")
        for start in range(0, len(frecs), 20000):
            conn.execute(sa.insert(h.findings), frecs[start:start + 20000])
    return table


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--churn", type=float, default=0.005)
    ap.add_argument("--every", type=int, default=100, help="print the measurements every N runs too")
    ap.add_argument("--store", default=None, help="SQLite path or SQLAlchemy URL (default: a temporary SQLite file)")
    ap.add_argument("--bulk", action="store_true", help="fill the store in bulk, then a few real saves on top")
    args = ap.parse_args()
    store_arg = args.store or os.path.join(tempfile.mkdtemp(prefix="hist-bench-"), "history.db")
    store = open_store(store_arg)
    catalogue = load_catalogue()
    rng = np.random.default_rng(7)
    save_times = []
    t_all = time.perf_counter()
    first_night = 0
    if args.bulk:
        table = bulk_fill(store, args.rows, args.runs - 5, args.churn, rng)
        first_night = args.runs - 5
        args.every = args.runs + 1
    else:
        table = directory(args.rows, rng)
    for i in range(first_night, args.runs):
        if i:
            table = night(table, rng, args.churn, i)
        as_of = (pd.Timestamp("2026-01-01") + pd.Timedelta(days=i)).date().isoformat()
        f = findings_for(table)
        evidence = store.evidence("")
        result = SimpleNamespace(table=table, findings=f, summary=summary(table, f, as_of))
        t = time.perf_counter()
        store.save(result, evidence, catalogue)
        save_times.append(time.perf_counter() - t)
        if (i + 1) % args.every == 0 and i + 1 < args.runs:
            checkpoint(store, args, save_times, time.perf_counter() - t_all)
    checkpoint(store, args, save_times, time.perf_counter() - t_all, verify=not args.bulk)


def checkpoint(store, args, save_times, fill, verify=False) -> None:

    def timed(func, repeat=3):
        out = []
        for _ in range(repeat):
            t = time.perf_counter()
            value = func()
            out.append(time.perf_counter() - t)
        return min(out), value
    t_history, runs = timed(lambda: store.runs())
    t_diff, d = timed(lambda: store.diff())
    first, last = runs[0]["id"], runs[-1]["id"]
    t_diff_span, d_span = timed(lambda: store.diff(first, last, limit=None), repeat=1)
    t_verify, v = timed(lambda: store.verify(), repeat=1) if verify else (None, {"ok": None})
    size = sum(p.stat().st_size for p in Path(store.path).parent.glob(Path(store.path).name + "*")
               if not p.name.endswith(".lock")) if store.path else None
    with store.engine.connect() as conn:
        import sqlalchemy as sa
        versions = conn.execute(sa.text("select count(*) from locations")).scalar()
        fversions = conn.execute(sa.text("select count(*) from findings")).scalar()
    print(json.dumps({
        "store": store.dialect, "bulk": args.bulk, "rows": args.rows, "runs": len(runs), "churn": args.churn,
        "fill_seconds": round(fill, 1), "save_seconds_median": round(float(np.median(save_times)), 3),
        "save_seconds_last": round(save_times[-1], 3),
        "location_versions": versions, "finding_versions": fversions,
        "store_mb": round(size / 1e6, 1) if size else None,
        "history_seconds": round(t_history, 3),
        "diff_last_two_seconds": round(t_diff, 3), "diff_last_two_counts": d["counts"],
        "diff_first_last_seconds": round(t_diff_span, 3), "diff_first_last_counts": d_span["counts"],
        "verify_seconds": round(t_verify, 1) if t_verify else None, "verify_ok": v["ok"],
    }), flush=True)


if __name__ == "__main__":
    main()

"""Market sweep benchmark: N insurers x R rows, each a QHP index + providers.json served over loopback
HTTP, swept on a local Dask cluster of worker processes. Reports wall time, the peak memory (RSS) of
each worker process and of the client process (which in a LocalCluster also hosts the scheduler), and
the client's RSS after each finished feed, to show it does not grow with the number of insurers.

    pip install -e '.[bench,cluster]'
    python benchmarks/sweep.py --insurers 20 --rows 100000 --workers 2
    python benchmarks/sweep.py --insurers 5 20 --rows 20000 --workers 2      # client memory vs insurers

Data go to ``benchmarks/data/`` (gitignored); the directory is the deterministic generator's
(``benchmarks/generate.py``, seed 7), written once as providers.json and hard-linked under each
insurer's folder.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / "benchmarks" / "data"


def providers_file(rows: int) -> Path:
    from benchmarks.generate import write, write_qhp
    csv_path = DATA / f"dir_{rows}.csv"
    qhp = DATA / f"dir_{rows}.providers.json"
    if not csv_path.exists():
        write(rows, csv_path)
    if not qhp.exists():
        write_qhp(csv_path, qhp)
    return qhp


def market(n: int, rows: int, base_url: str, root: Path) -> Path:
    qhp = providers_file(rows)
    lines = ["State,Issuer ID,URL Submitted,Tech POC Email"]
    for i in range(n):
        issuer = f"{10001 + i}"
        d = root / f"r{rows}" / issuer          # one folder per directory size: links never mix sizes
        d.mkdir(parents=True, exist_ok=True)
        if not (d / "providers.json").exists():
            os.link(qhp, d / "providers.json")
        (d / "index.json").write_text(json.dumps({"provider_urls": ["providers.json"], "plan_urls": [],
                                                  "formulary_urls": []}), encoding="utf-8")
        lines.append(f"OR,{issuer},{base_url}r{rows}/{issuer}/index.json,tech@{issuer}.example")
    path = root / f"market_{n}_{rows}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


class Sampler:
    """Samples the RSS of the client process and of each worker process every ``every`` seconds."""

    def __init__(self, pids: dict[str, int], every: float = 0.25):
        self.procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.procs["client"] = psutil.Process()
        self.peak = {name: 0 for name in self.procs}
        self.every, self.stop = every, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            for name, p in self.procs.items():
                try:
                    self.peak[name] = max(self.peak[name], p.memory_info().rss)
                except psutil.Error:
                    pass
            time.sleep(self.every)


class RssProgress:
    """A progress stand-in that records the client's RSS each time a feed finishes."""

    def __init__(self):
        self.after: list[float] = []

    @contextmanager
    def task(self, description, total=None):
        outer = self

        class Task:
            def advance(self, n=1):
                outer.after.append(psutil.Process().memory_info().rss / 2**20)

            def update(self, *a, **k):
                pass
        yield Task()


def run(n: int, rows: int, workers: int, base_url: str, root: Path, out: Path) -> dict:
    import dask
    from distributed import Client, LocalCluster

    from directory_audit.settings import load_settings
    from directory_audit.sweep import sweep
    path = market(n, rows, base_url, root)
    shutil.rmtree(out, ignore_errors=True)
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                         dashboard_address=None, memory_limit=0) as cluster, Client(cluster) as client:
        pids = client.run(os.getpid)
        sampler = Sampler(pids)
        sampler.thread.start()
        progress = RssProgress()
        t0 = time.perf_counter()
        result = sweep(path, out, load_settings(as_of="2026-11-01"), client=client, progress=progress,
                       http_overrides={"requests_per_second": 1000.0})
        seconds = time.perf_counter() - t0
        sampler.stop.set()
        sampler.thread.join()
    per_feed = [r["duration_seconds"] for r in result["issuers"]]
    return {"insurers": n, "rows_each": rows, "workers": workers, "seconds": round(seconds, 1),
            "rows_total": result["totals"]["rows_audited"], "statuses": result["totals"]["by_status"],
            "feed_seconds_median": sorted(per_feed)[len(per_feed) // 2],
            "worker_peak_mb": {k: round(v / 2**20) for k, v in sampler.peak.items() if k != "client"},
            "client_peak_mb": round(sampler.peak["client"] / 2**20),
            "client_mb_after_each_feed": [round(x) for x in progress.after],
            "cross_insurer_findings": result["totals"]["cross_insurer_findings"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--insurers", type=int, nargs="+", default=[20])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    from tests.sweep_fixtures import FixtureServer
    root = DATA / "sweep_market"
    root.mkdir(parents=True, exist_ok=True)
    server = FixtureServer(root)
    try:
        for n in args.insurers:
            res = run(n, args.rows, args.workers, server.url, root, DATA / f"sweep_out_{n}")
            print(json.dumps(res))
    finally:
        server.close()


if __name__ == "__main__":
    main()

"""A small market for the sweep tests and the benchmark: fixture QHP issuers made from
``fixtures/oregon/qhp/`` with their own HIOS issuer ids, served by a real threaded HTTP server on
127.0.0.1."""
from __future__ import annotations

import copy
import json
import os
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QHP = ROOT / "fixtures" / "oregon" / "qhp"
BROWSER_ONLY = "/ua/"           # paths under this answer 403 unless the User-Agent is a browser's
SLOW = "/slow/"                 # paths under this wait before answering (a task to kill a worker in)


def providers() -> list[dict]:
    return json.loads((QHP / "providers.json").read_text(encoding="utf-8"))


def with_issuer(provs: list[dict], *issuers: str) -> list[dict]:
    """Copies whose plan ids belong to ``issuers`` (round robin; a provider may list several)."""
    out = []
    for n, p in enumerate(provs):
        p = copy.deepcopy(p)
        if not isinstance(p, dict):      # the Oregon fixture plants unreadable entries: keep them
            out.append(p)
            continue
        mine = issuers[n % len(issuers)] if n % 5 else None    # every 5th provider lists every issuer's plan
        for plan in p.get("plans") or []:
            if isinstance(plan, dict) and plan.get("plan_id"):
                plan["plan_id"] = (mine or issuers[0]) + plan["plan_id"][5:]
        if mine is None and len(issuers) > 1:
            for other in issuers[1:]:
                p["plans"] = list(p.get("plans") or []) + [
                    {"plan_id_type": "HIOS-PLAN-ID", "plan_id": f"{other}OR0010001", "network_tier": "STANDARD",
                     "years": [2026]}]
        out.append(p)
    return out


def write_feed(root: Path, folder: str, provs: list[dict], old: bool = False) -> str:
    d = root / folder.strip("/")
    d.mkdir(parents=True, exist_ok=True)
    (d / "providers.json").write_text(json.dumps(provs), encoding="utf-8")
    (d / "plans.json").write_bytes((QHP / "plans.json").read_bytes())
    (d / "index.json").write_text(json.dumps({"provider_urls": ["providers.json"], "plan_urls": ["plans.json"],
                                              "formulary_urls": []}), encoding="utf-8")
    if old:   # Last-Modified comes from the file's mtime
        stamp = time.mktime((2024, 1, 15, 12, 0, 0, 0, 0, 0))
        for f in d.iterdir():
            os.utime(f, (stamp, stamp))
    return f"{folder.strip('/')}/index.json"


class _Handler(SimpleHTTPRequestHandler):
    slow_seconds = 0.0
    hits: list[tuple[str, str]] = []

    def do_GET(self):
        type(self).hits.append((self.path, self.headers.get("User-Agent", "")))
        if self.path.startswith(BROWSER_ONLY) and "Mozilla/" not in self.headers.get("User-Agent", ""):
            self.send_error(403, "Forbidden")
            return
        if self.path.startswith(SLOW) and self.path.endswith("index.json"):
            time.sleep(self.slow_seconds)
        super().do_GET()

    def log_message(self, *args):
        pass


class FixtureServer:
    """``http.server`` on 127.0.0.1 (a free port) serving ``root`` in a thread."""

    def __init__(self, root: Path, slow_seconds: float = 0.0):
        handler = type("Handler", (_Handler,), {"slow_seconds": slow_seconds, "hits": []})
        self.handler = handler
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def dead_url() -> str:
    """A loopback port nothing listens on."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/index.json"


def build_market(root: Path, base_url: str, per_issuer: int = 30) -> Path:
    """Fixture issuers and a PUF-format market file naming them; returns the market file.

    11111: its own index; 22222: its own index, sharing 10 NPIs with 11111 (some at another address,
    phone or accepting status); 33333 and 44444: one shared index; 55555: a 404; 66666: served only to a
    browser's User-Agent; 77777: a stale file (old Last-Modified, old records)."""
    provs = providers()
    a = with_issuer(provs[:per_issuer], "11111")
    b = with_issuer(provs[per_issuer - 10: 2 * per_issuer - 10], "22222")
    # Conflicts with 11111 for the overlapping NPIs: a moved address, a changed phone, a flipped status.
    people = [p for p in b[:10] if isinstance(p, dict) and p.get("type") == "INDIVIDUAL" and p.get("addresses")
              and p.get("npi")]
    moved, phoned, flipped = people[0], people[1], people[2]
    moved["addresses"] = [{**moved["addresses"][0], "address": "999 Elsewhere Ave", "zip": "97301", "city": "Salem"}]
    for addr in phoned["addresses"]:
        addr["phone"] = "5035550199"
    flipped["accepting"] = "accepting" if flipped.get("accepting") == "not accepting" else "not accepting"
    shared = with_issuer(provs[2 * per_issuer: 3 * per_issuer], "33333", "44444")
    ua = with_issuer(provs[3 * per_issuer: 3 * per_issuer + 15], "66666")
    stale = with_issuer(provs[100:115], "77777")
    for p in stale:
        if isinstance(p, dict):
            p["last_updated_on"] = "2024-01-10"
    paths = {
        "11111": write_feed(root, "a", a), "22222": write_feed(root, "b", b),
        "33333": write_feed(root, "shared", shared), "44444": "shared/index.json",
        "55555": "gone/index.json", "66666": write_feed(root, "ua", ua),
        "77777": write_feed(root, "stale", stale, old=True),
    }
    lines = ["\ufeffState,Issuer ID,URL Submitted,Tech POC Email"]
    for issuer, path in paths.items():
        lines.append(f"OR,{issuer},{base_url}{path},tech@{issuer}.example")
    lines.append("WA,88888,https://wa.example/index.json,tech@wa.example")     # filtered out by --state OR
    market = root / "market.csv"
    market.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return market

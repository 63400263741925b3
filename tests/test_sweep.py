"""The market sweep on real Dask clusters (``directory_audit.sweep``).

Insurers are fixture QHP indexes served by a real threaded HTTP server on 127.0.0.1: two issuers with
their own index and ten NPIs in common (one moved, one re-phoned, one with its accepting status
flipped), one index shared by two issuer ids, one dead URL (404), one index served only to a browser's
User-Agent and one stale file. The same market is swept on an in-process ``LocalCluster`` and on a
``dask scheduler`` + ``dask worker`` pair started as subprocesses on loopback ports, and the
per-insurer results must be identical. A third sweep kills a worker process in the middle of a task.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

pytest.importorskip("distributed")

from directory_audit.cli import main  # noqa: E402
from directory_audit.settings import load_settings  # noqa: E402
from directory_audit.sweep import (RUN_FIELDS, MarketFileError, attribute, cross_insurer,  # noqa: E402
                                   plan_feeds, read_market, sweep, MarketIssuer)
from tests.sweep_fixtures import FixtureServer, build_market, dead_url, with_issuer, providers, write_feed  # noqa: E402

FAST_HTTP = {"requests_per_second": 1000.0, "backoff_base": 0.01}
SETTINGS = dict(as_of="2026-11-01")


@pytest.fixture(scope="module")
def market(tmp_path_factory):
    root = tmp_path_factory.mktemp("market")
    server = FixtureServer(root)
    path = build_market(root, server.url)
    yield path, server
    server.close()


@pytest.fixture(scope="module")
def local_sweep(market, tmp_path_factory):
    """The market swept on an in-process LocalCluster (two worker threads)."""
    path, server = market
    out = tmp_path_factory.mktemp("local-out")
    server.handler.hits.clear()
    result = sweep(path, out, load_settings(**SETTINGS), workers=2, processes=False, states=["OR"],
                   http_overrides=FAST_HTTP)
    return result, out, list(server.handler.hits)


def by_issuer(result):
    return {r["issuer_id"]: r for r in result["issuers"]}


# --- the market file ----------------------------------------------------------------------------------

def test_the_puf_is_read_as_published_with_a_bom_and_header_variants(tmp_path):
    puf = tmp_path / "puf.csv"
    puf.write_bytes("\ufeffSTATE,Issuer_ID,URL_Submitted,Tech_POC_Email\r\n"
                    "OR,12345,https://a.example/index.json,a@a.example\r\n"
                    "OR,1234,a.example/b/index.json,b@a.example\r\n"          # a spreadsheet ate the zero
                    "WA,54321,,c@c.example\r\n"
                    "OR,12345,https://a.example/index.json,again@a.example\r\n".encode("utf-8"))
    issuers = read_market(puf)
    assert [(i.issuer_id, i.state, i.source) for i in issuers] == [
        ("12345", "OR", "https://a.example/index.json"), ("01234", "OR", "https://a.example/b/index.json"),
        ("54321", "WA", ""), ("12345", "OR", "https://a.example/index.json")]
    assert issuers[2].problem.startswith("row 4, URL Submitted: empty")
    feeds, unswept = plan_feeds(issuers)
    assert [len(f.issuers) for f in feeds] == [1, 1]            # the repeated row is audited once
    assert [(i.issuer_id, d) for i, d in unswept] == [("54321", "54321")]
    assert [i.issuer_id for i in read_market(puf, states=["wa"])] == ["54321"]


def test_our_market_csv_resolves_paths_beside_it_and_names_bad_rows(tmp_path):
    (tmp_path / "dirs").mkdir()
    good = tmp_path / "ours.csv"
    good.write_text("insurer,source,format,state\nCascade,dirs/export.csv,csv,or\n"
                    "Acme,https://acme.example/index.json,qhp,OR\n", encoding="utf-8")
    issuers = read_market(good)
    assert issuers[0].source == str((tmp_path / "dirs" / "export.csv").resolve())
    assert (issuers[0].format, issuers[0].state, issuers[1].format) == ("csv", "OR", "qhp")
    bad = tmp_path / "bad.csv"
    bad.write_text("insurer,source,format\nCascade,x.csv,pdf\n", encoding="utf-8")
    with pytest.raises(MarketFileError, match=r"bad.csv: row 2, format: found 'pdf'"):
        read_market(bad)
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("Name,Link\nx,y\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["sweep", str(wrong), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "expected the CMS machine-readable URL PUF columns" in r.output


def test_records_are_attributed_by_the_issuer_id_and_state_in_their_plan_ids():
    plans = pd.Series(["11111OR0010001", "22222OR0010001|11111OR0020001", "11111WA0010001", None, "x11111OR"])
    a, b = MarketIssuer("11111", "OR", "u"), MarketIssuer("22222", "OR", "u")
    shares = attribute(plans, (a, b))
    assert shares["11111"].tolist() == [True, True, False, False, False]
    assert shares["22222"].tolist() == [False, True, False, False, False]


def test_cross_insurer_conflicts_carry_both_listings(tmp_path):
    def extract(issuer, rows):
        frame = pd.DataFrame(rows, columns=["npi", "location_key", "address", "phone", "accepting_status"])
        frame = frame.assign(issuer_id=issuer, market_state="OR", record_id=[f"r{i}" for i in range(len(frame))],
                             state="OR", provider_name="Ann Lee").astype("string")
        path = tmp_path / f"{issuer}.parquet"
        frame.to_parquet(path)
        return str(path)
    a = extract("11111", [("1", "1 MAIN ST|97201", "1 Main St", "+15035550100", "accepting"),
                          ("2", "2 OAK ST|97201", "2 Oak St", "+15035550101", "accepting"),
                          ("3", "3 ELM ST|97201", "3 Elm St", "+15035550102", "accepting"),
                          ("4", "4 ASH ST|97201", "4 Ash St", None, "unknown")])
    b = extract("22222", [("1", "9 FAR RD|97301", "9 Far Rd", "+15035550100", "accepting"),
                          ("2", "2 OAK ST|97201", "2 Oak St", "+15035550999", "accepting"),
                          ("3", "3 ELM ST|97201", "3 Elm St", "+15035550102", "not_accepting"),
                          ("4", "4 ASH ST|97201", "4 Ash St", "+15035550103", "accepting")])
    got = cross_insurer("OR", [a, b], str(tmp_path / "OR.parquet"))
    assert got["by_check"] == {"market.npi_address_conflict": 1, "market.npi_phone_conflict": 1,
                               "market.npi_accepting_conflict": 1}
    assert got["by_issuer"] == {"11111": got["by_check"], "22222": got["by_check"]}
    findings = pd.read_parquet(tmp_path / "OR.parquet").set_index("check_id")
    moved = findings.loc["market.npi_address_conflict"]
    assert (moved["npi"], moved["observed"], moved["expected"]) == ("1", "1 Main St", "9 Far Rd")
    listings = json.loads(moved["detail"])["listings"]
    assert [(x["issuer_id"], x["address"]) for x in listings] == [("11111", "1 Main St"), ("22222", "9 Far Rd")]
    # an unknown status or a missing phone is not a conflict; another state is not compared
    assert findings.loc["market.npi_accepting_conflict", "npi"] == "3"
    assert cross_insurer("WA", [a, b], str(tmp_path / "WA.parquet"))["findings"] == 0


# --- a sweep on a LocalCluster ------------------------------------------------------------------------

def test_dead_shared_browser_only_and_stale_feeds_behave_as_described(local_sweep):
    result, out, hits = local_sweep
    r = by_issuer(result)
    assert set(r) == {"11111", "22222", "33333", "44444", "55555", "66666", "77777"}   # WA filtered out
    assert {k: v["status"] for k, v in r.items() if v["status"] != "ok"} == {"55555": "dead feed"}
    assert "HTTP 404" in r["55555"]["reason"] and r["55555"]["findings_by_check"] == {"feed.unreachable": 1}
    dead = pd.read_parquet(out / "55555" / "findings.parquet")
    assert dead["check_id"].tolist() == ["feed.unreachable"] and dead["factor_item"].tolist() == ["T1.ii"]
    # the shared index was fetched once and its rows split by plan id
    assert sum(path == "/shared/index.json" for path, _ in hits) == 1
    assert sum(path == "/shared/providers.json" for path, _ in hits) == 1
    assert r["33333"]["source"] == r["44444"]["source"] and r["33333"]["shared_with"] == ["44444"]
    both = 6    # every 5th of the 30 shared providers lists both issuers' plans
    assert r["33333"]["rows_in_feed"] == r["44444"]["rows_in_feed"]
    assert 0 < r["33333"]["rows_audited"] < r["33333"]["rows_in_feed"]
    assert r["33333"]["providers_audited"] + r["44444"]["providers_audited"] >= 30 + both - 2
    # browser-only and stale feeds are audited, with their feed findings
    assert r["66666"]["findings_by_check"]["feed.browser_only"] == 1 and r["66666"]["rows_audited"] > 0
    assert any(path == "/ua/providers.json" and "Mozilla/" in ua for path, ua in hits)
    assert r["77777"]["findings_by_check"]["feed.stale_file"] == 1
    assert "feed.stale_file" not in r["11111"]["findings_by_check"]   # a fresh file (today's mtime)
    stale = pd.read_parquet(out / "77777" / "findings.parquet").query("check_id == 'feed.stale_file'")
    assert "2024-01-15" in stale["observed"].iloc[0] and "2024-01-10" in stale["observed"].iloc[0]


def test_each_issuer_gets_its_outputs_and_market_json_its_summary(local_sweep):
    result, out, _ = local_sweep
    saved = json.loads((out / "market.json").read_text(encoding="utf-8"))
    assert saved["totals"] == result["totals"] and len(saved["issuers"]) == 7
    for r in saved["issuers"]:
        folder = out / r["dir"]
        for name in ("findings.csv", "findings.parquet", "summary.json", "report.html", "listings.parquet"):
            assert (folder / name).exists(), (r["issuer_id"], name)
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        assert summary["rows_audited"] == r["rows_audited"]
        assert sum(r["findings_by_check"].values()) == summary["findings_total"] == r["findings_total"]
        assert len(pd.read_parquet(folder / "findings.parquet")) == r["findings_total"]
        assert set(r["status_by_factor_item"]) == {"T1.i", "T1.ii", "T1.iii", "T1.iv", "T2.i", "T2.ii", "T2.iii",
                                                   "T2.iv", "T2.v"}
        assert r["worker"].startswith("inproc://") and r["duration_seconds"] > 0
        # what came back to the client is a small summary, never a table
        assert len(json.dumps(r)) < 8_000
    ok = by_issuer(saved)["11111"]
    assert ok["providers_by_type"] and sum(ok["providers_by_type"].values()) == ok["providers_audited"]
    assert 0 < ok["rates"]["valid_location_share"] <= 1 and ok["rates"]["accepting_flag_coverage"] > 0.5
    totals = saved["totals"]
    assert totals["by_status"] == {"ok": 6, "dead feed": 1} and totals["feeds"] == 6
    assert totals["rows_audited"] == sum(r["rows_audited"] for r in saved["issuers"])


def test_the_same_npi_listed_differently_by_two_insurers_is_a_cross_insurer_finding(local_sweep):
    result, out, _ = local_sweep
    r = by_issuer(result)
    for check in ("market.npi_address_conflict", "market.npi_phone_conflict", "market.npi_accepting_conflict"):
        assert r["11111"]["cross_insurer"].get(check, 0) >= 1, check
        assert r["22222"]["cross_insurer"].get(check, 0) >= 1, check
    findings = pd.read_parquet(out / "cross_insurer" / "OR.parquet")
    pair = findings[(findings["issuer_a"] == "11111") & (findings["issuer_b"] == "22222")]
    phone = pair[pair["check_id"] == "market.npi_phone_conflict"].iloc[0]
    assert "+15035550199" in (phone["observed"], phone["expected"])
    listings = json.loads(phone["detail"])["listings"]
    assert {x["issuer_id"] for x in listings} == {"11111", "22222"} and all(x["record_id"] for x in listings)
    # issuers sharing one index list the same records: no conflict between them
    assert not ((findings["issuer_a"] == "33333") & (findings["issuer_b"] == "44444")).any()


# --- a dask scheduler + dask worker pair --------------------------------------------------------------

def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _wait_for_port(port: int, proc: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited: {proc.stderr.read().decode(errors='replace')[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listening on {port}")


def test_a_scheduler_and_worker_pair_gives_the_local_cluster_results_through_the_cli(local_sweep, market, tmp_path):
    """`dask scheduler` and `dask worker` as real subprocesses on loopback; `directory-audit sweep
    --scheduler` submits to them; per-insurer results equal the LocalCluster's."""
    path, _ = market
    port = _free_port()
    dask = str(Path(sys.executable).with_name("dask"))
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    scheduler = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                  "--no-dashboard"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    worker = None
    try:
        _wait_for_port(port, scheduler)
        worker = subprocess.Popen([dask, "worker", f"tcp://127.0.0.1:{port}", "--host", "127.0.0.1",
                                   "--nworkers", "1", "--nthreads", "2", "--no-dashboard", "--no-nanny"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        from distributed import Client
        with Client(f"tcp://127.0.0.1:{port}", timeout="30s") as c:
            c.wait_for_workers(1, timeout=60)
        out = tmp_path / "out"
        r = CliRunner().invoke(main, ["sweep", str(path), "--out", str(out), "--scheduler", f"tcp://127.0.0.1:{port}",
                                      "--state", "OR", "--as-of", "2026-11-01", "--requests-per-second", "1000",
                                      "--quiet"], catch_exceptions=False)
        assert r.exit_code == 1, r.output          # findings at error level (and one dead feed)
        remote = json.loads((out / "market.json").read_text(encoding="utf-8"))
    finally:
        for proc in (worker, scheduler):
            if proc is not None:
                proc.send_signal(signal.SIGINT)
        for proc in (worker, scheduler):
            if proc is not None:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    local, _, _ = local_sweep
    assert remote["scheduler"] == f"tcp://127.0.0.1:{port}" and remote["workers"] == 1
    assert all(r["worker"].startswith("tcp://127.0.0.1:") for r in remote["issuers"] if r["dir"])

    def comparable(result):
        return {r["issuer_id"]: {k: v for k, v in r.items() if k not in RUN_FIELDS} for r in result["issuers"]}
    assert comparable(remote) == comparable(local)
    assert remote["totals"] == local["totals"]


# --- a worker lost mid-task ----------------------------------------------------------------------------

def test_a_worker_killed_during_a_sweep_is_survived(tmp_path):
    """Two worker processes; while one is fetching a slow index its process is killed. The scheduler
    reschedules the task on the other (or the restarted) worker and the sweep completes."""
    import dask
    from distributed import Client, LocalCluster
    root = tmp_path / "srv"
    provs = providers()[:20]
    write_feed(root, "fast", with_issuer(provs[:10], "11111"))
    write_feed(root, "slow", with_issuer(provs[10:], "22222"))
    server = FixtureServer(root, slow_seconds=3.0)
    market = tmp_path / "ours.csv"
    market.write_text(f"insurer,source,format,state\n11111,{server.url}fast/index.json,qhp,OR\n"
                      f"22222,{server.url}slow/index.json,qhp,OR\n33333,{dead_url()},qhp,OR\n", encoding="utf-8")
    killed: list[str] = []
    try:
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
                LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                             dashboard_address=None) as cluster, Client(cluster) as client:

            slow_key = next(f.key for f in plan_feeds(read_market(market))[0] if "/slow/" in f.source)

            def kill_the_slow_task_worker():
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline and not killed:
                    if any(p == "/slow/index.json" for p, _ in server.handler.hits):
                        running = client.run(lambda dask_worker: [str(ts.key) for ts in dask_worker.state.executing])
                        for address, keys in running.items():
                            if slow_key in keys:
                                pid = client.run(os.getpid, workers=[address])[address]
                                os.kill(pid, signal.SIGKILL)
                                killed.append(address)
                                return
                    time.sleep(0.05)

            killer = threading.Thread(target=kill_the_slow_task_worker, daemon=True)
            killer.start()
            result = sweep(market, tmp_path / "out", load_settings(**SETTINGS), client=client,
                           http_overrides=FAST_HTTP)
            killer.join(timeout=5)
    finally:
        server.close()
    assert killed, "no worker was killed: the slow task never ran"
    r = by_issuer(result)
    assert r["11111"]["status"] == "ok" and r["22222"]["status"] == "ok"
    assert r["22222"]["rows_audited"] > 0 and r["22222"]["worker"] not in killed
    assert r["33333"]["status"] == "dead feed" and "could not be fetched" in r["33333"]["reason"]
    assert (tmp_path / "out" / "market.html").exists()


def test_a_task_that_fails_twice_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch):
    """An unexpected error (not a data problem) is retried once, then recorded in market.json."""
    audit_module = sys.modules["directory_audit.audit"]     # the package exports a function of that name
    real, calls = audit_module.audit_loaded, []

    def flaky(source, loaded, settings, *a, **k):
        if "directory.csv" in source:
            calls.append(source)
            raise RuntimeError("worker ran out of luck")
        return real(source, loaded, settings, *a, **k)
    monkeypatch.setattr(audit_module, "audit_loaded", flaky)
    header = (Path(__file__).resolve().parents[1] / "fixtures" / "oregon" / "directory.csv").read_text(
        encoding="utf-8").splitlines()[:4]
    (tmp_path / "directory.csv").write_text("\n".join(header) + "\n", encoding="utf-8")   # three real rows
    (tmp_path / "other.csv").write_text("\n".join(header) + "\n", encoding="utf-8")
    market = tmp_path / "ours.csv"
    market.write_text(f"insurer,source,format,state\nCascade,{tmp_path / 'directory.csv'},csv,OR\n"
                      f"Sample,{tmp_path / 'other.csv'},csv,OR\n"
                      f"Nowhere,{tmp_path / 'missing.csv'},csv,OR\n", encoding="utf-8")
    result = sweep(market, tmp_path / "out", load_settings(**SETTINGS), workers=1, processes=False)
    r = by_issuer(result)
    assert len(calls) == 2
    assert r["Cascade"]["status"] == "error" and r["Cascade"]["reason"].startswith("task failed twice: RuntimeError")
    assert r["Cascade"]["dir"] is None and r["Sample"]["status"] == "ok"
    assert r["Nowhere"]["status"] == "dead feed" and "missing.csv" in r["Nowhere"]["reason"]
    assert result["totals"]["by_status"] == {"error": 1, "ok": 1, "dead feed": 1}


# --- market.html in a real browser ---------------------------------------------------------------------

def test_market_html_opens_offline_sorts_and_links_each_insurer_report(local_sweep, tmp_path):
    from tests.test_report_browser import CHROMIUM, Browser
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (Debian package `chromium`)")
    result, out, _ = local_sweep
    browser = Browser(tmp_path / "profile")
    try:
        browser.open((out / "market.html").as_uri())
        assert browser.problems() == []
        assert browser.eval("document.querySelectorAll('#league tbody tr').length") == 7
        links = browser.eval("Array.from(document.querySelectorAll('#league tbody a')).map(a => a.getAttribute('href'))")
        assert sorted(links) == sorted(f"{r['dir']}/report.html" for r in result["issuers"])
        assert all((out / link).exists() for link in links)
        dead = browser.eval("document.querySelector('#league tr[data-issuer=\"55555\"]').textContent")
        assert "dead feed" in dead and "HTTP 404" in dead

        def column(label):
            return browser.eval(f"Array.from(document.querySelectorAll('#league th button')).findIndex(b => b.textContent === '{label}')")

        def click(label):
            browser.eval(f"document.querySelectorAll('#league th button')[{column(label)}].click()")

        def first_issuer():
            return browser.eval("document.querySelector('#league tbody tr').getAttribute('data-issuer')")
        rows = {r["issuer_id"]: r["rows_audited"] for r in result["issuers"]}
        click("Rows")
        assert first_issuer() == min(rows, key=lambda k: (rows[k], k))
        click("Rows")
        assert browser.eval(f"document.querySelectorAll('#league th')[{column('Rows')}].getAttribute('aria-sort')") == "descending"
        assert first_issuer() == max(rows, key=lambda k: (rows[k], -int(k)))
        # rates sort with the insurers that have none (the dead feed) last, either way
        click("Valid locations")
        valid = {r["issuer_id"]: r["rates"].get("valid_location_share") for r in result["issuers"]}
        assert first_issuer() == min((k for k in valid if valid[k] is not None), key=lambda k: (valid[k], k))
        assert browser.eval("document.querySelector('#league tbody tr:last-child').getAttribute('data-issuer')") == "55555"
        # each insurer's link opens its own report, also without errors
        browser.open((out / "11111" / "report.html").as_uri())
        assert browser.problems() == []
        assert browser.eval("document.title").startswith("Provider directory audit")
        shot = browser.screenshot(tmp_path / "market.png")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        browser.close()


# --- fetching one feed (no cluster) --------------------------------------------------------------------

def test_fetching_a_feed_files_schema_errors_dead_files_and_unparseable_indexes(tmp_path):
    from directory_audit.http import HttpClient, HttpOptions
    from directory_audit.sweep import fetch_qhp_feed
    root = tmp_path / "srv"
    write_feed(root, "ok", with_issuer(providers()[:3], "11111"))
    (root / "bad").mkdir()
    (root / "bad" / "index.json").write_text(json.dumps(
        {"provider_urls": ["../ok/providers.json", "missing.json"], "plan_urls": "../ok/plans.json"}), encoding="utf-8")
    (root / "empty").mkdir()
    (root / "empty" / "index.json").write_text('{"provider_urls": [], "plan_urls": [], "formulary_urls": []}',
                                               encoding="utf-8")
    (root / "junk").mkdir()
    (root / "junk" / "index.json").write_text("<html>Sign in</html>", encoding="utf-8")
    server = FixtureServer(root)
    try:
        with HttpClient(HttpOptions(use_cache=False, requests_per_second=1000.0, backoff_base=0.01)) as client:
            bad = fetch_qhp_feed(server.url + "bad/index.json", tmp_path / "w1", client)
            empty = fetch_qhp_feed(server.url + "empty/index.json", tmp_path / "w2", client)
            junk = fetch_qhp_feed(server.url + "junk/index.json", tmp_path / "w3", client)
    finally:
        server.close()
    schema = sorted((p["field"], p["observed"]) for p in bad.problems if p["check_id"] == "feed.index_schema")
    assert schema == [("formulary_urls", "missing"), ("plan_urls", '"../ok/plans.json"')]
    dead = [p for p in bad.problems if p["check_id"] == "feed.unreachable"]
    assert len(dead) == 1 and dead[0]["record_id"].endswith("/bad/missing.json") and "HTTP 404" in dead[0]["observed"]
    assert not bad.dead and bad.local_index.exists()
    assert json.loads(bad.local_index.read_text())["provider_urls"] == ["files/providers.json"]
    assert [f["url"].rsplit("/", 2)[-2:] for f in bad.files] == [["ok", "providers.json"]]
    assert empty.fatal.endswith("names no provider file (provider_urls)") and not empty.dead
    assert any(p["field"] == "provider_urls" and p["observed"] == "[]" for p in empty.problems)
    assert junk.dead.startswith(server.url + "junk/index.json: not JSON on every try")
    assert [p["check_id"] for p in junk.problems] == ["feed.unreachable"]

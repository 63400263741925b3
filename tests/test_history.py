"""The history store, night after night, on a SQLite file and on a real PostgreSQL server (a throwaway
cluster started for the session; if it cannot start, the PostgreSQL cases fail).

Nights over variants of the first 30 rows of the Oregon sample: rows added, removed, edited, then the
same data aged six weeks. Checks diffs, counts, network changes, the measured update frequency, the
report's history section, the manifest chain, retention, schema upgrades, the lock and kills."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from directory_audit import load_settings
from directory_audit.cli import main
from directory_audit.history import open_store
from directory_audit.nightly import PAUSE_ENV, run

from .postgres import Cluster

ROOT = Path(__file__).resolve().parents[1]
OREGON = ROOT / "fixtures" / "oregon" / "directory.csv"
CHECKS = ("update", "network")          # the checks these tests are about; keeps each night about a second


@pytest.fixture(scope="session")
def pg_cluster():
    cluster = Cluster().start()          # raises (the PostgreSQL tests fail) when no server can start
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return str(tmp_path / "history.db")
    return request.getfixturevalue("pg_cluster").new_database()


def narrative(tmp_path: Path, frequency: str) -> Path:
    path = tmp_path / f"narrative-{frequency}.toml"
    path.write_text(f'["T1.ii"]\nupdate_frequency = "{frequency}"\n', encoding="utf-8")
    return path


def variants(tmp_path: Path) -> dict:
    """base (night 1) and changed (night 2): one row removed, two providers added (one with an
    unreadable date), one phone edited, one accepting flag turned off. Rows picked by rule, so the
    expected counts follow from the data."""
    full = pd.read_csv(OREGON, dtype=str, keep_default_na=False, on_bad_lines="skip")
    base = full.head(30).copy()
    npi_count = base["Provider NPI"].map(base["Provider NPI"].value_counts())
    single = base.index[(npi_count == 1) & (base["Provider NPI"].str.fullmatch(r"\d{10}"))]
    removed, edited = single[0], single[1]
    flipped = next(i for i in single[2:] if base.at[i, "Accepting New Patients"].strip().lower() == "yes")
    newcomers = full.iloc[100:].drop_duplicates("Provider NPI")
    newcomers = newcomers[newcomers["Provider NPI"].str.fullmatch(r"\d{10}")
                          & ~newcomers["Provider NPI"].isin(full.head(100)["Provider NPI"])].head(2).copy()
    newcomers.iloc[1, newcomers.columns.get_loc("Last Verified Date")] = "sometime 2025"
    changed = base.drop(index=removed).copy()
    changed.at[edited, "Phone Number"] = "503-555-0199"
    changed.at[flipped, "Accepting New Patients"] = "No"
    changed = pd.concat([changed, newcomers], ignore_index=True)
    paths = {}
    for name, frame in (("base", base), ("changed", changed)):
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    return {"paths": paths, "removed_npi": base.at[removed, "Provider NPI"], "edited_npi": base.at[edited, "Provider NPI"],
            "flipped_npi": base.at[flipped, "Provider NPI"], "new_npis": list(newcomers["Provider NPI"]),
            "unreadable_npi": newcomers["Provider NPI"].iloc[1]}


def night(source: Path, as_of: str, store: str, out: Path, stated: Path | None = None, **kw):
    settings = load_settings(as_of=as_of, selected_checks=CHECKS, narrative_file=stated, fail_on="never", quiet=True)
    return run(str(source), settings, out, store, **kw)


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_three_nights_give_diffs_counts_network_changes_and_a_frequency_finding(tmp_path, store_url):
    v = variants(tmp_path)
    weekly = narrative(tmp_path, "weekly")
    n1 = night(v["paths"]["base"], "2026-10-01", store_url, tmp_path / "o1", weekly)
    n2 = night(v["paths"]["changed"], "2026-10-08", store_url, tmp_path / "o2", weekly)
    n3 = night(v["paths"]["changed"], "2026-11-15", store_url, tmp_path / "o3", weekly)     # aged, unchanged
    assert [n1.saved.run_id < n2.saved.run_id < n3.saved.run_id] == [True]

    d = json.loads(cli("diff", "--history", store_url, str(n1.saved.run_id), str(n2.saved.run_id), "--format", "json").output)
    assert d["counts"]["added"] == 2 and d["counts"]["removed"] == 1 and d["counts"]["changed"] == 2
    assert {r["npi"] for r in d["added"]} == set(v["new_npis"])
    assert [r["npi"] for r in d["removed"]] == [v["removed_npi"]]
    fields = {r["npi"]: set(r["fields"]) for r in d["changed"]}
    assert fields == {v["edited_npi"]: {"phone"}, v["flipped_npi"]: {"accepting_status"}}
    phone = next(r for r in d["changed"] if r["npi"] == v["edited_npi"])["fields"]["phone"]
    assert phone["new"] == "+15035550199" and phone["old"] != phone["new"]
    new = {(f["check_id"], f["npi"]) for f in d["findings"]["new"]}
    assert ("update.last_updated_unparseable", v["unreadable_npi"]) in new
    assert ("network.provider_left", v["removed_npi"]) in new
    assert d["counts"]["findings_new"] == len(d["findings"]["new"])

    # the default diff is the last two runs: nothing changed between nights 2 and 3
    d23 = json.loads(cli("diff", "--history", store_url, "--format", "json").output)
    assert d23["run_a"]["id"] == n2.saved.run_id and d23["run_b"]["id"] == n3.saved.run_id
    assert {k: d23["counts"][k] for k in ("added", "removed", "changed")} == {"added": 0, "removed": 0, "changed": 0}
    # and night 1 to night 3 is the same change as night 1 to night 2, read from the versions
    d13 = json.loads(cli("diff", "--history", store_url, str(n1.saved.run_id), str(n3.saved.run_id), "--format", "json").output)
    assert {k: d13["counts"][k] for k in ("added", "removed", "changed")} == {"added": 2, "removed": 1, "changed": 2}

    runs = json.loads(cli("history", "--history", store_url, "--format", "json").output)
    assert [r["id"] for r in runs] == [n1.saved.run_id, n2.saved.run_id, n3.saved.run_id]
    r2 = runs[1]
    assert (r2["rows_added"], r2["rows_removed"], r2["rows_changed"]) == (2, 1, 2)
    assert (r2["providers_joined"], r2["providers_left"], r2["accepting_off"], r2["accepting_on"]) == (2, 1, 1, 0)

    # T2.iii metrics in night 2's summary
    t2 = n2.result.summary["factor_items"]["T2.iii"]["metrics"]
    since = t2["network.changes_since_last_run"]["value"]
    assert (since["providers_joined"], since["providers_left"], since["accepting_off"]) == (2, 1, 1)
    assert t2["network.changes_by_month"]["value"]["2026-10"]["rows_added"] == 2

    # measured frequency: 38 days without any change contradicts "weekly" (limit 21 days) on night 3 only
    f2 = n2.result.findings
    assert "update.measured_frequency" not in set(f2["check_id"])
    f3 = n3.result.findings[n3.result.findings["check_id"] == "update.measured_frequency"]
    assert len(f3) == 1 and "for 38 days (2026-10-08 to 2026-11-15" in f3["observed"].iloc[0]
    m3 = n3.result.summary["factor_items"]["T1.ii"]["metrics"]["update.measured_frequency"]["value"]
    assert (m3["runs_observed"], m3["span_days"], m3["runs_showing_an_update"], m3["longest_quiet_days"]) == (3, 45, 1, 38)

    # the same six weeks do not contradict a monthly claim (38 days <= 62): audit night 3 again, unsaved
    from directory_audit.audit import audit
    store = open_store(store_url)
    monthly = load_settings(as_of="2026-11-15", selected_checks=CHECKS, narrative_file=narrative(tmp_path, "monthly"))
    evidence = store.evidence("monthly")
    evidence.previous_run, evidence.timeline = {"id": n2.saved.run_id, "as_of": "2026-10-08"}, evidence.timeline.iloc[:2]
    silent = audit(str(v["paths"]["changed"]), monthly, history=evidence)
    assert "update.measured_frequency" not in set(silent.findings["check_id"])
    assert silent.summary["factor_items"]["T1.ii"]["metrics"]["update.measured_frequency"]["value"]["longest_quiet_days"] == 38
    store.engine.dispose()

    # the report shows the changes and the trend, from the data handed to it
    html = (tmp_path / "o2" / "report.html").read_text(encoding="utf-8")
    assert 'id="changes-since-last-run"' in html and 'id="chart-trend-findings"' in html
    assert '<tr data-key="added"><th scope="row">Provider-locations added</th><td class="n">2</td>' in html
    summary = json.loads((tmp_path / "o3" / "summary.json").read_text())
    assert [r["run_id"] for r in summary["history"]["trend"]["runs"]] == [n1.saved.run_id, n2.saved.run_id, n3.saved.run_id]

    # the manifests chain, and the store verifies
    m1 = json.loads((tmp_path / "o1" / "manifest.json").read_text())
    m2 = json.loads((tmp_path / "o2" / "manifest.json").read_text())
    assert m1["previous_manifest_sha256"] is None and m2["previous_manifest_sha256"] == n1.saved.manifest_sha256
    assert m2["input_checksum"] == n2.result.summary["input_checksum"] and m2["settings"]["as_of"] == "2026-10-08"
    ok = cli("verify-history", "--history", store_url, "--manifest", str(tmp_path / "o2" / "manifest.json"))
    assert ok.exit_code == 0, ok.output


def test_tampering_fails_verify_history(tmp_path, store_url):
    v = variants(tmp_path)
    night(v["paths"]["base"], "2026-10-01", store_url, tmp_path / "o1")
    n2 = night(v["paths"]["changed"], "2026-10-08", store_url, tmp_path / "o2")
    night(v["paths"]["changed"], "2026-10-09", store_url, tmp_path / "o3")
    assert cli("verify-history", "--history", store_url).exit_code == 0
    engine = sa.create_engine(store_url if "://" in store_url else f"sqlite:///{store_url}")

    # a manifest file edited after the run no longer matches the store
    edited = tmp_path / "o2" / "manifest.json"
    edited.write_text(edited.read_text().replace(n2.result.summary["input_checksum"], "sha256:" + "0" * 64))
    bad = cli("verify-history", "--history", store_url, "--manifest", str(edited))
    assert bad.exit_code == 1 and "this manifest is not in the store" in bad.output

    with engine.begin() as c:      # a stored manifest edited in place
        c.execute(sa.text("update runs set manifest = replace(manifest, '2026-10-08', '2026-10-07') where id = :i"),
                  {"i": n2.saved.run_id})
    bad = cli("verify-history", "--history", store_url, "--format", "json")
    report = json.loads(bad.output)
    assert bad.exit_code == 1 and any("manifest was edited" in p for p in report["problems"])

    with engine.begin() as c:      # ... and with its hash recomputed: the next run's link breaks
        text = c.execute(sa.text("select manifest from runs where id = :i"), {"i": n2.saved.run_id}).scalar()
        import hashlib
        c.execute(sa.text("update runs set manifest_sha256 = :h where id = :i"),
                  {"h": hashlib.sha256(text.encode()).hexdigest(), "i": n2.saved.run_id})
    report = json.loads(cli("verify-history", "--history", store_url, "--format", "json").output)
    assert not report["ok"] and any("chain is broken" in p for p in report["problems"])
    assert not any("manifest was edited" in p for p in report["problems"])

    with engine.begin() as c:      # a stored provider-location edited: its content hash no longer matches
        c.execute(sa.text("update locations set phone = '+15035550000' where id = (select min(id) from locations)"))
    report = json.loads(cli("verify-history", "--history", store_url, "--format", "json").output)
    assert any("do not match their content hash" in p for p in report["problems"])
    engine.dispose()


def test_keep_prunes_old_runs_and_the_chain_still_verifies(tmp_path, store_url):
    v = variants(tmp_path)
    night(v["paths"]["base"], "2026-10-01", store_url, tmp_path / "o1")
    night(v["paths"]["changed"], "2026-10-02", store_url, tmp_path / "o2")
    night(v["paths"]["base"], "2026-10-03", store_url, tmp_path / "o3")
    n4 = night(v["paths"]["changed"], "2026-10-04", store_url, tmp_path / "o4", keep=2)
    assert n4.pruned == 2
    runs = json.loads(cli("history", "--history", store_url, "--format", "json").output)
    assert [r["as_of"] for r in runs] == ["2026-10-03", "2026-10-04"]
    d = json.loads(cli("diff", "--history", store_url, "--format", "json").output)
    assert (d["counts"]["added"], d["counts"]["removed"], d["counts"]["changed"]) == (2, 1, 2)
    ok = cli("verify-history", "--history", store_url)
    assert ok.exit_code == 0, ok.output
    night(v["paths"]["changed"], "2026-10-05", store_url, tmp_path / "o5")      # the chain goes on after a prune
    assert cli("verify-history", "--history", store_url).exit_code == 0


def test_a_store_from_the_first_schema_is_upgraded_in_place(tmp_path, store_url):
    from alembic import command
    from alembic.config import Config

    from directory_audit.history import Store
    store = Store(store_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "directory_audit" / "migrations"))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    assert store.revision() == "0001"
    with store.engine.begin() as conn:      # a run written by the older version
        conn.execute(sa.text("insert into store_meta (key, value) values ('written_by', '0.0.9')"))
    store.engine.dispose()
    upgraded = open_store(store_url)
    assert upgraded.revision() == "0002"
    with upgraded.engine.connect() as conn:
        assert conn.execute(sa.text("select value from store_meta where key = 'written_by'")).scalar() == "0.0.9"
    v = variants(tmp_path)
    n = night(v["paths"]["base"], "2026-10-01", store_url, tmp_path / "o1")
    assert n.saved.run_id == 1


def test_history_commands_say_what_is_wrong(tmp_path, store_url):
    v = variants(tmp_path)
    night(v["paths"]["base"], "2026-10-01", store_url, tmp_path / "o1")
    one = cli("diff", "--history", store_url)
    assert one.exit_code == 2 and "holds 1 run(s); a diff needs two" in one.output
    unknown = cli("diff", "--history", store_url, "1", "99")
    assert unknown.exit_code == 2 and "has no run 99" in unknown.output
    missing = cli("history", "--history", str(tmp_path / "nowhere.db"))
    assert missing.exit_code == 2 and "no history store at" in missing.output
    table = cli("history", "--history", store_url)
    assert table.exit_code == 0 and "1 run(s)" in table.output


def _start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "directory_audit", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)


def _wait_for(log: Path, text: str, proc: subprocess.Popen, seconds: float = 120, after: int = 0) -> None:
    """Until ``text`` appears in ``log`` more than ``after`` times."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log.exists() and log.read_text().count(text) > after:
            return
        if proc.poll() is not None:
            raise AssertionError(f"run ended early ({proc.returncode}): {proc.stderr.read()}")
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never appeared in {log}")


def test_a_second_run_exits_75_and_a_killed_run_leaves_nothing(tmp_path, store_url):
    v = variants(tmp_path)
    night(v["paths"]["base"], "2026-10-01", store_url, tmp_path / "o1")
    log = tmp_path / "nightly.log"
    args = ["audit", str(v["paths"]["changed"]), "--as-of", "2026-10-02", "--fail-on", "never", "--quiet",
            "--history", store_url, "--log-file", str(log)] + [x for c in CHECKS for x in ("--check", c)]
    env = {**os.environ, PAUSE_ENV: "60"}
    for attempt, sig in enumerate((signal.SIGTERM, signal.SIGKILL)):
        first = _start(args + ["--out", str(tmp_path / f"o2-{attempt}")], env, log)
        try:
            _wait_for(log, "rows written; committing", first, after=attempt)   # its rows are in an open transaction
            if attempt == 0:     # while it holds the lock, a second run exits 75 naming it
                second = subprocess.run([sys.executable, "-m", "directory_audit", *args, "--out", str(tmp_path / "o3")],
                                        capture_output=True, text=True, cwd=ROOT, timeout=120)
                assert second.returncode == 75, second.stderr
                assert f"locked by pid {first.pid} on host" in second.stderr and "started 20" in second.stderr
            first.send_signal(sig)
            code = first.wait(timeout=60)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
        assert code == (-9 if sig == signal.SIGKILL else 143)
        runs = json.loads(cli("history", "--history", store_url, "--format", "json").output)
        assert [r["as_of"] for r in runs] == ["2026-10-01"]                 # no partial run
        assert cli("verify-history", "--history", store_url).exit_code == 0
        if sig == signal.SIGTERM:
            assert "before the run was committed: nothing was stored" in log.read_text()
    # the store is usable and the lock free: the next night runs
    n = night(v["paths"]["changed"], "2026-10-03", store_url, tmp_path / "o4")
    assert n.saved.history["changes"]["counts"]["added"] == 2


def test_the_migrations_build_the_schema_the_code_uses(store_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from directory_audit.history import metadata
    store = open_store(store_url)
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    store.engine.dispose()

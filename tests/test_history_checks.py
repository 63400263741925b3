"""Checks about update evidence that need no store (the generation stamp), the pure parts of the
history module (snapshots, network changes, measured frequency), and the trend chart."""
import datetime as dt
import json

import pandas as pd

from directory_audit.findings import flatten
from directory_audit.history import HistoryEvidence, measured_frequency, network_changes, snapshot
from directory_audit.runner import run_checks, AuditContext
from directory_audit.registry import load_catalogue, select
from reports import charts
from tests.conftest import table_of


def run_stamp(table, settings):
    specs = select(load_catalogue(), ("update.generation_stamp",))
    return run_checks(table, specs, [], settings, AuditContext(settings=settings)).findings


def test_one_date_on_every_record_is_a_generation_stamp(settings):
    table = table_of(*[{"npi": None, "first_name": f"P{i}", "last_updated": "2026-10-31"} for i in range(25)])
    f = run_stamp(table, settings)
    assert flatten(f, ["check_id", "record_id", "observed"]) == [("update.generation_stamp", "t.csv:2", "2026-10-31")]
    assert "25 of 25 dated records (100.0%) share the last-updated date 2026-10-31" in f["message"].iloc[0]
    assert "no evidence that any record was verified" in f["message"].iloc[0]
    assert json.loads(f["detail"].iloc[0]) == {"date": "2026-10-31", "records": 25, "dated_records": 25}


def test_varied_dates_or_a_small_directory_are_no_stamp(settings):
    days = [f"2026-10-{d:02d}" for d in range(1, 26)]
    varied = table_of(*[{"first_name": f"P{i}", "last_updated": d} for i, d in enumerate(days)])
    assert run_stamp(varied, settings).empty
    # 24 of 25 share a date (96%) is below the 98% default
    mostly = table_of(*[{"first_name": f"P{i}", "last_updated": "2026-10-31" if i else "2026-09-01"} for i in range(25)])
    assert run_stamp(mostly, settings).empty
    small = table_of(*[{"first_name": f"P{i}", "last_updated": "2026-10-31"} for i in range(19)])
    assert run_stamp(small, settings).empty


def test_network_changes_count_joins_leaves_closings_and_flips():
    before = snapshot(table_of(
        {"npi": "1234567893", "accepting_status": "Yes"},
        {"npi": "1245319599", "first_name": "Ann", "address_line1": "1 Main St", "zip": "97301", "city": "Salem"}))
    after = snapshot(table_of(
        {"npi": "1234567893", "accepting_status": "No"},
        {"npi": "1679576722", "first_name": "Bo", "address_line1": "9 Elm St", "zip": "97401", "city": "Eugene"}))
    c = network_changes(before, after)
    assert (c["rows_added"], c["rows_removed"], c["rows_changed"]) == (1, 1, 1)
    assert (c["providers_joined"], c["providers_left"]) == (1, 1)
    assert (c["locations_opened"], c["locations_closed"]) == (1, 1)
    assert (c["accepting_on"], c["accepting_off"]) == (0, 1)


def test_duplicate_listings_keep_distinct_keys():
    snap = snapshot(table_of({}, {}, {"phone": "503-555-0100"}))
    assert snap["key"].is_unique and snap["key"].str.endswith("#2").sum() == 1 and snap["key"].str.endswith("#3").sum() == 1


def test_measured_frequency_finds_the_longest_quiet_period():
    table = table_of({"last_updated": "2026-09-01"})
    snap = snapshot(table)
    timeline = pd.DataFrame({"run_id": [1, 2, 3], "as_of": ["2026-09-01", "2026-09-02", "2026-10-20"],
                             "rows_added": [0, 1, 0], "rows_removed": 0, "rows_changed": 0, "providers_joined": 0,
                             "providers_left": 0, "locations_opened": 0, "locations_closed": 0, "accepting_on": 0,
                             "accepting_off": 0, "last_updated_changed": 0, "findings_new": 0, "findings_resolved": 0,
                             "newest_last_updated": "2026-09-01"})
    ev = HistoryEvidence(store="s", previous=snap, previous_run={"id": 3, "as_of": "2026-10-20"}, timeline=timeline,
                         stated_frequency="weekly")
    m = measured_frequency(ev, table, dt.date(2026, 11, 1))
    assert (m["runs_observed"], m["span_days"], m["runs_showing_an_update"]) == (4, 61, 1)
    assert (m["longest_quiet_days"], m["longest_quiet_from"], m["longest_quiet_to"]) == (60, "2026-09-02", "2026-11-01")
    assert m["mean_days_between_updates"] == 61.0 and m["stated_frequency"] == "weekly"


def test_the_trend_chart_names_each_series_in_text():
    svg = charts.trend("t", "Findings by run", ["1", "2", "3"], [("T1.i", [3, 5, None]), ("T2.v", [1, 1, 2])])
    assert svg.count("<polyline") == 2 and "T1.i: 5" in svg and "T2.v: 2" in svg
    assert "T1.i: 1 3, 2 5, 3 n/a" in svg        # the description reads every value out, gaps included
    shares = charts.trend("m", "Shares", ["1", "2"], [("accepting", [0.5, 0.75])], percent=True)
    assert "accepting: 75.0%" in shares


def _quiet_store(stated: str) -> tuple:
    table = table_of({"last_updated": "2026-09-01"})
    timeline = pd.DataFrame({"run_id": [1], "as_of": ["2026-09-01"], "rows_added": [0], "rows_removed": 0,
                             "rows_changed": 0, "providers_joined": 0, "providers_left": 0, "locations_opened": 0,
                             "locations_closed": 0, "accepting_on": 0, "accepting_off": 0, "last_updated_changed": 0,
                             "findings_new": 0, "findings_resolved": 0, "newest_last_updated": "2026-09-01"})
    ev = HistoryEvidence(store="s", previous=snapshot(table), previous_run={"id": 1, "as_of": "2026-09-01"},
                         timeline=timeline, stated_frequency=stated)
    return table, ev


def run_measured(table, ev, settings, metadata=None):
    specs = select(load_catalogue(), ("update.measured_frequency",))
    ctx = AuditContext(settings=settings, reference={"history": ev}, load_metadata=metadata or {})
    return run_checks(table, specs, [], settings, ctx).findings


def test_a_website_disclosure_is_compared_too(settings):
    # 61 quiet days (2026-09-01 .. 2026-11-01): contradicts the site's "updated daily", not a narrative "quarterly"
    table, ev = _quiet_store("quarterly")
    site = {"site": {"disclosure": {"update_frequency": "Directory updated daily"}}}
    f = run_measured(table, ev, settings, site)
    assert flatten(f, ["check_id", "record_id"]) == [("update.measured_frequency", "history:2026-09-01..2026-11-01")]
    assert "the website's disclosure page says the directory is updated 'Directory updated daily'" in f["message"].iloc[0]
    assert run_measured(table, ev, settings).empty                 # quarterly (92 days) allows 184 days


def test_no_stated_frequency_no_finding(settings):
    table, ev = _quiet_store("")
    assert run_measured(table, ev, settings).empty

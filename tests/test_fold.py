"""One listing split over rows (one row per specialty, plan or network) is folded into one
provider-location before the checks (directory_audit/fold.py)."""
from __future__ import annotations

import json

import pandas as pd

from directory_audit import audit, load_settings
from directory_audit.normalize import normalize
from directory_audit.registry import load_catalogue, select
from directory_audit.runner import AuditContext, run_checks
from tests.test_provider_types import _raw

ANN = {"npi": "1234567893", "first_name": "Ann", "last_name": "Lee", "address_line1": "1 Main St", "city": "Portland",
       "state": "OR", "zip": "97201", "phone": "5034132200", "accepting_status": "Yes", "languages": "Spanish"}


def test_rows_repeated_per_specialty_and_plan_fold_into_one_listing_with_every_value():
    table = normalize(_raw([{**ANN, "specialties": "Cardiology", "plan_ids": "P1"},
                            {**ANN, "specialties": "Internal Medicine", "plan_ids": "P2"},
                            {**ANN, "specialties": "Cardiology", "plan_ids": "P2"}]))
    assert len(table) == 1
    row = table.iloc[0]
    assert row["record_id"] == "t.csv:2"
    assert row["folded_record_ids"] == "t.csv:2|t.csv:3|t.csv:4"
    assert row["specialty_names"] == "Cardiology|Internal Medicine"
    assert row["specialties_raw"] == "Cardiology; Internal Medicine"
    assert row["plan_ids"] == "P1|P2"
    assert row["languages"] == "es"


def test_rows_that_disagree_on_anything_else_stay_apart():
    table = normalize(_raw([{**ANN, "specialties": "Cardiology"},
                            {**ANN, "specialties": "Internal Medicine", "accepting_status": "No"},   # a conflict
                            {**ANN, "specialties": "Cardiology", "address_line1": "2 Oak St"},        # another place
                            {**ANN, "specialties": "Internal Medicine", "npi": "1245319599",
                             "first_name": "Bo"}]))                                                   # another person
    assert len(table) == 4 and table["folded_record_ids"].isna().all()


def test_verbatim_copies_are_left_to_exact_row():
    table = normalize(_raw([{**ANN, "specialties": "Cardiology"}, {**ANN, "specialties": "Cardiology"}]))
    assert len(table) == 2


def test_a_folded_listing_is_no_duplicate_and_its_findings_name_every_source_row():
    rows = [{**ANN, "specialties": s, "phone": None} for s in ("Cardiology", "Internal Medicine", "Geriatric Medicine")]
    table = normalize(_raw(rows))
    settings = load_settings(as_of="2026-11-01")
    res = run_checks(table, select(load_catalogue(), ("duplicate", "location.phone_missing")), [], settings,
                     AuditContext(settings=settings))
    f = res.findings
    assert list(f["check_id"]) == ["location.phone_missing"]
    assert json.loads(f.iloc[0]["detail"])["record_ids"] == ["t.csv:2", "t.csv:3", "t.csv:4"]


def test_summary_reports_rows_read_and_provider_locations_apart(tmp_path):
    csv = tmp_path / "d.csv"
    pd.DataFrame({"NPI": ["1234567893"] * 3 + ["1245319599"], "First Name": ["Ann"] * 3 + ["Bo"],
                  "Last Name": ["Lee"] * 4, "Specialty": ["Cardiology", "Internal Medicine", "Geriatric Medicine", "Cardiology"],
                  "Address": ["1 Main St"] * 4, "City": ["Portland"] * 4, "State": ["OR"] * 4, "Zip": ["97201"] * 4}
                 ).to_csv(csv, index=False)
    s = audit(str(csv), load_settings(as_of="2026-11-01")).summary
    assert (s["rows_read"], s["provider_locations_audited"], s["rows_audited"], s["rows_folded"]) == (4, 2, 2, 1)
    assert s["findings_by_check"]["duplicate.npi_same_location"] == 0

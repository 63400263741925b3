"""Open-practice checks (T1.iii, T2.v) and their metrics."""
from __future__ import annotations

import json

import pytest

from directory_audit import flatten
from directory_audit.registry import METRICS, load_catalogue
from tests.test_checks_locations import findings, table

FIRES = [
    ("open_practice.flag_missing", [{"accepting_status": None}, {"accepting_status": "Yes", "zip": "97205"}], [("t.csv:2", "accepting_status", "")]),
    ("open_practice.flag_missing", [{"accepting_status": "  "}, {"accepting_status": "No", "zip": "97205"}], [("t.csv:2", "accepting_status", "")]),
    ("open_practice.none_published", [{"accepting_status": None}, {"accepting_status": "", "zip": "97205"}], [("t.csv", "accepting_status", "")]),
    ("open_practice.flag_unrecognized", [{"accepting_status": "Maybe"}], [("t.csv:2", "accepting_status", "Maybe")]),
    ("open_practice.flag_unrecognized", [{"accepting_status": "TBD"}], [("t.csv:2", "accepting_status", "TBD")]),
    ("open_practice.flag_unrecognized", [{"accepting_status": None, "provider_accepting_status": "call us"}],
     [("t.csv:2", "provider_accepting_status", "call us")]),
    ("open_practice.conflicting", [{"accepting_status": "Yes"}, {"accepting_status": "No"}],
     [("t.csv:2", "accepting_status", "Yes"), ("t.csv:3", "accepting_status", "No")]),
    # The same address written two ways is the same location.
    ("open_practice.conflicting", [{"accepting_status": "Open", "address_line1": "1515 SW 5th Avenue"},
                                   {"accepting_status": "Existing patients only", "address_line1": "1515 SW 5th Ave."}],
     [("t.csv:2", "accepting_status", "Open"), ("t.csv:3", "accepting_status", "Existing patients only")]),
    ("open_practice.some_locations_without_detail", [{"accepting_status": "Some locations"}],
     [("t.csv:2", "accepting_status", "Some locations")]),
    ("open_practice.some_locations_without_detail", [{"accepting_status": "accepting in some locations"}],
     [("t.csv:2", "accepting_status", "accepting in some locations")]),
    ("open_practice.some_locations_without_detail",
     [{"accepting_status": None, "provider_accepting_status": "Accepting in some locations"}],
     [("t.csv:2", "provider_accepting_status", "Accepting in some locations")]),
]


@pytest.mark.parametrize("check_id,rows,expected", FIRES, ids=[f"{c[0]}-{i}" for i, c in enumerate(FIRES)])
def test_check_fires(check_id, rows, expected):
    assert flatten(findings(check_id, *rows), ["record_id", "field", "observed"]) == expected


SILENT = [
    ("open_practice.flag_missing", [{"accepting_status": value}])
    for value in ("Yes", "N", "Closed", "accepting", "not accepting", "newpt", "nopt", "existptonly", "true")
] + [
    ("open_practice.flag_missing", [{"provider_type": "Facility", "first_name": None, "last_name": None,
                                     "facility_name": "Hospital", "accepting_status": None}]),
    ("open_practice.flag_missing", [{"accepting_status": None, "provider_accepting_status": "Yes"}]),
    ("open_practice.flag_unrecognized", [{"accepting_status": None}]),           # missing, not unrecognized
    ("open_practice.flag_unrecognized", [{"accepting_status": "Accepting New Patients"}]),
    ("open_practice.flag_unrecognized", [{"accepting_status": "Existing Patients Only"}]),
    ("open_practice.flag_unrecognized", [{"accepting_status": "Not-Accepting"}]),
    ("open_practice.conflicting", [{"accepting_status": "Yes"}, {"accepting_status": "Y"}]),
    # 'Existing patients only' is a no to new patients, like 'No'.
    ("open_practice.conflicting", [{"accepting_status": "No"}, {"accepting_status": "Existing patients only"}]),
    # Different locations may differ.
    ("open_practice.conflicting", [{"accepting_status": "Yes"}, {"accepting_status": "No", "zip": "97205"}]),
    # Different providers at one address may differ.
    ("open_practice.conflicting", [{"accepting_status": "Yes"}, {"accepting_status": "No", "npi": "1245319599"}]),
    ("open_practice.conflicting", [{"accepting_status": "Yes"}, {"accepting_status": "Maybe"}]),
    ("open_practice.some_locations_without_detail", [{"accepting_status": "Yes", "provider_accepting_status": "some locations"}]),
]


@pytest.mark.parametrize("check_id,rows", SILENT, ids=[f"{c[0]}-{i}" for i, c in enumerate(SILENT)])
def test_check_stays_silent(check_id, rows):
    assert flatten(findings(check_id, *rows), ["record_id", "field", "observed"]) == []


def test_conflict_detail_names_the_statuses():
    out = findings("open_practice.conflicting", {"accepting_status": "Yes"}, {"accepting_status": "No"})
    assert {json.loads(d)["statuses"] for d in out["detail"]} == {"accepting|not_accepting"}


def _metric(metric_id, *rows):
    return METRICS[metric_id].func(table(*rows))


def test_flag_coverage_counts_non_facility_rows():
    facility = {"provider_type": "Facility", "first_name": None, "last_name": None, "facility_name": "H",
                "accepting_status": None}
    v = _metric("open_practice.flag_coverage", {}, {"accepting_status": "Maybe"}, {"accepting_status": None}, facility)
    assert v == {"rows": 3, "with_valid_flag": 1, "share": 0.3333}


def test_accepting_share_and_status_counts():
    v = _metric("open_practice.accepting_share", {"accepting_status": "Yes"}, {"accepting_status": "No"},
                {"accepting_status": "Existing patients only"}, {"accepting_status": "Yes", "zip": "97205"},
                {"accepting_status": "Maybe"})
    assert v == {"rows": 5, "share_accepting": 0.5,
                 "by_status": {"accepting": 2, "existing_patients_only": 1, "not_accepting": 1, "unknown": 1}}


def test_accepting_by_specialty_and_county():
    rows = [{"accepting_status": "Yes", "specialties": "207Q00000X"},
            {"accepting_status": "No", "specialties": "207Q00000X;207R00000X", "npi": "1245319599"},
            {"accepting_status": "Yes", "city": "Vancouver", "state": "WA", "zip": "98660", "npi": "1003000126"}]
    by_spec = _metric("open_practice.accepting_by_specialty", *rows)
    assert by_spec == {"Family Medicine Physician": {"rows": 3, "share_accepting": 0.6667},
                       "Internal Medicine Physician": {"rows": 1, "share_accepting": 0.0}}
    by_county = _metric("open_practice.accepting_by_county", *rows)
    assert by_county == {"OR:Multnomah": {"rows": 2, "share_accepting": 0.5},
                         "WA:Clark": {"rows": 1, "share_accepting": 1.0}}


def test_checks_are_listed_with_their_factor_item():
    cat = load_catalogue()
    assert {k: (cat[k].factor, cat[k].severity.value) for k in cat if k.startswith("open_practice.")} == {
        "open_practice.flag_missing": ("T2.v", "error"),
        "open_practice.none_published": ("T2.v", "error"),
        "open_practice.flag_unrecognized": ("T1.iii", "error"),
        "open_practice.conflicting": ("T1.iii", "error"),
        "open_practice.some_locations_without_detail": ("T2.v", "warning"),
    }

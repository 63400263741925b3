"""Practice-location checks (T1.i): each case is a small raw directory and the findings one check
must give on it; the silent cases are legitimate variants a real directory writes."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from directory_audit import flatten, load_settings, normalize
from directory_audit.registry import METRICS, load_catalogue
from directory_audit.runner import AuditContext, run_checks

CLEAN = {"npi": "1234567893", "provider_type": "Individual", "first_name": "Ana", "last_name": "Diaz",
         "specialties": "207Q00000X", "address_line1": "1515 SW 5th Ave", "address_line2": "Suite 300",
         "city": "Portland", "state": "OR", "zip": "97201", "phone": "503-494-8311",
         "accepting_status": "Yes", "languages": "English", "last_updated": "2026-10-01"}


def table(*rows: dict) -> pd.DataFrame:
    raw = pd.DataFrame([{**CLEAN, **r} for r in rows])
    raw["record_id"] = [f"t.csv:{i + 2}" for i in range(len(raw))]
    raw["source_format"] = "csv"
    raw["source_file"] = "t.csv"
    return normalize(raw)


def findings(check_id: str, *rows: dict, options: dict | None = None, **settings) -> pd.DataFrame:
    s = load_settings(as_of="2026-11-01", **settings)
    if options:
        s = s.with_(check_options={check_id: options})
    spec = load_catalogue()[check_id]
    result = run_checks(table(*rows), [spec], [], s, AuditContext(settings=s))
    assert result.check_runs[0].status == "ok", result.check_runs[0].error
    return result.findings


FIRES = [
    # check id, rows, expected (record_id, field, observed)
    ("location.address_incomplete", [{"city": None}], [("t.csv:2", "city", "")]),
    ("location.address_incomplete", [{"address_line1": "  "}], [("t.csv:2", "address_line1", "")]),
    ("location.address_incomplete", [{"state": None, "zip": None}], [("t.csv:2", "state", "")]),
    ("location.zip_malformed", [{"zip": "9720"}], [("t.csv:2", "zip", "9720")]),
    ("location.zip_malformed", [{"zip": "97Z01"}], [("t.csv:2", "zip", "97Z01")]),
    ("location.zip_malformed", [{"zip": "97201-12"}], [("t.csv:2", "zip", "97201-12")]),
    ("location.zip_unknown", [{"zip": "97999"}], [("t.csv:2", "zip", "97999")]),
    ("location.zip_unknown", [{"zip": "00001"}], [("t.csv:2", "zip", "00001")]),
    ("location.zip_state_mismatch", [{"city": "Fruitland", "zip": "83619"}], [("t.csv:2", "zip", "83619")]),
    ("location.zip_city_mismatch", [{"city": "Eugene", "zip": "97701"}], [("t.csv:2", "city", "Eugene")]),
    ("location.zip_city_mismatch", [{"city": "Salem", "zip": "97330"}], [("t.csv:2", "city", "Salem")]),
    ("location.po_box", [{"address_line1": "PO Box 123"}], [("t.csv:2", "address_line1", "PO Box 123")]),
    ("location.po_box", [{"address_line1": "P.O. Box 44"}], [("t.csv:2", "address_line1", "P.O. Box 44")]),
    ("location.po_box", [{"address_line1": "P. O. BOX 7"}], [("t.csv:2", "address_line1", "P. O. BOX 7")]),
    ("location.po_box", [{"address_line1": "Post Office Box 9"}], [("t.csv:2", "address_line1", "Post Office Box 9")]),
    ("location.po_box", [{"address_line1": "POB 12"}], [("t.csv:2", "address_line1", "POB 12")]),
    ("location.po_box", [{"address_line1": "pobox 12"}], [("t.csv:2", "address_line1", "pobox 12")]),
    ("location.po_box", [{"address_line1": "Box 12"}], [("t.csv:2", "address_line1", "Box 12")]),
    ("location.po_box", [{"address_line2": "PO Box 5"}], [("t.csv:2", "address_line2", "PO Box 5")]),
    ("location.po_box", [{"address_line1": "Pro Health Partners", "address_line2": "Box 5"}],
     [("t.csv:2", "address_line2", "Box 5")]),
    ("location.po_box_zip", [{"zip": "97208"}], [("t.csv:2", "zip", "97208")]),
    ("location.phone_missing", [{"phone": None}], [("t.csv:2", "phone", "")]),
    ("location.phone_invalid", [{"phone": "503-055-0123"}], [("t.csv:2", "phone", "503-055-0123")]),
    ("location.phone_invalid", [{"phone": "999-000-0000"}], [("t.csv:2", "phone", "999-000-0000")]),
    ("location.phone_invalid", [{"phone": "1978744763"}], [("t.csv:2", "phone", "1978744763")]),
    ("location.phone_out_of_state", [{"phone": "720-848-0000"}], [("t.csv:2", "phone", "720-848-0000")]),
    ("location.phone_out_of_state", [{"phone": "(212) 639-2000"}], [("t.csv:2", "phone", "(212) 639-2000")]),
    ("location.outside_service_area", [{"city": "Boise", "state": "ID", "zip": "83702", "phone": "208-555-0100"}],
     [("t.csv:2", "state", "ID")]),
    ("location.outside_service_area", [{"city": "Seattle", "state": "WA", "zip": "98101", "phone": "206-555-0100"}],
     [("t.csv:2", "state", "WA")]),
]


@pytest.mark.parametrize("check_id,rows,expected", FIRES, ids=[f"{c[0]}-{i}" for i, c in enumerate(FIRES)])
def test_check_fires(check_id, rows, expected):
    assert flatten(findings(check_id, *rows), ["record_id", "field", "observed"]) == expected


SILENT = [
    ("location.address_incomplete", [{"address_line2": None}]),
    ("location.zip_malformed", [{"zip": "97201-1234"}]),
    ("location.zip_malformed", [{"zip": "972011234"}]),
    ("location.zip_malformed", [{"zip": " 97201 "}]),
    ("location.zip_malformed", [{"zip": None}]),                         # incomplete, not malformed
    ("location.zip_unknown", [{"zip": "97258"}]),                        # decommissioned but real
    ("location.zip_unknown", [{"zip": "9720"}]),                         # malformed, reported there
    ("location.zip_state_mismatch", [{"state": "Oregon"}]),
    ("location.zip_state_mismatch", [{"state": "or"}]),
    ("location.zip_state_mismatch", [{"state": None}]),
    ("location.zip_city_mismatch", [{"city": "PORTLAND"}]),
    ("location.zip_city_mismatch", [{"city": "portland."}]),
    ("location.zip_city_mismatch", [{"city": "St. Helens", "zip": "97051"}]),
    ("location.zip_city_mismatch", [{"city": "Saint Helens", "zip": "97051"}]),
    ("location.zip_city_mismatch", [{"city": "Mt. Angel", "zip": "97362"}]),
    ("location.zip_city_mismatch", [{"city": "Mount Angel", "zip": "97362"}]),
    ("location.zip_city_mismatch", [{"city": "Milton-Freewater", "zip": "97862"}]),
    ("location.zip_city_mismatch", [{"city": "Milton Freewater", "zip": "97862"}]),
    ("location.zip_city_mismatch", [{"city": "Bend", "zip": "97701-5539"}]),
    ("location.zip_city_mismatch", [{"city": "Marlboro", "state": "MA", "zip": "01752"}]),   # Marlborough
    ("location.zip_city_mismatch", [{"city": "West Hartford", "state": "CT", "zip": "06105"}]),  # acceptable_cities
    ("location.zip_city_mismatch", [{"city": "Fruitland", "zip": "83619"}]),   # state mismatch reports it
    ("location.po_box", [{"address_line1": "123 Boxwood Ln"}]),
    ("location.po_box", [{"address_line1": "400 Box Elder Rd"}]),
    ("location.po_box", [{"address_line1": "RR 2 Box 5"}]),
    ("location.po_box", [{"address_line1": "1 Post Office Sq"}]),
    ("location.po_box", [{"address_line1": "55 Pobst Rd"}]),
    ("location.po_box", [{"address_line1": "800 Washington St", "address_line2": "Box 306"}]),   # mail stop
    ("location.po_box_zip", [{"city": "Oak Bluffs", "state": "MA", "zip": "02557", "phone": "508-555-0100"}]),
    ("location.phone_missing", [{"phone": "503-555-0123"}]),
    # placeholders are reported by placeholder.value, once, not again as a wrong real value
    ("location.phone_invalid", [{"phone": "000-000-0000"}]),
    ("location.phone_invalid", [{"phone": "503-555-01"}]),
    ("location.phone_invalid", [{"phone": "call the office"}]),     # no digits at all: a placeholder
    ("location.zip_unknown", [{"zip": "99999"}]),
    ("location.zip_malformed", [{"zip": "N/A"}]),
    ("location.zip_state_mismatch", [{"state": "UN"}]),
    ("location.outside_service_area", [{"state": "UN"}]),
    ("location.zip_city_mismatch", [{"city": "null"}]),
    ("location.phone_invalid", [{"phone": "(503) 555-0123 ext. 12"}]),
    ("location.phone_invalid", [{"phone": "503.555.0123 x4"}]),
    ("location.phone_invalid", [{"phone": "+1 503 555 0123"}]),
    ("location.phone_invalid", [{"phone": "1-800-555-1212"}]),
    ("location.phone_invalid", [{"phone": None}]),                        # missing, reported there
    ("location.phone_out_of_state", [{"phone": "1-800-555-1212"}]),       # toll-free: no region
    ("location.phone_out_of_state", [{"phone": "971-555-0100"}]),
    # Border: a Vancouver WA clinic on a Portland number, an Ontario OR clinic on a Boise-area number.
    ("location.phone_out_of_state", [{"city": "Vancouver", "state": "WA", "zip": "98660", "phone": "503-555-0100"}]),
    ("location.phone_out_of_state", [{"city": "Ontario", "state": "OR", "zip": "97914", "phone": "208-555-0100"}]),
    ("location.outside_service_area", [{}]),
    ("location.outside_service_area", [{"city": "Vancouver", "state": "WA", "zip": "98660"}]),        # Clark County
    ("location.outside_service_area", [{"city": "Vancouver", "state": "WA", "zip": "98660", "county": "Clark County"}]),
    ("location.outside_service_area", [{"state": None, "zip": None}]),
]


@pytest.mark.parametrize("check_id,rows", SILENT, ids=[f"{c[0]}-{i}" for i, c in enumerate(SILENT)])
def test_check_stays_silent(check_id, rows):
    assert flatten(findings(check_id, *rows), ["record_id", "field", "observed"]) == []


def test_decommissioned_zip_reported_when_asked():
    out = findings("location.zip_unknown", {"zip": "97258"}, options={"flag_decommissioned": True})
    assert flatten(out, ["record_id", "observed"]) == [("t.csv:2", "97258")]


def test_county_from_the_directory_wins_over_the_zip():
    # A WA ZIP whose county the directory gives as Clark is served; the same ZIP marked King is not.
    row = {"city": "Vancouver", "state": "WA", "zip": "98660", "county": "King"}
    assert flatten(findings("location.outside_service_area", row), ["record_id"]) == [("t.csv:2",)]


def test_service_area_comes_from_the_settings():
    row = {"city": "Boise", "state": "ID", "zip": "83702"}
    assert findings("location.outside_service_area", row, service_area_states=("OR", "ID")).empty
    assert findings("location.outside_service_area", row, service_area_counties=("ID:Ada",)).empty


def _many(n_providers: int, n_locations: int) -> list[dict]:
    crowd = [{"npi": None, "first_name": f"P{i}", "last_name": "Crowd"} for i in range(n_providers)]
    spread = [{"npi": None, "first_name": "Roam", "last_name": "Ing", "address_line1": f"{100 + i} SE Main St"}
              for i in range(n_locations)]
    return crowd + spread


FAMILIES = ["207Q00000X", "207RC0000X", "1223G0001X", "2084P0800X", "225100000X", "363LF0000X", "208600000X"]


def _site(n: int, address: str = "1 Crowd Way", **fields) -> list[dict]:
    """``n`` distinct clinicians at one address, specialties from seven unrelated families."""
    return [{"npi": None, "first_name": f"P{i}", "last_name": f"Crowd{address[:3]}", "address_line1": address,
             "address_line2": None, "specialties": FAMILIES[i % len(FAMILIES)], **fields} for i in range(n)]


def _reasons(out: pd.DataFrame) -> set[str]:
    return {r for d in out["detail"] for r in json.loads(d)["reasons"]}


def test_crowded_address_silent_on_a_large_group_site_with_one_phone():
    """26 clinicians of a multi-specialty group at its site, one front-desk number: normal."""
    assert findings("location.crowded_address", *_site(26, facility_name="Willamette Valley Medical Group")).empty
    assert findings("location.crowded_address", *_site(60)).empty       # nothing but the count


def test_crowded_address_silent_on_a_hospital_campus():
    campus = _site(40) + [{"provider_type": "Facility", "npi": None, "first_name": None, "last_name": None,
                           "facility_name": "St. Vincent Hospital", "address_line1": "1 Crowd Way"}]
    assert findings("location.crowded_address", *campus).empty
    # hospital-based clinicians (radiology, anesthesia, emergency) make a campus too
    rads = [{**r, "specialties": "2085R0202X"} for r in _site(3, "1 Crowd Way")]
    for r, i in zip(rads, range(3)):
        r["first_name"] = f"Rad{i}"
    assert findings("location.crowded_address", *_site(40, facility_name=None), *rads).empty


def test_crowded_address_fires_on_an_administrative_address_for_those_rows():
    rows = _site(26) + [{**r, "first_name": f"Q{i}", "address_line2": "Provider Enrollment"}
                        for i, r in enumerate(_site(2))]
    out = findings("location.crowded_address", *rows)
    assert sorted(out["record_id"]) == ["t.csv:28", "t.csv:29"]
    assert _reasons(out) == {"administrative_address"}
    assert "billing or administrative office" in out["message"].iloc[0]


def test_crowded_address_fires_when_the_roster_is_copied_to_every_site():
    rows = _site(26) + [{**r, "address_line1": f"{k} Other St"} for k in range(2, 6) for r in _site(26)]
    out = findings("location.crowded_address", *rows)
    assert "roster_copy" in _reasons(out)
    detail = json.loads(out["detail"].iloc[0])
    assert detail["roster_share"] == 1.0 and detail["providers"] == 26


def test_crowded_address_fires_on_unrelated_specialties_with_no_facility_where_the_directory_names_them():
    named_elsewhere = [{"first_name": f"N{i}", "last_name": "Named", "address_line1": f"{i} Elm St",
                        "facility_name": "Elm Clinic", "phone": f"503-555-02{i:02d}"} for i in range(10)]
    out = findings("location.crowded_address", *_site(26), *named_elsewhere)
    assert len(out) == 26 and _reasons(out) == {"unrelated_specialties_no_facility"}
    assert json.loads(out["detail"].iloc[0])["specialty_families"] == 7
    # the same site with its group named is a group site
    assert findings("location.crowded_address", *_site(26, facility_name="Crowd Way Physicians"),
                    *named_elsewhere).empty


def test_crowded_address_fires_on_one_phone_shared_with_many_other_addresses():
    line = "503-555-1200"
    elsewhere = [{"first_name": f"E{i}", "last_name": "Else", "address_line1": f"{i} Pine St", "phone": line}
                 for i in range(2, 13)]
    out = findings("location.crowded_address", *_site(26, phone=line), *elsewhere)
    assert _reasons(out) == {"one_shared_phone"}
    assert json.loads(out["detail"].iloc[0])["phone_sites"] == 12


@pytest.mark.parametrize("line", ["000-000-0000", "503-555-0199", "123-456-7890"])
def test_a_placeholder_phone_on_many_addresses_is_no_shared_line(line):
    """A placeholder says nothing about who answers: it is placeholder.value's, not a crowding reason."""
    elsewhere = [{"first_name": f"E{i}", "last_name": "Else", "address_line1": f"{i} Pine St", "phone": line}
                 for i in range(2, 13)]
    assert findings("location.crowded_address", *_site(26, phone=line), *elsewhere).empty


def test_crowded_address_fires_on_a_robust_outlier_of_the_directory():
    small = [{**r, "phone": f"503-555-03{k:02d}"} for k in range(20) for r in _site(3, f"{k + 2} Small St")]
    out = findings("location.crowded_address", *_site(60), *small)
    assert len(out) == 60 and _reasons(out) == {"outlier"}
    assert json.loads(out["detail"].iloc[0])["p99_comparable_sites"] == 3


@pytest.mark.parametrize("n,options,fires", [(25, None, False), (26, None, True), (26, {"max_providers": 30}, False)])
def test_crowded_address_threshold(n, options, fires):
    rows = _site(n - 1) + [{**r, "first_name": "Z", "address_line2": "Billing Office"} for r in _site(1)]
    assert (not findings("location.crowded_address", *rows, options=options).empty) == fires


def test_crowded_address_counts_distinct_individuals_not_rows_or_facilities():
    rows = [{"first_name": "Same", "last_name": "Person", "address_line2": "Billing"}] * 30 + \
           [{"provider_type": "Facility", "first_name": None, "last_name": None, "facility_name": f"F{i}", "npi": None}
            for i in range(30)]
    assert findings("location.crowded_address", *rows).empty


@pytest.mark.parametrize("n,options,fires", [(8, None, False), (9, None, True), (9, {"max_locations": 9}, False)])
def test_provider_many_locations_threshold(n, options, fires):
    out = findings("location.provider_many_locations", *_many(0, n), options=options)
    assert (len(out) == n) if fires else out.empty
    if fires:
        assert {json.loads(d)["locations"] for d in out["detail"]} == {n}


def test_same_location_written_two_ways_is_one_location():
    rows = [{"npi": None, "first_name": "Roam", "last_name": "Ing", "address_line1": f"{100 + i} SE Main Street"}
            for i in range(5)] + \
           [{"npi": None, "first_name": "Roam", "last_name": "Ing", "address_line1": f"{100 + i} SE Main St."}
            for i in range(5)]
    assert findings("location.provider_many_locations", *rows).empty


def test_phone_validity_is_judged_once_per_distinct_number(monkeypatch):
    from checks import locations
    locations.phone_facts.cache_clear()
    calls = []
    real = locations.phone_facts.__wrapped__
    monkeypatch.setattr(locations, "phone_facts", lambda raw: calls.append(raw) or real(raw))
    findings("location.phone_invalid", *([{"phone": "503-555-0123"}] * 50 + [{"phone": "bad"}] * 50))
    # one question per distinct number (the valid one is asked only for its area code's region)
    assert sorted(calls) == ["+15035550123", "bad"]


@pytest.mark.parametrize("raw,region", [
    ("503-413-2200", "OR"), ("(206) 555-0142", "WA"), ("212 555 0142", "NY"),
    ("235-555-0142", "MO"),           # newer than the ZIP data: the geocoder answers
    ("604-555-0142", "country:CA"),   # Vancouver BC, though the ZIP data lists 604 at a WA border ZIP
    ("800-555-0142", None),           # toll-free: no region
])
def test_phone_region_by_area_code(raw, region):
    from checks import locations
    valid, area, got = locations.phone_facts.__wrapped__(raw)
    assert valid and area == "".join(ch for ch in raw if ch.isdigit())[:3] and got == region


def test_valid_share_metric():
    t = table({}, {"phone": None}, {"zip": "97999"}, {"city": "Boise", "state": "ID", "zip": "83702"})
    value = METRICS["location.valid_share"].func(t)
    # The Idaho row is outside the service area but its address and phone are valid.
    assert value == {"rows": 4, "valid": 2, "share": 0.5}
    assert METRICS["location.valid_share"].func(t.iloc[0:0]) == {"rows": 0, "valid": 0, "share": None}


def test_checks_are_listed_with_their_factor_item():
    cat = load_catalogue()
    expected = {"location.address_incomplete": ("T1.i", "error"), "location.zip_malformed": ("T1.i", "error"),
                "location.zip_unknown": ("T1.i", "error"), "location.zip_state_mismatch": ("T1.i", "error"),
                "location.zip_city_mismatch": ("T1.i", "warning"), "location.po_box": ("T1.i", "error"),
                "location.po_box_zip": ("T1.i", "warning"), "location.phone_missing": ("T1.i", "error"),
                "location.phone_invalid": ("T1.i", "error"), "location.phone_out_of_state": ("T1.i", "warning"),
                "location.outside_service_area": ("T1.i", "warning"),
                "location.crowded_address": ("T1.i", "warning"),
                "location.provider_many_locations": ("T1.i", "warning")}
    assert {k: (cat[k].factor, cat[k].severity.value) for k in expected} == expected
    assert cat["location.crowded_address"].options == {"max_providers": 25, "roster_locations": 5,
                                                       "min_specialty_families": 5, "shared_phone_sites": 10,
                                                       "outlier_factor": 4.0}
    assert cat["location.provider_many_locations"].options == {"max_locations": 8}

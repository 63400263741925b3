"""Duplicate and conflicting listings: each check fires on its defect and stays silent on the
legitimate look-alikes (same common name elsewhere, one provider at two real locations, a group
practice sharing an address and phone)."""
import json

import pandas as pd
import pytest

from checks.duplicates import NICKNAMES, first_name_scores, street_key, _union_find
from directory_audit.findings import flatten
from directory_audit.registry import load_catalogue
from directory_audit.runner import AuditContext, run_checks
from tests.conftest import table_of


def npi(body: int) -> str:
    """A valid NPI (Luhn over 80840 + nine digits) from a nine-digit body."""
    digits = [int(d) for d in f"{body:09d}"]
    total = 24
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            d = d - 9 if d > 9 else d
        total += d
    return f"{body:09d}{(10 - total % 10) % 10}"


A, B, C = npi(123456789), npi(198765432), npi(155555555)
HOME = {"address_line1": "2801 N Gantenbein Ave", "zip": "97227", "phone": "(503) 413-2200"}
ELSEWHERE = {"address_line1": "1000 Main St", "city": "Medford", "zip": "97501", "phone": "(541) 555-0100"}


def run(table, check_id, settings, **options):
    from dataclasses import replace
    from types import MappingProxyType
    if options:
        settings = replace(settings, check_options=MappingProxyType({check_id: MappingProxyType(options)}))
    spec = load_catalogue()[check_id]
    result = run_checks(table, [spec], [], settings, AuditContext(settings=settings))
    assert [r.status for r in result.check_runs] == ["ok"], result.check_runs
    return result.findings


def rids(*rows: int) -> list[str]:
    return [f"t.csv:{r}" for r in rows]


CASES = [
    # (id, check, rows, record ids expected to fire)
    # Exact copies: every copy fires; one differing character (here the phone formatting) is not exact.
    ("copies", "duplicate.exact_row", [{}, {}], rids(2, 3)),
    ("three copies", "duplicate.exact_row", [{}, {}, {"npi": B, "first_name": "Ann"}, {}], rids(2, 3, 5)),
    ("formatting differs", "duplicate.exact_row", [{}, {"phone": "503-413-2200"}], []),
    # Same NPI twice at one location: fires unless the rows are verbatim copies (exact_row's business).
    ("same npi same place", "duplicate.npi_same_location", [{}, {"accepting_status": "No"}], rids(2, 3)),
    ("suite spelled two ways", "duplicate.npi_same_location",
     [{"address_line1": "5709 Exchange Street Suite 200"}, {"address_line1": "5709 Exchange St Ste 200"}], rids(2, 3)),
    ("two real locations", "duplicate.npi_same_location", [{}, ELSEWHERE], []),
    ("verbatim copies only", "duplicate.npi_same_location", [{}, {}], []),
    ("different npis same place", "duplicate.npi_same_location", [{}, {"npi": B, "first_name": "Ann"}], []),
    # One NPI, two people.
    ("two names one npi", "duplicate.npi_name_conflict",
     [{}, {"first_name": "Teresa", "last_name": "Zhang", **ELSEWHERE}], rids(2, 3)),
    ("nickname is no conflict", "duplicate.npi_name_conflict", [{"first_name": "Robert"}, {"first_name": "Bob"}], []),
    ("middle initial is no conflict", "duplicate.npi_name_conflict", [{"middle_name": "J"}, {"middle_name": None}], []),
    ("case and punctuation", "duplicate.npi_name_conflict",
     [{"last_name": "O'Neil"}, {"last_name": "ONEIL", **ELSEWHERE}], []),
    ("typo is no conflict", "duplicate.npi_name_conflict", [{"last_name": "Johnson"}, {"last_name": "Jonhson"}], []),
    ("facility rows ignored", "duplicate.npi_name_conflict",
     [{}, {"provider_type": "Facility", "facility_name": "Doe Clinic", "first_name": None, "last_name": None}], []),
    # One NPI, two kinds of entity.
    ("individual and facility", "duplicate.npi_type_conflict",
     [{}, {"provider_type": "Facility", "facility_name": "Doe Family Medicine PC", "first_name": None,
           "last_name": None}], rids(2, 3)),
    ("facility at two sites", "duplicate.npi_type_conflict",
     [{"provider_type": "Facility", "facility_name": "Lane Health", "first_name": None, "last_name": None},
      {"provider_type": "Facility", "facility_name": "Lane Health", "first_name": None, "last_name": None,
       **ELSEWHERE}], []),
    # Probable duplicates without a shared NPI.
    ("nickname same address", "duplicate.probable",
     [{"first_name": "Robert", "middle_name": "J.", "last_name": "Smith", "address_line1": "100 Main Street"},
      {"npi": B, "first_name": "Bob", "last_name": "Smith", "address_line1": "100 Main St", "phone": None}], rids(2, 3)),
    ("transposed names", "duplicate.probable",
     [{"first_name": "Grace", "last_name": "Howard"}, {"npi": B, "first_name": "Howard", "last_name": "Grace"}],
     rids(2, 3)),
    ("nickname and punctuation by phone in one ZIP", "duplicate.probable",
     [{"first_name": "Katherine", "last_name": "O'Neil"},
      {"npi": B, "first_name": "Kathy", "last_name": "ONeil", "address_line1": "2801 Gantenbein"}], rids(2, 3)),
    # issue 14: one provider at two sites on a shared line is not a duplicate listing
    ("same name at another site on a shared line", "duplicate.probable",
     [{"first_name": "Katherine", "last_name": "O'Neil"},
      {"npi": B, "first_name": "Kathy", "last_name": "ONeil", "address_line1": "9 Elm St", "zip": "97214"}], []),
    # a placeholder phone shared is no shared place: two listings of one name on two streets of one ZIP
    # meet only through the phone, which must be a real number
    *[(f"same name, two streets, placeholder phone {ph}", "duplicate.probable",
       [{"first_name": "Michael", "last_name": "Johnson", "phone": ph},
        {"npi": B, "first_name": "Mike", "last_name": "Johnson", "address_line1": "9 Elm St", "phone": ph}], [])
      for ph in ("000-000-0000", "(999) 999-9999", "123-456-7890", "503-555-0123")],
    ("same name, two streets, one real phone in one ZIP", "duplicate.probable",
     [{"first_name": "Michael", "last_name": "Johnson"},
      {"npi": B, "first_name": "Mike", "last_name": "Johnson", "address_line1": "9 Elm St"}], rids(2, 3)),
    ("one place, one listing with a placeholder phone", "duplicate.probable",
     [{"first_name": "Michael", "last_name": "Johnson"},
      {"npi": B, "first_name": "Mike", "last_name": "Johnson", "phone": "0000000000"}], rids(2, 3)),
    ("one clinician in two suites of a building", "duplicate.probable",
     [{"address_line2": "Floor 4"}, {"npi": B, "address_line2": "Suite 1159"}], []),
    # verbatim copies are exact_row's; the first copy still meets a real variant
    ("exact copies are not re-reported", "duplicate.probable", [{"npi": None}, {"npi": None}], []),
    ("a copy and a variant", "duplicate.probable",
     [{"npi": None}, {"npi": None}, {"npi": None, "first_name": "J."}], rids(2, 4)),
    # a doctor and their own practice are two entities
    ("doctor and own practice", "duplicate.probable",
     [{"npi": None}, {"npi": None, "first_name": None, "last_name": None, "provider_type": None,
                      "name": "Jane Doe MD PC"}], []),
    # facilities and groups without an NPI on both
    ("facility name spelled two ways", "duplicate.probable",
     [{"npi": None, "provider_type": "Facility", "facility_name": "Summit Surgery Ctr", "first_name": None,
       "last_name": None},
      {"npi": None, "provider_type": "Facility", "facility_name": "SUMMIT SURGERY CENTER, Inc.", "first_name": None,
       "last_name": None, "address_line2": "Suite 100"}], rids(2, 3)),
    # a placeholder phone does not contradict a real one: still one facility at one place
    ("facility name spelled two ways, one placeholder phone", "duplicate.probable",
     [{"npi": None, "provider_type": "Facility", "facility_name": "Summit Surgery Ctr", "first_name": None,
       "last_name": None, "phone": "000-000-0000"},
      {"npi": None, "provider_type": "Facility", "facility_name": "SUMMIT SURGERY CENTER, Inc.", "first_name": None,
       "last_name": None}], rids(2, 3)),
    ("facility name spelled two ways, two real phones", "duplicate.probable",
     [{"npi": None, "provider_type": "Facility", "facility_name": "Summit Surgery Ctr", "first_name": None,
       "last_name": None, "phone": "503-413-2299"},
      {"npi": None, "provider_type": "Facility", "facility_name": "SUMMIT SURGERY CENTER, Inc.", "first_name": None,
       "last_name": None}], []),
    ("hospital and its radiology department", "duplicate.probable",
     [{"npi": None, "provider_type": "Facility", "facility_name": "Mercy Hospital", "first_name": None,
       "last_name": None},
      {"npi": None, "provider_type": "Facility", "facility_name": "Mercy Hospital Radiology", "first_name": None,
       "last_name": None}], []),
    ("one facility name at two buildings", "duplicate.probable",
     [{"npi": None, "provider_type": "Facility", "facility_name": "Lane Health", "first_name": None,
       "last_name": None},
      {"npi": None, "provider_type": "Facility", "facility_name": "Lane Health", "first_name": None,
       "last_name": None, **ELSEWHERE}], []),
    ("initial and missing npi", "duplicate.probable",
     [{"first_name": "Jonathan"}, {"npi": None, "first_name": "J."}], rids(2, 3)),
    ("typo in last name", "duplicate.probable", [{"last_name": "Nguyen"}, {"npi": B, "last_name": "Nguen"}], rids(2, 3)),
    ("case only", "duplicate.probable", [{}, {"npi": B, "first_name": "JANE", "last_name": "DOE"}], rids(2, 3)),
    ("suite in line 1 vs line 2", "duplicate.probable",
     [{"address_line1": "2801 North Gantenbein Avenue", "address_line2": "Suite 4"},
      {"npi": B, "address_line1": "2801 N Gantenbein Ave #4", "phone": None}], rids(2, 3)),
    ("same common name elsewhere", "duplicate.probable",
     [{"first_name": "Michael", "last_name": "Johnson"},
      {"npi": B, "first_name": "Michael", "last_name": "Johnson", **ELSEWHERE}], []),
    ("one provider two locations", "duplicate.probable", [{}, ELSEWHERE], []),
    ("same npi at one address", "duplicate.probable", [{}, {"accepting_status": "No"}], []),
    ("group practice", "duplicate.probable",
     [{"first_name": f, "last_name": l, "npi": npi(300000000 + i)} for i, (f, l) in enumerate(
         [("Ann", "Lee"), ("David", "Kim"), ("David", "Lee"), ("Maria", "Garcia"), ("Mario", "Garcia"),
          ("John", "Smith"), ("Joan", "Smith"), ("Priya", "Patel"), ("Sanjay", "Patel")])], []),
    ("spouses differ by gender", "duplicate.probable",
     [{"first_name": "Daniel", "gender": "M"}, {"npi": B, "first_name": "Danielle", "gender": "F"}], []),
    ("different middle initials", "duplicate.probable",
     [{"middle_name": "A"}, {"npi": B, "middle_name": "R"}], []),
    ("junior and senior", "duplicate.probable",
     [{"suffix": "Jr., MD"}, {"npi": B, "suffix": "Sr., MD"}], []),
    ("two facilities with NPIs of their own", "duplicate.probable",
     [{"provider_type": "Facility", "facility_name": "Legacy Clinic", "first_name": None, "last_name": None},
      {"npi": B, "provider_type": "Facility", "facility_name": "Legacy Clinic", "first_name": None,
       "last_name": None}], []),
]


@pytest.mark.parametrize("name,check_id,rows,expected", CASES, ids=[c[0] for c in CASES])
def test_duplicate_checks(name, check_id, rows, expected, settings):
    findings = run(table_of(*rows), check_id, settings)
    assert sorted(findings["record_id"]) == sorted(expected)
    assert set(findings["check_id"]) <= {check_id}


def test_probable_cluster_detail_lists_members_and_pair_scores(settings):
    table = table_of({"first_name": "Robert"}, {"npi": B, "first_name": "Bob"}, {"npi": C, "first_name": "Rob"},
                     {"npi": npi(177777777), "first_name": "Susan", "last_name": "Wu"})
    findings = run(table, "duplicate.probable", settings)
    assert flatten(findings, ["check_id", "record_id", "field"]) == [
        ("duplicate.probable", r, "name") for r in rids(2, 3, 4)]
    details = [json.loads(d) for d in findings["detail"]]
    assert all(d == details[0] for d in details)          # one cluster, the same evidence on each member
    assert sorted(details[0]["members"]) == rids(2, 3, 4)
    assert len(details[0]["pairs"]) == 3
    pair = details[0]["pairs"][0]
    assert {"a", "b", "first_name", "last_name", "same_address", "same_phone", "score"} <= set(pair)
    assert pair["first_name"] == 0.95 and pair["last_name"] == 1.0
    assert "3 listings" in findings["message"].iloc[0]


def test_probable_thresholds_are_options(settings):
    rows = [{"last_name": "Smith"}, {"npi": B, "last_name": "Smyth"}]    # Jaro-Winkler 0.89
    assert len(run(table_of(*rows), "duplicate.probable", settings)) == 2
    assert run(table_of(*rows), "duplicate.probable", settings, min_last_score=0.95).empty


def test_exact_row_detail_names_the_copies(settings):
    findings = run(table_of({}, {}), "duplicate.exact_row", settings)
    assert json.loads(findings["detail"].iloc[0]) == {"members": rids(2, 3), "count": 2}
    assert findings["message"].iloc[0] == "listing repeated verbatim (2 identical rows)"


def test_name_conflict_message_names_both_people(settings):
    findings = run(table_of({}, {"first_name": "Teresa", "last_name": "Zhang"}), "duplicate.npi_name_conflict", settings)
    assert set(findings["observed"]) == {"Jane Doe, MD / Teresa Zhang, MD"}


@pytest.mark.parametrize("a,b,score", [
    ("ROBERT", "BOB", 0.95), ("KATHERINE", "KATHY", 0.95), ("R", "ROBERT", 0.9), ("JANE", "JANE", 1.0), ("", "JANE", 0.0),
])
def test_first_name_scores(a, b, score):
    assert first_name_scores(pd.Series([a]), pd.Series([b])).tolist() == [score]


def test_nicknames_join_groups_sharing_a_spelling():
    assert NICKNAMES["BOB"] == NICKNAMES["ROBERT"]
    assert NICKNAMES["KATHY"] == NICKNAMES["CATHERINE"]


@pytest.mark.parametrize("line", ["123 North Main Street, Suite 200", "123 N Main St #200", "123 N. MAIN ST STE 200",
                                  "123 n main st"])
def test_street_key_ignores_suite_and_spelling(line):
    assert street_key(pd.Series([line]), pd.Series(["97201"])).tolist() == ["123 N MAIN ST|97201"]


def test_union_find_components():
    import numpy as np
    labels = _union_find(np.array([0, 2, 3]), np.array([1, 3, 4]), 6)
    assert labels.tolist() == [0, 0, 2, 2, 2, 5]


def test_empty_table_gives_no_findings(settings):
    table = table_of({}).iloc[0:0]
    for check_id in ("duplicate.exact_row", "duplicate.npi_same_location", "duplicate.npi_name_conflict",
                     "duplicate.npi_type_conflict", "duplicate.probable"):
        assert run(table, check_id, settings).empty

"""Provider type from every signal (directory_audit/provider_types.py): the rule table case by case,
then through normalize, NPPES and the summary."""
from __future__ import annotations

import pandas as pd
import pytest

from directory_audit import provider_types as pt
from directory_audit.model import empty_raw_frame
from directory_audit.normalize import normalize

N = None

# (declared type, NPI entity type, first, last, one-cell name, suffix, facility column) -> (type, basis)
CASES = [
    # organisations the old rule took for people (a last name and no first name, or one name cell)
    (("Transportation", N, N, "CITY OF CHICAGO", N, N, N), ("facility", "organization_words")),
    ((N, N, N, N, "PINNACLE DERMATOLOGY", N, N), ("group", "organization_words")),
    ((N, N, N, "REGENTS OF THE UNIVERSITY OF MICHIGAN", N, N, N), ("facility", "organization_words")),
    ((N, N, N, N, "Summit Surgery Center, Inc.", N, N), ("facility", "legal_suffix")),
    ((N, N, N, "ADVOCATE HEALTH AND HOSPITALS CORP", N, N, N), ("facility", "legal_suffix")),
    ((N, N, N, N, "Smith Orthopedics, P.A.", N, N), ("group", "organization_words")),
    ((N, N, N, "JONES & ASSOC", N, N, N), ("group", "organization_words")),
    ((N, N, N, "ROSE FAMILY PLLC", N, N, N), ("group", "legal_suffix")),
    # a declared 'individual' whose name is an organisation's: the name wins, and says so
    (("Practitioner", N, N, "SMITH & ASSOC PC", N, N, N), ("group", "declared_contradicted")),
    # declared types stand
    (("GROUP", N, N, N, N, N, "Bright Smiles"), ("group", "declared")),
    (("FACILITY", N, N, N, N, N, "Main Street Hospital"), ("facility", "declared")),
    (("INDIVIDUAL", N, "Mae", "White", N, N, N), ("individual", "declared")),
    # people
    ((N, N, "Jane", "Doe", N, "MD", "Acme Clinic"), ("individual", "credentials")),
    ((N, N, N, N, "Jane Doe, PA", N, N), ("individual", "credentials")),
    ((N, N, N, N, "Smith, John A, MD", N, N), ("individual", "credentials")),
    ((N, N, "John", "Smith", N, "Jr", N), ("individual", "person_name")),
    ((N, N, N, N, "Jane Doe", N, N), ("individual", "person_name")),
    ((N, N, N, "CARITAS", N, N, N), ("group", "name_without_first_name")),
    ((N, N, N, "GARCIA", N, "MD", N), ("individual", "credentials")),
    ((N, N, N, "DE LA CRUZ", N, N, N), ("individual", "surname_alone")),
    # NPI entity type, the facility column, a multi-word name without a first name
    ((N, "2", N, N, "ACME", N, N), ("group", "npi_entity_type")),
    ((N, "1", N, N, "ACME", N, N), ("individual", "npi_entity_type")),
    ((N, N, N, N, N, N, "Summit Surgery Ctr"), ("facility", "organization_words")),
    ((N, N, N, N, N, N, "Bright Smiles"), ("facility", "facility_column")),
    ((N, N, N, "BRIGHT SMILES", N, N, N), ("group", "name_without_first_name")),
    # nothing to go on
    ((N, N, N, N, "Madonna", N, N), ("unknown", "unknown")),
    # organisation names with no organisation word (real NPPES and Medicaid-scrape names): a state name
    # after the first word, or a residence/programme word in three words or more, and no given name
    ((N, N, N, N, "DISCOVERY HOUSE UTAH", N, N), ("facility", "organization_words")),
    ((N, N, N, N, "LIGHTHOUSE RECOVERY OF NEW MEXICO", N, N), ("group", "organization_words")),
    ((N, N, N, N, "SOBER LIVING HOUSE", N, N), ("facility", "organization_words")),
    ((N, N, N, N, "NEW HORIZONS PROGRAM", N, N), ("group", "organization_words")),
    ((N, N, N, "DISCOVERY HOUSE OHIO", N, N, N), ("facility", "organization_words")),
    # words no person's name holds (OF, THE, FOR, AT, AND, DBA), and more organisation words, from the
    # CountyCare organisations a one-cell-name directory would have listed as people
    ((N, N, N, N, "VOLUNTEERS OF AMERICA OF IL", N, N), ("group", "organization_words")),
    ((N, N, N, N, "THE THRESHOLDS", N, N), ("group", "organization_words")),
    ((N, N, N, N, "ACCESS AT SINAI", N, N), ("group", "organization_words")),
    ((N, N, N, N, "SCHECK AND SIRESS PROSTHETICS", N, N), ("group", "organization_words")),
    ((N, N, N, N, "SAPPHIRE DISTRIBUTION LLC DBA SAPPHIRE PATIENT CAR", N, N), ("group", "organization_words")),
    ((N, N, N, N, "ENVISION UNLIMITED", N, N), ("group", "organization_words")),
    ((N, N, N, N, "MOTHERS MILK BANK OF THE WESTERN GREAT LAKES", N, N), ("facility", "organization_words")),
    ((N, N, N, N, "JOHN H SENGSTACKE PRO BLD", N, N), ("facility", "organization_words")),
    ((N, N, N, N, "STARNEST LIVING", N, N), ("facility", "organization_words")),
    ((N, N, N, N, "CHICAGO RIDGE SNF", N, N), ("facility", "organization_words")),
    ((N, N, N, N, "CENTRO MEDICO", N, N), ("facility", "organization_words")),
    ((N, N, N, N, "SERVICIOS MEDICOS LA VILLITA", N, N), ("group", "organization_words")),
    ((N, N, N, N, "HELP AT HOME", N, N), ("facility", "organization_words")),      # a residence word: a place
    ((N, N, N, N, "MEADOWBROOK MANOR OF LAGRANGE", N, N), ("facility", "organization_words")),
    # ...while people keep their names: a state's name that is a given name, surname first
    ((N, N, N, N, "BARROW, VIRGINIA", N, N), ("individual", "person_name")),
    ((N, N, N, N, "DISCOVERY HOUSE GEORGIA", N, N), ("individual", "person_name")),   # Georgia: a given name
    ((N, N, N, N, "EVAN HACK, DOCTOR OF MEDICINE", N, N), ("individual", "credentials")),
    ((N, N, N, N, "Ann Lee, Doctor of Chiropractic", N, N), ("individual", "credentials")),
    ((N, N, N, N, "ANN LEE DOCTOR OF PHYSICAL THERAPY", N, N), ("individual", "credentials")),
    ((N, N, N, N, "Ann Lee, Nurse Practitioner", N, N), ("individual", "credentials")),
    ((N, N, N, N, "BRIDGEWAY NEW JERSEY", N, N), ("group", "organization_words")),
    # ...and people whose surname is such a word, or whose first name is a state's, stay people
    ((N, N, N, N, "HOUSE, GREGORY MD", N, N), ("individual", "credentials")),
    ((N, N, N, N, "GREGORY HOUSE", N, N), ("individual", "person_name")),
    ((N, N, N, N, "Hope House", N, N), ("individual", "person_name")),        # Hope is a given name
    ((N, N, N, N, "AMARA HOUSE", N, N), ("individual", "person_name")),       # two words: a surname
    ((N, N, N, N, "NGOZI ADA HOUSE", N, N), ("individual", "person_name")),   # Ada is a given name
    ((N, N, N, N, "GEORGIA SMITH", N, N), ("individual", "person_name")),
    ((N, N, N, N, "TENNESSEE WILLIAMS", N, N), ("individual", "person_name")),  # a state first: a given name
    ((N, N, N, N, "DENZEL WASHINGTON", N, N), ("individual", "person_name")),   # a surname's state
    ((N, N, "Gregory", "House", N, N, "Princeton Plainsboro Teaching Hospital"), ("individual", "person_name")),
    ((N, N, N, "HOSPITAL", N, "MD", N), ("individual", "credentials")),      # one word: a surname with a degree
    # an organisation's name in the last-name cell with a stray degree (CountyCare: 'METHODIST HOSPITAL OF
    # CHICAGO' with degree MD, 'NEW LIFE KNEW SOLUTIONS' with LCSW)
    ((N, N, N, "METHODIST HOSPITAL OF CHICAGO", N, "MD", "METHODIST HOSPITAL OF CHICAGO"),
     ("facility", "named_as_site")),
    ((N, N, N, "NEW LIFE KNEW SOLUTIONS", N, "LCSW", "NEW LIKEKNEW SOLUTIONS"), ("group", "organization_words")),
    ((N, N, N, "PRESENCE RESURRECTION MEDICAL CENTER", N, "MA", N), ("facility", "organization_words")),
    # the listing's name is its site's name: the site ('SAN RAFAEL' at location 'SAN RAFAEL')
    ((N, N, N, "SAN RAFAEL", N, N, "SAN RAFAEL"), ("group", "named_as_site")),
    ((N, N, N, "SAN RAFAEL", N, N, "ST JOSEPH HOSPITAL"), ("individual", "surname_alone")),
    ((N, N, N, N, "Jane Doe, MD", N, "Jane Doe MD"), ("individual", "credentials")),
    # a one-cell name's shape gives way to a declared NPI entity type 2
    ((N, "2", N, N, "DISCOVERY HOUSE", N, N), ("group", "npi_entity_type")),
    ((N, "1", N, N, "DISCOVERY HOUSE", N, N), ("individual", "person_name")),
    ((N, "2", "Ann", "Lee", N, N, N), ("individual", "person_name")),     # name parts outrank it
]


@pytest.mark.parametrize("signals, expected", CASES, ids=[str(c[0]) for c in CASES])
def test_each_rule_decides_the_type(signals, expected):
    df = pd.DataFrame([signals], columns=["d", "e", "f", "l", "full", "s", "fac"], dtype="object")
    got = pt.classify(df.d, df.e, df.f, df.l, df.full, df.s, df.fac)
    assert (got.loc[0, "provider_type"], got.loc[0, "provider_type_basis"]) == expected


def test_rules_are_decided_per_distinct_value_and_every_row_gets_one():
    df = pd.DataFrame([s for s, _ in CASES] * 3, columns=["d", "e", "f", "l", "full", "s", "fac"], dtype="object")
    got = pt.classify(df.d, df.e, df.f, df.l, df.full, df.s, df.fac)
    assert list(got["provider_type"]) == [e[0] for _, e in CASES] * 3


def test_every_basis_is_a_documented_rule():
    df = pd.DataFrame([s for s, _ in CASES], columns=["d", "e", "f", "l", "full", "s", "fac"], dtype="object")
    got = pt.classify(df.d, df.e, df.f, df.l, df.full, df.s, df.fac)
    assert set(got["provider_type_basis"]) <= {r[0] for r in pt.RULES}


def _raw(rows: list[dict]) -> pd.DataFrame:
    raw = empty_raw_frame().reindex(range(len(rows)))
    for i, r in enumerate(rows):
        for k, v in r.items():
            raw.loc[i, k] = v
    raw["record_id"] = [f"t.csv:{i + 2}" for i in range(len(rows))]
    raw["source_format"] = "csv"
    return raw


def test_normalize_does_not_split_an_organisation_name_into_first_and_last():
    table = normalize(_raw([{"name": "PINNACLE DERMATOLOGY", "address_line1": "1 Main St"},
                            {"name": "Jane Q. Doe, MD", "address_line1": "1 Main St"},
                            {"last_name": "CITY OF CHICAGO", "provider_type": "Transportation"}]))
    assert list(table["provider_type"]) == ["group", "individual", "facility"]
    assert table.loc[0, "first_name"] is None and table.loc[0, "last_name"] is None
    assert table.loc[0, "facility_name"] == "PINNACLE DERMATOLOGY"
    assert (table.loc[1, "first_name"], table.loc[1, "last_name"]) == ("Jane", "Doe")
    assert table.loc[2, "facility_name"] == "CITY OF CHICAGO"
    assert list(table["display_name"]) == ["PINNACLE DERMATOLOGY", "Jane Q. Doe, MD", "CITY OF CHICAGO"]


def test_nppes_entity_type_settles_only_what_the_directory_left_open():
    table = normalize(_raw([{"npi": "1234567893", "last_name": "BRIGHT SMILES"},        # weak: a name's shape
                            {"npi": "1234567893", "first_name": "Ann", "last_name": "Lee"},  # a person: stays
                            {"npi": "1245319599", "last_name": "KIM"}]))   # no first name: weak
    assert list(table["provider_type"]) == ["group", "individual", "group"]
    nppes = pd.DataFrame({"npi": ["1234567893", "1245319599"], "entity_type": ["2", "1"]})
    pt.refine_with_nppes(table, nppes)
    assert list(table["provider_type"]) == ["group", "individual", "individual"]
    assert list(table["provider_type_basis"]) == ["nppes_entity_type", "person_name", "nppes_entity_type"]


def test_providers_by_type_counts_distinct_providers():
    table = normalize(_raw([{"npi": "1234567893", "first_name": "Ann", "last_name": "Lee"},
                            {"npi": "1234567893", "first_name": "Ann", "last_name": "Lee"},
                            {"facility_name": "Main Street Hospital", "provider_type": "facility"},
                            {"name": "PINNACLE DERMATOLOGY"}, {"name": "Madonna"}]))
    assert pt.providers_by_type(table) == {"individual": 1, "group": 1, "facility": 1, "unknown": 1}


def test_organization_key_unifies_suffixes_and_abbreviations():
    keys = pt.organization_key(pd.Series(["Summit Surgery Ctr", "SUMMIT SURGERY CENTER, Inc.", None,
                                          "The Regents of the Univ. of Michigan", "St. Mary's Hosp, LLC"]))
    assert list(keys) == ["SUMMIT SURGERY CENTER", "SUMMIT SURGERY CENTER", None, "REGENTS UNIVERSITY MICHIGAN",
                          "SAINT MARYS HOSPITAL"]


def test_hospital_based_specialties_by_code_and_by_name():
    table = normalize(_raw([{"first_name": "A", "last_name": "B", "specialties": "2085R0202X"},
                            {"first_name": "C", "last_name": "D", "specialties": "Emergency Medicine"},
                            {"first_name": "E", "last_name": "F", "specialties": "Hospitalist"},
                            {"first_name": "G", "last_name": "H", "specialties": "Family Medicine"},
                            {"first_name": "I", "last_name": "J"}]))
    assert list(pt.hospital_based(table)) == [True, True, True, False, False]


def test_summary_and_report_cover_show_providers_by_type(tmp_path):
    from directory_audit import audit, load_settings
    from reports.model import build
    csv = tmp_path / "d.csv"
    pd.DataFrame({"Provider Name": ["PINNACLE DERMATOLOGY", "Jane Doe, MD"], "Address": ["1 Main St", "1 Main St"],
                  "City": ["Portland", "Portland"], "State": ["OR", "OR"], "Zip": ["97201", "97201"]}).to_csv(csv, index=False)
    result = audit(str(csv), load_settings(as_of="2026-11-01"))
    assert result.summary["providers_by_type"] == {"individual": 1, "group": 1, "facility": 0, "unknown": 0}
    assert build(result.findings, result.summary)["cover"]["providers_by_type"] == result.summary["providers_by_type"]
    from reports import render
    assert "1 individuals, 1 groups, 0 facilities" in render(result.findings, result.summary, format="md")

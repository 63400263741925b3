"""NPPES and LEIE cross-checks: the reference loaders read the real file layouts in chunks, keep only
the directory's NPIs, and each check fires on its defect and stays silent on legitimate variants."""
import csv
from pathlib import Path

import pandas as pd
import pytest

from directory_audit.loaders.reference import load_leie, load_nppes
from directory_audit.registry import load_catalogue
from directory_audit.runner import AuditContext, run_checks
from tests.conftest import REFERENCE, table_of
from tests.test_checks_duplicates import npi

A, B = "1234567893", npi(198765432)
NPPES_HEADER = ["NPI", "Entity Type Code", "Provider Last Name (Legal Name)", "Provider First Name",
                "Provider Organization Name (Legal Business Name)",
                "Provider Business Practice Location Address State Name", "NPI Deactivation Date",
                "NPI Reactivation Date", "Healthcare Provider Taxonomy Code_1",
                "Healthcare Provider Primary Taxonomy Switch_1", "Healthcare Provider Taxonomy Code_2",
                "Healthcare Provider Primary Taxonomy Switch_2", "Unused Column"]
LEIE_HEADER = ["LASTNAME", "FIRSTNAME", "MIDNAME", "BUSNAME", "GENERAL", "SPECIALTY", "UPIN", "NPI", "DOB",
               "ADDRESS", "CITY", "STATE", "ZIP", "EXCLTYPE", "EXCLDATE", "REINDATE", "WAIVERDATE", "WVRSTATE"]


def nppes_row(npi_=A, entity="1", last="DOE", first="JANE", org="", state="OR", deact="", react="",
              tax1="207Q00000X", tax2="") -> list[str]:
    return [npi_, entity, last, first, org, state, deact, react, tax1, "Y", tax2, "N" if tax2 else "", "x"]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        w.writerow(header)
        w.writerows(rows)
    return path


def leie_row(last="DOE", first="JANE", npi_="0000000000", state="OR", excl="20250101", rein="00000000"):
    return [last, first, "", "", "IND- LIC HC SERV PRO", "PHYSICIAN (MD)", "", npi_, "19700101", "1 MAIN ST",
            "PORTLAND", state, "97201", "1128a1", excl, rein, "00000000", ""]


def run(table, check_id, settings, reference):
    spec = load_catalogue()[check_id]
    result = run_checks(table, [spec], [], settings, AuditContext(settings=settings, reference=reference))
    assert [r.status for r in result.check_runs] == ["ok"], result.check_runs
    return result.findings


FACILITY = {"provider_type": "Facility", "facility_name": "Quist Family Medicine PC", "first_name": None,
            "last_name": None, "suffix": None}

NPPES_CASES = [
    # (id, check, directory row overrides, NPPES row kwargs, fires?)
    ("deactivated", "identifier.nppes_deactivated", {}, {"deact": "02/14/2026"}, True),
    ("deactivated then reactivated", "identifier.nppes_deactivated", {}, {"deact": "02/14/2025", "react": "03/01/2025"}, False),
    ("deactivated after the audit date", "identifier.nppes_deactivated", {}, {"deact": "12/01/2026"}, False),
    ("active", "identifier.nppes_deactivated", {}, {}, False),
    ("other last name", "identifier.nppes_name_mismatch", {}, {"last": "BRENNAN"}, True),
    ("same name upper case", "identifier.nppes_name_mismatch", {}, {}, False),
    ("nickname first name", "identifier.nppes_name_mismatch", {"first_name": "Janie"}, {}, False),
    ("punctuation", "identifier.nppes_name_mismatch", {"last_name": "O'Neil"}, {"last": "ONEIL"}, False),
    ("compound last name", "identifier.nppes_name_mismatch", {"last_name": "Garcia"}, {"last": "GARCIA LOPEZ"}, False),
    ("individual on an organization's npi", "identifier.nppes_name_mismatch", {},
     {"entity": "2", "last": "", "first": "", "org": "MCKENZIE RIVER COUNSELING LLC"}, True),
    ("facility on a person's npi", "identifier.nppes_name_mismatch", FACILITY, {"last": "QUIST", "first": "HELEN"}, True),
    ("facility name matches without PC", "identifier.nppes_name_mismatch", FACILITY,
     {"entity": "2", "last": "", "first": "", "org": "QUIST FAMILY MEDICINE, P.C."}, False),
    ("facility under another organization", "identifier.nppes_name_mismatch", FACILITY,
     {"entity": "2", "last": "", "first": "", "org": "CASCADE ORTHOPEDIC SURGERY LLC"}, True),
    ("practice state elsewhere", "identifier.nppes_state_mismatch", {}, {"state": "TX"}, True),
    ("practice state listed", "identifier.nppes_state_mismatch", {}, {"state": "OR"}, False),
    ("border state listed", "identifier.nppes_state_mismatch", {"state": "WA", "city": "Vancouver", "zip": "98660"},
     {"state": "WA"}, False),
    ("taxonomy of another classification", "identifier.nppes_taxonomy_mismatch", {"specialties": "207RC0000X"},
     {"tax1": "1223G0001X"}, True),
    ("subspecialty of the registered classification", "identifier.nppes_taxonomy_mismatch",
     {"specialties": "207RC0000X"}, {"tax1": "207R00000X"}, False),
    ("second taxonomy matches", "identifier.nppes_taxonomy_mismatch", {"specialties": "207RC0000X"},
     {"tax1": "1223G0001X", "tax2": "207RC0000X"}, False),
    ("no listed code", "identifier.nppes_taxonomy_mismatch", {"specialties": None}, {"tax1": "1223G0001X"}, False),
    ("someone else's npi is a name, not a taxonomy, finding", "identifier.nppes_taxonomy_mismatch",
     {"specialties": "207RC0000X"}, {"tax1": "1223G0001X", "last": "BRENNAN"}, False),
    ("not found", "identifier.nppes_not_found", {"npi": B}, {}, True),
    ("found", "identifier.nppes_not_found", {}, {}, False),
    ("bad check digit is not judged", "identifier.nppes_not_found", {"npi": "1234567892"}, {}, False),
]


@pytest.mark.parametrize("name,check_id,row,nppes_kw,fires", NPPES_CASES, ids=[c[0] for c in NPPES_CASES])
def test_nppes_checks(name, check_id, row, nppes_kw, fires, settings, tmp_path):
    table = table_of(row)
    path = write_csv(tmp_path / "nppes.csv", NPPES_HEADER, [nppes_row(**nppes_kw), nppes_row(npi_=npi(111111111))])
    reference = {"nppes": load_nppes(path, table["npi"])}
    findings = run(table, check_id, settings, reference)
    assert findings["record_id"].tolist() == (["t.csv:2"] if fires else [])


def test_state_mismatch_reports_every_row_of_the_npi(settings, tmp_path):
    table = table_of({}, {"address_line1": "1 Elm St", "city": "Bend", "zip": "97701"})
    path = write_csv(tmp_path / "nppes.csv", NPPES_HEADER, [nppes_row(state="FL")])
    findings = run(table, "identifier.nppes_state_mismatch", settings, {"nppes": load_nppes(path)})
    assert findings["record_id"].tolist() == ["t.csv:2", "t.csv:3"]
    assert findings["message"].iloc[0] == f"NPPES practice state FL for NPI {A}; the directory lists it only in OR"


def test_not_found_message_says_when_the_file_is_a_subset(settings, tmp_path):
    path = write_csv(tmp_path / "nppes.csv", NPPES_HEADER, [nppes_row()])
    findings = run(table_of({"npi": B}), "identifier.nppes_not_found", settings, {"nppes": load_nppes(path)})
    assert "a subset of 1 rows" in findings["message"].iloc[0]


LEIE_CASES = [
    ("by npi", {}, leie_row(npi_=A, last="SOMEONE", first="ELSE"), True),
    ("by name and state", {}, leie_row(), True),
    ("name in another state", {}, leie_row(state="MS"), False),
    ("name differs", {}, leie_row(first="JOAN"), False),
    ("reinstated", {}, leie_row(rein="20260101"), False),
    ("excluded after the audit date", {}, leie_row(excl="20261201"), False),
    ("name match skips facilities", {"provider_type": "Facility", "facility_name": "Doe Clinic"}, leie_row(), False),
    ("other npi, same name, known npi", {}, leie_row(npi_=B), False),
]


@pytest.mark.parametrize("name,row,leie,fires", LEIE_CASES, ids=[c[0] for c in LEIE_CASES])
def test_leie_excluded(name, row, leie, fires, settings, tmp_path):
    table = table_of(row)
    path = write_csv(tmp_path / "leie.csv", LEIE_HEADER, [leie, leie_row(last="ZED", first="ZOE")])
    findings = run(table, "identifier.leie_excluded", settings, {"leie": load_leie(path, table["npi"])})
    assert findings["record_id"].tolist() == (["t.csv:2"] if fires else [])
    if fires:
        assert findings["severity"].tolist() == ["error"]


def test_nppes_loader_reads_in_chunks_only_the_directory_npis(tmp_path):
    rows = [nppes_row(npi_=npi(100000000 + i), last=f"L{i}") for i in range(50)]
    path = write_csv(tmp_path / "nppes.csv", NPPES_HEADER, rows)
    wanted = [npi(100000003), npi(100000042), "9999999999"]
    frame = load_nppes(path, pd.Series(wanted + [None]), chunksize=7)
    assert sorted(frame["npi"]) == sorted(wanted[:2])
    assert frame.attrs["rows_in_file"] == 50 and frame.attrs["subset"]
    assert frame.loc[frame["npi"] == npi(100000003), "taxonomy_codes"].item() == "207Q00000X"


def test_nppes_loader_reads_the_real_layout():
    """All 329 columns of a real NPPES extract: only the needed ones are kept."""
    path = REFERENCE / "nppes" / "nppes-practitioner-sample-ct-2018.csv"
    if not path.exists():
        pytest.skip("shared reference folder not present")
    frame = load_nppes(path)
    assert len(frame) == 2000
    assert list(frame.columns) == ["npi", "entity_type", "last_name", "first_name", "org_name", "state",
                                   "deactivation_date", "reactivation_date", "taxonomy_codes", "primary_taxonomy"]
    assert (frame["entity_type"] == "1").all() and frame["state"].str.fullmatch(r"[A-Z]{2}").mean() > 0.9
    assert frame["taxonomy_codes"].str.len().gt(0).mean() > 0.99


def test_loaders_name_missing_columns(tmp_path):
    from directory_audit.errors import ColumnMappingError
    path = write_csv(tmp_path / "x.csv", ["A", "B"], [["1", "2"]])
    with pytest.raises(ColumnMappingError, match="NPPES"):
        load_nppes(path)
    with pytest.raises(ColumnMappingError, match="LEIE"):
        load_leie(path)


def test_cli_audit_with_reference_files(tmp_path):
    from click.testing import CliRunner

    from directory_audit.cli import main
    from tests.conftest import FIXTURES
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["audit", str(FIXTURES / "oregon" / "directory.csv"), "--out", str(out),
                                    "--as-of", "2026-11-01", "--fail-on", "never", "--quiet",
                                    "--nppes", str(FIXTURES / "oregon" / "nppes_subset.csv"),
                                    "--leie", str(FIXTURES / "oregon" / "leie.csv"), "--check", "identifier"])
    assert res.exit_code == 0, res.output
    findings = pd.read_csv(out / "findings.csv", dtype=str)
    assert {"identifier.nppes_deactivated", "identifier.leie_excluded"} <= set(findings["check_id"])

"""Consistency checks for the Oregon directory fixtures (fixtures/make_fixtures.py)."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "fixtures" / "oregon"
SCRIPT = ROOT / "fixtures" / "make_fixtures.py"

def _planted_ids() -> set[str]:
    """The check ids the generator plants (its own list), so the test does not keep a copy."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_fixtures", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return set(module.CHECK_IDS)


CHECK_IDS = _planted_ids()
CSV_HEADERS = ("Provider NPI,NPI Entity Type,Provider Type,Provider First Name,Provider Middle Name,"
               "Provider Last Name,Credentials,Practice Name,Gender,Specialty,Taxonomy Code,"
               "Address Line 1,Address Line 2,City,State,Zip Code,County,Phone Number,"
               "Accepting New Patients,Languages Spoken,Last Verified Date,Plan ID,Network").split(",")
XLSX_HEADERS = ("NPI Number,Entity Type,Type,Provider Name,Group Name,Gender,Specialties,Taxonomy,"
                "Office Address,Suite,City,ST,ZIP,County,Telephone,New Patients?,Language(s),"
                "Date Last Updated,Plan,Network Name").split(",")
TEXT_FILES = ["directory.csv", "qhp/index.json", "qhp/providers.json", "qhp/plans.json",
              "nppes_subset.csv", "leie.csv", "planted_defects.csv", "DEFECTS.md"]


def luhn_ok(npi):
    if len(npi) != 10 or not npi.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed("80840" + npi[:9])):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            n = n - 9 if n > 9 else n
        total += n
    return (10 - total % 10) % 10 == int(npi[9])


def csv_rows():
    with open(FIX / "directory.csv", encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def planted():
    return pd.read_csv(FIX / "planted_defects.csv", dtype=str, keep_default_na=False)


def test_regeneration_is_byte_identical(tmp_path):
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], check=True, cwd=ROOT)
    for name in TEXT_FILES:
        assert (tmp_path / name).read_bytes() == (FIX / name).read_bytes(), name
    assert (tmp_path / "directory.xlsx").exists()


def test_headers():
    assert csv_rows()[0] == CSV_HEADERS
    wb = openpyxl.load_workbook(FIX / "directory.xlsx")
    assert wb.sheetnames == ["Providers"]
    assert [c.value for c in wb["Providers"][1]] == XLSX_HEADERS


def test_csv_and_xlsx_same_row_count():
    n_csv = len(csv_rows()) - 1
    ws = openpyxl.load_workbook(FIX / "directory.xlsx")["Providers"]
    assert ws.max_row - 1 == n_csv
    df = pd.read_excel(FIX / "directory.xlsx", sheet_name="Providers", dtype=str)
    assert len(df) == n_csv


def test_qhp_address_count_matches_csv():
    providers = json.loads((FIX / "qhp" / "providers.json").read_text(encoding="utf-8"))
    n_addr = sum(len(p["addresses"]) for p in providers
                 if isinstance(p, dict) and isinstance(p.get("addresses"), list))
    df = planted()
    malformed_qhp = df[(df.format == "qhp_json") & (df.check_id == "source.malformed_record")]
    # each malformed QHP entry stands for one CSV row that cannot be expressed as an address
    assert n_addr == len(csv_rows()) - 1 - len(malformed_qhp)
    index = json.loads((FIX / "qhp" / "index.json").read_text())
    assert index == {"provider_urls": ["providers.json"], "formulary_urls": [],
                     "plan_urls": ["plans.json"]}
    plan_ids = {p["plan_id"] for p in json.loads((FIX / "qhp" / "plans.json").read_text())}
    for p in providers:
        if isinstance(p, dict):
            assert {pl["plan_id"] for pl in p["plans"]} <= plan_ids


def test_clean_npis_pass_luhn():
    df = planted()
    bad_rows = {int(r.split(":")[1]) for r in df[(df.format == "csv") & df.check_id.isin(
        ["identifier.npi_malformed", "identifier.npi_check_digit", "identifier.npi_missing"])].record_id}
    rows = csv_rows()
    checked = 0
    for n, row in enumerate(rows[1:], start=2):
        if n in bad_rows:
            assert not luhn_ok(row[0])
            continue
        assert luhn_ok(row[0]), (n, row[0])
        checked += 1
    assert checked > 250


def test_planted_check_ids_and_record_ids():
    df = planted()
    assert list(df.columns) == ["format", "record_id", "check_id", "field", "note"]
    assert set(df.check_id) <= CHECK_IDS
    from directory_audit.registry import load_catalogue
    assert CHECK_IDS <= set(load_catalogue())      # every planted id is a real check
    assert set(df.format) == {"csv", "xlsx", "qhp_json"}
    n_rows = len(csv_rows()) - 1
    for fmt, rid in zip(df.format, df.record_id):
        if fmt == "csv":
            assert rid.startswith("directory.csv:") and 2 <= int(rid.split(":")[1]) <= n_rows + 1
        elif fmt == "xlsx":
            assert rid.startswith("directory.xlsx!Providers:")
        else:
            assert rid.startswith("providers.json[")
    # every check planted at least twice in the CSV
    counts = df[df.format == "csv"].check_id.value_counts()
    assert set(counts.index) == CHECK_IDS
    assert (counts >= 2).all()
    # XLSX lists exactly the CSV findings except the CSV-only malformed lines
    csv_set = {(r.split(":")[1], c) for r, c in zip(df[df.format == "csv"].record_id,
                                                      df[df.format == "csv"].check_id)
               if c != "source.malformed_record"}
    xl_set = {(r.split(":")[1], c) for r, c in zip(df[df.format == "xlsx"].record_id,
                                                     df[df.format == "xlsx"].check_id)}
    assert csv_set == xl_set


def test_at_least_200_distinct_providers():
    providers = json.loads((FIX / "qhp" / "providers.json").read_text(encoding="utf-8"))
    assert len(providers) >= 200
    rows = csv_rows()[1:]
    distinct = {(r[0], r[2], r[3], r[5], r[7] if r[2] == "Facility" else "") for r in rows}
    assert len(distinct) >= 200


def test_nppes_and_leie_layout():
    nppes = pd.read_csv(FIX / "nppes_subset.csv", dtype=str, keep_default_na=False)
    assert "Healthcare Provider Taxonomy Code_1" in nppes.columns
    assert nppes.NPI.map(luhn_ok).all()
    leie = pd.read_csv(FIX / "leie.csv", dtype=str, keep_default_na=False)
    assert list(leie.columns) == ["LASTNAME", "FIRSTNAME", "MIDNAME", "BUSNAME", "GENERAL",
                                  "SPECIALTY", "UPIN", "NPI", "DOB", "ADDRESS", "CITY", "STATE",
                                  "ZIP", "EXCLTYPE", "EXCLDATE", "REINDATE", "WAIVERDATE",
                                  "WVRSTATE"]
    assert (leie.NPI == "0000000000").sum() >= 20


def test_qhp_exact_duplicates_are_identical_objects():
    providers = json.loads((FIX / "qhp" / "providers.json").read_text(encoding="utf-8"))
    df = planted()
    ex = df[(df.format == "qhp_json") & (df.check_id == "duplicate.exact_row")]
    idx = [int(r.split("[")[1].split("]")[0]) for r in ex.record_id]
    assert len(idx) >= 4
    groups = {}
    for i in idx:
        groups.setdefault(json.dumps(providers[i], sort_keys=True), []).append(i)
    assert all(len(v) == 2 for v in groups.values())

"""NPI checks: format, Luhn check digit over 80840, declared entity type against provider type."""
import pandas as pd
import pytest

from checks.identifiers import npi_check_digit_ok
from directory_audit.findings import flatten
from directory_audit.registry import load_catalogue
from directory_audit.runner import AuditContext, run_checks
from tests.conftest import table_of


def run(table, check_id, settings):
    spec = load_catalogue()[check_id]
    return run_checks(table, [spec], [], settings, AuditContext(settings=settings)).findings


@pytest.mark.parametrize("npi,ok", [
    ("1234567893", True),      # the QHP example's NPI, valid per factors.md
    ("1234567892", False), ("1234567891", False),
    ("1003000126", True), ("1497758544", True),   # real NPPES NPIs
    ("123456789", False), ("abcdefghij", False), ("", False),
])
def test_luhn_check_digit(npi, ok):
    assert npi_check_digit_ok(pd.Series([npi])).tolist() == [ok]


def test_luhn_agrees_with_every_real_nppes_npi():
    from tests.conftest import REFERENCE
    nppes = pd.read_csv(REFERENCE / "nppes" / "nppes-practitioner-sample-ct-2018.csv", usecols=["NPI"], dtype=str)
    assert npi_check_digit_ok(nppes["NPI"]).all()


CASES = [
    # (check id, row overrides, fires?)
    ("identifier.npi_malformed", {"npi": "123456789"}, True),
    ("identifier.npi_malformed", {"npi": "12345A7893"}, True),
    ("identifier.npi_malformed", {"npi": "1234567893"}, False),
    ("identifier.npi_malformed", {"npi": "123-456-7893"}, False),   # dashes are formatting, not an error
    ("identifier.npi_malformed", {"npi": None}, False),             # missing is npi_missing's business
    ("identifier.npi_check_digit", {"npi": "1234567892"}, True),
    ("identifier.npi_check_digit", {"npi": "1234567893"}, False),
    ("identifier.npi_check_digit", {"npi": "12345"}, False),        # malformed, not a check-digit error
    ("identifier.npi_missing", {"npi": None}, True),
    ("identifier.npi_missing", {"npi": None, "provider_type": "Facility", "facility_name": "Legacy Emanuel",
                                "first_name": None, "last_name": None, "suffix": None}, False),
    ("identifier.npi_type_mismatch", {"npi_entity_type": "2"}, True),
    ("identifier.npi_type_mismatch", {"npi_entity_type": "1"}, False),
    ("identifier.npi_type_mismatch", {"npi_entity_type": "1", "provider_type": "Facility",
                                      "facility_name": "OHSU Hospital"}, True),
    ("identifier.npi_type_mismatch", {"npi_entity_type": None}, False),
    ("record.name_missing", {"first_name": None, "last_name": None, "suffix": None}, True),
    ("record.name_missing", {}, False),
    ("record.specialty_missing", {"specialties": None}, True),
    ("record.specialty_missing", {"specialties": "Family Medicine"}, False),
]


@pytest.mark.parametrize("check_id,row,fires", CASES)
def test_record_and_identifier_checks(check_id, row, fires, settings):
    found = run(table_of(row), check_id, settings)
    assert flatten(found, ["check_id", "record_id"]) == ([(check_id, "t.csv:2")] if fires else [])


def test_finding_quotes_the_raw_npi(settings):
    found = run(table_of({"npi": " 12345A7893 "}), "identifier.npi_malformed", settings)
    assert found.loc[0, "observed"] == "12345A7893"
    assert "12345A7893" in found.loc[0, "message"]
    assert found.loc[0, "severity"] == "error" and found.loc[0, "factor_item"] == "T2.i"

"""The fix list: one row per provider with findings, one action by the documented precedence, a
priority by enrollee impact, a deterministic order; written on every audit and shown in the reports."""
import pandas as pd
import pytest

from directory_audit import audit, load_settings
from directory_audit.fixlist import ACTIONS, FIXLIST_COLUMNS, action_for, build_fixlist
from directory_audit.outputs import write_outputs
from tests.test_checks_locations import table

HEADER = ("NPI,First Name,Last Name,Specialty,Address,City,State,Zip,Phone,Accepting New Patients,Languages,"
          "Last Updated\n")


def finding(check_id: str, record_id: str, severity: str = "warning") -> dict:
    return {"check_id": check_id, "severity": severity, "factor_item": "T1.i", "record_id": record_id}


@pytest.mark.parametrize("check_id,severity,action", [
    ("identifier.leie_excluded", "error", "suppress listing"), ("location.po_box", "error", "suppress listing"),
    ("ghost.shared_phone", "warning", "investigate possible ghost"),
    ("location.provider_many_locations", "warning", "investigate possible ghost"),
    ("placeholder.value", "error", "verify by call"), ("update.stale", "warning", "verify by call"),
    ("location.zip_city_mismatch", "warning", "correct data"), ("language.not_a_language", "error", "correct data"),
    ("language.ambiguous", "info", "none"),
])
def test_each_finding_calls_for_one_action(check_id, severity, action):
    assert action_for(check_id, severity) == action


def test_one_row_per_provider_with_the_strongest_action_and_its_findings():
    t = table({}, {"zip": "97205", "address_line1": "10 Elm St"},
              {"npi": "1245319599", "first_name": "Bo", "last_name": "Ray", "accepting_status": "No"})
    f = pd.DataFrame([finding("location.zip_city_mismatch", "t.csv:2"), finding("update.stale", "t.csv:3"),
                      finding("update.stale", "t.csv:2"), finding("language.ambiguous", "t.csv:4", "info"),
                      finding("language.none_published", "t.csv", "error")])     # the directory: not a provider
    fl = build_fixlist(f, t)
    assert list(fl.columns) == list(FIXLIST_COLUMNS)
    assert fl["npi"].tolist() == ["1234567893", "1245319599"]
    first = fl.iloc[0]
    assert first["action"] == "verify by call" and first["locations_concerned"] == 2
    assert first["findings"] == "location.zip_city_mismatch (1); update.stale (2)"
    assert first["record_ids"] == "t.csv:2 | t.csv:3" and first["accepting"] == "yes"
    second = fl.iloc[1]
    assert second["action"] == "none" and second["priority"] == 3 and second["accepting"] == "no"


def test_accepting_providers_in_thin_specialties_come_first():
    # twelve accepting family physicians (not thin), one accepting psychiatrist (thin), one not accepting
    rows = [{"npi": None, "first_name": f"F{i}", "address_line1": f"{i} Oak St"} for i in range(12)]
    rows += [{"npi": None, "first_name": "Psy", "specialties": "Psychiatry", "address_line1": "9 Oak St"},
             {"npi": None, "first_name": "Closed", "accepting_status": "No", "address_line1": "8 Oak St"}]
    t = table(*rows)
    f = pd.DataFrame([finding("location.zip_city_mismatch", r) for r in t["record_id"]])
    fl = build_fixlist(f, t)
    assert fl.loc[0, "name"].startswith("Psy") and fl.loc[0, "priority"] == 1
    assert fl.loc[0, "priority_reason"] == "accepting new patients in a thin specialty"
    assert (fl["priority"].iloc[1:-1] == 2).all()     # 13 accepting in the county: not thin
    assert set(fl["priority_reason"].iloc[1:-1]) == {"accepting new patients"}
    assert fl.iloc[-1]["name"].startswith("Closed") and fl.iloc[-1]["priority"] == 3
    again = build_fixlist(f.sample(frac=1, random_state=1), t)
    pd.testing.assert_frame_equal(fl, again)          # deterministic, whatever the findings' order


def test_no_findings_no_rows():
    assert build_fixlist(pd.DataFrame(columns=["check_id", "severity", "record_id"]), table({})).empty


def test_every_audit_writes_fixlist_csv_and_the_reports_show_it(tmp_path):
    src = tmp_path / "d.csv"
    src.write_text(HEADER + "1234567893,Ann,Lee,Family Medicine,1 SW Main St,Portland,OR,97204,000-000-0000,Yes,"
                   "Spanish,2026-10-01\n" + "1245319599,Bo,Ray,Family Medicine,2 SW Main St,Portland,OR,97204,"
                   "503-494-8311,Yes,Spanish,2026-10-01\n", encoding="utf-8")
    settings = load_settings(as_of="2026-11-01")
    result = audit(str(src), settings)
    write_outputs(result, tmp_path / "out", settings)
    fl = pd.read_csv(tmp_path / "out" / "fixlist.csv", dtype=str)
    assert fl["npi"].tolist() == ["1234567893"]
    assert fl.loc[0, "action"] == "verify by call" and "placeholder.value (1)" in fl.loc[0, "findings"]
    assert result.summary["fixlist"]["providers"] == 1
    assert set(result.summary["fixlist"]["by_action"]) == set(ACTIONS)
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert 'id="fixlist"' in html and "1234567893" in html.split('id="fixlist"')[1]
    assert "## Fix list" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    import json
    assert json.loads((tmp_path / "out" / "report.json").read_text())["fix_list"]["total"] == 1

"""Properties of the whole check suite over arbitrary directory rows: no check crashes, the findings
always have the finding columns, and one injected bad value gives exactly one finding."""
import pytest
from hypothesis import HealthCheck, given, settings as hyp, strategies as st

from directory_audit import load_settings
from directory_audit.findings import FINDING_COLUMNS
from directory_audit.model import RAW_FIELDS
from directory_audit.normalize import normalize
from directory_audit.registry import METRICS, load_catalogue
from directory_audit.runner import AuditContext, run_checks
from tests.conftest import CLEAN, raw_frame

SETTINGS = load_settings(as_of="2026-11-01")
SPECS = [s for s in load_catalogue().values() if not s.requires]

values = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=15),
    st.sampled_from(["Yes", "No", "Maybe", "Spanish; ASL", "Chinese", "Elvish", "10/15/2026", "2031-01-01",
                     "13/45/2026", "97239-3098", "9723", "83661", "(503) 413-2200", "212-555-1212",
                     "Smith, Jane A, MD", "1234567893", "1234567892", "PO Box 12", "Individual", "Facility",
                     "OR", "WA", "Portland", "Boise", "accepting in some locations", "207Q00000X"]),
)


@hyp(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({f: values for f in RAW_FIELDS}), min_size=1, max_size=8))
def test_no_check_crashes_on_arbitrary_rows(rows):
    table = normalize(raw_frame(rows))
    res = run_checks(table, SPECS, list(METRICS.values()), SETTINGS, AuditContext(settings=SETTINGS))
    errors = {r.check_id: r.error for r in res.check_runs if r.status != "ok"}
    assert not errors
    assert not res.metric_errors
    assert list(res.findings.columns) == list(FINDING_COLUMNS)
    # a finding names a row, or (a source-level gap such as language.none_published) the source file
    assert set(res.findings["record_id"]) <= set(table["record_id"]) | set(table["source_file"])


def _findings(rows):
    table = normalize(raw_frame(rows))
    res = run_checks(table, SPECS, [], SETTINGS, AuditContext(settings=SETTINGS))
    return res.findings


def test_a_clean_record_has_no_findings():
    assert _findings([CLEAN]).empty


@pytest.mark.parametrize("field,bad,check_id", [
    ("npi", "1234567892", "identifier.npi_check_digit"),
    ("zip", "97Z39", "location.zip_malformed"),
    ("address_line1", "PO Box 12", "location.po_box"),
    ("accepting_status", "Maybe", "open_practice.flag_unrecognized"),
    ("last_updated", "13/45/2026", "update.last_updated_unparseable"),
    ("last_updated", "2025-01-15", "update.stale"),
    ("languages", "Elvish", "language.not_a_language"),
    ("phone", None, "location.phone_missing"),
])
def test_one_injected_bad_value_gives_exactly_one_finding(field, bad, check_id):
    f = _findings([{**CLEAN, field: bad}])
    assert f["check_id"].tolist() == [check_id]

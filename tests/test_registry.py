"""The check catalogue: metadata validated at import, every factor item accounted for, the public API pinned."""
import pytest

import directory_audit
from directory_audit.factors import FACTOR_ITEMS
from directory_audit.findings import FINDING_COLUMNS, Severity, violations
from directory_audit.registry import check, load_catalogue, select
from directory_audit.runner import AuditContext, run_checks


def test_public_api_is_pinned():
    assert set(directory_audit.__all__) == {
        "__version__", "audit", "AuditResult", "load", "normalize", "Settings", "load_settings", "Finding",
        "Severity", "FINDING_COLUMNS", "flatten", "violations", "check", "metric", "DirectoryAuditError",
        "InputError", "SourceNotFound", "EncodingError", "MalformedJSON", "UnknownFormat",
        "ColumnMappingError", "ConfigError"}


def test_every_check_has_metadata():
    cat = load_catalogue()
    assert len(cat) >= 7
    for spec in cat.values():
        assert spec.title and spec.description and spec.factor in FACTOR_ITEMS
        assert isinstance(spec.severity, Severity)


def test_every_factor_item_is_evidenced_by_a_check_or_narrative_only():
    cat = load_catalogue()
    covered = {s.factor for s in cat.values()}
    for item in FACTOR_ITEMS.values():
        assert item.id in covered or item.narrative, item.id


@pytest.mark.parametrize("kwargs,error", [
    (dict(id="Bad Id", factor="T1.i", severity="error", message="m"), "dotted"),
    (dict(id="x.y", factor="T9.x", severity="error", message="m"), "unknown factor"),
    (dict(id="identifier.npi_malformed", factor="T1.i", severity="error", message="m"), "duplicate"),
])
def test_registration_is_validated(kwargs, error):
    load_catalogue()
    def f(rows):
        """doc"""
    with pytest.raises(ValueError, match=error):
        check(**kwargs)(f)


def test_registration_needs_a_docstring():
    with pytest.raises(ValueError, match="docstring"):
        check(id="x.undocumented", factor="T1.i", severity="info", message="m")(lambda rows: rows)


def test_select_by_id_family_and_factor():
    cat = load_catalogue()
    assert [s.id for s in select(cat, ("identifier.npi_missing",))] == ["identifier.npi_missing"]
    assert all(s.family == "identifier" for s in select(cat, ("identifier",)))
    assert all(s.factor == "T2.i" for s in select(cat, ("T2.i",)))
    assert "identifier.npi_missing" not in {s.id for s in select(cat, (), ("identifier.npi_missing",))}


def test_a_crashing_check_is_isolated(settings):
    from directory_audit.registry import CheckSpec
    from tests.conftest import table_of

    def boom(rows):
        """Always fails."""
        raise RuntimeError("kaboom")
    broken = CheckSpec(id="test.boom", title="boom", severity=Severity.ERROR, factor="T1.i", message="m",
                       description="d", func=boom)
    good = load_catalogue()["identifier.npi_malformed"]
    res = run_checks(table_of({"npi": "12"}), [broken, good], [], settings, AuditContext(settings=settings))
    runs = {r.check_id: r for r in res.check_runs}
    assert runs["test.boom"].status == "error" and "kaboom" in runs["test.boom"].error
    assert runs["identifier.npi_malformed"].status == "ok"
    assert list(res.findings.columns) == list(FINDING_COLUMNS) and len(res.findings) == 1


def test_check_options_come_from_settings(tmp_path):
    from directory_audit import load_settings
    from directory_audit.registry import CheckSpec
    from tests.conftest import table_of
    seen = {}

    def tunable(rows, *, limit=5):
        """Records its option."""
        seen["limit"] = limit
        return violations(rows, rows["npi"].isna(), field="npi", expected="x")
    spec = CheckSpec(id="test.tunable", title="t", severity=Severity.INFO, factor="T1.i", message="m",
                     description="d", func=tunable)
    s = load_settings(check_options={"test.tunable": {"limit": 9}})
    run_checks(table_of({}), [spec], [], s, AuditContext(settings=s))
    assert seen == {"limit": 9}
    assert spec.options == {"limit": 5}

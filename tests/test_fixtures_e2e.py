"""End to end on the bundled Oregon directory, in every format: the audit finds exactly the planted
defects (fixtures/oregon/planted_defects.csv) for every registered check, and nothing on clean records."""
import functools

import pandas as pd
import pytest

from directory_audit import audit, load_settings
from directory_audit.registry import load_catalogue
from tests.conftest import FIXTURES

OREGON = FIXTURES / "oregon"
SOURCES = {"csv": OREGON / "directory.csv", "xlsx": OREGON / "directory.xlsx", "qhp_json": OREGON / "qhp" / "index.json"}


@functools.lru_cache(maxsize=None)
def run(fmt: str):
    settings = load_settings(as_of="2026-11-01", nppes_file=OREGON / "nppes_subset.csv", leie_file=OREGON / "leie.csv")
    return audit(str(SOURCES[fmt]), settings)


@functools.lru_cache(maxsize=None)
def planted() -> pd.DataFrame:
    return pd.read_csv(OREGON / "planted_defects.csv", dtype=str)


CHECK_IDS = sorted(load_catalogue())


@pytest.mark.parametrize("fmt", list(SOURCES))
@pytest.mark.parametrize("check_id", CHECK_IDS)
def test_finds_exactly_the_planted_defects(fmt, check_id):
    result = run(fmt)
    runs = {r.check_id: r for r in result.check_runs}
    if "history" in load_catalogue()[check_id].requires:   # compares runs; tests/test_history.py makes it fire
        assert runs[check_id].status == "skipped"
        return
    assert runs[check_id].status == "ok", runs[check_id].error
    f = result.findings
    found = sorted(set(f.loc[f["check_id"] == check_id, "record_id"]))
    p = planted()
    expected = sorted(set(p.loc[(p["format"] == fmt) & (p["check_id"] == check_id), "record_id"]))
    missed = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    assert not missed and not extra, f"{check_id} on {fmt}: missed {missed}, unexpected {extra}"


@pytest.mark.parametrize("fmt", list(SOURCES))
def test_every_row_is_audited_or_reported(fmt):
    result = run(fmt)
    s = result.summary
    assert s["rows_audited"] + s["records_unreadable"] >= 281
    assert s["providers_audited"] >= 200
    assert s["input_checksum"].startswith("sha256:")

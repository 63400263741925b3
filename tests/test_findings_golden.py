"""findings.csv and findings.jsonl are the same bytes as the committed golden files, written by the
code before the whole-run speed work (issue 16): a faster writer must not change one byte.

Pinned on the Oregon fixtures (CSV with the NPPES and LEIE files, and QHP), and on a small generated
directory where 15 % of providers carry a defect (benchmarks/generate.py, seed 7). When a check's
logic changes on purpose, regenerate with ``GOLDEN_REGEN=1 python -m pytest tests/test_findings_golden.py``
and say in the commit which change moved them."""
import os
import sys
from pathlib import Path

import pytest

from directory_audit.audit import audit
from directory_audit.outputs import write_outputs
from directory_audit.settings import load_settings

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"
OREGON = ROOT / "fixtures" / "oregon"
sys.path.insert(0, str(ROOT / "benchmarks"))

SOURCES = {
    "oregon_csv": (OREGON / "directory.csv", "auto"),
    "oregon_qhp": (OREGON / "qhp" / "providers.json", "qhp"),
    "generated_2000": (None, "auto"),
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    from generate import write
    path, _ = write(2000, tmp_path_factory.mktemp("golden") / "defects_2000.csv", defect_rate=0.15)
    return path


@pytest.mark.parametrize("name", list(SOURCES))
def test_findings_bytes_unchanged(name, generated, tmp_path):
    path, fmt = SOURCES[name]
    path = path or generated
    extra = {} if name != "oregon_csv" else {"nppes_file": OREGON / "nppes_subset.csv", "leie_file": OREGON / "leie.csv"}
    settings = load_settings(as_of="2026-11-01", fail_on="never", **extra)
    result = audit(str(path), settings, format=fmt)
    write_outputs(result, tmp_path, settings)
    assert len(result.findings) > 50        # the pin means something: every source has many findings
    for suffix in ("csv", "jsonl"):
        got = (tmp_path / f"findings.{suffix}").read_bytes()
        golden = GOLDEN / f"{name}.findings.{suffix}"
        if os.environ.get("GOLDEN_REGEN"):
            golden.write_bytes(got)
        assert got == golden.read_bytes(), f"{golden.name} differs from this run's findings.{suffix}"

import os
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings as hyp_settings

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
REFERENCE = ROOT.parent / "shared" / "reference"

hyp_settings.register_profile("ci", max_examples=60, deadline=None)
hyp_settings.register_profile("dev", max_examples=30, deadline=None)
hyp_settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture
def settings():
    from directory_audit import load_settings
    return load_settings(as_of="2026-11-01")


def raw_frame(rows: list[dict], source_format: str = "csv") -> pd.DataFrame:
    """A raw frame as a loader would yield it, from a few dicts of RAW_FIELDS."""
    from directory_audit.model import RAW_FIELDS
    frame = pd.DataFrame(rows)
    for col in RAW_FIELDS:
        if col not in frame.columns:
            frame[col] = None
    frame["record_id"] = [f"t.csv:{i + 2}" for i in range(len(frame))] if "record_id" not in frame else frame["record_id"]
    frame["source_format"] = source_format
    frame["source_file"] = "t.csv"
    return frame


CLEAN = {
    "npi": "1234567893", "provider_type": "Individual", "first_name": "Jane", "last_name": "Doe",
    "suffix": "MD", "specialties": "207Q00000X", "address_line1": "2801 N Gantenbein Ave",
    "city": "Portland", "state": "OR", "zip": "97227", "phone": "(503) 413-2200",
    "accepting_status": "Yes", "languages": "English; Spanish", "last_updated": "10/15/2026",
}


def table_of(*rows: dict):
    """Canonical table from partial rows layered over a clean record."""
    from directory_audit.normalize import normalize
    return normalize(raw_frame([{**CLEAN, **r} for r in rows]))


@pytest.fixture(autouse=True)
def _http_cache_in_tmp(tmp_path_factory, monkeypatch):
    """Each test's HTTP cache lives in its own temporary folder: a loopback port reused by a later test
    must not be answered from an earlier test's cache, and nothing is written to the user's cache."""
    monkeypatch.setenv("DIRECTORY_AUDIT_CACHE_DIR", str(tmp_path_factory.mktemp("http-cache")))

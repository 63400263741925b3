"""The benchmark generator is deterministic, writes what the audit reads, and its labelled duplicates
are found by duplicate.probable with the precision and recall the issue asks for (at a small size)."""
import json
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from generate import HEADERS, generate, luhn_npis, write, write_qhp  # noqa: E402


def test_same_seed_same_directory():
    a, la = generate(1500, seed=3)
    b, lb = generate(1500, seed=3)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(la, lb)
    assert not generate(1500, seed=4)[0].equals(a)


def test_shape_and_labels():
    frame, labels = generate(6000)
    assert list(frame.columns) == HEADERS and len(frame) == 6000
    assert len(labels) > 10
    assert (labels["a"] < labels["b"]).all() and labels["b"].max() < 6000
    kinds = {k.split("+")[0] for k in labels["kind"]}
    assert kinds >= {"nickname", "transposed", "initial", "typo", "case_punct"}
    # a labelled duplicate never shares its original's NPI
    a, b = frame.iloc[labels["a"]]["Provider NPI"].to_numpy(), frame.iloc[labels["b"]]["Provider NPI"].to_numpy()
    assert not ((a == b) & (a != "")).any()


def test_npis_are_valid_and_distinct():
    import numpy as np

    from checks.identifiers import npi_check_digit_ok
    npis = luhn_npis(np.random.default_rng(1), 500)
    assert len(set(npis)) == 500 and npi_check_digit_ok(pd.Series(npis)).all()


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    from directory_audit.audit import audit
    from directory_audit.settings import load_settings
    path, labels = write(8000, tmp_path_factory.mktemp("bench") / "dir.csv")
    result = audit(str(path), load_settings(as_of="2026-11-01"))
    return path, labels, result


def test_probable_duplicates_meet_the_quality_targets(audited):
    path, labels, result = audited
    lab = pd.read_csv(labels, dtype=str)
    # A "+phone" label is the same person listed at another site that shares the first listing's phone.
    # Issue 14 defines a duplicate as two listings of one provider at one place, so those pairs are one
    # provider at two places: neither required nor counted against the check.
    elsewhere = lab["kind"].str.endswith("+phone")
    truth = {tuple(sorted(x)) for x in zip(lab.loc[~elsewhere, "record_id_a"], lab.loc[~elsewhere, "record_id_b"])}
    two_places = {tuple(sorted(x)) for x in zip(lab.loc[elsewhere, "record_id_a"], lab.loc[elsewhere, "record_id_b"])}
    found = set()
    for d in set(result.findings.loc[result.findings["check_id"] == "duplicate.probable", "detail"]):
        found |= {tuple(sorted((p["a"], p["b"]))) for p in json.loads(d)["pairs"]}
    found -= two_places
    tp = len(found & truth)
    assert tp / len(found) >= 0.95 and tp / len(truth) >= 0.90


def test_duplicate_and_identifier_checks_run_on_the_generated_directory(audited):
    _, _, result = audited
    mine = [r for r in result.check_runs if r.check_id.split(".")[0] in ("duplicate", "identifier")]
    assert [r.check_id for r in mine if r.status == "error"] == []
    assert result.summary["records_unreadable"] == 0
    # every other check and metric runs on it too (the scale work must not trade correctness for speed)
    assert [(r.check_id, r.error) for r in result.check_runs if r.status == "error"] == []
    assert result.summary.get("metric_errors", {}) == {}


def test_qhp_copy_has_the_same_provider_locations(audited, tmp_path):
    from directory_audit.loaders import load
    from directory_audit.settings import load_settings
    path, _, result = audited
    qhp = write_qhp(path, tmp_path / "providers.json")
    frame = load(str(qhp), load_settings(), format="qhp").frame
    assert len(frame) == len(result.table)

"""The shared integer-key helpers the checks group by, and the per-table cache behind them."""
import numpy as np
import pandas as pd
from hypothesis import given, strategies as st

from directory_audit.model import (any_per, combine_codes, distinct_count_per, key_codes, key_factor,
                                   per_distinct, per_table)

codes = st.lists(st.integers(min_value=-1, max_value=5), min_size=0, max_size=40)


@given(codes, codes)
def test_distinct_count_per_matches_pandas_nunique(group, value):
    n = min(len(group), len(value))
    g, v = np.array(group[:n], dtype=np.int64), np.array(value[:n], dtype=np.int64)
    got = distinct_count_per(g, v)
    frame = pd.DataFrame({"g": g, "v": v})
    ok = frame[(frame["g"] >= 0) & (frame["v"] >= 0)]
    expected = frame["g"].map(ok.groupby("g")["v"].nunique()).fillna(0).astype(int)
    assert got.tolist() == expected.where(frame["g"] >= 0, 0).tolist()


def test_distinct_count_per_respects_the_mask():
    g = np.array([0, 0, 0, 1])
    v = np.array([0, 1, 2, 0])
    assert distinct_count_per(g, v, np.array([True, True, False, True])).tolist() == [2, 2, 2, 1]


def test_distinct_count_per_all_missing_and_empty():
    assert distinct_count_per(np.array([-1, -1]), np.array([-1, 3])).tolist() == [0, 0]
    assert distinct_count_per(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)).tolist() == []


def test_any_per_spreads_a_flag_over_the_group():
    g = np.array([0, 0, 1, 1, -1])
    assert any_per(g, np.array([False, True, False, False, True])).tolist() == [True, True, False, False, False]


def test_combine_codes_is_one_code_per_pair_and_missing_when_either_is():
    a = np.array([0, 0, 1, 1, -1, 0])
    b = np.array([0, 1, 0, 0, 2, -1])
    c = combine_codes(a, b)
    assert c[2] == c[3] and len({c[0], c[1], c[2]}) == 3
    assert c[4] == -1 and c[5] == -1


def test_key_factor_is_built_once_per_table_and_dropped_for_a_new_one():
    calls = []

    @per_table
    def count(rows, column):
        calls.append(column)
        return len(rows)

    t1 = pd.DataFrame({"a": [1, 2]})
    assert count(t1, "a") == 2 and count(t1, "a") == 2 and count(t1, "b") == 2
    assert calls == ["a", "b"]            # one build per (table, argument)
    t2 = pd.DataFrame({"a": [1, 2, 3]})
    assert count(t2, "a") == 3 and calls == ["a", "b", "a"]
    assert count(t1, "a") == 2 and calls == ["a", "b", "a", "a"]   # the old table's results were dropped


def test_key_codes_and_per_distinct_spread_back_by_row():
    rows = pd.DataFrame({"npi": ["1", None, "2", "1"]})
    codes, uniques = key_factor(rows, "npi")
    assert codes.tolist() == [0, -1, 1, 0] and list(uniques) == ["1", "2"]
    assert key_codes(rows, "npi") is codes
    calls = []

    def double(values):
        calls.append(len(values))
        return values + values
    assert per_distinct(rows, "npi", double).tolist() == ["11", None, "22", "11"]
    assert calls == [2]                   # once per distinct value, not per row
    assert per_distinct(rows, "npi", lambda v: v == "2", missing=False).tolist() == [False, False, True, False]


def test_per_distinct_on_an_all_missing_column_keeps_the_missing_value_type():
    rows = pd.DataFrame({"npi": [None, None]}, dtype=object)
    out = per_distinct(rows, "npi", lambda v: [True] * len(v), missing=False)
    assert out.dtype == bool and out.tolist() == [False, False]


def test_per_distinct_text_results_with_a_text_missing_value_are_not_truncated():
    rows = pd.DataFrame({"name": ["Robert", None, "Katherine", "Robert"]}, dtype=object)
    out = per_distinct(rows, "name", lambda v: v.str.upper().to_numpy(dtype=object), missing="")
    assert out.tolist() == ["ROBERT", "", "KATHERINE", "ROBERT"]


# --- normalize's factorizations, handed to key_factor by the audit ---------------------------------

import pathlib

import pytest

from directory_audit.loaders import load
from directory_audit.normalize import SHARED_FACTORS, normalize
from directory_audit.settings import load_settings

FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "oregon"


def _raw_frames():
    settings = load_settings(as_of="2026-11-01", fail_on="never")
    for path in (FIXTURES / "directory.csv", FIXTURES / "directory.xlsx", FIXTURES / "qhp" / "index.json"):
        yield load(str(path), settings).frame
    # one-line addresses, full names without parts, NPIs with dashes, blank-looking cells, no NPI at all
    yield pd.DataFrame({
        "record_id": ["a:2", "a:3", "a:4", "a:5", "a:6", "a:7"], "source_format": "csv", "source_file": "a",
        "npi": ["1234-567-893", None, "  ", "1234567893", None, None],
        "name": ["Smith, Jane, MD", "Dr. Bob Lee", "Clinic One", "JANE SMITH", "Clinic One", None],
        "provider_type": ["individual", "individual", "facility", "individual", "facility", "facility"],
        "address_line1": ["1 Main St, Portland, OR 97201", "1 Main Street", " 1 Main St ", None, "2 Oak Ave", "2 Oak Ave"],
        "zip": [None, "97201", "97201-1234", "97202", "97201", None],
        "phone": ["503-555-0100", "(503) 555-0100 x1", "bad", None, "5035550100", " "],
        "languages": ["Spanish", "spanish ", None, "", "N/A", "Spanish"],
    })


@pytest.mark.parametrize("raw", list(_raw_frames()), ids=["csv", "xlsx", "qhp", "edge"])
def test_normalize_factors_equal_pandas_factorize(raw):
    factors: dict = {}
    table = normalize(raw, factors=factors)
    assert set(factors) == set(SHARED_FACTORS)
    for column, (codes, uniques) in factors.items():
        want_codes, want_uniques = pd.factorize(table[column], use_na_sentinel=True)
        assert codes.tolist() == want_codes.tolist(), column
        assert list(uniques) == list(want_uniques), column


def test_seeded_factors_are_what_key_factor_returns():
    from directory_audit.model import share_key_factors
    raw = next(_raw_frames())
    factors: dict = {}
    table = normalize(raw, factors=factors)
    share_key_factors(table, factors)
    assert key_factor(table, "location_key") is factors["location_key"]
    assert key_codes(table, "npi").tolist() == pd.factorize(table["npi"])[0].tolist()
    # another table does not see them
    other = table.copy()
    assert key_factor(other, "npi") is not factors["npi"]


@given(codes)
def test_count_distinct_matches_numpy_unique(values):
    from directory_audit.model import count_distinct
    arr = np.array(values, dtype=np.int64)
    assert count_distinct(arr) == len(np.unique(arr[arr >= 0]))


@given(codes, codes)
def test_group_codes_number_the_combinations_in_first_appearance_order(a, b):
    from directory_audit.model import first_rows, group_codes
    n = min(len(a), len(b))
    a, b = np.array(a[:n], dtype=np.int64), np.array(b[:n], dtype=np.int64)
    got = group_codes(a, b)
    want = pd.factorize(pd.Series([f"{x},{y}" for x, y in zip(a, b)], dtype=object))[0]   # -1 is a value
    assert got.tolist() == want.tolist()
    first = first_rows(got)
    assert [int(np.flatnonzero(got == g)[0]) for g in range(len(first))] == first.tolist()


def test_first_rows_skip_missing():
    from directory_audit.model import first_rows
    assert first_rows(np.array([-1, 1, 0, 1, -1, 0])).tolist() == [2, 1]
    assert first_rows(np.array([], dtype=np.int64)).tolist() == []


@given(codes)
def test_group_size_matches_pandas_transform_size(values):
    from directory_audit.model import group_size
    arr = np.array(values, dtype=np.int64)
    s = pd.Series(arr)
    want = s.map(s[s >= 0].value_counts()).fillna(0).astype(int).where(s >= 0, 0)
    assert group_size(arr).tolist() == want.tolist()

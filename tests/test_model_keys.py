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

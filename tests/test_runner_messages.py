"""Messages rendered once per distinct combination of the fields a template reads equal the
template rendered row by row."""
import pandas as pd
import pytest

from directory_audit.findings import VIOLATION_COLUMNS
from directory_audit.runner import render_messages


def _rows(**cols):
    n = len(next(iter(cols.values())))
    frame = pd.DataFrame({c: [""] * n for c in VIOLATION_COLUMNS}, dtype=object)
    for k, v in cols.items():
        frame[k] = pd.Series(v, dtype=object)
    return frame


def _row_by_row(template, frame):
    return [template.format_map(r) for r in frame[list(VIOLATION_COLUMNS)].to_dict(orient="records")]


@pytest.mark.parametrize("template", [
    "ZIP {observed!r} is not a 5-digit ZIP or ZIP+4",
    "individual provider listed without a specialty",
    "{field} {observed!r} should be {expected}; {observed:>6}|{npi}",
    "{detail[0]} and {record_id.upper}",            # index and attribute: a template reading more
    "literal {{braces}} and {observed}",
])
def test_same_text_as_row_by_row(template):
    frame = _rows(observed=["9720", "9720", "", "x'y", "9720", "é"], expected=["a", "b", "a", "c", "a", "d"],
                  field=["zip"] * 6, npi=["1", "2", "1", "3", "1", "4"], detail=["ab", "cd", "ab", "ef", "ab", "gh"],
                  record_id=["r1", "r2", "r3", "r4", "r5", "r6"])
    assert render_messages(template, frame) == _row_by_row(template, frame)


def test_cells_that_are_not_text_rendered_as_they_are():
    frame = _rows(observed=[1, 1.0, True, None, "1"])
    template = "value {observed!r}"
    assert render_messages(template, frame) == ["value 1", "value 1.0", "value True", "value None", "value '1'"]


def test_no_rows_and_a_template_with_a_foreign_field():
    assert render_messages("{observed}", _rows(observed=[])) == []
    with pytest.raises(KeyError):
        render_messages("{not_a_column}", _rows(observed=["a"]))

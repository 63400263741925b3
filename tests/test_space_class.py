"""Patterns that spell Python's ``\\s`` out (``vocab.SPACE_CHARS``) so that pandas runs them in Arrow's
RE2 kernel (issue 16) must match exactly what the ``\\s`` patterns they replace matched."""
import re

import pandas as pd
from hypothesis import given, settings, strategies as st

from checks.placeholders import phone_digits
from directory_audit import vocab

SPACES = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())


def test_the_class_is_every_character_python_calls_space():
    assert vocab.SPACE_CHARS == SPACES
    assert SPACES == "".join(chr(c) for c in range(0x110000) if re.match(r"\s", chr(c)))


def _nothing_with_python_re(values: pd.Series):
    folded = values.astype(object).map(lambda v: re.sub(r"[\s.,_'\"()\[\]]+", "", str(v).lower()))
    return (folded.isin(vocab.NOTHING_WORDS) | (folded == "")).to_numpy(dtype=bool)


def _digits_with_python_re(values: pd.Series) -> list[str]:
    out = []
    for v in values.astype(object):
        body = re.sub(r"(?i)\s*(?:ext\.?|extension|x|#)\s*\d{1,6}\s*$", "", str(v))
        digits = re.sub(r"\D+", "", body)
        out.append(digits[1:] if len(digits) == 11 and digits.startswith("1") else digits)
    return out


TEXT = st.text(alphabet=st.sampled_from(list("nN/aA .,_()'\"[]-x#1234567890Ext") + list(SPACES[:12]) + ["\u3000", "é"]),
               max_size=16)


@settings(max_examples=60, deadline=None)
@given(st.lists(TEXT, min_size=1, max_size=8))
def test_same_answers_as_python_re(values):
    series = pd.Series(values, dtype=object)
    assert vocab.nothing_mask(series).tolist() == _nothing_with_python_re(series).tolist()
    assert phone_digits(series).tolist() == _digits_with_python_re(series)


def test_worked_examples():
    series = pd.Series(["N/A\u00a0", " none ", "(503) 555-1234 ext.\u200912", "5035551234\u3000x7", "Main St"],
                       dtype=object)
    assert vocab.nothing_mask(series).tolist() == [True, True, False, False, False]
    assert phone_digits(series).tolist()[2:4] == ["5035551234", "5035551234"]

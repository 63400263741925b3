"""Placeholders: values a directory fills a field with when it has nothing real to put there.

A placeholder is not a typo of a real value. Street "N/A", city "null", state "UN", ZIP 99999, phone
000-000-0000 or 555-0123, last-updated 1900-01-01: each says *we do not know*, while looking like
data. They are reported here, as placeholders, by field, and the checks that would otherwise
mistake them for a wrong real value stay silent on them (``placeholder_mask``):

* ``location.zip_unknown`` / ``location.zip_malformed`` on a placeholder ZIP;
* ``location.zip_state_mismatch`` and ``location.outside_service_area`` on a placeholder state,
  ``location.zip_city_mismatch`` on a placeholder city or ZIP;
* ``location.phone_invalid`` on a placeholder phone;
* ``update.stale`` and ``update.last_updated_future`` on a placeholder date (a 1900 date is not a
  record last verified 126 years ago; 9999-12-31 is no typo of a future date).

How a value is decided to be a placeholder (case and punctuation ignored):

* street, suite line, city: a word that says nothing (``NOTHING_WORDS``: null, N/A, unknown, TBD,
  none, ...);
* state: a nothing word, or any code that is no US state, territory or military post code
  (``vocab.STATE_NAMES``' codes and AA/AE/AP), e.g. UN, XX, ZZ;
* ZIP: a nothing word, or five of one digit (00000, 99999, 11111) that the USPS does not use
  (44444 Newton Falls and 55555 Minneapolis are real and stay real);
* phone: a nothing word; one digit repeated (000-000-0000, 999-999-9999); the counting run
  123-456-7890; the reserved fictional 555-0100 to 555-0199; or fewer than 10 digits (a fragment
  nobody can dial);
* last-updated: a date before ``earliest_date`` (default 2014-01-01, when the directory update rules
  began) or on or after ``latest_date`` (default 2100-01-01): sentinels and dates older than any rule.
  See ``placeholder_last_updated``.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from directory_audit import geo, vocab
from directory_audit.findings import detail_json, violations
from directory_audit.model import key_codes, per_distinct, per_table
from directory_audit.registry import check

#: Words that fill a field without saying anything, folded (shared with normalize's location keys).
NOTHING_WORDS = vocab.NOTHING_WORDS

#: State codes that are real: the 50 states, DC, the territories, and the military post codes.
VALID_STATES = frozenset(vocab.STATE_NAMES.values()) | {"AA", "AE", "AP", "FM", "MH", "PW", "UM"}

#: The fields a placeholder is looked for in, with the canonical field each finding names.
LOCATION_FIELDS = ("address_line1", "address_line2", "city", "state", "zip", "phone")


def _nothing(values: pd.Series) -> np.ndarray:
    return vocab.nothing_mask(values)


def _state_placeholder(values: pd.Series) -> np.ndarray:
    """Not a state: a nothing word, or a code (after normalize's reading of full names) that no US
    state, territory or military post uses."""
    code = values.astype(str).str.upper().str.strip(". ").map(lambda v: vocab.STATE_NAMES.get(v, v))
    return _nothing(values) | ~code.isin(VALID_STATES).to_numpy(dtype=bool)


def _zip_placeholder(values: pd.Series) -> np.ndarray:
    digits = values.astype(str).str.strip().str.extract(r"^(\d{5})(?:[\s-]?\d{4})?$", expand=False)
    repeated = digits.str.fullmatch(r"(\d)\1{4}").fillna(False).to_numpy(dtype=bool)
    if repeated.any():
        index = geo.zip_index()
        repeated = repeated & np.array([not (isinstance(z, str) and z in index) for z in digits], dtype=bool)
    return _nothing(values) | repeated


_SPACE = "[" + vocab.SPACE_CHARS + "]"
#: A trailing extension ('ext. 12', 'x12', '#12'): Python's ``\s`` spelt out, so Arrow's kernel runs it
_EXTENSION = rf"(?i){_SPACE}*(?:ext\.?|extension|x|#){_SPACE}*\d{{1,6}}{_SPACE}*$"


def phone_digits(values: pd.Series) -> pd.Series:
    """The digits of a phone as written, extension and a leading country code 1 dropped."""
    body = values.astype(str).str.replace(_EXTENSION, "", regex=True)
    digits = body.str.replace(r"\D+", "", regex=True)
    return digits.where(~((digits.str.len() == 11) & digits.str.startswith("1")), digits.str.slice(1))


def _phone_placeholder(values: pd.Series) -> np.ndarray:
    digits = phone_digits(values)
    repeated = digits.str.fullmatch(r"(\d)\1{9}").fillna(False)
    counting = digits.isin({"1234567890", "0123456789"})
    fictional = digits.str.fullmatch(r"\d{3}55501\d\d").fillna(False)
    short = digits.str.len() < 10
    return (_nothing(values) | (repeated | counting | fictional | short).to_numpy(dtype=bool))


_REASONS = {
    "address_line1": (_nothing, "a word that says nothing"),
    "address_line2": (_nothing, "a word that says nothing"),
    "city": (_nothing, "a word that says nothing"),
    "state": (_state_placeholder, "no US state, territory or military post code"),
    "zip": (_zip_placeholder, "a word that says nothing, or five of one digit the USPS does not use"),
    "phone": (_phone_placeholder, "one digit repeated, 123-456-7890, a reserved 555-01xx number, a word, "
                                  "or fewer than 10 digits"),
}


@per_table
def placeholder_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per row, for each field of LOCATION_FIELDS, whether its raw value is a placeholder. Judged once
    per distinct raw value; built once per table and shared with the checks that stay silent on
    placeholders."""
    out = {}
    for field, (judge, _) in _REASONS.items():
        raw = f"{field}_raw"
        if raw not in rows.columns:
            out[field] = np.zeros(len(rows), dtype=bool)
            continue
        out[field] = per_distinct(rows, raw, judge, missing=False).to_numpy(dtype=bool)
    return pd.DataFrame(out, index=rows.index)


@per_table
def real_phone_codes(rows: pd.DataFrame) -> np.ndarray:
    """``key_codes(rows, "phone")`` with placeholder phones (``placeholder_table``: 000-000-0000,
    123-456-7890, 555-01xx...) as missing (-1). Any check that groups listings by phone uses these
    codes: a placeholder shared by unrelated listings says nothing about them (they are not one
    office, one call centre or one provider)."""
    return np.where(placeholder_table(rows)["phone"].to_numpy(), -1, key_codes(rows, "phone"))


def placeholder_mask(rows: pd.DataFrame, field: str) -> pd.Series:
    """True where ``field``'s raw value is a placeholder (LOCATION_FIELDS, or ``last_updated`` with
    the default bounds)."""
    if field == "last_updated":
        return date_placeholder(rows)
    return placeholder_table(rows)[field]


#: The bounds of ``date_placeholder``: no "last verified" date before the directory update rules
#: (45 CFR 156.230, 42 CFR 438.10: 2014-2016) shows a verification under them, and no system stamps a
#: verification 75 years ahead except to mean "open-ended". Both are settings.
EARLIEST_DATE = "2014-01-01"
LATEST_DATE = "2100-01-01"
#: Before this no date is an age at all (0001-01-01, 1900-01-01, 1970-01-01: what systems write for "no
#: date"); a real date from 1980-2013 is a placeholder by the rule above but still a true age.
SENTINEL_BEFORE = "1980-01-01"


def date_placeholder(rows: pd.DataFrame, earliest_date: str = EARLIEST_DATE,
                     latest_date: str = LATEST_DATE) -> pd.Series:
    """A parsed last-updated date that is a sentinel: before ``earliest_date`` (0001-01-01, 1753-01-01,
    1899-12-30, 1900-01-01, 1901-01-01, 1970-01-01...) or on or after ``latest_date`` (2999-12-31,
    9999-12-31)."""
    dates = rows["last_updated"]
    return dates.notna() & ((dates < pd.Timestamp(earliest_date)) | (dates >= pd.Timestamp(latest_date)))


def date_bounds(settings) -> dict[str, str]:
    """``earliest_date`` and ``latest_date`` as the settings give them for ``placeholder.last_updated``,
    for the update checks that stay silent on placeholder dates."""
    options = settings.options_for("placeholder.last_updated")
    return {"earliest_date": str(options.get("earliest_date", EARLIEST_DATE)),
            "latest_date": str(options.get("latest_date", LATEST_DATE))}


@check(id="placeholder.value", factor="T1.i", severity="error",
       title="Placeholder instead of a location value",
       message="{field} {observed!r} is a placeholder, not a value")
def placeholder_value(rows: pd.DataFrame) -> pd.DataFrame:
    """A practice-location field (street, suite line, city, state, ZIP, phone) filled with a value that
    stands for "unknown": the public cannot find or call the office, yet the field looks filled. One
    finding per field per row, the field named; the rule that matched in ``detail``. Other location
    checks stay silent on these values, so each is reported once."""
    table = placeholder_table(rows)
    out = []
    for field, (_, why) in _REASONS.items():     # a loop over six fields, not over rows
        mask = table[field]
        if not mask.any():
            continue
        detail = detail_json(pd.DataFrame({"rule": why}, index=rows.index[mask.to_numpy()]))
        out.append(violations(rows, mask, field=field, expected=f"a real {field.replace('_', ' ')}",
                              detail=detail))
    if not out:
        return violations(rows, pd.Series(False, index=rows.index), field="address_line1", expected="")
    return pd.concat(out, ignore_index=True)


@check(id="placeholder.last_updated", factor="T1.ii", severity="error",
       title="Placeholder last-updated date",
       message="last-updated date {observed!r} is a placeholder: {expected}")
def placeholder_last_updated(rows: pd.DataFrame, earliest_date: str = EARLIEST_DATE,
                             latest_date: str = LATEST_DATE) -> pd.DataFrame:
    """A last-updated date that shows no verification under any directory rule: it is reported as a
    placeholder, and neither as stale (``update.stale``) nor as future (``update.last_updated_future``).

    The rule (issue 14): a date before ``earliest_date`` (default 2014-01-01: the directory update
    rules, 45 CFR 156.230 and 42 CFR 438.10, date from 2014-2016) or on or after ``latest_date``
    (default 2100-01-01). That takes in the sentinels systems write for "no date": 0001-01-01
    (.NET/Java minimum), 1753-01-01 (SQL Server's datetime minimum), 1899-12-30/31 (Excel's and OLE's
    day zero), 1900-01-01, 1901-01-01, 1970-01-01 (Unix epoch zero), 2999-12-31 / 9999-12-31
    ("open-ended"); and a record untouched since before any rule asked for verification (NPPES
    records last updated in 2007-2013: real dates of the last change, but no "last verified" a
    directory can stand on). A reviewer who wants only the sentinels reported, e.g. on an NPPES
    extract, sets ``earliest_date = "1980-01-01"``: older real dates then count as stale.

    Not placeholders: a date stamped on (nearly) every record is the file's generation date,
    ``update.generation_stamp``'s finding; a recent date shared by many records is a real date."""
    mask = date_placeholder(rows, earliest_date, latest_date)
    return violations(rows, mask, field="last_updated",
                      expected=f"a real verification date (a sentinel is before {earliest_date} or on or after "
                               f"{latest_date})")

"""Placeholders are reported as placeholders, by field, once; epoch dates parse; words that say
nothing are no language; a field no row publishes is one source-level finding and leaves its
factor item not evidenced."""
import pandas as pd
import pytest

from directory_audit.normalize import _languages, parse_dates
from reports.status import NOT_EVIDENCED
from tests.test_checks_locations import findings

FIRES = [
    ("placeholder.value", [{"address_line1": "null"}], [("t.csv:2", "address_line1", "null")]),
    ("placeholder.value", [{"address_line1": "N/A"}], [("t.csv:2", "address_line1", "N/A")]),
    ("placeholder.value", [{"address_line1": "Unknown"}], [("t.csv:2", "address_line1", "Unknown")]),
    ("placeholder.value", [{"address_line1": "TBD"}], [("t.csv:2", "address_line1", "TBD")]),
    ("placeholder.value", [{"address_line1": "none"}], [("t.csv:2", "address_line1", "none")]),
    ("placeholder.value", [{"city": "null"}], [("t.csv:2", "city", "null")]),
    ("placeholder.value", [{"state": "UN"}], [("t.csv:2", "state", "UN")]),
    ("placeholder.value", [{"state": "XX"}], [("t.csv:2", "state", "XX")]),
    ("placeholder.value", [{"zip": "99999"}], [("t.csv:2", "zip", "99999")]),
    ("placeholder.value", [{"zip": "00000-0000"}], [("t.csv:2", "zip", "00000-0000")]),
    ("placeholder.value", [{"phone": "000-000-0000"}], [("t.csv:2", "phone", "000-000-0000")]),
    ("placeholder.value", [{"phone": "(999) 999-9999"}], [("t.csv:2", "phone", "(999) 999-9999")]),
    ("placeholder.value", [{"phone": "503-555-0142"}], [("t.csv:2", "phone", "503-555-0142")]),
    ("placeholder.value", [{"phone": "123-456-7890"}], [("t.csv:2", "phone", "123-456-7890")]),
    ("placeholder.value", [{"phone": "503-555-01"}], [("t.csv:2", "phone", "503-555-01")]),
    ("placeholder.value", [{"phone": "call the office"}], [("t.csv:2", "phone", "call the office")]),
    ("placeholder.value", [{"city": "null", "zip": "99999"}], [("t.csv:2", "city", "null"), ("t.csv:2", "zip", "99999")]),
    ("placeholder.last_updated", [{"last_updated": "1900-01-01"}], [("t.csv:2", "last_updated", "1900-01-01")]),
    ("placeholder.last_updated", [{"last_updated": "0"}], []),          # unreadable, not a date: another check
    # sentinels: Unix epoch zero, spreadsheet and database minimums, "open-ended" ends
    *[("placeholder.last_updated", [{"last_updated": v}], [("t.csv:2", "last_updated", v)])
      for v in ("1970-01-01", "01/01/1900", "1901-01-01", "1899-12-30", "1753-01-01", "0001-01-01", "18000101",
                "9999-12-31", "12/31/9999", "2999-12-31", "1970-01-01T00:00:00Z")],
    # before the directory update rules (2014): no verification under any of them (NPPES records untouched
    # since 2007, a 1990s date)
    *[("placeholder.last_updated", [{"last_updated": v}], [("t.csv:2", "last_updated", v)])
      for v in ("2013-12-31", "07/08/2007", "1996-03-15", "1980-01-01")],
]

SILENT = [
    ("placeholder.value", [{}]),
    ("placeholder.value", [{"state": "Oregon"}]),
    ("placeholder.value", [{"state": "PR", "city": "San Juan", "zip": "00901"}]),   # a territory
    ("placeholder.value", [{"zip": "44444"}]),          # Newton Falls OH: real, though five of one digit
    ("placeholder.value", [{"phone": "(503) 494-8311 ext. 5"}]),
    ("placeholder.value", [{"phone": "1-503-494-8311"}]),
    ("placeholder.value", [{"phone": "503-555-1212"}]),   # directory assistance, not the fictional block
    ("placeholder.value", [{"phone": None}]),             # missing is location.phone_missing
    ("placeholder.value", [{"address_line1": "1 Nonesuch Rd"}]),
    ("placeholder.value", [{"address_line2": None}]),
    ("placeholder.last_updated", [{"last_updated": "2026-10-01"}]),
    ("placeholder.last_updated", [{"last_updated": "2014-01-01"}]),
    ("placeholder.last_updated", [{"last_updated": "1707795660000"}]),   # epoch ms: 2024-02-13
    ("placeholder.last_updated", [{"last_updated": "2099-12-31"}]),      # future: last_updated_future's
    ("placeholder.last_updated", [{"last_updated": "1400000000000"}]),   # epoch ms 2014-05-13: a real date
]


@pytest.mark.parametrize("check_id,rows,expected", FIRES, ids=[f"{c[0]}-{i}" for i, c in enumerate(FIRES)])
def test_placeholder_fires(check_id, rows, expected):
    got = findings(check_id, *rows)
    assert sorted(tuple(r) for r in got[["record_id", "field", "observed"]].itertuples(index=False)) == expected
    assert all(got["detail"] != "") or check_id == "placeholder.last_updated"


@pytest.mark.parametrize("check_id,rows", SILENT, ids=[f"{c[0]}-{i}" for i, c in enumerate(SILENT)])
def test_placeholder_silent(check_id, rows):
    assert findings(check_id, *rows).empty


def test_the_earliest_plausible_date_is_a_setting():
    assert findings("placeholder.last_updated", {"last_updated": "2015-06-30"}, options={"earliest_date": "2016-01-01"}) \
        .shape[0] == 1
    # sentinels only: a real old date is then no placeholder (and update.stale reports it)
    assert findings("placeholder.last_updated", {"last_updated": "2013-06-30"}, options={"earliest_date": "1980-01-01"}) \
        .empty
    assert findings("placeholder.last_updated", {"last_updated": "1970-01-01"}, options={"earliest_date": "1980-01-01"}) \
        .shape[0] == 1
    assert findings("placeholder.last_updated", {"last_updated": "2099-12-31"}, options={"latest_date": "2099-01-01"}) \
        .shape[0] == 1


@pytest.mark.parametrize("value,stale,future,placeholder", [
    ("2013-06-30", 0, 0, 1),        # before the rules: a placeholder, not also stale
    ("07/08/2007", 0, 0, 1),
    ("2014-06-30", 1, 0, 0),        # under the rules and old: stale, and only stale
    ("1900-01-01", 0, 0, 1),        # a sentinel: a placeholder, neither stale nor old
    ("1970-01-01", 0, 0, 1),
    ("9999-12-31", 0, 0, 1),        # a sentinel: a placeholder, not a date in the future
    ("2099-12-31", 0, 1, 0),        # a future date: a typo, not a sentinel
])
def test_each_date_is_reported_once_as_what_it_is(value, stale, future, placeholder):
    assert (findings("update.stale", {"last_updated": value}).shape[0],
            findings("update.last_updated_future", {"last_updated": value}).shape[0],
            findings("placeholder.last_updated", {"last_updated": value}).shape[0]) == (stale, future, placeholder)


def test_epoch_milliseconds_parse_as_dates():
    got = parse_dates(pd.Series(["1707795660000", "20240213", "5035550142", "12345", None], dtype=object))
    assert [None if pd.isna(d) else d.date().isoformat() for d in got] == \
        ["2024-02-13", "2024-02-13", None, None, None]


@pytest.mark.parametrize("value", ["Bilingual", "Interpreter available", "Other", "Multiple", "Yes", "None",
                                   "Multilingual", "Interpreter Services", "All languages"])
def test_words_that_say_nothing_are_no_language(value):
    tags, bad = _languages(value)
    assert tags is None and bad == value


def test_a_language_beside_a_word_that_says_nothing_is_kept():
    assert _languages("Spanish; Bilingual") == ("es", "Bilingual")


def test_a_directory_without_languages_is_not_evidenced_for_t2_iv(tmp_path):
    from directory_audit import audit, load_settings
    src = tmp_path / "d.csv"
    src.write_text("NPI,First Name,Last Name,Specialty,Address,City,State,Zip,Phone,Accepting New Patients,Last Updated\n"
                   + "".join(f"{n},Ann{i},Lee{i},Family Medicine,{100 + i} SW Main St,Portland,OR,97204,503-494-8311,Yes,"
                             f"2026-10-01\n" for i, n in enumerate(["1234567893", "1245319599"])), encoding="utf-8")
    result = audit(str(src), load_settings(as_of="2026-11-01"))
    f = result.findings
    assert f.loc[f["check_id"] == "language.none_published", "record_id"].tolist() == [str(src)]
    assert (f["check_id"] == "language.missing").sum() == 0
    import reports
    report = reports.build(f, result.summary)
    assert report["items"]["T2.iv"]["status"] == NOT_EVIDENCED
    assert "publishes no language information" in " ".join(report["items"]["T2.iv"]["reasons"])
    assert report["items"]["T2.v"]["status"] != NOT_EVIDENCED

"""normalize: raw strings -> canonical table, with the raw value kept beside each field."""
import pandas as pd
import pytest
from hypothesis import example, given, strategies as st

from directory_audit.model import RAW_FIELDS
from directory_audit.normalize import normalize, parse_dates
from tests.conftest import raw_frame, table_of


@pytest.mark.parametrize("name,parts", [
    ("Smith, Jane A, MD", ("Jane", "A", "Smith", "MD")),
    ("Smith, Jane", ("Jane", None, "Smith", None)),
    ("Jane A. Smith MD", ("Jane", "A.", "Smith", "MD")),
    ("Dr. Jane Smith", ("Jane", None, "Smith", None)),
    ("Jane Smith, PA-C", ("Jane", None, "Smith", "PA-C")),
    ("Mary Ann van Dyke DO", ("Mary", "Ann van", "Dyke", "DO")),
])
def test_full_name_cells_are_split(name, parts):
    t = table_of({"first_name": None, "last_name": None, "suffix": None, "name": name})
    assert tuple(t.loc[0, ["first_name", "middle_name", "last_name", "suffix"]].tolist()) == parts
    assert t.loc[0, "name_raw"] == name


@pytest.mark.parametrize("raw,status", [
    ("Yes", "accepting"), ("Y", "accepting"), ("open", "accepting"), ("Accepting New Patients", "accepting"),
    ("No", "not_accepting"), ("Closed", "not_accepting"), ("not accepting", "not_accepting"),
    ("accepting in some locations", "some_locations"), ("Existing patients only", "existing_patients_only"),
    ("newpt", "accepting"), ("nopt", "not_accepting"), ("existptonly", "existing_patients_only"),
    ("true", "accepting"), ("Maybe", "unknown"), (None, "unknown"),
])
def test_accepting_status_vocabulary(raw, status):
    t = table_of({"accepting_status": raw})
    assert t.loc[0, "accepting_status"] == status
    assert t.loc[0, "accepting_status_raw"] == raw


@pytest.mark.parametrize("raw,tags,bad", [
    ("English; Spanish", "en|es", None), ("Español", "es", None), ("spa", "es", None), ("es", "es", None),
    ("Vietnamese, Russian", "vi|ru", None), ("ASL", "ase", None), ("American Sign Language", "ase", None),
    ("Chinese (Mandarin)", "cmn", None), ("Cantonese", "yue", None), ("English/Somali", "en|so", None),
    ("Spanish and Tagalog", "es|tl", None), ("Yes", None, "Yes"), ("N/A", None, "N/A"),
    ("Spanish, Elvish", "es", "Elvish"),
    ("\x00\U0001af03", None, "\x00\U0001af03"),     # crashed language_data's trie (SystemError); found by hypothesis
])
def test_languages_normalize_names_codes_and_tags(raw, tags, bad):
    t = table_of({"languages": raw})
    got = t.loc[0, ["languages", "languages_unrecognized"]].tolist()
    assert [None if pd.isna(v) else v for v in got] == [tags, bad]


@pytest.mark.parametrize("raw,iso", [
    ("10/15/2026", "2026-10-15"), ("2026-10-15", "2026-10-15"), ("Oct 15, 2026", "2026-10-15"),
    ("10/15/26", "2026-10-15"), ("2026-10-15T08:30:00Z", "2026-10-15"), ("2026-10-15 00:00:00", "2026-10-15"),
    ("October 15, 2026", "2026-10-15"), ("13/45/2026", None), ("sometime 2025", None),
])
def test_dates_in_the_usual_us_formats(raw, iso):
    got = parse_dates(pd.Series([raw], dtype="object")).iloc[0]
    assert (None if pd.isna(got) else str(got.date())) == iso


@pytest.mark.parametrize("raw,e164,ext", [
    ("(503) 413-2200", "+15034132200", None), ("503.413.2200", "+15034132200", None),
    ("1-503-413-2200", "+15034132200", None), ("503-413-2200 ext. 204", "+15034132200", "204"),
    ("503-413-2200 x12", "+15034132200", "12"), ("503-555-01", None, None),
    ("(503) 413-2200 #7", "+15034132200", "7"), ("+1 503 413 2200", "+15034132200", None),
    ("５０３4132200", None, None),          # full-width digits are not a dialable number as written
    ("BOOK-NOW", None, None),
])
def test_phones(raw, e164, ext):
    t = table_of({"phone": raw})
    got = [None if pd.isna(v) else v for v in t.loc[0, ["phone", "phone_extension"]]]
    assert got == [e164, ext]
    assert t.loc[0, "phone_raw"] == raw


@pytest.mark.parametrize("raw,zip5,zip4", [("97239-3098", "97239", "3098"), ("97239", "97239", None),
                                           ("972393098", "97239", "3098"), ("9723", None, None), ("97Z01", None, None)])
def test_zip(raw, zip5, zip4):
    t = table_of({"zip": raw})
    assert [None if pd.isna(v) else v for v in t.loc[0, ["zip", "zip4"]]] == [zip5, zip4]


def test_specialties_map_names_and_codes_to_nucc():
    t = table_of({"specialties": "Family Medicine; 207RC0000X"})
    assert t.loc[0, "specialty_codes"] == "207Q00000X|207RC0000X"


def test_provider_type_inferred_when_absent():
    t = table_of({"provider_type": None},
                 {"provider_type": None, "first_name": None, "last_name": None, "suffix": None,
                  "facility_name": "Salem Hospital"})
    assert t["provider_type"].tolist() == ["individual", "facility"]


def test_location_key_ignores_street_and_suite_spelling():
    t = table_of({"address_line1": "100 North Main Street #200"}, {"address_line1": "100 N. Main St Ste 200"})
    assert t.loc[0, "location_key"] == t.loc[1, "location_key"]


text = st.one_of(st.none(), st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12),
                 st.sampled_from(["Yes", "No", "Spanish; ASL", "10/15/2026", "97239-3098", "(503) 413-2200",
                                  "Smith, Jane A, MD", "1234567893", "PO Box 12"]))


@given(st.lists(st.fixed_dictionaries({f: text for f in RAW_FIELDS}), min_size=1, max_size=5))
def test_normalize_is_idempotent_over_its_raw_columns(rows):
    first = normalize(raw_frame(rows))
    again_raw = raw_frame([{f: r[f"{f}_raw"] for f in RAW_FIELDS} for _, r in first.iterrows()])
    again = normalize(again_raw)
    # a listing split over rows is folded the first time (issue 14); the second pass has nothing left to
    # fold, so only the list of folded record ids differs
    pd.testing.assert_frame_equal(first.drop(columns="folded_record_ids"), again.drop(columns="folded_record_ids"))
    assert len(first) == len(rows) - int(first["folded_record_ids"].dropna().str.count(r"\|").sum())


@example(["123 N. Main Street, Suite #4", "  Calle Peña 5 ", "1 Straße Way", "x\x1cy\x85z", "A–B Road", ""])
@given(st.lists(st.text(alphabet=st.characters(max_codepoint=0x2100), max_size=30), max_size=20))
def test_street_keys_in_arrow_equal_the_python_rule(lines):
    """normalize builds street keys for ASCII lines with Arrow's kernels and for the rest in Python;
    both must give what the one-line Python rule gives."""
    from directory_audit.normalize import _street_key, _street_keys
    values = pd.Series(lines, dtype="object")
    assert list(_street_keys(values)) == [_street_key(v) for v in lines]


@example(["123 Main St Ste 4", "1 FL", "Suite 200", "#5 Oak", "100 N Main St\tSuite 300 Floor 2", "1 Ste. Anne Rd"])
@given(st.lists(st.text(alphabet=st.characters(max_codepoint=0x2100), max_size=30), max_size=20))
def test_building_keys_in_arrow_equal_the_python_pattern(lines):
    import re
    from directory_audit.normalize import _street_key, building_key
    keys = pd.Series([_street_key(v) + "|97201" for v in lines], dtype="object")
    suite = re.compile(r"(?:^|\s)(?:STE|UNIT|APT|APARTMENT|RM|ROOM|FL|BLDG|DEPT)(?:\s[^|]*)?(?=\|)")
    expected = [k if not k.startswith("|") else None for k in (suite.sub("", k).strip() for k in keys)]
    got = building_key(keys)
    assert [None if pd.isna(v) else v for v in got] == expected


def _display_name_rule(first, middle, last, suffix, facility, ptype):
    """The display-name rule written out one row at a time (the reference for the Arrow version)."""
    import re
    person = re.sub(r"\s+", " ", " ".join(p or "" for p in (first, middle, last))).strip()
    if suffix is not None:
        person = person + ", " + suffix
    name = person if person != "" else facility
    if ptype in ("facility", "group") and facility is not None:     # an organisation shows its own name
        name = facility
    return name if name else None


_name_part = st.one_of(st.none(), st.text(alphabet=st.characters(max_codepoint=0x3000), min_size=1, max_size=12)
                       .map(str.strip).filter(bool))


@example([("Jean", None, "Lewis", "MD", None, "individual"), (None, None, None, None, "Clinic", "facility"),
          ("Mary\u00a0\u00a0Ann", None, "Lee", None, None, "individual"), (None, None, None, "Jr", None, "unknown")])
@given(st.lists(st.tuples(_name_part, _name_part, _name_part, _name_part, _name_part,
                          st.sampled_from(["individual", "facility", "group", "unknown"])), max_size=15))
def test_display_names_in_arrow_equal_the_row_rule(rows):
    from directory_audit.normalize import _display_names
    frame = pd.DataFrame(rows, columns=["first_name", "middle_name", "last_name", "suffix", "facility_name",
                                        "provider_type"], dtype="object")
    got = [None if pd.isna(v) else v for v in _display_names(frame)]
    assert got == [_display_name_rule(*r) for r in rows]


def test_epoch_millisecond_dates_parse_and_other_digit_runs_do_not():
    """JSON search APIs (CountyCare's updateDate) send epoch milliseconds; 8-digit YYYYMMDD keeps its
    meaning and a number outside 2001-2100 stays unparsed."""
    import pandas as pd
    from directory_audit.normalize import parse_dates
    got = parse_dates(pd.Series(["1707795660000", "20260105", "999999999999", "5035551234"], dtype=object))
    assert got.iloc[0] == pd.Timestamp("2024-02-13")
    assert got.iloc[1] == pd.Timestamp("2026-01-05")
    assert got.iloc[2:].isna().all()

"""Vocabularies that turn the many ways directories write a value into one normalized value.

Everything here works on *unique* values: callers map a column through a dict built from its
distinct values, so the cost grows with the vocabulary, not with the number of rows.
"""
from __future__ import annotations

import csv
import functools
import re
import unicodedata
from pathlib import Path

import langcodes

#: Accepting-new-patients values, lower-cased, to the canonical enum. Covers CSV/Excel wording,
#: QHP's enum and Plan-Net codes (2019 extension, 2020 boolean, today's AcceptingPatientsCS).
ACCEPTING_VALUES: dict[str, str] = {}
for _status, _words in {
    "accepting": ["yes", "y", "true", "t", "1", "open", "accepting", "accepting new patients", "accepts new patients",
                  "new patients welcome", "open practice", "newpt", "accepting patients", "currently accepting"],
    "not_accepting": ["no", "n", "false", "f", "0", "closed", "not accepting", "not accepting new patients",
                      "nopt", "closed practice", "no new patients", "not currently accepting"],
    "some_locations": ["accepting in some locations", "some locations", "accepting at some locations",
                       "varies by location", "some"],
    "existing_patients_only": ["existing patients only", "existptonly", "existptfam", "existptofothr", "existing only",
                               "current patients only", "existing patients and family only",
                               "existing patients and their families"],
}.items():
    for _w in _words:
        ACCEPTING_VALUES[_w] = _status


def accepting_status(value: str) -> str | None:
    """Canonical status for a raw value, or None when it is not in the vocabulary."""
    key = re.sub(r"[\s_\-]+", " ", value.strip().lower()).strip(" .!?")
    return ACCEPTING_VALUES.get(key)


PROVIDER_TYPE_VALUES: dict[str, str] = {}
for _t, _words in {
    "individual": ["individual", "practitioner", "person", "professional", "provider", "physician", "i", "indv",
                   "ind", "1", "type 1", "practitioner/individual"],
    "facility": ["facility", "organization", "organisation", "org", "hospital", "clinic", "f", "2", "type 2",
                 "institution", "ancillary"],
    "group": ["group", "group practice", "medical group", "g"],
}.items():
    for _w in _words:
        PROVIDER_TYPE_VALUES[_w] = _t


# Values that parse as language tags (Yes = Yendang 'yes', Bilingual = Bilin 'byn', Multilingual =
# 'mul') but are answers, not languages: they do not say which language a patient will be served in.
NOT_LANGUAGES = {"yes", "y", "no", "n", "none", "na", "n/a", "other", "others", "unknown", "tbd", "true", "false",
                 "null", "nil", "all", "all languages", "various", "various languages", "multiple",
                 "multiple languages", "many", "bilingual", "multilingual", "multi-lingual", "bi-lingual",
                 "interpreter", "interpreters", "interpreter available", "interpreters available",
                 "interpreter services", "interpreter services available", "translation", "translator",
                 "translation services", "language line", "languageline", "see office", "call office",
                 "ask", "any", "foreign", "foreign language", "-"}
#: Tags that are no language a person speaks: multiple, undetermined, no linguistic content, uncoded.
NON_LANGUAGE_TAGS = {"mul", "und", "zxx", "mis"}

# Spellings langcodes does not know, and abbreviations whose ISO 639-3 meaning is not what US
# directories mean ('ASL' is American Sign Language, not Asilulu).
LANGUAGE_SYNONYMS = {
    "asl": "ase", "american sign language": "ase", "sign language": "sgn", "sign": "sgn",
    "espanol": "es", "spanish (espanol)": "es", "farsi": "fa", "persian (farsi)": "fa",
    "filipino": "fil", "tagalog": "tl", "chinese-mandarin": "cmn", "chinese-cantonese": "yue",
    "mandarin chinese": "cmn", "cantonese chinese": "yue", "serbo-croatian": "sh", "bosnian": "bs",
    "haitian creole": "ht", "creole": "crp", "micronesian": "chk", "chuukese": "chk", "marshallese": "mh",
}

_CODE_FORM = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$", re.IGNORECASE)


def _fold(value: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))


def is_not_language(value: str) -> bool:
    return _fold(value).lower().strip(" .") in NOT_LANGUAGES


@functools.lru_cache(maxsize=65536)
def language_tag(value: str) -> str | None:
    """BCP-47 tag for one language value ('Spanish', 'spa', 'es', 'Español' -> 'es'), else None."""
    text = value.strip()
    key = _fold(text).lower().strip(" .")
    if len(key) < 2 or key in NOT_LANGUAGES:
        return None
    if key in LANGUAGE_SYNONYMS:
        return LANGUAGE_SYNONYMS[key]
    if len(key) == 2 and key.isalpha():
        # an ISO 639-1 code ('en', as FHIR's BCP-47 codings write it) is the code, not a language
        # whose name happens to be two letters ('En' is a language of Vietnam, 'enc')
        code = _two_letter_code(key)
        if code:
            return code
    inner = re.match(r"^(.*?)\s*\((.+)\)\s*$", text)   # 'Chinese (Mandarin)': the variety is the answer
    if inner:
        return language_tag(inner.group(2)) or language_tag(inner.group(1))
    for candidate in (text, _fold(text)):
        try:
            tag = langcodes.find(candidate).to_tag()
            return None if tag in NON_LANGUAGE_TAGS else tag
        except (LookupError, UnicodeDecodeError, SystemError):   # language_data trie fails on some byte prefixes
            pass
    if _CODE_FORM.match(key):
        try:
            lang = langcodes.Language.get(key)
        except (langcodes.LanguageTagError, ValueError):
            return None
        if lang.is_valid() and lang.language and lang.language_name() != lang.language \
                and lang.language not in NON_LANGUAGE_TAGS:
            return langcodes.standardize_tag(key)
    return None


def _two_letter_code(key: str) -> str | None:
    try:
        lang = langcodes.Language.get(key)
    except (langcodes.LanguageTagError, ValueError):
        return None
    return langcodes.standardize_tag(key) if lang.is_valid() and lang.language_name() != lang.language else None


def language_name(tag: str) -> str:
    try:
        return langcodes.Language.get(tag).display_name()
    except (langcodes.LanguageTagError, ValueError):
        return tag


#: Words that fill a field without saying anything (folded: lower case, no spaces or punctuation):
#: placeholders (``checks/placeholders.py``). normalize gives a street that is one of them no location
#: key, so "N/A" streets are not grouped as one crowded address or one duplicate location.
NOTHING_WORDS = frozenset({
    "null", "nil", "none", "na", "n/a", "nav", "notavailable", "notapplicable", "unknown", "unk", "tbd", "tba",
    "pending", "xxx", "xx", "x", "0", "00", "000", "blank", "empty", "missing", "notprovided", "nodata",
    "test", "undefined", "nan", "unavailable", "addressunknown", "noaddress", "nophone", "seeabove",
    "various", "multiple", "-", "--", "?", "??", "...",
})
#: Every character Python's ``\s`` matches in text (``str.isspace``), written out. A pattern with this
#: class where it would say ``\s`` runs in Arrow's RE2 kernel on pandas' Arrow strings; with ``\s``
#: (whose meaning RE2 does not share) pandas runs Python's re value by value, several times slower.
SPACE_CHARS = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
               "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_FOLD_NOTHING = "[" + SPACE_CHARS + ".,_'\"()\\[\\]]+"


def nothing_mask(values) -> "np.ndarray":
    """Whether each value (a pandas Series of text) is a word that says nothing, or only punctuation."""
    import numpy as np
    folded = values.astype(str).str.lower().str.replace(_FOLD_NOTHING, "", regex=True)
    return (folded.isin(NOTHING_WORDS) | (folded == "")).to_numpy(dtype=bool)


TAXONOMY_CODE = re.compile(r"^[0-9]{3}[0-9A-Z]{6}X$")
NUCC_FILE = Path(__file__).with_name("data") / "nucc_taxonomy.csv"


@functools.lru_cache(maxsize=1)
def nucc() -> tuple[dict[str, str], dict[str, str]]:
    """(code -> display name, lower-cased name -> code) from the bundled NUCC taxonomy code set."""
    by_code: dict[str, str] = {}
    by_name: dict[str, str] = {}
    with NUCC_FILE.open(encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            code = row["Code"].strip()
            display = (row.get("Display Name") or "").strip()
            classification = row["Classification"].strip()
            specialization = (row.get("Specialization") or "").strip()
            by_code[code] = display or (f"{classification}, {specialization}" if specialization else classification)
            names = [display, specialization or classification]
            if specialization:
                names.append(f"{classification}, {specialization}")
                names.append(f"{classification} - {specialization}")
            else:
                names.append(classification)
            for n in names:
                if n:
                    by_name.setdefault(n.lower(), code)
    return by_code, by_name


STATE_NAMES = {
    "ALABAMA": "AL", "ALASKA": "AK", "ARIZONA": "AZ", "ARKANSAS": "AR", "CALIFORNIA": "CA", "COLORADO": "CO",
    "CONNECTICUT": "CT", "DELAWARE": "DE", "DISTRICT OF COLUMBIA": "DC", "FLORIDA": "FL", "GEORGIA": "GA",
    "HAWAII": "HI", "IDAHO": "ID", "ILLINOIS": "IL", "INDIANA": "IN", "IOWA": "IA", "KANSAS": "KS",
    "KENTUCKY": "KY", "LOUISIANA": "LA", "MAINE": "ME", "MARYLAND": "MD", "MASSACHUSETTS": "MA",
    "MICHIGAN": "MI", "MINNESOTA": "MN", "MISSISSIPPI": "MS", "MISSOURI": "MO", "MONTANA": "MT",
    "NEBRASKA": "NE", "NEVADA": "NV", "NEW HAMPSHIRE": "NH", "NEW JERSEY": "NJ", "NEW MEXICO": "NM",
    "NEW YORK": "NY", "NORTH CAROLINA": "NC", "NORTH DAKOTA": "ND", "OHIO": "OH", "OKLAHOMA": "OK",
    "OREGON": "OR", "PENNSYLVANIA": "PA", "RHODE ISLAND": "RI", "SOUTH CAROLINA": "SC", "SOUTH DAKOTA": "SD",
    "TENNESSEE": "TN", "TEXAS": "TX", "UTAH": "UT", "VERMONT": "VT", "VIRGINIA": "VA", "WASHINGTON": "WA",
    "WEST VIRGINIA": "WV", "WISCONSIN": "WI", "WYOMING": "WY", "PUERTO RICO": "PR", "GUAM": "GU",
    "VIRGIN ISLANDS": "VI", "AMERICAN SAMOA": "AS", "NORTHERN MARIANA ISLANDS": "MP",
}

"""Raw frame (strings, RAW_FIELDS) -> canonical table. The only place that renames and coerces.

Every step is a column operation; multi-valued and vocabulary fields are normalized once per
*distinct* value and mapped back, so a million rows cost what their vocabulary costs. Values that
do not parse are left missing beside their raw text, where the checks find them.
"""
from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd

from . import vocab
from .model import MULTI_SEP, RAW_FIELDS, SOURCE_COLUMNS

# Separators directories use inside one cell. Languages also split on '/' and ' and ';
# specialties do not, because 'Obstetrics/Gynecology' and 'Allergy and Immunology' are one specialty.
LANGUAGE_SEPARATORS = re.compile(r"\s*(?:[;,/|\n+&]|\band\b)\s*", re.IGNORECASE)
SPECIALTY_SEPARATORS = re.compile(r"\s*[;|\n]\s*")
ID_SEPARATORS = re.compile(r"[\s;,|]+")

CREDENTIALS = (r"MD|M\.D\.|DO|D\.O\.|NP|FNP|FNP-C|ARNP|PA|PA-C|DDS|DMD|DPM|OD|PhD|PsyD|LCSW|LPC|LMFT|RN|CNM|"
               r"DC|ND|LAc|MPH|MS|MSW|PMHNP|PMHNP-BC|DNP|APRN|CRNA|RD|PT|DPT|OT|OTR|CCC-SLP|FACP|FAAP|Jr\.?|Sr\.?|II|III|IV")
_TRAILING_CREDENTIALS = re.compile(rf"(?:[,\s]+(?:{CREDENTIALS}))+\s*$", re.IGNORECASE)
_LAST_FIRST = re.compile(r"^(?P<last>[^,]+),\s*(?P<first>[^\s,]+)(?:\s+(?P<middle>[^,]+?))?\s*(?:,\s*(?P<suffix>.*))?$")
_FIRST_LAST = re.compile(r"^(?:(?P<prefix>Dr\.?)\s+)?(?P<first>\S+)(?:\s+(?P<middle>.+?))?\s+(?P<last>\S+)$", re.IGNORECASE)
_ZIP = re.compile(r"^\s*(?P<zip>\d{5})(?:[\s-]?(?P<zip4>\d{4}))?\s*$")
_PHONE_EXT = re.compile(r"\s*(?:ext\.?|extension|x|#)\s*(?P<ext>\d{1,6})\s*$", re.IGNORECASE)
_DATE_FORMATS = ("%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%Y/%m/%d", "%Y%m%d")
_STREET_WORDS = {
    "STREET": "ST", "AVENUE": "AVE", "AV": "AVE", "ROAD": "RD", "DRIVE": "DR", "BOULEVARD": "BLVD", "LANE": "LN",
    "COURT": "CT", "PLACE": "PL", "PARKWAY": "PKWY", "HIGHWAY": "HWY", "SUITE": "STE", "NORTH": "N", "SOUTH": "S",
    "EAST": "E", "WEST": "W", "NORTHEAST": "NE", "NORTHWEST": "NW", "SOUTHEAST": "SE", "SOUTHWEST": "SW",
    "BUILDING": "BLDG", "FLOOR": "FL", "CIRCLE": "CIR", "TERRACE": "TER", "WAY": "WAY", "SQUARE": "SQ",
}


def per_unique(col: pd.Series, func) -> pd.Series:
    """``func`` (a vectorised Series -> Series function that keeps missing values missing) applied
    once per *distinct* non-missing value of ``col`` and spread back by position. A directory of a
    million rows has far fewer distinct phones, cities, dates or names, so string work costs what
    the vocabulary costs. The result has object dtype, None where ``col`` is missing."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    done = func(pd.Series(np.asarray(uniques, dtype=object), dtype="object"))
    values = done.astype("object").where(done.notna(), None).to_numpy(dtype=object)
    values = np.append(values, None)             # position -1 (missing) takes the trailing None
    return pd.Series(values.take(codes), index=col.index, dtype="object")


def per_unique_frame(col: pd.Series, func) -> pd.DataFrame:
    """Like ``per_unique`` for a ``func`` returning several columns (one factorization, one pass)."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    done = func(pd.Series(np.asarray(uniques, dtype=object), dtype="object"))
    done = done.astype("object").where(done.notna(), None)
    values = np.vstack([done.to_numpy(dtype=object), np.full((1, done.shape[1]), None, dtype=object)])
    return pd.DataFrame(values.take(codes, axis=0), index=col.index, columns=done.columns, dtype="object")


def _clean(col: pd.Series) -> pd.Series:
    """Strip whitespace; blank cells become missing. Keeps object dtype so None stays None."""
    return per_unique(col, _clean_values)


def _clean_values(col: pd.Series) -> pd.Series:
    s = col.astype("object")
    s = s.where(s.isna(), s.astype(str).str.strip())
    return s.where(s.notna() & (s != ""), None)


def _map_unique(col: pd.Series, func) -> pd.Series:
    """Apply ``func`` once per distinct non-missing value and map the result back."""
    return per_unique(col, lambda s: s.map(func))


def _join(values) -> str | None:
    seen = list(dict.fromkeys(v for v in values if v))
    return MULTI_SEP.join(seen) if seen else None


_ONE_LINE = re.compile(r"^(?P<street>.+?),\s*(?P<city>[^,\d]+?),?\s+(?P<state>[A-Za-z]{2})\.?,?\s+"
                       r"(?P<zip>\d{5}(?:-?\d{4})?)\s*$")
_USADDRESS_STREET = ("AddressNumber", "StreetNamePreDirectional", "StreetNamePreType", "StreetName",
                     "StreetNamePostType", "StreetNamePostDirectional", "OccupancyType", "OccupancyIdentifier",
                     "USPSBoxType", "USPSBoxID", "BuildingName")


def _split_one_line_address(line: str) -> tuple[str | None, str | None, str | None, str | None]:
    """'123 Main St, Ste 4, Portland, OR 97201' -> (street, city, state, zip); Nones when it is not one."""
    m = _ONE_LINE.match(line)
    if m:
        return m["street"].strip(" ,"), m["city"].strip(), m["state"], m["zip"]
    import usaddress   # no commas: let the address parser find where the street ends
    try:
        tagged, kind = usaddress.tag(line)
    except usaddress.RepeatedLabelError:
        return None, None, None, None
    if kind != "Street Address" or not {"PlaceName", "StateName", "ZipCode"} <= set(tagged):
        return None, None, None, None
    street = " ".join(tagged[k] for k in _USADDRESS_STREET if k in tagged)
    return street or None, tagged["PlaceName"].strip(" ,"), tagged["StateName"].strip(" ,."), tagged["ZipCode"]


def _split_one_line_addresses(f: dict[str, pd.Series]) -> None:
    """Where a row has an address but no city, state or ZIP, read them out of the address cell
    (directories and scraped pages often give one line). The raw cell stays in address_line1_raw."""
    need = f["address_line1"].notna() & f["city"].isna() & f["state"].isna() & f["zip"].isna()
    if not need.any():
        return
    parts = f["address_line1"][need].map(_split_one_line_address)
    parsed = parts[parts.map(lambda t: t[0] is not None)]
    for i, field in enumerate(("address_line1", "city", "state", "zip")):
        col = f[field].astype("object").copy()
        col.loc[parsed.index] = parsed.map(lambda t: t[i])
        f[field] = col


def normalize(raw: pd.DataFrame) -> pd.DataFrame:
    """Canonical table from a raw frame; see ``model.CANONICAL_COLUMNS`` for what each column holds."""
    raw = raw.reset_index(drop=True)
    n = len(raw)
    out = pd.DataFrame(index=raw.index)
    for c in SOURCE_COLUMNS:
        out[c] = raw[c].astype("object") if c in raw.columns else None
    f = {name: (_clean(raw[name]) if name in raw.columns else pd.Series([None] * n, dtype="object"))
         for name in RAW_FIELDS}
    for name, col in f.items():
        out[f"{name}_raw"] = col
    _split_one_line_addresses(f)
    for name in ("city", "state", "zip"):     # the parts read out of a one-line address are its raw text
        out[f"{name}_raw"] = f[name]

    # Identifiers: a 10-digit NPI after dropping spaces and dashes; anything else stays only raw.
    out["npi"] = per_unique(f["npi"], _npi_values)
    out["npi_entity_type"] = per_unique(f["npi_entity_type"], lambda s: s.str.extract(r"([12])", expand=False))

    # Names: parts when given, else parsed from one full-name cell.
    parts = {k: f[k] for k in ("prefix", "first_name", "middle_name", "last_name", "suffix")}
    full = f["name"]
    need = full.notna() & parts["last_name"].isna() & parts["first_name"].isna()
    if need.any():
        parsed = _parse_full_names(full[need])
        for k in parts:
            parts[k] = parts[k].astype("object")
            parts[k].loc[need] = parsed[k]
    for k, v in parts.items():
        out[k] = v

    ptype = _map_unique(f["provider_type"], lambda v: vocab.PROVIDER_TYPE_VALUES.get(v.strip().lower().strip(".")))
    has_person = out["last_name"].notna() | out["first_name"].notna()
    facility_name = f["facility_name"]
    # A one-cell name with no person parts and a facility-type row is the facility's name.
    facility_name = facility_name.where(facility_name.notna() | ~((ptype == "facility") & full.notna() & ~has_person), full)
    out["facility_name"] = facility_name
    inferred = np.where(has_person, "individual", np.where(facility_name.notna(), "facility", "unknown"))
    out["provider_type"] = ptype.where(ptype.notna(), pd.Series(inferred, index=raw.index)).astype("object")
    out["display_name"] = _display_names(out)
    out["gender"] = f["gender"]

    # Specialties: NUCC codes from code cells and from names that match the code set.
    codes, names = _specialties(f["specialties"])
    out["specialty_codes"] = codes
    out["specialty_names"] = names

    # Location.
    out["address_line1"] = f["address_line1"]
    out["address_line2"] = f["address_line2"]
    out["city"] = per_unique(f["city"], lambda s: s.str.upper().str.replace(r"\s+", " ", regex=True))
    out["state"] = per_unique(f["state"], lambda s: s.str.upper().str.strip(". ").map(
        lambda v: vocab.STATE_NAMES.get(v, v), na_action="ignore"))
    out["zip"] = per_unique(f["zip"], lambda s: s.str.replace(r"\.0$", "", regex=True).str.extract(_ZIP)["zip"])
    out["zip4"] = per_unique(f["zip"], lambda s: s.str.replace(r"\.0$", "", regex=True).str.extract(_ZIP)["zip4"])
    out["county"] = per_unique(f["county"], lambda s: s.str.replace(r"(?i)\s+county$", "", regex=True))
    phone, ext = per_unique_frame(f["phone"], lambda s: pd.concat(_phones(s), axis=1)).T.to_numpy()
    phone = pd.Series(phone, index=raw.index, dtype="object")
    ext = pd.Series(ext, index=raw.index, dtype="object")
    out["phone"] = phone
    out["phone_extension"] = ext

    # Open practice.
    out["accepting_status"] = _map_unique(f["accepting_status"], vocab.accepting_status).fillna("unknown")
    out["provider_accepting_status"] = _map_unique(f["provider_accepting_status"], vocab.accepting_status).fillna("unknown")

    # Languages: recognized tags, and what was written but is not a language.
    out["languages"] = per_unique(f["languages"], lambda s: s.map(lambda v: _languages(v)[0]))
    out["languages_unrecognized"] = per_unique(f["languages"], lambda s: s.map(lambda v: _languages(v)[1]))

    out["plan_ids"] = _map_unique(f["plan_ids"], lambda v: _join(ID_SEPARATORS.split(v)))
    out["network_ids"] = _map_unique(f["network_ids"], lambda v: _join(x.strip() for x in SPECIALTY_SEPARATORS.split(v)))
    codes, uniques = pd.factorize(f["last_updated"], use_na_sentinel=True)
    dates = parse_dates(pd.Series(np.asarray(uniques, dtype=object), dtype="object"))
    out["last_updated"] = pd.Series(np.append(dates.to_numpy(), np.datetime64("NaT")).take(codes),
                                    index=raw.index).astype(dates.dtype)

    out["location_key"] = location_key(out["address_line1"], out["zip"])
    named = per_unique(out["display_name"].where(out["npi"].isna()), lambda s: "name:" + s.str.upper())
    out["provider_key"] = out["npi"].where(out["npi"].notna(), named.where(named.notna(), "name:"))
    # Text columns stay object dtype even when every value is missing (an all-missing column would
    # otherwise come out float and break the checks' .str accessors).
    text_cols = [c for c in out.columns if c != "last_updated" and out[c].dtype != object]
    if text_cols:
        out[text_cols] = out[text_cols].astype(object).where(out[text_cols].notna(), None)
    return out


def _npi_values(col: pd.Series) -> pd.Series:
    plain = col.str.fullmatch(r"\d{10}").fillna(False).astype(bool)
    if plain.all():                                  # the usual case: nothing to strip
        return col
    out = col.where(plain, None)
    out[~plain] = _npi_strip(col[~plain])
    return out


def _npi_strip(col: pd.Series) -> pd.Series:
    digits = col.str.replace(r"[\s-]", "", regex=True)
    digits = digits.str.replace(r"\.0$", "", regex=True)          # Excel numbers read as text
    return digits.where(digits.str.fullmatch(r"\d{10}").fillna(False).astype(bool), None)


def _parse_full_names(full: pd.Series) -> pd.DataFrame:
    """'Smith, Jane A, MD' or 'Dr. Jane A. Smith MD' -> name parts, vectorised with two patterns.
    Trailing credentials are taken off first, so 'Jane Smith, PA-C' is not read as last, first."""
    res = pd.DataFrame({k: pd.Series([None] * len(full), index=full.index, dtype="object")
                        for k in ("prefix", "first_name", "middle_name", "last_name", "suffix")})
    creds = full.str.extract(f"({_TRAILING_CREDENTIALS.pattern})", flags=re.IGNORECASE)[0].str.strip(" ,")
    core = full.str.replace(_TRAILING_CREDENTIALS, "", regex=True).str.strip(" ,")
    res["suffix"] = creds.where(creds.notna() & (creds != ""), None)
    comma = core.str.contains(",", regex=False)
    lf = core[comma].str.extract(_LAST_FIRST)
    res.loc[lf.index, "last_name"] = lf["last"].str.strip()
    res.loc[lf.index, "first_name"] = lf["first"]
    res.loc[lf.index, "middle_name"] = lf["middle"]
    extra = lf["suffix"].where(lf["suffix"].notna() & (lf["suffix"] != ""))
    res.loc[lf.index, "suffix"] = extra.where(extra.notna(), res.loc[lf.index, "suffix"])
    plain = core[~comma]
    fl = plain.str.extract(_FIRST_LAST)
    res.loc[fl.index, "prefix"] = fl["prefix"]
    res.loc[fl.index, "first_name"] = fl["first"]
    res.loc[fl.index, "middle_name"] = fl["middle"]
    res.loc[fl.index, "last_name"] = fl["last"]
    return res.astype("object").where(res.notna(), None)


def _display_names(out: pd.DataFrame) -> pd.Series:
    person = (out["first_name"].fillna("") + " " + out["middle_name"].fillna("") + " " + out["last_name"].fillna(""))
    person = per_unique(person, lambda s: s.str.replace(r"\s+", " ", regex=True).str.strip())
    person = person.where(out["suffix"].isna(), person + ", " + out["suffix"].fillna(""))
    name = person.where(person != "", out["facility_name"])
    name = name.where(out["provider_type"] != "facility", out["facility_name"].where(out["facility_name"].notna(), name))
    return name.where(name.notna() & (name != ""), None)


def _specialties(col: pd.Series) -> tuple[pd.Series, pd.Series]:
    by_code, by_name = vocab.nucc()

    def one(cell: str) -> tuple[str | None, str | None]:
        codes, names = [], []
        for token in SPECIALTY_SEPARATORS.split(cell):
            for part in ([token] if not vocab.TAXONOMY_CODE.match(token.split(",")[0].strip().upper())
                         else [t.strip() for t in token.split(",")]):
                part = part.strip()
                if not part:
                    continue
                up = part.upper()
                if vocab.TAXONOMY_CODE.match(up):
                    codes.append(up)
                    names.append(by_code.get(up, up))
                else:
                    code = by_name.get(part.lower())
                    if code:
                        codes.append(code)
                    names.append(part)
        return _join(codes), _join(names)

    mapped = _map_unique(col, one)
    return mapped.map(lambda t: t[0], na_action="ignore"), mapped.map(lambda t: t[1], na_action="ignore")


def _phones(col: pd.Series) -> tuple[pd.Series, pd.Series]:
    """E.164 for 10-digit NANP numbers (leading 1 allowed); the extension apart. Validity is a check."""
    ext = col.str.extract(_PHONE_EXT)["ext"]
    body = col.str.replace(_PHONE_EXT, "", regex=True)
    digits = body.str.replace(r"\D", "", regex=True)
    digits = digits.where(~(digits.str.len().eq(11) & digits.str.startswith("1")), digits.str[1:])
    ok = digits.str.fullmatch(r"\d{10}").fillna(False).astype(bool)
    phone = ("+1" + digits).where(ok, None)
    return phone.astype("object"), ext.astype("object").where(ext.notna(), None)


def _languages(cell: str) -> tuple[str | None, str | None]:
    if vocab.is_not_language(cell):          # 'N/A' must not be split into 'N' and 'A'
        return None, cell.strip()
    tags, bad = [], []
    for token in LANGUAGE_SEPARATORS.split(cell):
        token = token.strip(" .")
        if not token:
            continue
        tag = vocab.language_tag(token)
        (tags if tag else bad).append(tag or token)
    return _join(tags), _join(bad)


def parse_dates(col: pd.Series) -> pd.Series:
    """Dates in ISO 8601 (with or without time) and the usual US formats; NaT when none fits."""
    values = col.astype("object")
    result = pd.to_datetime(values, format="ISO8601", errors="coerce", utc=True)
    for fmt in _DATE_FORMATS:
        todo = result.isna() & values.notna()
        if not todo.any():
            break
        result = result.where(~todo, pd.to_datetime(values.where(todo), format=fmt, errors="coerce", utc=True))
    return result.dt.tz_localize(None).dt.normalize()


def fold_accents(text: str) -> str:
    """'Peña' -> 'Pena': accents dropped so two spellings of one name or street compare equal."""
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def location_key(line1: pd.Series, zip5: pd.Series) -> pd.Series:
    """'123 N. Main Street, Suite 4' + 97201 -> '123 N MAIN ST STE 4|97201' for grouping by location."""
    def one(line: str) -> str:
        words = re.sub(r"[^\w\s#]", " ", fold_accents(line).upper()).replace("#", " STE ").split()
        return " ".join(_STREET_WORDS.get(w, w) for w in words)
    key = _map_unique(line1, one)
    return (key + "|" + zip5.fillna("")).where(line1.notna(), None)


# A location key's suite, unit, floor or building part, up to the ZIP.
_SUITE_PART = re.compile(r"(?:^|\s)(?:STE|UNIT|APT|APARTMENT|RM|ROOM|FL|BLDG|DEPT)(?:\s[^|]*)?(?=\|)")


def building_key(location_keys: pd.Series) -> pd.Series:
    """A location key without its suite, unit or floor: '123 N MAIN ST STE 4|97201' ->
    '123 N MAIN ST|97201', the building two listings of one office share whichever suite each
    names. Missing when the key is, or when nothing but a suite was written."""
    def strip(keys: pd.Series) -> pd.Series:
        out = keys.str.replace(_SUITE_PART, "", regex=True).str.strip()
        return out.where(~out.str.startswith("|"), None)
    return per_unique(location_keys, strip)

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

from . import provider_types, vocab
from .fold import fold_split_listings
from .model import MULTI_SEP, RAW_FIELDS, SOURCE_COLUMNS, first_rows, group_codes

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
    return Coded(codes, pd.Series(np.asarray(uniques, dtype=object), dtype="object"), col.index).apply(func)


class Coded:
    """A column as (integer codes, distinct values): codes -1 where missing. normalize factorizes
    each raw field once and derives every normalized field from the distinct values, so a million
    rows pay for one factorization per field, not one per derived column."""
    __slots__ = ("codes", "values", "index")

    def __init__(self, codes: np.ndarray, values: pd.Series, index: pd.Index):
        self.codes, self.values, self.index = codes, values, index

    @classmethod
    def of(cls, col: pd.Series) -> "Coded":
        """The column's distinct values stripped, blank ones missing (cells equal once stripped
        share one code)."""
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
        as_written = cls(codes.astype(np.int64, copy=False), pd.Series(np.asarray(uniques, dtype=object),
                                                                       dtype="object"), col.index)
        cleaned = _clean_values(as_written.values)
        if cleaned.notna().all() and cleaned.eq(as_written.values).all():    # the usual case: nothing to strip
            return as_written
        return as_written.derive(cleaned)

    @classmethod
    def missing(cls, index: pd.Index) -> "Coded":
        return cls(np.full(len(index), -1, dtype=np.int64), pd.Series([], dtype="object"), index)

    def derive(self, done: pd.Series) -> "Coded":
        """The Coded of a column derived value by value (``done``: one result per distinct value).
        Its codes equal ``pd.factorize`` of the derived column (first appearance order)."""
        to_new, values = pd.factorize(done.astype("object").where(done.notna(), None), use_na_sentinel=True)
        codes = np.where(self.codes >= 0, np.append(to_new, -1)[self.codes], -1)
        return Coded(codes.astype(np.int64, copy=False), pd.Series(np.asarray(values, dtype=object), dtype="object"),
                     self.index)

    def take(self, positions: np.ndarray, index: pd.Index) -> "Coded":
        """The Coded of the rows at ``positions`` (codes re-numbered in first appearance order, as
        ``pd.factorize`` of the subset would give)."""
        codes, at = pd.factorize(self.codes[positions])
        values = np.append(self.values.to_numpy(dtype=object), None)
        present = at >= 0
        new_codes = np.where(codes >= 0, codes, -1)
        if (~present).any():        # a missing value (-1) got a code of its own: make it -1 again
            missing_code = int(np.flatnonzero(~present)[0])
            new_codes = np.where(new_codes == missing_code, -1, new_codes - (new_codes > missing_code))
            at = at[present]
        return Coded(new_codes.astype(np.int64), pd.Series(values[at], dtype="object"), index)

    @property
    def factor(self) -> tuple[np.ndarray, np.ndarray]:
        """(codes, distinct values) in ``model.key_factor``'s shape."""
        return self.codes, self.values.to_numpy(dtype=object)

    def spread(self, values=None, missing: str | None = None) -> pd.Series:
        """Per-distinct ``values`` (default: the distinct values themselves) back to every row;
        ``missing`` where the row has no value."""
        done = self.values if values is None else values
        done = pd.Series(done) if not isinstance(done, pd.Series) else done
        arr = done.astype("object").where(done.notna(), None).to_numpy(dtype=object)
        return pd.Series(np.append(arr, missing).take(np.where(self.codes >= 0, self.codes, len(arr))),
                         index=self.index, dtype="object")

    def apply(self, func) -> pd.Series:
        """``func`` (vectorised, distinct values -> one result each) spread back to every row."""
        return self.spread(func(self.values))

    def apply_frame(self, func) -> pd.DataFrame:
        done = func(self.values)
        return pd.DataFrame({c: self.spread(done[c]) for c in done.columns}, index=self.index)

    def map(self, func) -> pd.Series:
        """A plain function once per distinct value."""
        return self.apply(lambda s: s.map(func, na_action="ignore"))


def _clean_values(col: pd.Series) -> pd.Series:
    s = col.astype("object")
    s = s.where(s.isna(), s.astype(str).str.strip())
    return s.where(s.notna() & (s != ""), None)


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


def _split_one_line_addresses(f: dict[str, pd.Series], coded: dict[str, "Coded"]) -> bool:
    """Where a row has an address but no city, state or ZIP, read them out of the address cell
    (directories and scraped pages often give one line). The raw cell stays in address_line1_raw.
    True when any row was split. (Which cells are missing is read from the codes: no pass over a
    million text cells.)"""
    need = (coded["address_line1"].codes >= 0) & (coded["city"].codes < 0) & (coded["state"].codes < 0) \
        & (coded["zip"].codes < 0)
    if not need.any():
        return False
    need = pd.Series(need, index=f["address_line1"].index)
    parts = f["address_line1"][need].map(_split_one_line_address)
    parsed = parts[parts.map(lambda t: t[0] is not None)]
    if parsed.empty:
        return False
    for i, field in enumerate(("address_line1", "city", "state", "zip")):
        col = f[field].astype("object").copy()
        col.loc[parsed.index] = parsed.map(lambda t: t[i])
        f[field] = col
    return True


# Key columns the checks group by; normalize has their factorizations almost for free.
SHARED_FACTORS = ("npi", "phone", "location_key", "provider_key", "phone_raw", "languages_raw",
                  "address_line1_raw", "address_line2_raw", "first_name", "middle_name", "last_name", "suffix",
                  "gender", "languages")


def normalize(raw: pd.DataFrame, factors: dict | None = None) -> pd.DataFrame:
    """Canonical table from a raw frame; see ``model.CANONICAL_COLUMNS`` for what each column holds.

    When ``factors`` is a dict, it receives ``column -> (codes, distinct values)`` for the key
    columns in SHARED_FACTORS, exactly what ``pd.factorize`` of each column gives; the audit hands
    them to ``model.key_factor`` so the checks do not hash a million strings again."""
    raw = raw.reset_index(drop=True)
    index = raw.index
    out = pd.DataFrame(index=index)
    for c in SOURCE_COLUMNS:
        # a record's id is its own; the format and file are one shared string for every row
        out[c] = (raw[c].astype("object") if c == "record_id" else per_unique(raw[c], lambda v: v)) \
            if c in raw.columns else None
    coded = {name: Coded.of(raw[name]) if name in raw.columns else Coded.missing(index) for name in RAW_FIELDS}
    # Everything below reads the coded fields: when the caller handed over its only reference to the
    # raw frame (``LoadResult.take_frame``), its memory (hundreds of MB at a million rows) goes back now.
    del raw
    _release_arrow_memory()
    f = {name: c.spread() for name, c in coded.items()}
    shared = {f"{name}_raw": coded[name] for name in RAW_FIELDS}
    for name, col in f.items():
        out[f"{name}_raw"] = col
    if _split_one_line_addresses(f, coded):
        for name in ("address_line1", "city", "state", "zip"):
            coded[name] = Coded.of(f[name])
        for name in ("city", "state", "zip"):     # the parts read out of a one-line address are their raw text
            out[f"{name}_raw"] = f[name]
            shared[f"{name}_raw"] = coded[name]

    # Identifiers: a 10-digit NPI after dropping spaces and dashes; anything else stays only raw.
    npi = coded["npi"].derive(_npi_values(coded["npi"].values))
    shared["npi"] = npi
    out["npi"] = npi.spread()
    out["npi_entity_type"] = coded["npi_entity_type"].apply(lambda s: s.str.extract(r"([12])", expand=False))

    # Provider type from every signal (provider_types.RULES), before any name is parsed: a one-cell
    # name that is an organisation's ('PINNACLE DERMATOLOGY') must not become first and last name.
    names = ("prefix", "first_name", "middle_name", "last_name", "suffix")
    parts = {k: f[k] for k in names}
    shared.update({k: coded[k] for k in names})
    full = f["name"]
    types = provider_types.classify(coded["provider_type"], out["npi_entity_type"], f["first_name"], f["last_name"],
                                    full, coded["suffix"], coded["facility_name"])
    person_like = types["provider_type"].isin(["individual", "unknown"])
    need = (coded["name"].codes >= 0) & (coded["last_name"].codes < 0) & (coded["first_name"].codes < 0) \
        & person_like.to_numpy(dtype=bool)
    if need.any():
        need = pd.Series(need, index=index)
        parsed = _parse_full_names(full[need])
        for k in names:
            parts[k] = parts[k].astype("object")
            parts[k].loc[need] = parsed[k]
            shared[k] = Coded.of(parts[k])
    for k, v in parts.items():
        out[k] = v

    # An organisation named only in the name cell or the last-name field carries that name as its
    # facility/group name.
    facility_name = f["facility_name"]
    named_elsewhere = facility_name.isna() & types["organization_name"].notna()
    if named_elsewhere.any():
        facility_name = facility_name.where(~named_elsewhere, types["organization_name"])
    out["facility_name"] = facility_name
    out["provider_type"] = types["provider_type"]
    out["provider_type_basis"] = types["provider_type_basis"]
    out["display_name"] = _display_names(out)
    out["gender"] = f["gender"]
    shared["gender"] = coded["gender"]

    # Specialties: NUCC codes from code cells and from names that match the code set.
    specialties = coded["specialties"].apply_frame(_specialties)
    out["specialty_codes"] = specialties["codes"]
    out["specialty_names"] = specialties["names"]

    # Location.
    out["address_line1"] = f["address_line1"]
    out["address_line2"] = f["address_line2"]
    out["city"] = coded["city"].apply(lambda s: s.str.upper().str.replace(r"\s+", " ", regex=True))
    out["state"] = coded["state"].apply(lambda s: s.str.upper().str.strip(". ").map(
        lambda v: vocab.STATE_NAMES.get(v, v), na_action="ignore"))
    zips = coded["zip"].apply_frame(lambda s: s.str.replace(r"\.0$", "", regex=True).str.extract(_ZIP))
    out["zip"] = zips["zip"]
    out["zip4"] = zips["zip4"]
    out["county"] = coded["county"].apply(lambda s: s.str.replace(r"(?i)\s+county$", "", regex=True))
    e164, extension = _phones(coded["phone"].values)
    shared["phone"] = coded["phone"].derive(e164)
    out["phone"] = shared["phone"].spread()
    out["phone_extension"] = coded["phone"].spread(extension)

    # Open practice.
    for name in ("accepting_status", "provider_accepting_status"):
        statuses = coded[name].values.map(vocab.accepting_status, na_action="ignore").fillna("unknown")
        out[name] = coded[name].spread(statuses, missing="unknown")

    # Languages: recognized tags, and what was written but is not a language.
    languages = pd.DataFrame([_languages(v) for v in coded["languages"].values], columns=["tags", "bad"], dtype="object")
    shared["languages"] = coded["languages"].derive(languages["tags"])
    out["languages"] = shared["languages"].spread()
    out["languages_unrecognized"] = coded["languages"].spread(languages["bad"])

    out["plan_ids"] = coded["plan_ids"].map(lambda v: _join(ID_SEPARATORS.split(v)))
    out["network_ids"] = coded["network_ids"].map(lambda v: _join(x.strip() for x in SPECIALTY_SEPARATORS.split(v)))
    dates = parse_dates(coded["last_updated"].values)
    out["last_updated"] = pd.Series(np.append(dates.to_numpy(), np.datetime64("NaT")).take(
        np.where(coded["last_updated"].codes >= 0, coded["last_updated"].codes, len(dates))), index=index
    ).astype(dates.dtype)

    shared["location_key"] = _location_keys(coded["address_line1"], coded["zip"], zips["zip"])
    out["location_key"] = shared["location_key"].spread()
    shared["provider_key"] = _provider_keys(npi, out["display_name"])
    out["provider_key"] = shared["provider_key"].spread()
    # Text columns stay object dtype even when every value is missing (an all-missing column would
    # otherwise come out float and break the checks' .str accessors).
    text_cols = [c for c in out.columns if c != "last_updated" and out[c].dtype != object]
    if text_cols:
        out[text_cols] = out[text_cols].astype(object).where(out[text_cols].notna(), None)
    # One listing split over rows (per specialty, plan or network) becomes one provider-location.
    out, keep = fold_split_listings(out, shared["provider_key"].codes, shared["location_key"].codes, tuple(RAW_FIELDS))
    if factors is not None:
        if keep is not None:
            changed = {"languages", "languages_raw"}      # the folded rows' joined values are new
            factors.update({c: (Coded.of(out[c]) if c in changed else shared[c].take(keep, out.index)).factor
                            for c in SHARED_FACTORS})
        else:
            factors.update({c: shared[c].factor for c in SHARED_FACTORS})
    return out


def _release_arrow_memory() -> None:
    """Hand the pages Arrow's allocator keeps after its arrays are freed back to the system: the
    rest of the run allocates with Python's and numpy's allocator, which cannot reuse them."""
    import pyarrow as pa
    pa.default_memory_pool().release_unused()


def _provider_keys(npi: Coded, display_name: pd.Series) -> Coded:
    """The NPI, else 'name:' + the upper-cased display name ('name:' alone when there is none)."""
    no_npi = npi.codes < 0
    named = Coded.of(display_name.where(no_npi, None))
    named_keys = "name:" + named.values.str.upper()
    # NPIs keep their codes; each distinct name key comes after them, missing names share 'name:'
    by_name, name_values = pd.factorize(pd.concat([named_keys, pd.Series(["name:"])], ignore_index=True))
    combined = np.where(no_npi, len(npi.values) + by_name[np.where(named.codes >= 0, named.codes, len(named.values))],
                        npi.codes)
    codes, at = pd.factorize(combined)
    values = np.concatenate([npi.values.to_numpy(dtype=object), np.asarray(name_values, dtype=object)])[at]
    return Coded(codes.astype(np.int64, copy=False), pd.Series(values, dtype="object"), npi.index)


def _npi_values(col: pd.Series) -> pd.Series:
    plain = pd.Series(fullmatch(col, r"[0-9]{10}"), index=col.index)
    if plain.all():                                  # the usual case: nothing to strip
        return col
    out = col.where(plain, None)
    out[~plain] = _npi_strip(col[~plain])
    return out


def _npi_strip(col: pd.Series) -> pd.Series:
    digits = col.str.replace(r"[\s-]", "", regex=True)
    digits = digits.str.replace(r"\.0$", "", regex=True)          # Excel numbers read as text
    return digits.where(fullmatch(digits, r"[0-9]{10}"), None)


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


def _arrow_text(col: pd.Series):
    import pyarrow as pa
    return pa.array(col.to_numpy(dtype=object), type=pa.string(), from_pandas=True)


def fullmatch(values: pd.Series, pattern: str) -> np.ndarray:
    """Whether each value fully matches ``pattern`` (RE2 syntax: no look-arounds or back-references;
    ``\\d`` is ASCII), False where missing: Arrow's regex kernel, several times faster than Python's
    re over hundreds of thousands of values."""
    import pyarrow.compute as pc
    hit = pc.match_substring_regex(_arrow_text(values), f"^(?:{pattern})$")
    return hit.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)


# whitespace other than a plain space (Python's \s and Unicode spaces such as the no-break space)
_ODD_SPACE = r"[\t\n\r\f\v\x{1c}-\x{1f}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}]"


def _display_names(out: pd.DataFrame) -> pd.Series:
    """'First Middle Last, Suffix', else the facility name; a facility row shows its facility name.
    Built with Arrow's string kernels: nearly every row of a large directory has a name of its own,
    so there is no vocabulary to save on and the per-row work has to run in C++."""
    import pyarrow as pa
    import pyarrow.compute as pc
    first, middle, last = (pc.fill_null(_arrow_text(out[c]), "") for c in ("first_name", "middle_name", "last_name"))
    # joining only the parts that are there: no doubled spaces to collapse in the usual case
    person = pc.if_else(pc.equal(middle, ""), pc.binary_join_element_wise(first, last, " "),
                        pc.binary_join_element_wise(first, middle, last, " "))
    person = pc.utf8_trim_whitespace(person)
    odd = pc.or_(pc.match_substring(person, "  "), pc.match_substring_regex(person, _ODD_SPACE))
    if pc.any(odd).as_py():
        person = pc.utf8_trim_whitespace(pc.replace_substring_regex(person, r"(?:\s|" + _ODD_SPACE + ")+", " "))
    suffix = _arrow_text(out["suffix"])
    person = pc.if_else(pc.is_null(suffix), person, pc.binary_join_element_wise(person, suffix, ", "))
    facility = _arrow_text(out["facility_name"])
    is_facility = pa.array(out["provider_type"].isin(["facility", "group"]).to_numpy(dtype=bool))
    name = pc.if_else(pc.equal(person, ""), facility, person)
    name = pc.if_else(pc.and_(is_facility, pc.is_valid(facility)), facility, name)
    name = pc.if_else(pc.equal(name, ""), pa.scalar(None, pa.string()), name)
    return pd.Series(name.to_numpy(zero_copy_only=False), index=out.index, dtype="object")


def _specialties(cells: pd.Series) -> pd.DataFrame:
    """Distinct specialty cells -> their NUCC codes and names (columns ``codes``, ``names``)."""
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

    return pd.DataFrame([one(c) for c in cells], columns=["codes", "names"], index=cells.index)


def _phones(col: pd.Series) -> tuple[pd.Series, pd.Series]:
    """E.164 for 10-digit NANP numbers (leading 1 allowed); the extension apart. Validity is a check."""
    col = col.astype("object")
    ext = pd.Series(None, index=col.index, dtype="object")
    body = col
    # only a cell with a letter or '#' can carry an extension: the (slow) pattern reads just those
    lettered = col.str.contains(r"[A-Za-z#]", regex=True).fillna(False).to_numpy(dtype=bool)
    if lettered.any():
        ext[lettered] = col[lettered].str.extract(_PHONE_EXT)["ext"]
        body = col.copy()
        body[lettered] = col[lettered].str.replace(_PHONE_EXT, "", regex=True)
    # Arrow strings: the digit filter runs in C++ (RE2, ASCII digits only), not once per value in Python
    digits = body.astype("str").str.replace(r"[^0-9]+", "", regex=True)
    eleven = digits.str.len().eq(11) & digits.str.startswith("1")
    digits = digits.where(~eleven, digits.str.slice(1))
    ok = digits.str.len().eq(10).fillna(False).to_numpy(dtype=bool)
    phone = pd.Series(None, index=col.index, dtype="object")
    phone[ok] = ("+1" + digits[ok]).to_numpy(dtype=object)
    return phone.where(phone.notna(), None), ext.where(ext.notna(), None)


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
    """Dates in ISO 8601 (with or without time), the usual US formats, and Unix epoch milliseconds
    as JSON search APIs send them; NaT when none fits."""
    values = col.astype("object")
    result = pd.to_datetime(values, format="ISO8601", errors="coerce", utc=True)
    # JSON search APIs send epoch milliseconds (1707795660000): 12-13 digits, 2001-09 to 2100, so no
    # YYYYMMDD date or phone-like number is taken for one.
    epoch = values.where(result.isna()).astype("str").str.fullmatch(r"\d{12,13}").fillna(False).astype(bool)
    if epoch.any():
        ms = pd.to_numeric(values[epoch], errors="coerce")
        ms = ms.where((ms >= 1_000_000_000_000) & (ms < 4_102_444_800_000))
        result = result.where(~epoch, pd.to_datetime(ms, unit="ms", errors="coerce", utc=True).reindex(values.index))
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


def _street_key(line: str) -> str:
    """'123 N. Main Street, Suite 4' -> '123 N MAIN ST STE 4'."""
    words = re.sub(r"[^\w\s#]", " ", fold_accents(line).upper()).replace("#", " STE ").split()
    return " ".join(_STREET_WORDS.get(w, w) for w in words)


def _street_keys(lines: pd.Series) -> np.ndarray:
    """``_street_key`` of many distinct address lines: ASCII lines with Arrow's string kernels (a
    directory has hundreds of thousands of distinct lines), the others one by one in Python, where
    accents are folded and Unicode word characters kept."""
    import pyarrow as pa
    import pyarrow.compute as pc
    out = np.empty(len(lines), dtype=object)
    if not len(lines):
        return out
    text = _arrow_text(lines)
    plain = pc.string_is_ascii(text).to_numpy(zero_copy_only=False)
    if (~plain).any():
        out[~plain] = [_street_key(v) for v in lines.to_numpy(dtype=object)[~plain]]
    if plain.any():
        t = pc.ascii_upper(pc.filter(text, pa.array(plain)))
        t = pc.replace_substring_regex(t, r"[^A-Z0-9_\t\n\v\f\r #]", " ")
        t = pc.utf8_trim_whitespace(pc.replace_substring(t, "#", " STE "))
        words = pc.split_pattern_regex(t, r"[\t\n\v\f\r ]+")
        flat = pc.list_flatten(words)
        at = pc.index_in(flat, value_set=pa.array(list(_STREET_WORDS)))
        flat = pc.if_else(pc.is_null(at), flat, pc.take(pa.array(list(_STREET_WORDS.values())), at))
        joined = pc.binary_join(pa.ListArray.from_arrays(words.offsets, flat), " ")
        out[plain] = joined.to_numpy(zero_copy_only=False)
    return out


def location_key(line1: pd.Series, zip5: pd.Series) -> pd.Series:
    """'123 N. Main Street, Suite 4' + 97201 -> '123 N MAIN ST STE 4|97201' for grouping by location."""
    key = per_unique(line1, lambda lines: pd.Series(_street_keys(lines), index=lines.index, dtype="object"))
    return (key + "|" + zip5.fillna("")).where(line1.notna(), None)


def _location_keys(line1: Coded, zip_raw: Coded, zip5: pd.Series) -> Coded:
    """``location_key`` built once per distinct (address, ZIP as written) pair."""
    pair = group_codes(line1.codes, zip_raw.codes)
    at = first_rows(pair)
    street = _street_keys(line1.values)
    # a placeholder street ('N/A', 'null') is no place: no key, so such rows do not group as one address
    nothing = vocab.nothing_mask(line1.values) if len(line1.values) else np.zeros(0, dtype=bool)
    has_line = (line1.codes[at] >= 0) & ~np.append(nothing, False)[line1.codes[at]]
    keys = pd.Series(np.where(has_line, np.append(street, "")[line1.codes[at]], ""), dtype="object")
    keys = (keys + "|" + zip5.iloc[at].fillna("").to_numpy(dtype=object)).where(has_line, None)
    return Coded(pair, keys, zip5.index).derive(keys)


# A location key's suite, unit, floor or building part, up to the ZIP ('|' and all after it kept).
_SUITE_PART = r"(?:^|\s)(?:STE|UNIT|APT|APARTMENT|RM|ROOM|FL|BLDG|DEPT)(?:\s[^|]*)?\|"


def building_key(location_keys: pd.Series) -> pd.Series:
    """A location key without its suite, unit or floor: '123 N MAIN ST STE 4|97201' ->
    '123 N MAIN ST|97201', the building two listings of one office share whichever suite each
    names. Missing when the key is, or when nothing but a suite was written. Worked out once per
    distinct key, with Arrow's regex kernel (location keys are one line, words one space apart)."""
    import pyarrow.compute as pc

    def strip(keys: pd.Series) -> pd.Series:
        out = pc.utf8_trim_whitespace(pc.replace_substring_regex(_arrow_text(keys), _SUITE_PART, "|"))
        out = pd.Series(out.to_numpy(zero_copy_only=False), index=keys.index, dtype="object")
        return out.where(~out.str.startswith("|", na=False), None)
    return per_unique(location_keys, strip)

"""Offline geography for the location checks and the by-county metrics: ZIP facts from the
``zipcodes`` package, city-name comparison, counties, area codes and distances.

Everything works per *distinct* value: ``zip_facts`` looks each distinct ZIP up once in a dict built
once per process and maps the answers back onto the rows, so a million rows cost what their few
thousand ZIPs cost.
"""
from __future__ import annotations

import contextlib
import functools
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .model import per_table

#: Columns of ``zip_facts``: what the ZIP data says about a row's ZIP.
ZIP_FACT_COLUMNS = ("zip_known", "zip_active", "zip_type", "zip_city", "zip_cities", "zip_state",
                    "zip_county", "zip_area_codes", "zip_lat", "zip_long", "zip_street_place")

_COUNTY_SUFFIX = re.compile(r"\s+(county|parish|borough|census area|municipality|city and borough)$", re.IGNORECASE)

# Abbreviations US city names are written with, expanded so 'St. Helens' == 'Saint Helens' and
# 'Mt. Angel' == 'Mount Angel'. Applied to whole words only.
_CITY_WORDS = {"ST": "SAINT", "STE": "SAINTE", "MT": "MOUNT", "FT": "FORT", "PT": "POINT",
               "N": "NORTH", "S": "SOUTH", "E": "EAST", "W": "WEST", "SPGS": "SPRINGS", "HTS": "HEIGHTS",
               "VLG": "VILLAGE", "JCT": "JUNCTION", "CTR": "CENTER", "LK": "LAKE", "BCH": "BEACH"}


@functools.lru_cache(maxsize=1)
def zip_index() -> dict[str, dict[str, Any]]:
    """ZIP -> its record in the zipcodes data (active and decommissioned ZIPs), built once."""
    return {z["zip_code"]: z for z in zip_records()}


def zip_records_cache() -> Path:
    """Where ``zip_records`` keeps the zipcodes data as an Arrow file: the user cache folder, one
    file per version of the package."""
    import platformdirs
    import zipcodes
    return Path(platformdirs.user_cache_dir("directory-audit")) / f"zipcodes-{zipcodes.__version__}.arrow"


def zip_records() -> list[dict[str, Any]]:
    """Every record of the zipcodes data, as ``zipcodes.list_all()`` gives them. The package builds its
    42,000 records from its compressed data in every process (about a second, paid by every audit);
    they are read from an Arrow file in the user cache folder instead (a third of that), written on
    first use. A cache that cannot be read or written is passed over."""
    import pyarrow as pa
    import pyarrow.feather as feather
    path = zip_records_cache()
    try:
        return feather.read_table(path, memory_map=False).to_pylist()
    except (OSError, pa.ArrowException):
        pass
    import zipcodes
    records = zipcodes.list_all()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        feather.write_feather(pa.Table.from_pylist(records), tmp, compression="uncompressed")
        os.replace(tmp, path)       # a concurrent run reads the whole file or none
    except (OSError, pa.ArrowException):
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
    return records


def county_name(county: str | None) -> str | None:
    """'Multnomah County' -> 'Multnomah' (the form ``service_area.counties`` uses)."""
    if county is None or (isinstance(county, float) and np.isnan(county)):
        return None
    name = _COUNTY_SUFFIX.sub("", str(county).strip())
    return name or None


# Spelling variants of one place-name ending: Marlboro/Marlborough, Foxboro/Foxborough, Centre/Center.
_CITY_ENDINGS = ((re.compile(r"BOROUGH\b"), "BORO"), (re.compile(r"CENTRE\b"), "CENTER"))


def city_key(city: str) -> str:
    """A city name folded for comparison: case, punctuation, hyphens and spaces, the usual
    abbreviations ('St.', 'Mt.', 'Ft.') and '-borough'/'-boro' do not count."""
    words = re.sub(r"[^A-Z0-9 ]", " ", str(city).upper().replace("'", "")).split()
    key = " ".join(_CITY_WORDS.get(w, w) for w in words)
    for pattern, repl in _CITY_ENDINGS:
        key = pattern.sub(repl, key)
    return key.replace(" ", "")


@functools.lru_cache(maxsize=1)
def street_delivery_cities() -> frozenset[tuple[str, str]]:
    """(state, city key) of every place with at least one active ZIP that is not PO-Box-only. A
    place missing here (Oak Bluffs MA, 02557) has PO-Box ZIPs only, so its street addresses use them."""
    return frozenset((z["state"], city_key(z["city"])) for z in zip_index().values()
                     if z.get("active", True) and z.get("zip_code_type") != "PO BOX")


def _facts(z: str) -> dict[str, Any]:
    rec = zip_index().get(z)
    if rec is None:
        return {"zip_known": False, "zip_active": False, "zip_type": None, "zip_city": None, "zip_cities": frozenset(),
                "zip_state": None, "zip_county": None, "zip_area_codes": (), "zip_lat": np.nan, "zip_long": np.nan,
                "zip_street_place": False}
    cities = [rec["city"], *rec.get("acceptable_cities", [])]
    return {
        "zip_known": True, "zip_active": bool(rec.get("active", True)), "zip_type": rec.get("zip_code_type"),
        "zip_city": rec["city"], "zip_cities": frozenset(city_key(c) for c in cities if c),
        "zip_state": rec.get("state"), "zip_county": county_name(rec.get("county")),
        "zip_area_codes": tuple(rec.get("area_codes") or ()),
        "zip_lat": float(rec["lat"]) if rec.get("lat") else np.nan,
        "zip_long": float(rec["long"]) if rec.get("long") else np.nan,
        # Does the ZIP's place have street delivery anywhere (else its PO-Box ZIP is the address)?
        "zip_street_place": (rec.get("state"), city_key(rec["city"])) in street_delivery_cities(),
    }


def zip_facts(zips: pd.Series) -> pd.DataFrame:
    """ZIP facts (ZIP_FACT_COLUMNS) for a column of 5-digit ZIPs, aligned to its index; a missing
    ZIP gives zip_known False. One dictionary lookup per distinct ZIP, spread back by position."""
    codes, distinct = pd.factorize(zips, use_na_sentinel=True)
    # the trailing record (an unknown ZIP's facts) is what a missing ZIP takes
    records = [_facts(z) for z in distinct] + [_facts("")]
    at = np.where(codes >= 0, codes, len(distinct))
    # each column taken from its few distinct values; text, sets and tuples as objects, so each row
    # points at its ZIP's one value (an Arrow column would copy every row's text)
    columns = {}
    for c in ZIP_FACT_COLUMNS:
        values = np.empty(len(records), dtype=_ZIP_FACT_DTYPES.get(c, object))
        for i, r in enumerate(records):
            values[i] = r[c]
        columns[c] = pd.Series(values[at], index=zips.index, copy=False)
    return pd.DataFrame(columns, index=zips.index, copy=False)


_ZIP_FACT_DTYPES = {"zip_known": bool, "zip_active": bool, "zip_street_place": bool, "zip_lat": float, "zip_long": float}


def location_state(rows: pd.DataFrame, facts: pd.DataFrame | None = None) -> pd.Series:
    """The listed state, else the state of the ZIP."""
    facts = zip_facts(rows["zip"]) if facts is None else facts
    return rows["state"].where(rows["state"].notna(), facts["zip_state"])


def county_keys(rows: pd.DataFrame, facts: pd.DataFrame | None = None) -> pd.Series:
    """'STATE:County' per row: the table's county when the directory gives one, else the ZIP's
    county; the listed state, else the ZIP's. Missing when either part is unknown."""
    facts = zip_facts(rows["zip"]) if facts is None else facts
    given = rows["county"] if "county" in rows.columns else pd.Series(None, index=rows.index, dtype="object")
    def clean(values: pd.Series) -> pd.Series:
        values = values.astype(str).str.strip().str.replace(_COUNTY_SUFFIX, "", regex=True)
        # A directory's 'MULTNOMAH' or 'multnomah' is written the way the ZIP data writes it.
        values = values.where(~(values.str.isupper() | values.str.islower()).fillna(False).astype(bool),
                              values.str.title())
        return values.where(values != "", None)
    from .normalize import per_unique   # normalize imports nothing of geo; imported here to keep geo light
    given = per_unique(given, clean)
    county = given.where(given.notna(), facts["zip_county"])
    state = location_state(rows, facts)
    # one key string per distinct (state, county), shared by its rows: a million rows name a few
    # hundred counties, and one concatenation per row would be a million strings
    from .model import first_rows, group_codes
    state_codes, state_values = pd.factorize(state, use_na_sentinel=True)
    county_codes, county_values = pd.factorize(county, use_na_sentinel=True)
    pair = group_codes(state_codes, county_codes)
    at = first_rows(pair)
    known = (state_codes[at] >= 0) & (county_codes[at] >= 0)
    keys = np.full(len(at), None, dtype=object)
    keys[known] = [f"{state_values[s]}:{county_values[c]}"
                        for s, c in zip(state_codes[at][known], county_codes[at][known])]
    return pd.Series(keys[pair], index=rows.index, dtype="object")


@per_table
def table_zip_facts(rows: pd.DataFrame) -> pd.DataFrame:
    """ZIP facts for every row of the canonical table, built once per table and shared."""
    return zip_facts(rows["zip"])


@per_table
def table_county_keys(rows: pd.DataFrame) -> pd.Series:
    """``county_keys`` for every row of the canonical table, built once per table and shared."""
    return county_keys(rows, table_zip_facts(rows))


@functools.lru_cache(maxsize=1)
def area_code_points() -> dict[str, np.ndarray]:
    """Area code -> (n, 2) array of the latitudes/longitudes (radians) of the ZIPs it serves."""
    points: dict[str, list[tuple[float, float]]] = {}
    for rec in zip_index().values():
        if not rec.get("lat") or not rec.get("long"):
            continue
        for ac in rec.get("area_codes") or ():
            points.setdefault(ac, []).append((float(rec["lat"]), float(rec["long"])))
    return {ac: np.radians(np.array(p)) for ac, p in points.items()}


@functools.lru_cache(maxsize=1)
def area_code_states() -> dict[str, str]:
    """Area code -> the state most of the ZIPs it serves are in (the zipcodes data's view)."""
    counts: dict[str, dict[str, int]] = {}
    for rec in zip_index().values():
        for ac in rec.get("area_codes") or ():
            by_state = counts.setdefault(ac, {})
            by_state[rec["state"]] = by_state.get(rec["state"], 0) + 1
    return {ac: max(c, key=c.get) for ac, c in counts.items()}


def km_to_area_code(lat: float, long: float, area_code: str) -> float:
    """Great-circle distance in km from a point to the nearest ZIP the area code serves (inf when
    the data has no ZIP for it)."""
    pts = area_code_points().get(area_code)
    if pts is None or np.isnan(lat) or np.isnan(long):
        return float("inf")
    la, lo = np.radians(lat), np.radians(long)
    d = np.sin((pts[:, 0] - la) / 2) ** 2 + np.cos(la) * np.cos(pts[:, 0]) * np.sin((pts[:, 1] - lo) / 2) ** 2
    return float(6371.0 * 2 * np.arcsin(np.sqrt(d.min())))

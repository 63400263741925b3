"""Reference files the identifier checks compare a directory with: the CMS NPPES NPI file and the OIG
LEIE exclusion list. Both are supplied by the user (``--nppes FILE``, ``--leie FILE``); nothing is
downloaded.

The full NPPES file is about 9 GB and 330 columns, so it is read in chunks of ``CHUNK_ROWS`` rows,
only the columns the checks use (``usecols``), and each chunk is filtered to the NPIs the directory
lists before it is kept: memory follows the directory, not the registry. The LEIE file is small
(about 80,000 rows) but is read the same way. Both loaders return one plain DataFrame with short
column names (below); ``frame.attrs`` says what was read (``path``, ``rows_in_file``, ``subset``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import pandas as pd

from ..errors import ColumnMappingError, InputError, SourceNotFound

CHUNK_ROWS = 250_000

#: The full NPPES file has about nine million rows; a file with fewer than this many is treated as a
#: subset, so "not found in NPPES" is worded as "not in the subset given".
FULL_NPPES_MIN_ROWS = 1_000_000

NPPES_COLUMNS = {
    "NPI": "npi",
    "Entity Type Code": "entity_type",
    "Provider Last Name (Legal Name)": "last_name",
    "Provider First Name": "first_name",
    "Provider Organization Name (Legal Business Name)": "org_name",
    "Provider Business Practice Location Address State Name": "state",
    "NPI Deactivation Date": "deactivation_date",
    "NPI Reactivation Date": "reactivation_date",
}
NPPES_REQUIRED = ("NPI", "Entity Type Code")
TAXONOMY_SLOTS = 15
_TAX_CODE = "Healthcare Provider Taxonomy Code_{}"
_TAX_SWITCH = "Healthcare Provider Primary Taxonomy Switch_{}"

#: Columns of the frame ``load_nppes`` returns.
NPPES_FRAME_COLUMNS = ("npi", "entity_type", "last_name", "first_name", "org_name", "state",
                       "deactivation_date", "reactivation_date", "taxonomy_codes", "primary_taxonomy")

LEIE_COLUMNS = {"LASTNAME": "last_name", "FIRSTNAME": "first_name", "MIDNAME": "middle_name",
                "BUSNAME": "business_name", "NPI": "npi", "DOB": "dob", "STATE": "state",
                "EXCLTYPE": "excl_type", "EXCLDATE": "excl_date", "REINDATE": "rein_date",
                "SPECIALTY": "specialty"}
LEIE_REQUIRED = ("LASTNAME", "FIRSTNAME", "NPI", "STATE")
LEIE_UNKNOWN_NPI = "0000000000"


def _wanted(npis: Iterable[str] | None) -> set[str] | None:
    if npis is None:
        return None
    return {str(n) for n in pd.Series(list(npis) if not isinstance(npis, pd.Series) else npis).dropna().unique()}


def _header(path: Path, what: str, required: Iterable[str], layout: str) -> list[str]:
    """The file's header, after checking it exists, reads as CSV and has the ``required`` columns."""
    if not path.exists():
        raise SourceNotFound(f"{what} file {path}: no such file.")
    try:
        header = list(pd.read_csv(path, nrows=0, dtype=str, encoding="utf-8-sig").columns)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{what} file {path}: cannot be read as CSV ({exc}).") from None
    missing = [c for c in required if c not in header]
    if missing:
        raise ColumnMappingError(f"{what} file {path}: missing column(s) {missing}; expected {layout}.")
    return header


def _parse_date(col: pd.Series) -> pd.Series:
    """NPPES writes MM/DD/YYYY; LEIE YYYYMMDD with 00000000 for none; ISO accepted too."""
    s = col.astype("object").where(col.notna() & ~col.isin(["", "00000000"]), None)
    out = pd.to_datetime(s, format="%m/%d/%Y", errors="coerce")
    for fmt in ("%Y%m%d", "ISO8601"):
        todo = out.isna() & s.notna()
        if not todo.any():
            break
        out = out.where(~todo, pd.to_datetime(s.where(todo), format=fmt, errors="coerce"))
    return out


def load_nppes(path: str | Path, npis: Iterable[str] | None = None, chunksize: int = CHUNK_ROWS) -> pd.DataFrame:
    """The NPPES rows for ``npis`` (all rows when None), one row per NPI.

    Taxonomy codes 1..15 are joined with ``|`` into ``taxonomy_codes``; ``primary_taxonomy`` is the
    code whose primary switch is Y. Dates are parsed (MM/DD/YYYY as NPPES writes them).
    """
    path = Path(path)
    header = _header(path, "NPPES", NPPES_REQUIRED, "the CMS NPPES NPI file layout "
                     "(NPI, Entity Type Code, Provider Last Name (Legal Name), ...)")
    tax = [(_TAX_CODE.format(i), _TAX_SWITCH.format(i)) for i in range(1, TAXONOMY_SLOTS + 1)
           if _TAX_CODE.format(i) in header]
    usecols = [c for c in NPPES_COLUMNS if c in header] + [c for pair in tax for c in pair if c in header]
    wanted = _wanted(npis)
    rows_in_file = 0
    kept: list[pd.DataFrame] = []
    reader = pd.read_csv(path, dtype=str, usecols=usecols, keep_default_na=False, encoding="utf-8-sig",
                         chunksize=chunksize)
    for chunk in reader:
        rows_in_file += len(chunk)
        chunk["NPI"] = chunk["NPI"].str.strip()
        if wanted is not None:
            chunk = chunk[chunk["NPI"].isin(wanted)]
        if len(chunk):
            kept.append(chunk)
    raw = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=usecols)
    raw = raw.drop_duplicates("NPI", keep="last")
    out = pd.DataFrame({short: (raw[long].str.strip() if long in raw.columns else "")
                        for long, short in NPPES_COLUMNS.items()}, index=raw.index)
    codes = pd.DataFrame({i: raw[c].str.strip().str.upper() for i, (c, _) in enumerate(tax)}, index=raw.index)
    switches = pd.DataFrame({i: raw[s].str.strip().str.upper() if s in raw.columns else ""
                             for i, (_, s) in enumerate(tax)}, index=raw.index)
    if len(tax) and len(raw):
        stacked = codes.stack()
        stacked = stacked[stacked != ""]
        out["taxonomy_codes"] = stacked.groupby(level=0).agg("|".join).reindex(raw.index).fillna("")
        primary = codes.where(switches == "Y").stack()
        primary = primary[primary != ""]
        out["primary_taxonomy"] = primary.groupby(level=0).first().reindex(raw.index).fillna("")
    else:
        out["taxonomy_codes"] = ""
        out["primary_taxonomy"] = ""
    for c in ("deactivation_date", "reactivation_date"):
        out[c] = _parse_date(out[c].replace("", None)) if len(out) else pd.Series(dtype="datetime64[ns]")
    out = out[list(NPPES_FRAME_COLUMNS)].reset_index(drop=True)
    out.attrs = {"path": str(path), "rows_in_file": rows_in_file, "subset": rows_in_file < FULL_NPPES_MIN_ROWS}
    return out


def load_leie(path: str | Path, npis: Iterable[str] | None = None, chunksize: int = CHUNK_ROWS) -> pd.DataFrame:
    """The LEIE rows that can concern the directory: those whose NPI it lists and every row with the
    unknown NPI ``0000000000`` (matched later on name and state). All rows when ``npis`` is None."""
    path = Path(path)
    header = _header(path, "LEIE", LEIE_REQUIRED, "the OIG LEIE UPDATED.csv layout "
                     "(LASTNAME, FIRSTNAME, MIDNAME, BUSNAME, ..., NPI, ...)")
    usecols = [c for c in LEIE_COLUMNS if c in header]
    wanted = _wanted(npis)
    kept, rows_in_file = [], 0
    for chunk in pd.read_csv(path, dtype=str, usecols=usecols, keep_default_na=False, encoding="utf-8-sig",
                             chunksize=chunksize):
        rows_in_file += len(chunk)
        chunk["NPI"] = chunk["NPI"].str.strip().str.zfill(10).where(chunk["NPI"].str.strip() != "", LEIE_UNKNOWN_NPI)
        if wanted is not None:
            chunk = chunk[chunk["NPI"].isin(wanted) | (chunk["NPI"] == LEIE_UNKNOWN_NPI)]
        kept.append(chunk)
    raw = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame(columns=usecols)
    out = pd.DataFrame({short: (raw[long].str.strip() if long in raw.columns else "")
                        for long, short in LEIE_COLUMNS.items()}, index=raw.index)
    for c in ("excl_date", "rein_date"):
        out[c] = _parse_date(out[c]) if len(out) else pd.Series(dtype="datetime64[ns]")
    out = out.reset_index(drop=True)
    out.attrs = {"path": str(path), "rows_in_file": rows_in_file}
    return out



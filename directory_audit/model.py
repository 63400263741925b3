"""The canonical provider-location table: one row per provider x practice location.

Every loader yields a *raw frame*: strings only, with the RAW_FIELDS below as column names (a loader
fills what its source has and leaves the rest missing), plus ``record_id`` and ``source_format``.
``normalize`` turns a raw frame into the *canonical table*: each normalized field F sits beside
``F_raw``, the exact text the directory showed, so a finding can quote it.

Multi-valued fields (specialties, languages, plan and network ids) are stored as one string joined
with ``|`` (MULTI_SEP). Strings keep column operations fast at a million rows; ``split_multi`` turns
them back into lists when a check needs to explode them.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

MULTI_SEP = "|"

PROVIDER_TYPES = ("individual", "facility", "group", "unknown")
ACCEPTING_STATUSES = ("accepting", "not_accepting", "some_locations", "existing_patients_only", "unknown")

#: Raw fields a loader may fill, with what each holds. The dict is the single place columns are named.
RAW_FIELDS: dict[str, str] = {
    "npi": "National Provider Identifier as shown",
    "npi_entity_type": "NPI entity type the directory declares (1 individual / 2 organization), when it has one",
    "provider_type": "individual / facility / group as the directory words it",
    "name": "full provider name in one cell, when the directory has no separate parts",
    "prefix": "name prefix (Dr.)",
    "first_name": "given name",
    "middle_name": "middle name or initial",
    "last_name": "family name",
    "suffix": "name suffix or credentials (Jr., MD)",
    "facility_name": "facility, group or organization name",
    "gender": "gender as shown",
    "specialties": "specialty names and/or NUCC taxonomy codes, multi-valued",
    "address_line1": "street address",
    "address_line2": "suite, floor, building",
    "city": "city",
    "state": "state",
    "zip": "ZIP or ZIP+4",
    "county": "county, when the directory gives it",
    "phone": "phone number at this location",
    "accepting_status": "accepting-new-patients flag as shown",
    "provider_accepting_status": "provider-level accepting flag (QHP 'accepting in some locations')",
    "languages": "languages spoken, multi-valued",
    "plan_ids": "plan identifiers, multi-valued",
    "network_ids": "network or tier identifiers, multi-valued",
    "last_updated": "date the record was last updated or verified",
}

#: Columns every raw frame carries besides RAW_FIELDS.
SOURCE_COLUMNS = ("record_id", "source_format", "source_file")

#: Normalized columns of the canonical table, each with ``<name>_raw`` beside it where it has a raw field.
CANONICAL_COLUMNS: dict[str, str] = {
    "record_id": "stable id traceable to the source: file:line, file!sheet:row, or JSON path",
    "source_format": "csv / xlsx / qhp_json / plannet / scrape",
    "source_file": "path or URL the record came from",
    "npi": "10-digit NPI string, or missing",
    "npi_entity_type": "'1' / '2' / missing",
    "provider_type": "one of PROVIDER_TYPES, decided by provider_types.RULES from every signal",
    "provider_type_basis": "the rule of provider_types.RULES that decided provider_type",
    "prefix": "", "first_name": "", "middle_name": "", "last_name": "", "suffix": "",
    "facility_name": "facility / group name",
    "display_name": "one readable name: 'First Middle Last, Suffix' or the facility name",
    "gender": "",
    "specialty_codes": "NUCC taxonomy codes, | joined",
    "specialty_names": "specialty display names, | joined",
    "address_line1": "", "address_line2": "", "city": "upper-cased city", "state": "2-letter state",
    "zip": "5-digit ZIP when it parses", "zip4": "ZIP+4 extension when given",
    "county": "county from the directory, else from the ZIP",
    "phone": "E.164 (+15035551234) when it parses",
    "phone_extension": "",
    "accepting_status": "one of ACCEPTING_STATUSES",
    "provider_accepting_status": "one of ACCEPTING_STATUSES",
    "languages": "ISO 639 / BCP-47 language tags, | joined ('es|vi'); English included when listed",
    "languages_unrecognized": "language values that are not a language, | joined",
    "plan_ids": "| joined", "network_ids": "| joined",
    "last_updated": "datetime64 date, NaT when missing or unparseable",
    "folded_record_ids": "record ids of every source row of a listing split over rows and folded into this one "
                         "(fold.py), | joined; missing when the row was not folded",
    "location_key": "normalized address key (line1 + ZIP5) for grouping provider-locations",
    "provider_key": "NPI when present, else normalized name: groups rows of one provider",
}

#: Normalized fields that keep their raw text beside them as ``<field>_raw``.
FIELDS_WITH_RAW = tuple(f for f in RAW_FIELDS if f != "name") + ("name",)


def raw_column(field: str) -> str:
    return f"{field}_raw"


def empty_raw_frame() -> pd.DataFrame:
    cols = list(SOURCE_COLUMNS) + list(RAW_FIELDS)
    return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})


def split_multi(values: pd.Series) -> pd.Series:
    """'es|vi' -> ['es', 'vi']; missing -> []."""
    return values.fillna("").map(lambda s: [v for v in s.split(MULTI_SEP) if v])


def explode_codes(codes: np.ndarray, uniques) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For the integer codes (-1 missing) of a | joined column and its distinct values: the row
    position of each value (a row repeated once per value, in order), the index of that value in the
    flat list of parts, and the flat list itself (each distinct cell split once)."""
    parts = [[p for p in str(v).split(MULTI_SEP) if p] for v in uniques]
    lengths = np.array([len(p) for p in parts] + [0], dtype=np.int64)        # trailing 0: missing
    flat = np.array([p for ps in parts for p in ps], dtype=object)
    starts = np.concatenate([[0], np.cumsum(lengths[:-1])])
    per_row = np.where(codes >= 0, codes, len(parts))
    repeats = lengths[per_row]
    row_at = np.repeat(np.arange(len(codes)), repeats)
    # k-th value of a row: its value's first part plus k
    k = np.arange(len(row_at)) - np.repeat(np.cumsum(repeats) - repeats, repeats)
    return row_at, (starts[per_row[row_at]] + k).astype(np.int64), flat


def explode_multi(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """One row per value of a | joined column, other columns repeated; rows with no value dropped.
    Row order and index are kept (a row's values in the order written)."""
    codes, uniques = pd.factorize(rows[column].astype(object), use_na_sentinel=True)
    row_at, part, flat = explode_codes(codes, uniques)
    out = rows.iloc[row_at].copy()
    out[column] = flat[part] if len(row_at) else np.zeros(0, dtype=object)
    return out


#: The cache of every ``per_table`` helper, by helper name (``drop_derived`` empties them).
_PER_TABLE_STATES: dict[str, dict] = {}


def per_table(func):
    """Cache a helper's results for the table it was last called with, so the several checks and
    metrics that share one derived frame (exploded languages, ZIP facts, key codes...) build it once
    per run. Keyed on the table object itself (weakly held) and the other arguments, never on the
    table's contents; a new table drops every cached result of the old one."""
    import functools
    import weakref
    state: dict = {"rows": None, "values": {}}
    _PER_TABLE_STATES[f"{func.__module__}.{func.__qualname__}"] = state

    def values_for(rows: pd.DataFrame) -> dict:
        ref = state["rows"]
        if ref is None or ref() is not rows:
            state["rows"], state["values"] = weakref.ref(rows), {}
        return state["values"]

    @functools.wraps(func)
    def wrapper(rows: pd.DataFrame, *args, **kwargs):
        key = (args, tuple(sorted(kwargs.items())))
        values = values_for(rows)
        if key not in values:
            values[key] = func(rows, *args, **kwargs)
        return values[key]

    def seed(rows: pd.DataFrame, *args, value, **kwargs) -> None:
        """Store what ``func(rows, *args, **kwargs)`` would return, computed elsewhere for less."""
        values_for(rows)[(args, tuple(sorted(kwargs.items())))] = value

    wrapper.seed = seed
    return wrapper


def drop_derived(rows: pd.DataFrame, keep: tuple = ()) -> None:
    """Forget what the ``per_table`` helpers derived from ``rows``, bar ``key_factor`` and the
    helpers in ``keep``: once the checks and metrics are done, the exploded languages, ZIP facts,
    name keys... of a million rows are hundreds of MB nobody reads again (a later caller simply
    builds them again)."""
    kept = {f"{f.__module__}.{f.__qualname__}" for f in (key_factor, *keep)}
    for name, state in _PER_TABLE_STATES.items():
        ref = state["rows"]
        if name not in kept and ref is not None and ref() is rows:
            state["rows"], state["values"] = None, {}


@per_table
def key_factor(rows: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(integer codes, distinct values) of a key column (NPI, provider_key, location_key...), codes
    -1 where missing, built once per table: grouping a million rows by integers costs a fraction of
    grouping by strings."""
    codes, uniques = pd.factorize(rows[column], use_na_sentinel=True)
    return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)


def share_key_factors(rows: pd.DataFrame, factors: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """Hand ``key_factor`` the factorizations normalize already made of ``rows`` (see
    ``normalize(raw, factors=...)``); only for a table nobody changes afterwards."""
    for column, value in factors.items():
        key_factor.seed(rows, column, value=value)


def key_codes(rows: pd.DataFrame, column: str) -> np.ndarray:
    """The codes of ``key_factor``."""
    return key_factor(rows, column)[0]


def distinct_count_per(group: np.ndarray, value: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """For integer codes ``group`` and ``value`` (-1 missing), the number of distinct values of each
    group over the rows in ``mask``, spread back to every row (0 where the group is missing)."""
    ok = (group >= 0) & (value >= 0)
    if mask is not None:
        ok &= np.asarray(mask, dtype=bool)
    if not len(group):
        return np.zeros(0, dtype=np.int64)
    width = max(int(value.max()) + 1, 1)
    pairs = pd.unique(group[ok] * width + value[ok])   # hashing, not sorting: several times faster
    per_group = np.bincount(pairs // width, minlength=max(int(group.max()) + 1, 1))
    return np.where(group >= 0, per_group[np.maximum(group, 0)], 0)


def group_size(group: np.ndarray) -> np.ndarray:
    """For integer codes ``group`` (-1 missing), how many rows share each row's group (0 where the
    group is missing): a bincount, spread back to every row."""
    group = np.asarray(group)
    ok = group >= 0
    counts = np.bincount(group[ok], minlength=1) if ok.any() else np.zeros(1, dtype=np.int64)
    return np.where(ok, counts[np.maximum(group, 0)], 0)


def count_distinct(codes: np.ndarray) -> int:
    """How many distinct non-missing values integer codes (-1 missing) hold: a bincount, no sort."""
    codes = np.asarray(codes)
    codes = codes[codes >= 0]
    return int(np.count_nonzero(np.bincount(codes))) if len(codes) else 0


def any_per(group: np.ndarray, flag: np.ndarray) -> np.ndarray:
    """For integer codes ``group`` (-1 missing), whether any row of the group has ``flag``, spread
    back to every row (False where the group is missing)."""
    flag = np.asarray(flag, dtype=bool)
    if not len(group):
        return np.zeros(0, dtype=bool)
    hit = np.zeros(max(int(group.max()) + 1, 1), dtype=bool)
    hit[group[flag & (group >= 0)]] = True
    return (group >= 0) & hit[np.maximum(group, 0)]


def combine_codes(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Dense integer codes of the pairs (a, b) of two code arrays; -1 where either is missing."""
    ok = (a >= 0) & (b >= 0)
    out = np.full(len(a), -1, dtype=np.int64)
    if ok.any():
        out[ok] = pd.factorize(a[ok] * (int(b.max()) + 1) + b[ok])[0]
    return out


def group_codes(*codes: np.ndarray) -> np.ndarray:
    """Dense codes (first appearance order) of the combinations of several code arrays, a missing
    value (-1) counting as a value of its own: two rows both without a location share that."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for more in codes:
        more = np.asarray(more, dtype=np.int64) + 1
        key = pd.factorize(key * (int(more.max(initial=0)) + 1) + more)[0].astype(np.int64)
    return key


def first_rows(group: np.ndarray) -> np.ndarray:
    """Position of the first row of each group, for integer codes 0..k-1 (-1 rows belong to none)."""
    at = np.flatnonzero(group >= 0)
    first = np.zeros(int(group.max(initial=-1)) + 1, dtype=np.int64)
    first[group[at][::-1]] = at[::-1]
    return first


def per_distinct(rows: pd.DataFrame, column: str, func, missing=None) -> pd.Series:
    """``func`` (distinct values as an object Series -> array-like of one result each) applied once
    per distinct non-missing value of ``rows[column]`` and spread back to every row; ``missing`` where
    the cell is missing. Shares ``key_factor``'s factorization with every other user of the column,
    so a million rows cost a take, not a map."""
    codes, uniques = key_factor(rows, column)
    done = np.asarray(func(pd.Series(uniques, dtype="object"))) if len(uniques) else np.zeros(0, dtype=object)
    if missing is not None and not isinstance(missing, str) and (not len(done) or done.dtype == object):
        done = done.astype(np.asarray([missing]).dtype)      # bool / number results; text stays object
    if missing is None and done.dtype != object:
        done = done.astype(object)
    spread = np.append(done, np.array([missing], dtype=done.dtype) if missing is not None else [None])
    return pd.Series(spread[codes], index=rows.index, dtype=spread.dtype)

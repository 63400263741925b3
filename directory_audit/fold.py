"""One listing split over rows: fold it back into one provider-location.

Many exports repeat a provider-location once per specialty, per plan or per network: the same
person at the same address, every other field equal, one specialty (or plan id, or tier) per row.
Checked row by row, such a listing looks like a duplicate many times over (``npi_same_location``),
inflates counts, and is judged once per fragment. ``fold_split_listings`` joins those rows into one
provider-location carrying every value of the multi-valued fields (``MULTI_FIELDS``, joined in the
order first seen), before any check runs. Rows are folded only when *every* other field the
directory shows is identical: rows that disagree on anything else (an accepting flag, a phone, a
date) are different listings, and the checks must see them apart. Rows identical in every field
(multi-valued ones too) are verbatim copies, left to ``duplicate.exact_row``.

The folded row keeps the first source row's ``record_id``; ``folded_record_ids`` lists the record ids
of all its source rows (``|`` joined; missing on rows that were not folded), and every finding on it
names them (``findings.violations``).

Cost: grouping by the provider and location keys normalize already factorized; only rows sharing a
provider-location are hashed, and only folded rows are joined.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .model import MULTI_SEP, combine_codes, distinct_count_per, group_codes, group_size

#: Raw fields whose values a split listing spreads over its rows, with the canonical columns
#: normalize derives from each (joined with MULTI_SEP).
MULTI_FIELDS: dict[str, tuple[str, ...]] = {
    "specialties": ("specialty_codes", "specialty_names"),
    "languages": ("languages", "languages_unrecognized"),
    "plan_ids": ("plan_ids",),
    "network_ids": ("network_ids",),
}
#: Single-valued fields compared by their normalized value; their raw wording is joined like a
#: multi-valued field (a search category the scrape repeated the listing under).
CATEGORY_FIELDS: tuple[str, ...] = ("provider_type",)
#: How the raw cells of folded rows are joined: a separator normalize splits every multi-valued field on.
RAW_JOIN = "; "


def _joined(values: np.ndarray, group: np.ndarray, n_groups: int, sep: str, split: str | None) -> np.ndarray:
    """Per group, its distinct non-empty values (each cell split on ``split`` first) in first-seen
    order, joined with ``sep``; None where the group has none."""
    frame = pd.DataFrame({"g": group, "v": values}).dropna()
    out = np.full(n_groups, None, dtype=object)
    if frame.empty:
        return out
    if split is not None:
        frame = frame.assign(v=frame["v"].astype(str).str.split(split, regex=False)).explode("v")
    frame["v"] = frame["v"].astype(str).str.strip()
    frame = frame[frame["v"] != ""].drop_duplicates(["g", "v"])
    agg = frame.groupby("g", sort=False)["v"].agg(sep.join)
    out[agg.index.to_numpy(dtype=np.int64)] = agg.to_numpy(dtype=object)
    return out


def split_listing_groups(out: pd.DataFrame, provider: np.ndarray, location: np.ndarray,
                         raw_fields: tuple[str, ...]) -> np.ndarray:
    """For each row, the code of the split listing it belongs to (-1 when it is not part of one):
    rows of one provider at one location, identical in every single-valued raw field, whose
    multi-valued raw fields are not all identical."""
    n = len(out)
    listing = group_codes(provider, location)
    candidates = group_size(listing) > 1
    fold = np.full(n, -1, dtype=np.int64)
    if not candidates.any():
        return fold
    # the provider type as decided, not as worded: a scrape repeats a listing per search category
    # ('Hospitals', 'Medical Specialists'), which folds like a specialty
    single = [f"{f}_raw" for f in raw_fields if f not in MULTI_FIELDS and f not in CATEGORY_FIELDS
              and f"{f}_raw" in out.columns] + [f for f in CATEGORY_FIELDS if f in out.columns]
    multi = [f"{f}_raw" for f in tuple(MULTI_FIELDS) + CATEGORY_FIELDS if f"{f}_raw" in out.columns]
    sub = out.loc[candidates, single + multi]
    same = pd.factorize(pd.util.hash_pandas_object(sub[single], index=False).to_numpy())[0]
    content = np.full(n, -1, dtype=np.int64)
    content[candidates] = combine_codes(listing[candidates], same)
    spread = np.full(n, -1, dtype=np.int64)
    spread[candidates] = pd.factorize(pd.util.hash_pandas_object(sub[multi], index=False).to_numpy())[0] \
        if multi else 0
    split = (content >= 0) & (distinct_count_per(content, spread) > 1)
    if split.any():
        fold[split] = pd.factorize(content[split])[0]
    return fold


def fold_split_listings(out: pd.DataFrame, provider: np.ndarray, location: np.ndarray,
                        raw_fields: tuple[str, ...]) -> tuple[pd.DataFrame, np.ndarray | None]:
    """(the table with each split listing folded into its first row, the positions of the rows kept,
    or None when nothing was folded). ``folded_record_ids`` is added either way."""
    fold = split_listing_groups(out, provider, location, raw_fields)
    if not (fold >= 0).any():
        out["folded_record_ids"] = pd.Series(None, index=out.index, dtype=object)
        return out, None
    at = np.flatnonzero(fold >= 0)
    group = fold[at]
    n_groups = int(group.max()) + 1
    first = np.full(n_groups, len(out), dtype=np.int64)
    np.minimum.at(first, group, at)
    kept = fold < 0
    kept[first] = True
    keep = np.flatnonzero(kept)
    out = out.copy()
    for field, derived in MULTI_FIELDS.items():
        raw = f"{field}_raw"
        if raw in out.columns:
            out.iloc[first, out.columns.get_loc(raw)] = _joined(out[raw].to_numpy(dtype=object)[at], group, n_groups,
                                                                RAW_JOIN, None)
        for col in derived:
            if col in out.columns:
                out.iloc[first, out.columns.get_loc(col)] = _joined(out[col].to_numpy(dtype=object)[at], group,
                                                                    n_groups, MULTI_SEP, MULTI_SEP)
    for field in CATEGORY_FIELDS:
        raw = f"{field}_raw"
        if raw in out.columns:
            out.iloc[first, out.columns.get_loc(raw)] = _joined(out[raw].to_numpy(dtype=object)[at], group, n_groups,
                                                                RAW_JOIN, None)
    ids = np.full(len(out), None, dtype=object)
    ids[first] = _joined(out["record_id"].astype(str).to_numpy(dtype=object)[at], group, n_groups, MULTI_SEP, None)
    out["folded_record_ids"] = pd.Series(ids, index=out.index, dtype=object)    # text or None, as elsewhere
    return out.iloc[keep].reset_index(drop=True), keep

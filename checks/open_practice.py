"""Open-practice checks (T1.iii, T2.v): every provider-location says, in a value the public can read,
whether the provider takes new patients there, and says it once.

Raw values are normalized by ``vocab.accepting_status`` (Yes/No/Open/Closed, "Accepting", "Existing
patients only", QHP's enum, Plan-Net codes); the raw text stays in ``accepting_status_raw`` for the
finding. Facilities and groups are exempt from the flag: the QHP format gives them no accepting field.
"""
from __future__ import annotations

import pandas as pd

from directory_audit import geo
from directory_audit.findings import detail_json, violations
from directory_audit.provider_types import is_individual
from directory_audit.model import combine_codes, distinct_count_per, explode_multi, key_codes, per_table
from directory_audit.registry import check, metric

from .records import source_gap

KNOWN = ("accepting", "not_accepting", "some_locations", "existing_patients_only")
#: What each status answers to "does this provider take new patients here?".
ANSWERS = {"accepting": "yes", "not_accepting": "no", "existing_patients_only": "no"}


def flagged_rows(rows: pd.DataFrame) -> pd.Series:
    """Rows that must carry an accepting flag: individuals. The QHP schema gives FACILITY and GROUP
    records no accepting field, and an organisation's listing says nothing about a clinician's panel;
    a listing whose type is unknown is not held to an individual's requirements either."""
    return is_individual(rows)


def effective_status(rows: pd.DataFrame) -> pd.Series:
    """The location's status when it has a known one, else the provider-level status."""
    loc = rows["accepting_status"]
    return loc.where(loc.isin(KNOWN), rows["provider_accepting_status"]).fillna("unknown")


@per_table
def table_status(rows: pd.DataFrame) -> pd.Series:
    """``effective_status`` of every row of the canonical table, built once per table and shared."""
    return effective_status(rows)


@check(id="open_practice.flag_missing", factor="T2.v", severity="error",
       title="Accepting-new-patients flag missing",
       message="no accepting-new-patients flag for this provider-location")
def flag_missing(rows: pd.DataFrame) -> pd.DataFrame:
    """Consumers must be told which providers have open practices: a provider-location with no
    accepting flag at the location or provider level says nothing. Facilities and groups are exempt
    (``flagged_rows``). Silent when no row has a flag at all (``open_practice.none_published`` reports
    that once)."""
    none = rows["accepting_status_raw"].isna() & rows["provider_accepting_status_raw"].isna()
    mask = flagged_rows(rows) & none
    if mask.sum() == flagged_rows(rows).sum():     # nothing published anywhere: open_practice.none_published
        mask = pd.Series(False, index=rows.index)
    return violations(rows, mask, field="accepting_status", observed="",
                      expected="accepting / not accepting / existing patients only")


@check(id="open_practice.none_published", factor="T2.v", severity="error",
       title="The directory publishes no accepting-new-patients information",
       message="the directory publishes no accepting-new-patients information: {expected}")
def none_published(rows: pd.DataFrame) -> pd.DataFrame:
    """No provider-location that needs an accepting flag (everyone but facilities) has one, at the
    location or provider level: the directory does not tell consumers about open practices at all.
    One finding about the directory; T2.v and T1.iii are then not evidenced and
    ``open_practice.flag_missing`` stays silent."""
    having = rows["accepting_status_raw"].notna() | rows["provider_accepting_status_raw"].notna()
    return source_gap(rows, field="accepting_status", needing=flagged_rows(rows), having=having,
                      what="an accepting-new-patients flag for each provider-location (none has one)")


@check(id="open_practice.flag_unrecognized", factor="T1.iii", severity="error",
       title="Accepting flag not a recognized value",
       message="accepting-new-patients flag {observed!r} is not a recognized value")
def flag_unrecognized(rows: pd.DataFrame) -> pd.DataFrame:
    """A flag is written but is not one of the values a reader can interpret ('Maybe', 'TBD',
    'Call'): the directory keeps open-practice information in a form nobody can rely on. The raw
    value is quoted; the location-level flag is judged, else the provider-level one."""
    loc_bad = rows["accepting_status_raw"].notna() & (rows["accepting_status"] == "unknown")
    prov_bad = (rows["accepting_status_raw"].isna() & rows["provider_accepting_status_raw"].notna()
                & (rows["provider_accepting_status"] == "unknown"))
    return pd.concat([
        violations(rows, loc_bad, field="accepting_status", expected="a recognized accepting value"),
        violations(rows, prov_bad, field="provider_accepting_status", expected="a recognized accepting value"),
    ], ignore_index=True)


@check(id="open_practice.conflicting", factor="T1.iii", severity="error",
       title="Conflicting accepting flags for one provider-location",
       message="accepting flag {observed!r} conflicts with another listing of this provider at this address")
def conflicting(rows: pd.DataFrame) -> pd.DataFrame:
    """The same provider (NPI, else name) at the same address listed more than once, accepting new
    patients in one listing and not (not accepting, existing patients only) in another: at least
    one listing is wrong. Every such row is reported, the set
    of statuses in ``detail``."""
    # 'Existing patients only' is a no to new patients: only yes against no is a conflict, and a
    # location-level 'some locations' answers nothing to conflict with.
    answer = pd.factorize(rows["accepting_status"].map(ANSWERS), use_na_sentinel=True)[0]   # -1: no answer
    listing = combine_codes(key_codes(rows, "provider_key"), key_codes(rows, "location_key"))
    n = distinct_count_per(listing, answer)
    mask = pd.Series(n > 1, index=rows.index)
    detail = None
    if mask.any():
        hit = rows.loc[mask, ["provider_key", "location_key", "accepting_status"]]
        keys = ["provider_key", "location_key"]
        pairs = hit[keys + ["accepting_status"]].drop_duplicates().sort_values("accepting_status")
        joined = pairs.groupby(keys)["accepting_status"].agg("|".join).rename("statuses")
        statuses = hit[keys].join(joined, on=keys)["statuses"]
        detail = detail_json(pd.DataFrame({"statuses": statuses}))
    return violations(rows, mask, field="accepting_status", expected="one status per provider-location",
                      detail=detail)


@check(id="open_practice.some_locations_without_detail", factor="T2.v", severity="warning",
       title="'Accepting at some locations' without the locations",
       message="accepting flag {observed!r} does not say whether this location takes new patients")
def some_locations_without_detail(rows: pd.DataFrame) -> pd.DataFrame:
    """QHP's provider-level 'accepting in some locations' (and its CSV spellings) at a location, or
    as the only flag of a location: the enrollee still cannot tell whether this office is open."""
    loc = rows["accepting_status"] == "some_locations"
    prov = rows["accepting_status_raw"].isna() & (rows["provider_accepting_status"] == "some_locations")
    return pd.concat([
        violations(rows, loc, field="accepting_status", expected="the status at this location"),
        violations(rows, prov, field="provider_accepting_status", expected="the status at this location"),
    ], ignore_index=True)


# --- metrics -----------------------------------------------------------------------------------

def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@metric(id="open_practice.flag_coverage", factor="T1.iii", title="Provider-locations with a valid accepting flag")
def flag_coverage(rows: pd.DataFrame) -> dict:
    """Individual provider-locations whose accepting flag (location-level, else provider-level) is
    a recognized value, over all individual provider-locations."""
    status = table_status(rows)[flagged_rows(rows)]
    valid = int(status.isin(KNOWN).sum())
    return {"rows": int(len(status)), "with_valid_flag": valid, "share": _share(valid, len(status))}


@metric(id="open_practice.accepting_share", factor="T2.v", title="Share of provider-locations accepting new patients")
def accepting_share(rows: pd.DataFrame) -> dict:
    """Individual provider-locations accepting new patients, over those with a known status
    (by_status counts every status, 'unknown' included, so the reader sees the denominator)."""
    status = table_status(rows)[flagged_rows(rows)]
    known = status.isin(KNOWN)
    by_status = {k: int(v) for k, v in status.value_counts().sort_index().items()}
    return {"rows": int(len(status)), "share_accepting": _share(int((status == "accepting").sum()), int(known.sum())),
            "by_status": by_status}


def _accepting_by(keys: pd.Series, status: pd.Series) -> dict:
    frame = pd.DataFrame({"key": keys, "accepting": status == "accepting", "known": status.isin(KNOWN)})
    frame = frame[frame["key"].notna()]
    g = frame.groupby("key").agg(rows=("key", "size"), accepting=("accepting", "sum"), known=("known", "sum"))
    g = g.sort_values(["rows"], ascending=False, kind="stable")
    return {str(k): {"rows": int(n), "share_accepting": _share(int(a), int(kn))}
            for k, n, a, kn in zip(g.index, g["rows"], g["accepting"], g["known"])}


@metric(id="open_practice.accepting_by_specialty", factor="T2.v", title="Share accepting new patients by specialty")
def accepting_by_specialty(rows: pd.DataFrame) -> dict:
    """Share accepting (over known statuses) per specialty name, for the 25 specialties with the
    most provider-locations; a provider-location with two specialties counts in both."""
    flagged = flagged_rows(rows)
    sub = pd.DataFrame({"specialty_names": rows["specialty_names"][flagged], "_status": table_status(rows)[flagged]})
    ex = explode_multi(sub, "specialty_names")
    top = ex["specialty_names"].value_counts().head(25).index
    ex = ex[ex["specialty_names"].isin(top)]
    return _accepting_by(ex["specialty_names"], ex["_status"])


@metric(id="open_practice.accepting_by_county", factor="T2.v", title="Share accepting new patients by county")
def accepting_by_county(rows: pd.DataFrame) -> dict:
    """Share accepting (over known statuses) per 'STATE:County' (the directory's county, else the
    ZIP's)."""
    flagged = flagged_rows(rows)
    return _accepting_by(geo.table_county_keys(rows)[flagged], table_status(rows)[flagged])

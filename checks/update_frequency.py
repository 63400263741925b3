"""Update-frequency checks (T1.ii): every record carries the date it was last updated or verified,
that date is real and not in the future, and it falls inside the policy's verification window.

The window comes from the settings: ``--policy nsa`` (No Surprises Act, verify every 90 days, the
default), ``medicaid`` (42 CFR 438.10(h), 30 days), ``qhp`` (45 CFR 156.230(c), monthly: 31 days),
any ``[policies]`` entry of the settings file, or ``max_age_days``. Ages are whole days before
``--as-of``.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from directory_audit.findings import violations
from directory_audit.registry import check, metric
from directory_audit.settings import Settings

from .placeholders import SENTINEL_BEFORE, date_bounds, date_placeholder
from .records import source_gap

AGE_BINS = (("0-30", 0, 30), ("31-60", 31, 60), ("61-90", 61, 90), ("91-180", 91, 180),
            ("181-365", 181, 365), (">365", 366, None))


def age_days(rows: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    """Whole days from last_updated to as_of (negative in the future, NaN when there is no date)."""
    return (pd.Timestamp(as_of).normalize() - rows["last_updated"]).dt.days


@check(id="update.last_updated_missing", factor="T1.ii", severity="error",
       title="Last-updated date missing", message="record has no last-updated or verified date")
def last_updated_missing(rows: pd.DataFrame) -> pd.DataFrame:
    """Without a last-updated date nobody can show the record was verified within the window. Silent
    when no record has one (``update.none_published`` reports that once)."""
    mask = rows["last_updated_raw"].isna()
    if mask.all():
        mask = pd.Series(False, index=rows.index)
    return violations(rows, mask, field="last_updated", observed="", expected="a date")


@check(id="update.none_published", factor="T1.ii", severity="error",
       title="The directory publishes no last-updated dates",
       message="the directory publishes no last-updated dates: {expected}")
def none_published(rows: pd.DataFrame) -> pd.DataFrame:
    """No record carries a last-updated or verified date: nothing shows the directory is kept current.
    One finding about the directory (T1.ii is then not evidenced), not one per row."""
    return source_gap(rows, field="last_updated", needing=pd.Series(True, index=rows.index),
                      having=rows["last_updated_raw"].notna(),
                      what="a last-updated or verified date on each record (none has one)")


@check(id="update.last_updated_unparseable", factor="T1.ii", severity="error",
       title="Last-updated date unreadable", message="last-updated date {observed!r} is not a date")
def last_updated_unparseable(rows: pd.DataFrame) -> pd.DataFrame:
    """A last-updated value that is not a date in ISO 8601 or a usual US format ('13/45/2026',
    'sometime 2025')."""
    mask = rows["last_updated_raw"].notna() & rows["last_updated"].isna()
    return violations(rows, mask, field="last_updated", expected="a date such as 2026-10-01")


@check(id="update.last_updated_future", factor="T1.ii", severity="error",
       title="Last-updated date in the future",
       message="last-updated date {observed!r} is after the audit date {expected}")
def last_updated_future(rows: pd.DataFrame, as_of: pd.Timestamp, settings: Settings) -> pd.DataFrame:
    """A record cannot have been verified after the day it is audited: the date is a typo. Sentinels
    such as 9999-12-31 are ``placeholder.last_updated``'s, not reported again here."""
    mask = (age_days(rows, as_of) < 0) & ~date_placeholder(rows, **date_bounds(settings))
    return violations(rows, mask, field="last_updated", expected=pd.Timestamp(as_of).date().isoformat())


@check(id="update.stale", factor="T1.ii", severity="warning",
       title="Record older than the verification window",
       message="last updated {observed!r}, {expected}")
def stale(rows: pd.DataFrame, as_of: pd.Timestamp, settings: Settings) -> pd.DataFrame:
    """A record last updated or verified more than the policy's window (default 90 days, No Surprises
    Act) before the audit date. Placeholder dates (``placeholder.last_updated``: before 2014, from 2100) are
    placeholders, reported there, not here."""
    window = settings.verification_window_days
    age = age_days(rows, as_of)
    mask = (age > window) & ~date_placeholder(rows, **date_bounds(settings))   # a placeholder is not stale
    expected = age[mask].astype("int64").astype(str) + \
        f" days before the audit date (window {window} days, policy {settings.policy})"
    return violations(rows, mask, field="last_updated", expected=expected)


def _usable_ages(rows: pd.DataFrame, as_of: pd.Timestamp, settings: Settings) -> pd.Series:
    """Ages of the records whose date says when they were last updated: parsed, not in the future,
    and not a sentinel (1900-01-01 is no age; ``placeholder.last_updated`` reports it). A real date
    before 2014 is a placeholder by that check's rule yet a true age: it counts here."""
    age = age_days(rows, as_of)
    sentinel = date_placeholder(rows, earliest_date=SENTINEL_BEFORE,
                                latest_date=date_bounds(settings)["latest_date"])
    return age[age.notna() & (age >= 0) & ~sentinel]


@metric(id="update.age_summary", factor="T1.ii", title="Age of records")
def age_summary(rows: pd.DataFrame, as_of: pd.Timestamp, settings: Settings) -> dict:
    """Median and 90th-percentile age in days, and the share within the verification window, over
    records with a usable date (parsed, not in the future, not a sentinel)."""
    window = settings.verification_window_days
    age = _usable_ages(rows, as_of, settings)
    n = int(len(age))
    return {
        "window_days": int(window),
        "records_with_date": n,
        "median_days": round(float(age.median()), 1) if n else None,
        "p90_days": round(float(np.percentile(age, 90)), 1) if n else None,
        "share_within_window": round(float((age <= window).mean()), 4) if n else None,
    }


@metric(id="update.age_histogram", factor="T1.ii", title="Records by age in days")
def age_histogram(rows: pd.DataFrame, as_of: pd.Timestamp, settings: Settings) -> dict:
    """Records with a usable date (parsed, not in the future, not a sentinel), counted by age band in days."""
    age = _usable_ages(rows, as_of, settings)
    counts = [int(((age >= lo) & (age <= hi)).sum()) if hi is not None else int((age >= lo).sum())
              for _, lo, hi in AGE_BINS]
    return {"labels": [label for label, _, _ in AGE_BINS], "counts": counts}


@check(id="update.generation_stamp", factor="T1.ii", severity="warning",
       title="One last-updated date stamped on (nearly) every record",
       message="{expected}")
def generation_stamp(rows: pd.DataFrame, min_records: int = 20, min_share: float = 0.98) -> pd.DataFrame:
    """Many files stamp the date they were generated as every record's last-updated date. When (nearly)
    all dated records share one date, that date says when the file was written, not when anyone
    verified a record: it is no evidence of verification, and record-age figures built on it
    mean nothing. One finding for the directory, quoting the first record with the shared date;
    silent below ``min_records`` dated records or when the commonest date covers less than
    ``min_share`` of them."""
    dates = rows["last_updated"]
    dated = int(dates.notna().sum())
    if dated < min_records:
        return violations(rows.iloc[0:0], None, field="last_updated", expected="")
    counts = dates.value_counts()
    top, n = counts.index[0], int(counts.iloc[0])
    if n / dated < min_share:
        return violations(rows.iloc[0:0], None, field="last_updated", expected="")
    first = (dates == top).to_numpy().nonzero()[0][:1]
    mask = pd.Series(False, index=rows.index)
    mask.iloc[first] = True
    day = pd.Timestamp(top).date().isoformat()
    text = (f"{n:,} of {dated:,} dated records ({n / dated:.1%}) share the last-updated date {day}: a generation "
            f"stamp, so the date is no evidence that any record was verified")
    return violations(rows, mask, field="last_updated", expected=text,
                      detail=pd.Series(json.dumps({"date": day, "records": n, "dated_records": dated}), index=rows.index))

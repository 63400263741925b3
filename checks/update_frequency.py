"""Update-frequency checks (T1.ii): every record carries the date it was last updated or verified,
that date is real and not in the future, and it falls inside the policy's verification window.

The window comes from the settings: ``--policy nsa`` (No Surprises Act, verify every 90 days, the
default), ``medicaid`` (42 CFR 438.10(h), 30 days), ``qhp`` (45 CFR 156.230(c), monthly: 31 days),
any ``[policies]`` entry of the settings file, or ``max_age_days``. Ages are whole days before
``--as-of``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from directory_audit.findings import violations
from directory_audit.registry import check, metric
from directory_audit.settings import Settings

from .placeholders import date_placeholder
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
def last_updated_future(rows: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """A record cannot have been verified after the day it is audited: the date is a typo or a
    placeholder."""
    mask = age_days(rows, as_of) < 0
    return violations(rows, mask, field="last_updated", expected=pd.Timestamp(as_of).date().isoformat())


@check(id="update.stale", factor="T1.ii", severity="warning",
       title="Record older than the verification window",
       message="last updated {observed!r}, {expected}")
def stale(rows: pd.DataFrame, as_of: pd.Timestamp, settings: Settings) -> pd.DataFrame:
    """A record last updated or verified more than the policy's window (default 90 days, No Surprises
    Act) before the audit date. Dates before ``placeholder.last_updated``'s earliest date are
    placeholders, reported there, not here."""
    window = settings.verification_window_days
    age = age_days(rows, as_of)
    earliest = settings.options_for("placeholder.last_updated").get("earliest_date", "2014-01-01")
    mask = (age > window) & ~date_placeholder(rows, earliest)    # a placeholder is not a stale date
    expected = age[mask].astype("int64").astype(str) + \
        f" days before the audit date (window {window} days, policy {settings.policy})"
    return violations(rows, mask, field="last_updated", expected=expected)


def _usable_ages(rows: pd.DataFrame, as_of: pd.Timestamp) -> pd.Series:
    age = age_days(rows, as_of)
    return age[age.notna() & (age >= 0)]


@metric(id="update.age_summary", factor="T1.ii", title="Age of records")
def age_summary(rows: pd.DataFrame, as_of: pd.Timestamp, settings: Settings) -> dict:
    """Median and 90th-percentile age in days, and the share within the verification window, over
    records with a usable date (parsed and not in the future)."""
    window = settings.verification_window_days
    age = _usable_ages(rows, as_of)
    n = int(len(age))
    return {
        "window_days": int(window),
        "records_with_date": n,
        "median_days": round(float(age.median()), 1) if n else None,
        "p90_days": round(float(np.percentile(age, 90)), 1) if n else None,
        "share_within_window": round(float((age <= window).mean()), 4) if n else None,
    }


@metric(id="update.age_histogram", factor="T1.ii", title="Records by age in days")
def age_histogram(rows: pd.DataFrame, as_of: pd.Timestamp) -> dict:
    """Records with a usable date, counted by age band in days."""
    age = _usable_ages(rows, as_of)
    counts = [int(((age >= lo) & (age <= hi)).sum()) if hi is not None else int((age >= lo).sum())
              for _, lo, hi in AGE_BINS]
    return {"labels": [label for label, _, _ in AGE_BINS], "counts": counts}

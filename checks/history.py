"""Checks and metrics that compare this run with the runs kept in the history store (``--history``):
how often the directory really changes (T1.ii) and how the network moved (T2.iii). Without a store
they are skipped (``requires=("history",)``). The store's past reaches them as
``context.reference["history"]``, a ``directory_audit.history.HistoryEvidence`` read before the audit.
"""
from __future__ import annotations

import pandas as pd

from directory_audit.findings import VIOLATION_COLUMNS
from directory_audit.history import CHANGE_COUNTS, measured_frequency, timeline_with
from directory_audit.narrative import frequency_days
from directory_audit.registry import check, metric
from directory_audit.runner import AuditContext

#: The counts that describe the network (the findings counts are known only after the run).
NETWORK_COUNTS = tuple(k for k in CHANGE_COUNTS if not k.startswith("findings"))


def _none() -> pd.DataFrame:
    return pd.DataFrame(columns=list(VIOLATION_COLUMNS))


@check(id="update.measured_frequency", factor="T1.ii", severity="warning", requires=("history",),
       title="The directory changed less often than the insurer says it is updated",
       message="{observed}, but {expected}")
def measured_frequency_contradicts(rows: pd.DataFrame, context: AuditContext, as_of: pd.Timestamp) -> pd.DataFrame:
    """Measured, not claimed: over the runs in the history store, the longest period in which no
    provider-location was added, removed or changed and no last-updated date moved. When that period
    is longer than the narrative's stated update interval allows (twice the interval, and the interval
    plus 14 days, the same tolerance as the record-age comparison), the evidence contradicts the
    disclosed frequency: the narrative's (T1.ii update_frequency) and, for a website audit, the one its
    disclosure page states; one finding per contradicted claim. Silent when neither states a
    readable frequency."""
    evidence = context.reference["history"]
    site = ((context.load_metadata or {}).get("site") or {}).get("disclosure") or {}
    claims = [("the narrative", evidence.stated_frequency), ("the website's disclosure page", site.get("update_frequency"))]
    m = measured_frequency(evidence, rows, pd.Timestamp(as_of).date())
    out = []
    for who, stated in claims:
        days = frequency_days(str(stated)) if stated else None
        if days is None:
            continue
        limit = max(2 * days, days + 14)
        if m["longest_quiet_days"] <= limit:
            continue
        out.append({
            "record_id": f"history:{m['longest_quiet_from']}..{m['longest_quiet_to']}",
            "npi": "", "provider_name": "", "field": "update_frequency",
            "observed": (f"no provider-location was added, removed or changed and no last-updated date moved for "
                         f"{m['longest_quiet_days']} days ({m['longest_quiet_from']} to {m['longest_quiet_to']}, "
                         f"{m['runs_observed']} runs observed)"),
            "expected": (f"{who} says the directory is updated {stated!r} (every {days} days; more than {limit} "
                         f"days without an update contradicts it)"),
            "detail": "",
        })
    return pd.DataFrame(out, columns=list(VIOLATION_COLUMNS)) if out else _none()


@metric(id="update.measured_frequency", factor="T1.ii", title="Measured update frequency (history store)",
        requires=("history",))
def measured_update_frequency(rows: pd.DataFrame, context: AuditContext, as_of: pd.Timestamp) -> dict:
    """From the stored runs and this one: runs observed, days spanned, runs showing an update (any row
    added, removed or changed, or any last-updated date moved), the mean days between updates, the
    longest period without one, the newest last-updated date, and the frequency the narrative states."""
    return measured_frequency(context.reference["history"], rows, pd.Timestamp(as_of).date())


@metric(id="network.changes_since_last_run", factor="T2.iii", title="Network changes since the last run",
        requires=("history",))
def changes_since_last_run(rows: pd.DataFrame, context: AuditContext) -> dict:
    """Against the previous run in the store: provider-locations added, removed and changed; providers
    joining and leaving (by NPI, else provider key); locations opening and closing (by location key);
    accepting-new-patients flags turned on and off; last-updated dates that moved."""
    evidence = context.reference["history"]
    changes = evidence.changes(rows)
    if changes is None:
        return {"previous_run": None, "note": "first run in this history store: nothing to compare with"}
    prev = evidence.previous_run
    return {"previous_run": int(prev["id"]), "previous_as_of": prev["as_of"],
            **{k: changes[k] for k in NETWORK_COUNTS}}


def _timeline(rows: pd.DataFrame, context: AuditContext, as_of: pd.Timestamp) -> pd.DataFrame:
    tl = timeline_with(context.reference["history"], rows, pd.Timestamp(as_of).date())
    return tl[~tl["first"]]       # the store's first run has nothing to be compared with


@metric(id="network.changes_by_run", factor="T2.iii", title="Network changes per run (last 12 runs)",
        requires=("history",))
def changes_by_run(rows: pd.DataFrame, context: AuditContext, as_of: pd.Timestamp) -> dict:
    """The same counts for each of the last 12 runs against the run before it: how often the network
    actually changes, night by night."""
    tl = _timeline(rows, context, as_of).tail(12)
    label = tl["run_id"].map(lambda r: "this run" if pd.isna(r) else f"run {int(r)}") + " (" + tl["as_of"] + ")"
    return {lab: {k: int(v) for k, v in zip(NETWORK_COUNTS, vals)}
            for lab, vals in zip(label, tl[list(NETWORK_COUNTS)].to_numpy())}


@metric(id="network.changes_by_month", factor="T2.iii", title="Network changes per month",
        requires=("history",))
def changes_by_month(rows: pd.DataFrame, context: AuditContext, as_of: pd.Timestamp) -> dict:
    """The counts summed per calendar month of the runs' as-of dates, with the number of runs each
    month: evidence of how often enrollees would have network changes to be told about."""
    tl = _timeline(rows, context, as_of)
    if tl.empty:
        return {}
    month = tl["as_of"].str.slice(0, 7)
    g = tl[list(NETWORK_COUNTS)].groupby(month).sum()
    runs = month.value_counts()
    return {m: {"runs": int(runs[m]), **{k: int(g.loc[m, k]) for k in NETWORK_COUNTS}} for m in g.index}


@check(id="network.provider_left", factor="T2.iii", severity="info", requires=("history",),
       title="Provider listed in the previous run is gone",
       message="{provider_name} was listed at {observed} in the previous run and is no longer listed")
def provider_left(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """A provider (by NPI, else provider key) listed in the previous run and not in this one has left
    the network, or vanished from the directory: enrollees who chose them must be told (T2.iii). One
    finding per provider, quoting where they were listed, so the notification can be checked."""
    evidence = context.reference["history"]
    if evidence.previous_run is None or evidence.previous.empty:
        return _none()
    prev = evidence.previous
    cur = evidence.current(rows)
    who_prev = prev["npi"].where(prev["npi"] != "", prev["provider_key"])
    who_cur = set(cur["npi"].where(cur["npi"] != "", cur["provider_key"]))
    gone = prev[~who_prev.isin(who_cur)].assign(who=who_prev)
    if gone.empty:
        return _none()
    place = gone["address_line1"] + ", " + gone["city"] + " " + gone["zip"]
    g = gone.assign(place=place).groupby("who", sort=True).agg(
        npi=("npi", "first"), provider_name=("display_name", "first"), observed=("place", lambda s: "; ".join(s)))
    run = int(evidence.previous_run["id"])
    return pd.DataFrame({
        "record_id": [f"run {run}:{w}" for w in g.index], "npi": g["npi"].to_numpy(),
        "provider_name": g["provider_name"].to_numpy(), "field": "address_line1", "observed": g["observed"].to_numpy(),
        "expected": "enrollees told of the change (see the T2.iii narrative)", "detail": "",
    })

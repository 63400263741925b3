"""The status of each factor item, and why.

A status is one of four words, decided from what the run recorded in ``summary.json`` and from the
insurer's narrative; nothing is recomputed from the directory. The rule, which the reports print
verbatim from ``RULE_TEXT``:

Data part (items whose evidence the directory's data can give):
  * **not measured**: no check of the item ran to completion and no metric of the item was produced
    (the checks were not selected, were skipped for want of a reference file, or crashed), or no row
    was audited.
  * **not evidenced**: the directory publishes no value of a field the item rests on at all
    (``SOURCE_GAPS``: no language, no accepting flag, no last-updated date anywhere), or error findings amount to at least ``NOT_EVIDENCED_ERROR_SHARE`` (10%) of the
    provider-location rows audited: the data contradicts the item for a large part of the directory.
  * **needs attention**: error findings above ``ATTENTION_ERROR_SHARE`` (1%) of rows, or warning
    findings above ``ATTENTION_WARNING_SHARE`` (5%) of rows, or a check of the item crashed, or the
    narrative contradicts the data (see ``contradictions``).
  * **evidenced**: otherwise. A few findings below those shares are still listed, to be fixed.

Narrative part (items with questions only the insurer can answer, see ``directory_audit.narrative``):
  * **supplied** when every required question has an answer, **missing** otherwise.

The item's status:
  * data only (T1.i, T2.iv, T2.v): the data part, with "not measured" reported as *not evidenced*.
  * narrative only (T1.iv): *evidenced* when the narrative is supplied, else *narrative missing*.
  * both: *not evidenced* if the data part is; else *narrative missing* if an answer is missing; else
    *needs attention* if the data part needs attention; else *evidenced* (when no data check ran, the
    report says the item rests on the narrative alone).

A factor's status is its worst item's, in the order evidenced < needs attention < narrative missing
< not evidenced. Shares count findings, not distinct rows, so a row with two errors counts twice: the
shares are an upper bound on the rows affected.
"""
from __future__ import annotations

from typing import Any

from directory_audit.narrative import Narrative, frequency_days

EVIDENCED = "evidenced"
NEEDS_ATTENTION = "needs attention"
NARRATIVE_MISSING = "narrative missing"
NOT_EVIDENCED = "not evidenced"
#: Worst last. A factor takes its worst item's status.
STATUS_ORDER = (EVIDENCED, NEEDS_ATTENTION, NARRATIVE_MISSING, NOT_EVIDENCED)
#: A text mark beside each status, so status never depends on colour alone.
STATUS_MARK = {EVIDENCED: "✔", NEEDS_ATTENTION: "!", NARRATIVE_MISSING: "?", NOT_EVIDENCED: "✖"}
STATUS_MEANING = {
    EVIDENCED: "the run's data (and the narrative, where one is needed) supports the item",
    NEEDS_ATTENTION: "the item is supported, but findings, a crashed check or a contradiction need fixing",
    NARRATIVE_MISSING: "the item needs the insurer's narrative and an answer is missing",
    NOT_EVIDENCED: "nothing measured the item, or errors cover a large part of the directory",
}

#: Source-level gaps: a check that finds the directory publishes no value of a field at all, and the
#: items that field evidences. Such a gap is one finding, far below any share of rows, yet the item
#: cannot be evidenced by a directory that says nothing: the item is *not evidenced*.
SOURCE_GAPS = {
    "language.none_published": (("T2.iv",), "the directory publishes no language information"),
    "open_practice.none_published": (("T1.iii", "T2.v"), "the directory publishes no accepting-new-patients "
                                                           "information"),
    "update.none_published": (("T1.ii",), "the directory publishes no last-updated dates"),
}

ATTENTION_ERROR_SHARE = 0.01
ATTENTION_WARNING_SHARE = 0.05
NOT_EVIDENCED_ERROR_SHARE = 0.10
#: Monthly, the longest update interval OAR 836-053-0350 and 45 CFR 156.230(c) allow.
REQUIRED_UPDATE_DAYS = 31

RULE_TEXT = (
    f"Data part: not measured when no check of the item ran and no metric was produced; not evidenced when "
    f"the directory publishes no value at all of a field the item rests on (languages for T2.iv, accepting "
    f"flags for T1.iii and T2.v, last-updated dates for T1.ii), or when error findings reach {NOT_EVIDENCED_ERROR_SHARE:.0%} of rows audited; needs attention when error findings "
    f"exceed {ATTENTION_ERROR_SHARE:.0%} of rows, warning findings exceed {ATTENTION_WARNING_SHARE:.0%} of rows, "
    f"a check of the item crashed, or the narrative contradicts the data; evidenced otherwise.",
    "Narrative part: supplied when every required question of the item is answered in the narrative file, "
    "missing otherwise. Missing answers are never filled in.",
    "Item status: data-only items take the data part (not measured counts as not evidenced); the narrative-only "
    "item (T1.iv) is evidenced when its narrative is supplied, else narrative missing; other items are not "
    "evidenced if the data part is, else narrative missing if an answer is missing, else needs attention if the "
    "data part needs attention, else evidenced.",
    "Factor status: the worst status among its items (evidenced < needs attention < narrative missing < "
    "not evidenced). Shares count findings, not distinct rows, so they are an upper bound on the rows affected.",
)


def worst(statuses: list[str]) -> str:
    return max(statuses, key=STATUS_ORDER.index) if statuses else NOT_EVIDENCED


def _share(n: int, rows: int) -> float:
    return n / rows if rows else 0.0


def contradictions(item_id: str, metrics: dict[str, Any], narrative: Narrative) -> tuple[list[str], list[str]]:
    """Where what the narrative states disagrees with what the run measured, or with the rule.

    Returns (contradictions, notes). Today: the stated update frequency (T1.ii, and T1.iii's optional
    one) against ``update.age_summary``'s median record age. A median age above twice the stated
    interval, and above the interval plus 14 days, contradicts it; a stated interval longer than
    monthly falls short of the rule."""
    found: list[str] = []
    notes: list[str] = []
    if item_id not in ("T1.ii", "T1.iii"):
        return found, notes
    stated = narrative.answer(item_id, "update_frequency")
    if not stated:
        return found, notes
    days = frequency_days(stated)
    if days is None:
        notes.append(f"The narrative's update frequency {stated!r} names no interval the report can read "
                     "(daily, weekly, monthly, every N days ...), so it was not compared with record age.")
        return found, notes
    if days > REQUIRED_UPDATE_DAYS:
        found.append(f"The narrative states updates {stated!r} (every {days} days); Oregon (OAR 836-053-0350) "
                     f"and 45 CFR 156.230(c) require the directory to be updated at least monthly.")
    age = (metrics.get("update.age_summary") or {}).get("value")
    median = age.get("median_days") if isinstance(age, dict) else None
    if not isinstance(median, (int, float)):
        notes.append("No record-age metric (update.age_summary) in this run, so the stated update frequency "
                     "was not compared with the data.")
        return found, notes
    limit = max(2 * days, days + 14)
    if median > limit:
        p90 = age.get("p90_days")
        tail = f" (90th percentile {p90:,.0f} days)" if isinstance(p90, (int, float)) else ""
        found.append(f"The narrative says the directory is updated {stated!r} (every {days} days), but the median "
                     f"record was last updated {median:,.0f} days before the as-of date{tail}, more than the "
                     f"{limit} days that frequency allows: the data contradicts the narrative.")
    else:
        notes.append(f"The median record age ({median:,.0f} days) is consistent with the stated update frequency "
                     f"{stated!r} (every {days} days; contradiction above {limit} days).")
    return found, notes


def item_status(item: Any, entry: dict[str, Any], summary: dict[str, Any], narrative: Narrative,
                narrative_questions: bool) -> dict[str, Any]:
    """Status of one factor item. ``item`` is the FactorItem, ``entry`` its summary['factor_items'] entry."""
    rows = int(summary.get("rows_audited") or 0)
    sev = {k: int(v) for k, v in (entry.get("findings_by_severity") or {}).items()}
    errors, warnings = sev.get("error", 0), sev.get("warning", 0)
    runs = {r.get("check_id"): r for r in summary.get("check_runs", [])}
    item_checks = list((entry.get("checks") or {}).keys())
    ran = [c for c in item_checks if runs.get(c, {}).get("status") == "ok"]
    crashed = [c for c in item_checks if runs.get(c, {}).get("status") == "error"]
    skipped = [c for c in item_checks if runs.get(c, {}).get("status") == "skipped"]
    metrics = entry.get("metrics") or {}
    has_data = bool(item.data_evidence)
    reasons: list[str] = []
    found, notes = contradictions(item.id, metrics, narrative)

    by_check = summary.get("findings_by_check") or {}
    gaps = [(cid, why) for cid, (items, why) in SOURCE_GAPS.items() if item.id in items and by_check.get(cid)]
    data_status = None
    if has_data:
        err_share, warn_share = _share(errors, rows), _share(warnings, rows)
        if rows == 0 or (not ran and not metrics):
            data_status = "not measured"
            why = "no row was audited" if rows == 0 else "no check of this item ran and no metric was produced"
            reasons.append(f"Data: {why}.")
        elif gaps:
            data_status = NOT_EVIDENCED
            reasons.extend(f"Data: {why} (check {cid})." for cid, why in gaps)
        elif err_share >= NOT_EVIDENCED_ERROR_SHARE:
            data_status = NOT_EVIDENCED
            reasons.append(f"Data: {errors:,} error findings on {rows:,} rows ({err_share:.1%}), at or above "
                           f"{NOT_EVIDENCED_ERROR_SHARE:.0%}.")
        else:
            attention = []
            if err_share > ATTENTION_ERROR_SHARE:
                attention.append(f"{errors:,} error findings on {rows:,} rows ({err_share:.1%}), above "
                                 f"{ATTENTION_ERROR_SHARE:.0%}")
            if warn_share > ATTENTION_WARNING_SHARE:
                attention.append(f"{warnings:,} warning findings on {rows:,} rows ({warn_share:.1%}), above "
                                 f"{ATTENTION_WARNING_SHARE:.0%}")
            if crashed:
                attention.append(f"check(s) crashed: {', '.join(crashed)}")
            if found:
                attention.append("the narrative contradicts the data or the rule (see below)")
            if attention:
                data_status = NEEDS_ATTENTION
                reasons.append("Data: " + "; ".join(attention) + ".")
            else:
                data_status = EVIDENCED
                reasons.append(f"Data: {len(ran)} check(s) ran{' and ' + str(len(metrics)) + ' metric(s)' if metrics else ''}; "
                               f"{errors:,} error and {warnings:,} warning findings on {rows:,} rows, within "
                               f"{ATTENTION_ERROR_SHARE:.0%} and {ATTENTION_WARNING_SHARE:.0%}.")
        if skipped:
            notes.append(f"Skipped for want of a reference file: {', '.join(skipped)}.")

    narrative_status = None
    missing = []
    if narrative_questions:
        missing = narrative.missing(item.id)
        narrative_status = "missing" if missing else "supplied"
        if missing:
            reasons.append("Narrative: no answer for " + ", ".join(f.label.lower() for f in missing) + ".")
        else:
            reasons.append("Narrative: supplied.")

    if not has_data:
        status = EVIDENCED if narrative_status == "supplied" else NARRATIVE_MISSING
    elif not narrative_questions:
        status = NOT_EVIDENCED if data_status == "not measured" else data_status
    elif data_status == NOT_EVIDENCED:
        status = NOT_EVIDENCED
    elif narrative_status == "missing":
        status = NARRATIVE_MISSING
    elif data_status == NEEDS_ATTENTION:
        status = NEEDS_ATTENTION
    elif found:
        status = NEEDS_ATTENTION   # the narrative contradicts the rule even where no data measured the item
    else:
        status = EVIDENCED
        if data_status == "not measured":
            reasons.append("This item rests on the narrative alone: no data check measured it in this run.")
    return {
        "status": status, "data_status": data_status, "narrative_status": narrative_status,
        "reasons": reasons, "contradictions": found, "notes": notes,
        "narrative_missing": [f.label for f in missing],
        "checks_ran": ran, "checks_crashed": crashed, "checks_skipped": skipped,
        "error_share": round(_share(errors, rows), 6), "warning_share": round(_share(warnings, rows), 6),
    }

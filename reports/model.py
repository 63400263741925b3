"""The report's data, built once from the findings frame, the summary and the narrative; the HTML and
Markdown renderers and ``report.json`` all show this one value, so the three never disagree.

Reports read only what the run produced (findings and ``summary.json``) and the insurer's narrative:
no canonical table, no recomputation. Counts and metric values are copied from the summary.
"""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pandas as pd

from directory_audit.factors import FACTOR_ITEMS
from directory_audit.narrative import NARRATIVE_FIELDS, Narrative, answer_summary

from . import status as st
from .metrics import present

REPORT_VERSION = 1
#: Findings embedded in the HTML table; the rest are in findings.csv, which the report links.
TOP_N = 2000
EXAMPLES_PER_ITEM = 5
#: Fix-list rows shown in the reports; fixlist.csv has them all.
FIXLIST_TOP_N = 100
FIXLIST_SHOWN = ("priority", "action", "npi", "name", "type", "accepting", "locations_concerned", "findings",
                 "priority_reason")
SEVERITIES = ("error", "warning", "info")
TABLE_COLUMNS = ("severity", "factor_item", "check_id", "record_id", "npi", "provider_name", "field",
                 "observed", "expected", "message")
EXAMPLE_COLUMNS = ("check_id", "severity", "record_id", "npi", "provider_name", "field", "observed", "expected",
                   "message")
FACTOR_TITLES = {
    1: "Transparency Factor #1: the directory, its upkeep and who is responsible",
    2: "Transparency Factor #2: what providers and enrollees can find and are told",
}


def _ordered(findings: pd.DataFrame) -> pd.DataFrame:
    """Errors first, then warnings, then info; within a severity by factor item, check and record."""
    if findings.empty:
        return findings
    sev = findings["severity"].map({s: i for i, s in enumerate(SEVERITIES)}).fillna(len(SEVERITIES))
    item = findings["factor_item"].map({k: i for i, k in enumerate(FACTOR_ITEMS)}).fillna(len(FACTOR_ITEMS))
    order = pd.DataFrame({"s": sev, "i": item, "c": findings["check_id"].astype(str),
                          "r": findings["record_id"].astype(str)}, index=findings.index)
    return findings.loc[order.sort_values(["s", "i", "c", "r"], kind="stable").index]


def _records(frame: pd.DataFrame, columns: tuple[str, ...]) -> list[dict[str, str]]:
    cols = [c for c in columns if c in frame.columns]
    out = frame[cols].astype("object").where(frame[cols].notna(), "").astype(str)
    return out.to_dict(orient="records")


def _examples(ordered: pd.DataFrame) -> dict[str, list[dict[str, str]]]:
    """Per item, up to EXAMPLES_PER_ITEM findings: first one per check (worst severity first), then more."""
    out: dict[str, list[dict[str, str]]] = {}
    if ordered.empty:
        return out
    firsts = ordered.groupby(["factor_item", "check_id"], sort=False).head(1)
    for item, group in firsts.groupby("factor_item", sort=False):
        picked = group.head(EXAMPLES_PER_ITEM)
        if len(picked) < EXAMPLES_PER_ITEM:
            rest = ordered[(ordered["factor_item"] == item) & ~ordered.index.isin(picked.index)]
            picked = _ordered(pd.concat([picked, rest.head(EXAMPLES_PER_ITEM - len(picked))]))
        out[str(item)] = _records(picked, EXAMPLE_COLUMNS)
    return out


def _fix_list(fixlist: pd.DataFrame | None, summary: dict[str, Any]) -> dict[str, Any]:
    """The fix list's counts (from the summary) and its first FIXLIST_TOP_N rows, already in order."""
    from directory_audit.fixlist import ACTIONS, FIXLIST_COLUMNS
    counts = summary.get("fixlist") or {}
    frame = fixlist if fixlist is not None else pd.DataFrame(columns=list(FIXLIST_COLUMNS))
    top = frame.head(FIXLIST_TOP_N)
    return {"file": "fixlist.csv", "total": int(counts.get("providers", len(frame))),
            "by_action": {a: int((counts.get("by_action") or {}).get(a, 0)) for a in ACTIONS},
            "by_priority": {p: int((counts.get("by_priority") or {}).get(p, 0)) for p in ("1", "2", "3")},
            "columns": list(FIXLIST_SHOWN), "embedded": int(len(top)),
            "rows": _records(top, FIXLIST_SHOWN) if len(top) else []}


def build(findings: pd.DataFrame, summary: dict[str, Any], narrative: Narrative | None = None,
          top_n: int = TOP_N, fixlist: pd.DataFrame | None = None) -> dict[str, Any]:
    """The report as plain JSON-ready data (``report.json``)."""
    narrative = narrative or Narrative()
    settings = summary.get("settings") or {}
    ordered = _ordered(findings)
    examples = _examples(ordered)
    runs = {r.get("check_id"): r for r in summary.get("check_runs", [])}

    items: dict[str, Any] = {}
    for item_id, item in FACTOR_ITEMS.items():
        entry = (summary.get("factor_items") or {}).get(item_id) or {}
        has_questions = item_id in NARRATIVE_FIELDS
        verdict = st.item_status(item, entry, summary, narrative, has_questions)
        by_sev = {s: int((entry.get("findings_by_severity") or {}).get(s, 0)) for s in SEVERITIES}
        metrics = [present(mid, (m or {}).get("title", mid), (m or {}).get("value"))
                   for mid, m in (entry.get("metrics") or {}).items()]
        items[item_id] = {
            "id": item_id, "factor": item.factor, "title": entry.get("title", item.title),
            "asks": item.asks, "data_evidence": item.data_evidence, "narrative_asks": item.narrative,
            "narrative_only": bool(entry.get("narrative_only", not item.data_evidence)),
            **verdict,
            "findings": int(entry.get("findings", 0)), "findings_by_severity": by_sev,
            "checks": [{"id": cid, "count": int(n), "run_status": runs.get(cid, {}).get("status", "not run"),
                        "error": runs.get(cid, {}).get("error", "")}
                       for cid, n in (entry.get("checks") or {}).items()],
            "metrics": metrics,
            "narrative": [{"key": f.key, "label": f.label, "required": f.required,
                           "answer": narrative.answer(item_id, f.key)} for f in NARRATIVE_FIELDS.get(item_id, ())],
            "examples": examples.get(item_id, []),
        }

    factors = []
    for n in (1, 2):
        ids = [i for i, it in FACTOR_ITEMS.items() if it.factor == n]
        statuses = [items[i]["status"] for i in ids]
        factors.append({"factor": n, "title": FACTOR_TITLES[n], "items": ids, "status": st.worst(statuses),
                        "counts": {s: statuses.count(s) for s in st.STATUS_ORDER}})

    top = ordered.head(top_n)
    crashed = [r for r in summary.get("check_runs", []) if r.get("status") == "error"]
    skipped = [r for r in summary.get("check_runs", []) if r.get("status") == "skipped"]
    return {
        "report": "directory-audit factor evidence report",
        "report_version": REPORT_VERSION,
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cover": {
            "source": summary.get("source"),
            "sources_read": summary.get("sources_read", []),
            "format": summary.get("format"),
            "as_of": settings.get("as_of"),
            "policy": settings.get("policy"),
            "verification_window_days": settings.get("verification_window_days"),
            "fail_on": settings.get("fail_on"),
            "selected_checks": settings.get("selected_checks", []),
            "disabled_checks": settings.get("disabled_checks", []),
            "check_options": settings.get("check_options", {}),
            "service_area_states": settings.get("service_area_states", []),
            "rows_audited": int(summary.get("rows_audited", 0)),
            "rows_read": int(summary.get("rows_read", summary.get("rows_audited", 0))),
            "provider_locations_audited": int(summary.get("provider_locations_audited", summary.get("rows_audited", 0))),
            "providers_audited": int(summary.get("providers_audited", 0)),
            "providers_by_type": {t: int((summary.get("providers_by_type") or {}).get(t, 0))
                                  for t in ("individual", "group", "facility", "unknown")},
            "records_unreadable": int(summary.get("records_unreadable", 0)),
            "findings_total": int(summary.get("findings_total", 0)),
            "findings_by_severity": {s: int((summary.get("findings_by_severity") or {}).get(s, 0)) for s in SEVERITIES},
            "tool": summary.get("tool", "directory-audit"),
            "tool_version": summary.get("tool_version"),
            "input_checksum": summary.get("input_checksum"),
            "started_at": summary.get("started_at"),
            "duration_seconds": summary.get("duration_seconds"),
            "narrative_file": str(narrative.path) if narrative.path else None,
            "insurer": narrative.insurer,
        },
        "status_rule": {
            "statuses": [{"status": s, "mark": st.STATUS_MARK[s], "meaning": st.STATUS_MEANING[s]}
                         for s in st.STATUS_ORDER],
            "thresholds": {"attention_error_share": st.ATTENTION_ERROR_SHARE,
                           "attention_warning_share": st.ATTENTION_WARNING_SHARE,
                           "not_evidenced_error_share": st.NOT_EVIDENCED_ERROR_SHARE,
                           "required_update_days": st.REQUIRED_UPDATE_DAYS},
            "text": list(st.RULE_TEXT),
        },
        "factors": factors,
        "items": items,
        "findings_by_factor_item": {k: int(v) for k, v in (summary.get("findings_by_factor_item") or {}).items()},
        "findings_by_factor_item_severity": {k: v["findings_by_severity"] for k, v in items.items()},
        "findings_table": {
            "total": int(len(findings)), "embedded": int(len(top)), "columns": list(TABLE_COLUMNS),
            "full_files": ["findings.csv", "findings.jsonl"], "rows": _records(top, TABLE_COLUMNS),
        },
        "fix_list": _fix_list(fixlist, summary),
        "narrative": {"file": str(narrative.path) if narrative.path else None, "insurer": narrative.insurer,
                      "items": answer_summary(narrative)},
        "history": history_view(summary.get("history")),
        "problems": {"checks_crashed": crashed, "checks_skipped": skipped,
                     "metric_errors": summary.get("metric_errors", {})},
    }


def history_view(history: dict[str, Any] | None) -> dict[str, Any] | None:
    """The history part of the report (``--history``): changes since the last run and the trend over
    the stored runs, as the history store handed them over in ``summary['history']``; None without one."""
    if not history:
        return None
    trend = history.get("trend") or {}
    labels = [f"{r['run_id']}" for r in trend.get("runs", [])]
    dates = [r["as_of"] for r in trend.get("runs", [])]
    findings = trend.get("findings") or {}
    errors_warnings = [(item, [None if e is None else e + (w or 0) for e, w in zip(v["errors"], v["warnings"])])
                       for item, v in findings.items() if FACTOR_ITEMS.get(item) and FACTOR_ITEMS[item].data_evidence]
    return {
        "store": history.get("store"), "run_id": history.get("run_id"),
        "manifest_sha256": history.get("manifest_sha256"),
        "changes": history.get("changes"),
        "trend": {"labels": labels, "dates": dates, "findings": errors_warnings,
                  "metrics": [(m["label"], m["values"]) for m in trend.get("metrics", [])]},
    }


def to_json(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n"

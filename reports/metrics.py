"""How each metric is shown: a sentence or two, a table, and for some a chart.

Metric values come from ``summary["factor_items"][item]["metrics"][id]["value"]`` as the run produced
them. The metrics listed in ``PRESENTERS`` get a purpose-made view; any other metric, or a known one
whose value has an unexpected shape, is shown generically as a small table, so a new metric appears
in the report without a change here.
"""
from __future__ import annotations

from typing import Any, Callable

MAX_TABLE_ROWS = 50
MAX_CHART_BARS = 20


def num(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.0f}" if v.is_integer() and abs(v) >= 1000 else f"{v:,.2f}".rstrip("0").rstrip(".")
    if v is None:
        return "—"
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    return str(v)


def pct(v: Any) -> str:
    """A share in [0, 1] as a percentage with one decimal."""
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return num(v)
    return f"{v * 100:.1f}%"


def cell(key: str, v: Any) -> str:
    return pct(v) if "share" in key and isinstance(v, (int, float)) and not isinstance(v, bool) else num(v)


def _table(columns: list[str], rows: list[list[str]]) -> dict[str, Any]:
    more = max(0, len(rows) - MAX_TABLE_ROWS)
    return {"columns": columns, "rows": rows[:MAX_TABLE_ROWS], "more": more}


def generic(metric_id: str, value: Any) -> dict[str, Any]:
    """Any value: a scalar as a sentence, a dict as a key/value table, a dict of dicts as a table."""
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        cols: list[str] = []
        for v in value.values():
            cols += [k for k in v if k not in cols]
        rows = [[str(k)] + [cell(c, v.get(c)) for c in cols] for k, v in value.items()]
        return {"sentences": [], "table": _table([""] + cols, rows)}
    if isinstance(value, dict):
        rows = [[str(k), cell(str(k), v) if not isinstance(v, dict) else
                 ", ".join(f"{a}: {cell(str(a), b)}" for a, b in v.items())] for k, v in value.items()]
        return {"sentences": [], "table": _table(["", "value"], rows)}
    if isinstance(value, (list, tuple)):
        shown = ", ".join(str(x) for x in value[:MAX_TABLE_ROWS])
        extra = f" and {len(value) - MAX_TABLE_ROWS:,} more" if len(value) > MAX_TABLE_ROWS else ""
        return {"sentences": [(shown + extra) if value else "none"]}
    return {"sentences": [cell(metric_id, value)]}


def _valid_share(v: dict) -> dict:
    return {"sentences": [f"{num(v['valid'])} of {num(v['rows'])} provider-locations show a complete, valid "
                          f"practice location ({pct(v['share'])})."]}


def _age_summary(v: dict) -> dict:
    s = [f"{num(v['records_with_date'])} records carry a last-updated date. Median age {num(v['median_days'])} "
         f"days, 90th percentile {num(v['p90_days'])} days, before the as-of date."]
    s.append(f"{pct(v['share_within_window'])} of dated records were updated within the "
             f"{num(v['window_days'])}-day verification window.")
    return {"sentences": s}


def _age_histogram(v: dict) -> dict:
    labels, counts = [str(x) for x in v["labels"]], [int(c) for c in v["counts"]]
    if len(labels) != len(counts):
        raise ValueError("labels and counts differ in length")
    return {"sentences": [], "table": _table(["days since last update", "records"],
                                             [[l, num(c)] for l, c in zip(labels, counts)]),
            "chart": {"kind": "histogram", "labels": labels, "counts": counts,
                      "x_title": "days since last update (as of the audit date)"}}


def _flag_coverage(v: dict) -> dict:
    return {"sentences": [f"{num(v['with_valid_flag'])} of {num(v['rows'])} provider-locations show a valid "
                          f"accepting-new-patients status ({pct(v['share'])})."]}


def _accepting_share(v: dict) -> dict:
    out = {"sentences": [f"{pct(v['share_accepting'])} of {num(v['rows'])} provider-locations are shown as "
                         f"accepting new patients."]}
    by = v.get("by_status")
    if isinstance(by, dict) and by:
        out["table"] = _table(["status", "provider-locations"], [[str(k), cell(str(k), c)] for k, c in by.items()])
    return out


def _accepting_by_specialty(v: dict) -> dict:
    items = sorted(v.items(), key=lambda kv: (-int(kv[1].get("rows", 0)), kv[0]))
    bars = [(name, float(d["share_accepting"]), f"{pct(d['share_accepting'])} of {num(d['rows'])}")
            for name, d in items[:MAX_CHART_BARS]]
    more = f" (the {MAX_CHART_BARS} largest of {len(items):,} specialties)" if len(items) > MAX_CHART_BARS else ""
    return {"sentences": [], "table": _table(["specialty", "provider-locations", "share accepting"],
                                            [[k, num(d.get("rows")), pct(d.get("share_accepting"))] for k, d in items]),
            "chart": {"kind": "hbar", "rows": bars, "max_value": 1.0,
                      "title": "Share accepting new patients by specialty" + more}}


def _disclosure_share(v: dict) -> dict:
    return {"sentences": [f"{num(v['with_any_language'])} of {num(v['providers'])} providers have a language "
                          f"disclosed; {num(v['with_non_english'])} ({pct(v['share_non_english'])}) list a language "
                          f"other than English."]}


def _per_language(v: dict) -> dict:
    items = sorted(v.items(), key=lambda kv: (-int(kv[1].get("providers", 0)), kv[0]))
    def label(tag: str, d: dict) -> str:
        name = d.get("name")
        return f"{name} ({tag})" if name and name != tag else tag
    bars = [(label(t, d), float(d["providers"]), f"{num(d['providers'])} ({num(d.get('accepting'))} accepting)")
            for t, d in items[:MAX_CHART_BARS]]
    more = f" (the {MAX_CHART_BARS} most common of {len(items):,})" if len(items) > MAX_CHART_BARS else ""
    return {"sentences": [], "table": _table(["language", "providers", "accepting new patients"],
                                            [[label(t, d), num(d.get("providers")), num(d.get("accepting"))] for t, d in items]),
            "chart": {"kind": "hbar", "rows": bars, "max_value": None, "title": "Providers per language" + more}}


def _without_accepting(v: list) -> dict:
    if not isinstance(v, (list, tuple)):
        raise ValueError("expected a list of language tags")
    text = ", ".join(str(x) for x in v) if v else "none"
    return {"sentences": [f"Languages offered by no provider who accepts new patients: {text}."]}


def _site_disclosure(v: dict) -> dict:
    """The website's own words on how often it is updated and when, quoted with the page (T1.ii)."""
    page = v.get("page") or "the disclosure page"
    s = []
    if v.get("update_frequency"):
        days = f" (every {num(v['frequency_days'])} days)" if v.get("frequency_days") is not None else \
            " (no frequency can be read from it)"
        s.append(f"The directory website states, at {page}: \u201c{v['update_frequency']}\u201d{days}.")
    else:
        s.append(f"No update-frequency statement was found at {page}" +
                 (f" ({v['error']})." if v.get("error") else "."))
    if v.get("last_updated"):
        age = (f", {num(v['age_days'])} days before the audit date (window {num(v.get('window_days'))} days)"
               if v.get("age_days") is not None else ", which is not a date we can read")
        s.append(f"It gives its last update as \u201c{v['last_updated']}\u201d{age}.")
    if v.get("read_at"):
        kept = "; the page is kept in the run's archive.warc.gz" if v.get("archived") else ""
        s.append(f"Read {v['read_at']}{kept}.")
    return {"sentences": s}


PRESENTERS: dict[str, Callable[[Any], dict]] = {
    "access.disclosure": _site_disclosure,
    "location.valid_share": _valid_share,
    "update.age_summary": _age_summary,
    "update.age_histogram": _age_histogram,
    "open_practice.flag_coverage": _flag_coverage,
    "open_practice.accepting_share": _accepting_share,
    "open_practice.accepting_by_specialty": _accepting_by_specialty,
    "language.disclosure_share": _disclosure_share,
    "language.providers_per_language": _per_language,
    "language.without_accepting": _without_accepting,
}


def present(metric_id: str, title: str, value: Any) -> dict[str, Any]:
    """The view of one metric: id, title, the raw value, sentences, and optionally a table and a chart."""
    try:
        view = PRESENTERS[metric_id](value) if metric_id in PRESENTERS else generic(metric_id, value)
    except (KeyError, TypeError, ValueError, AttributeError):
        view = generic(metric_id, value)   # an unexpected shape: show what is there, never fail the report
    return {"id": metric_id, "title": title or metric_id, "value": value, "sentences": view.get("sentences", []),
            "table": view.get("table"), "chart": view.get("chart")}

"""Render the report model (see ``reports.model``) as one self-contained HTML file and as Markdown.

The HTML carries its CSS, its script and its charts (inline SVG) inside the file: it makes no request
of any kind, so it opens offline and can be e-mailed as one attachment.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup, escape

from . import charts
from .metrics import num, pct
from .status import STATUS_MARK

TEMPLATES = Path(__file__).parent / "templates"


def status_class(status: str) -> str:
    return "status-" + re.sub(r"[^a-z]+", "-", str(status).lower()).strip("-")


def anchor(item_id: str) -> str:
    return "item-" + re.sub(r"[^A-Za-z0-9]+", "-", item_id)


def md_cell(value: Any) -> str:
    """A value safe inside a Markdown table cell: one line, pipes escaped."""
    text = "" if value is None else str(value)
    text = text if len(text) <= 160 else text[:159] + "…"
    text = re.sub(r"[\r\n]+", " ", text)
    return re.sub(r"([\\`*\[\]<>|])", r"\\\1", text)


def md_text(value: Any) -> str:
    """Free text in Markdown: characters that would start markup are escaped."""
    return re.sub(r"([\\`*\[\]<>|])", r"\\\1", "" if value is None else str(value))


def wbr(value: Any) -> Markup:
    """An identifier that may break after its dots and underscores (long check ids in narrow columns)."""
    return Markup(re.sub(r"([._])", r"\1<wbr>", str(escape(value))))


def chart_svg(spec: dict[str, Any] | None, chart_id: str, title: str = "") -> Markup:
    if not spec:
        return Markup("")
    if spec.get("kind") == "histogram":
        svg = charts.histogram(chart_id, title or spec.get("title", ""), spec["labels"], spec["counts"],
                               x_title=spec.get("x_title", ""))
    elif spec.get("kind") == "hbar":
        svg = charts.hbar(chart_id, spec.get("title") or title, [tuple(r) for r in spec["rows"]],
                          max_value=spec.get("max_value"))
    elif spec.get("kind") == "trend":
        svg = charts.trend(chart_id, spec.get("title") or title, spec["labels"], spec["series"],
                           percent=spec.get("percent", False))
    elif spec.get("kind") == "stacked":
        svg = charts.stacked_hbar(chart_id, spec.get("title") or title, spec["rows"])
    else:
        return Markup("")
    return Markup(svg)


@functools.lru_cache(maxsize=None)   # one Environment per process: templates compile once, not every run
def _env(autoescape: bool) -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                      autoescape=autoescape,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(num=num, pct=pct, status_class=status_class, anchor=anchor, md=md_cell, mdtext=md_text, wbr=wbr,
                       mark=lambda s: STATUS_MARK.get(s, ""))
    env.globals.update(chart=chart_svg)
    return env


def overview_chart(report: dict[str, Any]) -> dict[str, Any]:
    rows = [(f"{i} {it['title']}", it["findings_by_severity"]) for i, it in report["items"].items()]
    return {"kind": "stacked", "rows": rows, "title": "Findings by factor item, by severity"}


def render_html(report: dict[str, Any]) -> str:
    template = _env(True).get_template("report.html.j2")
    return template.render(r=report, overview=overview_chart(report))


def render_markdown(report: dict[str, Any]) -> str:
    template = _env(False).get_template("report.md.j2")
    text = template.render(r=report)
    return re.sub(r"\n{3,}", "\n\n", text)

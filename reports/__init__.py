"""Reports: the run's evidence, item by item against Oregon's Transparency Factors #1 and #2.

``write_reports`` writes three files next to the findings, each atomically:

* ``report.html``: one self-contained page (inline CSS, SVG charts and a little script; nothing is
  fetched), to attach to a filing or e-mail;
* ``report.md``: the same structure in Markdown, for pasting into a filing narrative;
* ``report.json``: the same data for machines (``reports.model.build``).

Reports read only the findings frame, the summary dict, the fix list (``fixlist.csv``'s rows) and
the insurer's narrative file
(``settings.narrative_file``); they never see the directory's tables and recompute nothing. How an
item's status is decided is in ``reports.status``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .model import TOP_N, build, to_json
from .render import render_html, render_markdown

REPORT_FILES = ("report.html", "report.md", "report.json")


def render(findings: pd.DataFrame, summary: dict[str, Any], format: str = "html", narrative=None,
           top_n: int = TOP_N, fixlist: pd.DataFrame | None = None) -> str:
    """One report as text: ``format`` is html, md or json."""
    report = build(findings, summary, narrative, top_n=top_n, fixlist=fixlist)
    if format == "html":
        return render_html(report)
    if format in ("md", "markdown"):
        return render_markdown(report)
    if format == "json":
        return to_json(report)
    raise ValueError(f"unknown report format {format!r}; expected html, md or json")


def write_reports(findings: pd.DataFrame, summary: dict, out_dir: Path, settings=None,
                  fixlist: pd.DataFrame | None = None) -> list[Path]:
    """Write report.html, report.md and report.json into ``out_dir``; returns the paths written."""
    from directory_audit.narrative import load_narrative
    from directory_audit.outputs import atomic_write

    out_dir = Path(out_dir)
    narrative = load_narrative(getattr(settings, "narrative_file", None))
    report = build(findings, summary, narrative, fixlist=fixlist)
    texts = {"report.html": render_html(report), "report.md": render_markdown(report), "report.json": to_json(report)}
    return [atomic_write(out_dir / name, lambda fh, t=text: fh.write(t)) for name, text in texts.items()]


__all__ = ["REPORT_FILES", "build", "render", "write_reports"]

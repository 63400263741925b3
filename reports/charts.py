"""Charts as inline SVG, drawn on the server: no script, no font or file fetched, so the report works
offline and travels as one e-mailed file.

Each function returns SVG markup with ``role="img"``, a ``<title>`` and a ``<desc>`` that reads the
numbers out, so a screen reader gets what the picture shows; the templates also put the same numbers
in a table beneath each chart. Bars carry their value as text, so colour is never the only signal.
"""
from __future__ import annotations

from html import escape
from typing import Sequence

FONT = "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:12px"
BAR = "#2563eb"
SEVERITY_COLOURS = {"error": "#b91c1c", "warning": "#b45309", "info": "#1d4ed8"}


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _open(chart_id: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" role="img" '
        f'aria-labelledby="{escape(chart_id)}-t {escape(chart_id)}-d" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" style="{FONT};max-width:100%;height:auto">',
        f'<title id="{escape(chart_id)}-t">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-d">{escape(desc)}</desc>',
    ]


def hbar(chart_id: str, title: str, rows: Sequence[tuple[str, float, str]], *, max_value: float | None = None,
         width: int = 720, label_width: int = 240, colour: str = BAR) -> str:
    """Horizontal bars, one per (label, value, value_text) row, in the order given."""
    row_h, top, bottom = 22, 8, 8
    height = top + bottom + row_h * max(len(rows), 1)
    vmax = max_value if max_value else max((v for _, v, _ in rows), default=0) or 1
    plot = width - label_width - 150
    desc = "; ".join(f"{label}: {text}" for label, _, text in rows) or "no data"
    out = _open(chart_id, width, height, title, desc)
    if not rows:
        out.append(f'<text x="8" y="{top + 15}" fill="#444">no data</text>')
    for i, (label, value, text) in enumerate(rows):
        y = top + i * row_h
        w = max(0.0, min(1.0, (value or 0) / vmax)) * plot
        out.append(f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" fill="#111">'
                   f'<title>{escape(label)}</title>{escape(_clip(label, 34))}</text>')
        out.append(f'<rect x="{label_width}" y="{y + 3}" width="{plot}" height="{row_h - 6}" fill="#eef2f7"/>')
        out.append(f'<rect x="{label_width}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" fill="{colour}"/>')
        out.append(f'<text x="{label_width + plot + 6}" y="{y + 15}" fill="#111">{escape(text)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def histogram(chart_id: str, title: str, labels: Sequence[str], counts: Sequence[float], *,
              x_title: str = "", width: int = 680, height: int = 240) -> str:
    """Vertical bars over ordered bins (e.g. days since last update), each bar labelled with its count."""
    left, right, top, bottom = 44, 12, 20, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(labels), 1)
    vmax = max((c or 0 for c in counts), default=0) or 1
    slot = plot_w / n
    desc = "; ".join(f"{l}: {c:,}" for l, c in zip(labels, counts)) or "no data"
    out = _open(chart_id, width, height, title, desc)
    base = top + plot_h
    out.append(f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" stroke="#555"/>')
    for frac in (0.5, 1.0):
        y = base - frac * plot_h
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{vmax * frac:,.0f}</text>')
    for i, (label, count) in enumerate(zip(labels, counts)):
        h = (count or 0) / vmax * plot_h
        x = left + i * slot
        out.append(f'<rect x="{x + slot * 0.12:.1f}" y="{base - h:.1f}" width="{slot * 0.76:.1f}" '
                   f'height="{h:.1f}" fill="{BAR}"><title>{escape(str(label))}: {count:,}</title></rect>')
        out.append(f'<text x="{x + slot / 2:.1f}" y="{base - h - 4:.1f}" text-anchor="middle" fill="#111">{count:,}</text>')
        out.append(f'<text x="{x + slot / 2:.1f}" y="{base + 15}" text-anchor="middle" fill="#111">{escape(str(label))}</text>')
    if x_title:
        out.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle" fill="#444">{escape(x_title)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def stacked_hbar(chart_id: str, title: str, rows: Sequence[tuple[str, dict[str, int]]],
                 series: Sequence[str] = ("error", "warning", "info"), *, width: int = 760,
                 label_width: int = 290) -> str:
    """Horizontal stacked bars (e.g. findings per factor item split by severity), totals as text."""
    row_h, top, legend_h = 22, 8, 24
    height = top + legend_h + row_h * max(len(rows), 1) + 6
    totals = [sum(parts.get(s, 0) for s in series) for _, parts in rows]
    vmax = max(totals, default=0) or 1
    plot = width - label_width - 150
    desc = "; ".join(f"{label}: " + ", ".join(f"{parts.get(s, 0):,} {s}" for s in series)
                     for label, parts in rows) or "no data"
    out = _open(chart_id, width, height, title, desc)
    lx = label_width
    for s in series:   # legend: a swatch and the word, so the series is named in text
        out.append(f'<rect x="{lx}" y="{top}" width="12" height="12" fill="{SEVERITY_COLOURS.get(s, BAR)}"/>')
        out.append(f'<text x="{lx + 16}" y="{top + 10}" fill="#111">{escape(s)}</text>')
        lx += 90
    for i, ((label, parts), total) in enumerate(zip(rows, totals)):
        y = top + legend_h + i * row_h
        out.append(f'<text x="{label_width - 6}" y="{y + 15}" text-anchor="end" fill="#111">'
                   f'<title>{escape(label)}</title>{escape(_clip(label, 42))}</text>')
        out.append(f'<rect x="{label_width}" y="{y + 3}" width="{plot}" height="{row_h - 6}" fill="#eef2f7"/>')
        x = float(label_width)
        for s in series:
            w = parts.get(s, 0) / vmax * plot
            if w > 0:
                out.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
                           f'fill="{SEVERITY_COLOURS.get(s, BAR)}"><title>{escape(label)}: {parts.get(s, 0):,} {s}</title></rect>')
                x += w
        text = f"{total:,}" + (" (" + ", ".join(f"{parts.get(s, 0):,} {s[0].upper()}" for s in series if parts.get(s)) + ")" if total else "")
        out.append(f'<text x="{label_width + plot + 6}" y="{y + 15}" fill="#111">{escape(text)}</text>')
    out.append("</svg>")
    return "\n".join(out)


TREND_COLOURS = ("#1d4ed8", "#b91c1c", "#047857", "#b45309", "#7c3aed", "#0e7490", "#be185d", "#4b5563")
TREND_DASHES = ("", "6 3", "2 3", "8 3 2 3", "", "6 3", "2 3", "8 3 2 3")


def trend(chart_id: str, title: str, x_labels: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], *,
          percent: bool = False, width: int = 760, height: int = 260) -> str:
    """Lines over runs (x: run labels in order), one per (name, values) series; None leaves a gap.
    Each line ends in its name and last value as text, and lines differ by dash as well as colour,
    so the series are told apart without colour."""
    left, right, top, bottom = 52, 230, 16, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs in series for v in vs if v is not None]
    vmax = (1.0 if percent else max(values, default=0)) or 1
    n = max(len(x_labels), 1)
    step = plot_w / max(n - 1, 1)

    def fmt(v: float) -> str:
        return f"{v * 100:.1f}%" if percent else f"{v:,.0f}"
    desc = "; ".join(f"{name}: " + ", ".join(f"{x} {fmt(v) if v is not None else 'n/a'}" for x, v in zip(x_labels, vs))
                     for name, vs in series) or "no data"
    out = _open(chart_id, width, height, title, desc)
    base = top + plot_h
    for frac in (0.0, 0.5, 1.0):
        y = base - frac * plot_h
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e5e7eb"/>')
        out.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#555">{fmt(vmax * frac)}</text>')
    every = max(1, n // 8)
    for i, label in enumerate(x_labels):
        if i % every == 0 or i == n - 1:
            x = left + i * step
            out.append(f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle" fill="#444">{escape(str(label))}</text>')
    ends: list[tuple[float, int, str]] = []      # (y, series, text): end labels, spread apart below
    for k, (name, vs) in enumerate(series):
        colour, dash = TREND_COLOURS[k % len(TREND_COLOURS)], TREND_DASHES[k % len(TREND_DASHES)]
        points = [(left + i * step, base - (v / vmax) * plot_h, v) for i, v in enumerate(vs) if v is not None]
        if not points:
            continue
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash_attr}>'
                   f'<title>{escape(name)}</title></polyline>')
        for x, y, v in points:
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>{escape(name)}: {fmt(v)}</title></circle>')
        lx, ly, lv = points[-1]
        ends.append((ly, k, f"{_clip(name, 32)}: {fmt(lv)}"))
    last_y = -1e9
    for y, k, text in sorted(ends):
        y = max(y + 4, last_y + 13)           # lines ending together get their names one under another
        last_y = y
        out.append(f'<text x="{left + plot_w + 8}" y="{y:.1f}" fill="{TREND_COLOURS[k % len(TREND_COLOURS)]}">'
                   f'{escape(text)}</text>')
    out.append("</svg>")
    return "\n".join(out)

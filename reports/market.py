"""The market report: ``market.html``, one self-contained page (inline CSS and script, fetches nothing)
with a sortable league table of the insurers of a sweep. It reads only ``market.json``'s data (the
per-issuer summaries the workers returned) and recomputes nothing."""
from __future__ import annotations

from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from directory_audit.factors import FACTOR_ITEMS

from .render import TEMPLATES, status_class
from .status import STATUS_MARK, STATUS_ORDER

#: The league table's rates: key in an issuer's ``rates``, column heading, whether higher is better.
RATES = (
    ("valid_location_share", "Valid locations", True),
    ("accepting_flag_coverage", "Accepting flag", True),
    ("language_disclosure_share", "Languages listed", True),
    ("stale_share", "Stale records", False),
    ("duplicate_rate", "Duplicate findings / row", False),
)


def _pct(value: Any) -> str:
    return "–" if not isinstance(value, (int, float)) else f"{value:.1%}"


def render_market(market: dict[str, Any]) -> str:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = _pct
    env.filters["status_class"] = status_class
    rank = {s: i for i, s in enumerate(STATUS_ORDER)}
    return env.get_template("market.html.j2").render(
        m=market, items=list(FACTOR_ITEMS), rates=RATES, mark=STATUS_MARK, rank=rank, statuses=STATUS_ORDER)

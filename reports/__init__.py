"""Reports: render a run's findings and summary (never the raw tables) as HTML, Markdown and JSON."""
from __future__ import annotations

from pathlib import Path

import pandas as pd


def write_reports(findings: pd.DataFrame, summary: dict, out_dir: Path, settings=None) -> list[Path]:
    """Write the evidence reports next to the findings; returns the paths written."""
    return []

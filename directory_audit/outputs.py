"""Writing a run's outputs. Every file is written to a temporary file in the same folder and then
renamed over the target, so a reader (or a crashed run) never sees half a file."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Callable, TextIO

import pandas as pd

from .findings import FINDING_COLUMNS


def atomic_write(path: Path, write: Callable[[TextIO], None], encoding: str = "utf-8") -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            write(fh)
        # mkstemp creates 0600; outputs are meant to be shared like any file the user writes.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_findings_csv(findings: pd.DataFrame, path: Path) -> Path:
    return atomic_write(path, lambda fh: findings[list(FINDING_COLUMNS)].to_csv(fh, index=False))


def write_findings_jsonl(findings: pd.DataFrame, path: Path) -> Path:
    def write(fh: TextIO) -> None:
        if len(findings):
            text = findings[list(FINDING_COLUMNS)].to_json(orient="records", lines=True, force_ascii=False)
            fh.write(text if text.endswith("\n") else text + "\n")
    return atomic_write(path, write)


def write_json(data: dict, path: Path) -> Path:
    return atomic_write(path, lambda fh: (json.dump(data, fh, indent=2, default=str, ensure_ascii=False),
                                          fh.write("\n")))


def write_outputs(result, out_dir: Path, settings=None, timings: dict[str, float] | None = None) -> list[Path]:
    """findings.csv, findings.jsonl and summary.json, then the reports (which read only these).
    ``timings``, when given, receives the seconds each of those took."""
    import time
    timings = timings if timings is not None else {}
    out_dir = Path(out_dir)
    written = []
    for name, write in (("findings.csv", lambda p: write_findings_csv(result.findings, p)),
                        ("findings.jsonl", lambda p: write_findings_jsonl(result.findings, p)),
                        ("summary.json", lambda p: write_json(result.summary, p))):
        t = time.perf_counter()
        written.append(write(out_dir / name))
        timings[name] = time.perf_counter() - t
    t = time.perf_counter()
    import reports
    written += reports.write_reports(result.findings, result.summary, out_dir, settings)
    timings["reports"] = time.perf_counter() - t
    return written

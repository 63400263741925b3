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


#: A cell starting with one of these is run as a formula by Excel, LibreOffice and Google Sheets (OWASP,
#: "CSV Injection"); a directory's text (a phone written ``+1-=cmd|' /C calc'!A0``) must not be.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_TRIGGER_PATTERN = "^[=+\\-@\t\r]"
#: A plain number ("-5", "+1.5e3") is no formula and stays as it is.
_NUMBER_PATTERN = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell that a spreadsheet would run as a formula prefixed with a single
    quote (the OWASP CSV-injection defence): cells starting with ``=``, ``@``, tab or carriage return,
    and with ``+`` or ``-`` unless the whole cell is a number. For every CSV we write; JSONL and the
    other outputs keep the raw value. Column by column in Arrow's string kernels; a column with nothing
    to change is not copied."""
    import pyarrow as pa
    import pyarrow.compute as pc
    out = frame
    for col in frame.columns:
        series = frame[col]
        if not (pd.api.types.is_object_dtype(series.dtype) or pd.api.types.is_string_dtype(series.dtype)):
            continue
        try:
            arr = pa.array(series.to_numpy(dtype=object, na_value=None), type=pa.large_string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):      # mixed types: judge their text
            arr = pa.array(series.map(lambda v: None if v is None or v != v else str(v)).to_numpy(dtype=object),
                           type=pa.large_string(), from_pandas=True)
        risky = pc.and_kleene(pc.match_substring_regex(arr, _TRIGGER_PATTERN),
                              pc.invert(pc.match_substring_regex(arr, _NUMBER_PATTERN)))
        if not pc.any(risky).as_py():
            continue
        fixed = pc.if_else(risky, pc.utf8_replace_slice(arr, 0, 0, "'"), arr)
        if out is frame:
            out = frame.copy(deep=False)
        keep = series.isna()
        out[col] = pd.Series(fixed.to_numpy(zero_copy_only=False), index=frame.index, dtype=object).where(~keep, series)
    return out


def write_findings_csv(findings: pd.DataFrame, path: Path) -> Path:
    safe = neutralise_formulas(findings[list(FINDING_COLUMNS)])
    return atomic_write(path, lambda fh: safe.to_csv(fh, index=False))


def write_findings_jsonl(findings: pd.DataFrame, path: Path) -> Path:
    def write(fh: TextIO) -> None:
        if len(findings):
            text = findings[list(FINDING_COLUMNS)].to_json(orient="records", lines=True, force_ascii=False)
            fh.write(text if text.endswith("\n") else text + "\n")
    return atomic_write(path, write)


def write_json(data: dict, path: Path) -> Path:
    return atomic_write(path, lambda fh: (json.dump(data, fh, indent=2, default=str, ensure_ascii=False),
                                          fh.write("\n")))


def write_outputs(result, out_dir: Path, settings=None) -> list[Path]:
    """findings.csv, findings.jsonl, fixlist.csv and summary.json, then the reports (which read only
    these)."""
    from .fixlist import FIXLIST_COLUMNS, empty_fixlist
    out_dir = Path(out_dir)
    fixlist = getattr(result, "fixlist", None)
    fixlist = empty_fixlist() if fixlist is None else fixlist
    written = [
        write_findings_csv(result.findings, out_dir / "findings.csv"),
        write_findings_jsonl(result.findings, out_dir / "findings.jsonl"),
        atomic_write(out_dir / "fixlist.csv", lambda fh: fixlist[list(FIXLIST_COLUMNS)].to_csv(fh, index=False)),
        write_json(result.summary, out_dir / "summary.json"),
    ]
    import reports
    written += reports.write_reports(result.findings, result.summary, out_dir, settings, fixlist=fixlist)
    return written

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


def _text_arrays(frame: pd.DataFrame, columns) -> list | None:
    """Each column as an Arrow large_string array (nulls where missing), or None when a column holds
    anything but text (then the writers fall back to pandas, which formats any value)."""
    import pyarrow as pa
    out = []
    try:
        for c in columns:
            values = frame[c]
            values = values.to_numpy(dtype=object, na_value=None) if values.dtype != object else values.to_numpy()
            out.append(pa.array(values, type=pa.large_string(), from_pandas=True))
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeError):
        return None
    return out


def _concat(*parts, separator: str = ""):
    """Arrow's element-wise join of arrays and literal texts (every part large_string)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    parts = [pa.scalar(p, pa.large_string()) if isinstance(p, str) else p for p in parts]
    return pc.binary_join_element_wise(*parts, pa.scalar(separator, pa.large_string()))


def _write_lines(fh: TextIO, lines) -> None:
    """Arrow strings that each end in a newline, written as their one contiguous UTF-8 buffer."""
    import numpy as np
    lines = lines.combine_chunks() if hasattr(lines, "combine_chunks") else lines
    if not len(lines):
        return
    offs = np.frombuffer(lines.buffers()[1], dtype=np.int64, count=len(lines) + 1, offset=lines.offset * 8)
    data = lines.buffers()[2]
    fh.flush()
    fh.buffer.write(memoryview(data)[int(offs[0]):int(offs[-1])])
    fh.buffer.flush()


def findings_csv_lines(findings: pd.DataFrame, columns=FINDING_COLUMNS):
    """findings.csv's data lines (or those of ``columns`` of another frame), built column by column
    with Arrow's string kernels: the bytes pandas' ``to_csv`` writes (Python's csv QUOTE_MINIMAL
    with '\n' line ends: a cell is quoted when it holds a comma, a quote or a '\n', quotes doubled;
    missing cells empty). None when a column holds something other than text."""
    import pyarrow.compute as pc
    arrays = _text_arrays(findings, columns)
    if arrays is None:
        return None
    cells = []
    for arr in arrays:
        needs = pc.or_(pc.or_(pc.match_substring(arr, ","), pc.match_substring(arr, '"')), pc.match_substring(arr, "\n"))
        if pc.any(needs).as_py():
            arr = pc.if_else(needs, _concat('"', pc.replace_substring(arr, '"', '""'), '"'), arr)
        cells.append(pc.fill_null(arr, ""))
    return _concat(*cells, separator=",")


def write_csv(frame: pd.DataFrame, path: Path, columns) -> Path:
    """``frame[columns]`` as CSV, the bytes pandas' ``to_csv(index=False)`` writes, formula cells
    neutralised (no directory text runs in Excel). Text, integer and boolean columns are joined with
    Arrow's string kernels (integers and booleans written as ``str`` writes them, as pandas does);
    a frame with any other column is written by pandas."""
    frame = neutralise_formulas(frame[list(columns)])
    as_text = {c: str for c in columns
               if pd.api.types.is_integer_dtype(frame[c].dtype) or pd.api.types.is_bool_dtype(frame[c].dtype)}
    lines = findings_csv_lines(frame.astype(as_text) if as_text else frame, columns) if len(frame) else None
    if lines is None:
        return atomic_write(path, lambda fh: frame.to_csv(fh, index=False))
    lines = _concat(lines, "\n")

    def write(fh: TextIO) -> None:
        fh.write(",".join(columns) + "\n")
        _write_lines(fh, lines)
    return atomic_write(path, write)


def write_findings_csv(findings: pd.DataFrame, path: Path) -> Path:
    return write_csv(findings, path, FINDING_COLUMNS)


_JSON_CONTROL = "[\\x00-\\x1f]"


def _json_strings(arr):
    """Each string as a JSON string literal the way pandas' ``to_json`` writes it (its ujson: '"',
    '\\' and '/' escaped with a backslash, control characters as \\b \\f \\n \\r \\t or \\u00XX,
    everything else as UTF-8); null as ``null``. Values holding a control character (rare) are
    escaped one by one by Python's json, which writes them the same way."""
    import json

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    escaped = arr
    for char in ("\\", '"', "/"):           # the backslash first: the others add backslashes
        if pc.any(pc.match_substring(arr, char)).as_py():
            escaped = pc.replace_substring(escaped, char, "\\" + char)
    literal = _concat('"', escaped, '"')
    control = pc.fill_null(pc.match_substring_regex(arr, _JSON_CONTROL), False)
    if pc.any(control).as_py():
        at = np.flatnonzero(control.to_numpy(zero_copy_only=False))
        done = [json.dumps(v, ensure_ascii=False).replace("/", "\\/") for v in arr.take(pa.array(at)).to_pylist()]
        mask = np.zeros(len(arr), dtype=bool)
        mask[at] = True
        literal = pc.replace_with_mask(literal, pa.array(mask), pa.array(done, type=pa.large_string()))
    return pc.fill_null(literal, "null")


def findings_jsonl_lines(findings: pd.DataFrame):
    """findings.jsonl's lines, column by column with Arrow's string kernels, the bytes pandas'
    ``to_json(orient="records", lines=True, force_ascii=False)`` writes; None when a column holds
    something other than text."""
    arrays = _text_arrays(findings, FINDING_COLUMNS)
    if arrays is None:
        return None
    pieces = []
    for i, (name, arr) in enumerate(zip(FINDING_COLUMNS, arrays)):
        pieces += [("{" if i == 0 else ",") + f'"{name}":', _json_strings(arr)]
    return _concat(*pieces, "}\n")


def write_findings_jsonl(findings: pd.DataFrame, path: Path) -> Path:
    lines = findings_jsonl_lines(findings) if len(findings) else None

    def write(fh: TextIO) -> None:
        if lines is not None:
            _write_lines(fh, lines)
        elif len(findings):
            text = findings[list(FINDING_COLUMNS)].to_json(orient="records", lines=True, force_ascii=False)
            fh.write(text if text.endswith("\n") else text + "\n")
    return atomic_write(path, write)


def write_json(data: dict, path: Path) -> Path:
    return atomic_write(path, lambda fh: (json.dump(data, fh, indent=2, default=str, ensure_ascii=False),
                                          fh.write("\n")))


def write_outputs(result, out_dir: Path, settings=None, timings: dict[str, float] | None = None) -> list[Path]:
    """findings.csv, findings.jsonl, fixlist.csv and summary.json, then the reports (which read only
    these). ``timings``, when given, receives the seconds each of those took."""
    import time
    from .fixlist import FIXLIST_COLUMNS, empty_fixlist
    timings = timings if timings is not None else {}
    out_dir = Path(out_dir)
    fixlist = getattr(result, "fixlist", None)
    fixlist = empty_fixlist() if fixlist is None else fixlist
    written = []
    for name, write in (("findings.csv", lambda p: write_findings_csv(result.findings, p)),
                        ("findings.jsonl", lambda p: write_findings_jsonl(result.findings, p)),
                        ("fixlist.csv", lambda p: write_csv(fixlist, p, FIXLIST_COLUMNS)),
                        ("summary.json", lambda p: write_json(result.summary, p))):
        t = time.perf_counter()
        written.append(write(out_dir / name))
        timings[name] = time.perf_counter() - t
    t = time.perf_counter()
    import reports
    written += reports.write_reports(result.findings, result.summary, out_dir, settings, fixlist=fixlist)
    timings["reports"] = time.perf_counter() - t
    return written

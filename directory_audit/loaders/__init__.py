"""Loaders: the only code that reads files or talks HTTP. Each returns a ``LoadResult``: a raw frame
of strings (columns ``model.RAW_FIELDS`` plus record_id/source_format/source_file), the records it
could not parse (which become ``source.malformed_record`` findings, never silently dropped rows),
and what it read (paths/URLs, checksum) so a run can be reproduced.

Adding a source kind is one module with a ``load(source, settings, progress)`` function and one
line in ``LOADERS``; ``sniff`` teaches ``--format auto`` to recognise it.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from ..errors import SourceNotFound, UnknownFormat
from ..progress import Progress
from ..settings import Settings

#: Columns of LoadResult.problems. ``check_id`` names the check that reports the problem: missing or
#: empty means ``source.malformed_record`` (a record that cannot be read); a loader that learns something
#: only it can see (a page that failed, a dangling FHIR reference, robots.txt refusing a page) files it
#: under that check's id, and the check reports it with ``problem_findings``. ``detail`` is a JSON object
#: string, like a finding's.
PROBLEM_COLUMNS = ("record_id", "field", "observed", "expected", "message", "check_id", "detail")
DEFAULT_PROBLEM_CHECK = "source.malformed_record"


@dataclass
class LoadResult:
    frame: pd.DataFrame
    format: str
    sources: list[str]
    checksum: str
    problems: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(PROBLEM_COLUMNS)))
    metadata: dict[str, Any] = field(default_factory=dict)

    def take_frame(self) -> pd.DataFrame:
        """The raw frame, handed over: this result keeps an empty frame with the same columns. The
        audit passes it straight to ``normalize``, which lets the rows go once it has read them."""
        frame, self.frame = self.frame, self.frame.iloc[0:0]
        return frame


def sha256_of(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return "sha256:" + h.hexdigest()


def problems_frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(PROBLEM_COLUMNS))
    frame["check_id"] = frame["check_id"].astype(object).fillna("").replace("", DEFAULT_PROBLEM_CHECK)
    frame["detail"] = frame["detail"].astype(object).fillna("")
    return frame


def _loaders() -> dict[str, Callable[..., LoadResult]]:
    from . import files, plannet, qhp, site
    return {"csv": files.load_csv, "xlsx": files.load_excel, "qhp": qhp.load, "plannet": plannet.load,
            "site": site.load}


FORMATS = ("auto", "csv", "xlsx", "qhp", "plannet", "site")


def sniff(source: str) -> str:
    """Tell the format of a source from its name and first bytes."""
    if source.startswith(("http://", "https://")):
        if source.lower().split("?")[0].endswith(".json"):
            return "qhp"
        # a FHIR base URL: Plan-Net servers live under /fhir, /r4, /api/fhir... (path, not name, says so)
        if re.search(r"/(fhir|r4|stu3|plan-?net)(/|$)", source.lower().split("?")[0]):
            return "plannet"
        raise UnknownFormat(f"{source}: cannot tell the format of a URL from its name; "
                            "give --format qhp for a QHP index.json or providers.json URL, --format plannet "
                            "for a FHIR Plan-Net API base URL, or --profile PROFILE.toml for a directory website.")
    path = Path(source)
    if not path.exists():
        raise SourceNotFound(f"{source}: no such file or directory. Give the path of a directory export "
                             "(CSV, Excel) or a QHP index.json / providers.json.")
    if path.is_dir():
        from .plannet import JSON_SUFFIXES, is_fhir_file
        # a folder of saved FHIR Bundles, single resources or NDJSON is a Plan-Net directory
        if any(is_fhir_file(p) for p in sorted(path.rglob("*"))[:1000] if p.suffix.lower() in JSON_SUFFIXES):
            return "plannet"
        raise UnknownFormat(f"{source}: is a folder without FHIR JSON files; give one file (a CSV/Excel export, "
                            "or a QHP index.json), or a folder of Plan-Net Bundles / resources / NDJSON.")
    suffix = path.suffix.lower()
    if path.name.lower().endswith((".warc", ".warc.gz")):
        raise UnknownFormat(f"{source}: a WARC archive of a crawl; read it with the site profile that made it: "
                            "--profile PROFILE.toml.")
    if suffix in (".xlsx", ".xlsm"):
        return "xlsx"
    if suffix in (".csv", ".tsv", ".txt"):
        return "csv"
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    from .plannet import is_fhir_file
    if stripped[:1] == b"{" and is_fhir_file(path):      # FHIR names a resourceType; QHP files never do
        return "plannet"
    if stripped[:1] in (b"[", b"{"):
        return "qhp"
    if b"," in head or b"\t" in head:
        return "csv"
    raise UnknownFormat(f"{source}: cannot tell its format from the name or the first bytes "
                        f"(starts with {head[:40]!r}); give --format csv, xlsx or qhp.")


def load(source: str, settings: Settings, format: str = "auto", progress: Progress | None = None) -> LoadResult:
    """Read a directory source into a raw frame. ``format``: auto, csv, xlsx, qhp or plannet."""
    progress = progress or Progress(enabled=False)
    if format in ("auto", "site") and settings.site_profile is not None:
        format = "site"        # a site profile reads the URL, a saved page, a folder or an archive
    elif format == "auto":
        format = sniff(source)
    elif not source.startswith(("http://", "https://")) and not Path(source).exists():
        raise SourceNotFound(f"{source}: no such file or directory.")
    loaders = _loaders()
    if format not in loaders:
        raise UnknownFormat(f"--format: found {format!r}, expected one of {list(FORMATS)}.")
    return loaders[format](source, settings, progress)

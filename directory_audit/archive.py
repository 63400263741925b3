"""The evidence archive: every page a crawl fetched, as WARC (ISO 28500, the web archives' format,
written with warcio), so a finding can be shown later as the page looked that day.

``WarcArchive`` is what the shared HTTP client calls: ``client = HttpClient(opts, archive=WarcArchive(path))``
and every fetch ends in ``archive.record(result)``. Each response record carries the URL asked for
(``WARC-Target-URI``), the time (``WARC-Date``), the HTTP status and headers, the body and its
digests (``WARC-Payload-Digest``, sha1 as web archives use it, and ``DA-Payload-SHA256``), plus where the request ended after redirects (``DA-Final-URI``,
``DA-Redirects``), whether the client's cache served it (``DA-From-Cache``) and the page the link was
found in (``DA-Found-In``). The file is written beside the findings under a temporary name and
renamed into place when closed; ``close()`` returns its sha256 for ``summary.json``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import tempfile
import threading
from http import HTTPStatus
from pathlib import Path
from typing import Any

ARCHIVE_NAME = "archive.warc.gz"
# The body is stored decoded (requests undoes gzip and chunking), so these would misdescribe it.
_DROPPED_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}


def _warc_date(when: dt.datetime | None) -> str:
    when = when or dt.datetime.now(dt.timezone.utc)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class WarcArchive:
    def __init__(self, path: str | Path, software: str = ""):
        from warcio.warcwriter import WARCWriter
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self._tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        self._fh = os.fdopen(fd, "wb")
        self._writer = WARCWriter(self._fh, gzip=True)
        self._lock = threading.Lock()
        self.records = 0
        self.closed = False
        from . import __version__
        info = self._writer.create_warcinfo_record(self.path.name, {
            "software": software or f"directory-audit/{__version__}", "format": "WARC File Format 1.1",
            "description": "pages fetched by a directory-audit crawl, kept as evidence"})
        self._writer.write_record(info)

    def record(self, result: Any) -> None:
        """Archive one fetch (an ``http.FetchResult``)."""
        from warcio.statusandheaders import StatusAndHeaders
        content = getattr(result, "content", None)
        extra = {
            "WARC-Date": _warc_date(getattr(result, "fetched_at", None)),
            "DA-Final-URI": getattr(result, "final_url", "") or result.url,
            "DA-Redirects": " ".join(getattr(result, "redirects", None) or []),
            "DA-From-Cache": "true" if getattr(result, "from_cache", False) else "false",
        }
        if getattr(result, "found_in", None):
            extra["DA-Found-In"] = str(result.found_in)
        with self._lock:
            if self.closed:
                return
            if content is None:     # a streamed download: its metadata, not a multi-GB body
                meta = {"url": result.url, "status": result.status, "sha256": getattr(result, "sha256", ""),
                        "path": str(getattr(result, "path", ""))}
                rec = self._writer.create_warc_record(result.url, "metadata",
                                                      payload=io.BytesIO(json.dumps(meta).encode()),
                                                      warc_content_type="application/json", warc_headers_dict=extra)
            else:
                digest = getattr(result, "sha256", "") or hashlib.sha256(content).hexdigest()
                extra["DA-Payload-SHA256"] = digest    # warcio writes the customary sha1 WARC-Payload-Digest
                try:
                    reason = HTTPStatus(result.status).phrase
                except ValueError:
                    reason = "Unknown"
                headers = [(k, v) for k, v in (result.headers or {}).items() if k.lower() not in _DROPPED_HEADERS]
                headers.append(("Content-Length", str(len(content))))
                http = StatusAndHeaders(f"{result.status} {reason}", headers, protocol="HTTP/1.1")
                rec = self._writer.create_warc_record(result.url, "response", payload=io.BytesIO(content),
                                                      http_headers=http, warc_headers_dict=extra)
            self._writer.write_record(rec)
            self.records += 1

    def close(self) -> dict[str, Any]:
        """Finish the file and rename it into place; what summary.json records about it."""
        with self._lock:
            if not self.closed:
                self.closed = True
                self._fh.close()
                os.replace(self._tmp, self.path)
        h = hashlib.sha256()
        with open(self.path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        return {"path": str(self.path), "sha256": "sha256:" + h.hexdigest(), "records": self.records}

    def abort(self) -> None:
        with self._lock:
            if not self.closed:
                self.closed = True
                self._fh.close()
                os.unlink(self._tmp)

    def __enter__(self) -> "WarcArchive":
        return self

    def __exit__(self, exc_type, *_) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

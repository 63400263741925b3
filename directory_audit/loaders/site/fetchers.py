"""Offline page sources with the shared HTTP client's shape (``get``, ``get_many``), so a profile
reads saved responses exactly as it reads the live site:

- ``FolderFetcher``: a folder of saved pages laid out like the site (``/providers/page-2.html`` is
  ``FOLDER/providers/page-2.html``; a query string is kept in the file name as ``wget`` saves it).
- ``WarcFetcher``: a WARC archive this tool wrote (``archive.warc.gz``), replayed: the audit of a
  past crawl can be re-run from its evidence alone.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator
from urllib.parse import unquote, urlsplit

from ...errors import InputError

#: URLs of saved pages that carry no address of their own (offline folders without [site] base_url).
OFFLINE_BASE = "http://saved.invalid/"


@dataclass
class Page:
    """A response read from saved files: the fields of ``http.FetchResult`` the crawl uses."""
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    content: bytes | None
    from_cache: bool = False
    fetched_at: dt.datetime | None = None
    sha256: str = ""
    redirects: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class PageMissing(InputError):
    """A URL the saved pages do not hold."""


class _Offline:
    offline = True

    def get(self, url: str, found_in: str | None = None, **_) -> Page:
        raise NotImplementedError

    def get_many(self, urls: Iterable[str], found_in: str | None = None, **_) -> Iterator[Page | InputError]:
        for u in urls:
            try:
                yield self.get(u, found_in=found_in)
            except InputError as exc:
                yield exc

    def close(self) -> None:
        pass


class FolderFetcher(_Offline):
    def __init__(self, folder: Path, base_url: str):
        self.folder, self.base_url = Path(folder), base_url

    def path_for(self, url: str) -> Path | None:
        parts = urlsplit(url)
        rel = unquote(parts.path).lstrip("/")
        base_path = urlsplit(self.base_url).path.lstrip("/")
        if base_path and rel.startswith(base_path):
            rel = rel[len(base_path):]
        name = rel + (f"?{parts.query}" if parts.query else "")
        candidates = [name, name + ".html", name + ".json", (rel.rstrip("/") + "/index.html").lstrip("/")]
        root = self.folder.resolve()
        for c in candidates:
            p = (self.folder / c).resolve() if c else None
            if p is not None and p.is_file() and root in p.parents:     # never outside the folder
                return p
        return None

    def get(self, url: str, found_in: str | None = None, **_) -> Page:
        path = self.path_for(url)
        if path is None:
            raise PageMissing(f"{url}: not among the saved pages in {self.folder}.")
        body = path.read_bytes()
        return Page(url=url, final_url=url, status=200, headers={}, content=body,
                    sha256=hashlib.sha256(body).hexdigest())


class WarcFetcher(_Offline):
    """Responses of a WARC archive by the URL that was asked for."""

    def __init__(self, path: Path):
        from warcio.archiveiterator import ArchiveIterator
        self.path = Path(path)
        self.pages: dict[str, Page] = {}
        try:
            with open(self.path, "rb") as fh:
                for rec in ArchiveIterator(fh):
                    if rec.rec_type != "response":
                        continue
                    asked = rec.rec_headers.get_header("WARC-Target-URI")
                    final = rec.rec_headers.get_header("DA-Final-URI") or asked
                    status = int(rec.http_headers.get_statuscode()) if rec.http_headers else 200
                    headers = {k.lower(): v for k, v in (rec.http_headers.headers if rec.http_headers else [])}
                    body = rec.content_stream().read()
                    date = rec.rec_headers.get_header("WARC-Date")
                    redirects = [u for u in (rec.rec_headers.get_header("DA-Redirects") or "").split() if u]
                    self.pages[asked] = Page(url=asked, final_url=final, status=status, headers=headers,
                                             content=body, sha256=hashlib.sha256(body).hexdigest(),
                                             fetched_at=dt.datetime.fromisoformat(date.replace("Z", "+00:00"))
                                             if date else None, redirects=redirects)
        except Exception as exc:      # warcio raises several kinds on a file that is not WARC
            raise InputError(f"{self.path}: cannot be read as a WARC archive ({type(exc).__name__}: {exc}).") from None

    @property
    def first_url(self) -> str | None:
        return next(iter(self.pages), None)

    def get(self, url: str, found_in: str | None = None, **_) -> Page:
        if url not in self.pages:
            raise PageMissing(f"{url}: not in the archive {self.path}.")
        return self.pages[url]

"""The website loader: a directory website read through a site profile (``--profile``).

``directory-audit audit URL --profile P``: crawl the live site with the shared HTTP client
(robots.txt, rate limit, retries, cache), archiving every page as WARC beside the findings.
``directory-audit audit SAVED --profile P``: the same profile over saved responses: one saved page
(a JSON API response or an HTML page), a folder of pages laid out like the site, or a WARC archive
this tool wrote. See ``profile.py`` for the profile format and ``crawl.py`` for the walk.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from ...errors import SourceNotFound
from ...model import RAW_FIELDS, SOURCE_COLUMNS
from ...progress import Progress
from ...settings import Settings
from .. import LoadResult, problems_frame, sha256_of
from .crawl import Crawl
from .fetchers import OFFLINE_BASE, FolderFetcher, Page, WarcFetcher
from .profile import SiteProfile, load_profile

SOURCE_FORMAT = "scrape"


class _SingleFile(FolderFetcher):
    """One saved response, asked for by its file name; links in it resolve to files beside it."""

    def __init__(self, path: Path, base_url: str):
        super().__init__(path.parent, base_url)
        self.file = path

    def get(self, url: str, found_in: str | None = None, **_) -> Page:
        if url == self.file.name:
            body = self.file.read_bytes()
            return Page(url=url, final_url=url, status=200, headers={}, content=body,
                        sha256=hashlib.sha256(body).hexdigest())
        return super().get(url, found_in)


def _is_warc(path: Path) -> bool:
    return path.name.lower().endswith((".warc", ".warc.gz"))


def load(source: str, settings: Settings, progress: Progress) -> LoadResult:
    if settings.site_profile is None:
        from ...errors import ConfigError
        raise ConfigError("the website loader needs a site profile: give --profile PROFILE.toml.")
    profile = load_profile(settings.site_profile)
    max_pages = settings.max_pages or profile.max_pages
    archive = None
    start_pages, paginate, checksum_paths = None, True, None
    live = source.startswith(("http://", "https://"))
    if live:
        from ...archive import ARCHIVE_NAME, WarcArchive
        from ...http import HttpClient, HttpOptions
        options = HttpOptions.from_settings(settings, requests_per_second=profile.requests_per_second,
                                            concurrency=profile.concurrency)
        if settings.archive_dir is not None:
            archive = WarcArchive(Path(settings.archive_dir) / ARCHIVE_NAME)
        fetcher: Any = HttpClient(options, archive=archive)
        base = source
    else:
        path = Path(source)
        if not path.exists():
            raise SourceNotFound(f"{source}: no such file or folder. Give the site's URL, a saved page, a folder "
                                 f"of saved pages or an archive.warc.gz, with --profile.")
        if path.is_dir():
            base = profile.base_url or OFFLINE_BASE
            fetcher = FolderFetcher(path, base)
        elif _is_warc(path):
            fetcher = WarcFetcher(path)
            first = fetcher.first_url or OFFLINE_BASE
            parts = urlsplit(first)
            base = profile.base_url or f"{parts.scheme}://{parts.netloc}/"
            checksum_paths = [path]
        else:
            base = profile.base_url or OFFLINE_BASE
            fetcher = _SingleFile(path, base)
            start_pages, paginate, checksum_paths = [path.name], False, [path]
    crawl = Crawl(profile=profile, fetcher=fetcher, base_url=base, progress=progress, max_pages=max_pages,
                  start_pages=start_pages, paginate=paginate)
    try:
        crawl.run()
        disclosure = crawl.disclosure()
        search = crawl.search()
    except BaseException:
        if archive is not None:
            archive.abort()
        raise
    finally:
        close = getattr(fetcher, "close", None)
        if close:
            close()
    archived = archive.close() if archive is not None else None

    rows = crawl.frame()
    problems = crawl.problems + _incomplete(rows, profile)
    if profile.listing.required and len(rows):
        rows = rows[~_missing_required(rows, profile).any(axis=1)]
    frame = pd.DataFrame({c: rows[c] if c in rows.columns else None for c in RAW_FIELDS}, index=rows.index)
    frame.insert(0, "record_id", rows["record_id"] if "record_id" in rows else None)
    frame.insert(1, "source_format", SOURCE_FORMAT)
    frame.insert(2, "source_file", rows["source_file"] if "source_file" in rows else None)
    frame = frame[list(SOURCE_COLUMNS) + list(RAW_FIELDS)].reset_index(drop=True).astype("object")

    if checksum_paths:
        checksum = sha256_of(checksum_paths)
    else:
        h = hashlib.sha256()
        for page in sorted(crawl.pages, key=lambda p: p["url"]):
            h.update(f"{page['url']} {page['sha256']}\n".encode())
        checksum = "sha256:" + h.hexdigest()
    site = {
        "profile": str(profile.path), "name": profile.name, "base_url": base, "live": live,
        "pages_fetched": len(crawl.pages), "pages_from_cache": sum(p["from_cache"] for p in crawl.pages),
        "pages_failed": sum(1 for p in crawl.problems if p["check_id"] == "access.page_failed"),
        "cards": crawl.cards, "rows": int(len(frame)), "max_pages": max_pages,
        "fields_shown": list(profile.fields_shown), "disclosure": disclosure, "search": search,
    }
    metadata: dict[str, Any] = {"site": site, "pages": crawl.pages}
    if archived is not None:
        metadata["archive"] = archived
    sources = [source] if not live else [p["url"] for p in crawl.pages]
    return LoadResult(frame=frame, format="site", sources=sources, checksum=checksum,
                      problems=problems_frame(problems), metadata=metadata)


def _missing_required(rows: pd.DataFrame, profile: SiteProfile) -> pd.DataFrame:
    out = {}
    for f in profile.listing.required:
        col = "address_line1" if f == "address" else f
        out[f] = rows[col].isna() if col in rows.columns else pd.Series(True, index=rows.index)
    return pd.DataFrame(out, index=rows.index)


def _incomplete(rows: pd.DataFrame, profile: SiteProfile) -> list[dict[str, str]]:
    """A card (or location) without a field the profile requires is not a record: one problem per
    missing field, under ``access.card_incomplete``; the row is left out of the table."""
    if not profile.listing.required or rows.empty:
        return []
    missing = _missing_required(rows, profile)
    long = missing.stack()
    long = long[long]
    if long.empty:
        return []
    at = long.index.get_level_values(0)
    fields = long.index.get_level_values(1)
    record_ids = rows.loc[at, "record_id"].astype(str).to_numpy()
    names = rows.loc[at, "name"].fillna("") if "name" in rows else pd.Series("", index=at)
    return [{"record_id": rid, "field": f, "observed": "", "expected": f"a value for {f} (required by the profile)",
             "message": f"{rid}: no {f} where the profile expects one ({n or 'unnamed'}); the record is not audited",
             "check_id": "access.card_incomplete", "detail": ""}
            for rid, f, n in zip(record_ids, fields, names.astype(str).to_numpy())]

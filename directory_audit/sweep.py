"""The market sweep: audit every insurer of a market on a Dask cluster and compare them.

A market file lists the insurers: the CMS machine-readable URL PUF as published (``State, Issuer ID,
URL Submitted, Tech POC Email``), or our own CSV (``insurer,source[,format,mapping,profile,state]``).
Issuers that publish one index share one **feed**, and each feed is one Dask task: the worker fetches
the index and its provider files once (through the shared ``HttpClient``), streams them through the
loader, attributes each record to the issuers by plan id (HIOS plan ids start with the 5-digit issuer
id and the 2-letter state), audits each issuer's share, writes that issuer's findings (CSV, JSONL,
Parquet), summary and reports to ``DIR/<issuer>/`` and returns only a small summary dict. The client
never gathers a table.

A worker lost mid-task is retried by the scheduler; a task that fails twice is recorded in
``market.json`` with its reason, and the sweep goes on. What fetching learns (a dead feed, a server that
answers only a browser's User-Agent, a stale file, an index outside the CMS schema) is filed under the
``feed.*`` checks (``checks/feeds.py``), so it reaches each issuer's findings and report.

Cross-insurer signals (one NPI listed at different addresses, phones or accepting statuses by two
insurers of one state) come from small per-issuer extracts (``listings.parquet``) that the workers
write; one task per state reads only that state's extracts, so memory follows the largest state, not
the market.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import email.utils
import hashlib
import io
import json
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from .errors import DirectoryAuditError, InputError
from .settings import Settings

#: A current desktop browser's User-Agent, tried once when a server refuses ours.
BROWSER_USER_AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                      "Chrome/131.0.0.0 Safari/537.36")
#: Statuses a server gives a client it does not want: worth one try as a browser.
REFUSED_STATUSES = frozenset({401, 403, 406, 429})
#: Times a file is asked for before the feed is called dead (each ask: the client's own 5xx retries).
FEED_TRIES = 2
STATUS_OK, STATUS_DEAD, STATUS_ERROR = "ok", "dead feed", "error"
#: Columns of the per-issuer extract the cross-insurer step reads.
LISTING_COLUMNS = ("issuer_id", "market_state", "record_id", "npi", "state", "location_key", "address",
                   "phone", "accepting_status", "provider_name")
#: Cross-insurer checks: id -> (severity, factor item, title, field compared).
MARKET_CHECKS = {
    "market.npi_address_conflict": ("warning", "T1.i", "Same NPI at different addresses in two insurers' directories",
                                    "location_key"),
    "market.npi_phone_conflict": ("warning", "T1.i", "Same NPI and address, different phone in two insurers' directories",
                                  "phone"),
    "market.npi_accepting_conflict": ("warning", "T2.v",
                                      "Same NPI and address, different accepting status in two insurers' directories",
                                      "accepting_status"),
}


class MarketFileError(InputError):
    """A market file that cannot be read (names the file, row and field)."""


# --- the market file --------------------------------------------------------------------------------

@dataclass(frozen=True)
class MarketIssuer:
    """One insurer row of the market file."""
    issuer_id: str
    state: str
    source: str
    format: str = "auto"
    mapping: str | None = None
    profile: str | None = None
    name: str = ""
    row: int = 0
    problem: str = ""             # why this row cannot be swept (no URL); recorded, not dropped

    @property
    def hios(self) -> bool:
        return bool(re.fullmatch(r"\d{5}", self.issuer_id))


@dataclass(frozen=True)
class Feed:
    """One distinct source and the issuers that publish it: one Dask task."""
    source: str
    format: str
    mapping: str | None
    profile: str | None
    issuers: tuple[MarketIssuer, ...]
    dirs: tuple[str, ...]          # output folder name of each issuer, same order

    @property
    def key(self) -> str:
        digest = hashlib.sha1(f"{self.source}|{self.format}|{self.mapping}|{self.profile}".encode()).hexdigest()
        return f"feed-{digest[:16]}"


def _header_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.replace("\ufeff", "").lower())


PUF_HEADERS = {
    "state": ("state", "statecode", "st"),
    "issuer_id": ("issuerid", "hiosissuerid", "hiosid", "issuer", "issueridhios"),
    "url": ("urlsubmitted", "submittedurl", "url", "indexurl", "machinereadableurl", "mrurl"),
    "email": ("techpocemail", "technicalpocemail", "pocemail", "email"),
}
OUR_HEADERS = ("insurer", "source", "format", "mapping", "profile", "state")
FORMATS = ("auto", "csv", "xlsx", "qhp", "plannet", "site")


def read_market(path: str | Path, states: Iterable[str] = ()) -> list[MarketIssuer]:
    """The insurers of a market file, filtered to ``states`` (two-letter codes) when given.

    Two layouts: the CMS machine-readable URL PUF (``State, Issuer ID, URL Submitted, Tech POC Email``,
    header spellings and a byte-order mark tolerated), or ``insurer,source[,format,mapping,profile,state]``
    where a relative path is relative to the market file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MarketFileError(f"{path}: no such market file. Give the CMS machine-readable URL PUF (CSV) or a "
                              f"CSV with columns insurer,source[,format,mapping,profile,state].") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            raise MarketFileError(f"{path}: byte offset {exc.start}: not UTF-8 or Windows-1252 text.") from None
    rows = list(csv.reader(io.StringIO(text)))
    while rows and not any(c.strip() for c in rows[0]):
        rows.pop(0)
    if not rows:
        raise MarketFileError(f"{path}: empty; expected a header row and one row per issuer.")
    header = [_header_key(h) for h in rows[0]]
    wanted = {s.strip().upper() for s in states if s and s.strip()}
    if "source" in header and "insurer" in header:
        issuers = _read_ours(path, header, rows[1:])
    else:
        issuers = _read_puf(path, rows[0], header, rows[1:])
    if wanted:
        issuers = [i for i in issuers if i.state.upper() in wanted]
    return issuers


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    for n in names:
        if n in header:
            return header.index(n)
    return None


def _cell(row: list[str], i: int | None) -> str:
    return row[i].strip() if i is not None and i < len(row) else ""


def _read_puf(path: Path, shown: list[str], header: list[str], rows: list[list[str]]) -> list[MarketIssuer]:
    cols = {k: _column(header, v) for k, v in PUF_HEADERS.items()}
    missing = [k for k in ("state", "issuer_id", "url") if cols[k] is None]
    if missing:
        raise MarketFileError(
            f"{path}: row 1: found headers {shown}; expected the CMS machine-readable URL PUF columns "
            f"'State', 'Issuer ID', 'URL Submitted' (missing {', '.join(missing)}), or our layout "
            f"insurer,source[,format,mapping,profile,state].")
    out = []
    for n, row in enumerate(rows, start=2):
        if not any(c.strip() for c in row):
            continue
        issuer = _cell(row, cols["issuer_id"])
        if re.fullmatch(r"\d{1,5}(\.0)?", issuer):
            issuer = issuer.split(".")[0].zfill(5)     # a spreadsheet drops HIOS ids' leading zeros
        state = _cell(row, cols["state"]).upper()
        url = _cell(row, cols["url"])
        problem = ""
        if not re.fullmatch(r"\d{5}", issuer):
            problem = f"row {n}, Issuer ID: found {issuer!r}, expected a 5-digit HIOS issuer id"
        elif not url:
            problem = f"row {n}, URL Submitted: empty; the issuer submitted no index URL"
        elif not re.match(r"https?://", url, re.I):
            url = "https://" + url if "." in url.split("/")[0] else url
        out.append(MarketIssuer(issuer_id=issuer or f"row{n}", state=state, source=url, format="qhp",
                                name=issuer, row=n, problem=problem))
    return out


def _read_ours(path: Path, header: list[str], rows: list[list[str]]) -> list[MarketIssuer]:
    cols = {k: _column(header, (k,)) for k in OUR_HEADERS}
    out = []
    for n, row in enumerate(rows, start=2):
        if not any(c.strip() for c in row):
            continue
        insurer, source = _cell(row, cols["insurer"]), _cell(row, cols["source"])
        fmt = (_cell(row, cols["format"]) or "auto").lower()
        if not insurer:
            raise MarketFileError(f"{path}: row {n}, insurer: empty; expected the insurer's name or HIOS issuer id.")
        if fmt not in FORMATS:
            raise MarketFileError(f"{path}: row {n}, format: found {fmt!r}, expected one of {list(FORMATS)}.")
        problem = "" if source else f"row {n}, source: empty; expected a URL or a file"
        if source and not re.match(r"[a-z][a-z0-9+.-]*://", source, re.I):
            p = Path(source)
            source = str(p if p.is_absolute() else (path.parent / p).resolve())
        mapping = _cell(row, cols["mapping"]) or None
        if mapping and not Path(mapping).is_absolute():
            mapping = str((path.parent / mapping).resolve())
        profile = _cell(row, cols["profile"]) or None
        if profile and not Path(profile).is_absolute() and (path.parent / profile).exists():
            profile = str((path.parent / profile).resolve())
        out.append(MarketIssuer(issuer_id=insurer, state=_cell(row, cols["state"]).upper(), source=source,
                                format=fmt, mapping=mapping, profile=profile, name=insurer, row=n, problem=problem))
    return out


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:80] or "issuer"


def plan_feeds(issuers: list[MarketIssuer]) -> tuple[list[Feed], list[tuple[MarketIssuer, str]]]:
    """Group issuers by distinct source: (feeds, issuers that cannot be swept with their folder name)."""
    used: dict[str, int] = {}

    def folder(i: MarketIssuer) -> str:
        base = _slug(i.issuer_id)
        used[base] = used.get(base, 0) + 1
        return base if used[base] == 1 else f"{base}-{used[base]}"

    groups: dict[tuple, list[tuple[MarketIssuer, str]]] = {}
    unswept = []
    seen: set[tuple[str, str]] = set()
    for i in issuers:
        if (i.issuer_id, i.source) in seen:
            continue                      # the PUF repeats an issuer per product; one audit is enough
        seen.add((i.issuer_id, i.source))
        if i.problem:
            unswept.append((i, folder(i)))
            continue
        key = (i.source.strip(), i.format, i.mapping, i.profile)
        groups.setdefault(key, []).append((i, folder(i)))
    feeds = [Feed(source=k[0], format=k[1], mapping=k[2], profile=k[3], issuers=tuple(i for i, _ in v),
                  dirs=tuple(d for _, d in v)) for k, v in groups.items()]
    return feeds, unswept


# --- on the worker: fetch a feed ---------------------------------------------------------------------

@dataclass
class FetchedFeed:
    """What fetching a QHP feed gave: a local index naming local copies, and what was learned."""
    local_index: Path | None = None
    url_of: dict[str, str] = field(default_factory=dict)        # local path -> URL
    problems: list[dict[str, str]] = field(default_factory=list)
    dead: str = ""                                              # why nothing can be audited
    fatal: str = ""                                             # reachable but unusable (schema)
    last_modified: dict[str, str] = field(default_factory=dict)  # URL -> ISO date
    files: list[dict[str, Any]] = field(default_factory=list)


def _problem(check_id: str, record_id: str, field_: str, observed: str, expected: str, message: str,
             detail: dict | None = None) -> dict[str, str]:
    return {"record_id": record_id, "field": field_, "observed": observed, "expected": expected,
            "message": message, "check_id": check_id, "detail": json.dumps(detail or {}, sort_keys=True)}


def _http_client(settings: Settings, overrides: dict[str, Any] | None):
    from .http import HttpClient, HttpOptions
    # The sweep keeps each downloaded file once, in its own temporary folder: caching multi-GB
    # provider files a second time would double the disk a national sweep needs.
    opts = {"use_cache": False, **(overrides or {})}
    return HttpClient(HttpOptions.from_settings(settings, **opts))


def _download(client, url: str, dest: Path, found_in: str | None, fetched: FetchedFeed, browser: list[bool]) -> Any:
    """Fetch ``url`` to ``dest``, up to ``FEED_TRIES`` times (each try includes the client's own retries
    of 429/5xx). A refusal (401/403/406/429) is tried once more as a browser; if that is served, the feed
    is browser-only (a finding) and its other files are asked for as a browser too. Returns the
    FetchResult, or why every try failed (a string)."""
    from .errors import FetchError
    reasons: list[str] = []

    def attempt(agent: str | None):
        try:
            r = client.download(url, dest, found_in=found_in, headers={"User-Agent": agent} if agent else None)
        except FetchError as exc:          # DNS failure, refused connection, timeout, too large
            reasons.append(str(exc))
            return None
        if r.ok:
            return r
        reasons.append(f"{url}: HTTP {r.status}")
        return r

    agent = BROWSER_USER_AGENT if browser[0] else None
    r = attempt(agent)
    if r is not None and r.ok:
        return r
    if agent is None and r is not None and r.status in REFUSED_STATUSES:
        as_browser = attempt(BROWSER_USER_AGENT)
        if as_browser is not None and as_browser.ok:
            browser[0] = True
            fetched.problems.append(_problem(
                "feed.browser_only", url, "User-Agent", reasons[0], "the file served to any client",
                f"{url} refused our User-Agent ({reasons[0]}) and was served to a browser's", {"url": url}))
            return as_browser
    for _ in range(FEED_TRIES - 1):
        r = attempt(agent)
        if r is not None and r.ok:
            return r
    return "; ".join(dict.fromkeys(reasons))


def _http_date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).date()
    except (TypeError, ValueError, IndexError):
        return None


def _index_schema(index: Any, url: str) -> list[dict[str, str]]:
    """The CMS issuer index schema (``index_document_schema.json``): three arrays of URL strings,
    provider_urls and plan_urls with at least one."""
    if not isinstance(index, dict):
        return [_problem("feed.index_schema", url, "(document)", type(index).__name__, "a JSON object",
                         f"{url} is a JSON {type(index).__name__}, not an index object")]
    out = []
    for key, min_items in (("provider_urls", 1), ("plan_urls", 1), ("formulary_urls", 0)):
        value = index.get(key)
        if key not in index:
            out.append(_problem("feed.index_schema", url, key, "missing", "a list of URLs (required)",
                                f"{url} has no {key}"))
        elif not isinstance(value, list):
            out.append(_problem("feed.index_schema", url, key, json.dumps(value)[:120], "a list of URLs",
                                f"{url}: {key} is a {type(value).__name__}, not a list"))
        else:
            if len(value) < min_items:
                out.append(_problem("feed.index_schema", url, key, "[]", f"at least {min_items} URL",
                                    f"{url}: {key} is empty"))
            bad = [v for v in value if not isinstance(v, str) or not v.strip()]
            if bad:
                out.append(_problem("feed.index_schema", url, key, json.dumps(bad[:3])[:120], "URL strings",
                                    f"{url}: {key} holds {len(bad)} item(s) that are not URLs"))
    return out


def fetch_qhp_feed(url: str, workdir: Path, client) -> FetchedFeed:
    """Fetch a QHP index (or a providers.json given directly) and its provider and plan files into
    ``workdir``, and write a local index naming the copies. Feed-level problems are collected."""
    fetched = FetchedFeed()
    browser = [False]
    files = workdir / "files"
    first = _download(client, url, workdir / "source.json", None, fetched, browser)
    if isinstance(first, str):
        fetched.dead = first
        fetched.problems.append(_problem("feed.unreachable", url, "index", first, "HTTP 200 with a JSON index",
                                         f"{url} could not be fetched on any try: {first}", {"url": url}))
        return fetched
    head = first.path.open("rb").read(2048).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"["):              # a providers.json published directly
        index, provider_refs, plan_refs = None, [url], []
        first.path.rename(workdir / "providers.json")
        downloaded = {url: (workdir / "providers.json", first)}
    else:
        try:
            index = json.loads(first.path.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            again = _download(client, url, workdir / "source.json", None, fetched, browser)
            try:
                index = json.loads(again.path.read_bytes()) if not isinstance(again, str) else None
            except (json.JSONDecodeError, UnicodeDecodeError):
                index = None
            if index is None:
                reason = f"{url}: not JSON on every try ({exc})"
                fetched.dead = reason
                fetched.problems.append(_problem("feed.unreachable", url, "index", str(exc)[:200],
                                                 "a JSON index object", reason, {"url": url}))
                return fetched
        fetched.problems.extend(_index_schema(index, url))
        refs = index if isinstance(index, dict) else {}
        provider_refs = [v for v in refs.get("provider_urls") or [] if isinstance(v, str) and v.strip()] \
            if isinstance(refs.get("provider_urls"), list) else []
        plan_refs = [v for v in refs.get("plan_urls") or [] if isinstance(v, str) and v.strip()] \
            if isinstance(refs.get("plan_urls"), list) else []
        if not provider_refs:
            fetched.fatal = f"{url}: the index names no provider file (provider_urls)"
            return fetched
        downloaded = {}
    from urllib.parse import urljoin
    names: dict[str, int] = {}
    provider_local, plan_local = [], []
    for kind, refs, out in (("provider", provider_refs, provider_local), ("plan", plan_refs, plan_local)):
        for ref in refs:
            target_url = urljoin(url, ref.strip())
            if target_url in downloaded:
                local, result = downloaded[target_url]
            else:
                base = _slug(Path(target_url.split("?")[0]).name or f"{kind}.json")
                names[base] = names.get(base, 0) + 1
                local = files / (base if names[base] == 1 else f"{names[base]}-{base}")
                result = _download(client, target_url, local, url, fetched, browser)
                if isinstance(result, str):
                    fetched.problems.append(_problem(
                        "feed.unreachable", target_url, f"{kind}_urls", result, "HTTP 200 with a JSON file",
                        f"{kind} file {target_url} (named in {url}) could not be fetched on any try: {result}",
                        {"url": target_url, "index": url}))
                    continue
                downloaded[target_url] = (local, result)
            fetched.url_of[str(local)] = target_url
            lm = _http_date(result.headers.get("last-modified"))
            if lm:
                fetched.last_modified[target_url] = lm.isoformat()
            fetched.files.append({"url": target_url, "kind": kind, "bytes": local.stat().st_size,
                                  "last_modified": lm.isoformat() if lm else None, "sha256": result.sha256})
            out.append(local)
    if not provider_local:
        fetched.dead = f"{url}: no provider file could be fetched"
        return fetched
    fetched.local_index = workdir / "index.json"
    fetched.local_index.write_text(json.dumps({
        "provider_urls": [str(p.relative_to(workdir)) for p in provider_local],
        "plan_urls": [str(p.relative_to(workdir)) for p in plan_local], "formulary_urls": []}), encoding="utf-8")
    return fetched


# --- on the worker: attribute, audit, write ---------------------------------------------------------

def attribute(plan_ids: pd.Series, issuers: tuple[MarketIssuer, ...]) -> dict[str, pd.Series]:
    """For each issuer of a shared feed, which rows list one of its plans: a HIOS plan id starts with
    the 5-digit issuer id and the 2-letter state (``12345OR0010001``). Tested once per distinct list."""
    codes, uniques = pd.factorize(plan_ids.fillna("").astype(str), sort=False)
    out = {}
    for i in issuers:
        prefix = i.issuer_id + (i.state if re.fullmatch(r"[A-Z]{2}", i.state or "") else "")
        pattern = rf"(?:^|[|;,\s]){re.escape(prefix)}"
        hit = pd.Series(uniques).str.contains(pattern, regex=True).to_numpy()
        out[i.issuer_id] = pd.Series(hit[codes] if len(codes) else [], index=plan_ids.index, dtype=bool)
    return out


def _record_dates(frame: pd.DataFrame) -> pd.Series:
    """Newest record date per source file (raw ``last_updated``, parsed once per distinct value)."""
    if frame.empty or "last_updated" not in frame:
        return pd.Series(dtype="datetime64[ns]")
    values = frame["last_updated"].astype("object")
    codes, uniques = pd.factorize(values, sort=False)
    parsed = pd.to_datetime(pd.Series(uniques, dtype="object"), errors="coerce", format="mixed", utc=True)
    dates = pd.Series(parsed.to_numpy()[codes] if len(codes) else [], index=frame.index)
    return dates.groupby(frame["source_file"].astype("object")).max()


def _stale_problems(frame: pd.DataFrame, fetched: FetchedFeed, settings: Settings) -> list[dict[str, str]]:
    """A provider file whose HTTP Last-Modified and every record's date (of this issuer's rows from
    it) are older than the verification window."""
    window = settings.verification_window_days
    cutoff = settings.as_of - dt.timedelta(days=window)
    newest = _record_dates(frame)
    out = []
    for f in fetched.files:
        url, lm = f["url"], f["last_modified"]
        if f["kind"] != "provider" or not lm or dt.date.fromisoformat(lm) >= cutoff:
            continue
        rec = newest.get(url)
        if rec is not None and pd.notna(rec) and rec.date() >= cutoff:
            continue
        newest_text = rec.date().isoformat() if rec is not None and pd.notna(rec) else "none dated"
        out.append(_problem(
            "feed.stale_file", url, "Last-Modified", f"{lm} (newest record {newest_text})",
            f"a file or record updated on or after {cutoff.isoformat()} ({window}-day window before "
            f"{settings.as_of.isoformat()})",
            f"provider file {url} was last modified {lm} and its newest record is {newest_text}: not updated "
            f"within the {window}-day window",
            {"url": url, "last_modified": lm, "newest_record": newest_text, "window_days": window}))
    return out


def _worker_address() -> str:
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):
        return "local"


def _key_rates(summary: dict[str, Any]) -> dict[str, float | None]:
    """The league table's rates, read from the issuer's summary (its metrics and finding counts)."""
    items = summary.get("factor_items") or {}

    def metric(item: str, mid: str) -> dict:
        return ((items.get(item) or {}).get("metrics") or {}).get(mid, {}).get("value") or {}

    rows = int(summary.get("rows_audited") or 0)
    valid = metric("T1.i", "location.valid_share").get("share")
    coverage = metric("T1.iii", "open_practice.flag_coverage").get("share")
    lang = metric("T2.iv", "language.disclosure_share")
    language = (lang["with_any_language"] / lang["providers"]) if lang.get("providers") else None
    age = metric("T1.ii", "update.age_summary")
    stale = (1 - age["share_within_window"]) if isinstance(age.get("share_within_window"), (int, float)) else None
    by_check = summary.get("findings_by_check") or {}
    dups = sum(int(n) for c, n in by_check.items() if c.startswith("duplicate."))
    return {"valid_location_share": valid, "accepting_flag_coverage": coverage,
            "language_disclosure_share": None if language is None else round(language, 4),
            "stale_share": None if stale is None else round(stale, 4),
            "duplicate_rate": round(dups / rows, 4) if rows else None}


def _listings(table: pd.DataFrame, issuer: MarketIssuer) -> pd.DataFrame:
    """The small extract the cross-insurer step reads: who is listed where, with which phone and status."""
    def col(name: str) -> pd.Series:
        return table[name].astype("object") if name in table else pd.Series(None, index=table.index, dtype=object)
    address = (col("address_line1").fillna("") + ", " + col("city").fillna("") + " " + col("zip").fillna("")).str.strip(", ")
    return pd.DataFrame({
        "issuer_id": issuer.issuer_id, "market_state": issuer.state or "", "record_id": col("record_id"),
        "npi": col("npi"), "state": col("state"), "location_key": col("location_key"), "address": address,
        "phone": col("phone"), "accepting_status": col("accepting_status"), "provider_name": col("display_name"),
    }).astype("string")


def _providers_by_type(table: pd.DataFrame) -> dict[str, int]:
    if table.empty or "provider_key" not in table:
        return {}
    kinds = table["provider_type"].astype("object").fillna("unknown")
    return {str(k): int(v) for k, v in pd.Series(table["provider_key"].astype("object").to_numpy(), index=kinds.to_numpy())
            .groupby(level=0).nunique().items()}


def audit_feed(feed: Feed, settings: Settings, out_dir: str, http_overrides: dict[str, Any] | None = None) -> list[dict]:
    """The Dask task: fetch and load one feed, audit each issuer's share, write each issuer's outputs
    to ``out_dir/<issuer>/`` and return one small summary dict per issuer."""
    from .audit import audit_loaded
    from .loaders import LoadResult, load, problems_frame
    from .loaders.qhp import COLUMNS
    from .outputs import write_outputs

    started = time.perf_counter()
    worker = _worker_address()
    out = Path(out_dir)
    workdir = Path(tempfile.mkdtemp(prefix="directory-audit-sweep-"))
    base: dict[str, Any] = {"status": STATUS_OK, "reason": ""}
    fetched = FetchedFeed()
    loaded = None
    try:
        is_url = bool(re.match(r"https?://", feed.source, re.I))
        fmt = feed.format
        if fmt == "auto" and is_url and feed.source.lower().split("?")[0].endswith(".json"):
            fmt = "qhp"
        # A market row's mapping (CSV/Excel) or site profile (format site) applies to its feed only.
        isettings = settings.with_(mapping_file=Path(feed.mapping) if feed.mapping else None,
                                   site_profile=Path(feed.profile) if feed.profile else None)
        try:
            if is_url and fmt == "qhp":
                with _http_client(settings, http_overrides) as client:
                    fetched = fetch_qhp_feed(feed.source, workdir, client)
                if fetched.dead:
                    base = {"status": STATUS_DEAD, "reason": fetched.dead}
                elif fetched.fatal:
                    base = {"status": STATUS_ERROR, "reason": fetched.fatal}
                else:
                    loaded = load(str(fetched.local_index), isettings, format="qhp")
                    sf = loaded.frame["source_file"].astype("object")
                    loaded.frame["source_file"] = sf.map(lambda s: fetched.url_of.get(s, s))
                    loaded = dataclasses.replace(loaded, sources=[feed.source] + list(fetched.url_of.values()))
            else:
                loaded = load(feed.source, isettings, format=fmt)
        except DirectoryAuditError as exc:
            # Unreadable on the try we made (malformed JSON, an HTTP error the loader met): nothing to audit.
            dead = is_url or "MalformedJSON" in type(exc).__name__ or "SourceNotFound" in type(exc).__name__
            base = {"status": STATUS_DEAD if dead else STATUS_ERROR, "reason": str(exc)}
            fetched.problems.append(_problem("feed.unreachable", feed.source, "source", str(exc)[:300],
                                             "a readable directory source", str(exc), {"url": feed.source}))
            loaded = None
        if loaded is None:
            loaded = LoadResult(frame=pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS}),
                                format=fmt, sources=[feed.source], checksum="")
        shares = attribute(loaded.frame["plan_ids"], feed.issuers) \
            if len(feed.issuers) > 1 and "plan_ids" in loaded.frame else None
        unattributed = int((~pd.concat(shares, axis=1).any(axis=1)).sum()) if shares else 0
        feed_seconds = time.perf_counter() - started      # fetch and load, shared by the feed's issuers
        summaries = []
        for issuer, folder in zip(feed.issuers, feed.dirs):
            t0 = time.perf_counter()
            frame = loaded.frame[shares[issuer.issuer_id].to_numpy()] if shares else loaded.frame
            problems = [p for p in fetched.problems] + _stale_problems(frame, fetched, settings)
            mine = dataclasses.replace(loaded, frame=frame.reset_index(drop=True),
                                       problems=pd.concat([loaded.problems, problems_frame(problems)], ignore_index=True)
                                       if problems else loaded.problems)
            result = audit_loaded(feed.source, mine, settings)
            dest = out / folder
            write_outputs(result, dest, settings)
            _write_parquet(result.findings, dest / "findings.parquet")
            _write_parquet(_listings(result.table, issuer), dest / "listings.parquet")
            s = result.summary
            from reports.model import build
            report = build(result.findings, s)
            summaries.append({
                "issuer_id": issuer.issuer_id, "name": issuer.name, "state": issuer.state, "source": feed.source,
                "format": loaded.format, "row": issuer.row, "dir": folder, **base,
                "shared_with": [i.issuer_id for i in feed.issuers if i.issuer_id != issuer.issuer_id],
                "rows_in_feed": int(len(loaded.frame)), "rows_unattributed": unattributed,
                "rows_audited": s["rows_audited"], "providers_audited": s["providers_audited"],
                "providers_by_type": _providers_by_type(result.table),
                "findings_total": s["findings_total"], "findings_by_severity": s["findings_by_severity"],
                "findings_by_check": {k: v for k, v in s["findings_by_check"].items() if v},
                "findings_by_factor_item": s["findings_by_factor_item"],
                "status_by_factor_item": {k: v["status"] for k, v in report["items"].items()},
                "status_by_factor": {f"Factor {f['factor']}": f["status"] for f in report["factors"]},
                "rates": _key_rates(s), "input_checksum": s["input_checksum"],
                "feed": {"files": fetched.files, "browser_only": any(p["check_id"] == "feed.browser_only"
                                                                      for p in fetched.problems)},
                "duration_seconds": round(feed_seconds + time.perf_counter() - t0, 3),
                "feed_seconds": None, "worker": worker,
            })
        total = round(time.perf_counter() - started, 3)
        for s in summaries:
            s["feed_seconds"] = total
        return summaries
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _write_parquet(frame: pd.DataFrame, path: Path) -> Path:
    """Parquet written beside its target and renamed into place, like every other output."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.astype("string").to_parquet(tmp, index=False)
    os.replace(tmp, path)
    return path


# --- cross-insurer signals -------------------------------------------------------------------------

#: The cross-insurer step works on one slice of NPIs at a time (by the NPI's last digit, its Luhn
#: check digit, which spreads NPIs evenly), so pandas holds a tenth of a state's listings at once.
NPI_SLICES = tuple("0123456789")


def cross_insurer(state: str, extracts: list[str], out_path: str, examples: int = 20) -> dict[str, Any]:
    """Same NPI, same state, two insurers: listed at no common address, or at one address with
    different phones or accepting statuses. Reads one state's extracts (a few columns each, as Arrow),
    keeps the NPIs that two insurers list, and compares them a slice of NPIs at a time; writes the
    findings to ``out_path`` (Parquet) and returns counts and a few examples."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from .findings import FINDING_COLUMNS
    tables = []
    for p in extracts:
        if not Path(p).exists():
            continue
        t = pq.read_table(p, columns=list(LISTING_COLUMNS))
        st = pc.if_else(pc.is_valid(t["state"]), t["state"], t["market_state"])
        keep = pc.and_(pc.equal(st, state), pc.greater(pc.utf8_length(pc.fill_null(t["npi"], "")), 0))
        tables.append(t.filter(keep))
    empty = pd.DataFrame(columns=list(FINDING_COLUMNS) + ["issuer_a", "issuer_b", "state"])
    found = []
    if tables:
        table = pa.concat_tables(tables)
        # NPIs listed by at least two insurers: counted on two columns only.
        pairs = table.select(["npi", "issuer_id"]).group_by(["npi", "issuer_id"]).aggregate([])
        counts = pairs.group_by("npi").aggregate([("issuer_id", "count")])
        multi = counts.filter(pc.greater(counts["issuer_id_count"], 1))["npi"]
        table = table.filter(pc.is_in(table["npi"], value_set=multi))
        last = pc.utf8_slice_codeunits(table["npi"], -1, 2**31 - 1)
        for digit in NPI_SLICES:
            part = table.filter(pc.equal(last, digit)).to_pandas()
            if len(part):
                found.extend(_slice_conflicts(part.astype(object).where(part.notna(), None), state))
        rest = table.filter(pc.invert(pc.is_in(last, value_set=pa.array(NPI_SLICES)))).to_pandas()
        if len(rest):
            found.extend(_slice_conflicts(rest.astype(object).where(rest.notna(), None), state))
    found = [f for f in found if len(f)]
    findings = pd.concat(found, ignore_index=True).sort_values(["check_id", "npi", "issuer_a", "issuer_b"],
                                                               ignore_index=True) if found else empty
    _write_parquet(findings, Path(out_path))
    by_issuer: dict[str, dict[str, int]] = {}
    for side in ("issuer_a", "issuer_b"):
        for (issuer, check), n in findings.groupby([side, "check_id"]).size().items():
            by_issuer.setdefault(issuer, {}).setdefault(check, 0)
            by_issuer[issuer][check] += int(n)
    return {"state": state, "path": out_path, "findings": int(len(findings)),
            "by_check": {k: int(v) for k, v in findings["check_id"].value_counts().sort_index().items()},
            "by_issuer": by_issuer,
            "examples": findings.head(examples)[["check_id", "npi", "provider_name", "issuer_a", "issuer_b",
                                                 "observed", "expected", "message"]].to_dict("records")}


def _slice_conflicts(frame: pd.DataFrame, state: str) -> list[pd.DataFrame]:
    """The conflicts among listings of NPIs that two or more insurers list (one slice of them)."""
    first = frame.drop_duplicates(["npi", "issuer_id"])
    pairs = first.merge(first, on="npi", suffixes=("_a", "_b"))
    pairs = pairs[pairs["issuer_id_a"] < pairs["issuer_id_b"]]
    locs = frame.dropna(subset=["location_key"]).drop_duplicates(["npi", "issuer_id", "location_key"])
    shared = locs.merge(locs, on=["npi", "location_key"], suffixes=("_a", "_b"))
    shared = shared[shared["issuer_id_a"] < shared["issuer_id_b"]]
    common = set(zip(shared["npi"], shared["issuer_id_a"], shared["issuer_id_b"]))
    keyed = pd.Series(list(zip(pairs["npi"], pairs["issuer_id_a"], pairs["issuer_id_b"])), index=pairs.index,
                      dtype=object)
    apart = pairs[~keyed.isin(common) & pairs["location_key_a"].notna() & pairs["location_key_b"].notna()]
    out = [_conflicts("market.npi_address_conflict", apart, "address", state)]
    for check_id, column in (("market.npi_phone_conflict", "phone"),
                             ("market.npi_accepting_conflict", "accepting_status")):
        a, b = shared[f"{column}_a"], shared[f"{column}_b"]
        differ = shared[a.notna() & b.notna() & (a != b)]
        if column == "accepting_status":
            differ = differ[differ[f"{column}_a"].isin(["accepting", "not_accepting"])
                            & differ[f"{column}_b"].isin(["accepting", "not_accepting"])]
        out.append(_conflicts(check_id, differ, column, state))
    return out


def _conflicts(check_id: str, pairs: pd.DataFrame, column: str, state: str) -> pd.DataFrame:
    from .findings import FINDING_COLUMNS
    if pairs.empty:
        return pd.DataFrame(columns=list(FINDING_COLUMNS) + ["issuer_a", "issuer_b", "state"])
    severity, factor, title, _ = MARKET_CHECKS[check_id]
    pairs = pairs.sort_values(["npi", "issuer_id_a", "issuer_id_b"]).drop_duplicates(["npi", "issuer_id_a", "issuer_id_b"])
    shown = "address" if column == "address" else column
    a, b = pairs[f"{shown}_a"].fillna(""), pairs[f"{shown}_b"].fillna("")
    name = pairs["provider_name_a"].fillna(pairs["provider_name_b"]).fillna("")
    listing_cols = ["record_id", "address", "phone", "accepting_status"]
    detail = [json.dumps({"state": state, "listings": [
        {"issuer_id": r["issuer_id_a"], **{c: r[f"{c}_a"] for c in listing_cols}},
        {"issuer_id": r["issuer_id_b"], **{c: r[f"{c}_b"] for c in listing_cols}}]}, sort_keys=True, default=str)
        for r in pairs.to_dict("records")]
    what = {"address": "lists at", "phone": "gives phone", "accepting_status": "shows accepting status"}[column]
    message = [f"NPI {n} in {state}: insurer {ia} {what} {va!r}, insurer {ib} {what} {vb!r}"
               for n, ia, va, ib, vb in zip(pairs["npi"], pairs["issuer_id_a"], a, pairs["issuer_id_b"], b)]
    return pd.DataFrame({
        "check_id": check_id, "severity": severity, "factor_item": factor,
        "record_id": (pairs["issuer_id_a"] + ":" + pairs["record_id_a"].fillna("") + " | " + pairs["issuer_id_b"]
                      + ":" + pairs["record_id_b"].fillna("")).to_numpy(),
        "npi": pairs["npi"].to_numpy(), "provider_name": name.to_numpy(), "field": column,
        "observed": a.to_numpy(), "expected": b.to_numpy(), "message": message, "detail": detail,
        "issuer_a": pairs["issuer_id_a"].to_numpy(), "issuer_b": pairs["issuer_id_b"].to_numpy(), "state": state})


# --- the client ------------------------------------------------------------------------------------

def _unswept_summary(issuer: MarketIssuer, folder: str, status: str, reason: str, source: str | None = None) -> dict:
    return {"issuer_id": issuer.issuer_id, "name": issuer.name, "state": issuer.state,
            "source": source if source is not None else issuer.source, "format": issuer.format, "row": issuer.row,
            "dir": None, "status": status, "reason": reason, "shared_with": [], "rows_in_feed": 0,
            "rows_unattributed": 0, "rows_audited": 0, "providers_audited": 0, "providers_by_type": {},
            "findings_total": 0, "findings_by_severity": {}, "findings_by_check": {}, "findings_by_factor_item": {},
            "status_by_factor_item": {}, "status_by_factor": {}, "rates": {}, "input_checksum": None,
            "feed": {"files": [], "browser_only": False}, "duration_seconds": 0.0, "feed_seconds": None,
            "worker": None}


def _connect(scheduler: str | None, workers: int | None, processes: bool, threads_per_worker: int):
    import dask
    from distributed import Client, LocalCluster
    if scheduler:
        return Client(scheduler, timeout="30s"), None
    # A task whose worker dies is rescheduled once; a second death marks it failed (recorded, not fatal).
    dask.config.set({"distributed.scheduler.allowed-failures": 1})
    n = workers or os.cpu_count() or 1
    # distributed's own warnings (a worker slow to stop at shutdown, a busy event loop) are not the
    # sweep's results and would fill a cron mail: only its errors reach stderr.
    # Processes listen on loopback only; threads (processes=False) talk in-process. The scheduler's
    # HTTP server (dashboard, health) always starts: on loopback and a free port, so a nightly sweep
    # never exposes it on the network nor fights another cluster for the default 8787.
    where = {"host": "127.0.0.1"} if processes else {}
    cluster = LocalCluster(n_workers=n, threads_per_worker=threads_per_worker, processes=processes,
                           dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR, **where)
    return Client(cluster), cluster


def sweep(market: str | Path, out_dir: str | Path, settings: Settings, *, scheduler: str | None = None,
          workers: int | None = None, states: Iterable[str] = (), processes: bool = True,
          threads_per_worker: int = 1, http_overrides: dict[str, Any] | None = None, progress=None,
          client=None) -> dict[str, Any]:
    """Sweep a market on Dask; write ``market.json``, ``market.html`` and each issuer's outputs under
    ``out_dir`` and return the market summary (what ``market.json`` holds).

    ``scheduler``: address of a running cluster (``tcp://host:8786``); without it a local cluster of
    ``workers`` processes (default: the core count). ``client``: an existing ``distributed.Client``."""
    from distributed import as_completed

    from .progress import Progress
    progress = progress or Progress(enabled=False)
    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.perf_counter()
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    issuers = read_market(market, states)
    feeds, unswept = plan_feeds(issuers)
    results: list[dict] = [_unswept_summary(i, d, STATUS_ERROR, i.problem) for i, d in unswept]
    own = client is None
    cluster = None
    if own:
        client, cluster = _connect(scheduler, workers, processes, threads_per_worker)
    try:
        futures = {client.submit(audit_feed, f, settings, str(out), http_overrides, key=f.key, retries=1,
                                 pure=False): f for f in feeds}
        with progress.task(f"sweeping {len(feeds)} feeds", total=len(feeds)) as task:
            for fut in as_completed(list(futures)):
                feed = futures[fut]
                try:
                    results.extend(fut.result())
                except Exception as exc:   # failed twice (an error, or its worker lost twice): recorded
                    reason = f"task failed twice: {type(exc).__name__}: {str(exc)[:300]}"
                    results.extend(_unswept_summary(i, d, STATUS_ERROR, reason, feed.source)
                                   for i, d in zip(feed.issuers, feed.dirs))
                fut.release()
                task.advance()
        cross = _cross_insurer(client, results, out)
        scheduler_address = client.scheduler.address
        n_workers = len(client.scheduler_info().get("workers", {}))
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()
    market_summary = build_market(results, cross, settings, market, started, time.perf_counter() - t0,
                                  scheduler_address, n_workers)
    write_market(market_summary, out)
    return market_summary


def _cross_insurer(client, results: list[dict], out: Path) -> dict[str, Any]:
    by_state: dict[str, list[str]] = {}
    for r in results:
        if r["status"] == STATUS_OK and r["dir"] and r["rows_audited"]:
            by_state.setdefault(r["state"] or "", []).append(str(out / r["dir"] / "listings.parquet"))
    jobs = {st: client.submit(cross_insurer, st, paths, str(out / "cross_insurer" / f"{_slug(st or 'all')}.parquet"),
                              key=f"cross-{_slug(st or 'all')}-{hashlib.sha1('|'.join(paths).encode()).hexdigest()[:10]}",
                              retries=1, pure=False)
            for st, paths in by_state.items() if len({Path(p).parent for p in paths}) > 1}
    states = {}
    for st, fut in jobs.items():
        try:
            states[st] = fut.result()
        except Exception as exc:
            states[st] = {"state": st, "error": f"{type(exc).__name__}: {exc}", "findings": 0, "by_check": {},
                          "by_issuer": {}, "examples": []}
    for r in results:
        r["cross_insurer"] = (states.get(r["state"] or "", {}).get("by_issuer") or {}).get(r["issuer_id"], {})
    return states


def build_market(results: list[dict], cross: dict[str, Any], settings: Settings, market, started: dt.datetime,
                 seconds: float, scheduler: str, n_workers: int) -> dict[str, Any]:
    from . import __version__
    results = sorted(results, key=lambda r: (r["state"] or "", r["issuer_id"], r["row"]))
    by_status: dict[str, int] = {}
    for r in results:
        by_status[r["status"]] = by_status.get(r["status"], 0) + 1
    by_check: dict[str, int] = {}
    by_item: dict[str, int] = {}
    for r in results:
        for k, v in r["findings_by_check"].items():
            by_check[k] = by_check.get(k, 0) + int(v)
        for k, v in r["findings_by_factor_item"].items():
            by_item[k] = by_item.get(k, 0) + int(v)
    cross_by_check: dict[str, int] = {}
    for s in cross.values():
        for k, v in s.get("by_check", {}).items():
            cross_by_check[k] = cross_by_check.get(k, 0) + int(v)
    return {
        "tool": "directory-audit", "tool_version": __version__, "market": str(market),
        "started_at": started.isoformat(timespec="seconds"), "duration_seconds": round(seconds, 3),
        "scheduler": scheduler, "workers": n_workers, "settings": settings.describe(),
        "totals": {
            "issuers": len(results), "feeds": len({r["source"] for r in results if r["source"]}),
            "by_status": by_status, "rows_audited": sum(int(r["rows_audited"]) for r in results),
            "providers_audited": sum(int(r["providers_audited"]) for r in results),
            "findings_total": sum(int(r["findings_total"]) for r in results),
            "findings_by_check": dict(sorted(by_check.items())), "findings_by_factor_item": dict(sorted(by_item.items())),
            "cross_insurer_findings": sum(cross_by_check.values()), "cross_insurer_by_check": cross_by_check,
        },
        "cross_insurer": {"checks": {k: {"severity": v[0], "factor_item": v[1], "title": v[2]}
                                     for k, v in MARKET_CHECKS.items()},
                          "states": {k: cross[k] for k in sorted(cross)}},
        "issuers": results,
    }


def write_market(summary: dict[str, Any], out: Path) -> list[Path]:
    from .outputs import atomic_write, write_json
    import reports.market
    html = reports.market.render_market(summary)
    return [write_json(summary, out / "market.json"), atomic_write(out / "market.html", lambda fh: fh.write(html))]


#: Fields of an issuer record that depend on where and when it ran, not on the data.
RUN_FIELDS = ("worker", "duration_seconds", "feed_seconds")

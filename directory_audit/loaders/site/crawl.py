"""Walking a directory website with a profile: listing pages (next link or page parameter), each
card's detail page, the disclosure page and the search form.

The walk is the same whether pages come from the shared HTTP client (live), a folder of saved
pages or a WARC archive (``fetchers.py``): a fetcher has ``get(url, found_in)`` and
``get_many(urls, found_in)`` and returns objects shaped like ``http.FetchResult``.

What goes wrong on the site is collected as loader problems filed under the ``access.*`` check that
reports it (``checks/public_access.py``), never raised: a page that fails after the client's
retries, a login wall, robots.txt refusing a page, zero cards where cards are expected, a pagination
loop, a card without a required field. The one exception is robots.txt refusing the start URL
itself: nothing may be fetched, so the audit cannot run (exit 2).
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import pandas as pd

from ...errors import DirectoryAuditError, RobotsDisallowed
from ...progress import Progress
from .extract import Unreadable, extractor, finish, merge_levels, values_of
from .profile import SiteProfile

LOGIN_PATH = re.compile(r"(?i)(?:^|/)(?:log-?in|sign-?in|signon|logon|auth|sso|account|session)s?(?:/|\.|$|\?)")
SEARCH_WORDS = {
    "location": re.compile(r"(?i)zip|postal|city|location|address|distance|radius|county|near|miles|state"),
    "language": re.compile(r"(?i)language|\blang\b|idioma|spanish|espa[nñ]ol"),
    "accepting": re.compile(r"(?i)accept|new.?patient|open.?panel|panel.?status"),
}


def _is_robots(exc: BaseException) -> bool:
    return isinstance(exc, RobotsDisallowed)


@dataclass
class Crawl:
    profile: SiteProfile
    fetcher: Any
    base_url: str
    progress: Progress
    max_pages: int
    start_pages: list[str] | None = None      # offline single file: the file itself, no pagination
    paginate: bool = True
    problems: list[dict[str, str]] = field(default_factory=list)
    pages: list[dict[str, Any]] = field(default_factory=list)
    cards: int = 0
    _seen: set = field(default_factory=set)
    _bodies: dict = field(default_factory=dict)
    _failed: set = field(default_factory=set)
    _task: Any = None

    def __post_init__(self) -> None:
        self.ex = extractor(self.profile.kind)
        self.card_rows: list[dict] = []
        self.detail_rows: list[dict] = []
        self.location_rows: list[dict] = []

    # --- problems and pages -----------------------------------------------------------------------

    def problem(self, check_id: str, record_id: str, field_: str, observed: str, expected: str, message: str,
                **detail: Any) -> None:
        self.problems.append({"record_id": record_id, "field": field_, "observed": observed, "expected": expected,
                              "message": message, "check_id": check_id,
                              "detail": json.dumps(detail, sort_keys=True, default=str) if detail else ""})

    def _note_page(self, url: str, res: Any) -> None:
        self.pages.append({"url": url, "final_url": getattr(res, "final_url", url), "status": res.status,
                           "from_cache": bool(getattr(res, "from_cache", False)),
                           "sha256": getattr(res, "sha256", "") or hashlib.sha256(res.content or b"").hexdigest()})
        if self._task is not None:
            self._task.advance()
            describe = getattr(self._task, "describe", None)
            if describe:
                describe(f"crawling {self.profile.name}: {len(self.pages)} pages, {self.cards} cards")

    def _room(self) -> bool:
        return len(self.pages) < self.max_pages

    def _accept(self, url: str, res: Any, what: str) -> bool:
        """True when ``res`` is a usable page; else the problem is filed."""
        self._note_page(url, res)
        wall = login_wall(res)
        if wall:
            self.problem("access.login_required", url, what, wall,
                         "the page open to the public, without an account or a login",
                         f"{what} {url} is behind a login ({wall}): the directory is not public",
                         status=res.status, final_url=res.final_url)
            return False
        if not 200 <= res.status < 300:
            self.problem("access.page_failed", url, what, f"HTTP {res.status}", "HTTP 200 with the page",
                         f"{what} {url} answered HTTP {res.status} after the client's retries",
                         status=res.status, final_url=res.final_url)
            return False
        return True

    def fetch(self, url: str, found_in: str | None, what: str, required: bool = False) -> Any | None:
        if url in self._failed:          # reported once already; asking again would only repeat it
            return None
        page = self._fetch(url, found_in, what, required)
        if page is None:
            self._failed.add(url)
        return page

    def _fetch(self, url: str, found_in: str | None, what: str, required: bool) -> Any | None:
        try:
            res = self.fetcher.get(url, found_in=found_in)
        except DirectoryAuditError as exc:
            if _is_robots(exc):
                if required:
                    raise
                self.problem("access.robots_disallowed", url, what, "disallowed by robots.txt",
                             "a page robots.txt allows us to read", f"{exc}", found_in=found_in)
                return None
            if required and getattr(self.fetcher, "offline", False):
                raise
            self.problem("access.page_failed", url, what, type(exc).__name__, "HTTP 200 with the page", str(exc),
                         found_in=found_in)
            return None
        return res if self._accept(url, res, what) else None

    # --- the walk -----------------------------------------------------------------------------------

    def run(self) -> None:
        starts = self.start_pages or [urljoin(self.base_url, u) for u in self.profile.start_urls]
        with self.progress.task(f"crawling {self.profile.name}") as task:
            self._task = task
            for i, start in enumerate(starts):
                self._listing(start, first_start=(i == 0))
            self._task = None

    def _listing(self, start: str, first_start: bool) -> None:
        lst = self.profile.listing
        url, found_in, page_no, hashes = start, None, 0, {}
        while url:
            if not self._room():
                self.problem("access.crawl_truncated", url, "listing", f"{len(self.pages)} pages fetched",
                             f"at most {self.max_pages} pages (--max-pages / [site] max_pages)",
                             f"stopped before {url}: the page cap of {self.max_pages} was reached; "
                             f"the rest of the directory is not audited")
                return
            if url in self._seen:
                self.problem("access.pagination_loop", url, "listing.next", url, "a page not visited before",
                             f"the next-page link of {found_in} leads back to {url}, already read: pagination loops",
                             found_in=found_in)
                return
            self._seen.add(url)
            res = self.fetch(url, found_in, "listing page", required=first_start and page_no == 0)
            if res is None:
                return
            self._bodies[url] = res.content
            digest = hashlib.sha256(res.content or b"").hexdigest()
            if digest in hashes:
                self.problem("access.pagination_loop", url, "listing.page_param", url,
                             "a page with new results",
                             f"{url} shows exactly the page {hashes[digest]} showed: the site ignores the page "
                             f"parameter, pagination loops", same_as=hashes[digest])
                return
            hashes[digest] = url
            try:
                doc = self.ex.parse(res.content)
            except Unreadable as exc:
                if getattr(self.fetcher, "offline", False) and page_no == 0 and first_start:
                    from ...errors import MalformedJSON
                    raise MalformedJSON(f"{url}: {exc}; expected a {self.profile.kind} listing page.") from None
                self.problem("access.layout_changed", url, "listing.card", str(exc)[:200],
                             f"a {self.profile.kind} page of results", f"{url} cannot be read: {exc}")
                return
            cards = self.ex.nodes(doc, lst.card)
            if not cards:
                if page_no == 0 or lst.page_param is None:
                    if self.profile.kind == "html" and doc.select_one("input[type=password]") is not None:
                        self.problem("access.login_required", url, "listing page", "a password form, no results",
                                     "the directory open to the public, without an account or a login",
                                     f"{url} shows a login form instead of provider results: the directory is "
                                     f"not public")
                    elif lst.expect_cards:
                        self.problem("access.layout_changed", url, "listing.card", "0 cards",
                                     f"results matching {lst.card.path!r}",
                                     f"{url} has no element matching the profile's card selector "
                                     f"{lst.card.path!r}: the site's layout changed, or the search shows nothing")
                return
            self._cards(url, doc, cards)
            if not self.paginate:
                return
            found_in, url = url, self._next(url, doc, page_no)
            page_no += 1

    def _next(self, url: str, doc: Any, page_no: int) -> str | None:
        lst = self.profile.listing
        if lst.next is not None:
            href = self.ex.value(doc, lst.next)
            return urljoin(url, href.split(";")[0].strip()) if href else None
        if lst.page_param:
            return with_param(url, lst.page_param)
        return None

    def _cards(self, page_url: str, doc: Any, cards: list) -> None:
        lst = self.profile.listing
        detail_urls: dict[int, str] = {}
        for position, card in enumerate(cards, start=1):
            n = len(self.card_rows)
            row = values_of(self.ex, card, lst.fields)
            row.update({"_page": page_url, "_position": position})
            if lst.detail is not None:
                href = self.ex.value(card, lst.detail)
                if href:
                    detail_urls[n] = urljoin(page_url, href.split(";")[0].strip())
            self.card_rows.append(row)
        self.cards += len(cards)
        if detail_urls and self.profile.detail is not None:
            self._details(page_url, detail_urls)

    def _details(self, page_url: str, detail_urls: dict[int, str]) -> None:
        todo = {}
        room = self.max_pages - len(self.pages)
        for n, url in detail_urls.items():
            if len(todo) >= room:
                self.problem("access.crawl_truncated", url, "detail page", f"{len(self.pages)} pages fetched",
                             f"at most {self.max_pages} pages", f"{url} not read: the page cap of {self.max_pages} "
                             f"was reached; its card's values are kept")
                continue
            todo[n] = url
        urls = list(todo.values())
        for (n, url), res in zip(todo.items(), self.fetcher.get_many(urls, found_in=page_url)):
            if isinstance(res, BaseException):
                if _is_robots(res):
                    self.problem("access.robots_disallowed", url, "detail page", "disallowed by robots.txt",
                                 "a page robots.txt allows us to read", str(res), found_in=page_url)
                else:
                    self.problem("access.page_failed", url, "detail page", type(res).__name__,
                                 "HTTP 200 with the page", str(res), found_in=page_url)
                continue
            if not self._accept(url, res, "detail page"):
                continue
            self._detail(n, url, res)

    def _detail(self, n: int, url: str, res: Any) -> None:
        d = self.profile.detail
        try:
            doc = self.ex.parse(res.content)
        except Unreadable as exc:
            self.problem("access.layout_changed", url, "detail.root", str(exc)[:200], "a detail page",
                         f"{url} cannot be read: {exc}; its card's values are kept")
            return
        roots = self.ex.nodes(doc, d.root)
        if not roots:
            self.problem("access.layout_changed", url, "detail.root", "no match", f"an element matching "
                         f"{d.root.path!r}", f"{url} has no element matching the profile's detail root "
                         f"{d.root.path!r}: the layout changed; its card's values are kept")
            return
        root = roots[0]
        self.detail_rows.append({**values_of(self.ex, root, d.fields), "_card": n, "_detail": url})
        if d.location is not None:
            for k, block in enumerate(self.ex.nodes(root, d.location), start=1):
                self.location_rows.append({**values_of(self.ex, block, d.location_fields), "card": n,
                                           "_location": k})

    # --- the frame ----------------------------------------------------------------------------------

    def frame(self) -> pd.DataFrame:
        """One raw row per provider-location, with its record_id and source page."""
        lst, d = self.profile.listing, self.profile.detail
        cards = finish(pd.DataFrame(self.card_rows, columns=list(lst.fields) + ["_page", "_position"]), lst.fields)
        detail_fields = d.fields if d else {}
        location_fields = d.location_fields if d else {}
        details = finish(pd.DataFrame(self.detail_rows, columns=list(detail_fields) + ["_card", "_detail"]),
                         detail_fields).set_index("_card")
        locations = finish(pd.DataFrame(self.location_rows, columns=list(location_fields) + ["card", "_location"]),
                           location_fields)
        rows = merge_levels(cards, details, locations)
        if rows.empty:
            rows["record_id"] = pd.Series(dtype="object")
            rows["source_file"] = pd.Series(dtype="object")
            return rows
        has_detail = rows["_detail"].notna() if "_detail" in rows else pd.Series(False, index=rows.index)
        has_location = rows["_location"].notna() if "_location" in rows else pd.Series(False, index=rows.index)
        on_card = rows["_page"].astype(str) + "#card-" + rows["_position"].astype("int64").astype(str)
        detail = rows["_detail"].astype("object") if "_detail" in rows else on_card
        location_no = rows["_location"].astype("Int64").astype(str) if "_location" in rows else ""
        rows["record_id"] = on_card.where(~has_detail, detail.where(~has_location, detail + "#location-" + location_no))
        rows["source_file"] = rows["_page"].where(~has_detail, detail)
        return rows

    # --- disclosure and search ------------------------------------------------------------------------

    def disclosure(self) -> dict[str, Any] | None:
        spec = self.profile.disclosure
        if spec is None:
            return None
        url = urljoin(self.base_url, spec.url)
        out: dict[str, Any] = {"url": url, "update_frequency": None, "last_updated": None, "error": None,
                               "last_updated_expected": spec.last_updated is not None}
        res = self.fetch(url, None, "disclosure page")
        if res is None:
            out["error"] = self.problems[-1]["message"] if self.problems else "not fetched"
            return out
        from .extract import HtmlExtractor
        html = HtmlExtractor()
        try:
            doc = html.parse(res.content)
        except Unreadable as exc:
            out["error"] = f"{url} cannot be read: {exc}"
            return out
        out["final_url"] = res.final_url
        out["fetched_at"] = str(getattr(res, "fetched_at", "") or "")
        if spec.update_frequency is not None:
            out["update_frequency"] = _first(finish(pd.DataFrame(
                {"f": [html.value(doc, spec.update_frequency)]}), {"f": spec.update_frequency})["f"])
        if spec.last_updated is not None:
            out["last_updated"] = _first(finish(pd.DataFrame(
                {"f": [html.value(doc, spec.last_updated)]}), {"f": spec.last_updated})["f"])
        return out

    def search(self) -> dict[str, Any]:
        """What the public can search by: the controls of the search form (their names, labels and
        options), or the parameters the profile names (an API has no form)."""
        spec = self.profile.search
        declared = dict(spec.declared) if spec else {}
        url = urljoin(self.base_url, spec.url) if spec and spec.url else \
            (urljoin(self.base_url, self.profile.start_urls[0]) if self.profile.kind == "html" else None)
        out: dict[str, Any] = {"url": url, "form_found": False, "controls": [], "capabilities": {},
                               "read": bool(declared)}
        controls: list[dict[str, str]] = []
        if url and (self.profile.kind == "html" or (spec and spec.url)):
            body = self._bodies.get(url)
            if body is None and url not in self._failed:
                res = self.fetch(url, None, "search page")
                body = res.content if res is not None else None
            if body:
                out["read"] = True
                from .extract import HtmlExtractor
                try:
                    doc = HtmlExtractor().parse(body)
                    forms = spec.form.compiled.select(doc) if spec and spec.form else doc.find_all("form")
                    controls = [c for form in forms for c in form_controls(doc, form)]
                    out["form_found"] = bool(forms)
                except Unreadable:
                    pass
        out["controls"] = controls
        for what, words in SEARCH_WORDS.items():
            if what in declared:
                out["capabilities"][what] = f"parameter {declared[what]!r} (named in the profile)"
                continue
            hit = next((c for c in controls if words.search(c["text"])), None)
            out["capabilities"][what] = f"form field {hit['name']!r}" if hit else None
        return out


def _first(col: pd.Series) -> str | None:
    v = col.iloc[0] if len(col) else None
    return None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)


def form_controls(doc: Any, form: Any) -> list[dict[str, str]]:
    """Each input/select/textarea of a form with the words that say what it searches by."""
    out = []
    for c in form.find_all(["input", "select", "textarea"]):
        if c.name == "input" and (c.get("type") or "text").lower() in ("hidden", "submit", "button", "image", "reset"):
            continue
        words = [c.get("name") or "", c.get("id") or "", c.get("placeholder") or "", c.get("aria-label") or ""]
        if c.get("id"):
            label = doc.find("label", attrs={"for": c["id"]})
            if label is not None:
                words.append(label.get_text(" ", strip=True))
        parent = c.find_parent("label")
        if parent is not None:
            words.append(parent.get_text(" ", strip=True))
        if c.name == "select":
            words += [o.get_text(" ", strip=True) for o in c.find_all("option")][:20]
        out.append({"name": c.get("name") or c.get("id") or c.name, "text": " ".join(w for w in words if w)})
    return out


def login_wall(res: Any) -> str | None:
    """Why a response is a login wall, or None: HTTP 401/403, or a redirect to a login page."""
    if res.status in (401, 403):
        return f"HTTP {res.status}"
    redirects = getattr(res, "redirects", None) or []
    if redirects and res.final_url and LOGIN_PATH.search(urlsplit(res.final_url).path or "/"):
        return f"redirected to {res.final_url}"
    return None


def with_param(url: str, param: str) -> str:
    """The URL of the next page: ``param`` incremented (1 when absent, so the next is 2)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    current = next((v for k, v in query if k == param), None)
    n = int(current) + 1 if current and current.isdigit() else 2
    query = [(k, v) for k, v in query if k != param] + [(param, str(n))]
    return urlunsplit(parts._replace(query=urlencode(query)))

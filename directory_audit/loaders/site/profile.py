"""Site profiles: a TOML file saying where a directory website keeps each field.

A profile is read and checked completely before anything is fetched: an unknown section, key or
field, a CSS selector soupsieve cannot compile, a JMESPath expression jmespath cannot parse, a
regular expression that does not compile, is a ``ConfigError`` (exit 2) naming the file and the key.

Layout (every section but ``[site]`` and ``[listing]`` optional)::

    [site]
    name = "Example Health"
    base_url = "https://find.example.com/"   # optional; offline folders and archives use it for URLs
    start_urls = ["/search?page=1"]          # relative to the URL given on the command line, or absolute
    requests_per_second = 1.0
    concurrency = 2
    max_pages = 10000

    [listing]
    kind = "html"                            # html (CSS selectors) or json (JMESPath)
    card = "div.provider-card"               # one result (json: JMESPath to the list of results)
    next = "a[rel=next]@href"                # next-page link; or page_param = "page"
    detail = "a.details@href"                # optional link to a detail page
    required = ["name", "address"]           # a card without one of these is a finding, not a row

    [listing.fields]                         # canonical field = selector inside the card
    name = "h3.provider-name"
    languages = { css = "div.languages", regex = "Languages:\\s*(.*)", split = "," }

    [detail]                                 # the detail page: provider fields, repeated locations
    root = "article.provider-detail"
    location = "li.location"
    [detail.fields]
    npi = "p.npi span"
    [detail.location_fields]
    address = "span.address"

    [disclosure]                             # where the site says how often it is updated
    url = "/about"
    update_frequency = "p.update-frequency"
    last_updated = "p.last-updated time@datetime"

    [search]                                 # how the public searches; a form is read from the page
    url = "/search"                          # page holding the search form (default: first start URL)
    form = "form#provider-search"            # default: every form on the page
    location = "zip"                         # optional: name the parameter when no form shows it (APIs)
    language = "lang"
    accepting = "accepting"
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from ...model import RAW_FIELDS

#: Field names a profile may fill: the canonical raw fields plus ``address``, one line that the
#: loader splits into street, suite, city, state and ZIP.
PROFILE_FIELDS = tuple(RAW_FIELDS) + ("address",)
KINDS = ("html", "json")
# "div.card a@href": a selector, then the attribute to read. An attribute name has no spaces or
# CSS punctuation, so the last '@' followed by such a name is the split point.
_ATTR = re.compile(r"^(?P<css>.*?)@(?P<attr>[A-Za-z_:][-\w:.]*)$", re.DOTALL)

_SECTIONS = {
    "site": {"name", "base_url", "start_urls", "requests_per_second", "concurrency", "max_pages"},
    "listing": {"kind", "card", "next", "page_param", "detail", "required", "fields", "expect_cards"},
    "detail": {"root", "location", "fields", "location_fields"},
    "disclosure": {"url", "update_frequency", "last_updated"},
    "search": {"url", "form", "location", "language", "accepting"},
}


@dataclass(frozen=True)
class Selector:
    """Where one value sits: a CSS selector (html) or JMESPath expression (json), an attribute to
    read instead of the text, a regular expression whose first group is kept, a separator that
    splits a list written in one cell. ``key`` names it in error messages and findings."""
    key: str
    path: str | None            # None: the card (or block) itself
    attr: str | None = None
    regex: re.Pattern | None = None
    split: str | None = None
    compiled: Any = None        # soupsieve or jmespath compiled form of ``path``


@dataclass(frozen=True)
class ListingSpec:
    kind: str
    card: Selector
    next: Selector | None
    page_param: str | None
    detail: Selector | None
    fields: dict[str, Selector]
    required: tuple[str, ...]
    expect_cards: bool = True


@dataclass(frozen=True)
class DetailSpec:
    root: Selector | None
    location: Selector | None
    fields: dict[str, Selector]
    location_fields: dict[str, Selector]


@dataclass(frozen=True)
class DisclosureSpec:
    url: str
    update_frequency: Selector | None
    last_updated: Selector | None


@dataclass(frozen=True)
class SearchSpec:
    url: str | None
    form: Selector | None
    declared: dict[str, str]     # capability (location / language / accepting) -> parameter named


@dataclass(frozen=True)
class SiteProfile:
    path: Path
    name: str
    base_url: str | None
    start_urls: tuple[str, ...]
    requests_per_second: float
    concurrency: int
    max_pages: int
    listing: ListingSpec
    detail: DetailSpec | None = None
    disclosure: DisclosureSpec | None = None
    search: SearchSpec | None = None
    fields_shown: tuple[str, ...] = field(default=())

    @property
    def kind(self) -> str:
        return self.listing.kind


def load_profile(path: str | Path) -> SiteProfile:
    """Read and check a profile file; ``ConfigError`` naming the key on any mistake."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"--profile: {path} does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Site profile {path} is not valid TOML: {exc}.") from None
    return parse_profile(data, path)


def parse_profile(data: dict[str, Any], path: Path) -> SiteProfile:
    where = f"Site profile {path}"
    unknown = set(data) - set(_SECTIONS)
    if unknown:
        raise ConfigError(f"{where}: unknown section(s) {sorted(unknown)}; expected some of {sorted(_SECTIONS)}.")
    for section, allowed in _SECTIONS.items():
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [{section}] must be a table.")
        extra = set(table) - allowed
        if extra:
            raise ConfigError(f"{where}: [{section}] unknown key(s) {sorted(extra)}; expected some of {sorted(allowed)}.")
    for section in ("site", "listing"):
        if section not in data:
            raise ConfigError(f"{where}: the [{section}] section is missing.")
    site, listing = data["site"], data["listing"]

    kind = listing.get("kind", "html")
    if kind not in KINDS:
        raise ConfigError(f"{where}: [listing] kind: found {kind!r}, expected one of {list(KINDS)}.")
    parse = _Parser(where, kind)

    start_urls = site.get("start_urls", ["/"])
    if isinstance(start_urls, str):
        start_urls = [start_urls]
    if not isinstance(start_urls, list) or not start_urls or not all(isinstance(u, str) for u in start_urls):
        raise ConfigError(f"{where}: [site] start_urls: expected a list of URLs (relative or absolute).")
    rps = _number(where, "[site] requests_per_second", site.get("requests_per_second", 1.0), float, 0.001)
    concurrency = _number(where, "[site] concurrency", site.get("concurrency", 2), int, 1)
    max_pages = _number(where, "[site] max_pages", site.get("max_pages", 10000), int, 1)

    if "card" not in listing:
        raise ConfigError(f"{where}: [listing] card is missing: the selector of one search result "
                          f"(json: the JMESPath of the list of results).")
    if "next" in listing and "page_param" in listing:
        raise ConfigError(f"{where}: [listing] give either next or page_param, not both.")
    fields = parse.fields("listing.fields", listing.get("fields", {}))
    required = listing.get("required", [])
    if not isinstance(required, list) or any(r not in PROFILE_FIELDS for r in required):
        raise ConfigError(f"{where}: [listing] required: found {required!r}, expected a list of field names "
                          f"from: {', '.join(PROFILE_FIELDS)}.")

    detail = None
    if "detail" in data:
        d = data["detail"]
        if "detail" not in listing:
            raise ConfigError(f"{where}: [detail] is given but [listing] detail (the link to follow) is not.")
        detail = DetailSpec(root=parse.selector("detail.root", d["root"]) if "root" in d else None,
                            location=parse.selector("detail.location", d["location"]) if "location" in d else None,
                            fields=parse.fields("detail.fields", d.get("fields", {})),
                            location_fields=parse.fields("detail.location_fields", d.get("location_fields", {})))
        if detail.location_fields and detail.location is None:
            raise ConfigError(f"{where}: [detail.location_fields] needs [detail] location, the selector of "
                              f"one repeated location block.")
    disclosure = None
    if "disclosure" in data:
        d = data["disclosure"]
        if "url" not in d:
            raise ConfigError(f"{where}: [disclosure] url is missing: the page stating the update frequency.")
        html = _Parser(where, "html")      # a disclosure is a web page whatever the listing's kind
        disclosure = DisclosureSpec(
            url=_text(where, "[disclosure] url", d["url"]),
            update_frequency=html.selector("disclosure.update_frequency", d["update_frequency"])
            if "update_frequency" in d else None,
            last_updated=html.selector("disclosure.last_updated", d["last_updated"]) if "last_updated" in d else None)
    search = None
    if "search" in data:
        s = data["search"]
        search = SearchSpec(url=_text(where, "[search] url", s["url"]) if "url" in s else None,
                            form=_Parser(where, "html").selector("search.form", s["form"]) if "form" in s else None,
                            declared={k: _text(where, f"[search] {k}", s[k])
                                      for k in ("location", "language", "accepting") if k in s})

    shown = set(fields) | (set(detail.fields) | set(detail.location_fields) if detail else set())
    return SiteProfile(
        path=path, name=_text(where, "[site] name", site.get("name", path.stem)),
        base_url=_text(where, "[site] base_url", site["base_url"]) if "base_url" in site else None,
        start_urls=tuple(start_urls), requests_per_second=rps, concurrency=concurrency, max_pages=max_pages,
        listing=ListingSpec(
            kind=kind, card=parse.selector("listing.card", listing["card"]),
            next=parse.selector("listing.next", listing["next"]) if "next" in listing else None,
            page_param=_text(where, "[listing] page_param", listing["page_param"]) if "page_param" in listing else None,
            detail=parse.selector("listing.detail", listing["detail"]) if "detail" in listing else None,
            fields=fields, required=tuple(required), expect_cards=bool(listing.get("expect_cards", True))),
        detail=detail, disclosure=disclosure, search=search, fields_shown=tuple(sorted(shown)))


def _text(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key}: found {value!r}, expected a non-empty string.")
    return value


def _number(where: str, key: str, value: Any, kind: type, minimum: float):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < minimum:
        raise ConfigError(f"{where}: {key}: found {value!r}, expected a number of at least {minimum:g}.")
    return kind(value)


class _Parser:
    """Field and selector specs of one kind (html or json), checked as they are read."""

    def __init__(self, where: str, kind: str):
        self.where, self.kind = where, kind

    def fields(self, section: str, table: Any) -> dict[str, Selector]:
        if not isinstance(table, dict):
            raise ConfigError(f"{self.where}: [{section}] must be a table of field = selector.")
        out = {}
        for name, spec in table.items():
            if name not in PROFILE_FIELDS:
                raise ConfigError(f"{self.where}: [{section}] {name!r}: unknown field; expected one of "
                                  f"{', '.join(PROFILE_FIELDS)}.")
            out[name] = self.selector(f"{section}.{name}", spec)
        if "address" in out and "address_line1" in out:
            raise ConfigError(f"{self.where}: [{section}] gives both address (one line) and address_line1; "
                              f"give one.")
        return out

    def selector(self, key: str, spec: Any) -> Selector:
        if isinstance(spec, str):
            path, attr = spec, None
            if self.kind == "html":
                m = _ATTR.match(spec)
                if m:
                    path, attr = m["css"].strip(), m["attr"]
            regex = split = None
        elif isinstance(spec, dict):
            allowed = {"css", "attr", "regex", "split"} if self.kind == "html" else {"path", "regex", "split"}
            extra = set(spec) - allowed
            if extra:
                raise ConfigError(f"{self.where}: {key}: unknown key(s) {sorted(extra)} for a {self.kind} profile; "
                                  f"expected some of {sorted(allowed)}.")
            path = spec.get("css" if self.kind == "html" else "path")
            attr, regex, split = spec.get("attr"), spec.get("regex"), spec.get("split")
            for name, v in (("attr", attr), ("regex", regex), ("split", split)):
                if v is not None:
                    _text(self.where, f"{key}.{name}", v)
        else:
            raise ConfigError(f"{self.where}: {key}: found {spec!r}, expected a selector string or a table "
                              f"with {'css' if self.kind == 'html' else 'path'}, regex, split.")
        path = path.strip() if isinstance(path, str) and path.strip() else None
        compiled = self._compile(key, path) if path else None
        pattern = None
        if regex is not None:
            try:
                pattern = re.compile(regex)
            except re.error as exc:
                raise ConfigError(f"{self.where}: {key}.regex: {regex!r} is not a regular expression ({exc}).") from None
        return Selector(key=key, path=path, attr=attr, regex=pattern, split=split, compiled=compiled)

    def _compile(self, key: str, path: str):
        if self.kind == "html":
            import soupsieve
            try:
                return soupsieve.compile(path)
            except Exception as exc:   # SelectorSyntaxError and friends
                first = str(exc).splitlines()[0]
                raise ConfigError(f"{self.where}: {key}: {path!r} is not a CSS selector ({first}).") from None
        import jmespath
        try:
            return jmespath.compile(path)
        except jmespath.exceptions.JMESPathError as exc:
            first = str(exc).splitlines()[0]
            raise ConfigError(f"{self.where}: {key}: {path!r} is not a JMESPath expression ({first}).") from None

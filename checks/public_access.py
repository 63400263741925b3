"""Public-access checks: what only reading the directory website can show (T1.i, T1.ii, T2.i, T2.ii).

The website loader (``directory_audit/loaders/site``) files what it met on the site as problems under
these ids, and each such check is one line (``problem_findings``). The disclosure and search checks
read what the loader found on the site (``context.load_metadata["site"]``). Every check here is
silent for sources that are not a website.
"""
from __future__ import annotations

import pandas as pd

from directory_audit.findings import VIOLATION_COLUMNS
from directory_audit.narrative import frequency_days
from directory_audit.registry import check, metric
from directory_audit.runner import AuditContext
from directory_audit.settings import Settings

from .records import problem_findings

#: What a public directory search must let an enrollee narrow by (T2.ii; OAR 836-053-0350).
SEARCH_NEEDS = {"location": "a location (ZIP, city or distance)", "language": "a language spoken",
                "accepting": "whether the provider accepts new patients"}


def _site(context: AuditContext) -> dict | None:
    return (context.load_metadata or {}).get("site")


def _rows(records: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(records, columns=list(VIOLATION_COLUMNS) + ["message"], dtype=object)
    for c in ("npi", "provider_name", "detail", "message"):
        out[c] = out[c].fillna("")
    return out


@check(id="access.login_required", factor="T1.i", severity="error", title="Directory behind a login",
       message="{record_id} is not public: {observed}")
def login_required(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """A directory page that answers 401/403, redirects to a login page or shows a password form
    instead of results: the public must see every provider without an account or a policy number
    (OAR 836-053-0350), so these locations are not transparent to the public."""
    return problem_findings(context, "access.login_required")


@check(id="access.page_failed", factor="T1.ii", severity="error", title="Directory page failed",
       message="{record_id} could not be read: {observed}")
def page_failed(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """A directory page that failed after the client's retries (5xx, 404, no connection, timeout):
    the directory was not reachable there, and the providers on it are not audited."""
    return problem_findings(context, "access.page_failed")


@check(id="access.robots_disallowed", factor="T1.ii", severity="warning", title="Page refused by robots.txt",
       message="robots.txt forbids reading {record_id}")
def robots_disallowed(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """The site's robots.txt forbids a page the profile leads to; nothing was fetched from it, so
    what it lists is not audited. (When the start page itself is refused the audit stops, exit 2.)"""
    return problem_findings(context, "access.robots_disallowed")


@check(id="access.layout_changed", factor="T2.i", severity="error", title="No results where the profile expects them",
       message="{record_id}: {observed} where the profile expects results")
def layout_changed(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """A listing page with zero cards, or a detail page without its root element: the site's layout
    changed (the profile needs updating) or the search shows nothing. Either way the audit did not
    read providers there, and saying nothing would pass an empty crawl as a clean directory."""
    return problem_findings(context, "access.layout_changed")


@check(id="access.card_incomplete", factor="T1.i", severity="error", title="Result missing a required field",
       message="{record_id} has no {field}")
def card_incomplete(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """A search result (or location block) without a field the profile marks required (a name, an
    address): it cannot be audited as a record, so it is reported here instead of being dropped."""
    return problem_findings(context, "access.card_incomplete")


@check(id="access.pagination_loop", factor="T2.i", severity="warning", title="Pagination loops",
       message="pagination returns to {observed}")
def pagination_loop(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """A next-page link that leads back to a page already read, or a page parameter the site
    ignores: a visitor paging through results never sees the rest of the directory."""
    return problem_findings(context, "access.pagination_loop")


@check(id="access.crawl_truncated", factor="T2.i", severity="info", title="Crawl stopped at the page cap",
       message="crawl stopped at the page cap: {expected}")
def crawl_truncated(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """The crawl reached ``--max-pages``; the pages after it are not audited, so the findings cover
    part of the directory only."""
    return problem_findings(context, "access.crawl_truncated")


@check(id="access.search_filter_missing", factor="T2.ii", severity="warning",
       title="Search cannot narrow by a field enrollees need",
       message="the directory search offers no way to search by {expected}")
def search_filter_missing(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """Enrollees must be able to find providers by location, language and accepting status (T2.ii).
    Read from the search form's fields (names, labels, options) or from the parameters the profile
    names for an API; a capability neither shows is reported."""
    site = _site(context)
    if not site or not site.get("search") or not site["search"].get("read", True):
        return _rows([])         # the search page could not be read: access.page_failed says so
    search = site["search"]
    url = search.get("url") or site.get("base_url") or ""
    found = "form fields: " + ", ".join(c["name"] for c in search.get("controls", [])) \
        if search.get("controls") else ("a form with no fields" if search.get("form_found") else "no search form")
    return _rows([{"record_id": url, "npi": "", "provider_name": "", "field": f"search.{what}", "observed": found,
                   "expected": SEARCH_NEEDS[what], "detail": ""}
                  for what, how in (search.get("capabilities") or {}).items() if how is None and what in SEARCH_NEEDS])


def _disclosure(context: AuditContext) -> dict | None:
    site = _site(context)
    return site.get("disclosure") if site else None


@check(id="access.update_frequency_undisclosed", factor="T1.ii", severity="error",
       title="Update frequency not disclosed on the site",
       message="{record_id} does not say how often the directory is updated")
def update_frequency_undisclosed(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """The directory must disclose how often it is updated (OAR 836-053-0350). Reported when the
    profile's disclosure page has no statement where the profile points, the statement names no
    frequency we can read ('regularly'), or the page could not be read. Silent when the profile has
    no [disclosure]: nothing was looked for."""
    d = _disclosure(context)
    if not d:
        return _rows([])
    text = d.get("update_frequency")
    if text and frequency_days(text) is not None:
        return _rows([])
    observed = text or (d.get("error") or "no statement found")
    return _rows([{"record_id": d["url"], "npi": "", "provider_name": "", "field": "update_frequency",
                   "observed": observed, "expected": "a stated update frequency (e.g. 'updated weekly')",
                   "detail": ""}])


@check(id="access.update_frequency_too_rare", factor="T1.ii", severity="warning",
       title="Disclosed update frequency longer than the policy window",
       message="the site says {observed!r}, {expected}")
def update_frequency_too_rare(rows: pd.DataFrame, context: AuditContext, settings: Settings) -> pd.DataFrame:
    """The frequency the site states is less often than the policy's window (monthly for Oregon
    commercial and QHP directories, 30 days Medicaid, 90 days No Surprises Act verification)."""
    d = _disclosure(context)
    text = d.get("update_frequency") if d else None
    days = frequency_days(text) if text else None
    window = settings.verification_window_days
    if days is None or days <= window:
        return _rows([])
    return _rows([{"record_id": d["url"], "npi": "", "provider_name": "", "field": "update_frequency",
                   "observed": text, "expected": f"every {days} days is longer than the {window}-day window "
                   f"(policy {settings.policy})", "detail": ""}])


@check(id="access.site_last_updated_stale", factor="T1.ii", severity="warning",
       title="Site's last-updated date missing, unreadable or outside the window",
       message="the site's last-updated date {observed!r}: {expected}")
def site_last_updated_stale(rows: pd.DataFrame, context: AuditContext, as_of: pd.Timestamp,
                            settings: Settings) -> pd.DataFrame:
    """The date the site says the directory was last updated, where the profile points: reported
    when it is missing, is not a date, is after the audit date, or is older than the policy window."""
    from directory_audit.normalize import parse_dates
    d = _disclosure(context)
    if not d or not d.get("last_updated_expected"):
        return _rows([])
    text = d.get("last_updated")
    window = settings.verification_window_days
    if not text:
        expected = "a last-updated date on the page"
    else:
        date = parse_dates(pd.Series([text], dtype="object")).iloc[0]
        if pd.isna(date):
            expected = "a date such as 2026-10-01"
        else:
            age = (pd.Timestamp(as_of).normalize() - date).days
            if 0 <= age <= window:
                return _rows([])
            expected = (f"after the audit date {pd.Timestamp(as_of).date()}" if age < 0 else
                        f"{age} days before the audit date (window {window} days, policy {settings.policy})")
    return _rows([{"record_id": d["url"], "npi": "", "provider_name": "", "field": "last_updated",
                   "observed": text or "", "expected": expected, "detail": ""}])


@metric(id="access.disclosure", factor="T1.ii", title="Update frequency and last update, as the site states them")
def disclosure(rows: pd.DataFrame, context: AuditContext, as_of: pd.Timestamp, settings: Settings) -> dict | None:
    """The site's own statement of how often it is updated and when it last was, quoted with the page
    it was read from, the interval in days, and the age of the stated date at the audit date."""
    from directory_audit.normalize import parse_dates
    d = _disclosure(context)
    if not d:
        return None
    text, date_text = d.get("update_frequency"), d.get("last_updated")
    date = parse_dates(pd.Series([date_text], dtype="object")).iloc[0] if date_text else pd.NaT
    return {"page": d.get("url"), "update_frequency": text,
            "frequency_days": frequency_days(text) if text else None,
            "last_updated": date_text, "last_updated_date": None if pd.isna(date) else date.date().isoformat(),
            "age_days": None if pd.isna(date) else int((pd.Timestamp(as_of).normalize() - date).days),
            "window_days": settings.verification_window_days, "read_at": d.get("fetched_at"),
            "error": d.get("error")}


@metric(id="access.crawl", factor="T2.i", title="Directory website crawl")
def crawl(rows: pd.DataFrame, context: AuditContext) -> dict | None:
    """Pages read (and how many the cache served), search results seen, provider-locations built,
    pages that failed, and what the public search lets one narrow by."""
    site = _site(context)
    if not site:
        return None
    caps = (site.get("search") or {}).get("capabilities") or {}
    return {"site": site.get("name"), "base_url": site.get("base_url"), "pages_fetched": site.get("pages_fetched"),
            "pages_from_cache": site.get("pages_from_cache"), "pages_failed": site.get("pages_failed"),
            "cards": site.get("cards"), "provider_locations": site.get("rows"),
            "search_by": {k: v or "not found" for k, v in caps.items()}}

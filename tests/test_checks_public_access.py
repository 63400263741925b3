"""Public-access checks over what the website loader read: the update-frequency disclosure, the
site's last-updated date and the search form. (The checks reporting loader problems, login walls,
failed pages, robots, layout changes, fire in tests/test_loaders_site.py over loopback.)"""
from __future__ import annotations

import pandas as pd
import pytest

from checks import public_access as pa
from directory_audit import load_settings
from directory_audit.runner import AuditContext
from tests.conftest import table_of

AS_OF = pd.Timestamp("2026-11-01")
ABOUT = "https://find.example/about"


def context(disclosure=None, search=None, policy="nsa"):
    settings = load_settings(as_of="2026-11-01", policy=policy)
    site = {"name": "x", "base_url": "https://find.example/", "disclosure": disclosure, "search": search}
    return AuditContext(settings=settings, load_metadata={"site": site}), settings


def disclosure(freq="Updated weekly.", date="2026-10-20"):
    return {"url": ABOUT, "update_frequency": freq, "last_updated": date, "error": None,
            "last_updated_expected": True}


ROWS = table_of({})


@pytest.mark.parametrize("freq,fires", [
    ("Our directory is updated weekly.", False), ("Updated every 14 days", False), ("We update it monthly.", False),
    ("Updated regularly", True), (None, True), ("", True)])
def test_update_frequency_undisclosed(freq, fires):
    ctx, _ = context(disclosure(freq))
    out = pa.update_frequency_undisclosed(ROWS, ctx)
    assert len(out) == (1 if fires else 0)
    if fires:
        assert out.loc[0, "record_id"] == ABOUT and out.loc[0, "field"] == "update_frequency"


def test_update_frequency_undisclosed_when_the_page_failed():
    ctx, _ = context({"url": ABOUT, "update_frequency": None, "last_updated": None, "last_updated_expected": True,
                      "error": "disclosure page https://find.example/about answered HTTP 404"})
    out = pa.update_frequency_undisclosed(ROWS, ctx)
    assert out.loc[0, "observed"].endswith("HTTP 404")


@pytest.mark.parametrize("freq,policy,fires", [
    ("updated quarterly", "nsa", True), ("updated monthly", "nsa", False), ("updated monthly", "medicaid", True),
    ("updated weekly", "medicaid", False), ("updated regularly", "nsa", False)])
def test_update_frequency_too_rare(freq, policy, fires):
    ctx, settings = context(disclosure(freq), policy=policy)
    out = pa.update_frequency_too_rare(ROWS, ctx, settings)
    assert len(out) == (1 if fires else 0)


@pytest.mark.parametrize("date,fires,expected", [
    ("2026-10-20", False, None), ("October 1, 2026", False, None), ("2026-05-01", True, "184 days before"),
    ("2027-01-01", True, "after the audit date"), ("last spring", True, "a date such as"),
    (None, True, "a last-updated date on the page")])
def test_site_last_updated_stale(date, fires, expected):
    ctx, settings = context(disclosure(date=date))
    out = pa.site_last_updated_stale(ROWS, ctx, AS_OF, settings)
    assert len(out) == (1 if fires else 0)
    if fires:
        assert expected in out.loc[0, "expected"]


def test_disclosure_checks_are_silent_without_a_website():
    settings = load_settings(as_of="2026-11-01")
    ctx = AuditContext(settings=settings)
    assert pa.update_frequency_undisclosed(ROWS, ctx).empty
    assert pa.update_frequency_too_rare(ROWS, ctx, settings).empty
    assert pa.site_last_updated_stale(ROWS, ctx, AS_OF, settings).empty
    assert pa.search_filter_missing(ROWS, ctx).empty
    assert pa.disclosure(ROWS, ctx, AS_OF, settings) is None


def test_disclosure_checks_are_silent_when_the_profile_names_no_disclosure():
    ctx, settings = context(None)
    assert pa.update_frequency_undisclosed(ROWS, ctx).empty
    assert pa.site_last_updated_stale(ROWS, ctx, AS_OF, settings).empty


def test_disclosure_metric_quotes_the_statement_and_its_page():
    ctx, settings = context(disclosure())
    m = pa.disclosure(ROWS, ctx, AS_OF, settings)
    assert m["page"] == ABOUT and m["update_frequency"] == "Updated weekly."
    assert (m["frequency_days"], m["last_updated_date"], m["age_days"], m["window_days"]) == (7, "2026-10-20", 12, 90)


def test_search_filters_missing_are_reported_one_by_one():
    search = {"url": "https://find.example/search", "read": True, "form_found": True,
              "controls": [{"name": "zip", "text": "zip ZIP code"}],
              "capabilities": {"location": "form field 'zip'", "language": None, "accepting": None}}
    ctx, _ = context(search=search)
    out = pa.search_filter_missing(ROWS, ctx)
    assert out["field"].tolist() == ["search.language", "search.accepting"]
    assert set(out["observed"]) == {"form fields: zip"} and set(out["record_id"]) == {"https://find.example/search"}


def test_search_filter_silent_when_all_are_there_or_the_page_was_not_read():
    full = {"url": "u", "read": True, "controls": [], "capabilities": {"location": "x", "language": "y", "accepting": "z"}}
    assert pa.search_filter_missing(ROWS, context(search=full)[0]).empty
    unread = {"url": "u", "read": False, "controls": [], "capabilities": {"location": None, "language": None,
                                                                            "accepting": None}}
    assert pa.search_filter_missing(ROWS, context(search=unread)[0]).empty


def test_search_form_controls_are_read_by_name_label_and_options():
    from bs4 import BeautifulSoup
    from directory_audit.loaders.site.crawl import SEARCH_WORDS, form_controls
    doc = BeautifulSoup("""<form><label for="q1">Postal code</label><input id="q1" name="q1">
        <select name="f2"><option>Any</option><option>Spanish</option><option>Idioma: Vietnamese</option></select>
        <label><input type="checkbox" name="f3"> Open panel only</label><input type="hidden" name="lang"></form>""",
                        "lxml")
    controls = form_controls(doc, doc.form)
    assert [c["name"] for c in controls] == ["q1", "f2", "f3"]          # hidden inputs are not search fields
    found = {w: next((c["name"] for c in controls if rx.search(c["text"])), None) for w, rx in SEARCH_WORDS.items()}
    assert found == {"location": "q1", "language": "f2", "accepting": "f3"}

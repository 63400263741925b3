"""The website loader against a real threaded server on 127.0.0.1 serving the fixture directory site
(fixtures/site/www, built from fixtures/site/directory.csv), and offline over saved pages, a WARC
archive and the real CountyCare API scrape."""
from __future__ import annotations

import functools
import hashlib
import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from directory_audit import audit, load_settings
from directory_audit.cli import main
from directory_audit.errors import ConfigError, RobotsDisallowed
from tests.conftest import FIXTURES, REFERENCE
from tests.site_server import WWW, profile_with, serving

SITE = FIXTURES / "site"
PROFILE = SITE / "profile.toml"
AS_OF = "2026-11-01"


@functools.lru_cache(maxsize=None)
def csv_findings() -> Counter:
    """The findings of the site's CSV export, audited once for every comparison."""
    return findings_key(audit(str(SITE / "directory.csv"), load_settings(as_of=AS_OF)).findings)


def findings_key(findings: pd.DataFrame) -> Counter:
    """Findings without their record ids (a CSV row number vs a page URL): what was found, on which
    field, quoting which value, about whom."""
    return Counter(zip(findings["check_id"], findings["field"], findings["observed"], findings["provider_name"]))


def access(findings: pd.DataFrame) -> list[tuple[str, str, str]]:
    f = findings[findings["check_id"].str.startswith("access.")]
    return sorted(zip(f["check_id"], f["record_id"], f["observed"]))


@pytest.fixture(scope="module")
def server():
    with serving() as s:
        yield s


@pytest.fixture(scope="module")
def crawled(server, tmp_path_factory):
    """The whole fixture site crawled once over loopback through the CLI, then again from the cache."""
    tmp = tmp_path_factory.mktemp("crawl")
    args = [server.url, "--profile", str(PROFILE), "--as-of", AS_OF, "--cache", str(tmp / "cache"),
            "--fail-on", "never", "--quiet"]
    first = CliRunner().invoke(main, ["audit", *args, "--out", str(tmp / "first")])
    requests_after_first = len(server.requests)
    second = CliRunner().invoke(main, ["audit", *args, "--out", str(tmp / "second"), "--check", "access"])
    return {"tmp": tmp, "first": first, "second": second, "requests_after_first": requests_after_first,
            "requests_after_second": len(server.requests)}


def read_out(folder: Path) -> tuple[pd.DataFrame, dict]:
    findings = pd.read_csv(folder / "findings.csv", dtype=str, keep_default_na=False)
    return findings, json.loads((folder / "summary.json").read_text())


def test_fixture_site_over_loopback_finds_what_its_csv_export_finds(crawled):
    assert crawled["first"].exit_code == 0, crawled["first"].output
    site_findings, summary = read_out(crawled["tmp"] / "first")
    assert summary["rows_audited"] == 69 == sum(1 for _ in open(SITE / "directory.csv")) - 1
    # The site hides gender, NPI entity type, county, plan and network; no finding of this export
    # rests on them, so the two audits agree finding for finding.
    assert findings_key(site_findings) == csv_findings()
    assert len(site_findings) > 20
    assert site_findings["record_id"].str.match(r"http://127\.0\.0\.1:\d+/provider/p\d{3}\.html#location-\d+$").all()
    assert summary["site"]["pages_fetched"] == 61          # 7 listing pages, 53 detail pages, the about page
    assert summary["site"]["cards"] == 53


def test_crawl_identifies_itself_and_reads_robots_first(crawled, server):
    paths = server.paths()
    assert paths[0] == "/robots.txt"
    agents = {ua for _, ua in server.requests}
    assert all(ua.startswith("directory-audit/") and "+http" in ua for ua in agents)


def test_a_rerun_is_served_from_the_cache(crawled):
    assert crawled["second"].exit_code == 0, crawled["second"].output
    assert crawled["requests_after_second"] == crawled["requests_after_first"]   # no request reached the server
    _, first = read_out(crawled["tmp"] / "first")
    _, second = read_out(crawled["tmp"] / "second")
    assert second["site"]["pages_from_cache"] == second["site"]["pages_fetched"] == 61
    assert first["input_checksum"] == second["input_checksum"]          # the same pages, byte for byte
    assert second["rows_audited"] == first["rows_audited"]


def test_refresh_fetches_again(server, tmp_path):
    profile = profile_with(tmp_path, "/cases/small/page-1.html")
    settings = load_settings(as_of=AS_OF, site_profile=profile, http_cache_dir=tmp_path / "cache",
                             selected_checks=("access",))
    audit(server.url, settings)
    before = len(server.requests)
    audit(server.url, settings)
    assert len(server.requests) == before
    audit(server.url, settings.with_(http_refresh=True))
    assert len(server.requests) > before


def test_every_page_is_archived_as_warc_beside_the_findings(crawled):
    from warcio.archiveiterator import ArchiveIterator
    out = crawled["tmp"] / "first"
    _, summary = read_out(out)
    warc = out / "archive.warc.gz"
    assert summary["archive"]["sha256"] == "sha256:" + hashlib.sha256(warc.read_bytes()).hexdigest()
    with open(warc, "rb") as fh:
        records = [(r.rec_headers.get_header("WARC-Target-URI"), r.http_headers.get_statuscode(),
                    r.rec_headers.get_header("WARC-Date"), r.rec_headers.get_header("DA-Payload-SHA256"),
                    r.content_stream().read()) for r in ArchiveIterator(fh) if r.rec_type == "response"]
    assert len(records) == summary["archive"]["records"] == 62          # robots.txt and the 61 pages
    assert records[0][0].endswith("/robots.txt") and b"Disallow: /staff/" in records[0][4]
    about = next(r for r in records if r[0].endswith("/about.html"))
    assert about[1] == "200" and about[2].startswith("20")
    assert about[3] == hashlib.sha256((WWW / "about.html").read_bytes()).hexdigest()
    assert about[4] == (WWW / "about.html").read_bytes()


def test_the_archive_replays_offline_to_the_same_findings(crawled):
    out = crawled["tmp"] / "first"
    live, _ = read_out(out)
    replay = audit(str(out / "archive.warc.gz"), load_settings(as_of=AS_OF, site_profile=PROFILE))
    assert findings_key(replay.findings) == findings_key(live)


def test_json_search_api_paged_by_parameter_finds_what_the_csv_finds(server):
    before = len(server.requests)
    result = audit(server.url, load_settings(as_of=AS_OF, site_profile=SITE / "profile-json.toml"))
    assert findings_key(result.findings) == csv_findings()
    asked = [p for p in server.paths()[before:] if p.startswith("/api/")]
    assert asked == [f"/api/providers?page={n}" for n in range(1, 6)]     # page 5 is empty: the end
    assert result.table["record_id"].iloc[0] == server.url + "api/providers?page=1#card-1"


def test_saved_folder_of_pages_reads_like_the_site():
    result = audit(str(WWW), load_settings(as_of=AS_OF, site_profile=PROFILE))
    assert findings_key(result.findings) == csv_findings()


def test_disclosure_is_read_quoted_and_silent_when_within_the_window(crawled):
    _, summary = read_out(crawled["tmp"] / "first")
    d = summary["factor_items"]["T1.ii"]["metrics"]["access.disclosure"]["value"]
    assert d["update_frequency"] == "Our provider directory is updated weekly, from information providers send us."
    assert d["frequency_days"] == 7 and d["last_updated_date"] == "2026-10-28" and d["age_days"] == 4
    assert d["page"].endswith("/about.html")
    report = (crawled["tmp"] / "first" / "report.md").read_text()
    assert "updated weekly" in report and "/about.html" in report
    search = summary["site"]["search"]["capabilities"]
    assert search == {"location": "form field 'zip'", "language": "form field 'lang'",
                      "accepting": "form field 'new_patients'"}


# --- failure cases, each over loopback ---------------------------------------------------------------

def crawl(server, tmp_path, start: str, **settings):
    """Audit the fixture site from another start page, running only the access checks (the failure
    cases are about what the loader met; the other families are covered by the full crawl above)."""
    profile = profile_with(tmp_path, start)
    return audit(server.url, load_settings(as_of=AS_OF, site_profile=profile, selected_checks=("access",),
                                           **settings))


def test_429_with_retry_after_is_waited_for(server, tmp_path):
    result = crawl(server, tmp_path, "/busy/cases/small/page-1.html")
    assert server.hits["/busy/cases/small/page-1.html"] == 2
    assert access(result.findings) == []
    assert result.summary["site"]["cards"] == 2 and result.summary["rows_audited"] >= 2


def test_500_then_200_is_retried(server, tmp_path):
    result = crawl(server, tmp_path, "/flaky/cases/small/page-1.html")
    assert server.hits["/flaky/cases/small/page-1.html"] == 2
    assert access(result.findings) == []


def test_a_page_failing_after_retries_is_a_finding(server, tmp_path):
    result = crawl(server, tmp_path, "/down/cases/small/page-1.html")
    assert server.hits["/down/cases/small/page-1.html"] == 5          # the first try and 4 retries
    assert access(result.findings) == [("access.page_failed", server.url + "down/cases/small/page-1.html", "HTTP 500")]
    assert result.summary["rows_audited"] == 0


@pytest.mark.parametrize("prefix,observed", [
    ("secure", "redirected to {url}login.html?next=/cases/small/page-1.html"),
    ("private", "HTTP 401"), ("forbidden", "HTTP 403")])
def test_a_login_wall_means_the_directory_is_not_public(server, tmp_path, prefix, observed):
    result = crawl(server, tmp_path, f"/{prefix}/cases/small/page-1.html")
    f = result.findings[result.findings["check_id"] == "access.login_required"]
    assert f[["record_id", "observed", "factor_item", "severity"]].values.tolist() == [
        [server.url + f"{prefix}/cases/small/page-1.html", observed.format(url=server.url), "T1.i", "error"]]


def test_a_sign_in_form_instead_of_results_is_a_login_wall(server, tmp_path):
    result = crawl(server, tmp_path, "/login.html")
    assert access(result.findings) == [("access.login_required", server.url + "login.html",
                                        "a password form, no results")]


def test_robots_refusing_the_start_url_stops_the_audit_with_exit_2(server, tmp_path):
    profile = profile_with(tmp_path, "/staff/p900.html")
    before = len(server.requests)
    with pytest.raises(RobotsDisallowed):
        audit(server.url, load_settings(as_of=AS_OF, site_profile=profile))
    assert "/staff/p900.html" not in server.paths()[before:]
    run = CliRunner().invoke(main, ["audit", server.url, "--profile", str(profile), "--out", str(tmp_path / "o"),
                                    "--quiet"])
    assert run.exit_code == 2 and "robots.txt" in run.output


def test_robots_refusing_a_detail_page_is_a_finding_and_nothing_is_fetched(server, tmp_path):
    result = crawl(server, tmp_path, "/cases/robots/page-1.html")
    assert "/staff/p900.html" not in server.paths()
    assert access(result.findings) == [
        ("access.card_incomplete", server.url + "cases/robots/page-1.html#card-1", ""),
        ("access.robots_disallowed", server.url + "staff/p900.html", "disallowed by robots.txt")]
    # the card's own values are kept, but without an address it is not a record
    assert result.summary["rows_audited"] == 0


def test_a_pagination_loop_is_detected(server, tmp_path):
    result = crawl(server, tmp_path, "/cases/loop/page-1.html")
    url = server.url + "cases/loop/page-1.html"
    assert access(result.findings) == [("access.pagination_loop", url, url)]
    assert result.summary["site"]["cards"] == 4


def test_zero_cards_means_the_layout_changed(server, tmp_path):
    result = crawl(server, tmp_path, "/cases/redesign/page-1.html")
    assert access(result.findings) == [("access.layout_changed", server.url + "cases/redesign/page-1.html", "0 cards")]


def test_broken_html_keeps_what_can_be_read(server, tmp_path):
    result = crawl(server, tmp_path, "/cases/broken/page-1.html")
    assert result.summary["site"]["cards"] >= 2
    assert result.summary["rows_audited"] >= 2
    runs = {r.check_id: r.status for r in result.check_runs}
    assert "error" not in runs.values()


def test_results_missing_a_required_field_are_findings_not_rows(server, tmp_path):
    result = crawl(server, tmp_path, "/cases/incomplete/page-1.html")
    got = sorted((r, f) for c, r, f in zip(result.findings["check_id"], result.findings["record_id"],
                                             result.findings["field"]) if c == "access.card_incomplete")
    assert got == [(server.url + "cases/incomplete/p001.html#location-2", "address"),
                   (server.url + "cases/incomplete/page-1.html#card-2", "address")]
    assert result.table["record_id"].tolist() == [server.url + "cases/incomplete/p001.html#location-1"]


def test_the_page_cap_stops_the_crawl_with_a_finding(server, tmp_path):
    result = crawl(server, tmp_path, "/providers/page-1.html", max_pages=5)
    # five directory pages (one listing page, four detail pages), then the about page, read regardless
    assert result.summary["site"]["pages_fetched"] == 6
    assert result.summary["site"]["cards"] == 8 and result.summary["rows_audited"] < 8
    assert "access.crawl_truncated" in set(result.findings["check_id"])


def test_one_saved_listing_page_reads_its_cards_alone():
    """A single saved page: its results are read from the cards (no detail page was saved); without
    an address a result is reported, not audited."""
    page = WWW / "providers" / "page-1.html"
    result = audit(str(page), load_settings(as_of=AS_OF, site_profile=PROFILE, selected_checks=("access",)))
    s = result.summary["site"]
    assert (s["pages_fetched"], s["cards"], result.summary["rows_audited"]) == (1, 8, 0)
    f = result.findings
    incomplete = f[f["check_id"] == "access.card_incomplete"]
    assert incomplete["record_id"].tolist() == [f"page-1.html#card-{n}" for n in range(1, 9)]
    assert not f["check_id"].isin(["access.page_failed", "access.layout_changed"]).any()
    assert s["disclosure"] is None                               # the about page was not saved: not judged
    assert all(s["search"]["capabilities"].values())             # the page's own search form is read


# --- offline: the real CountyCare scrape through the shipped json profile ----------------------------

def test_countycare_saved_api_response_audits_offline():
    source = REFERENCE / "real" / "countycare" / "provider_scrape_test.json"
    root = Path(__file__).resolve().parents[1]
    settings = load_settings(root / "profiles" / "countycare.settings.toml", as_of="2024-03-01",
                             site_profile=root / "profiles" / "countycare.toml",
                             selected_checks=("update", "access", "duplicate.exact_row"))
    result = audit(str(source), settings)
    t = result.table
    assert result.summary["rows_read"] == 2773 and result.summary["format"] == "site"   # split listings fold
    assert t["last_updated"].notna().all()                       # epoch milliseconds parsed
    assert t["last_updated"].min() >= pd.Timestamp("2020-01-01")
    # 1,450 rows carry a first name; 5 of them fold with their repeats per search category (2,741 rows)
    assert (t["provider_type"] == "individual").sum() == 1445
    assert t.loc[t["provider_type"] == "facility", "facility_name"].notna().all()
    assert t["record_id"].iloc[0] == "provider_scrape_test.json#card-1"
    counts = result.summary["findings_by_check"]
    assert counts["update.last_updated_unparseable"] == 0
    assert counts["duplicate.exact_row"] > 0                     # the same record returned by several searches
    assert counts["access.search_filter_missing"] == 2           # no language or accepting search


def test_expect_cards_false_lets_an_empty_first_page_pass(tmp_path):
    """A search that may rightly show nothing (a saved page of a rural ZIP with no dermatologists)."""
    profile = profile_with(tmp_path, "/cases/redesign/page-1.html")
    profile.write_text(profile.read_text().replace('required = ["address"]', 'required = ["address"]\nexpect_cards = false'))
    settings = load_settings(as_of=AS_OF, site_profile=profile, selected_checks=("access",))
    quiet = audit(str(WWW), settings)
    assert access(quiet.findings) == []
    profile.write_text(profile.read_text().replace("expect_cards = false", "expect_cards = true"))
    loud = audit(str(WWW), settings)
    assert [c for c, _, _ in access(loud.findings)] == ["access.layout_changed"]

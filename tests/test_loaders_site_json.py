"""The website loader's json mode on a linked JSON API (``fixtures/site/www/api/v2/``, built by
make_site.py from the same CSV export as the HTML site): listing pages that name the next page in a
JMESPath (``next = "links.next"``), cards that link JSON detail pages, detail pages listing every
practice location. Served by the real threaded server on 127.0.0.1 (tests/site_server.py), and read
offline from the saved folder and from the crawl's WARC archive."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from directory_audit import audit, load_settings
from directory_audit.errors import ConfigError
from directory_audit.loaders.site.profile import load_profile
from tests.site_server import WWW, serving
from tests.test_loaders_site import AS_OF, SITE, access, csv_findings, findings_key

LINKED = SITE / "profile-json-linked.toml"
LISTING_PAGES = 7                 # 53 providers, 8 a page
PROVIDERS = 53


@pytest.fixture(scope="module")
def server():
    with serving() as s:
        yield s


def linked_profile(tmp: Path, start: str) -> Path:
    text = LINKED.read_text(encoding="utf-8").replace('start_urls = ["/api/v2/providers-1.json"]',
                                                      f'start_urls = ["{start}"]')
    out = tmp / (start.strip("/").replace("/", "-") + ".toml")
    out.write_text(text, encoding="utf-8")
    return out


def test_linked_json_api_with_next_links_and_detail_pages_finds_what_the_csv_finds(server, tmp_path):
    before = len(server.requests)
    result = audit(server.url, load_settings(as_of=AS_OF, site_profile=LINKED, archive_dir=tmp_path))
    assert findings_key(result.findings) == csv_findings()
    assert result.summary["rows_audited"] == 69
    asked = [p for p in server.paths()[before:] if p.startswith("/api/")]
    listing = [p for p in asked if "/providers-" in p]
    details = [p for p in asked if "/provider/" in p]
    # the next links are followed in order and the last page's null ends the walk (no page 8 asked)
    assert listing == [f"/api/v2/providers-{n}.json" for n in range(1, LISTING_PAGES + 1)]
    assert sorted(details) == [f"/api/v2/provider/p{n:03d}.json" for n in range(1, PROVIDERS + 1)]
    site = result.summary["site"]
    assert (site["pages_fetched"], site["cards"]) == (LISTING_PAGES + PROVIDERS, PROVIDERS)
    # one provider-location per entry of the detail page's locations list, named by the page it came from
    ids = result.table["record_id"]
    assert ids.str.match(r"http://127\.0\.0\.1:\d+/api/v2/provider/p\d{3}\.json#location-\d+$").all()
    first = json.loads((WWW / "api" / "v2" / "provider" / "p001.json").read_text())["provider"]
    rows = result.table[ids.str.contains("/p001.json#")]
    assert len(rows) == len(first["locations"])
    assert list(rows["address_line1"]) == [loc["address"]["line1"] for loc in first["locations"]]
    assert set(rows["last_name"]) == {first["name"]["last"]}      # detail fields reach every location
    # the WARC the crawl wrote replays offline to the same findings
    replay = audit(str(tmp_path / "archive.warc.gz"), load_settings(as_of=AS_OF, site_profile=LINKED))
    assert findings_key(replay.findings) == findings_key(result.findings)


def test_saved_folder_of_json_pages_reads_like_the_api():
    result = audit(str(WWW), load_settings(as_of=AS_OF, site_profile=LINKED))
    assert findings_key(result.findings) == csv_findings()
    assert result.table["record_id"].iloc[0] == "http://saved.invalid/api/v2/provider/p001.json#location-1"


def test_a_json_next_link_back_to_an_earlier_page_is_a_pagination_loop(server, tmp_path):
    result = audit(server.url, load_settings(as_of=AS_OF, site_profile=linked_profile(tmp_path,
                                                                                       "/api/v2/cases/loop-1.json")))
    loop = server.url + "api/v2/cases/loop-1.json"
    assert access(result.findings) == [("access.pagination_loop", loop, loop)]
    # what the two pages listed is still audited: p001's two locations and p002's one
    assert sorted(result.table["record_id"].str.extract(r"/(p\d{3})\.json", expand=False)) == ["p001", "p001", "p002"]


def test_unreadable_and_unmatched_json_detail_pages_are_findings_and_cards_are_kept(server, tmp_path):
    result = audit(server.url, load_settings(as_of=AS_OF, site_profile=linked_profile(tmp_path,
                                                                                       "/api/v2/cases/broken-1.json")))
    got = access(result.findings)
    cut, other = server.url + "api/v2/cases/cut.json", server.url + "api/v2/cases/other-version.json"
    changed = {r: o for c, r, o in got if c == "access.layout_changed"}
    assert set(changed) == {cut, other}
    assert changed[cut].startswith("not JSON:") and "byte offset" in changed[cut]
    assert changed[other] == "no match"                 # no 'provider' object: another API version
    # the cards' own values are kept; they carry no address, which the profile requires: a finding each
    page = server.url + "api/v2/cases/broken-1.json"
    assert [(c, r) for c, r, _ in got if c == "access.card_incomplete"] == \
        [("access.card_incomplete", f"{page}#card-1"), ("access.card_incomplete", f"{page}#card-2")]
    assert result.summary["rows_audited"] == 0


def test_a_json_profile_names_the_key_of_a_bad_next_or_detail_path(tmp_path):
    for key, bad in (("next", "links.[next"), ("detail", "links.detail)")):
        text = LINKED.read_text(encoding="utf-8").replace(f'{key} = "links.{key}"', f'{key} = "{bad}"', 1)
        path = tmp_path / f"bad-{key}.toml"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as err:
            load_profile(path)
        assert f"listing.{key}" in str(err.value) and "not a JMESPath expression" in str(err.value)
    # a json field table takes path, not css (nor attr: JSON has no attributes)
    text = LINKED.read_text(encoding="utf-8").replace('npi = "npi"', 'npi = { css = "npi" }', 1)
    path = tmp_path / "css.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_profile(path)
    assert "listing.fields.npi" in str(err.value) and "['css']" in str(err.value)

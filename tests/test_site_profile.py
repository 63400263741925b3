"""Site profiles: every mistake is exit 2 naming the key; field specs; the column steps of extraction
(regex, split, one-line addresses, card/detail/location precedence)."""
from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from directory_audit.cli import main
from directory_audit.errors import ConfigError
from directory_audit.loaders.site.extract import finish, merge_levels
from directory_audit.loaders.site.profile import load_profile
from tests.conftest import FIXTURES

BASE = """
[site]
name = "t"
start_urls = ["/search"]
[listing]
kind = "{kind}"
card = "{card}"
[listing.fields]
{fields}
"""


def write(tmp_path, text: str):
    p = tmp_path / "p.toml"
    p.write_text(text, encoding="utf-8")
    return p


def profile(tmp_path, fields='name = "h3"', kind="html", card="div.card", extra=""):
    return write(tmp_path, BASE.format(kind=kind, card=card, fields=fields) + extra)


@pytest.mark.parametrize("fields,kind,card,extra,names", [
    ('nmae = "h3"', "html", "div.card", "", ["[listing.fields] 'nmae'", "unknown field"]),
    ('name = "h3[class"', "html", "div.card", "", ["listing.fields.name", "not a CSS selector"]),
    ('name = "h3"', "html", "div..card", "", ["listing.card", "not a CSS selector"]),
    ('name = "providers[?"', "json", "*[]", "", ["listing.fields.name", "not a JMESPath expression"]),
    ('name = { css = "h3", regex = "(" }', "html", "div.card", "", ["listing.fields.name.regex"]),
    ('name = { css = "h3", path = "x" }', "html", "div.card", "", ["listing.fields.name", "unknown key(s) ['path']"]),
    ('name = "h3"', "xml", "div.card", "", ["[listing] kind", "'xml'"]),
    ('name = "h3"', "html", "div.card", "[sitemap]\nurl = 1\n", ["unknown section(s) ['sitemap']"]),
    ('name = "h3"', "html", "div.card", '[disclosure]\nupdate_frequency = "p"\n', ["[disclosure] url is missing"]),
    ('name = "h3"', "html", "div.card", '[detail]\nroot = "article"\n', ["[detail] is given but [listing] detail"]),
])
def test_profile_mistakes_name_the_key(tmp_path, fields, kind, card, extra, names):
    path = profile(tmp_path, fields, kind, card, extra)
    with pytest.raises(ConfigError) as err:
        load_profile(path)
    for n in names:
        assert n in str(err.value)
    assert str(path) in str(err.value)


def test_a_bad_profile_exits_2_before_anything_is_fetched(tmp_path):
    path = profile(tmp_path, 'nmae = "h3"')
    run = CliRunner().invoke(main, ["audit", "http://127.0.0.1:9/", "--profile", str(path), "--out",
                                    str(tmp_path / "o"), "--quiet"])
    assert run.exit_code == 2
    assert "'nmae': unknown field" in run.output


def test_selector_forms(tmp_path):
    p = load_profile(profile(tmp_path, 'name = "h3 a"\nnpi = "a.x@data-npi"\n'
                                       'languages = { css = "p", regex = "L:\\\\s*(.*)", split = "," }'))
    f = p.listing.fields
    assert (f["name"].path, f["name"].attr) == ("h3 a", None)
    assert (f["npi"].path, f["npi"].attr) == ("a.x", "data-npi")
    assert f["languages"].regex.pattern == r"L:\s*(.*)" and f["languages"].split == ","
    assert p.requests_per_second == 1.0 and p.concurrency == 2 and p.max_pages == 10000   # politeness defaults


def test_json_paths_keep_at_signs(tmp_path):
    p = load_profile(profile(tmp_path, 'name = "@.providerName"', kind="json", card="results"))
    assert p.listing.fields["name"].path == "@.providerName" and p.listing.fields["name"].attr is None


def test_shipped_profiles_load():
    root = FIXTURES.parent
    for path in [root / "profiles" / "countycare.toml", FIXTURES / "site" / "profile.toml"]:
        assert load_profile(path).listing.fields


def test_regex_keeps_the_first_group_and_split_rejoins(tmp_path):
    p = load_profile(profile(tmp_path, 'languages = { css = "p", regex = "Languages:\\\\s*(.*)", split = "," }\n'
                                       'phone = { css = "p", regex = "\\\\d{3}-\\\\d{4}" }'))
    frame = pd.DataFrame({"languages": ["Languages: English, Spanish ,Tagalog", "Speaks: French", None],
                          "phone": ["Call 555-1234 today", "none", None]})
    out = finish(frame, p.listing.fields)
    assert out["languages"].tolist() == ["English; Spanish; Tagalog", None, None]
    assert out["phone"].tolist() == ["555-1234", None, None]


def test_one_line_addresses_split_into_their_parts(tmp_path):
    p = load_profile(profile(tmp_path, 'address = "p.addr"'))
    frame = pd.DataFrame({"address": ["1594 Pacific Blvd SE, Suite 4B, Albany, OR 97322",
                                      "2801 N Gantenbein Ave Portland OR 97227", "somewhere", None]})
    out = finish(frame, p.listing.fields)
    assert out.loc[0, ["address_line1", "address_line2", "city", "state", "zip"]].tolist() == \
        ["1594 Pacific Blvd SE", "Suite 4B", "Albany", "OR", "97322"]
    assert out.loc[1, ["address_line1", "city", "state", "zip"]].tolist() == \
        ["2801 N Gantenbein Ave", "Portland", "OR", "97227"]
    assert out.loc[2, "address_line1"] == "somewhere"          # kept whole: normalize and the checks see it
    assert out.loc[3, "address_line1"] is None and "address" not in out


def test_location_beats_detail_beats_card_and_cards_without_detail_keep_theirs():
    cards = pd.DataFrame({"name": ["Card A", "Card B"], "phone": ["111", "222"], "_page": "p", "_position": [1, 2]})
    details = pd.DataFrame({"name": ["Detail A"], "phone": [None], "_detail": ["d"]}, index=[0])
    locations = pd.DataFrame({"phone": ["333", None], "card": [0, 0], "_location": [1, 2]})
    out = merge_levels(cards, details, locations)
    assert out[["card", "name", "phone"]].values.tolist() == [
        [0, "Detail A", "333"], [0, "Detail A", "111"], [1, "Card B", "222"]]

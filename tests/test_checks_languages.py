"""Language-fluency checks (T2.iv) and the language metrics."""
from __future__ import annotations

import pytest

from directory_audit import flatten
from directory_audit.registry import METRICS, load_catalogue
from tests.test_checks_locations import findings, table

FACILITY = {"provider_type": "Facility", "first_name": None, "last_name": None, "facility_name": "Hospital",
            "npi": "1003000126"}

FIRES = [
    ("language.missing", [{"languages": None}, {"languages": "Spanish", "npi": None, "first_name": "Ana"}], [("t.csv:2", "")]),
    ("language.none_published", [{"languages": None}, {"languages": None, "zip": "97205"}], [("t.csv", "")]),
    ("language.missing", [{"languages": None}, {"languages": None, "zip": "97205"}, {"languages": "Spanish", "npi": None, "first_name": "Ana"}], [("t.csv:2", ""), ("t.csv:3", "")]),
    ("language.not_a_language", [{"languages": "N/A"}], [("t.csv:2", "N/A")]),
    ("language.not_a_language", [{"languages": "Yes"}], [("t.csv:2", "Yes")]),
    ("language.not_a_language", [{"languages": "Elvish"}], [("t.csv:2", "Elvish")]),
    ("language.not_a_language", [{"languages": "English; Elvish; none"}], [("t.csv:2", "Elvish"), ("t.csv:2", "none")]),
    ("language.ambiguous", [{"languages": "Chinese"}], [("t.csv:2", "Chinese")]),
    ("language.ambiguous", [{"languages": "English; Chinese"}], [("t.csv:2", "English; Chinese")]),
    ("language.ambiguous", [{"languages": "zh"}], [("t.csv:2", "zh")]),
    ("language.ambiguous", [{"languages": "Sign Language"}], [("t.csv:2", "Sign Language")]),
    ("language.ambiguous", [{"languages": "Creole"}], [("t.csv:2", "Creole")]),
    ("language.ambiguous", [{"languages": "Chinese, Sign language"}],
     [("t.csv:2", "Chinese, Sign language"), ("t.csv:2", "Chinese, Sign language")]),
]


@pytest.mark.parametrize("check_id,rows,expected", FIRES, ids=[f"{c[0]}-{i}" for i, c in enumerate(FIRES)])
def test_check_fires(check_id, rows, expected):
    assert flatten(findings(check_id, *rows), ["record_id", "observed"]) == expected


SILENT = [
    ("language.missing", [{"languages": "English"}]),
    ("language.missing", [{"languages": None}, {"languages": None, "zip": "97205"}]),   # none published: one source finding
    ("language.none_published", [{"languages": None}, {"languages": "Spanish", "npi": None, "first_name": "Ana"}]),
    ("language.none_published", [FACILITY | {"languages": None}]),                  # nobody needs one
    ("language.missing", [FACILITY | {"languages": None}]),                         # facilities exempt
    # One provider with languages on one row of two is not missing them.
    ("language.missing", [{"languages": "Spanish"}, {"languages": None, "zip": "97205"}]),
    ("language.missing", [{"languages": "Yes"}]),                                   # a value, just not a language
] + [("language.not_a_language", [{"languages": v}]) for v in (
    "Spanish", "spa", "es", "Español", "ESPANOL", "English and Spanish", "English/Spanish", "Vietnamese; Russian",
    "ASL", "American Sign Language", "Chinese (Mandarin)", "Mandarin Chinese", "zh-Hant", "Tagalog", "Farsi",
    "Haitian Creole", "Somali", "Hmong", "Chuukese", "Ukrainian", "Tiếng Việt",
)] + [("language.ambiguous", [{"languages": v}]) for v in (
    "Mandarin", "Cantonese", "Chinese (Cantonese)", "Chinese; Mandarin", "Chinese-Mandarin", "ASL",
    "Sign language; ASL", "Haitian Creole", "Creole; Haitian Creole", "Arabic", "Farsi", "Spanish",
)]


@pytest.mark.parametrize("check_id,rows", SILENT, ids=[f"{c[0]}-{i}" for i, c in enumerate(SILENT)])
def test_check_stays_silent(check_id, rows):
    assert flatten(findings(check_id, *rows), ["record_id", "observed"]) == []


def test_ambiguous_says_what_would_resolve_it():
    out = findings("language.ambiguous", {"languages": "Chinese"})
    assert out["message"].iloc[0] == "languages 'Chinese' do not say Mandarin, Cantonese or another Chinese language"
    assert out["severity"].iloc[0] == "info"


ROWS = [
    # npi, languages, accepting, location
    {"npi": "1234567893", "languages": "English; Spanish", "accepting_status": "Yes"},
    {"npi": "1234567893", "languages": "English; Español", "accepting_status": "No", "zip": "97205"},
    {"npi": "1245319599", "languages": "Spanish, Vietnamese", "accepting_status": "No",
     "city": "Vancouver", "state": "WA", "zip": "98660"},
    {"npi": "1003000126", "languages": "English", "accepting_status": "Yes"},
    {"npi": "1023456780", "languages": None, "accepting_status": "Yes"},
    FACILITY | {"npi": "1538142773", "languages": "Russian"},
]


def _metric(metric_id):
    return METRICS[metric_id].func(table(*ROWS))


def test_disclosure_share_counts_individual_providers():
    assert _metric("language.disclosure_share") == {"providers": 4, "with_any_language": 3, "with_non_english": 2,
                                                     "share_non_english": 0.5}


def test_providers_per_language_with_accepting():
    assert _metric("language.providers_per_language") == {
        "es": {"name": "Spanish", "providers": 2, "accepting": 1},
        "vi": {"name": "Vietnamese", "providers": 1, "accepting": 0},
    }


def test_languages_by_county():
    assert _metric("language.by_county") == {"OR:Multnomah": {"es": 1}, "WA:Clark": {"es": 1, "vi": 1}}


def test_languages_without_an_accepting_provider():
    assert _metric("language.without_accepting") == ["vi"]


def test_checks_are_listed_with_their_factor_item():
    cat = load_catalogue()
    assert {k: (cat[k].factor, cat[k].severity.value) for k in cat if k.startswith("language.")} == {
        "language.missing": ("T2.iv", "warning"), "language.not_a_language": ("T2.iv", "error"),
        "language.none_published": ("T2.iv", "error"),
        "language.ambiguous": ("T2.iv", "info")}

"""The placeholder, ghost-pattern and source-gap checks on the real directories in
../shared/reference/, each audited end to end as a user would (the NPPES extracts read directly, with
no mapping file). Every finding of these checks was read by hand; its classification is written
beside the pinned count. Other checks are bounded by today's count (their owners are cutting false
positives: a count may fall, never rise unnoticed).

Noise: on these real files, warnings and errors from the checks here with nothing to find stay at 0;
every one pinned below is a real defect, or a real date reported by rule (see each note).

Sources:
* the Georgia dental QHP file (2016, 16 providers, 54 locations): a clean file;
* the NPPES practitioner extract (Connecticut, 2,000 rows, December 2018) and organization extract;
* the CountyCare scrape (an Illinois Medicaid plan, 2,773 records, 2024), read through the shipped
  json site profile (``profiles/countycare.toml``), its ``updateDate`` in epoch milliseconds.
"""
from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

import pandas as pd
import pytest

from directory_audit import audit, load_settings

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"
GA = REFERENCE / "real" / "qhp_ga_dental" / "providers.json"
NPPES_PRACTITIONERS = REFERENCE / "nppes" / "nppes-practitioner-sample-ct-2018.csv"
NPPES_ORGANIZATIONS = REFERENCE / "nppes" / "nppes-organization-sample-ct.csv"
COUNTYCARE = REFERENCE / "real" / "countycare" / "provider_scrape_test.json"

#: The checks this file pins exactly.
PINNED_FAMILIES = ("placeholder.", "ghost.")
PINNED_IDS = ("language.none_published", "open_practice.none_published", "update.none_published",
              "language.missing", "open_practice.flag_missing", "update.last_updated_missing", "update.stale",
              "location.phone_invalid", "location.zip_unknown", "location.provider_many_locations")


def pinned(check_id: str) -> bool:
    return check_id.startswith(PINNED_FAMILIES) or check_id in PINNED_IDS


@functools.lru_cache(maxsize=None)
def audited(source: str, as_of: str, state: str):
    settings = load_settings(as_of=as_of, service_area_states=(state,), service_area_counties=())
    result = audit(source, settings)
    assert all(r.status in ("ok", "skipped") for r in result.check_runs), \
        [r.error for r in result.check_runs if r.status == "error"]
    return result


def counts(result) -> dict[str, int]:
    return {k: v for k, v in result.summary["findings_by_check"].items() if v}


def records(result, check_id: str) -> list[str]:
    f = result.findings
    return sorted(f.loc[f["check_id"] == check_id, "record_id"], key=lambda r: (len(r), r))


def assert_pinned(result, expected: dict[str, int], bounded: dict[str, int]) -> None:
    got = counts(result)
    assert {k: v for k, v in got.items() if pinned(k)} == expected
    over = {k: (v, bounded.get(k, 0)) for k, v in got.items() if not pinned(k) and v > bounded.get(k, 0)}
    assert not over, f"more findings than before (count, bound): {over}"


# --- Georgia dental QHP ---------------------------------------------------------------------------

@pytest.mark.skipif(not GA.exists(), reason="shared reference not present")
def test_georgia_dental_qhp_file_is_clean():
    result = audited(str(GA), "2016-12-01", "GA")
    # Nothing from the placeholder, ghost or source-gap checks: the file has phones, dates, languages
    # and accepting flags throughout. Bounded: identifier.npi_missing 7 (real: Jeffrey R Prinsell and
    # Michael M Demo's six locations carry no NPI) and update.generation_stamp 1 (real: all 54
    # locations carry the file's generation date, 2016-09-30).
    assert_pinned(result, {}, {"identifier.npi_missing": 7, "update.generation_stamp": 1})
    assert result.summary["fixlist"]["providers"] == 2


# --- NPPES extracts, read directly ------------------------------------------------------------------

#: Practice locations that are homes, every one read by hand.
NPPES_RESIDENTIAL = {
    "207": "4 Riverhurst Rd Apt 203, Billerica MA: an apartment (with a Florida cell phone)",
    "240": "2 Hawthorne Pl Unit 5L, Boston: a residential condominium tower, one provider",
    "718": "224 Park St Apt C5: an apartment",
    "1053": "68 Upson Ave Apt B6: an apartment",
    "1521": "100 Memorial Dr Apt 5-20B, Cambridge: an apartment building",
}


@pytest.mark.skipif(not NPPES_PRACTITIONERS.exists(), reason="shared reference not present")
def test_nppes_practitioners_read_directly():
    result = audited(str(NPPES_PRACTITIONERS), "2019-01-01", "CT")
    assert result.summary["rows_audited"] == 2000
    assert_pinned(result, {
        # NPPES has no languages and no accepting flags at all: one finding each, about the directory
        "language.none_published": 1, "open_practice.none_published": 1,
        # 'Last Update Date' runs from 2007-07-08 to 2018-11-07, none a sentinel such as 1900-01-01. The 1,508
        # dated 2007-2013 (389 of them 07/08/2007, NPPES's bulk load) are real dates of records untouched
        # since before any directory update rule: placeholders by the rule (earliest_date 2014-01-01), and
        # not again as stale. The 482 from 2014-2018 are more than 90 days before 2019-01-01: stale, correctly.
        "placeholder.last_updated": 1508,
        "update.stale": 482,
        # the four invalid numbers pinned in test_real_nppes_addresses (9990000000, 1978744763, 8600886267,
        # 1617423907): ten digits, so not placeholders
        "location.phone_invalid": 4,
        "location.zip_unknown": 1,             # 06012-5037 for Hartford Hospital: digits swapped
        "ghost.residential_address": len(NPPES_RESIDENTIAL),
    }, {"location.crowded_address": 2, "location.outside_service_area": 1074, "location.zip_state_mismatch": 1,
        "location.zip_city_mismatch": 6, "location.po_box": 1, "location.po_box_zip": 14,
        "location.phone_out_of_state": 5})
    assert records(result, "ghost.residential_address") == \
        [f"nppes-practitioner-sample-ct-2018.csv:{n}" for n in NPPES_RESIDENTIAL]
    assert records(result, "language.none_published") == [str(NPPES_PRACTITIONERS)]
    # 1 Scobee Cir Unit 3 (two physicians: an office condominium) is not a home
    f = result.findings
    homes = f[f["check_id"] == "ghost.residential_address"]
    assert not homes["observed"].str.contains("SCOBEE").any()
    report_status = __import__("reports").build(f, result.summary)["items"]
    assert report_status["T2.iv"]["status"] == "not evidenced"
    assert report_status["T1.iii"]["status"] == "not evidenced"


@pytest.mark.skipif(not NPPES_ORGANIZATIONS.exists(), reason="shared reference not present")
def test_nppes_organizations_read_directly():
    result = audited(str(NPPES_ORGANIZATIONS), "2019-01-01", "CT")
    # 40 organizations: no languages or accepting flags are asked of facilities, so no source gap.
    # all 40 'Last Update Date's are real dates (2007-2018), none current as of 2019-01-01: the 27 before
    # 2014 are placeholders by the rule (no verification under any directory rule), the 13 from 2014-2018 stale.
    assert_pinned(result, {"placeholder.last_updated": 27, "update.stale": 13},
                  {"location.phone_out_of_state": 1, "location.outside_service_area": 34})


# --- CountyCare scrape, through the shipped json site profile -------------------------------------------

#: Practice locations that are homes, every one read by hand (record ids: the profile's card numbers).
COUNTYCARE_RESIDENTIAL = {
    "1527": "NATIONWIDE MEDICAL EQUIPMENT BILLING INC at 3301 W 63rd St Apt 1: an equipment 'supplier' in a flat",
    "1588": "MIDWEST MEDICAL SUPPLIES & EQUIPMENT at 6101 N Sheridan Rd Apt 9B: a high-rise apartment",
    "1589": "the same supplier under its LLC name at the same apartment",
    "1637": "SHIELD DENVER HEALTH CARE CENTER at 847 N Church Ct Unit A: a unit on a residential court; "
            "uncertain (could be an office condominium)",
    "2761": "ERIE FAMILY HEALTH CENTERS at 1413 W Superior St Apt 1F: an apartment (Erie's Superior St clinic "
            "is at 1701)",
    "2762": "the same listing again (the scrape repeats it)",
}


@pytest.mark.skipif(not COUNTYCARE.exists(), reason="shared reference not present")
def test_countycare_scrape():
    root = Path(__file__).resolve().parents[1]
    settings = load_settings(root / "profiles" / "countycare.settings.toml", as_of="2024-03-01",
                             site_profile=root / "profiles" / "countycare.toml")
    result = audit(str(COUNTYCARE), settings)
    assert all(r.status in ("ok", "skipped") for r in result.check_runs)
    assert result.summary["rows_read"] == 2773
    assert result.summary["rows_audited"] == 2741          # listings repeated per search category, folded
    assert_pinned(result, {
        # '0000000000' on 93 records (the scrape's stand-in for no number; 87 provider-locations once
        # the listings repeated per search category are folded) and 'NA' as the suite line on 6
        "placeholder.value": 87 + 6,
        # no language and no accepting flag anywhere in the scrape: one finding each
        "language.none_published": 1, "open_practice.none_published": 1,
        # updateDate in epoch ms parses (Feb 2024 and earlier); 328 records older than the Medicaid 30 days
        # (328 records, 324 provider-locations after folding)
        "update.stale": 324,
        "location.phone_invalid": 1,           # 1205488947: a leading 1 and a dropped digit
        "ghost.residential_address": len(COUNTYCARE_RESIDENTIAL),
        # SINAI MEDICAL GROUP on 38 rows at 30 addresses: its own ~20 SMG clinics are real, but the
        # listing also puts it at 5841 S Maryland Ave (UChicago Medical Center, on UChicago's 888 line),
        # 225 E Chicago Ave (Lurie Children's, an 800 number), Saint Bernard Hospital and Elemental Center
        # Ltd in Orland Park: other organisations' addresses, the inflation this check is for. The
        # Thresholds (32 supportive-housing sites) is exempt as a residential programme.
        # (37 provider-locations after folding one repeated listing)
        "ghost.address_inflation": 37,
        # two audiologists of one hearing foundation at 12 and 11 sites (clinician at every site)
        "location.provider_many_locations": 23,
    }, {"identifier.npi_missing": 1445, "location.phone_missing": 97, "location.phone_out_of_state": 2,
        "duplicate.exact_row": 658, "location.outside_service_area": 3, "access.search_filter_missing": 2,
        # 522 until placeholder phones stopped counting as phones in duplicate blocking: +9 pairs, each
        # one organisation listed twice in one building, one listing on 0000000000 beside its real line
        # (EVA MAE RECOVERY HOPE, HUMAN RESOURCES DEVELOPMENT INSTITUTE, CATHOLIC CHARITIES at 1100 S May,
        # LIVING SPRING HOME HEALTH CARE, KENWOOD HOME TRAINING PD, WSKC DIALYSIS SERVICES, HEARTLAND
        # ALLIANCE HEALTH at two buildings): real; -1 pair, the audiologist LAUREN YANOUZAS at two stores
        # joined only by 0000000000: a false positive gone
        "duplicate.probable": 537})
    assert records(result, "ghost.residential_address") == \
        [f"provider_scrape_test.json#card-{n}" for n in COUNTYCARE_RESIDENTIAL]
    f = result.findings
    assert set(f.loc[f["check_id"] == "ghost.address_inflation", "provider_name"]) == {"SINAI MEDICAL GROUP"}
    ph = f[f["check_id"] == "placeholder.value"]
    assert ph.groupby(["field", "observed"]).size().to_dict() == {("address_line2", "NA"): 6, ("phone", "0000000000"): 87}
    # the one-number-on-many-sites pattern does not occur in this sample (the UChicago 888 line is on 11
    # addresses of one health system, below max(50, 1%))
    assert "ghost.shared_phone" not in counts(result)
    assert result.table["last_updated"].min() >= pd.Timestamp("2014-01-01")
    fl = result.fixlist
    assert (fl.loc[fl["name"] == "SINAI MEDICAL GROUP", "action"] == "investigate possible ghost").all()

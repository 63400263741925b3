"""Ghost-network patterns: a call-centre phone on many addresses, a group at dozens of addresses,
hospital-based clinicians exempt from many-locations, a home as a practice location. Each fires with
its evidence in ``detail`` and stays silent on the legitimate shapes next to it."""
import json

import pytest

from tests.test_checks_locations import findings


def sites(n: int, providers: int = 2, **extra) -> list[dict]:
    """``n`` rows at ``n`` distinct Portland addresses, spread over ``providers`` people."""
    return [{"npi": None, "first_name": f"Ann{i % providers}", "last_name": "Lee", "address_line1": f"{100 + i} SW Main St",
             "address_line2": None, **extra} for i in range(n)]


def test_one_phone_on_fifty_addresses_of_several_providers_is_a_call_centre():
    got = findings("ghost.shared_phone", *sites(50, phone="503-494-8311"))
    assert len(got) == 50
    d = json.loads(got.loc[0, "detail"])
    assert d["addresses"] == 50 and d["providers"] == 2 and d["threshold"] == 50
    assert len(d["example_addresses"]) == 3 and d["example_addresses"][0].startswith("100 SW Main St, PORTLAND OR 97201")


@pytest.mark.parametrize("rows", [
    sites(49, phone="503-494-8311"),                       # below max(50, 1%)
    sites(50, providers=1, phone="503-494-8311"),          # one provider's own line at its sites
    sites(50, phone="000-000-0000"),                       # a placeholder: placeholder.value reports it
    [r | {"phone": f"503-494-{8000 + i}"} for i, r in enumerate(sites(60))],   # every site its own number
])
def test_shared_phone_stays_silent(rows):
    assert findings("ghost.shared_phone", *rows).empty


def test_shared_phone_threshold_is_a_setting():
    assert len(findings("ghost.shared_phone", *sites(10, phone="503-494-8311"), options={"min_addresses": 10})) == 10


GROUP = {"npi": None, "provider_type": "Group", "first_name": None, "last_name": None,
         "facility_name": "Summit Family Practice LLC", "specialties": "Family Medicine"}


def test_a_group_at_dozens_of_addresses_is_address_inflation():
    got = findings("ghost.address_inflation", *[r | GROUP for r in sites(26)])
    assert len(got) == 26 and set(got["observed"]) == {"Summit Family Practice LLC"}
    assert json.loads(got.loc[0, "detail"])["addresses"] == 26


@pytest.mark.parametrize("rows", [
    [r | GROUP for r in sites(25)],                                                     # at the limit
    [r | GROUP | {"specialties": "Pharmacy", "facility_name": "Main St Drug"} for r in sites(40)],   # a chain
    [r | GROUP | {"specialties": "291U00000X"} for r in sites(40)],                     # clinical laboratory
    [r | GROUP | {"facility_name": "Acme Home Health"} for r in sites(40)],              # by its name
    sites(40, providers=1),                                                              # an individual: another check
])
def test_address_inflation_stays_silent(rows):
    assert findings("ghost.address_inflation", *rows).empty


@pytest.mark.parametrize("specialty", ["2085R0202X", "207L00000X", "Emergency Medicine", "Hospitalist", "207ZP0102X"])
def test_hospital_based_clinicians_may_be_listed_at_many_hospitals(specialty):
    assert findings("location.provider_many_locations", *sites(12, providers=1, specialties=specialty)).empty


def test_other_clinicians_at_many_locations_are_still_reported():
    assert len(findings("location.provider_many_locations", *sites(12, providers=1, specialties="207Q00000X"))) == 12


@pytest.mark.parametrize("line1,line2", [("12 Elm Ln Apt 4", None), ("45 Pine St", "Apt 2B"),
                                         ("100 Riverside Rd Lot 14", None), ("7 Oak Ct Unit 3", None)])
def test_a_home_as_practice_location(line1, line2):
    got = findings("ghost.residential_address", {"address_line1": line1, "address_line2": line2})
    assert len(got) == 1
    assert json.loads(got.loc[0, "detail"])["why"]


@pytest.mark.parametrize("line1,line2", [
    ("1515 SW 5th Ave", "Suite 300"), ("500 Main St Unit 200", None),        # Unit on a commercial street
    ("12 Elm Ln", "Apt 4, Medical Plaza"), ("Aptos Medical Center, 1 Main St", None),
    ("2801 N Gantenbein Ave", "Bldg 2"),
])
def test_offices_are_not_homes(line1, line2):
    assert findings("ghost.residential_address", {"address_line1": line1, "address_line2": line2}).empty


def test_a_unit_shared_by_several_providers_is_an_office_condominium():
    rows = [{"address_line1": "1 Scobee Cir Unit 3", "npi": None, "first_name": n} for n in ("Ann", "Bob")]
    assert findings("ghost.residential_address", *rows).empty

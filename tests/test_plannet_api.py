"""Plan-Net from a live API: a real FHIR search server on 127.0.0.1 (tests/fhir_server.py) serving the
Oregon fixture directory in pages, with _include, a reference no page includes, a dangling reference,
a 429 then 200, an OperationOutcome, a page that always fails and a next link that loops."""
import importlib.util
import json

import pytest
from click.testing import CliRunner

from directory_audit import load_settings
from directory_audit.cli import main
from directory_audit.http import HttpClient, HttpOptions
from directory_audit.loaders import plannet
from tests.conftest import FIXTURES, REFERENCE
from tests.fhir_server import Faults, FhirServer, ListDataset


@pytest.fixture(scope="module")
def make():
    spec = importlib.util.spec_from_file_location("make_plannet", FIXTURES / "make_plannet.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def oregon(make):
    resources = make.resources_from_csv(FIXTURES / "oregon" / "directory.csv")
    ghost = {"resourceType": "PractitionerRole", "id": "ghost-role", "practitioner": {"reference": "Practitioner/ghost"},
             "location": [{"reference": next(f"Location/{r['id']}" for r in resources if r["resourceType"] == "Location")}]}
    return resources + [ghost]


@pytest.fixture
def s():
    return load_settings(as_of="2026-11-01")


@pytest.fixture
def client():
    with HttpClient(HttpOptions(requests_per_second=1000, max_retries=2, backoff_base=0.01, respect_robots=False,
                                use_cache=False)) as c:
        yield c


def _load(server, s, client, count=40):
    d = plannet.Directory(as_of=s.as_of.isoformat())
    plannet.crawl(server.base, s, d, client=client, count=count)
    frame, _ = plannet.build_rows(d)
    return d, frame


def _problems(d, check_id):
    return [(p["record_id"], p["field"], p["observed"]) for p in d.problems if p["check_id"] == check_id]


def test_paged_api_with_includes_throttling_and_an_outcome(oregon, s, client):
    faults = Faults(throttle_once={("PractitionerRole", 2)}, drop_include={("PractitionerRole", 3)},
                    outcome={"HealthcareService"})
    with FhirServer(ListDataset(oregon), faults) as server:
        d, frame = _load(server, s, client)
    roles = [r for r in oregon if r["resourceType"] == "PractitionerRole"]
    # every role on every page, the throttled page included, each once
    assert sorted(frame["record_id"].str.split("@").str[0]) == sorted(f"PractitionerRole/{r['id']}" for r in roles)
    assert server.log.count(next(p for p in server.log if "page=2" in p and "PractitionerRole" in p)) == 2
    # page 3 came without its includes: what it referenced was fetched by id, in batches
    by_id = [p for p in server.log if "_id=" in p]
    assert any(p.startswith("/fhir/Location?_id=") and "," in p for p in by_id)
    assert frame["address_line1"].notna().sum() == len(frame) - frame["record_id"].str.contains("ghost").sum() - \
        sum(1 for r in oregon if r["resourceType"] == "Location" and "address" not in r)
    assert _problems(d, "plannet.dangling_reference") == [
        ("PractitionerRole/ghost-role", "PractitionerRole.practitioner", "Practitioner/ghost")]
    outcome = _problems(d, "plannet.operation_outcome")
    assert len(outcome) == 1 and outcome[0][0].startswith(f"{server.base}/HealthcareService?_count=40")
    assert "not-supported: HealthcareService search is not supported" in outcome[0][2]
    assert _problems(d, "plannet.page_failed") == [] and _problems(d, "plannet.next_loop") == []
    # plans come from the InsurancePlan search, through the roles' networks
    with_network = frame["network_ids"].notna()
    assert with_network.sum() > 200 and frame.loc[with_network, "plan_ids"].notna().all()
    assert frame.loc[frame["record_id"].str.startswith("PractitionerRole/L2@"), "network_ids"].iloc[0] == "Cascade Preferred"


def test_page_that_keeps_failing_is_reported_and_the_rest_is_kept(oregon, s, client):
    with FhirServer(ListDataset(oregon), Faults(fail={("PractitionerRole", 2)})) as server:
        d, frame = _load(server, s, client)
    failed = _problems(d, "plannet.page_failed")
    assert len(failed) == 1 and "page=2" in failed[0][0] and failed[0][2] == "HTTP 500, resourceType 'OperationOutcome'"
    assert server.log.count(next(p for p in server.log if "page=2" in p and "PractitionerRole" in p)) == 3  # 1 + 2 retries
    individuals = frame[frame["record_id"].str.startswith("PractitionerRole/")]
    assert len(individuals) == 40                       # page 1 only: page 2 failed, and with it the way on
    assert (frame["record_id"].str.startswith("HealthcareService/")).sum() == \
        sum(1 for r in oregon if r["resourceType"] == "HealthcareService")


def test_next_link_loop_stops_and_is_reported(oregon, s, client):
    with FhirServer(ListDataset(oregon), Faults(loop={("PractitionerRole", 2)})) as server:
        d, frame = _load(server, s, client)
    loops = _problems(d, "plannet.next_loop")
    assert len(loops) == 1 and "page=1" in loops[0][0]
    assert loops[0][2] == "40 roles already read"
    assert frame["record_id"].str.startswith("PractitionerRole/").sum() == 80    # pages 1 and 2, once each


def test_affiliation_pages_ended_listings_and_a_closed_location_from_a_live_api(make, oregon, s, client):
    """Group participation published as OrganizationAffiliation pages (one without its includes, one
    throttled once), with the ends real servers keep: every current affiliation x Location is a row,
    each ended listing one info problem, the current affiliation at a suspended Location one error."""
    affiliations = make.affiliations(oregon)
    planted = make.ended_and_closed(oregon)
    faults = Faults(drop_include={("OrganizationAffiliation", 3)}, throttle_once={("OrganizationAffiliation", 2)})
    with FhirServer(ListDataset(oregon + affiliations + planted), faults) as server:
        d, frame = _load(server, s, client)
    assert len(affiliations) > 80                             # three pages of 40
    pages = [p for p in server.log if p.startswith("/fhir/OrganizationAffiliation?_count=40")]
    assert len(pages) == 4 and sum("page=2" in p for p in pages) == 2      # the 429, then the page
    # page 3 (the planted ends) came without its includes: the host organisation only it names was read by id
    assert any(p.startswith("/fhir/Organization?_id=") and "org-host" in p for p in server.log)
    expected = sorted(f"OrganizationAffiliation/{a['id']}@{x['reference']}" for a in affiliations for x in a["location"])
    expected += ["OrganizationAffiliation/aff-at-closed@" + planted[-1]["location"][0]["reference"],
                 "OrganizationAffiliation/aff-at-closed@Location/loc-suspended"]
    got = frame.loc[frame["record_id"].str.startswith("OrganizationAffiliation/"), "record_id"]
    assert sorted(got) == sorted(expected)
    rows = frame.set_index("record_id")
    one = affiliations[0]
    row = rows.loc[f"OrganizationAffiliation/{one['id']}@{one['location'][0]['reference']}"]
    org = next(r for r in oregon if f"Organization/{r['id']}" == one["participatingOrganization"]["reference"])
    assert row["facility_name"] == org["name"] and row["provider_type"] == "facility"
    assert row["network_ids"] and row["address_line1"]
    # the ends: each reported once with the element that ended it, none of them a row
    assert sorted(_problems(d, "plannet.inactive_listing")) == sorted(make.ENDED)
    assert not frame["record_id"].str.split("@").str[0].isin([key for key, _, _ in make.ENDED]).any()
    assert _problems(d, "plannet.inactive_location") == [
        ("OrganizationAffiliation/aff-at-closed@Location/loc-suspended", "Location.status", "status suspended")]
    assert _problems(d, "plannet.inactive_provider") == [
        (f"PractitionerRole/retired-role@Location/{planted[-1]['location'][0]['reference'].split('/')[1]}",
         "Practitioner.active", "false")]
    # loc-closed has no telecom, but only the ended role lists it: no location finding
    assert [p for p in d.problems if "loc-closed" in p["record_id"]] == []
    # the affiliations' references were all served (page 2's by batched reads or earlier pages), no loop
    assert _problems(d, "plannet.dangling_reference") == [
        ("PractitionerRole/ghost-role", "PractitionerRole.practitioner", "Practitioner/ghost")]
    assert _problems(d, "plannet.next_loop") == [] and _problems(d, "plannet.page_failed") == []


def test_reference_examples_served_live_audit_from_the_command_line(tmp_path):
    resources = [json.loads(p.read_text()) for p in sorted((REFERENCE / "plannet" / "examples-current").glob("*.json"))]
    with FhirServer(ListDataset(resources)) as server:
        result = CliRunner().invoke(main, ["audit", server.base, "--format", "plannet", "--out", str(tmp_path / "out"),
                                           "--as-of", "2026-11-01", "--fail-on", "never", "--quiet"])
        assert result.exit_code == 0, result.output
        summary = json.loads((tmp_path / "out" / "summary.json").read_text())
        assert summary["format"] == "plannet" and summary["rows_audited"] == 3     # role, service, affiliation
        assert summary["sources_read"][1].startswith(f"{server.base}/PractitionerRole?_count=200&_include=")
        assert summary["input_checksum"].startswith("sha256:")
        # the affiliation's four partners are not among the examples: asked for by id, then reported
        assert {k: v for k, v in summary["findings_by_check"].items() if k.startswith("plannet.") and v} == \
            {"plannet.dangling_reference": 4}
        assert any(p.startswith("/fhir/OrganizationAffiliation?_count=200&_include=OrganizationAffiliation:"
                                "participating-organization") for p in server.log)
        assert "/fhir/Location?_id=HospLoc2&_count=50" in server.log
        # the User-Agent and the Accept header a FHIR server expects
        assert any("PractitionerRole?_count=200" in p for p in server.log)


def test_unreachable_api_is_a_page_failure_not_a_crash(s, client):
    d = plannet.Directory()
    plannet.crawl("http://127.0.0.1:9/fhir", s, d, client=client, count=10)
    failed = _problems(d, "plannet.page_failed")
    assert len(failed) == 4 and all(   # three listing searches and InsurancePlan
        "FetchFailed" in o or "Fetch" in o for _, _, o in failed)

"""FHIR Plan-Net loader on files: the guide's own examples (2019 drafts and the current guide), folders,
saved search Bundles, NDJSON exports, the three accepting-status shapes, and the conformance findings."""
import json
import re
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from directory_audit import audit, load, load_settings
from directory_audit.errors import InputError, MalformedJSON, UnknownFormat
from directory_audit.loaders import plannet, sniff
from directory_audit.normalize import normalize
from tests.conftest import FIXTURES, REFERENCE

EXAMPLES_2019 = REFERENCE / "plannet" / "examples"
EXAMPLES_NOW = REFERENCE / "plannet" / "examples-current"
PN = "http://hl7.org/fhir/us/davinci-pdex-plan-net/StructureDefinition"


@pytest.fixture
def s():
    return load_settings(as_of="2026-11-01")


@pytest.fixture
def pn():
    """Only the plannet.* checks: the conformance tests need nothing else, and run faster for it."""
    return load_settings(as_of="2026-11-01", selected_checks=("plannet",))


def flat(findings, prefix="plannet."):
    f = findings[findings["check_id"].str.startswith(prefix)]
    return sorted(zip(f["check_id"], f["record_id"], f["field"], f["observed"].fillna("")))


# --- the guide's examples ---------------------------------------------------------------------------

def test_current_guide_examples_map_every_field(s):
    res = load(str(EXAMPLES_NOW), s)
    assert res.format == "plannet"
    t = normalize(res.frame).set_index("record_id")
    role = t.loc["PractitionerRole/HansSoloRole1@Location/HansSoloClinic"]
    assert (role["first_name"], role["last_name"], role["npi"], role["provider_type"]) == ("Hans", "Solo", "9941339100", "individual")
    assert role["specialty_codes"] == "207R00000X"
    assert (role["address_line1"], role["city"], role["state"], role["zip"], role["zip4"]) == \
        ("123 Main Street", "ANYTOWN", "CT", "00014", "1234")
    assert role["phone"] == "+11112223333"                      # the Location's phone: the role has none
    # accepting sits on the Location in this example, coded existptonly, for the role's network
    assert role["accepting_status"] == "existing_patients_only" and role["accepting_status_raw"] == "existptonly"
    assert role["languages"] == "ja"
    assert role["network_ids"] == "ACME CT Preferred Provider Network"
    assert role["plan_ids"] == "AcmeQHPGold"                    # the InsurancePlan that lists the network
    assert str(role["last_updated"].date()) == "2020-07-07"
    service = t.loc["HealthcareService/HansSoloService@Location/HansSoloClinic"]
    assert service["provider_type"] == "facility" and service["specialty_codes"] == "207Q00000X"
    detail = res.metadata["plannet_detail"].set_index("record_id")
    assert detail.loc["PractitionerRole/HansSoloRole1@Location/HansSoloClinic", "accepting_detail"] == \
        "existptonly (fromNetwork Organization/AcmeofCTStdNet)"
    assert detail.loc["PractitionerRole/HansSoloRole1@Location/HansSoloClinic", "language_proficiency"] == "ja:30"


def test_current_guide_examples_are_conformant_apart_from_the_affiliations_partners(pn):
    """Everything the role and the service reference is in the folder. The guide's one
    OrganizationAffiliation example points at a clinic, a hospital, a Location and a service the
    eight built examples do not include: exactly those four are reported, with their element paths."""
    assert flat(audit(str(EXAMPLES_NOW), pn).findings) == [
        ("plannet.dangling_reference", "OrganizationAffiliation/BurrClinicAffil",
         "OrganizationAffiliation.healthcareService", "HealthcareService/BurrClinicServices"),
        ("plannet.dangling_reference", "OrganizationAffiliation/BurrClinicAffil", "OrganizationAffiliation.location",
         "Location/HospLoc2"),
        ("plannet.dangling_reference", "OrganizationAffiliation/BurrClinicAffil", "OrganizationAffiliation.organization",
         "Organization/Hospital"),
        ("plannet.dangling_reference", "OrganizationAffiliation/BurrClinicAffil",
         "OrganizationAffiliation.participatingOrganization", "Organization/BurrClinic")]


def test_current_guide_affiliation_is_an_organisation_listing_in_its_network(s):
    t = normalize(load(str(EXAMPLES_NOW), s).frame).set_index("record_id")
    aff = t.loc["OrganizationAffiliation/BurrClinicAffil@Location/HospLoc2"]
    # the provider-type rules see a declared organisation, so individual-only checks leave it alone
    assert (aff["provider_type"], aff["provider_type_basis"], aff["npi_entity_type"]) == ("facility", "declared", "2")
    assert aff["network_ids"] == "ACME CT Preferred Provider Network"       # from OrganizationAffiliation.network
    assert aff["plan_ids"] == "AcmeQHPGold"
    assert str(aff["last_updated"].date()) == "2020-07-07"


def test_2019_examples_read_the_old_extensions_and_report_what_is_missing(s):
    res = load(str(EXAMPLES_2019), s)
    t = normalize(res.frame).set_index("record_id")
    role = t.loc["PractitionerRole/practitionerrole1@Location/loc-ffmh-hvi"]
    assert (role["first_name"], role["last_name"], role["npi"]) == ("George", "Washington", "1234567893")
    assert role["accepting_status"] == "accepting"              # plannet-NewPatients-extension, boolean
    assert role["network_ids"] == "Patriot Preferred Provider Network"
    assert role["plan_ids"] == "insuranceplan1"
    assert role["phone"] == "+12021010123"
    assert role["facility_name"] == "Founding Fathers Memorial Hospital"
    schneider = t.loc["PractitionerRole/plannet-practitionerrole-1232506780@Location/plannet-location-1232006923"]
    assert (schneider["prefix"], schneider["middle_name"], schneider["suffix"]) == ("Dr.", "Lucila", "DDS")
    assert schneider["specialty_codes"] == "1223G0001X" and schneider["languages"] == "en"
    findings = audit(str(EXAMPLES_2019), load_settings(as_of="2026-11-01", selected_checks=("plannet",))).findings
    dangling = {(r, fld, o) for c, r, fld, o in flat(findings) if c == "plannet.dangling_reference"}
    assert ("PractitionerRole/practitionerrole1", "PractitionerRole.location", "Location/loc-ffmh-hvi") in dangling
    assert ("HealthcareService/ffcardiology", "HealthcareService.location", "Location/loc-ffmh-hvi") in dangling
    assert ("PractitionerRole/plannet-practitionerrole-1236743399", "PractitionerRole.practitioner",
            "Practitioner/plannet-practitioner-1236743399") in dangling
    # the 2019 affiliation (saved twice, one row) names its pharmacy in ``organization``: no
    # participatingOrganization in the drafts; none of what it references is in the examples
    aff = "OrganizationAffiliation/plannet-organizationaffiliation-ed52543cb9e56cb2375b2bb82"
    assert sorted((fld, o) for r, fld, o in dangling if r == aff) == [
        ("OrganizationAffiliation.healthcareService",
         "HealthcareService/pharmacy-healthcareservice-ed52543cb9e56cb2375b2bb82"),
        ("OrganizationAffiliation.location", "Location/plannet-location-PCY-0001312"),
        ("OrganizationAffiliation.network", "Organization/plannet-network-HPID020000"),
        ("OrganizationAffiliation.network", "Organization/plannet-network-HPID030000"),
        ("OrganizationAffiliation.organization", "Organization/plannet-organization-ed52543cb9e56cb2375b2bb82")]
    assert len(dangling) == 13 + 5
    assert t.loc[f"{aff}@Location/plannet-location-PCY-0001312", "provider_type"] == "facility"
    assert res.metadata["plannet"]["repeated_roles"] == 1
    missing = [r for c, r, *_ in flat(findings) if c == "plannet.missing_newpatients"]
    assert missing == ["PractitionerRole/plannet-practitionerrole-1232506780",
                       "PractitionerRole/plannet-practitionerrole-1236743399",
                       "PractitionerRole/plannet-practitionerrole-1237955865"]


# --- sniffing ---------------------------------------------------------------------------------------

def test_auto_recognises_folders_bundles_and_ndjson(tmp_path):
    assert sniff(str(EXAMPLES_NOW)) == "plannet"
    assert sniff(str(EXAMPLES_2019 / "Practitioner-practitioner1.json")) == "plannet"
    bundle = tmp_path / "page.json"
    bundle.write_text(json.dumps({"entry": [], "resourceType": "Bundle", "type": "searchset"}))
    assert sniff(str(bundle)) == "plannet"
    assert sniff(str(FIXTURES / "oregon" / "plannet" / "export")) == "plannet"
    assert sniff(str(FIXTURES / "oregon" / "plannet" / "export" / "Location.ndjson")) == "plannet"
    # QHP files name no resourceType and stay QHP
    assert sniff(str(REFERENCE / "qhp" / "examples" / "providers.json")) == "qhp"
    assert sniff(str(REFERENCE / "qhp" / "examples" / "index.json")) == "qhp"
    assert sniff("https://payer.example/fhir") == sniff("https://payer.example/api/FHIR/R4/") == "plannet"
    with pytest.raises(UnknownFormat, match="--format plannet for a FHIR Plan-Net API base URL"):
        sniff("https://payer.example/find-a-doctor")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.csv").write_text("a,b\n1,2\n")
    with pytest.raises(UnknownFormat, match="folder without FHIR JSON"):
        sniff(str(tmp_path / "notes"))


# --- files ------------------------------------------------------------------------------------------

def _write(folder: Path, *resources: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for r in resources:
        (folder / f"{r['resourceType']}-{r['id']}.json").write_text(json.dumps(r))
    return folder


def _role(rid, loc="Location/l1", **extra):
    r = {"resourceType": "PractitionerRole", "id": rid, "meta": {"lastUpdated": "2026-10-01T00:00:00Z"},
         "practitioner": {"reference": "Practitioner/p1"},
         "specialty": [{"coding": [{"system": "http://nucc.org/provider-taxonomy", "code": "207Q00000X"}]}],
         "extension": [{"url": f"{PN}/newpatients", "extension": [
             {"url": "acceptingPatients", "valueCodeableConcept": {"coding": [{"code": "newpt"}]}}]}]}
    if loc:
        r["location"] = [{"reference": loc}]
    r.update(extra)
    return r


PERSON = {"resourceType": "Practitioner", "id": "p1", "name": [{"family": "Doe", "given": ["Jane"]}],
          "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}]}
PLACE = {"resourceType": "Location", "id": "l1", "address": {"line": ["2801 N Gantenbein Ave"], "city": "Portland",
         "state": "OR", "postalCode": "97227"}, "telecom": [{"system": "phone", "value": "503-413-2200"}]}


def test_a_clean_role_gives_no_conformance_finding(tmp_path, pn):
    folder = _write(tmp_path / "d", _role("r1"), PERSON, PLACE)
    assert flat(audit(str(folder), pn).findings) == []


@pytest.mark.parametrize("change, expected", [
    (lambda role, person, place: role.pop("location"),
     [("plannet.role_without_location", "PractitionerRole/r1", "PractitionerRole.location", "")]),
    (lambda role, person, place: place.pop("address"),
     [("plannet.location_incomplete", "Location/l1", "Location.address", "")]),
    (lambda role, person, place: place.pop("telecom"),
     [("plannet.location_incomplete", "Location/l1", "Location.telecom", "")]),
    (lambda role, person, place: person.pop("identifier"),
     [("plannet.missing_npi", "Practitioner/p1", "Practitioner.identifier:NPI", "")]),
    (lambda role, person, place: role.pop("specialty"),
     [("plannet.missing_specialty", "PractitionerRole/r1", "PractitionerRole.specialty", "")]),
    (lambda role, person, place: role.pop("meta"),
     [("plannet.missing_last_updated", "PractitionerRole/r1", "PractitionerRole.meta.lastUpdated", "")]),
    (lambda role, person, place: role.pop("extension"),
     [("plannet.missing_newpatients", "PractitionerRole/r1", "PractitionerRole.extension:newpatients", "")]),
    (lambda role, person, place: role.update(practitioner={"reference": "Practitioner/gone"}),
     [("plannet.dangling_reference", "PractitionerRole/r1", "PractitionerRole.practitioner", "Practitioner/gone")]),
])
def test_each_conformance_check_fires_with_resource_and_element(tmp_path, pn, change, expected):
    role, person, place = _role("r1"), json.loads(json.dumps(PERSON)), json.loads(json.dumps(PLACE))
    change(role, person, place)
    folder = _write(tmp_path / "d", role, person, place)
    assert flat(audit(str(folder), pn).findings) == expected


def test_accepting_and_last_updated_fall_back_where_the_guide_allows(tmp_path, pn):
    """No newpatients on the role but on its Location, no lastUpdated on the role but on the
    practitioner: both read through, and neither is reported missing."""
    role = _role("r1")
    role.pop("extension"), role.pop("meta")
    person = {**PERSON, "meta": {"lastUpdated": "2026-09-30T10:00:00Z"}}
    place = {**PLACE, "extension": [{"url": f"{PN}/newpatients", "extension": [
        {"url": "acceptingPatients", "valueCodeableConcept": {"coding": [{"code": "nopt"}]}}]}]}
    folder = _write(tmp_path / "d", role, person, place)
    result = audit(str(folder), pn)
    assert flat(result.findings) == []
    row = result.table.iloc[0]
    assert row["accepting_status"] == "not_accepting" and str(row["last_updated"].date()) == "2026-09-30"


@pytest.mark.parametrize("extension, expected", [
    ({"url": f"{PN}/plannet-NewPatients-extension", "extension": [{"url": "acceptingPatients", "valueBoolean": False}]},
     "not_accepting"),                                                               # 2019
    ({"url": f"{PN}/newpatients", "extension": [{"url": "acceptingPatients", "valueBoolean": True}]}, "accepting"),  # 2020
    ({"url": f"{PN}/newpatients", "extension": [{"url": "acceptingPatients", "valueCodeableConcept": {"coding": [
        {"system": f"{PN.rsplit('/', 1)[0]}/CodeSystem/AcceptingPatientsCS", "code": "existptofothr"}]}}]},
     "existing_patients_only"),                                                      # current
    ({"url": f"{PN}/newpatients", "extension": [{"url": "acceptingPatients", "valueCodeableConcept": {"text": "maybe"}}]},
     "unknown"),                                                                     # a value no vocabulary knows
])
def test_three_shapes_of_accepting_status(tmp_path, pn, extension, expected):
    folder = _write(tmp_path / "d", _role("r1", extension=[extension]), PERSON, PLACE)
    assert audit(str(folder), pn).table.iloc[0]["accepting_status"] == expected


def test_accepting_status_is_taken_for_the_roles_network(tmp_path, s):
    def entry(code, net):
        return {"url": f"{PN}/newpatients", "extension": [
            {"url": "acceptingPatients", "valueCodeableConcept": {"coding": [{"code": code}]}},
            {"url": "fromNetwork", "valueReference": {"reference": f"Organization/{net}"}}]}
    role = _role("r1", extension=[entry("nopt", "other"), entry("newpt", "mine"),
                                  {"url": f"{PN}/network-reference", "valueReference": {"reference": "Organization/mine"}}])
    net = {"resourceType": "Organization", "id": "mine", "name": "Mine PPO",
           "type": [{"coding": [{"code": "ntwk"}]}]}
    res = load(str(_write(tmp_path / "d", role, PERSON, PLACE, net)), s)
    assert res.frame.iloc[0]["accepting_status"] == "newpt"
    assert res.frame.iloc[0]["network_ids"] == "Mine PPO"
    assert res.metadata["plannet_detail"].iloc[0]["accepting_detail"] == \
        "nopt (fromNetwork Organization/other); newpt (fromNetwork Organization/mine)"


def test_a_role_at_two_locations_is_two_rows_and_one_without_a_location_is_kept(tmp_path, s):
    second = {**PLACE, "id": "l2", "address": {**PLACE["address"], "line": ["1 Other St"]}}
    roles = [_role("r1", location=[{"reference": "Location/l1"}, {"reference": "Location/l2"}]), _role("r2", loc=None)]
    res = load(str(_write(tmp_path / "d", *roles, PERSON, PLACE, second)), s)
    assert res.frame["record_id"].tolist() == ["PractitionerRole/r1@Location/l1", "PractitionerRole/r1@Location/l2",
                                               "PractitionerRole/r2"]
    assert res.frame["address_line1"].tolist()[:2] == ["2801 N Gantenbein Ave", "1 Other St"]


def test_searchset_bundle_with_urn_references_whole_and_streamed(tmp_path, s, monkeypatch):
    entries = [{"fullUrl": "urn:uuid:aaa", "resource": {**PERSON}},
               {"fullUrl": "urn:uuid:bbb", "resource": {**PLACE}},
               {"fullUrl": "urn:uuid:ccc", "resource": _role("r1", loc=None, practitioner={"reference": "urn:uuid:aaa"},
                                                          location=[{"reference": "urn:uuid:bbb"}])}]
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": entries}))
    whole = load(str(path), s)
    monkeypatch.setattr(plannet, "WHOLE_FILE_BYTES", 10)        # force the ijson path
    streamed = load(str(path), s)
    for res in (whole, streamed):
        assert res.frame[["record_id", "last_name", "address_line1"]].values.tolist() == \
            [["PractitionerRole/r1@Location/l1", "Doe", "2801 N Gantenbein Ave"]]
        assert res.problems.empty


def test_contained_location_and_practitioner_are_resolved(tmp_path, pn):
    role = _role("r1", location=[{"reference": "#here"}], practitioner={"reference": "#who"},
                 contained=[{**PLACE, "id": "here"}, {**PERSON, "id": "who"}])
    result = audit(str(_write(tmp_path / "d", role)), pn)
    assert flat(result.findings) == []
    row = result.table.iloc[0]
    assert (row["record_id"], row["last_name"], row["city"]) == ("PractitionerRole/r1@Location/r1.here", "Doe", "PORTLAND")


def test_ndjson_bad_line_is_a_finding_and_the_rest_is_read(tmp_path):
    path = tmp_path / "export.ndjson"
    path.write_text("\n".join([json.dumps(_role("r1")), "{not json", json.dumps(PERSON), json.dumps(PLACE)]) + "\n")
    result = audit(str(path), load_settings(as_of="2026-11-01", selected_checks=("source.malformed_record",)))
    assert len(result.table) == 1 and result.table.iloc[0]["last_name"] == "Doe"
    bad = result.findings[result.findings["check_id"] == "source.malformed_record"]
    assert bad["record_id"].tolist() == ["export.ndjson:2"]
    assert "byte offset" in bad["message"].iloc[0]


def test_operation_outcome_saved_in_place_of_a_page(tmp_path, pn):
    folder = _write(tmp_path / "d", _role("r1"), PERSON, PLACE)
    (folder / "page-2.json").write_text(json.dumps({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "too-costly", "diagnostics": "_count too large"}]}))
    found = flat(audit(str(folder), pn).findings)
    assert found == [("plannet.operation_outcome", "page-2.json", "Bundle",
                      "OperationOutcome: error too-costly: _count too large")]


def test_warnings_beside_search_results_are_not_an_outcome_finding(tmp_path, pn):
    warning = {"resourceType": "OperationOutcome", "issue": [{"severity": "warning", "code": "not-supported",
                                                             "diagnostics": "_include=PractitionerRole:network ignored"}]}
    entries = [{"resource": r} for r in (_role("r1"), PERSON, PLACE)] + [{"resource": warning, "search": {"mode": "outcome"}}]
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": entries}))
    assert flat(audit(str(path), pn).findings) == []


def test_malformed_json_names_the_byte_offset(tmp_path, s):
    path = tmp_path / "bad.json"
    path.write_text('{"resourceType": "Bundle", "entry": [}')
    with pytest.raises(MalformedJSON, match=r"bad.json: malformed JSON at byte offset 37 \(line 1, column 38\)"):
        load(str(path), s, format="plannet")


def test_no_directory_resources_is_an_input_error(tmp_path, s):
    folder = _write(tmp_path / "d", PERSON, PLACE)
    with pytest.raises(InputError, match=r"no PractitionerRole, HealthcareService or OrganizationAffiliation.*'Location': 1"):
        load(str(folder), s, format="plannet")


def test_same_role_on_two_pages_is_one_row(tmp_path, s):
    folder = _write(tmp_path / "d", _role("r1"), PERSON, PLACE)
    (folder / "again.ndjson").write_text(json.dumps(_role("r1")) + "\n")
    res = load(str(folder), s)
    assert len(res.frame) == 1 and res.metadata["plannet"]["repeated_roles"] == 1


# --- OrganizationAffiliation: an organisation participating in a network at locations --------------

CLINIC = {"resourceType": "Organization", "id": "clinic", "name": "Rose City Family Clinic", "active": True,
          "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1245319599"}],
          "type": [{"coding": [{"code": "prvgrp"}]}]}
HOSPITAL = {"resourceType": "Organization", "id": "hospital", "name": "Gantenbein General", "active": True}
NETWORK = {"resourceType": "Organization", "id": "net", "name": "Cascade PPO", "type": [{"coding": [{"code": "ntwk"}]}]}


def _affiliation(aid, locs=("Location/l1",), **extra):
    a = {"resourceType": "OrganizationAffiliation", "id": aid, "active": True,
         "meta": {"lastUpdated": "2026-10-02T00:00:00Z"},
         "organization": {"reference": "Organization/hospital"},
         "participatingOrganization": {"reference": "Organization/clinic"},
         "network": [{"reference": "Organization/net"}],
         "code": [{"coding": [{"code": "outpatient"}]}],
         "specialty": [{"coding": [{"system": "http://nucc.org/provider-taxonomy", "code": "261QP2300X"}]}],
         "location": [{"reference": x} for x in locs]}
    a.update(extra)
    return a


def _second_place():
    return {**PLACE, "id": "l2", "address": {**PLACE["address"], "line": ["1 Other St"]},
            "telecom": [{"system": "phone", "value": "503-555-0100"}]}


def test_an_affiliation_is_an_organisation_row_per_location(tmp_path, s):
    """participatingOrganization gives the name and NPI, each Location the address; the affiliation's
    own telecom comes before the location's; its network element gives the network."""
    own_phone = _affiliation("a1", locs=("Location/l1", "Location/l2"),
                             telecom=[{"system": "phone", "value": "503-555-0199"}])
    folder = _write(tmp_path / "d", own_phone, _affiliation("a2", locs=("Location/l2",)), CLINIC, HOSPITAL, NETWORK,
                    PLACE, _second_place())
    res = load(str(folder), s)
    t = normalize(res.frame).set_index("record_id")
    assert sorted(t.index) == ["OrganizationAffiliation/a1@Location/l1", "OrganizationAffiliation/a1@Location/l2",
                               "OrganizationAffiliation/a2@Location/l2"]
    first = t.loc["OrganizationAffiliation/a1@Location/l1"]
    assert (first["facility_name"], first["npi"], first["npi_entity_type"]) == ("Rose City Family Clinic", "1245319599", "2")
    assert (first["provider_type"], first["provider_type_basis"]) == ("group", "declared")     # prvgrp
    assert (first["address_line1"], first["city"]) == ("2801 N Gantenbein Ave", "PORTLAND")
    assert first["specialty_codes"] == "261QP2300X" and first["network_ids"] == "Cascade PPO"
    assert str(first["last_updated"].date()) == "2026-10-02"
    assert t["phone_raw"].to_dict() == {"OrganizationAffiliation/a1@Location/l1": "503-555-0199",
                                        "OrganizationAffiliation/a1@Location/l2": "503-555-0199",
                                        "OrganizationAffiliation/a2@Location/l2": "503-555-0100"}
    assert res.problems.empty


def _service(sid, org="Organization/clinic", **extra):
    svc = {"resourceType": "HealthcareService", "id": sid, "name": "Family medicine", "providedBy": {"reference": org},
           "location": [{"reference": "Location/l1"}], "meta": {"lastUpdated": "2026-10-02T00:00:00Z"}}
    svc.update(extra)
    return svc


@pytest.mark.parametrize("service, expected_rows", [
    # the guide's pattern: the clinic's affiliation names the clinic's service at l1. One listing
    # there (the service's, with the affiliation's network), the affiliation's own row at l2
    (_service("s1"), {"HealthcareService/s1@Location/l1": "Cascade PPO",
                      "OrganizationAffiliation/a1@Location/l2": "Cascade PPO"}),
    # a service another organisation provides is another listing: nothing folds
    (_service("s1", org="Organization/hospital"), {"HealthcareService/s1@Location/l1": None,
                                                    "OrganizationAffiliation/a1@Location/l1": "Cascade PPO",
                                                    "OrganizationAffiliation/a1@Location/l2": "Cascade PPO"}),
    # an ended service is no listing: the affiliation is the clinic's only row at l1
    (_service("s1", active=False), {"OrganizationAffiliation/a1@Location/l1": "Cascade PPO",
                                    "OrganizationAffiliation/a1@Location/l2": "Cascade PPO"}),
])
def test_an_affiliation_naming_its_own_service_at_a_location_is_one_listing_there(tmp_path, s, service, expected_rows):
    a = _affiliation("a1", locs=("Location/l1", "Location/l2"), healthcareService=[{"reference": "HealthcareService/s1"}])
    res = load(str(_write(tmp_path / "d", a, service, CLINIC, HOSPITAL, NETWORK, PLACE, _second_place())), s)
    assert dict(zip(res.frame["record_id"], res.frame["network_ids"])) == expected_rows
    detail = res.metadata["plannet_detail"].set_index("record_id")["affiliations"].dropna().to_dict()
    assert detail == ({"HealthcareService/s1@Location/l1": "OrganizationAffiliation/a1"}
                      if "OrganizationAffiliation/a1@Location/l1" not in expected_rows else {})


def test_a_service_and_the_affiliation_naming_it_are_no_duplicate_listing(tmp_path):
    a = _affiliation("a1", healthcareService=[{"reference": "HealthcareService/s1"}])
    folder = _write(tmp_path / "d", a, _service("s1"), CLINIC, HOSPITAL, NETWORK, PLACE)
    findings = audit(str(folder), load_settings(as_of="2026-11-01", selected_checks=("duplicate",))).findings
    assert findings.empty


def test_a_2019_draft_affiliation_lists_the_organization_it_names(tmp_path, s):
    """The 2019 drafts had no participatingOrganization: ``organization`` is the one listed."""
    a = _affiliation("a1", organization={"reference": "Organization/clinic"})
    a.pop("participatingOrganization")
    res = load(str(_write(tmp_path / "d", a, CLINIC, NETWORK, PLACE)), s)
    assert res.frame[["record_id", "facility_name", "npi"]].values.tolist() == [
        ["OrganizationAffiliation/a1@Location/l1", "Rose City Family Clinic", "1245319599"]]
    assert res.problems.empty


def test_a_clean_affiliation_needs_no_newpatients_and_gives_no_conformance_finding(tmp_path, pn):
    folder = _write(tmp_path / "d", _affiliation("a1"), CLINIC, HOSPITAL, NETWORK, PLACE)
    assert flat(audit(str(folder), pn).findings) == []


@pytest.mark.parametrize("change, expected", [
    (lambda a: a.pop("location"),
     [("plannet.role_without_location", "OrganizationAffiliation/a1", "OrganizationAffiliation.location", "")]),
    (lambda a: a.update(participatingOrganization={"reference": "Organization/gone"}),
     [("plannet.dangling_reference", "OrganizationAffiliation/a1", "OrganizationAffiliation.participatingOrganization",
       "Organization/gone")]),
    (lambda a: a.update(organization={"reference": "Organization/gone"}),
     [("plannet.dangling_reference", "OrganizationAffiliation/a1", "OrganizationAffiliation.organization",
       "Organization/gone")]),
    (lambda a: a.update(network=[{"reference": "Organization/net"}, {"reference": "Organization/gone-net"}]),
     [("plannet.dangling_reference", "OrganizationAffiliation/a1", "OrganizationAffiliation.network",
       "Organization/gone-net")]),
    (lambda a: a.update(healthcareService=[{"reference": "HealthcareService/gone"}]),
     [("plannet.dangling_reference", "OrganizationAffiliation/a1", "OrganizationAffiliation.healthcareService",
       "HealthcareService/gone")]),
    (lambda a: a.pop("meta"),
     [("plannet.missing_last_updated", "OrganizationAffiliation/a1", "OrganizationAffiliation.meta.lastUpdated", "")]),
])
def test_affiliation_conformance_findings_name_its_elements(tmp_path, pn, change, expected):
    a = _affiliation("a1")
    change(a)
    folder = _write(tmp_path / "d", a, CLINIC, HOSPITAL, NETWORK, PLACE)
    assert flat(audit(str(folder), pn).findings) == expected


def test_individual_only_checks_stay_silent_on_affiliations(tmp_path):
    """An organisation's participation has no accepting flag, no languages and no person's NPI: the
    checks that ask them of individuals fire on a role with the same gaps, not on the affiliation."""
    bare_role = _role("r2", practitioner={"reference": "Practitioner/p2"})
    bare_role.pop("extension")
    person = {"resourceType": "Practitioner", "id": "p2", "name": [{"family": "Roe", "given": ["Sam"]}]}
    clinic = {k: v for k, v in CLINIC.items() if k != "identifier"}
    speaking = {**PERSON, "communication": [{"coding": [{"system": "urn:ietf:bcp:47", "code": "es"}]}]}
    folder = _write(tmp_path / "d", _role("r1"), bare_role, speaking, person, _affiliation("a1"), clinic, HOSPITAL,
                    NETWORK, PLACE)
    settings = load_settings(as_of="2026-11-01", selected_checks=(
        "open_practice.flag_missing", "identifier.npi_missing", "language.missing", "record.specialty_missing"))
    findings = audit(str(folder), settings).findings
    fired = sorted(zip(findings["check_id"], findings["record_id"]))
    assert ("open_practice.flag_missing", "PractitionerRole/r2@Location/l1") in fired
    assert ("identifier.npi_missing", "PractitionerRole/r2@Location/l1") in fired
    assert ("language.missing", "PractitionerRole/r2@Location/l1") in fired
    assert not [r for _, r in fired if r.startswith("OrganizationAffiliation/")]


@pytest.mark.parametrize("form", ["folder", "ndjson", "bundle"])
def test_affiliations_read_from_every_saved_form(tmp_path, s, form):
    resources = [_affiliation("a1"), CLINIC, HOSPITAL, NETWORK, PLACE]
    if form == "folder":
        path = _write(tmp_path / "d", *resources)
    elif form == "ndjson":
        path = tmp_path / "export.ndjson"
        path.write_text("".join(json.dumps(r) + "\n" for r in resources))
    else:
        path = tmp_path / "page.json"
        path.write_text(json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": [
            {"resource": r, "search": {"mode": "match" if i == 0 else "include"}} for i, r in enumerate(resources)]}))
    res = load(str(path), s)
    assert res.frame[["record_id", "facility_name", "network_ids"]].values.tolist() == [
        ["OrganizationAffiliation/a1@Location/l1", "Rose City Family Clinic", "Cascade PPO"]]


# --- listings that are not current, and closed Locations --------------------------------------------

@pytest.mark.parametrize("listing, expected", [
    (_role("r9", active=False), ("PractitionerRole/r9", "PractitionerRole.active", "false")),
    (_role("r9", period={"start": "2020-01-01", "end": "2026-10-31T23:59:59Z"}),
     ("PractitionerRole/r9", "PractitionerRole.period.end", "2026-10-31T23:59:59Z")),
    (_role("r9", period={"start": "2026-12-01"}), ("PractitionerRole/r9", "PractitionerRole.period.start", "2026-12-01")),
    (_role("r9", period={"end": "2026-10"}), ("PractitionerRole/r9", "PractitionerRole.period.end", "2026-10")),
    ({"resourceType": "HealthcareService", "id": "r9", "active": "false", "location": [{"reference": "Location/l1"}]},
     ("HealthcareService/r9", "HealthcareService.active", "false")),
    (_affiliation("r9", period={"end": "2025-12-31"}),
     ("OrganizationAffiliation/r9", "OrganizationAffiliation.period.end", "2025-12-31")),
])
def test_a_listing_that_is_not_current_is_reported_and_not_audited(tmp_path, pn, listing, expected):
    listing = json.loads(json.dumps(listing))
    # it references what is not served: an ended listing's references are not followed or judged
    listing["location"] = [{"reference": "Location/l1"}, {"reference": "Location/gone"}]
    folder = _write(tmp_path / "d", _role("r1"), listing, PERSON, PLACE, CLINIC, HOSPITAL, NETWORK)
    result = audit(str(folder), pn)
    assert flat(result.findings) == [("plannet.inactive_listing",) + expected]
    assert result.table["record_id"].tolist() == ["PractitionerRole/r1@Location/l1"]
    finding = result.findings[result.findings["check_id"] == "plannet.inactive_listing"].iloc[0]
    assert finding["severity"] == "info" and "not audited" in finding["message"]


@pytest.mark.parametrize("period", [
    {"end": "2026-11-01"},                          # ends on the as-of date: still current that day
    {"end": "2026-11"},                             # a month: runs to its last day
    {"end": "2026"},
    {"start": "2026-11-01T08:00:00-08:00"},         # starts that day
    {"end": "until further notice"},               # no date: does not end the listing
    {},
])
def test_listings_current_on_the_as_of_date_are_audited(tmp_path, pn, period):
    folder = _write(tmp_path / "d", _role("r1", period=period, active=True), PERSON, PLACE)
    result = audit(str(folder), pn)
    assert flat(result.findings) == [] and len(result.table) == 1


def test_a_current_listing_at_a_closed_location_is_an_error_and_still_audited(tmp_path, pn):
    suspended = {**_second_place(), "status": "suspended"}
    closed_unused = {**PLACE, "id": "l3", "status": "inactive", "telecom": []}          # no phone: closed, no matter
    closed_ended = {**PLACE, "id": "l4", "active": False}
    ended = _role("r2", active=False, location=[{"reference": "Location/l4"}])
    role = _role("r1", location=[{"reference": "Location/l1"}, {"reference": "Location/l2"}])
    folder = _write(tmp_path / "d", role, ended, _affiliation("a1", locs=("Location/l2",)), PERSON, PLACE, suspended,
                    closed_unused, closed_ended, CLINIC, HOSPITAL, NETWORK)
    result = audit(str(folder), pn)
    assert flat(result.findings) == [
        ("plannet.inactive_listing", "PractitionerRole/r2", "PractitionerRole.active", "false"),
        ("plannet.inactive_location", "OrganizationAffiliation/a1@Location/l2", "Location.status", "status suspended"),
        ("plannet.inactive_location", "PractitionerRole/r1@Location/l2", "Location.status", "status suspended")]
    assert sorted(result.table["record_id"]) == ["OrganizationAffiliation/a1@Location/l2",
                                                 "PractitionerRole/r1@Location/l1", "PractitionerRole/r1@Location/l2"]
    errors = result.findings[result.findings["check_id"] == "plannet.inactive_location"]
    assert set(errors["severity"]) == {"error"} and set(errors["factor_item"]) == {"T1.i"}


@pytest.mark.parametrize("who, expected", [
    ("person", [("plannet.inactive_provider", "PractitionerRole/r1@Location/l1", "Practitioner.active", "false")]),
    ("clinic", [("plannet.inactive_provider", "OrganizationAffiliation/a1@Location/l1", "Organization.active", "false")]),
    ("hospital", []),            # the affiliation's host, not the organisation listed
    ("practice", []),            # the organisation a practitioner's role names as its practice
    ("ended", [("plannet.inactive_listing", "PractitionerRole/r1", "PractitionerRole.active", "false")]),
])
def test_a_current_listing_of_an_inactive_provider_is_a_warning(tmp_path, pn, who, expected):
    person, clinic, hospital = dict(PERSON), dict(CLINIC), dict(HOSPITAL)
    role = _role("r1", organization={"reference": "Organization/hospital"})
    {"person": person, "clinic": clinic, "hospital": hospital, "practice": hospital}.get(who, {})["active"] = False
    if who == "ended":
        person["active"] = role["active"] = False          # the role was ended with the person: all is well
    folder = _write(tmp_path / "d", role, person, _affiliation("a1"), clinic, hospital, NETWORK, PLACE)
    result = audit(str(folder), pn)
    assert flat(result.findings) == expected
    assert set(result.findings.loc[result.findings["check_id"] == "plannet.inactive_provider", "severity"]) <= {"warning"}


def test_a_directory_of_ended_listings_only_lists_no_providers(tmp_path):
    folder = _write(tmp_path / "d", _role("r1", active=False), PERSON, PLACE)
    result = audit(str(folder), load_settings(as_of="2026-11-01"))
    assert result.table.empty
    found = set(result.findings["check_id"])
    assert {"plannet.inactive_listing", "source.empty_directory"} <= found


def test_ended_listings_are_counted_in_the_summary(tmp_path):
    from click.testing import CliRunner
    from directory_audit.cli import main
    folder = _write(tmp_path / "d", _role("r1"), _role("r2", active=False), _affiliation("a1", period={"end": "2020"}),
                    PERSON, PLACE, CLINIC, HOSPITAL, NETWORK)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["audit", str(folder), "--out", str(out), "--as-of", "2026-11-01",
                                       "--check", "plannet", "--quiet"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rows_audited"] == 1
    assert summary["findings_by_check"]["plannet.inactive_listing"] == 2


# --- one directory, two formats ---------------------------------------------------------------------

def _line(record_id: str) -> str | None:
    m = re.search(r"directory\.csv:(\d+)$|/L(\d+)(?:@|$)", str(record_id))
    return m and (m.group(1) or m.group(2))


#: Findings one format cannot give: the NPI entity type has no Plan-Net element (it follows from the
#: resource type); unparseable CSV lines never become resources; a role without its own phone shows
#: its Location's, which another row at that address supplied; and the plannet.* conformance checks.
ONLY_CSV = {"identifier.npi_type_mismatch", "source.malformed_record"}


@pytest.fixture(scope="module")
def both_forms(tmp_path_factory):
    """The Oregon CSV fixture audited as CSV, and written as Plan-Net by fixtures/make_plannet.py."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_plannet", FIXTURES / "make_plannet.py")
    make = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make)
    folder = tmp_path_factory.mktemp("oregon-plannet")
    make.write(make.resources_from_csv(FIXTURES / "oregon" / "directory.csv"), folder, page_size=40)
    settings = load_settings(as_of="2026-11-01")
    return audit(str(FIXTURES / "oregon" / "directory.csv"), settings).findings, folder, settings


@pytest.mark.parametrize("form", ["export", "bundles"])
def test_csv_and_plannet_forms_of_one_directory_give_the_same_findings(both_forms, form):
    as_csv, folder, s = both_forms
    as_fhir = audit(str(folder / form), s).findings
    a = {(c, _line(r), f) for c, r, f in zip(as_csv["check_id"], as_csv["record_id"], as_csv["field"]) if c not in ONLY_CSV}
    b = {(c, _line(r), f) for c, r, f in zip(as_fhir["check_id"], as_fhir["record_id"], as_fhir["field"])
         if not c.startswith("plannet.")}
    assert len(a) > 100         # the fixture has over a hundred planted and incidental findings
    # CSV line 215 has no phone; its Location's phone (from another row at that address) is shown instead
    assert a - b == {("location.phone_missing", "215", "phone")}
    assert b - a == set()

    def lines(findings, check_id):
        return sorted(_line(r) for r in findings.loc[findings["check_id"] == check_id, "record_id"])
    # each must-support finding names the resource behind a row-level finding of the same gap
    assert lines(as_fhir, "plannet.missing_specialty") == lines(as_csv, "record.specialty_missing") != []
    assert lines(as_fhir, "plannet.missing_last_updated") == lines(as_csv, "update.last_updated_missing") != []
    assert lines(as_fhir, "plannet.missing_newpatients") == lines(as_csv, "open_practice.flag_missing") != []
    # the one Location no row gave a phone; the people listed without an NPI
    assert as_fhir.loc[as_fhir["check_id"] == "plannet.location_incomplete", "field"].tolist() == ["Location.telecom"]
    assert (as_fhir["check_id"] == "plannet.missing_npi").sum() == \
        as_csv.loc[as_csv["check_id"] == "identifier.npi_missing", "record_id"].nunique() == 2


def test_command_line_audits_the_committed_ndjson_export_with_auto_format(tmp_path):
    from click.testing import CliRunner
    from directory_audit.cli import main
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["audit", str(FIXTURES / "oregon" / "plannet" / "export"), "--out", str(out),
                                       "--as-of", "2026-11-01", "--check", "plannet", "--quiet"])
    assert result.exit_code == 1, result.output            # a Location without telecom is an error
    summary = json.loads((out / "summary.json").read_text())
    assert summary["format"] == "plannet" and summary["rows_audited"] == 281
    assert summary["findings_by_check"]["plannet.location_incomplete"] == 1
    bad = tmp_path / "bad.ndjson"
    bad.write_bytes(b"\xff\xfe not utf-8\n")
    result = CliRunner().invoke(main, ["audit", str(bad), "--format", "plannet", "--out", str(out), "--quiet"])
    assert result.exit_code == 2
    assert "bad.ndjson:1 (byte offset 0) is not JSON" in result.output


# --- resources of any shape ------------------------------------------------------------------------

#: strings that join: references to the ids drawn below, dates, Location states
_joining = st.sampled_from(["Location/a", "HealthcareService/b", "Organization/c", "Practitioner/a", "2025-01",
                            "2099", "inactive", "false"])
_json = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8) | _joining,
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                         st.sampled_from(["reference", "coding", "code", "system", "text", "url", "value",
                                          "valueBoolean", "valueCodeableConcept", "extension", "line", "given"]),
                         inner, max_size=3), max_leaves=12)
_fields = ["practitioner", "organization", "location", "healthcareService", "specialty", "extension", "telecom",
           "meta", "name", "identifier", "communication", "address", "providedBy", "network", "contained",
           "participatingOrganization", "period", "active", "status", "healthcareService"]


@given(st.lists(st.fixed_dictionaries(
    {"resourceType": st.sampled_from(["PractitionerRole", "Practitioner", "Location", "Organization",
                                      "HealthcareService", "InsurancePlan", "OrganizationAffiliation"]),
     "id": st.sampled_from(["a", "b", "c"])},
    optional={f: _json for f in _fields}), min_size=1, max_size=6))
def test_resources_of_any_shape_give_rows_or_problems_never_a_crash(resources):
    """Servers send what they send: wrong types where the guide wants lists, objects where it wants
    strings. The loader reads what it can and never raises."""
    d = plannet.Directory()
    for i, r in enumerate(resources):
        d.add(r, f"t:{i}", "t")
    frame, detail = plannet.build_rows(d)
    assert list(frame.columns) == plannet.COLUMNS and len(detail) == len(frame)
    assert len(frame) >= len(set(d.roles["key"]))
    # the readers cope with every shape themselves; the loader's last-resort catch never has to
    assert not [p for p in d.problems if "cannot be read (" in p["message"]]

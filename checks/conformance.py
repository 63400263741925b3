"""FHIR Plan-Net conformance and integrity: what only the Plan-Net loader can see (references that go
nowhere, pages that failed, paging that loops, must-support elements our checks read, listings that
ended and so were not audited, current listings at closed sites). The loader
files each under one of these ids (``loaders/plannet.py``); every check here reports them with the
resource id and the element path, mapped to the factor item the missing information evidences."""
from __future__ import annotations

import pandas as pd

from directory_audit.registry import check
from directory_audit.runner import AuditContext

from .records import problem_findings


@check(id="plannet.dangling_reference", factor="T1.i", severity="error",
       title="Reference to a resource the directory does not serve",
       message="{field} refers to {observed}, which the directory does not serve")
def dangling_reference(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """A current role, service or affiliation that points at a Practitioner, Location, Organization
    (participating or host), service or network the API does not return (not included, and not found
    when fetched by id) shows a listing with its name, address or network missing: the location is not
    transparent to the public. An ended listing's references are not judged (``inactive_listing``)."""
    return problem_findings(context, "plannet.dangling_reference")


@check(id="plannet.role_without_location", factor="T1.i", severity="error",
       title="Role or service with no location", message="{record_id} lists no Location")
def role_without_location(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """A PractitionerRole, HealthcareService or OrganizationAffiliation with no Location cannot tell
    anyone where the provider sees patients; it is audited as one row without an address and reported
    here."""
    return problem_findings(context, "plannet.role_without_location")


@check(id="plannet.location_incomplete", factor="T1.i", severity="error",
       title="Location without an address or telecom", message="{record_id} has no {field}")
def location_incomplete(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """A Plan-Net Location must carry its address and a way to reach it; without them every provider
    listed there lacks a usable practice location. A closed Location (status inactive or suspended)
    is exempt: nobody should be sent there, and a current listing that does is ``inactive_location``."""
    return problem_findings(context, "plannet.location_incomplete")


@check(id="plannet.operation_outcome", factor="T2.ii", severity="error",
       title="OperationOutcome in place of search results", message="server answered {observed}")
def operation_outcome(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """A search that returns an OperationOutcome (an error, or a refusal of the search parameters)
    instead of a Bundle means the public cannot search that part of the directory."""
    return problem_findings(context, "plannet.operation_outcome")


@check(id="plannet.page_failed", factor="T2.ii", severity="error",
       title="Search page failed after retries", message="page {record_id} failed: {observed}")
def page_failed(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """A page that still fails after the client's retries (5xx, timeout, not a Bundle) hides every
    listing on it and every page after it: the directory is not fully searchable."""
    return problem_findings(context, "plannet.page_failed")


@check(id="plannet.next_loop", factor="T2.ii", severity="warning",
       title="Paging loops", message="paging stopped at {record_id}: {observed}")
def next_loop(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """A Bundle whose ``next`` link returns to a page already read (or an empty page that still links
    on) never ends; a client following it cannot list the whole directory."""
    return problem_findings(context, "plannet.next_loop")


@check(id="plannet.missing_npi", factor="T1.i", severity="info",
       title="Practitioner without an NPI identifier", message="{record_id} has no {field}")
def missing_npi(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """Plan-Net requires the NPI (system http://hl7.org/fhir/sid/us-npi) on a Practitioner; without it
    the listing cannot be checked against NPPES or told apart from a namesake."""
    return problem_findings(context, "plannet.missing_npi")


@check(id="plannet.missing_specialty", factor="T2.ii", severity="info",
       title="PractitionerRole without a specialty", message="{record_id} has no {field}")
def missing_specialty(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """PractitionerRole.specialty is must-support; enrollees search by it (T2.ii)."""
    return problem_findings(context, "plannet.missing_specialty")


@check(id="plannet.missing_last_updated", factor="T1.ii", severity="info",
       title="Role without meta.lastUpdated", message="{record_id} has no {field}")
def missing_last_updated(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """Without meta.lastUpdated on the role (or its practitioner) the age of the listing, and so how
    often the directory is updated, cannot be shown."""
    return problem_findings(context, "plannet.missing_last_updated")


@check(id="plannet.missing_newpatients", factor="T1.iii", severity="info",
       title="No newpatients extension", message="{record_id} has no {field}")
def missing_newpatients(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """The newpatients extension (on the role, its Location or its HealthcareService) is how Plan-Net
    says whether a practice is open; without it open-practice information is not kept. Not asked of an
    OrganizationAffiliation: an organisation's participation in a network has no panel status, as
    organisation rows are exempt from ``open_practice.flag_missing``."""
    return problem_findings(context, "plannet.missing_newpatients")


@check(id="plannet.inactive_listing", factor="T1.ii", severity="info",
       title="Ended listing kept in the directory (not audited)",
       message="{record_id} is not a current listing ({field} {observed}); not audited")
def inactive_listing(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """Plan-Net servers keep ended roles rather than delete them: a PractitionerRole, HealthcareService
    or OrganizationAffiliation with ``active: false``, a ``period.end`` before the as-of date, or a
    ``period.start`` after it, is not a provider-location an enrollee can use today. It is not audited
    as one (no phone, accepting or location findings about a role that ended), and it is listed here
    with its id, so the summary counts what was left out and nothing disappears silently. Info: marking
    an ended role inactive is how the guide wants it done. A listing with no ``active`` and no
    ``period`` is current."""
    return problem_findings(context, "plannet.inactive_listing")


@check(id="plannet.inactive_location", factor="T1.i", severity="error",
       title="Current listing at a closed Location",
       message="{record_id}: the Location is closed ({observed})")
def inactive_location(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """A current PractitionerRole, HealthcareService or OrganizationAffiliation that lists a Location
    whose ``status`` is inactive or suspended (or that says ``active: false``) sends an enrollee to a
    site that is not open: the practice location shown is wrong. One finding per provider-location row
    (the row is still audited, as the directory shows it). A closed Location that no current listing
    uses is silent, and needs no address or telecom (``plannet.location_incomplete``)."""
    return problem_findings(context, "plannet.inactive_location")


@check(id="plannet.inactive_provider", factor="T1.i", severity="warning",
       title="Current listing of an inactive provider",
       message="{record_id}: the listed provider's {field} is {observed}")
def inactive_provider(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """A current PractitionerRole whose Practitioner says ``active: false`` (or a current service or
    affiliation whose listed Organization does) shows enrollees a provider the directory itself marks
    inactive; most often the role was not ended when the person left. The row is audited as shown and
    reported once per provider-location. A warning, not an error: which of the two resources is right
    only the insurer knows. An inactive Organization a practitioner's role merely names as its practice
    is not judged here."""
    return problem_findings(context, "plannet.inactive_provider")

"""FHIR Plan-Net provider directories (Da Vinci PDex Plan-Net, FHIR R4): saved search Bundles, folders
of single resources, NDJSON bulk exports, or a live API searched page by page.

Every resource is reduced, as it is read, to the few fields a directory row needs (names, NPI,
address, phone, accepting status, languages, dates) and to the *ids* of what it references; whole
resources are never kept. A page or file is dropped once summarized, so memory follows the number
of roles, locations and people, not the bytes read. When everything is read the summaries are
joined in pandas into one raw row per PractitionerRole x Location (and per HealthcareService x
Location and OrganizationAffiliation x Location), and what could not be joined, or is missing, becomes a
loader problem filed under a ``plannet.*`` check id (see ``checks/conformance.py``).

Only *current* listings become rows. A PractitionerRole, HealthcareService or OrganizationAffiliation
with ``active: false``, a ``period.end`` before the as-of date or a ``period.start`` after it is an
ended (or not yet started) listing that Plan-Net servers keep on purpose: it is filed as a
``plannet.inactive_listing`` problem, with its id, and not audited. A closed Location (``status``
inactive or suspended, or ``active: false``) is read like any other; a current listing that still
sends people there is filed as ``plannet.inactive_location``.

Both generations of the guide are read: the 2019 drafts (``plannet-NewPatients-extension`` with a
boolean, ``plannet-Network-reference-extension``, vhdir ``communication-proficiency``) and the
current guide (``newpatients`` with AcceptingPatientsCS codes, ``network-reference``). Extensions
are matched on the last segment of their URL, so the vhdir and Plan-Net spellings both count.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urljoin, urlsplit

import ijson
import numpy as np
import pandas as pd

from ..errors import InputError, MalformedJSON, SourceNotFound
from ..model import RAW_FIELDS, SOURCE_COLUMNS
from ..progress import Progress
from ..settings import Settings
from . import LoadResult, problems_frame, sha256_of
from .jsonguard import GuardedReader, check_depth

NPI_SYSTEM = "http://hl7.org/fhir/sid/us-npi"
NUCC_SYSTEM = "http://nucc.org/provider-taxonomy"
BCP47_SYSTEM = "urn:ietf:bcp:47"
NEWPATIENTS = {"newpatients", "plannet-newpatients-extension"}
NETWORK_REFERENCE = {"network-reference", "plannet-network-reference-extension"}
PROFICIENCY = {"communication-proficiency"}
NETWORK_TYPE_CODES = {"ntwk"}
#: Files a folder is read from; anything else in it is ignored (a README, a zip).
JSON_SUFFIXES = (".json", ".ndjson", ".jsonl")
NDJSON_SUFFIXES = (".ndjson", ".jsonl")
#: A file at most this big is parsed whole; bigger ones are streamed entry by entry with ijson.
WHOLE_FILE_BYTES = 32 * 1024 * 1024
#: Ids per ``Type?_id=a,b,c`` request when fetching what search pages did not include.
ID_BATCH = 50
DIRECTORY_TYPES = ("PractitionerRole", "HealthcareService", "OrganizationAffiliation")
#: Page size asked of a live API, and its request rate: an API is built for programs, but one that
#: a regulator audits from outside should not feel it (the client's 1/s default suits web pages).
PAGE_COUNT = 200
API_REQUESTS_PER_SECOND = 5.0
SEARCH_INCLUDES = {
    "PractitionerRole": ("PractitionerRole:practitioner", "PractitionerRole:location",
                         "PractitionerRole:organization", "PractitionerRole:network"),
    "HealthcareService": ("HealthcareService:location", "HealthcareService:organization"),
    "OrganizationAffiliation": ("OrganizationAffiliation:participating-organization",
                                "OrganizationAffiliation:primary-organization", "OrganizationAffiliation:location",
                                "OrganizationAffiliation:service", "OrganizationAffiliation:network"),
}
#: Location.status values of a site that is not open to patients (R4 Location has no ``active``;
#: some servers send one anyway, and ``active: false`` counts too).
CLOSED_LOCATION_STATUS = {"inactive", "suspended"}
COLUMNS = list(SOURCE_COLUMNS) + list(RAW_FIELDS)
_RESOURCE_TYPE = re.compile(rb'"resourceType"\s*:\s*"')


# --- reading resources out of FHIR JSON --------------------------------------------------------------

def ref_key(reference: Any, aliases: dict[str, str] | None = None) -> str | None:
    """'Type/id' of a Reference (relative, absolute URL, versioned, or a Bundle ``urn:uuid`` fullUrl)."""
    ref = reference.get("reference") if isinstance(reference, dict) else None
    if not isinstance(ref, str) or not ref.strip():
        return None
    ref = ref.strip()
    if aliases and ref in aliases:
        return aliases[ref]
    if ref.startswith("#") or ref.startswith("urn:"):
        return ref
    parts = [p for p in ref.split("?")[0].split("/") if p]
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return "/".join(parts[-2:]) if len(parts) >= 2 else ref


def _list(value: Any) -> list:
    """A FHIR repeating element as a list: servers send a lone object, or a number, where a list belongs."""
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, dict) else []


def _strings(value: Any) -> list[str]:
    """A repeating string element (given names, address lines) as a list of non-empty strings."""
    values = value if isinstance(value, list) else [value]
    return [t for t in (_text(v) for v in values) if t]


def _text(value: Any) -> str | None:
    """A string element as text (a number or boolean sent in its place is shown as written)."""
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value).lower() if isinstance(value, bool) else str(value)


def _extensions(resource: dict, names: set[str]) -> list[dict]:
    return [e for e in _list(resource.get("extension")) if isinstance(e, dict)
            and str(e.get("url", "")).rstrip("/").rsplit("/", 1)[-1].lower() in names]


def _concept_codes(concept: Any, system: str | None = None) -> list[str]:
    if not isinstance(concept, dict):
        return []
    return [str(c["code"]) for c in _list(concept.get("coding")) if isinstance(c, dict) and c.get("code")
            and (system is None or c.get("system") == system)]


def _concept_text(concept: Any, prefer_system: str | None = None) -> str | None:
    """A CodeableConcept as one value: the code in ``prefer_system``, else its display or text, else any code."""
    if not isinstance(concept, dict):
        return None
    if prefer_system:
        codes = _concept_codes(concept, prefer_system)
        if codes:
            return codes[0]
    codings = [c for c in _list(concept.get("coding")) if isinstance(c, dict)]
    for c in codings:
        if c.get("display"):
            return str(c["display"])
    if concept.get("text"):
        return str(concept["text"])
    for c in codings:
        if c.get("code"):
            return str(c["code"])
    return None


def _value(ext: dict) -> str | None:
    """The value[x] of an extension as text: a code for a CodeableConcept, true/false for a boolean."""
    for key, v in ext.items():
        if not key.startswith("value"):
            continue
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, dict):
            if "coding" in v or "text" in v:
                codes = _concept_codes(v)
                return codes[0] if codes else (str(v["text"]) if v.get("text") else None)
            if "code" in v:
                return str(v["code"])
            return None
        return None if v is None else str(v)
    return None


def newpatients(resource: dict, aliases: dict[str, str] | None = None) -> list[tuple[str | None, str | None]]:
    """(acceptingPatients value, fromNetwork 'Type/id') of each newpatients extension, in all three shapes:
    2019 ``plannet-NewPatients-extension`` with a boolean, 2020 ``newpatients`` with a boolean, and today's
    ``newpatients`` with an AcceptingPatientsCS code (newpt, nopt, existptonly, existptofothr)."""
    out = []
    for ext in _extensions(resource, NEWPATIENTS):
        accepting = from_network = None
        for sub in _list(ext.get("extension")):
            if not isinstance(sub, dict):
                continue
            if sub.get("url") == "acceptingPatients":
                accepting = _value(sub)
            elif sub.get("url") == "fromNetwork":
                from_network = ref_key(sub.get("valueReference"), aliases)
        if accepting is None and any(k.startswith("value") for k in ext):
            accepting = _value(ext)          # a flat boolean some servers send
        out.append((accepting, from_network))
    return out


def networks(resource: dict, aliases: dict[str, str] | None = None) -> list[str]:
    return [k for k in (ref_key(e.get("valueReference"), aliases) for e in _extensions(resource, NETWORK_REFERENCE)) if k]


def phone(*resources: dict | None) -> str | None:
    """The first phone number, resource by resource (a role's own telecom before its location's), by rank."""
    for r in resources:
        if not r:
            continue
        phones = [t for t in _list(r.get("telecom")) if isinstance(t, dict) and t.get("system") == "phone" and t.get("value")]
        if phones:
            phones.sort(key=lambda t: t.get("rank") if isinstance(t.get("rank"), int) else 1 << 30)
            return _text(phones[0]["value"])
    return None


def npi_of(resource: dict) -> str | None:
    for ident in _list(resource.get("identifier")):
        if isinstance(ident, dict) and ident.get("system") == NPI_SYSTEM and _text(ident.get("value")):
            return _text(ident["value"])
    return None


def languages(resource: dict) -> tuple[list[str], list[str]]:
    """(language values, 'tag:proficiency' pairs) from ``communication`` (BCP-47 codes preferred)."""
    values, proficiency = [], []
    for comm in _list(resource.get("communication")):
        lang = _concept_text(comm, BCP47_SYSTEM)
        if not lang:
            continue
        values.append(lang)
        for ext in _extensions(comm, PROFICIENCY):
            level = _value(ext)
            if level:
                proficiency.append(f"{lang}:{level}")
    return values, proficiency


def _join(values: Iterable[str | None], sep: str = "; ") -> str | None:
    values = [v for v in dict.fromkeys(values) if v]
    return sep.join(values) if values else None


def _person_name(resource: dict) -> dict[str, str | None]:
    names = [n for n in _list(resource.get("name")) if isinstance(n, dict)]
    if not names:
        return {}
    order = {"official": 0, "usual": 1}
    name = min(names, key=lambda n: order.get(n.get("use") if isinstance(n.get("use"), str) else "", 2))
    given = _strings(name.get("given"))
    if not given and not _text(name.get("family")):
        return {"name": _text(name.get("text"))}
    return {"prefix": _join(_strings(name.get("prefix")), " "), "first_name": given[0] if given else None,
            "middle_name": " ".join(given[1:]) or None, "last_name": _text(name.get("family")),
            "suffix": _join(_strings(name.get("suffix")), ", ")}


def _address(resource: dict) -> dict[str, str | None]:
    address = resource.get("address")
    if isinstance(address, list):
        address = next((a for a in address if isinstance(a, dict)), None)
    if not isinstance(address, dict):
        return {}
    lines = _strings(address.get("line"))
    if not lines and not _text(address.get("city")) and _text(address.get("text")):
        return {"address_line1": _text(address["text"])}      # a one-line address; normalize splits it
    return {"address_line1": lines[0] if lines else None, "address_line2": ", ".join(lines[1:]) or None,
            "city": _text(address.get("city")), "state": _text(address.get("state")),
            "zip": _text(address.get("postalCode")), "county": _text(address.get("district"))}


def _last_updated(resource: dict) -> str | None:
    meta = resource.get("meta")
    return _text(meta.get("lastUpdated")) if isinstance(meta, dict) else None


_PARTIAL_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")


def _date_bound(value: Any, last: bool) -> str | None:
    """A FHIR date or dateTime as 'YYYY-MM-DD' for comparing with the as-of date: a partial date
    ('2026', '2026-10') as its first day, or with ``last`` its last (an end of '2026' runs to 2026-12-31).
    None for text that is no date: an unreadable bound does not end a listing."""
    m = _PARTIAL_DATE.match(value.strip()) if isinstance(value, str) else None
    if not m:
        return None
    year, month, day = m.group(1), m.group(2), m.group(3)
    return f"{year}-{month or ('12' if last else '01')}-{day or ('31' if last else '01')}"


def _says_inactive(resource: dict) -> bool:
    """``active: false`` (a boolean, or the text some servers send)."""
    active = resource.get("active")
    return active is False or (isinstance(active, str) and active.strip().lower() == "false")


def not_current(resource: dict, as_of: str) -> tuple[str, str] | None:
    """(element, value) saying why a listing is not current on ``as_of`` ('YYYY-MM-DD'): ``active``
    false, ``period.end`` before the date, or ``period.start`` after it; None when it is current.
    ``active`` missing means active (FHIR's default reading of a directory entry)."""
    if _says_inactive(resource):
        return "active", "false"
    period = resource.get("period")
    if isinstance(period, dict):
        end, start = _date_bound(period.get("end"), last=True), _date_bound(period.get("start"), last=False)
        if end is not None and end < as_of:
            return "period.end", str(period["end"])
        if start is not None and start > as_of:
            return "period.start", str(period["start"])
    return None


def location_closed(resource: dict) -> str | None:
    """'status inactive' / 'status suspended' / 'active false' for a Location not open to patients."""
    status = resource.get("status")
    if isinstance(status, str) and status.strip().lower() in CLOSED_LOCATION_STATUS:
        return f"status {status.strip().lower()}"
    if _says_inactive(resource):
        return "active false"
    return None


def _is_network(resource: dict) -> bool:
    if resource.get("resourceType") == "Network":
        return True
    meta = resource.get("meta")
    profiles = _list(meta.get("profile")) if isinstance(meta, dict) else []
    if any(str(p).endswith("plannet-Network") for p in profiles):
        return True
    return any(set(_concept_codes(t)) & NETWORK_TYPE_CODES for t in _list(resource.get("type")))


# --- the summaries ----------------------------------------------------------------------------------

@dataclass
class Directory:
    """What has been read so far, as compact summaries keyed by 'Type/id'. Roles and services are
    column lists (one entry each), the resources they point at small tuples of strings."""
    roles: dict[str, list] = field(default_factory=lambda: {c: [] for c in ROLE_COLUMNS})
    people: dict[str, tuple] = field(default_factory=dict)
    places: dict[str, tuple] = field(default_factory=dict)
    orgs: dict[str, tuple] = field(default_factory=dict)
    services: dict[str, tuple] = field(default_factory=dict)
    plans: dict[str, tuple] = field(default_factory=dict)
    #: each listing read, with the search (``search``) it was first read in
    seen_roles: dict[str, int] = field(default_factory=dict)
    search: int = 0
    #: the date listings are judged current on ('YYYY-MM-DD'): the audit's as-of date
    as_of: str = field(default_factory=lambda: dt.date.today().isoformat())
    inactive: int = 0
    #: listings read for the first time, by type, and read again within the search that first read
    #: them, by type: how a paging loop is told from a service a role page included earlier
    listed: dict[str, int] = field(default_factory=dict)
    repeated_by: dict[str, int] = field(default_factory=dict)
    problems: list[dict[str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    repeated: int = 0
    #: one object per distinct value of the fields that repeat (dates, cities, names, accepting tuples):
    #: a hundred thousand roles hold a few thousand distinct values, not a hundred thousand copies
    _shared: dict = field(default_factory=dict)

    def share(self, *values):
        return tuple(v if v is None else self._shared.setdefault(v, v) for v in values)

    def known(self, key: str) -> bool:
        kind = key.split("/", 1)[0]
        table = {"Practitioner": self.people, "Location": self.places, "Organization": self.orgs,
                 "Network": self.orgs, "HealthcareService": self.services, "InsurancePlan": self.plans}.get(kind)
        return table is not None and key in table

    def problem(self, check_id: str, record_id: str, field_: str, observed: str, expected: str, message: str,
                **detail: Any) -> None:
        self.problems.append({"record_id": record_id, "field": field_, "observed": observed, "expected": expected,
                              "message": message, "check_id": check_id,
                              "detail": json.dumps(detail, sort_keys=True) if detail else ""})

    def add(self, resource: Any, where: str, source: str, aliases: dict[str, str] | None = None) -> None:
        """Summarize one resource read from ``where`` (file:line, page URL...)."""
        if not isinstance(resource, dict):
            self.problem("source.malformed_record", where, "(resource)", json.dumps(resource)[:200],
                         "a FHIR resource object", f"{where} is not a FHIR resource; it is not audited")
            return
        kind = resource.get("resourceType")
        rid = resource.get("id")
        if kind == "OperationOutcome":
            self.outcome(resource, where)
            return
        if kind == "Bundle":                       # a Bundle inside a folder or an NDJSON line
            self.add_bundle(resource, where, source)
            return
        if not isinstance(kind, str) or not isinstance(rid, (str, int)) or str(rid) == "":
            self.problem("source.malformed_record", where, "resourceType/id",
                         json.dumps({"resourceType": kind, "id": rid})[:200], "a resource with a resourceType and an id",
                         f"{where}: a resource without a resourceType or id cannot be referenced; it is not audited")
            return
        key = f"{kind}/{rid}"
        self.counts[kind] = self.counts.get(kind, 0) + 1
        aliases = aliases or {}
        contained = [c for c in _list(resource.get("contained")) if isinstance(c, dict) and _text(c.get("id"))
                     and isinstance(c.get("resourceType"), str) and c["resourceType"] in SUMMARIZERS]
        if contained:
            # '#loc1' inside this resource means its contained Location loc1: give it a key of its own
            aliases = {**aliases, **{f"#{c['id']}": f"{c['resourceType']}/{rid}.{c['id']}" for c in contained}}
            for c in contained:
                SUMMARIZERS[c["resourceType"]](self, f"{c['resourceType']}/{rid}.{c['id']}", c, source, aliases)
        summarize = SUMMARIZERS.get(kind)
        if summarize is not None:
            try:
                summarize(self, key, resource, source, aliases)
            except (TypeError, AttributeError, ValueError, KeyError) as exc:
                # a shape no guide version allows and the readers above do not foresee: reported, not lost
                self.problem("source.malformed_record", where, key, json.dumps(resource, default=str)[:200],
                             f"a {kind} as the Plan-Net guide shapes it",
                             f"{where}: {key} cannot be read ({type(exc).__name__}: {exc}); it is not audited")

    def add_bundle(self, bundle: dict, where: str, source: str) -> None:
        entries = [e for e in _list(bundle.get("entry")) if isinstance(e, dict)]
        aliases = bundle_aliases(entries)
        for i, entry in enumerate(entries):
            resource = entry.get("resource")
            if isinstance(resource, dict) and resource.get("resourceType") == "OperationOutcome" and not any(
                    isinstance(x, dict) and x.get("severity") in ("error", "fatal") for x in _list(resource.get("issue"))):
                continue      # a search's own warnings (an _include it ignored) beside its results, not a failure
            self.add(resource, f"{where} entry[{i}]", source, aliases)

    def outcome(self, resource: dict, where: str) -> None:
        issues = [i for i in _list(resource.get("issue")) if isinstance(i, dict)]
        text = "; ".join(f"{i.get('severity', '?')} {i.get('code', '?')}: "
                         f"{i.get('diagnostics') or _concept_text(i.get('details')) or ''}".strip() for i in issues)
        self.problem("plannet.operation_outcome", where, "Bundle", f"OperationOutcome: {text}"[:500],
                     "a searchset Bundle", f"the server answered with an OperationOutcome instead of results ({text[:200]})")


def bundle_aliases(entries: list[dict]) -> dict[str, str]:
    """fullUrl -> 'Type/id' for entries whose references use fullUrls (urn:uuid or absolute URLs)."""
    aliases = {}
    for e in entries:
        r = e.get("resource")
        if isinstance(r, dict) and e.get("fullUrl") and r.get("resourceType") and r.get("id"):
            aliases[str(e["fullUrl"])] = f"{r['resourceType']}/{r['id']}"
    return aliases


ROLE_COLUMNS = ("key", "kind", "who", "org", "host", "locations", "services", "networks", "specialties",
                "accepting", "phone", "last_updated", "languages", "proficiency", "service_name", "source")
#: The listing kinds, by resource type: a practitioner's role, a facility's service, an organisation's
#: participation in a network (OrganizationAffiliation).
LISTING_KINDS = {"PractitionerRole": "role", "HealthcareService": "service", "OrganizationAffiliation": "affiliation"}


def _refs(r: dict, element: str, aliases: dict[str, str]) -> tuple[str, ...]:
    return tuple(k for k in (ref_key(x, aliases) for x in _list(r.get(element))) if k)


def _role(d: Directory, key: str, r: dict, source: str, aliases: dict[str, str]) -> None:
    """A listing: PractitionerRole, HealthcareService or OrganizationAffiliation. One that is not
    current on the as-of date is counted and filed, not audited."""
    kind_name = key.split("/", 1)[0]
    if key in d.seen_roles:       # the same role on two pages (a server paging by an unstable sort)
        d.repeated += 1
        if d.seen_roles[key] == d.search:
            d.repeated_by[kind_name] = d.repeated_by.get(kind_name, 0) + 1
        return
    d.seen_roles[key] = d.search
    d.listed[kind_name] = d.listed.get(kind_name, 0) + 1
    ended = not_current(r, d.as_of)
    if ended is not None:
        element, value = ended
        d.inactive += 1
        d.problem("plannet.inactive_listing", key, f"{kind_name}.{element}", value,
                  f"a current listing (active, period covering {d.as_of})",
                  f"{key} is not a current listing ({kind_name}.{element} {value}); it is not audited as a "
                  f"provider-location")
        return
    kind = LISTING_KINDS[kind_name]
    nets = networks(r, aliases)
    if kind == "affiliation":      # an affiliation names its networks in an element of its own
        nets = list(dict.fromkeys(list(_refs(r, "network", aliases)) + nets))
    specialties = [_concept_text(s, NUCC_SYSTEM) for s in _list(r.get("specialty"))]
    langs, prof = languages(r) if kind != "role" else ([], [])
    org = {"role": "organization", "service": "providedBy", "affiliation": "participatingOrganization"}[kind]
    row = {"key": key, "kind": kind,
           "who": ref_key(r.get("practitioner"), aliases) if kind == "role" else None,
           "org": ref_key(r.get(org), aliases),
           # the organisation an affiliation is with (a hospital, the network's owner); the 2019 drafts
           # put the participating organisation itself there and had no participatingOrganization
           "host": ref_key(r.get("organization"), aliases) if kind == "affiliation" else None,
           "locations": _refs(r, "location", aliases),
           "services": tuple(k for k in (ref_key(x, aliases) for x in _list(r.get("healthcareService"))) if k),
           "networks": d.share(tuple(nets))[0], "specialties": d.share(_join(specialties))[0],
           "accepting": d.share(tuple(newpatients(r, aliases)))[0], "phone": phone(r),
           "last_updated": d.share(_last_updated(r))[0], "languages": _join(langs), "proficiency": _join(prof),
           "service_name": _text(r.get("name")) if kind == "service" else None, "source": source}
    for c in ROLE_COLUMNS:
        d.roles[c].append(row[c])


def _practitioner(d: Directory, key: str, r: dict, source: str, aliases: dict[str, str]) -> None:
    name = _person_name(r)
    langs, prof = languages(r)
    d.people[key] = (npi_of(r),) + d.share(name.get("prefix"), name.get("first_name"), name.get("middle_name"),
                                           name.get("last_name"), name.get("suffix")) + \
        (name.get("name"),) + d.share(_text(r.get("gender")), _join(langs), _join(prof), _last_updated(r)) + \
        (_says_inactive(r),)


PEOPLE_COLUMNS = ("npi", "prefix", "first_name", "middle_name", "last_name", "suffix", "person_name", "gender",
                  "person_languages", "person_proficiency", "person_updated", "person_inactive")
PERSON_UPDATED = PEOPLE_COLUMNS.index("person_updated")


def _location(d: Directory, key: str, r: dict, source: str, aliases: dict[str, str]) -> None:
    a = _address(r)
    langs, _ = languages(r)
    d.places[key] = (_text(r.get("name")), a.get("address_line1")) + \
        d.share(a.get("address_line2"), a.get("city"), a.get("state"), a.get("zip"), a.get("county")) + \
        (phone(r),) + d.share(tuple(newpatients(r, aliases)), _join(langs)) + \
        (bool(a), bool(phone(r) or any(isinstance(t, dict) and t.get("value") for t in _list(r.get("telecom")))),
         location_closed(r))


PLACE_COLUMNS = ("location_name", "address_line1", "address_line2", "city", "state", "zip", "county",
                 "location_phone", "location_accepting", "location_languages", "has_address", "has_telecom",
                 "location_closed")
HAS_ADDRESS, HAS_TELECOM, CLOSED = (PLACE_COLUMNS.index(c) for c in ("has_address", "has_telecom", "location_closed"))


def _organization(d: Directory, key: str, r: dict, source: str, aliases: dict[str, str]) -> None:
    group = any("prvgrp" in _concept_codes(t) for t in _list(r.get("type")))
    d.orgs[key] = (_text(r.get("name")), npi_of(r), _is_network(r), group, _last_updated(r), phone(r),
                   _says_inactive(r))


ORG_COLUMNS = ("org_name", "org_npi", "org_is_network", "org_is_group", "org_updated", "org_phone", "org_inactive")


def _service(d: Directory, key: str, r: dict, source: str, aliases: dict[str, str]) -> None:
    # A service is both a directory row of its own and what a role's accepting status may sit on.
    langs, _ = languages(r)
    d.services[key] = (tuple(newpatients(r, aliases)), _join(langs))
    _role(d, key, r, source, aliases)


def _plan(d: Directory, key: str, r: dict, source: str, aliases: dict[str, str]) -> None:
    nets = [ref_key(n, aliases) for n in _list(r.get("network"))]
    for p in _list(r.get("plan")):
        if isinstance(p, dict):
            nets.extend(ref_key(n, aliases) for n in _list(p.get("network")))
    d.plans[key] = tuple(n for n in dict.fromkeys(nets) if n)


SUMMARIZERS = {"PractitionerRole": _role, "Practitioner": _practitioner, "Location": _location,
               "Organization": _organization, "Network": _organization, "HealthcareService": _service,
               "InsurancePlan": _plan, "OrganizationAffiliation": _role}


# --- files ------------------------------------------------------------------------------------------

def is_fhir_file(path: Path) -> bool:
    """A JSON or NDJSON file whose first bytes name a resourceType (QHP files never do)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536)
    except OSError:
        return False
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{" and bool(_RESOURCE_TYPE.search(head))


def is_ndjson(path: Path) -> bool:
    if path.suffix.lower() in NDJSON_SUFFIXES:
        return True
    with open(path, "rb") as fh:
        first = fh.readline(WHOLE_FILE_BYTES).strip()
        second = fh.readline(16).strip()
    if not first.startswith(b"{") or not second.startswith(b"{"):
        return False
    try:
        json.loads(first)
    except (ValueError, RecursionError):
        return False
    return True


def source_files(source: Path) -> list[Path]:
    if source.is_dir():
        files = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in JSON_SUFFIXES
                       and not p.name.startswith("."))
        if not files:
            raise SourceNotFound(f"{source}: folder holds no .json, .ndjson or .jsonl files; expected saved "
                                 f"Plan-Net search Bundles, single FHIR resources or an NDJSON export.")
        return files
    return [source]


def read_file(d: Directory, path: Path, label: str, progress: Progress) -> None:
    if is_ndjson(path):
        _read_ndjson(d, path, label, progress)
    elif path.stat().st_size <= WHOLE_FILE_BYTES:
        d.add(_read_json(path), label, str(path))
    else:
        _stream_bundle(d, path, label, progress)


def _read_json(path: Path) -> Any:
    data = path.read_bytes()
    check_depth(data, str(path))        # issue 17: nesting past any real directory's is refused, not recursed into
    try:
        return json.loads(data)
    except UnicodeDecodeError as exc:
        raise MalformedJSON(f"{path}: byte offset {exc.start}: not UTF-8 ({exc.reason}); FHIR JSON is UTF-8.") from None
    except json.JSONDecodeError as exc:
        byte = len(exc.doc[: exc.pos].encode("utf-8"))
        raise MalformedJSON(f"{path}: malformed JSON at byte offset {byte} (line {exc.lineno}, column {exc.colno}): "
                            f"{exc.msg}. Expected a FHIR resource or searchset Bundle.") from None


def _read_ndjson(d: Directory, path: Path, label: str, progress: Progress) -> None:
    # One resource per line ($export): a line that does not parse is a malformed-record finding, the
    # rest of the file is still read.
    with open(path, "rb") as fh, progress.task(f"reading {path.name}", total=path.stat().st_size) as task:
        offset = 0
        for n, line in enumerate(fh, 1):
            where = f"{label}:{n}"
            text = line.strip()
            if text:
                try:
                    resource = json.loads(text)
                except (ValueError, RecursionError) as exc:     # RecursionError: a line nested too deep
                    d.problem("source.malformed_record", where, "(line)", text[:200].decode("utf-8", "replace"),
                              "one FHIR resource as JSON on each line",
                              f"{where} (byte offset {offset}) is not JSON ({exc}); it is not audited")
                else:
                    d.add(resource, where, str(path))
            offset += len(line)
            if n % 10000 == 0:
                task.update(offset)


def _stream_bundle(d: Directory, path: Path, label: str, progress: Progress) -> None:
    """A Bundle too big to parse whole: entries one at a time. References by fullUrl resolve only
    to entries read before them, so big Bundles with urn:uuid references should be NDJSON instead."""
    aliases: dict[str, str] = {}
    with open(path, "rb") as fh, progress.task(f"reading {path.name}", total=path.stat().st_size) as task:
        reader = GuardedReader(fh, str(path))       # depth bounded as it streams (issue 17)
        try:
            for i, entry in enumerate(ijson.items(reader, "entry.item", use_float=True)):
                if not isinstance(entry, dict):
                    continue
                aliases.update(bundle_aliases([entry]))
                d.add(entry.get("resource"), f"{label} entry[{i}]", str(path), aliases)
                if i % 5000 == 0:
                    task.update(reader.pos)
        except ijson.JSONError as exc:
            raise MalformedJSON(f"{path}: malformed JSON near byte offset {reader.pos}: {exc}. "
                                f"Expected a FHIR searchset Bundle.") from None


# --- joining ----------------------------------------------------------------------------------------

def _pick_accepting(entries: tuple, nets: tuple) -> tuple[str | None, str | None]:
    """The entry for one of the row's networks, else one that names no network, else the first."""
    if not entries:
        return None, None
    chosen = next((e for e in entries if e[1] and e[1] in nets), None) or \
        next((e for e in entries if not e[1]), None) or entries[0]
    shown = _join(f"{a}" + (f" (fromNetwork {n})" if n else "") for a, n in entries if a)
    return chosen[0], shown


def _lookup(table: dict[str, tuple], keys: pd.Series, columns: tuple[str, ...]) -> dict[str, pd.Series]:
    """For each row's key, the summary's fields (None where the key is missing or not served): one hash
    lookup per row and a take per column, not a merge that copies every column of the rows."""
    at = pd.Index(list(table), dtype=object).get_indexer(keys.astype(object))
    values = list(table.values())
    out = {}
    for j, column in enumerate(columns):
        array = pd.Series([v[j] for v in values] + [None], dtype=object).to_numpy()
        out[column] = pd.Series(array[at], index=keys.index, dtype=object)      # -1 takes the trailing None
    return out


def _per_distinct(values: pd.Series, func) -> pd.Series:
    """``func`` of each distinct value (strings or tuples), spread back to every row."""
    codes, uniques = pd.factorize(values.astype(object), use_na_sentinel=True)
    done = pd.Series([func(u) for u in uniques] + [func(None)], dtype=object).to_numpy()
    return pd.Series(done[codes], index=values.index, dtype=object)


DETAIL_COLUMNS = ("record_id", "accepting_detail", "language_proficiency", "affiliations")


def _fold_affiliations(rows: pd.DataFrame) -> pd.DataFrame:
    """An affiliation that names, in ``healthcareService``, a current service of the same organisation
    at the same Location describes the listing that service row already is (the guide's own example
    pairs BurrClinicAffil with BurrClinicServices at HospLoc2): that affiliation x Location is not a
    second row, which would read as a duplicate listing, but lends the service row its networks. The
    affiliations folded into a row are kept in the detail frame (``affiliations``)."""
    rows["affiliations"] = None
    affiliation = rows["kind"].eq("affiliation") & rows["location"].notna() & rows["services"].map(len).gt(0)
    if not affiliation.any():
        return rows
    service = rows["kind"].eq("service") & rows["location"].notna()
    offers = rows.loc[affiliation, ["key", "location", "org", "networks", "services"]].explode("services")
    at = pd.DataFrame({"services": rows.loc[service, "key"], "location": rows.loc[service, "location"],
                       "service_org": rows.loc[service, "org"], "row": rows.index[service]})
    pairs = offers.merge(at, on=["services", "location"])
    pairs = pairs[pairs["service_org"].isna() | pairs["service_org"].eq(pairs["org"])]
    if pairs.empty:
        return rows
    lent = pairs.groupby("row").agg(networks=("networks", lambda v: tuple(dict.fromkeys(n for t in v for n in t))),
                                    affiliations=("key", lambda v: tuple(dict.fromkeys(v))))
    rows.loc[lent.index, "networks"] = pd.Series(
        [tuple(dict.fromkeys(own + more)) for own, more in zip(rows.loc[lent.index, "networks"], lent["networks"])],
        index=lent.index, dtype=object)
    rows.loc[lent.index, "affiliations"] = lent["affiliations"]
    folded = pd.MultiIndex.from_frame(pairs[["key", "location"]].drop_duplicates())
    drop = pd.MultiIndex.from_frame(rows[["key", "location"]]).isin(folded) & affiliation.to_numpy()
    return rows[~drop].reset_index(drop=True)


def build_rows(d: Directory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(raw frame, detail frame) from the summaries; files problems for what does not join."""
    # object columns share the summaries' strings; an Arrow frame would copy every one of them
    roles = pd.DataFrame({c: pd.Series(d.roles[c], dtype=object) for c in ROLE_COLUMNS})
    if roles.empty:
        return pd.DataFrame(columns=COLUMNS), pd.DataFrame(columns=list(DETAIL_COLUMNS))
    _integrity(d, roles)
    # One row per role x location; a role with no location keeps one row so it is still audited.
    per_role = roles["locations"].map(len).to_numpy()
    rows = roles.iloc[np.repeat(np.arange(len(roles)), np.maximum(per_role, 1))].reset_index(drop=True)
    rows["location"] = pd.Series([loc for t in roles["locations"] for loc in (t or (None,))], dtype=object)
    rows["service"] = rows["services"].map(lambda t: t[0] if t else None)
    # the organisation listed: a 2019-draft affiliation names it in ``organization`` alone
    rows["org"] = rows["org"].where(rows["org"].notna(), rows["host"])
    rows = _fold_affiliations(rows)
    for column, values in _lookup(d.people, rows["who"], PEOPLE_COLUMNS).items():
        rows[column] = values
    for column, values in _lookup(d.places, rows["location"], PLACE_COLUMNS).items():
        rows[column] = values
    for column, values in _lookup(d.orgs, rows["org"], ORG_COLUMNS).items():
        rows[column] = values
    for column, values in _lookup(d.services, rows["service"], ("service_accepting", "service_languages")).items():
        rows[column] = values

    individual = rows["kind"].eq("role")
    # Accepting status: the role's own extension, else its location's, else its service's; where one
    # lists several networks, the entry for the row's network. Decided once per distinct combination.
    combos = pd.Series(list(zip(rows["accepting"], rows["location_accepting"], rows["service_accepting"],
                                rows["networks"])), dtype=object)

    def pick(combo):
        if combo is None:
            return (None, None)
        *sources, nets = combo
        entries = next((e for e in sources if isinstance(e, tuple) and e), None)
        return _pick_accepting(entries, nets) if entries else (None, None)
    picked = _per_distinct(combos, pick)
    accepting, accepting_detail = picked.str[0], picked.str[1]

    plans_by_network: dict[str, list[str]] = {}
    for plan, nets in d.plans.items():
        for n in nets:
            plans_by_network.setdefault(n, []).append(plan.split("/", 1)[1])
    # a network by its name, as directories show it; by its id when the network resource is missing
    net_names = {k: v[0] for k, v in d.orgs.items() if v[0]}
    net_text = _per_distinct(rows["networks"], lambda t: _join((net_names.get(n) or n.split("/", 1)[-1]
                                                                for n in t), "|") if t else None)
    plan_text = _per_distinct(rows["networks"], lambda t: _join((p for n in t for p in plans_by_network.get(n, [])),
                                                                "|") if t else None)
    located = rows["location"].notna()
    record_id = rows["key"].where(~located, rows["key"] + "@" + rows["location"].where(located, ""))
    _closed_locations(d, rows, record_id)
    _inactive_providers(d, rows, record_id, individual)
    out = pd.DataFrame({
        "record_id": record_id,
        "source_format": "plannet",
        "source_file": rows["source"],
        "npi": rows["npi"].where(individual, rows["org_npi"]),
        "npi_entity_type": np.where(individual, "1", "2"),
        "provider_type": np.where(individual, "individual", np.where(rows["org_is_group"].eq(True), "group", "facility")),
        "name": rows["person_name"].where(individual, None),
        "prefix": rows["prefix"], "first_name": rows["first_name"], "middle_name": rows["middle_name"],
        "last_name": rows["last_name"], "suffix": rows["suffix"],
        # a practitioner's group or organization, as the CSV exports' "practice name"; a service's own name
        "facility_name": rows["org_name"].where(individual, rows["service_name"].where(rows["service_name"].notna(),
                                                                                       rows["org_name"])),
        "gender": rows["gender"],
        "specialties": rows["specialties"],
        "address_line1": rows["address_line1"], "address_line2": rows["address_line2"], "city": rows["city"],
        "state": rows["state"], "zip": rows["zip"], "county": rows["county"],
        "phone": rows["phone"].where(rows["phone"].notna(), rows["location_phone"]),
        "accepting_status": accepting,
        "provider_accepting_status": None,
        "languages": _union(rows["person_languages"].where(individual, rows["languages"]),
                            rows["location_languages"], rows["service_languages"].where(~individual, None)),
        "plan_ids": plan_text,
        "network_ids": net_text,
        "last_updated": rows["last_updated"].where(rows["last_updated"].notna(), rows["person_updated"]),
    })
    detail = pd.DataFrame({"record_id": record_id, "accepting_detail": accepting_detail,
                           "language_proficiency": rows["person_proficiency"].where(individual, rows["proficiency"]),
                           "affiliations": rows["affiliations"].map(lambda t: _join(t) if t else None)})
    return out[COLUMNS].astype(object), detail


def _closed_locations(d: Directory, rows: pd.DataFrame, record_id: pd.Series) -> None:
    """A current listing at a Location that is closed (status inactive/suspended): the row is audited,
    as the directory shows it, and the enrollee it would send to a closed site is reported."""
    closed = rows["location_closed"].notna()
    for rid, loc, state in zip(record_id[closed], rows.loc[closed, "location"], rows.loc[closed, "location_closed"]):
        d.problem("plannet.inactive_location", rid, "Location.status", state, "an active Location",
                  f"a current listing sends enrollees to {loc}, which is closed ({state})", location=loc)


def _inactive_providers(d: Directory, rows: pd.DataFrame, record_id: pd.Series, individual: pd.Series) -> None:
    """A current listing of a provider whose own resource says ``active: false``: a role whose
    Practitioner, or a service or affiliation whose listed Organization, is inactive. The directory
    contradicts itself: the row is audited as shown, and reported once per provider-location."""
    person = individual & rows["person_inactive"].eq(True)
    org = ~individual & rows["org_inactive"].eq(True)
    for mask, ref, element in ((person, "who", "Practitioner.active"), (org, "org", "Organization.active")):
        for rid, key in zip(record_id[mask], rows.loc[mask, ref]):
            d.problem("plannet.inactive_provider", rid, element, "false", "an active provider",
                      f"a current listing shows {key}, whose own resource says it is inactive", provider=key)


def _union(*columns: pd.Series) -> pd.Series:
    """The values of several '; ' joined columns, each once, in order; worked out once per distinct combination."""
    text = columns[0].astype(object).fillna("")
    for c in columns[1:]:
        text = text + ";" + c.astype(object).fillna("")
    codes, uniques = pd.factorize(text)
    done = [_join(x.strip() for x in u.split(";")) for u in uniques]
    return pd.Series([done[c] for c in codes], index=text.index, dtype=object)


# --- integrity and conformance ----------------------------------------------------------------------

#: Reference elements of each listing kind (columns of the role summaries), with the Plan-Net element
#: path they sit on.
REFERENCE_PATHS = {
    "role": {"who": "PractitionerRole.practitioner", "org": "PractitionerRole.organization",
             "locations": "PractitionerRole.location", "services": "PractitionerRole.healthcareService",
             "networks": "PractitionerRole.extension:network-reference"},
    "service": {"org": "HealthcareService.providedBy", "locations": "HealthcareService.location",
                "networks": "HealthcareService.extension:network-reference"},
    "affiliation": {"org": "OrganizationAffiliation.participatingOrganization",
                    "host": "OrganizationAffiliation.organization", "locations": "OrganizationAffiliation.location",
                    "services": "OrganizationAffiliation.healthcareService",
                    "networks": "OrganizationAffiliation.network"},
}
REFERENCE_COLUMNS = ("who", "org", "host", "locations", "services", "networks")
MANY = ("locations", "services", "networks")


def _integrity(d: Directory, roles: pd.DataFrame) -> None:
    """Dangling references, listings without a location, Locations without an address or telecom, and
    missing must-support elements our checks read, each with the resource id and element path."""
    for column in REFERENCE_COLUMNS:
        refs = roles[column].explode() if column in MANY else roles[column]
        # each distinct reference looked up once; only the roles holding a missing one are gone through
        missing = [ref for ref in refs.dropna().unique() if not d.known(ref)]
        hit = refs.isin(missing)
        pairs = pd.DataFrame({"ref": refs[hit], "key": roles["key"].reindex(refs.index)[hit],
                              "kind": roles["kind"].reindex(refs.index)[hit]}).drop_duplicates()
        for ref, key, kind in pairs.itertuples(index=False):
            path = REFERENCE_PATHS[kind].get(column, f"{key.split('/', 1)[0]}.{column}")
            d.problem("plannet.dangling_reference", key, path, ref, "a resource the directory serves",
                      f"{path} refers to {ref}, which the directory does not serve", reference=ref)
    no_location = roles[roles["locations"].map(len) == 0]
    for key, kind in no_location[["key", "kind"]].itertuples(index=False):
        path = REFERENCE_PATHS[kind]["locations"]
        d.problem("plannet.role_without_location", key, path, "", "at least one Location reference",
                  f"{key} lists no location: where the provider practises cannot be shown")
    for key, place in d.places.items():
        if place[CLOSED]:
            continue      # a closed site needs no address or phone; a listing still sending people there is reported
        has_address, has_telecom = place[HAS_ADDRESS], place[HAS_TELECOM]
        for ok, element, what in ((has_address, "Location.address", "a street address"),
                                  (has_telecom, "Location.telecom", "a phone number")):
            if not ok:
                d.problem("plannet.location_incomplete", key, element, "", what,
                          f"{key} has no {element.split('.')[1]}")
    _must_support(d, roles)


def _must_support(d: Directory, roles: pd.DataFrame) -> None:
    person_updated = pd.Series({k: v[PERSON_UPDATED] for k, v in d.people.items()}, dtype=object)
    places_accept = [k for k, v in d.places.items() if v[8]]
    services_accept = [k for k, v in d.services.items() if v[0]]
    kind = roles["key"].str.split("/", n=1).str[0]

    def any_in(column: str, keys: list[str]) -> pd.Series:
        exploded = roles[column].explode()
        return exploded.isin(keys).groupby(level=0).any().reindex(roles.index, fill_value=False)

    no_specialty = roles["kind"].eq("role") & roles["specialties"].isna()
    no_updated = roles["last_updated"].isna() & roles["who"].map(person_updated).isna()
    # newpatients sits on a PractitionerRole, Location or HealthcareService; an organisation's
    # participation (OrganizationAffiliation) carries no panel status, like the organisation rows
    # open_practice.flag_missing exempts
    no_accepting = roles["kind"].ne("affiliation") & roles["accepting"].map(len).eq(0) & \
        ~any_in("locations", places_accept) & ~any_in("services", services_accept)
    for key in roles.loc[no_specialty, "key"]:
        d.problem("plannet.missing_specialty", key, "PractitionerRole.specialty", "", "a NUCC specialty code",
                  f"{key} has no specialty")
    for key, k in zip(roles.loc[no_updated, "key"], kind[no_updated]):
        d.problem("plannet.missing_last_updated", key, f"{k}.meta.lastUpdated", "",
                  "the date the record was last updated", f"{key} carries no meta.lastUpdated")
    for key, k in zip(roles.loc[no_accepting, "key"], kind[no_accepting]):
        d.problem("plannet.missing_newpatients", key, f"{k}.extension:newpatients", "",
                  "a newpatients extension (acceptingPatients)",
                  f"neither {key} nor its locations or services say whether new patients are accepted")
    for key, person in d.people.items():
        if not person[0]:
            d.problem("plannet.missing_npi", key, "Practitioner.identifier:NPI", "",
                      f"an identifier with system {NPI_SYSTEM}", f"{key} has no NPI identifier")


# --- the live API -----------------------------------------------------------------------------------

@dataclass
class Crawl:
    """One live crawl: the pages read, the failures, and what the pages referenced but did not include."""
    base: str
    client: Any
    count: int
    d: Directory
    pages: list[str] = field(default_factory=list)
    digest: Any = field(default_factory=hashlib.sha256)
    task: Any = None

    def search(self, url: str) -> None:
        """Follow a search's ``next`` links, summarizing each page as it arrives."""
        seen: set[str] = set()
        found_in = None
        self.d.search += 1
        while url:
            if url in seen:
                self.d.problem("plannet.next_loop", url, "Bundle.link[next]", url, "a next link to a page not read yet",
                               f"the Bundle's next link returns to a page already read ({url}); paging stopped")
                return
            seen.add(url)
            # counted for the type searched and within this search: a page of roles may include
            # services that the service search returns again, and that is no loop
            kind = urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
            listed_before, repeated_before = self.d.listed.get(kind, 0), self.d.repeated_by.get(kind, 0)
            bundle = self.page(url, found_in)
            if bundle is None:
                return
            repeats = self.d.repeated_by.get(kind, 0) - repeated_before
            if repeats and self.d.listed.get(kind, 0) == listed_before:
                # a next link under another URL (page=1 for the first page) that serves pages already read
                self.d.problem("plannet.next_loop", url, "Bundle.link[next]", f"{repeats} roles already read",
                               "a page of roles not read yet",
                               f"the next link leads back to roles already read ({url}); paging stopped")
                return
            entries = [e for e in _list(bundle.get("entry")) if isinstance(e, dict)]
            nxt = next((l.get("url") for l in _list(bundle.get("link")) if isinstance(l, dict)
                        and l.get("relation") == "next" and l.get("url")), None)
            if nxt and not entries:
                self.d.problem("plannet.next_loop", url, "Bundle.link[next]", str(nxt), "no next link on an empty page",
                               f"an empty page still links to a next page ({nxt}); paging stopped")
                return
            found_in, url = url, (urljoin(url, nxt) if nxt else None)

    def page(self, url: str, found_in: str | None) -> dict | None:
        from ..errors import DirectoryAuditError
        self.pages.append(url)
        if self.task is not None:
            self.task.advance()
        try:
            r = self.client.get(url, found_in=found_in, headers={"Accept": "application/fhir+json"})
        except DirectoryAuditError as exc:
            self.d.problem("plannet.page_failed", url, "Bundle", f"{type(exc).__name__}: {exc}"[:500],
                           "a searchset Bundle", f"page could not be fetched ({type(exc).__name__}); its records are missing")
            return None
        self.digest.update(f"{url} {r.sha256}\n".encode())
        try:
            if r.content:
                check_depth(r.content, url)
            body = json.loads(r.content) if r.content else None
        except (ValueError, MalformedJSON):
            body = None
        if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome" and r.status < 500 and r.status != 429:
            self.d.outcome(body, url)          # the server refused or could not run the search
            return None
        if not (200 <= r.status < 300) or not isinstance(body, dict) or body.get("resourceType") != "Bundle":
            found = f"HTTP {r.status}, " + (f"resourceType {body.get('resourceType')!r}" if isinstance(body, dict)
                                             else "not JSON")
            self.d.problem("plannet.page_failed", url, "Bundle", found, "HTTP 200 with a searchset Bundle",
                           f"page answered {found}; its records are missing")
            return None
        self.d.add_bundle(body, url, url)
        return body

    def fill_references(self, rounds: int = 3) -> None:
        """Fetch, in batches by id, what roles referenced but no page included. A service fetched this
        way may name an organization no page included: up to ``rounds`` passes, each id asked once."""
        asked: set[str] = set()
        for _ in range(rounds):
            wanted: dict[str, set[str]] = {}
            for column in REFERENCE_COLUMNS:
                for value in pd.unique(pd.Series(self.d.roles[column], dtype=object).explode().dropna()):
                    if "/" in value and not value.startswith(("#", "urn:")) and value not in asked \
                            and not self.d.known(value):
                        asked.add(value)
                        kind, rid = value.split("/", 1)
                        wanted.setdefault(kind, set()).add(rid)
            if not wanted:
                return
            for kind, ids in sorted(wanted.items()):
                ids_sorted = sorted(ids)
                for i in range(0, len(ids_sorted), ID_BATCH):
                    batch = ",".join(ids_sorted[i: i + ID_BATCH])
                    self.search(f"{self.base}/{kind}?_id={batch}&_count={ID_BATCH}")


def search_url(base: str, resource: str, count: int) -> str:
    includes = "".join(f"&_include={inc}" for inc in SEARCH_INCLUDES.get(resource, ()))
    return f"{base}/{resource}?_count={count}{includes}"


def crawl(base: str, settings: Settings, d: Directory, client=None, count: int = PAGE_COUNT,
          task=None) -> Crawl:
    """Search PractitionerRole, HealthcareService and OrganizationAffiliation (with their includes) and
    InsurancePlan at ``base``,
    then fetch what the pages referenced but did not include. Returns the crawl (pages read, checksum)."""
    base = base.rstrip("/")
    own = client is None
    if own:
        from ..http import HttpClient, HttpOptions
        # robots.txt governs crawlers of web pages, not a FHIR API published for programs to query
        client = HttpClient(HttpOptions.from_settings(settings, respect_robots=False,
                                                      requests_per_second=API_REQUESTS_PER_SECOND))
    try:
        c = Crawl(base=base, client=client, count=count, d=d, task=task)
        for resource in DIRECTORY_TYPES:
            c.search(search_url(base, resource, count))
        c.search(f"{base}/InsurancePlan?_count={count}")
        c.fill_references()
        return c
    finally:
        if own:
            client.close()


# --- entry point ------------------------------------------------------------------------------------

def load(source: str, settings: Settings, progress: Progress, client=None) -> LoadResult:
    d = Directory(as_of=settings.as_of.isoformat())
    if source.startswith(("http://", "https://")):
        with progress.task(f"searching {source}") as task:
            c = crawl(source, settings, d, client=client, task=task)
        sources, checksum = [source] + c.pages, "sha256:" + c.digest.hexdigest()
    else:
        root = Path(source)
        if not root.exists():
            raise SourceNotFound(f"{source}: no such file or folder.")
        files = source_files(root)
        with progress.task(f"reading {len(files)} Plan-Net file(s)", total=len(files)) as task:
            for path in files:
                label = str(path.relative_to(root)) if root.is_dir() else path.name
                read_file(d, path, label, progress)
                task.advance()
        sources, checksum = [str(p) for p in files], sha256_of(files)
    if not d.roles["key"] and not any(p["check_id"].startswith("plannet.") for p in d.problems):
        # nothing to audit and no finding about the directory itself (a failed page, an outcome, ended listings)
        unreadable = f"; {len(d.problems)} record(s) could not be read, the first: {d.problems[0]['message']}" \
            if d.problems else ""
        raise InputError(f"{source}: no PractitionerRole, HealthcareService or OrganizationAffiliation resources found "
                         f"(read {dict(sorted(d.counts.items())) or 'no FHIR resources'}{unreadable}); "
                         f"expected a Plan-Net directory.")
    frame, detail = build_rows(d)
    return LoadResult(frame=frame, format="plannet", sources=sources, checksum=checksum,
                      problems=problems_frame(d.problems),
                      metadata={"plannet": {"resources": dict(sorted(d.counts.items())), "repeated_roles": d.repeated,
                                            "inactive_listings": d.inactive},
                                "plannet_detail": detail})

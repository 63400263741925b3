"""Ghost-network patterns (T1.i): listings that look like places an enrollee can be seen, but whose
shape says nobody is there to answer.

* ``ghost.shared_phone``: one phone number on many addresses of different listings: a call centre or
  corporate line, not the office. An enrollee calling it cannot learn whether the provider is at
  that site. Threshold, as Ghost Network Watch's rubric: at least ``max(min_addresses, share x rows)``
  distinct addresses (default max(50, 1% of rows)), across two or more providers.
* ``ghost.address_inflation``: a group or facility (one NPI, else one name) listed at dozens of
  addresses (default more than 25): a group listing every site of a system, or a name copied onto
  addresses it does not serve. Services that are many-sited by nature (pharmacies, laboratories,
  dialysis, home health, equipment suppliers, transport, imaging, urgent care, nursing homes and
  residential programmes) are exempt: their chains and agencies really have dozens of sites. Individuals at many sites are ``location.provider_many_locations``,
  which exempts hospital-based specialties the same way (``hospital_based``).
* ``ghost.residential_address``: a practice location that reads as a home: an apartment, lot, trailer
  or basement (usaddress's OccupancyType), or a 'Unit' on a residential street type (Ln, Ct, Cir, Ter,
  Trl, Loop, Path) with no office-building cue (Suite, Floor, Plaza, Center, Medical, Professional...).

Every finding says why in ``detail``: the counts and example addresses behind it.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from directory_audit.findings import detail_json, violations
from directory_audit.model import distinct_count_per, first_rows, key_codes, key_factor, per_distinct, per_table
from directory_audit.registry import check

from .placeholders import real_phone_codes

#: NUCC taxonomy code prefixes of hospital-based specialties, whose clinicians are rightly listed at
#: every hospital they cover: radiology (2085), nuclear medicine (207U), pathology (207Z),
#: anesthesiology (207L), nurse anesthetists (3675), emergency medicine (207P), hospitalists (208M).
HOSPITAL_BASED_CODES = ("2085", "207U", "207Z", "207L", "3675", "207P", "208M")
#: The same specialties by name, for directories that write names rather than codes.
HOSPITAL_BASED_NAMES = re.compile(
    r"(?i)radiolog|nuclear medicine|patholog|ana?esthes|emergency|hospitalist|teleradiolog")

#: Services whose organisations are many-sited by nature, by NUCC code prefix: pharmacies (3336),
#: suppliers of equipment and hearing aids (332), clinical laboratories (291U), ambulance and
#: transport (3416, 3437..., 343), home health and hospice agencies (251E, 251G), dialysis
#: (261QE0700X), radiology/imaging centres (261QR0200X, 261QM1200X), urgent care (261QU0200X).
MULTI_SITE_CODES = ("3336", "332", "291U", "3416", "343", "344", "347", "251E", "251G", "261QE0700X",
                    "261QR0200X", "261QM1200X", "261QU0200X")
MULTI_SITE_NAMES = re.compile(
    r"(?i)pharmac|drug ?store|laborator|\blab\b|durable medical|medical (?:equipment|suppl)|supplier|hearing aid|"
    r"transport|ambulance|home health|home care|hospice|dialysis|renal|imaging|radiology|urgent care|"
    r"telehealth|telemedicine|optical|eyewear|nursing home|nursing facilit|long.term care|assisted living|"
    r"group home|residential|supportive (?:living|housing)|housing")

_RESIDENTIAL_OCCUPANCY = {"APT", "APARTMENT", "APTS", "LOT", "TRLR", "TRAILER", "BSMT", "BASEMENT"}
_RESIDENTIAL_STREET = {"LN", "LANE", "CT", "COURT", "CIR", "CIRCLE", "TER", "TERRACE", "TRL", "TRAIL", "LOOP",
                       "PATH", "CV", "COVE", "PL", "PLACE"}
_OFFICE_CUES = re.compile(r"(?i)\b(?:STE|SUITE|FL|FLR|FLOOR|BLDG|BUILDING|PLAZA|CENTER|CENTRE|CTR|MEDICAL|"
                          r"PROFESSIONAL|OFFICE|OFFICES|MALL|TOWER|HOSPITAL|CLINIC|PAVILION|CAMPUS)\b")
_CANDIDATE = re.compile(r"(?i)\b(?:APT|APTS|APARTMENT|UNIT|LOT|TRLR|TRAILER|BSMT|BASEMENT)\b")


def _any_code(values: pd.Series, prefixes: tuple[str, ...]) -> list[bool]:
    return [any(c.startswith(prefixes) for c in v.split("|")) for v in values]


@per_table
def hospital_based(rows: pd.DataFrame) -> pd.Series:
    """Rows whose specialties (NUCC codes or names) include a hospital-based specialty."""
    by_code = per_distinct(rows, "specialty_codes", lambda v: _any_code(v, HOSPITAL_BASED_CODES), missing=False)
    by_name = per_distinct(rows, "specialty_names", lambda v: v.str.contains(HOSPITAL_BASED_NAMES).to_numpy(),
                           missing=False)
    return by_code | by_name


@per_table
def multi_site_service(rows: pd.DataFrame) -> pd.Series:
    """Rows whose specialties or name say the organisation offers a service many-sited by nature."""
    by_code = per_distinct(rows, "specialty_codes", lambda v: _any_code(v, MULTI_SITE_CODES), missing=False)
    by_name = per_distinct(rows, "specialty_names", lambda v: v.str.contains(MULTI_SITE_NAMES).to_numpy(),
                           missing=False)
    by_org = per_distinct(rows, "display_name", lambda v: v.str.contains(MULTI_SITE_NAMES).to_numpy(),
                          missing=False)
    return by_code | by_name | by_org


def _address_text(rows: pd.DataFrame, at: np.ndarray) -> list[str]:
    """'123 MAIN ST, PORTLAND OR 97201' for the rows at positions ``at``."""
    pick = rows.iloc[at]
    parts = [pick[c].fillna("").astype(str) for c in ("address_line1", "city", "state", "zip")]
    return (parts[0] + ", " + parts[1] + " " + parts[2] + " " + parts[3]).str.strip(" ,").tolist()


def _group_evidence(rows: pd.DataFrame, group: np.ndarray, flagged: np.ndarray, examples: int = 3) -> dict[int, list[str]]:
    """For each flagged group code, up to ``examples`` of its distinct addresses (first seen first)."""
    loc = key_codes(rows, "location_key")
    hit = np.flatnonzero(flagged & (loc >= 0))
    pairs = pd.DataFrame({"g": group[hit], "l": loc[hit], "at": hit}).drop_duplicates(["g", "l"])
    pairs = pairs.groupby("g", sort=False).head(examples)
    texts = _address_text(rows, pairs["at"].to_numpy())
    out: dict[int, list[str]] = {}
    for g, text in zip(pairs["g"].to_numpy(), texts):
        out.setdefault(int(g), []).append(text)
    return out


@check(id="ghost.shared_phone", factor="T1.i", severity="warning",
       title="One phone number on many addresses (call centre or corporate line)",
       message="phone {observed!r} is listed at {expected}")
def shared_phone(rows: pd.DataFrame, min_addresses: int = 50, share: float = 0.01) -> pd.DataFrame:
    """One valid phone number at ``max(min_addresses, share x rows)`` or more distinct addresses,
    across two or more providers: a central scheduling, billing or call-centre line, not a number that
    reaches the office (real Medicaid files list one out-of-state number on 352 sites). Placeholders
    (000-000-0000) are reported by ``placeholder.value`` and not counted here. One finding per row
    with that number; counts and example addresses in ``detail``."""
    threshold = max(int(min_addresses), int(np.ceil(float(share) * len(rows))))
    phone = real_phone_codes(rows)
    addresses = distinct_count_per(phone, key_codes(rows, "location_key"))
    providers = distinct_count_per(phone, key_codes(rows, "provider_key"))
    flagged = (addresses >= threshold) & (providers >= 2)
    mask = pd.Series(flagged, index=rows.index)
    detail = None
    if flagged.any():
        examples = _group_evidence(rows, phone, flagged)
        hit = np.flatnonzero(flagged)
        detail = detail_json(pd.DataFrame({
            "addresses": addresses[hit], "providers": providers[hit], "threshold": threshold,
            "example_addresses": [examples.get(int(g), []) for g in phone[hit]],
            "why": "one number at this many different addresses of different providers reaches a central line, "
                   "not the office"}, index=rows.index[hit]))
    expected = pd.Series(addresses, index=rows.index)[mask].astype(str) + \
        f" distinct addresses (at least {threshold} is a call-centre pattern)"
    return violations(rows, mask, field="phone", expected=expected, detail=detail)


@check(id="ghost.address_inflation", factor="T1.i", severity="warning",
       title="Group or facility listed at dozens of addresses",
       message="{observed!r} is listed at {expected}")
def address_inflation(rows: pd.DataFrame, max_locations: int = 25) -> pd.DataFrame:
    """A group or facility (one NPI, else one name) at more than ``max_locations`` distinct addresses:
    a group listing every site of a system for each of its listings, or a name copied onto addresses
    it does not serve, which inflates the network's apparent reach. Exempt: services many-sited by
    nature (``multi_site_service``: pharmacy, laboratory, dialysis, home health, suppliers, transport,
    imaging, urgent care, nursing homes, residential and supportive-housing programmes). One finding per row; the count and example addresses in ``detail``."""
    org = (rows["provider_type"].isin(("group", "facility"))).to_numpy()
    key = np.where(org, key_codes(rows, "provider_key"), -1)
    n = distinct_count_per(key, key_codes(rows, "location_key"))
    exempt = np.zeros(len(rows), dtype=bool)
    over = n > int(max_locations)
    if over.any():
        from directory_audit.model import any_per
        exempt = any_per(key, multi_site_service(rows).to_numpy() & over)
    flagged = over & ~exempt
    mask = pd.Series(flagged, index=rows.index)
    detail = None
    if flagged.any():
        examples = _group_evidence(rows, key, flagged)
        hit = np.flatnonzero(flagged)
        detail = detail_json(pd.DataFrame({
            "addresses": n[hit], "max_locations": int(max_locations),
            "example_addresses": [examples.get(int(g), []) for g in key[hit]],
            "why": "one group or facility at this many addresses is listed where it does not see patients, "
                   "or lists every site of a system"}, index=rows.index[hit]))
    expected = pd.Series(n, index=rows.index)[mask].astype(str) + f" distinct addresses (at most {max_locations} expected)"
    return violations(rows, mask, field="name", observed=rows["display_name"], expected=expected, detail=detail)


def _residential(line: str) -> str | None:
    """Why an address line (line 1 and line 2 joined) reads as a home, or None."""
    import usaddress
    try:
        tagged, kind = usaddress.tag(line)
    except usaddress.RepeatedLabelError:
        return None
    if kind != "Street Address":
        return None
    occupancy = re.sub(r"[^A-Z]", "", tagged.get("OccupancyType", "").upper())
    street_type = re.sub(r"[^A-Z]", "", tagged.get("StreetNamePostType", "").upper())
    if _OFFICE_CUES.search(line):
        return None
    if occupancy in _RESIDENTIAL_OCCUPANCY:
        return f"occupancy '{tagged['OccupancyType']}' is a dwelling unit"
    if occupancy == "UNIT" and street_type in _RESIDENTIAL_STREET:
        return f"'Unit' on a residential street type '{tagged['StreetNamePostType']}'"
    return None


@check(id="ghost.residential_address", factor="T1.i", severity="warning",
       title="Practice location is a residence",
       message="practice location {observed!r} reads as a home: {expected}")
def residential_address(rows: pd.DataFrame) -> pd.DataFrame:
    """A practice location whose address is a dwelling: an apartment, lot, trailer or basement, or a
    'Unit' on a residential street (Ln, Ct, Cir...) where one provider alone is listed, with no
    office-building cue (Suite, Floor, Plaza, Center, Medical...). A home address is often a clinician's mailing or personal address put in the
    practice-location field, not a place enrollees can be seen. Parsed by usaddress, only for the
    distinct lines a dwelling word pre-selects."""
    def cue(values: pd.Series) -> list[bool]:
        return [bool(_CANDIDATE.search(v)) for v in values]
    # the dwelling-word filter runs once per distinct line; the rest only for the few candidates
    candidate = (per_distinct(rows, "address_line1_raw", cue, missing=False)
                 | per_distinct(rows, "address_line2_raw", cue, missing=False)) & rows["address_line1_raw"].notna()
    why = pd.Series(None, index=rows.index, dtype="object")
    line = pd.Series("", index=rows.index, dtype="object")
    if candidate.any():
        pick = rows.loc[candidate, ["address_line1_raw", "address_line2_raw"]].fillna("").astype(str)
        line[candidate] = (pick["address_line1_raw"] + " " + pick["address_line2_raw"]).str.strip()
        distinct = pd.Series(line[candidate].unique())
        answers = dict(zip(distinct, distinct.map(_residential)))
        why[candidate] = line[candidate].map(answers)
    # a 'Unit' shared by several providers is an office condominium, not a home
    shared = distinct_count_per(key_codes(rows, "location_key"), key_codes(rows, "provider_key")) > 1
    why = why.where(~(why.str.startswith("'Unit'", na=False) & shared), None)
    mask = why.notna()
    observed = line[mask]
    detail = detail_json(pd.DataFrame({"why": why[mask], "address": observed}))
    return violations(rows, mask, field="address_line1", observed=observed, expected=why[mask], detail=detail)

"""Practice-location checks (T1.i): every provider-location must be a complete, real, consistent
street address with a working phone number, inside the service area, and plausible as a place
where the listed clinicians actually see patients.

ZIP facts come from the offline ``zipcodes`` data through ``directory_audit.geo`` (one lookup per
distinct ZIP); phone numbers are judged by ``phonenumbers`` once per distinct number as written.
"""
from __future__ import annotations

import functools
import re

import numpy as np
import pandas as pd

from directory_audit import geo, vocab
from directory_audit.model import (any_per, combine_codes, distinct_count_per, first_rows, key_codes, key_factor,
                                   per_distinct, per_table)
from directory_audit.normalize import fullmatch
from directory_audit.findings import detail_json, violations
from directory_audit.registry import check, metric
from directory_audit.settings import Settings

from .placeholders import placeholder_table, real_phone_codes

ADDRESS_PARTS = {"address_line1": "street address", "city": "city", "state": "state", "zip": "ZIP"}

#: Every common way of writing a post-office box: 'PO Box 12', 'P.O. Box', 'P. O. Box', 'POBox',
#: 'Post Office Box', 'POB 12', 'P.O.B. 12', 'PO Drawer 5', and 'Box 12' when it is the whole line.
#: Not 'Boxwood Ln', 'Box Elder Rd', 'RR 2 Box 5' (a rural route delivers to the door) or
#: '1 Post Office Sq'.
PO_BOX_PATTERN = re.compile(
    r"(?ix)"
    r"\bP(?:ost)?\.?\s*O(?:ffice)?\.?\s*(?:Box|Drawer)\b"          # PO Box, P.O. Box, Post Office Box, PO Drawer
    r"|\bP\.?\s?O\.?\s?B\.?\s*\#?\s*\d"                            # POB 12, P.O.B. 12
    r"|^\s*(?:Box|Bx)\s*\#?\s*\d+[A-Z]?\s*$"                       # 'Box 12' as the whole line
)

BARE_BOX = re.compile(r"(?i)^\s*(?:Box|Bx)\s*\#?\s*\d+[A-Z]?\s*$")
STREET_LINE = re.compile(r"(?i)^\s*(?:\d+[A-Z]?|ONE|TWO|THREE|FOUR|FIVE|SIX|SEVEN|EIGHT|NINE|TEN)\s+\S")

#: Address/ZIP/phone checks whose findings make a provider-location not "complete, valid and
#: consistent" for the location.valid_share metric.
VALIDITY_CHECKS = ("location.address_incomplete", "location.zip_malformed", "location.zip_unknown",
                   "location.zip_state_mismatch", "location.zip_city_mismatch", "location.po_box",
                   "location.po_box_zip", "location.phone_missing", "location.phone_invalid",
                   "placeholder.value")


# --- phones, once per distinct number ---------------------------------------------------------

@functools.lru_cache(maxsize=262144)
def phone_facts(raw: str) -> tuple[bool, str | None, str | None]:
    """(valid, area code, region) for a phone number as written. Region is the US state the area
    code serves (the zipcodes data, else phonenumbers' geocoder), 'country:XX' for another NANP
    country, None for non-geographic numbers (toll-free) or when unknown."""
    import phonenumbers
    try:
        n = phonenumbers.parse(raw, "US")
    except phonenumbers.NumberParseException:
        return False, None, None
    if n.country_code != 1 or not phonenumbers.is_valid_number(n):
        return False, None, None
    national = str(n.national_number)
    area = national[:3] if len(national) == 10 else None
    country = phonenumbers.region_code_for_number(n)
    if country not in ("US", None):
        return True, area, f"country:{country}"
    if phonenumbers.number_type(n) in (phonenumbers.PhoneNumberType.TOLL_FREE,
                                       phonenumbers.PhoneNumberType.PREMIUM_RATE,
                                       phonenumbers.PhoneNumberType.PERSONAL_NUMBER):
        return True, area, None
    # The ZIP data's state of an area code agrees with phonenumbers' geocoder on every US area code
    # both know (checked 2026-11 on all 344); asking it first spares loading the geocoder's 40 MB of
    # world-wide data, which only area codes newer than the ZIP data still need.
    state = geo.area_code_states().get(area) if area else None
    if state is None:
        from phonenumbers import geocoder
        desc = geocoder.description_for_number(n, "en")
        if desc:
            m = re.search(r",\s*([A-Z]{2})$", desc)
            state = m.group(1) if m else vocab.STATE_NAMES.get(desc.upper())
    return True, area, state


@functools.lru_cache(maxsize=1)
def _nanp_number_pattern() -> re.Pattern:
    """Every national-number pattern of every NANP region (US, CA, the Caribbean...), for every
    number type: a 10-digit number is valid exactly when phonenumbers would find a region and type
    for it, i.e. when it fully matches one of these."""
    import phonenumbers
    from phonenumbers.phonemetadata import PhoneMetadata
    patterns = []
    for region in phonenumbers.COUNTRY_CODE_TO_REGION_CODE[1]:
        md = PhoneMetadata.metadata_for_region(region)
        if md is None:
            continue
        for desc in (md.fixed_line, md.mobile, md.toll_free, md.premium_rate, md.shared_cost,
                     md.personal_number, md.voip, md.pager, md.uan, md.voicemail):
            if desc is not None and desc.national_number_pattern:
                patterns.append(f"(?:{desc.national_number_pattern})")
    return re.compile("|".join(dict.fromkeys(patterns)))


def _zip_facts(rows: pd.DataFrame) -> pd.DataFrame:
    """ZIP facts per row, built once per table and shared by the location checks."""
    return geo.table_zip_facts(rows)


@per_table
def _phone_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Phone facts per row at the cost of the distinct numbers as written: validity by one compiled
    NANP pattern over the 10-digit numbers normalize read; the region once per distinct area code
    (NANP area codes never cross a state or country line); phonenumbers itself only for one number
    of each area code and for what normalize could not read as 10 digits."""
    codes, uniques = key_factor(rows, "phone_raw")
    n = len(uniques)
    valid = np.zeros(n, dtype=bool)
    area_code = np.full(n, None, dtype=object)
    region = np.full(n, None, dtype=object)
    if n:
        # normalize's E.164 of each distinct raw number, from the first row that shows it
        e164 = pd.Series(rows["phone"].to_numpy(dtype=object)[first_rows(codes)], dtype="object")
        ten = e164.notna().to_numpy()
        where_ten = np.flatnonzero(ten)
        ok = fullmatch(e164[ten], r"\+1(?:" + _nanp_number_pattern().pattern + ")")
        good = e164[ten][ok].to_numpy(dtype=object)
        valid[where_ten] = ok
        if len(good):
            # '+1AAA...' as fixed-width bytes: the area code is characters 2-4, no string slicing
            areas, at_area = np.unique(np.asarray(good, dtype="S12").view(np.uint8).reshape(-1, 12)[:, 2:5]
                                       .copy().view("S3").ravel(), return_inverse=True)
            example = first_rows(at_area.ravel())
            area_text = np.array([a.decode("ascii") for a in areas], dtype=object)
            area_region = np.array([phone_facts(good[i])[2] for i in example], dtype=object)
            area_code[where_ten[ok]] = area_text[at_area.ravel()]
            region[where_ten[ok]] = area_region[at_area.ravel()]
        # vanity letters, foreign numbers, fragments: phonenumbers judges them, bar the fragments with
        # no letter and fewer than 10 digits (a digit dropped), which no NANP number can be
        rest = np.flatnonzero(~ten)
        text = pd.Series(uniques[rest], dtype="object").astype(str)
        fragment = (~text.str.contains(r"[^\W\d_]", regex=True) & (text.str.count(r"\d") < 10)).to_numpy(dtype=bool)
        for i in rest[~fragment]:
            valid[i], area_code[i], region[i] = phone_facts(str(uniques[i]))
    at = np.where(codes >= 0, codes, n)          # a missing phone takes the trailing (False, None, None)
    return pd.DataFrame({"phone_valid": np.append(valid, False)[at],
                         "area_code": np.append(area_code, None)[at],
                         "phone_region": np.append(region, None)[at]}, index=rows.index, copy=False)


# --- masks, shared by the checks and the metric ------------------------------------------------

@per_table
def _incomplete(rows: pd.DataFrame) -> pd.Series:
    missing = pd.DataFrame({f: rows[f"{f}_raw"].isna().to_numpy() for f in ADDRESS_PARTS}, index=rows.index)
    return pd.Series(missing.to_numpy().any(axis=1), index=rows.index), missing


def _zip_malformed(rows: pd.DataFrame) -> pd.Series:
    return rows["zip_raw"].notna() & rows["zip"].isna() & ~placeholder_table(rows)["zip"]


def _zip_unknown(rows: pd.DataFrame, facts: pd.DataFrame, decommissioned: bool = False) -> pd.Series:
    return rows["zip"].notna() & ~(facts["zip_known"] & (facts["zip_active"] | (not decommissioned))) \
        & ~placeholder_table(rows)["zip"]


def _zip_state_mismatch(rows: pd.DataFrame, facts: pd.DataFrame) -> pd.Series:
    return facts["zip_known"] & rows["state"].notna() & (rows["state"] != facts["zip_state"]) \
        & ~placeholder_table(rows)["state"]


def _city_ok(rows: pd.DataFrame, facts: pd.DataFrame) -> pd.Series:
    """True where the listed city is one of the ZIP's names, judged once per distinct (city, ZIP)."""
    city, cities = pd.factorize(rows["city"], use_na_sentinel=True)
    known = facts["zip_known"].to_numpy(dtype=bool) & (city >= 0)
    # integer codes of the (city, ZIP) pairs of the rows with a known ZIP, -1 elsewhere
    pair = combine_codes(np.where(known, city, -1), pd.factorize(rows["zip"], use_na_sentinel=True)[0])
    if not (pair >= 0).any():
        return pd.Series(True, index=rows.index)
    at = first_rows(pair)
    zf = geo.zip_facts(rows["zip"].iloc[at])
    ok = np.array([geo.city_key(c) in names for c, names in zip(np.asarray(cities, dtype=object)[city[at]],
                                                                 zf["zip_cities"])], dtype=bool)
    return pd.Series(np.append(ok, True)[np.where(pair >= 0, pair, len(ok))], index=rows.index)


@per_table
def _zip_city_mismatch(rows: pd.DataFrame) -> pd.Series:
    """Shared by the check and the valid-share metric, built once per table."""
    facts = _zip_facts(rows)
    same_state = rows["state"].isna() | (rows["state"] == facts["zip_state"])
    return facts["zip_known"] & rows["city"].notna() & same_state & ~_city_ok(rows, facts) \
        & ~placeholder_table(rows)["city"]


@per_table
def _po_box_lines(rows: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    def hits(column: str, pattern: re.Pattern) -> pd.Series:
        return per_distinct(rows, column, lambda values: [bool(pattern.search(v)) for v in values], missing=False)
    l1 = hits("address_line1_raw", PO_BOX_PATTERN)
    l2 = hits("address_line2_raw", PO_BOX_PATTERN)
    # 'Box 306' under a street address is a hospital mail stop (Tufts Medical Center, 800 Washington
    # St, Box 306), not a post-office box: a bare 'Box N' in line 2 counts only without a street in line 1.
    bare = hits("address_line2_raw", BARE_BOX)
    street = hits("address_line1_raw", STREET_LINE)
    return l1, l2 & ~(bare & street)


def _po_box_zip(rows: pd.DataFrame, facts: pd.DataFrame) -> pd.Series:
    return facts["zip_known"] & (facts["zip_type"] == "PO BOX") & facts["zip_street_place"].astype(bool)


def _phone_invalid(rows: pd.DataFrame, phones: pd.DataFrame) -> pd.Series:
    return rows["phone_raw"].notna() & ~phones["phone_valid"] & ~placeholder_table(rows)["phone"]


def _phone_out_of_state(rows: pd.DataFrame, facts: pd.DataFrame, phones: pd.DataFrame,
                        border_km: float) -> pd.Series:
    state = geo.location_state(rows, facts)
    candidate = phones["phone_valid"] & phones["phone_region"].notna() & state.notna() \
        & (phones["phone_region"] != state)
    if not candidate.any():
        return candidate
    # A number from the neighbouring state at a location near the state line is normal (Vancouver WA
    # clinics on Portland 503 numbers): fine when the area code serves a ZIP within border_km.
    pairs = pd.DataFrame({"lat": facts["zip_lat"], "long": facts["zip_long"], "ac": phones["area_code"]})[candidate]
    distinct = pairs.drop_duplicates()
    far = [geo.km_to_area_code(la, lo, ac) > border_km if isinstance(ac, str) else True
           for la, lo, ac in zip(distinct["lat"], distinct["long"], distinct["ac"])]
    distinct = distinct.assign(far=far)
    merged = pairs.merge(distinct, on=["lat", "long", "ac"], how="left")["far"].to_numpy()
    out = pd.Series(False, index=rows.index)
    out[candidate] = merged.astype(bool)
    return out


def _detail(mask: pd.Series, **cols: pd.Series) -> pd.Series:
    """JSON evidence for the flagged rows only (building it for every row would cost at scale)."""
    keep = mask.fillna(False).astype(bool).to_numpy()
    frame = pd.DataFrame({k: v[keep] for k, v in cols.items()})
    frame = frame.astype("object").where(frame.notna(), None)
    return detail_json(frame)


# --- checks ------------------------------------------------------------------------------------

@check(id="location.address_incomplete", factor="T1.i", severity="error",
       title="Practice address incomplete",
       message="practice location has no {expected}")
def address_incomplete(rows: pd.DataFrame) -> pd.DataFrame:
    """A practice location needs a street address, city, state and ZIP; without any of them the
    public cannot find the office. One finding per row naming every missing part (the field is the
    first one missing)."""
    mask, missing = _incomplete(rows)
    missing = missing[mask]            # the label is built for the incomplete rows only
    # The missing parts as one label per row, built column by column ('city, ZIP').
    names = pd.Series("", index=missing.index, dtype="object")
    for field, label in ADDRESS_PARTS.items():
        names = names + np.where(missing[field], label + ", ", "")
    names = names.str.rstrip(", ")
    first = missing.idxmax(axis=1) if len(missing) else pd.Series(dtype="object")
    out = [violations(rows, (first == field).reindex(rows.index, fill_value=False), field=field, observed="",
                      expected=names)
           for field in ADDRESS_PARTS]   # a loop over the four fields, not over rows
    return pd.concat(out, ignore_index=True)


@check(id="location.zip_malformed", factor="T1.i", severity="error",
       title="ZIP malformed", message="ZIP {observed!r} is not a 5-digit ZIP or ZIP+4")
def zip_malformed(rows: pd.DataFrame) -> pd.DataFrame:
    """A ZIP is five digits, optionally followed by a four-digit extension ('97201', '97201-1234')."""
    return violations(rows, _zip_malformed(rows), field="zip", expected="5 digits or ZIP+4")


@check(id="location.zip_unknown", factor="T1.i", severity="error",
       title="ZIP does not exist", message="ZIP {observed!r} does not exist")
def zip_unknown(rows: pd.DataFrame, flag_decommissioned: bool = False) -> pd.DataFrame:
    """A well-formed ZIP that the USPS ZIP data does not have: the address cannot be delivered to or
    mapped. A decommissioned ZIP (97258 Portland) still names a real place and is reported only with
    ``flag_decommissioned = true``."""
    facts = _zip_facts(rows)
    return violations(rows, _zip_unknown(rows, facts, bool(flag_decommissioned)), field="zip",
                      expected="a ZIP in the USPS data")


@check(id="location.zip_state_mismatch", factor="T1.i", severity="error",
       title="ZIP is in another state", message="ZIP {observed!r} is not in the listed state: {expected}")
def zip_state_mismatch(rows: pd.DataFrame) -> pd.DataFrame:
    """The ZIP belongs to a different state than the one listed: one of the two is wrong."""
    facts = _zip_facts(rows)
    mask = _zip_state_mismatch(rows, facts)
    hit = rows.loc[mask, ["state"]].join(facts.loc[mask, ["zip_state", "zip_city"]]).fillna("")   # quoted rows only
    expected = "listed " + hit["state"] + ", but the ZIP is in " + hit["zip_state"] + " (" + hit["zip_city"] + ")"
    return violations(rows, mask, field="zip", expected=expected,
                      detail=_detail(mask, listed_state=rows["state"], zip_state=facts["zip_state"]))


@check(id="location.zip_city_mismatch", factor="T1.i", severity="warning",
       title="City does not match the ZIP", message="city {observed!r} is not a name of ZIP {expected}")
def zip_city_mismatch(rows: pd.DataFrame) -> pd.DataFrame:
    """The listed city is neither the ZIP's city nor one of its acceptable alternate names in the
    USPS data. Case, punctuation, hyphens, spacing and the abbreviations St./Saint, Mt./Mount, Ft./Fort
    do not count; ZIP+4 is judged on its five digits. Silent when the ZIP is in another state
    (zip_state_mismatch reports that)."""
    facts = _zip_facts(rows)
    mask = _zip_city_mismatch(rows)
    hit = rows.loc[mask, ["zip"]].join(facts.loc[mask, ["zip_city", "zip_state"]]).fillna("")   # quoted rows only
    expected = hit["zip"] + " (" + hit["zip_city"] + ", " + hit["zip_state"] + ")"
    return violations(rows, mask, field="city", expected=expected,
                      detail=_detail(mask, zip=rows["zip"], zip_city=facts["zip_city"]))


@check(id="location.po_box", factor="T1.i", severity="error",
       title="PO Box as a practice location", message="practice location is a PO Box: {observed!r}")
def po_box(rows: pd.DataFrame) -> pd.DataFrame:
    """A PO Box cannot be a place where patients are seen. Recognizes 'PO Box', 'P.O. Box',
    'Post Office Box', 'POB', 'PO Drawer' and 'Box 12' on its own, in either address line."""
    l1, l2 = _po_box_lines(rows)
    return pd.concat([violations(rows, l1, field="address_line1", expected="a street address"),
                      violations(rows, l2 & ~l1, field="address_line2", expected="a street address")],
                     ignore_index=True)


@check(id="location.po_box_zip", factor="T1.i", severity="warning",
       title="ZIP serves PO Boxes only", message="ZIP {observed!r} serves PO Boxes only")
def po_box_zip(rows: pd.DataFrame) -> pd.DataFrame:
    """A ZIP the USPS uses only for PO Boxes (97208 Portland, 06102 Hartford) is a mailing address,
    not where patients go. Silent where the place has no street delivery at all, so its street
    addresses carry the PO-Box ZIP (Oak Bluffs MA 02557, Sagamore MA 02561)."""
    facts = _zip_facts(rows)
    return violations(rows, _po_box_zip(rows, facts), field="zip", expected="a ZIP with street delivery")


@check(id="location.phone_missing", factor="T1.i", severity="error",
       title="Phone missing", message="practice location has no phone number")
def phone_missing(rows: pd.DataFrame) -> pd.DataFrame:
    """Enrollees call to book; a location without a phone number cannot be reached (42 CFR 438.10(h)
    lists the phone among the required directory elements)."""
    return violations(rows, rows["phone_raw"].isna(), field="phone", observed="", expected="a phone number")


@check(id="location.phone_invalid", factor="T1.i", severity="error",
       title="Phone not a valid number", message="phone {observed!r} is not a valid US number")
def phone_invalid(rows: pd.DataFrame) -> pd.DataFrame:
    """A phone that is not a valid North American number (phonenumbers' metadata: real area code and
    exchange, ten digits). Extensions ('x12', 'ext. 12') are fine. Judged once per distinct number."""
    phones = _phone_table(rows)
    return violations(rows, _phone_invalid(rows, phones), field="phone", expected="a valid 10-digit US number")


@check(id="location.phone_out_of_state", factor="T1.i", severity="warning",
       title="Phone area code from another state",
       message="phone {observed!r} has an area code from {expected}")
def phone_out_of_state(rows: pd.DataFrame, border_km: float = 50.0) -> pd.DataFrame:
    """A valid number whose area code belongs to another state than the location's: often a central
    billing line or a number left over from another office. Toll-free numbers are not judged. A
    neighbouring state's number is fine when its area code serves a ZIP within ``border_km`` of the
    location (border towns share exchanges)."""
    facts = _zip_facts(rows)
    phones = _phone_table(rows)
    mask = _phone_out_of_state(rows, facts, phones, float(border_km))
    state = geo.location_state(rows, facts)
    expected = phones.loc[mask, "phone_region"].fillna("").str.replace("country:", "", regex=False) \
        + ", not " + state[mask].fillna("")
    return violations(rows, mask, field="phone", expected=expected,
                      detail=_detail(mask, area_code=phones["area_code"], phone_region=phones["phone_region"],
                                     location_state=state))


@check(id="location.outside_service_area", factor="T1.i", severity="warning",
       title="Location outside the service area",
       message="practice location in {observed!r} is outside the service area ({expected})")
def outside_service_area(rows: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """A location whose state is not a service-area state and whose county (from the directory, else
    from the ZIP) is not one of the configured out-of-state counties. Defaults: Oregon plus the
    border counties of Washington, Idaho, Nevada and California."""
    facts = _zip_facts(rows)
    state = geo.location_state(rows, facts)
    keys = geo.table_county_keys(rows)
    served = {c.split(":", 1)[0].strip().upper() + ":" + (geo.county_name(c.split(":", 1)[1]) or "").upper()
              for c in settings.service_area_counties}
    # a placeholder state ('UN') says nothing about where the office is: the ZIP's state, if any, does
    state = state.where(~placeholder_table(rows)["state"], facts["zip_state"])
    outside = state.notna() & ~state.isin(settings.service_area_states)
    in_county = keys[outside].fillna("").str.upper().isin(served)
    mask = outside & ~in_county.reindex(rows.index, fill_value=False)
    observed = rows["state_raw"][mask].where(rows["state_raw"][mask].notna(), state[mask])
    expected = "county " + keys[mask].fillna("unknown") + "; served: " + ", ".join(settings.service_area_states) \
        + (" and " + str(len(served)) + " listed counties" if served else "")
    return violations(rows, mask, field="state", observed=observed, expected=expected)   # county is in expected


#: Words that make an address an office's back room, not a place patients are seen.
ADMINISTRATIVE_ADDRESS = re.compile(
    r"(?i)\b(?:billing|bill\s+to|remit(?:tance)?|payments?|payable|claims|accounts|admin(?:istrat\w*)?|"
    r"corporate|headquarters|hq|business\s+office|cbo|credentialing|provider\s+enrollment|enrollment|"
    r"mail\s*room|mailing|mail\s+stop|central\s+office)\b")


def _specialty_family(rows: pd.DataFrame) -> np.ndarray:
    """Integer code of each row's specialty family (-1 none): the NUCC code's first four characters
    (207R internal medicine and its subspecialties, 1223 dentists, 2084 psychiatry and neurology),
    else the first specialty name. Once per distinct cell."""
    def family(cells: pd.Series) -> list:
        out = []
        for v in cells:
            first = str(v).split("|")[0]
            out.append(first[:4] if vocab.TAXONOMY_CODE.match(first) else None)
        return out
    codes = per_distinct(rows, "specialty_codes", family)
    names = per_distinct(rows, "specialty_names", lambda cells: [str(v).split("|")[0].lower() for v in cells])
    fam = codes.where(codes.notna(), names)
    return pd.factorize(fam, use_na_sentinel=True)[0]


@per_table
def crowded_sites(rows: pd.DataFrame, max_providers: int = 25, roster_locations: int = 5,
                  min_specialty_families: int = 5, shared_phone_sites: int = 10,
                  outlier_factor: float = 4.0) -> pd.DataFrame:
    """Per row at an address carrying more than ``max_providers`` distinct individuals: the evidence
    that the address is a listing artefact (see ``crowded_address``), and the reasons found; rows
    elsewhere are not in the frame. Shared by the check and the fix list."""
    from directory_audit.provider_types import hospital_based, organization_kind
    location = key_codes(rows, "location_key")
    provider = key_codes(rows, "provider_key")
    individual = (rows["provider_type"] == "individual").to_numpy()
    n = distinct_count_per(location, provider, individual)
    crowded = individual & (n > int(max_providers))
    if not crowded.any():
        return pd.DataFrame()
    organization = rows["provider_type"].isin(["facility", "group"]).to_numpy()
    named = organization | rows["facility_name"].notna().to_numpy()
    # hospital-based clinicians (radiology, pathology, anesthesia, emergency, hospitalists) make a campus
    hospital = hospital_based(rows).to_numpy()
    n_hospital = distinct_count_per(location, provider, individual & hospital)
    facility_here = any_per(location, organization | (per_distinct(
        rows, "facility_name", lambda v: organization_kind(v)["kind"].to_numpy(dtype=object) == "facility",
        missing=False).to_numpy(dtype=bool)))
    campus = (n_hospital >= 3) | facility_here
    listed_here = any_per(location, named)
    names_facilities = named.mean() >= 0.1            # the directory names facilities or groups at all
    families = distinct_count_per(location, _specialty_family(rows), individual)
    phone = real_phone_codes(rows)          # a placeholder (000-000-0000) is no line shared by anyone
    phones_here = distinct_count_per(location, phone, individual)
    one_phone = (phones_here == 1) & ~any_per(location, individual & (phone < 0))
    phone_sites = distinct_count_per(phone, location)            # addresses each number serves
    shared_line = one_phone & (np.where(phone >= 0, phone_sites, 0) > int(shared_phone_sites))
    roaming = individual & ~hospital & (distinct_count_per(provider, location, individual) >= int(roster_locations))
    roster_share = distinct_count_per(location, provider, roaming) / np.maximum(n, 1)
    admin = (per_distinct(rows, "address_line1_raw", lambda v: v.str.contains(ADMINISTRATIVE_ADDRESS).to_numpy(),
                          missing=False).to_numpy(dtype=bool)
             | per_distinct(rows, "address_line2_raw", lambda v: v.str.contains(ADMINISTRATIVE_ADDRESS).to_numpy(),
                            missing=False).to_numpy(dtype=bool))
    # the directory's own distribution: its ordinary shared sites (not campuses, two to max_providers
    # individuals), so that a few huge listings cannot raise the bar they are measured against
    first = first_rows(np.where(location >= 0, location, -1))
    site_n = n[first]
    comparable = (site_n >= 2) & (site_n <= int(max_providers)) & ~campus[first]
    p99 = float(np.percentile(site_n[comparable], 99)) if comparable.any() else 0.0
    # ten shared sites at least, or there is no distribution to stand out from
    outlier = ~campus & (n > outlier_factor * max(p99, 1.0)) & (int(comparable.sum()) >= 10)

    reasons = {
        "administrative_address": admin,
        "roster_copy": roster_share >= 0.5,
        "unrelated_specialties_no_facility": ~campus & names_facilities & ~listed_here
                                             & (families >= int(min_specialty_families)),
        "one_shared_phone": ~campus & shared_line,
        "outlier": outlier,
    }
    at = np.flatnonzero(crowded)
    frame = pd.DataFrame({k: v[at] for k, v in reasons.items()}, index=rows.index[at])
    frame["reasons"] = [",".join(k for k, hit in zip(reasons, flags) if hit)
                        for flags in frame[list(reasons)].itertuples(index=False)]
    frame["providers"] = n[at]
    frame["specialty_families"] = families[at]
    frame["phones"] = phones_here[at]
    frame["phone_sites"] = np.where(one_phone[at] & (phone[at] >= 0), phone_sites[at], 0)
    frame["facility_or_group_listed"] = listed_here[at]
    frame["hospital_based"] = n_hospital[at]
    frame["campus"] = campus[at]
    frame["roster_share"] = roster_share[at].round(3)
    frame["p99_comparable_sites"] = p99
    frame["location_key"] = rows["location_key"].to_numpy(dtype=object)[at]
    return frame


_REASON_TEXT = {
    "administrative_address": "the address is a billing or administrative office",
    "roster_copy": "most of them are listed at {roster} or more sites (a roster copied to every site)",
    "unrelated_specialties_no_facility": "{families} unrelated specialty families and no facility or group listed there",
    "one_shared_phone": "one phone for all of them, also listed at {phone_sites} addresses",
    "outlier": "far more than any comparable site in this directory (99th percentile of its shared sites: {p99:g})",
}


@check(id="location.crowded_address", factor="T1.i", severity="warning",
       title="Address crowded with listings that look like an artefact",
       message="address {observed!r} is listed for {expected}")
def crowded_address(rows: pd.DataFrame, max_providers: int = 25, roster_locations: int = 5,
                    min_specialty_families: int = 5, shared_phone_sites: int = 10,
                    outlier_factor: float = 4.0) -> pd.DataFrame:
    """Many clinicians at one address is normal at a hospital campus, a university clinic or a large
    group's site; it is a ghost-network signal only when it looks like a listing artefact. An address
    (line 1 + ZIP) with more than ``max_providers`` distinct individuals is reported when:
    its line says it is a billing or administrative office (those rows); half or more of its
    clinicians are listed at ``roster_locations`` or more sites (the roster copied to every site);
    or, unless it is a campus (a facility listed there, or three or more hospital-based clinicians:
    radiology, pathology, anesthesia, emergency, hospitalists), they span ``min_specialty_families``
    or more unrelated specialty families with no facility or group listed there (in a directory that
    names them), share one phone that also serves more than ``shared_phone_sites`` other addresses,
    or outnumber ``outlier_factor`` times the 99th percentile of the directory's ordinary shared sites
    (two to ``max_providers`` individuals, campuses left out). The
    reasons and the evidence are in ``detail``."""
    sites = crowded_sites(rows, int(max_providers), int(roster_locations), int(min_specialty_families),
                          int(shared_phone_sites), float(outlier_factor))
    if sites.empty:
        return violations(rows, pd.Series(False, index=rows.index), field="address_line1", expected="")
    hit = sites[sites["reasons"] != ""]
    mask = pd.Series(False, index=rows.index)
    mask[hit.index] = True
    why = [", ".join(_REASON_TEXT[r].format(roster=roster_locations, families=f, phone_sites=ps, p99=p)
                     for r in reasons.split(","))
           for reasons, f, ps, p in zip(hit["reasons"], hit["specialty_families"], hit["phone_sites"],
                                        hit["p99_comparable_sites"])]
    expected = pd.Series([f"{n} distinct individual providers: {w}" for n, w in zip(hit["providers"], why)],
                         index=hit.index)
    detail = hit.drop(columns=list(_REASON_TEXT)).assign(reasons=hit["reasons"].str.split(","))
    return violations(rows, mask, field="address_line1", expected=expected, detail=detail_json(detail))


@check(id="location.provider_many_locations", factor="T1.i", severity="warning",
       title="Provider listed at implausibly many locations",
       message="provider is listed at {expected}")
def provider_many_locations(rows: pd.DataFrame, max_locations: int = 8) -> pd.DataFrame:
    """An individual listed at more than ``max_locations`` distinct practice locations: usually a group
    listing a clinician at every site rather than where they see patients. Hospital-based specialties
    (radiology, nuclear medicine, pathology, anesthesiology and nurse anesthetists, emergency medicine,
    hospitalists: ``ghost.hospital_based``, by NUCC code or name) are exempt: they work at every
    hospital they cover. One finding per row of
    that provider, the count in ``detail``."""
    from .ghost import hospital_based      # ghost imports this module's neighbours; import when run
    individual = (rows["provider_type"] == "individual").to_numpy()
    per_provider = distinct_count_per(key_codes(rows, "provider_key"), key_codes(rows, "location_key"), individual)
    over = individual & (per_provider > int(max_locations))
    if over.any():   # hospital-based clinicians are rightly listed at every hospital they cover
        over &= ~any_per(key_codes(rows, "provider_key"), hospital_based(rows).to_numpy() & over)
    n = pd.Series(per_provider, index=rows.index).where(over)
    mask = n.notna()
    expected = n[mask].astype("int64").astype(str) + f" distinct locations (at most {max_locations} expected)"
    return violations(rows, mask, field="address_line1", expected=expected,
                      detail=_detail(mask, provider_key=rows["provider_key"], locations=n.astype("Int64")))


# --- metric ------------------------------------------------------------------------------------

def invalid_location_mask(rows: pd.DataFrame) -> pd.Series:
    """Rows with any finding from VALIDITY_CHECKS (address, ZIP and phone validity)."""
    facts = _zip_facts(rows)
    phones = _phone_table(rows)
    l1, l2 = _po_box_lines(rows)
    return (_incomplete(rows)[0] | _zip_malformed(rows) | _zip_unknown(rows, facts)
            | _zip_state_mismatch(rows, facts) | _zip_city_mismatch(rows) | l1 | l2
            | _po_box_zip(rows, facts) | rows["phone_raw"].isna() | _phone_invalid(rows, phones)
            | placeholder_table(rows).any(axis=1))


@metric(id="location.valid_share", factor="T1.i", title="Provider-locations with a valid address and phone")
def valid_share(rows: pd.DataFrame) -> dict:
    """Share of provider-locations with a complete, valid and consistent address and phone: no
    finding from the address, ZIP, PO Box and phone checks (VALIDITY_CHECKS). An out-of-state area
    code, the service area and the crowding signals do not count against it: they can be correct."""
    n = len(rows)
    valid = int((~invalid_location_mask(rows)).sum()) if n else 0
    return {"rows": int(n), "valid": valid, "share": round(valid / n, 4) if n else None}

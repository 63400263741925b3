"""How a listing's provider type (individual, facility, group) is decided, in one place.

Directories rarely say it cleanly: a Medicaid scrape puts "CITY OF CHICAGO" in the last-name
field, an Excel export has one name cell holding "PINNACLE DERMATOLOGY" or "Jane Doe, MD", a QHP
file says GROUP. Every signal is weighed once, in ``normalize``, by the rule table ``RULES`` below:
the first rule that applies decides, and the rule's name is kept in ``provider_type_basis`` so a
finding (or a reviewer) can say why a listing was read as a person or an organisation.

Organisations are told apart as *facility* (a place: hospital, clinic, centre, pharmacy, lab,
a public body) or *group* (a practice entity: PC, PLLC, LLC, "& Associates", "... Dermatology").
Facility words win over legal suffixes ("Summit Surgery Center, Inc." is a facility).

A name with no organisation word is not thereby a person's: "DISCOVERY HOUSE UTAH" has the shape of
one. Words that are also surnames (HOUSE, HOME, MANOR...) or a state's name make an organisation only
of a name in which no word is a given name (``given_names``: the 1990 US Census list, bundled), so
"GREGORY HOUSE" stays a person (``_place_or_programme``).

Everything is worked out once per *distinct* value of each signal column and spread back by
integer codes, so a million rows cost what their vocabulary of names costs.

Helpers for the checks: ``is_individual``, ``is_organization``, ``hospital_based`` (radiology,
pathology, anesthesiology, emergency medicine, hospitalists: clinicians who legitimately appear at
many sites), ``organization_key`` (a facility name with legal suffixes and abbreviations unified,
for matching "Summit Surgery Ctr" with "SUMMIT SURGERY CENTER, Inc."), ``providers_by_type`` and
``refine_with_nppes`` (the NPPES entity type for listings the directory's own signals leave open).
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import numpy as np
import pandas as pd

from . import vocab

# --------------------------------------------------------------------------------------------------
# Word lists (matched on upper-cased text whose punctuation became spaces, '&' kept)

#: Legal-entity suffixes: a name carrying one is an organisation's, whatever else it says.
LEGAL_SUFFIXES = (r"P ?C|P ?L ?L ?C|L ?L ?C|L ?L ?P|L ?P|INC|INCORPORATED|CORP|CORPORATION|LTD|LIMITED|"
                  r"P ?S ?C|S ?C|CHTD|CHARTERED|PLC|APC|APMC|SMC|LLLP|PLLP|COMPANY|CO")
#: Words naming a place or a public body: the organisation is a facility.
FACILITY_WORDS = (r"HOSPITALS?|HOSP|MEDICAL CENTERS?|CENTERS?|CENTRES?|CTRS?|CNTR|CLINICS?|CLINIC[A-Z]*|"
                  r"HEALTH ?SYSTEMS?|HEALTHCARE SYSTEMS?|UNIVERSITY|UNIV|REGENTS|COLLEGE|CITY OF|COUNTY|"
                  r"DEPARTMENT|DEPT|STATE OF|DISTRICT|AUTHORITY|PHARMACY|PHARMACIES|DRUGS?|DRUGSTORE|"
                  r"LABS?|LABORATORY|LABORATORIES|IMAGING|DIALYSIS|NURSING|REHAB|REHABILITATION|HOSPICE|"
                  r"HOME HEALTH|HOME CARE|AMBULANCE|TRANSPORT|TRANSPORTATION|URGENT CARE|INFIRMARY|FQHC|"
                  r"SCHOOL|SCHOOLS|SUPPLY|SUPPLIES|DME|RESIDENTIAL|TREATMENT|SHELTER|INSTITUTE|"
                  r"FOUNDATION|MINISTRIES|MINISTRY|YMCA|TRUST|MEDICAL SUPPLY|ASSISTED LIVING|SENIOR LIVING|"
                  r"HEALTH DEPARTMENT|PUBLIC HEALTH|COMMUNITY HEALTH|AGENCY|FACILITY|FACILITIES|CAMPUS|"
                  r"BUILDING|BLDG|BLD|PAVILION|SNF|LIVING|MILK BANK|BLOOD BANK|FOOD BANK|CENTRO|HOSPITALES?")
#: Words naming a practice or a service line: with no first name, the listing is a group.
GROUP_WORDS = (r"&|AND ASSOC|ASSOC|ASSOCS|ASSOCIATES|ASSOCIATION|GROUP|GRP|PARTNERS|PARTNERSHIP|PRACTICE|"
               r"PHYSICIANS|SPECIALISTS|CONSULTANTS|SERVICES|SVCS|SOLUTIONS|MEDICAL|MEDICINE|HEALTH|"
               r"HEALTHCARE|CARE|WELLNESS|THERAPY|THERAPIES|THERAPEUTICS|COUNSELING|COUNSELLING|DENTAL|"
               r"DENTISTRY|DENTISTS|ORTHODONTICS|ORTHODONTIC|ENDODONTICS|PERIODONTICS|DERMATOLOGY|CARDIOLOGY|"
               r"PEDIATRICS|PEDIATRIC|ORTHOPEDICS|ORTHOPAEDICS|ORTHOPEDIC|OBGYN|OB GYN|GYNECOLOGY|OBSTETRICS|"
               r"WOMENS|FAMILY|EYE|EYECARE|VISION|OPTOMETRY|OPTICAL|CHIROPRACTIC|PODIATRY|ONCOLOGY|"
               r"NEUROLOGY|PSYCHIATRY|PSYCHIATRIC|PSYCHOLOGY|PSYCHOLOGICAL|RADIOLOGY|ANESTHESIA|"
               r"ANESTHESIOLOGY|UROLOGY|GASTROENTEROLOGY|ALLERGY|BEHAVIORAL|MENTAL|NETWORK|PROFESSIONAL|"
               r"PROFESSIONALS|ENTERPRISES|SURGERY|SURGICAL|SURGEONS|PATHOLOGY|AUDIOLOGY|HEARING|"
               r"SLEEP|SPINE|VASCULAR|KIDNEY|HEART|PAIN|RECOVERY|ADDICTION|DIAGNOSTICS|DIAGNOSTIC|"
               r"OUTPATIENT|EMERGENCY|PRIMARY|INTERNAL|PEDS|OPHTHALMOLOGY|ENT|ANIMAL|SPEECH|ASSOCIATED|"
               r"PROSTHETICS|ORTHOTICS|UNLIMITED|INDUSTRIES|CHARITIES|DIOCESE|ARCHDIOCESE|SERVICIOS|MEDICOS|"
               r"MEDICO|SALUD|DBA|"
               # words no person's name holds: 'VOLUNTEERS OF AMERICA', 'ACCESS AT SINAI', 'THE THRESHOLDS',
               # 'AMERICANS FOR BETTER HEARING', 'SCHECK AND SIRESS' ('DOCTOR OF MEDICINE' is a credential,
               # taken off first)
               r"OF|THE|FOR|AT|AND")
#: Credentials after a person's name: MD, DO, NP, PA-C, LCSW, DDS... ('PA' is also the legal suffix
#: Professional Association: after a name with an organisation word it is read as that).
CREDENTIALS = (r"MEDICAL DOCTOR|DOCTOR OF(?: [A-Z]+){1,3}|NURSE PRACTITIONER|PHYSICIAN ASSISTANT|REGISTERED NURSE|"
               r"LICENSED CLINICAL SOCIAL WORKER|MD|M D|DO|D O|NP|PA|P A|FNP|FNP C|FNP BC|ARNP|APRN|APN|CNP|PA C|PAC|DDS|DMD|DPM|OD|PHD|PSYD|LCSW|"
               r"LICSW|LPC|LPCC|LMFT|LMHC|LCPC|LSW|RN|CNM|CRNA|DC|ND|LAC|MPH|MSW|PMHNP|PMHNP BC|DNP|RD|"
               r"RDN|PT|DPT|OT|OTR|OTR L|CCC SLP|SLP|AUD|FACP|FAAP|FACS|MBBS|LCADC|CADC|BCBA|MA|MS|MSN|"
               r"LMSW|LADC|CSW|CPNP|AGNP|ANP|WHNP|NNP|DNSC|EDD|PHARMD|RPH|OPT")

#: Words naming a residence or a programme: they make an organisation only of a name no given name
#: could start (``_place_or_programme``), because each is also someone's surname (Gregory House).
RESIDENCE_WORDS = frozenset({"HOUSE", "HOUSES", "HOME", "HOMES", "HAVEN", "LODGE", "MANOR", "VILLAGE", "PLACE",
                             "RESIDENCE", "RESIDENCES", "HOUSING", "SHELTERS", "RETREAT"})
PROGRAMME_WORDS = frozenset({"PROGRAM", "PROGRAMS", "PROJECT", "ALLIANCE", "COALITION", "SOCIETY", "OUTREACH",
                             "MISSION", "CHURCH", "COUNCIL", "ACADEMY", "RESOURCES", "CONNECTIONS", "PATHWAYS",
                             "HORIZONS", "COOPERATIVE", "COLLABORATIVE", "CONSORTIUM", "INITIATIVE", "LEAGUE"})
#: State names that are also common US surnames (1990 Census rank under 20,000): as a name's last word
#: they say nothing (Denzel Washington, Joe Montana). State names that are given names (Georgia,
#: Virginia, Nevada...) say nothing either ('BARROW, VIRGINIA' is a person written surname first).
SURNAME_STATES = frozenset({"WASHINGTON", "MONTANA", "MAINE", "COLORADO"})
GIVEN_NAMES_FILE = Path(__file__).with_name("data") / "given_names_census1990.txt"

_LEGAL = re.compile(rf"(?:^|\s)(?:{LEGAL_SUFFIXES})$")                 # a legal suffix ends the name
_FACILITY = re.compile(rf"(?:^|\s)(?:{FACILITY_WORDS})(?:\s|$)")
_GROUP = re.compile(rf"(?:^|\s)(?:{GROUP_WORDS})(?:\s|$)")
_CREDENTIAL_TAIL = re.compile(rf"(?:\s(?:{CREDENTIALS}))+$")
_CREDENTIAL_ONLY = re.compile(rf"^(?:(?:{CREDENTIALS}|JR|SR|II|III|IV)(?:\s|$))+$")
_GENERATION_ONLY = re.compile(r"^(?:(?:JR|SR|II|III|IV)(?:\s|$))+$")
#: Surname particles: 'DE LA CRUZ' with no first name is a person's surname, not an organisation.
_PARTICLE = re.compile(r"^(?:DE|DEL|DELA|LA|LE|VAN|VON|DER|DI|DA|DU|DOS|DAS|MC|MAC|O|ST|SAN|SANTA|BEN|BIN|AL|EL|ABU)\s")
_NOT_TEXT = re.compile(r"[^A-Z0-9&]+")

#: The rule table, in order: the first that applies decides. (basis, what it looks at, the type).
RULES: tuple[tuple[str, str, str], ...] = (
    ("declared_contradicted", "declared individual, but no first name and an organisation word or legal "
     "suffix in the name", "facility or group by the words"),
    ("declared", "the directory's provider type column (Individual/Practitioner, Facility/Organization, "
     "Group)", "as declared"),
    ("legal_suffix", "an organisation name (one name cell, a last name without a first name, or the "
     "facility/group column when no person is named) ending in a legal suffix: PC, PLLC, LLC, INC, CORP, "
     "LTD, PA...", "facility when it also has a facility word, else group"),
    ("named_as_site", "no first name, and the name is the facility/location column's name (legal suffixes and "
     "abbreviations unified): the listing is the site's organisation", "facility or group by the words, else group"),
    ("credentials", "credentials after the name or in the suffix: MD, DO, NP, PA-C, LCSW, DDS... (a degree in "
     "the suffix column does not count for a name of two words or more with organisation words and no first "
     "name)", "individual"),
    ("organization_words", "an organisation name with facility words (HOSPITAL, CENTER/CTR, CLINIC, HEALTH "
     "SYSTEM, UNIVERSITY, REGENTS, CITY OF, COUNTY, DEPARTMENT, PHARMACY, LAB...) or group words "
     "(& ASSOC, GROUP, PARTNERS, MEDICAL, DENTAL, DERMATOLOGY..., and OF, THE, FOR, AT, AND, DBA, which no "
     "person's name holds), a group naming a residence (HOME, HOUSE, MANOR) being a facility; or, in a name "
     "with no given name of the "
     "1990 US Census, a US state name after the first word (DISCOVERY HOUSE UTAH) or, in three words or more, "
     "a residence or programme word (HOUSE, HOME, HAVEN, PROGRAM, ALLIANCE...)", "facility, else group"),
    ("person_name", "a first and a last name; a one-cell name of two words or more (unless the directory "
     "declares NPI entity type 2); a first name alone", "individual"),
    ("npi_entity_type", "the NPI entity type the directory declares (1 person, 2 organisation)",
     "individual, or facility/group by the facility column"),
    ("facility_column", "only the facility/group column names the listing", "facility"),
    ("surname_alone", "a last name starting with a surname particle (DE LA CRUZ) and no first name",
     "individual"),
    ("name_without_first_name", "a last name and no first name, no credentials: real scraped directories put "
     "organisations there (HRDI, CARITAS, UCAN)", "group"),
    ("nppes_entity_type", "with --nppes: the NPPES entity type of the listed NPI, for listings the rules "
     "above leave open or decide only from the name's shape", "individual, or facility/group by the words"),
    ("unknown", "nothing above applies (a one-word name, no type, no NPI entity type)", "unknown"),
)

#: Bases the NPPES entity type may override: the directory's own evidence is weak or absent.
WEAK_BASES = ("facility_column", "surname_alone", "name_without_first_name", "unknown")


def _codes(col) -> tuple[np.ndarray, pd.Series]:
    """(codes -1 missing, distinct values) of a column, or of an object with ``codes`` and ``values``
    (normalize's factorizations, reused rather than hashed again)."""
    if hasattr(col, "codes") and hasattr(col, "values") and not isinstance(col, pd.Series):
        return col.codes, pd.Series(np.asarray(col.values, dtype=object), dtype="object")
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    return codes, pd.Series(np.asarray(uniques, dtype=object), dtype="object")


def _spread(codes: np.ndarray, values: np.ndarray, missing) -> np.ndarray:
    values = np.asarray(values)
    out = np.append(values, np.array([missing], dtype=values.dtype if values.dtype != object else object))
    return out[np.where(codes >= 0, codes, len(values))]


def _interned(values: np.ndarray, missing: str) -> np.ndarray:
    """Text of a small vocabulary (types, rules) as one shared string per distinct value, ``missing``
    where None: equal values built row by row are otherwise a million separate objects."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return _spread(codes, np.asarray(uniques, dtype=object), missing)


def _flip(coded: tuple[np.ndarray, pd.Series]) -> tuple[np.ndarray, np.ndarray]:
    return coded[0], coded[1].to_numpy(dtype=object)


def _plain(values: pd.Series) -> pd.Series:
    """Upper case, punctuation and spaces collapsed to one space, '&' kept: 'Smith & Assoc., P.C.'
    -> 'SMITH & ASSOC P C'."""
    from .normalize import fold_accents
    return values.map(lambda v: _NOT_TEXT.sub(" ", fold_accents(str(v)).upper()).strip())


@functools.lru_cache(maxsize=1)
def given_names() -> frozenset[str]:
    """The 5,163 given names of the 1990 US Census (``GIVEN_NAMES_FILE``), upper case."""
    lines = GIVEN_NAMES_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


#: US state and territory names as word tuples, indexed by their first word (NEW -> NEW YORK, ...).
_STATES_BY_FIRST: dict[str, tuple[tuple[str, ...], ...]] = {}
for _name in vocab.STATE_NAMES:
    _STATES_BY_FIRST.setdefault(_name.split()[0], ())
    _STATES_BY_FIRST[_name.split()[0]] += (tuple(_name.split()),)
_CUE_WORDS = RESIDENCE_WORDS | PROGRAMME_WORDS | frozenset(_STATES_BY_FIRST)


def _state_words(words: list[str]) -> set[int]:
    """Positions of the words of a US state or territory name in ``words``: a name of two words or
    more anywhere (NEW YORK, RHODE ISLAND); a one-word name only after the first word (a first word
    GEORGIA or VIRGINIA is a given name) and not one of ``SURNAME_STATES``."""
    found: set[int] = set()
    for i, word in enumerate(words):
        for parts in _STATES_BY_FIRST.get(word, ()):
            n = len(parts)
            if tuple(words[i:i + n]) != parts:
                continue
            if n > 1 or (i > 0 and word not in SURNAME_STATES and word not in given_names()):
                found.update(range(i, i + n))
    return found


def _place_or_programme(core: str) -> str | None:
    """'facility' / 'group' for an organisation name made only of ordinary words, or None.

    The strong organisation words (``FACILITY_WORDS``, ``GROUP_WORDS``) decide most names. What is
    left looks like a person's name by its shape alone ('DISCOVERY HOUSE UTAH', three words). Such a
    name is an organisation's when none of its words is a given name of the 1990 US Census and it
    either names a US state or territory (``_state_words``: 'DISCOVERY HOUSE UTAH', 'BRIDGEWAY NEW
    JERSEY'), or has three words or more with a residence or programme word ('SOBER HAVEN HOUSE',
    'NEW HORIZONS PROGRAM'). 'GREGORY HOUSE', 'HOUSE GREGORY' and 'HOPE HOUSE' (Hope is a given name)
    stay people; so do two-word names ('AMARA HOUSE'), whose given name may be one the 1990 list lacks,
    and names with a state that is also a given name ('BARROW, VIRGINIA')."""
    words = core.split()
    if len(words) < 2 or _CUE_WORDS.isdisjoint(words):      # most names: no cue at all, decided at once
        return None
    states = _state_words(words)
    given = given_names()
    if any(w in given for i, w in enumerate(words) if i not in states):
        return None
    residence = any(w in RESIDENCE_WORDS for w in words)
    programme = any(w in PROGRAMME_WORDS for w in words)
    if states or (len(words) >= 3 and (residence or programme)):
        return "facility" if residence else "group"
    return None


def organization_kind(names: pd.Series) -> pd.DataFrame:
    """For distinct names: ``kind`` 'facility' / 'group' / None by the words, ``legal`` whether a legal
    suffix ends it, ``credentials`` whether credentials end it, ``words`` how many words it has."""
    if not len(names):
        return pd.DataFrame({"kind": np.zeros(0, dtype=object), "legal": np.zeros(0, dtype=bool),
                             "credentials": np.zeros(0, dtype=bool), "words": np.zeros(0, dtype=np.int64),
                             "particle": np.zeros(0, dtype=bool)})
    plain = _plain(names)
    legal = plain.map(lambda v: bool(_LEGAL.search(v))).to_numpy(dtype=bool)
    # words are looked for in the name without its credentials ('EVAN HACK, MEDICAL DOCTOR' is a person)
    core = plain.map(lambda v: _CREDENTIAL_TAIL.sub("", v).strip() or v)
    facility = core.map(lambda v: bool(_FACILITY.search(v))).to_numpy(dtype=bool)
    group = core.map(lambda v: bool(_GROUP.search(v))).to_numpy(dtype=bool)
    cred = plain.map(lambda v: bool(_CREDENTIAL_TAIL.search(v))).to_numpy(dtype=bool)
    kind = np.where(facility, "facility", np.where(group | legal, "group", None)).astype(object)
    # names with no organisation word at all: a state name or a residence/programme word, read only
    # where no given name is in the name (no credentials either: 'JOHN UTAH MD' is a person)
    plain_names = pd.isna(kind) & ~cred
    if plain_names.any():
        kind[plain_names] = core[plain_names].map(_place_or_programme).to_numpy(dtype=object)
    # an organisation by its words that names a residence is a place: 'HELP AT HOME', 'MEADOWBROOK MANOR
    # OF LAGRANGE' (a group word, OF or AT, makes it an organisation; MANOR, HOME make it a facility)
    grouped = kind == "group"
    if grouped.any():
        residence = core[grouped].map(lambda v: not RESIDENCE_WORDS.isdisjoint(v.split())).to_numpy(dtype=bool)
        kind[np.flatnonzero(grouped)[residence]] = "facility"
    # words as written (a hyphenated surname is one word); a leading particle makes it a surname
    words = names.astype(str).str.replace(",", " ", regex=False).str.split().str.len().fillna(0).to_numpy(dtype=np.int64)
    particle = plain.map(lambda v: bool(_PARTICLE.match(v))).to_numpy(dtype=bool)
    return pd.DataFrame({"kind": kind, "legal": legal, "credentials": cred, "words": words,
                         "particle": particle}, index=names.index)


def _is_credentials(values: pd.Series) -> np.ndarray:
    """Whether each distinct suffix cell holds credentials (MD, 'M.D., FACP'), not just Jr/Sr/III."""
    plain = _plain(values)
    return plain.map(lambda v: bool(v) and bool(_CREDENTIAL_ONLY.match(v))
                     and not _GENERATION_ONLY.match(v)).to_numpy(dtype=bool)


def _same_organisation(names: np.ndarray, sites: np.ndarray) -> np.ndarray:
    """Row by row, whether two name cells name one organisation (``organization_key`` equal)."""
    a = organization_key(pd.Series(names, dtype="object")).to_numpy(dtype=object)
    b = organization_key(pd.Series(sites, dtype="object")).to_numpy(dtype=object)
    return pd.notna(a) & pd.notna(b) & (a == b)


def classify(declared: pd.Series, entity_type: pd.Series, first_name: pd.Series, last_name: pd.Series,
             full_name: pd.Series, suffix: pd.Series, facility_name: pd.Series) -> pd.DataFrame:
    """Provider type and the rule that decided it, for every row, by ``RULES``.

    ``declared`` is the raw provider-type cell, ``entity_type`` '1'/'2'/missing, ``first_name`` and
    ``last_name`` the name parts the directory gave (not parsed out of ``full_name``, the one-cell
    name), ``suffix`` the suffix/credential cell, ``facility_name`` the facility/group column.
    Returns columns ``provider_type``, ``provider_type_basis`` and ``organization_name`` (the name
    read as an organisation's, where the listing is one, for the facility column)."""
    index = first_name.index
    n = len(index)
    # declared type, once per distinct cell
    dcodes, dvalues = _codes(declared)
    decl = _spread(dcodes, dvalues.map(lambda v: vocab.PROVIDER_TYPE_VALUES.get(str(v).strip().lower().strip(".")))
                   .to_numpy(dtype=object), None)
    ent = entity_type.astype(object).where(entity_type.notna(), None).to_numpy(dtype=object)
    has_first = first_name.notna().to_numpy(dtype=bool)
    has_last = last_name.notna().to_numpy(dtype=bool)
    has_full = full_name.notna().to_numpy(dtype=bool)
    has_facility = _codes(facility_name)[0] >= 0
    facility_text = _spread(*_flip(_codes(facility_name)), None)
    no_parts = ~has_first & ~has_last
    # The text that would be an organisation's name: a one-cell name (when no parts are given), a
    # last name with no first name, else the facility column when no person is named.
    org_text = np.where(no_parts & has_full, full_name.to_numpy(dtype=object),
                        np.where(has_last & ~has_first, last_name.to_numpy(dtype=object),
                                 np.where(no_parts, facility_text, None)))
    from_facility_column = no_parts & ~has_full & has_facility
    ocodes, ovalues = _codes(pd.Series(org_text, index=index, dtype="object"))
    facts = organization_kind(ovalues)
    kind = _spread(ocodes, facts["kind"].to_numpy(dtype=object), None)
    legal = _spread(ocodes, facts["legal"].to_numpy(dtype=bool), False)
    cred_in_name = _spread(ocodes, facts["credentials"].to_numpy(dtype=bool), False)
    words = _spread(ocodes, facts["words"].to_numpy(dtype=np.int64), 0)
    scodes, svalues = _codes(suffix)
    cred_suffix = _spread(scodes, _is_credentials(svalues) if len(svalues) else np.zeros(0, dtype=bool), False)
    # the facility column's kind, for organisations named elsewhere or typed by entity type
    fcodes, fvalues = _codes(facility_name)
    fkind = _spread(fcodes, organization_kind(fvalues)["kind"].to_numpy(dtype=object), None)

    particle = _spread(ocodes, facts["particle"].to_numpy(dtype=bool), False)
    org_word = pd.notna(kind)
    full_only = no_parts & has_full
    # A stray degree in the credentials column does not make a person of an organisation's name given
    # with no first name ('METHODIST HOSPITAL OF CHICAGO' with degree MD in a Medicaid scrape).
    org_named = ~has_first & org_word & (words >= 2)
    credentials = (cred_suffix & ~org_named) | (cred_in_name & ~legal & ~org_word)
    # The listing's name is its site's name (the facility/location column says the same, once legal
    # suffixes and abbreviations are unified): the listing is that site ('SAN RAFAEL' at location 'SAN
    # RAFAEL'). Not where the name cell itself carries credentials.
    named_as_site = ~has_first & (has_last | has_full) & has_facility & ~from_facility_column & ~cred_in_name
    if named_as_site.any():                     # compared only where it can apply: most rows name a person
        named_as_site[named_as_site] = _same_organisation(org_text[named_as_site], facility_text[named_as_site])
    # kind of an organisation with no words of its own: the facility column's, else its default
    fkind_or = lambda default: np.where(pd.notna(fkind), fkind, default)  # noqa: E731
    org_or = lambda default: np.where(org_word, kind, fkind_or(default))  # noqa: E731
    individual = "individual"
    # (basis, condition, type), in RULES order
    table = [
        ("declared_contradicted",
         (decl == "individual") & ~has_first & (legal | org_word) & ~from_facility_column & ~credentials,
         org_or("group")),
        ("declared", pd.notna(decl), decl),
        ("legal_suffix", legal & ~cred_suffix, org_or("group")),
        ("named_as_site", named_as_site, org_or("group")),
        ("credentials", credentials, individual),
        ("organization_words", org_word, kind),
        # a one-cell name's shape gives way to a declared NPI entity type 2 (an organisation's NPI)
        ("person_name", (has_first & has_last) | (full_only & (words >= 2) & (ent != "2")) | (has_first & ~has_last),
         individual),
        ("npi_entity_type", (ent == "1") | (ent == "2"),
         np.where(ent == "1", "individual", fkind_or(np.where(has_facility, "facility", "group")))),
        ("facility_column", from_facility_column, fkind_or("facility")),
        ("surname_alone", has_last & ~has_first & particle, individual),
        ("name_without_first_name", has_last & ~has_first, "group"),
    ]
    assert [t[0] for t in table] == [r[0] for r in RULES][:len(table)]
    # the first rule that holds, as its position (len(table): none); each row's type and basis are
    # then taken from a handful of shared strings, not a million copies of them
    rule = np.select([t[1] for t in table], list(range(len(table))), default=len(table))
    basis = np.array([t[0] for t in table] + ["unknown"], dtype=object)[rule]
    ptype = np.empty(n, dtype=object)
    for i, (_, _, choice) in enumerate(table):
        at = rule == i
        ptype[at] = choice[at] if isinstance(choice, np.ndarray) else choice
    ptype = _interned(ptype, "unknown")
    organization = (ptype == "facility") | (ptype == "group")
    org_name = np.where(organization & has_facility, facility_text,
                        np.where(organization, org_text, None))
    # object columns: pandas would otherwise copy the text into Arrow strings, and the canonical
    # table back into one Python string per row
    return pd.DataFrame({"provider_type": pd.Series(ptype, index=index, dtype=object),
                         "provider_type_basis": pd.Series(basis, index=index, dtype=object),
                         "organization_name": pd.Series(org_name, index=index, dtype=object)}, index=index)


# --------------------------------------------------------------------------------------------------
# Helpers for the checks


def is_individual(rows: pd.DataFrame) -> pd.Series:
    """Listings of a person: the only ones of which individual-only fields (accepting flag, languages,
    an NPI of their own, name parts) are demanded."""
    return rows["provider_type"] == "individual"


def is_organization(rows: pd.DataFrame) -> pd.Series:
    """Listings of a facility or a group."""
    return rows["provider_type"].isin(["facility", "group"])


#: NUCC taxonomy prefixes and specialty words of hospital-based clinicians, who legitimately serve
#: many sites (reading images or slides, covering operating rooms and emergency departments).
HOSPITAL_BASED_CODES = ("2085", "207Z", "207L", "207P", "208M", "367500000X", "3675A")
HOSPITAL_BASED_WORDS = re.compile(r"(?i)radiolog|patholog|an(?:a)?esthes|emergency|hospitalist|nocturnist|"
                                  r"teleradiolog|nurse anesthetist|crna")


def hospital_based(rows: pd.DataFrame) -> pd.Series:
    """Whether a listing's specialty is hospital-based: radiology, pathology, anesthesiology (and
    nurse anesthetists), emergency medicine, hospitalists. Such clinicians are exempt from
    address-inflation signals. Judged once per distinct specialty cell."""
    from .model import per_distinct

    def by_codes(cells: pd.Series) -> np.ndarray:
        return np.array([any(c.startswith(HOSPITAL_BASED_CODES) for c in str(v).split("|")) for v in cells], dtype=bool)

    def by_names(cells: pd.Series) -> np.ndarray:
        return cells.astype(str).str.contains(HOSPITAL_BASED_WORDS).to_numpy(dtype=bool)

    out = pd.Series(False, index=rows.index)
    if "specialty_codes" in rows.columns:
        out |= per_distinct(rows, "specialty_codes", by_codes, missing=False).astype(bool)
    if "specialty_names" in rows.columns:
        out |= per_distinct(rows, "specialty_names", by_names, missing=False).astype(bool)
    return out


_ABBREVIATIONS = {"CTR": "CENTER", "CNTR": "CENTER", "CENTRE": "CENTER", "CTRS": "CENTERS", "HOSP": "HOSPITAL",
                  "MED": "MEDICAL", "MEDL": "MEDICAL", "ASSOC": "ASSOCIATES", "ASSOCS": "ASSOCIATES",
                  "ASSOCIATION": "ASSOCIATES", "SVCS": "SERVICES", "SVC": "SERVICES", "GRP": "GROUP",
                  "UNIV": "UNIVERSITY", "DEPT": "DEPARTMENT", "HLTH": "HEALTH", "REHABILITATION": "REHAB",
                  "LABORATORY": "LAB", "LABORATORIES": "LAB", "LABS": "LAB", "ST": "SAINT", "MT": "MOUNT",
                  "SURG": "SURGERY", "SURGICAL": "SURGERY", "PEDS": "PEDIATRICS", "PEDIATRIC": "PEDIATRICS",
                  "ORTHOPAEDICS": "ORTHOPEDICS", "ORTHOPEDIC": "ORTHOPEDICS", "CLINICS": "CLINIC",
                  "CENTERS": "CENTER", "AND": "&"}
_DROP = re.compile(rf"(?:^|\s)(?:{LEGAL_SUFFIXES}|THE|OF)(?=\s|$)")


def organization_key(names: pd.Series) -> pd.Series:
    """An organisation's name for matching: accents, case, punctuation, legal suffixes (Inc, LLC, PC),
    'The' and 'of' dropped, abbreviations spelled out: 'Summit Surgery Ctr' and 'SUMMIT SURGERY CENTER,
    Inc.' -> 'SUMMIT SURGERY CENTER'. Once per distinct name; missing stays missing."""
    codes, uniques = _codes(names)

    def one(v: str) -> str:
        words = [_ABBREVIATIONS.get(w, w) for w in v.split()]
        text = " ".join(words)
        text = _DROP.sub(" ", text)
        return " ".join(text.split())

    keys = _plain(uniques.str.replace(r"['\u2019]", "", regex=True)).map(one) if len(uniques) else pd.Series([], dtype=object)
    keys = keys.where(keys != "", None)
    return pd.Series(_spread(codes, keys.to_numpy(dtype=object), None), index=names.index, dtype="object")


def providers_by_type(rows: pd.DataFrame) -> dict[str, int]:
    """Distinct providers (``provider_key``) per provider type, every type named (0 when none); a
    provider listed under two types counts under each."""
    from .model import count_distinct, key_codes
    codes = key_codes(rows, "provider_key")
    types = rows["provider_type"].to_numpy(dtype=object)
    return {t: count_distinct(codes[types == t]) for t in ("individual", "group", "facility", "unknown")}


def refine_with_nppes(table: pd.DataFrame, nppes: pd.DataFrame | None) -> pd.DataFrame:
    """Where the directory's own evidence is weak (``WEAK_BASES``), the NPPES entity type of the
    listed NPI decides: 1 individual, 2 an organisation (facility or group by its words, else
    facility column, else group). Changes ``provider_type`` and ``provider_type_basis`` in place and
    returns the table."""
    if nppes is None or nppes.empty or "entity_type" not in nppes.columns or table.empty:
        return table
    weak = table["provider_type_basis"].isin(WEAK_BASES) & table["npi"].notna()
    if not weak.any():
        return table
    types = nppes.drop_duplicates("npi").set_index("npi")["entity_type"].astype(str)
    ent = table.loc[weak, "npi"].map(types)
    hit = ent.isin(["1", "2"])
    if not hit.any():
        return table
    idx = ent[hit].index
    names = table.loc[idx, "facility_name"].where(table.loc[idx, "facility_name"].notna(),
                                                 table.loc[idx, "display_name"])
    kind = organization_kind(names.fillna("")).loc[:, "kind"] if len(idx) else pd.Series(dtype=object)
    new = np.where(ent[hit] == "1", "individual", np.where(kind.notna(), kind, "group"))
    table.loc[idx, "provider_type"] = new
    table.loc[idx, "provider_type_basis"] = "nppes_entity_type"
    return table

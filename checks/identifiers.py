"""Identifier checks: NPI present, well formed, check digit, entity type against provider type.

The NPI's last digit is a Luhn check digit over the prefix 80840 followed by the first nine digits
(equivalently: the Luhn sum of the nine digits doubled from the right, plus 24).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from directory_audit.findings import violations
from directory_audit.model import per_distinct
from directory_audit.normalize import fullmatch
from directory_audit.registry import check


def npi_check_digit_ok(npi: pd.Series) -> pd.Series:
    """Vectorised Luhn test of 10-digit NPI strings; False for anything else."""
    s = npi.astype("object").where(npi.notna(), "")
    ok_shape = fullmatch(s, r"[0-9]{10}")    # ASCII digits: other scripts' digits make no NPI
    result = np.zeros(len(s), dtype=bool)
    if ok_shape.any():
        # fixed-width bytes: one buffer of n x 10 digit characters, no per-value Python work
        digits = np.asarray(s[ok_shape].to_numpy(dtype=object), dtype="S10").view(np.uint8).reshape(-1, 10) - 48
        body = digits[:, :9].astype(np.int64)
        # Double every other digit starting with the rightmost of the nine (positions 8, 6, 4, 2, 0).
        doubled = body.copy()
        doubled[:, 0::2] *= 2
        doubled = np.where(doubled > 9, doubled - 9, doubled)
        total = doubled.sum(axis=1) + 24
        check = (10 - total % 10) % 10
        result[ok_shape] = check == digits[:, 9]
    return pd.Series(result, index=npi.index)


@check(id="identifier.npi_missing", factor="T2.i", severity="warning",
       title="NPI missing for an individual", message="individual provider listed without an NPI")
def npi_missing(rows: pd.DataFrame) -> pd.DataFrame:
    """Every individual practitioner who bills has an NPI; without it other providers cannot identify
    the listing. Facilities are exempt: the QHP schema allows a null NPI for them."""
    mask = (rows["provider_type"] == "individual") & rows["npi_raw"].isna()
    return violations(rows, mask, field="npi", observed="", expected="a 10-digit NPI")


@check(id="identifier.npi_malformed", factor="T2.i", severity="error",
       title="NPI is not 10 digits", message="NPI {observed!r} is not 10 digits")
def npi_malformed(rows: pd.DataFrame) -> pd.DataFrame:
    """An NPI is exactly ten digits."""
    # normalize keeps the NPI only when, spaces and dashes dropped, it is ten digits
    mask = rows["npi_raw"].notna() & rows["npi"].isna()
    return violations(rows, mask, field="npi", expected="10 digits")


@check(id="identifier.npi_check_digit", factor="T2.i", severity="error",
       title="NPI check digit wrong", message="NPI {observed!r} fails the Luhn check digit")
def npi_check_digit(rows: pd.DataFrame) -> pd.DataFrame:
    """A ten-digit NPI whose last digit is not the Luhn check digit over 80840 + the first nine
    digits is not an NPI at all: usually a typo."""
    # judged once per distinct NPI (normalize's ten digits), the factorization shared with other checks
    mask = per_distinct(rows, "npi", lambda npis: ~npi_check_digit_ok(npis).to_numpy(), missing=False)
    return violations(rows, mask, field="npi", expected="a valid check digit")


@check(id="identifier.npi_type_mismatch", factor="T2.i", severity="error",
       title="NPI entity type contradicts provider type",
       message="NPI entity type {observed!r} does not match the provider type ({expected})")
def npi_type_mismatch(rows: pd.DataFrame) -> pd.DataFrame:
    """The directory's declared NPI entity type (1 individual, 2 organization) must agree with the
    listing's provider type. The NPI itself does not encode the type; the NPPES cross-check
    (identifier.nppes_*) compares against the registry when --nppes is given."""
    ent, ptype = rows["npi_entity_type"], rows["provider_type"]
    mask = ((ent == "2") & (ptype == "individual")) | ((ent == "1") & ptype.isin(["facility", "group"]))
    expected = ptype[mask].map({"individual": "1 for an individual", "facility": "2 for a facility",
                                "group": "2 for a group"})
    return violations(rows, mask, field="npi_entity_type", expected=expected)


# --------------------------------------------------------------------------------------------------
# Offline cross-checks against reference files the user supplies: NPPES (--nppes) and the OIG LEIE
# (--leie). The loaders (directory_audit/loaders/reference.py) have already filtered them to the
# directory's NPIs; here every comparison is a column operation over rows joined on the NPI.

from rapidfuzz.distance import JaroWinkler as _JaroWinkler  # noqa: E402
from rapidfuzz import fuzz as _fuzz  # noqa: E402
from rapidfuzz.process import cpdist as _cpdist  # noqa: E402

from directory_audit import vocab as _vocab  # noqa: E402
from directory_audit.runner import AuditContext  # noqa: E402

_ORG_WORDS = r"\b(?:LLC|L L C|PLLC|PC|P C|INC|CORP|CORPORATION|CO|LTD|LLP|PA|PSC|SC|THE|OF|AND)\b"


def _nppes_for(rows: pd.DataFrame, context: AuditContext) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows whose NPI is in the NPPES frame, the NPPES fields aligned to those rows)."""
    nppes = context.reference["nppes"].set_index("npi")
    sub = rows[rows["npi"].notna() & rows["npi"].isin(nppes.index)]
    ref = nppes.reindex(sub["npi"].to_numpy())
    ref.index = sub.index
    return sub, ref


def _key(col: pd.Series) -> pd.Series:
    from checks.duplicates import name_key
    return name_key(col)


def _org_key(col: pd.Series) -> pd.Series:
    s = col.fillna("").astype(str).str.upper().str.replace(r"[^A-Z0-9 ]+", " ", regex=True)
    s = s.str.replace(_ORG_WORDS, " ", regex=True).str.replace(r"\s+", " ", regex=True).str.strip()
    return s.astype(object)


def _similarity(a: pd.Series, b: pd.Series, scorer) -> np.ndarray:
    if len(a) == 0:
        return np.zeros(0)
    return np.asarray(_cpdist(list(a.astype(str)), list(b.astype(str)), scorer=scorer, workers=1), dtype=float)


def _name_mismatch(sub: pd.DataFrame, ref: pd.DataFrame, min_last_score: float = 0.88,
                   min_org_score: float = 80.0) -> pd.Series:
    """Rows whose listed name (and kind of entity) is not the NPPES one for their NPI."""
    ent = ref["entity_type"].fillna("")
    ind = sub["provider_type"] == "individual"
    org = sub["provider_type"].isin(["facility", "group"])
    listed_last = _key(sub["last_name"])
    ref_last = _key(ref["last_name"])
    last_sim = _similarity(listed_last, ref_last, _JaroWinkler.normalized_similarity)
    # Compound names: 'Garcia Lopez' listed as 'Lopez' (or the reverse) is the same person.
    words = lambda col: col.fillna("").astype(str).str.upper().str.replace(r"[^A-Z ]", "", regex=True).str.split()
    shared = pd.Series([bool(set(a) & set(b)) for a, b in zip(words(sub["last_name"]), words(ref["last_name"]))],
                       index=sub.index, dtype=bool)
    person_ok = (last_sim >= min_last_score) | shared | (listed_last == "") | (ref_last == "")
    org_sim = _similarity(_org_key(sub["facility_name"]), _org_key(ref["org_name"]), _fuzz.token_set_ratio)
    org_ok = (org_sim >= min_org_score) | sub["facility_name"].isna() | (ref["org_name"].fillna("") == "")
    return ((ind & (ent == "1") & ~person_ok) | (ind & (ent == "2"))
            | (org & (ent == "2") & ~org_ok) | (org & (ent == "1")))


@check(id="identifier.nppes_deactivated", factor="T2.i", severity="error", requires=("nppes",),
       title="NPI deactivated in NPPES",
       message="NPI {observed} is {expected} in NPPES")
def nppes_deactivated(rows: pd.DataFrame, as_of, context: AuditContext) -> pd.DataFrame:
    """A deactivated NPI cannot bill: the provider has retired, died or the number was replaced. A
    listing under it sends enrollees to someone who cannot see them in network. Reactivated NPIs
    (reactivation on or after the deactivation) are fine."""
    sub, ref = _nppes_for(rows, context)
    deact, react = ref["deactivation_date"], ref["reactivation_date"]
    mask = deact.notna() & (deact <= as_of) & ~(react.notna() & (react >= deact))
    expected = "deactivated " + deact.dt.strftime("%Y-%m-%d").fillna("")
    return violations(sub, mask, field="npi", expected=expected.where(mask, ""))


@check(id="identifier.nppes_not_found", factor="T2.i", severity="warning", requires=("nppes",),
       title="NPI not found in the NPPES file given",
       message="NPI {observed} is not in the NPPES file given{expected}")
def nppes_not_found(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """A well-formed NPI (right length and check digit) that the NPPES file does not hold was never
    issued, or was mistyped into another valid-looking number. When the file given is a subset of
    NPPES (fewer than a million rows), the message says so: the NPI may simply be outside it."""
    nppes = context.reference["nppes"]
    known = set(nppes["npi"])
    npi = rows["npi"]
    mask = npi.notna() & npi_check_digit_ok(npi) & ~npi.isin(known)
    attrs = getattr(nppes, "attrs", {}) or {}
    note = (f" (a subset of {attrs.get('rows_in_file', len(nppes)):,} rows: the NPI may only be outside it)"
            if attrs.get("subset") else "")
    return violations(rows, mask, field="npi", observed=npi, expected=note)


@check(id="identifier.nppes_name_mismatch", factor="T2.i", severity="warning", requires=("nppes",),
       title="Name differs from NPPES",
       message="listed as {observed!r}; NPPES has {expected!r} for NPI {npi}")
def nppes_name_mismatch(rows: pd.DataFrame, context: AuditContext, min_last_score: float = 0.88,
                        min_org_score: float = 80.0) -> pd.DataFrame:
    """The name a directory lists under an NPI should be the NPPES name for it: for an individual
    the last name (Jaro-Winkler similarity at least ``min_last_score`` after case and punctuation are
    dropped, any word of a compound name accepted); for a facility or group the organization name
    (rapidfuzz token-set similarity at least ``min_org_score``, LLC/PC/Inc ignored). An individual
    listed under an organization's NPI, or a facility under a person's, is a mismatch too."""
    sub, ref = _nppes_for(rows, context)
    if sub.empty:
        return violations(sub, field="name", expected="")
    ent = ref["entity_type"].fillna("")
    mask = _name_mismatch(sub, ref, min_last_score, min_org_score)
    ind = sub["provider_type"] == "individual"
    org = sub["provider_type"].isin(["facility", "group"])
    nppes_name = np.where(ent == "2", ref["org_name"].fillna(""),
                          (ref["first_name"].fillna("") + " " + ref["last_name"].fillna("")).str.strip())
    nppes_name = pd.Series(nppes_name, index=sub.index)
    nppes_name = nppes_name.where(~((ent == "2") & ind), nppes_name + " (an organization)")
    nppes_name = nppes_name.where(~((ent == "1") & org), nppes_name + " (an individual)")
    return violations(sub, mask, field="name", observed=sub["display_name"], expected=nppes_name)


@check(id="identifier.nppes_state_mismatch", factor="T2.i", severity="warning", requires=("nppes",),
       title="NPPES practice state not among the directory's states for the NPI",
       message="NPPES practice state {expected} for NPI {npi}; the directory lists it only in {observed}")
def nppes_state_mismatch(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """NPPES records the state of a provider's primary practice location. When none of the directory's
    locations for that NPI is in that state, the listing or the NPI is probably wrong (a provider who
    moved away, or a number belonging to someone elsewhere). Every row of the NPI is reported."""
    sub, ref = _nppes_for(rows, context)
    ref_state = ref["state"].fillna("").str.upper().str.strip()
    listed = sub["state"].fillna("")
    states = listed.groupby(sub["npi"]).agg(lambda s: "|".join(sorted(set(x for x in s if x))))
    listed_states = sub["npi"].map(states).fillna("")
    in_any = pd.Series([r in set(ls.split("|")) for r, ls in zip(ref_state, listed_states)], index=sub.index, dtype=bool)
    mask = (ref_state != "") & (listed_states != "") & ~in_any
    return violations(sub, mask, field="state", observed=listed_states.str.replace("|", ", ", regex=False),
                      expected=ref_state)


def _classification(codes: set[str], by_class: dict[str, str]) -> set[str]:
    return {by_class.get(c, c[:4]) for c in codes}


@check(id="identifier.nppes_taxonomy_mismatch", factor="T2.i", severity="warning", requires=("nppes",),
       title="Listed specialty not among the NPPES taxonomies",
       message="listed taxonomy {observed} shares no classification with NPPES's {expected} for NPI {npi}")
def nppes_taxonomy_mismatch(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """The specialty a directory lists should be one the provider registered in NPPES. Codes are
    compared at the NUCC classification level (a cardiologist, 207RC0000X, is an Internal Medicine
    207R classification, so an NPPES 207R00000X agrees); a listing that shares no classification with
    any of the provider's NPPES taxonomies (a dermatologist whose NPPES taxonomy is social worker) is
    reported. Judged for individuals whose name matches NPPES (a row under someone else's NPI is
    ``identifier.nppes_name_mismatch``); rows without a listed code, NPIs without NPPES taxonomies
    and facilities (a facility type is not an NPPES taxonomy) are not judged."""
    sub, ref = _nppes_for(rows, context)
    # Only individuals listed under their own NPI: a row carrying someone else's NPI (a name
    # mismatch) would compare another person's specialty; facility types are not NPPES taxonomies.
    keep = (sub["provider_type"] == "individual") & ~_name_mismatch(sub, ref)
    sub, ref = sub[keep], ref[keep]
    listed = sub["specialty_codes"].astype(object).where(sub["specialty_codes"].notna(), "")
    registered = ref["taxonomy_codes"].fillna("")
    judged = (listed != "") & (registered != "")
    by_class = _classification_index()
    pairs = pd.DataFrame({"l": listed[judged], "r": registered[judged]}).drop_duplicates()
    verdict = {(l_, r): not (_classification(set(l_.split("|")), by_class) & _classification(set(r.split("|")), by_class))
               for l_, r in zip(pairs["l"], pairs["r"])}
    mask = pd.Series([judged_ and verdict[(l_, r)] for judged_, l_, r in zip(judged, listed, registered)],
                     index=sub.index, dtype=bool)
    return violations(sub, mask, field="specialties", observed=listed.str.replace("|", ", ", regex=False),
                      expected=registered.str.replace("|", ", ", regex=False))


_CLASS_CACHE: dict[str, str] = {}


def _classification_index() -> dict[str, str]:
    """NUCC code -> 'Grouping/Classification' from the bundled code set (cached: it is read-only data)."""
    if not _CLASS_CACHE:
        import csv
        with _vocab.NUCC_FILE.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.DictReader(fh):
                _CLASS_CACHE[row["Code"].strip()] = row["Classification"].strip().upper()
    return _CLASS_CACHE


@check(id="identifier.leie_excluded", factor="T2.i", severity="error", requires=("leie",),
       title="Provider on the OIG exclusion list (LEIE)",
       message="{observed} matches an OIG LEIE exclusion ({expected})")
def leie_excluded(rows: pd.DataFrame, as_of, context: AuditContext) -> pd.DataFrame:
    """A provider excluded by the HHS Office of Inspector General cannot be paid by federal health
    programs; listing them in a network directory is an error (42 CFR 455.436 asks for monthly LEIE
    screening). Matched by NPI; LEIE rows with the unknown NPI 0000000000 (most of them) are matched
    on last name, first name and state of an individual listing, which the finding says so a person
    can confirm identity (the LEIE's date of birth is not in a directory). Exclusions reinstated on
    or before the audit date, or starting after it, are ignored."""
    leie = context.reference["leie"]
    active = leie[(leie["rein_date"].isna() | (leie["rein_date"] > as_of))
                  & (leie["excl_date"].isna() | (leie["excl_date"] <= as_of))]
    by_npi = active[active["npi"] != "0000000000"].drop_duplicates("npi").set_index("npi")
    npi_hit = rows["npi"].notna() & rows["npi"].isin(by_npi.index)
    unknown = active[active["npi"] == "0000000000"]
    name_keys = (_key(unknown["last_name"]) + "|" + _key(unknown["first_name"]) + "|"
                 + unknown["state"].fillna("").str.upper().str.strip())
    unknown = unknown.assign(key=name_keys.to_numpy()).drop_duplicates("key").set_index("key")
    ind = rows["provider_type"] == "individual"
    row_keys = (_key(rows["last_name"]) + "|" + _key(rows["first_name"]) + "|" + rows["state"].fillna(""))
    name_hit = ind & ~npi_hit & row_keys.isin(unknown.index)

    def describe(frame: pd.DataFrame, keys: pd.Series, how: str) -> pd.Series:
        f = frame.reindex(keys.to_numpy())
        text = (how + ": " + f["last_name"].fillna("") + ", " + f["first_name"].fillna("") + " (" +
                f["state"].fillna("") + "), type " + f["excl_type"].fillna("") + " since " +
                f["excl_date"].dt.strftime("%Y-%m-%d").fillna("?"))
        text.index = keys.index
        return text

    expected = pd.Series("", index=rows.index, dtype=object)
    if npi_hit.any():
        expected[npi_hit] = describe(by_npi, rows.loc[npi_hit, "npi"], "by NPI")
    if name_hit.any():
        expected[name_hit] = describe(unknown, row_keys[name_hit], "by name and state, LEIE NPI unknown")
    mask = npi_hit | name_hit
    return violations(rows, mask, field="npi", observed=rows["display_name"], expected=expected)

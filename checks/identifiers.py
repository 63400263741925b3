"""Identifier checks: NPI present, well formed, check digit, entity type against provider type.

The NPI's last digit is a Luhn check digit over the prefix 80840 followed by the first nine digits
(equivalently: the Luhn sum of the nine digits doubled from the right, plus 24).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from directory_audit.findings import violations
from directory_audit.registry import check


def npi_check_digit_ok(npi: pd.Series) -> pd.Series:
    """Vectorised Luhn test of 10-digit NPI strings; False for anything else."""
    s = npi.fillna("").astype(str)
    ok_shape = s.str.fullmatch(r"\d{10}").fillna(False).to_numpy(dtype=bool)
    result = np.zeros(len(s), dtype=bool)
    if ok_shape.any():
        digits = np.frombuffer("".join(s[ok_shape]).encode("ascii"), dtype=np.uint8).reshape(-1, 10) - 48
        body = digits[:, :9].astype(np.int64)
        # Double every other digit starting with the rightmost of the nine (positions 8, 6, 4, 2, 0).
        doubled = body.copy()
        doubled[:, 0::2] *= 2
        doubled = np.where(doubled > 9, doubled - 9, doubled)
        total = doubled.sum(axis=1) + 24
        check = (10 - total % 10) % 10
        result[ok_shape] = check == digits[:, 9]
    return pd.Series(result, index=npi.index)


def _npi_shown(rows: pd.DataFrame) -> pd.Series:
    return rows["npi_raw"].fillna("").astype(str).str.replace(r"[\s-]", "", regex=True).str.replace(r"\.0$", "", regex=True)


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
    shown = _npi_shown(rows)
    mask = rows["npi_raw"].notna() & ~shown.str.fullmatch(r"\d{10}").fillna(False).astype(bool)
    return violations(rows, mask, field="npi", expected="10 digits")


@check(id="identifier.npi_check_digit", factor="T2.i", severity="error",
       title="NPI check digit wrong", message="NPI {observed!r} fails the Luhn check digit")
def npi_check_digit(rows: pd.DataFrame) -> pd.DataFrame:
    """A ten-digit NPI whose last digit is not the Luhn check digit over 80840 + the first nine
    digits is not an NPI at all: usually a typo."""
    shown = _npi_shown(rows)
    ten = shown.str.fullmatch(r"\d{10}").fillna(False).astype(bool)
    mask = ten & ~npi_check_digit_ok(shown.where(ten, ""))
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
    expected = ptype.map({"individual": "1 for an individual", "facility": "2 for a facility",
                          "group": "2 for a group"})
    return violations(rows, mask, field="npi_entity_type", expected=expected)

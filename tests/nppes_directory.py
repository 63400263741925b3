"""A provider directory built from 2,000 real NPPES rows (Connecticut individual practitioners,
December 2018): practice-location address, ZIP+4, phone, taxonomy codes, names and the NPPES
"Last Update Date". Real addresses keep the location checks honest: synthetic fixtures flatter them.

    from tests.nppes_directory import raw_frame, write_csv
    raw = raw_frame()            # a raw frame (model.RAW_FIELDS), record ids 'nppes-ct-2018.csv:<line>'
    write_csv("/tmp/nppes.csv")  # the same rows as a directory CSV the CLI reads

The source has no accepting flag or languages; those columns stay empty.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from directory_audit.model import empty_raw_frame

NPPES_SAMPLE = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "nppes" / \
    "nppes-practitioner-sample-ct-2018.csv"
RECORD_PREFIX = "nppes-ct-2018.csv"

_LOC = "Provider {} Business Practice Location Address"
COLUMNS = {
    "npi": "NPI",
    "npi_entity_type": "Entity Type Code",
    "last_name": "Provider Last Name (Legal Name)",
    "first_name": "Provider First Name",
    "middle_name": "Provider Middle Name",
    "prefix": "Provider Name Prefix Text",
    "suffix": "Provider Credential Text",
    "gender": "Provider Gender Code",
    "address_line1": "Provider First Line Business Practice Location Address",
    "address_line2": "Provider Second Line Business Practice Location Address",
    "city": "Provider Business Practice Location Address City Name",
    "state": "Provider Business Practice Location Address State Name",
    "zip": "Provider Business Practice Location Address Postal Code",
    "phone": "Provider Business Practice Location Address Telephone Number",
    "last_updated": "Last Update Date",
}


def read_sample(path: Path = NPPES_SAMPLE) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def raw_frame(path: Path = NPPES_SAMPLE) -> pd.DataFrame:
    """The NPPES rows as a raw directory frame: one row per practitioner at their practice location."""
    src = read_sample(path)
    raw = empty_raw_frame().reindex(range(len(src)))
    for field, column in COLUMNS.items():
        raw[field] = src[column].to_numpy()
    raw["provider_type"] = "individual"
    # Taxonomies: every code NPPES lists, the primary one first.
    codes = pd.DataFrame({i: src[f"Healthcare Provider Taxonomy Code_{i}"] for i in range(1, 16)})
    primary = pd.DataFrame({i: src[f"Healthcare Provider Primary Taxonomy Switch_{i}"] for i in range(1, 16)})
    first = codes.where(primary == "Y").bfill(axis=1)[1]
    all_codes = codes.apply(lambda c: c.fillna(""), axis=0).agg(";".join, axis=1).str.strip(";")
    raw["specialties"] = (first.fillna("") + ";" + all_codes).str.strip(";").str.replace(r";+", ";", regex=True)
    raw["record_id"] = [f"{RECORD_PREFIX}:{i + 2}" for i in range(len(src))]   # header is line 1
    raw["source_format"] = "csv"
    raw["source_file"] = str(path)
    return raw


def write_csv(target: str | Path, path: Path = NPPES_SAMPLE) -> Path:
    """The same directory as a CSV with the usual directory headers, for the CLI."""
    raw = raw_frame(path)
    headers = {"npi": "Provider NPI", "npi_entity_type": "NPI Entity Type", "provider_type": "Provider Type",
               "first_name": "Provider First Name", "middle_name": "Provider Middle Name",
               "last_name": "Provider Last Name", "suffix": "Credentials", "gender": "Gender",
               "specialties": "Taxonomy Code", "address_line1": "Address Line 1", "address_line2": "Address Line 2",
               "city": "City", "state": "State", "zip": "Zip Code", "phone": "Phone Number",
               "last_updated": "Last Verified Date"}
    target = Path(target)
    raw[list(headers)].rename(columns=headers).to_csv(target, index=False)
    return target

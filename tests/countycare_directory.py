"""The CountyCare scrape (../shared/reference/real/countycare/provider_scrape_test.json: 2,773 real
provider-location records of an Illinois Medicaid plan's public directory API, 2024) as a directory
CSV, until the JSON site-profile loader reads it directly.

    from tests.countycare_directory import write_csv
    write_csv("/tmp/countycare.csv")   # one row per record, in file order (search key, then position)

The API's fields map to the usual directory headers; ``updateDate`` (epoch milliseconds) is written as
an ISO date so the date parser sees what the site showed. ``providerNo`` is the plan's own provider
number, not an NPI: the directory publishes no NPI. ``locationName`` is the site's name (for an
individual, the clinic or hospital they practise at).
"""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

COUNTYCARE = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "real" / "countycare" / \
    "provider_scrape_test.json"

HEADERS = {"providerType": "Provider Type", "providerFirstName": "First Name", "providerLastName": "Last Name",
           "providerDegree": "Credentials", "locationName": "Facility Name", "locationAddress": "Address Line 1",
           "locationAddress2": "Address Line 2", "locationCity": "City", "locationState": "State",
           "locationZipCode": "Zip Code", "locationCounty": "County", "locationContactPhone": "Phone Number",
           "updateDate": "Last Updated"}


def records(path: Path = COUNTYCARE) -> pd.DataFrame:
    data = json.loads(path.read_text())
    rows = [{**r, "search_key": key, "position": i} for key, items in data.items() for i, r in enumerate(items)]
    return pd.DataFrame(rows)


def write_csv(target: str | Path, path: Path = COUNTYCARE) -> Path:
    src = records(path)
    out = src[list(HEADERS)].rename(columns=HEADERS)
    out["Last Updated"] = pd.to_datetime(src["updateDate"], unit="ms").dt.strftime("%Y-%m-%d")
    target = Path(target)
    out.to_csv(target, index=False)
    return target

"""``location._phone_table`` answers a number normalize could not read as 10 digits without
phonenumbers when it has no letter and fewer than 10 digits (issue 16: 16,000 such fragments at a
million rows); every other number is still phonenumbers' to judge, with the same answers."""
import pandas as pd

from checks.locations import _phone_table, phone_facts
from directory_audit import normalize

PHONES = ["503-555-012", "(503) 555-01", "503.555.0123", "1-800-FLOWERS", "+44 20 7946 0958", "555-0123 x12",
          "5\u0660\u0663-494-8311", "ext 12", "+1 503 555 012"]


def test_same_facts_as_phonenumbers():
    raw = pd.DataFrame({"phone": PHONES, "record_id": [f"t.csv:{i}" for i in range(len(PHONES))],
                        "source_format": "csv", "source_file": "t.csv"})
    table = normalize(raw)
    facts = _phone_table(table)
    for i, phone in enumerate(PHONES):
        want = phone_facts(phone)
        got = tuple(None if pd.isna(v) else v for v in facts.iloc[i][["phone_valid", "area_code", "phone_region"]])
        got = (bool(got[0]), *got[1:])
        assert got == want, phone
    assert facts["phone_valid"].tolist()[:2] == [False, False] and facts["phone_valid"].iloc[3]   # vanity valid

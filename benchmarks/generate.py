"""Deterministic generator of a realistic provider directory of any size, with labelled duplicates.

    python benchmarks/generate.py --rows 1000000 --out benchmarks/data/dir_1m.csv [--seed 7] [--qhp-json FILE]

Writes the CSV (same headers as fixtures/oregon/directory.csv) and, beside it, ``<name>.labels.csv``:
one line per *true probable-duplicate pair* (``record_id_a, record_id_b, kind``): a provider listed a
second time under another NPI (or none) with a varied name (nickname, initial, typo, transposed
first/last, case and punctuation) at the same building (suite and street spellings varied) or the same
phone. The same seed and size always give the same bytes.

What makes it realistic (and hard): last names follow a Zipf distribution over a few thousand names,
so common names repeat across the state (different people, different addresses: must stay silent);
about a third of individuals work in group practices of 3 to 60 that share an address and phone,
with spouses/siblings sharing a last name; most providers practise at 1-3 locations under one NPI;
facilities are 8 % of rows; a few rows are exact copies or the same NPI twice at a location.

``--qhp-json FILE`` also writes the same directory as a CMS QHP providers.json (one provider object
per NPI with its addresses and a realistic ``plans`` array), padded to ``--qhp-bytes`` when given.
"""
from __future__ import annotations

import argparse
import json
import string
from pathlib import Path

import numpy as np
import pandas as pd

HEADERS = ["Provider NPI", "NPI Entity Type", "Provider Type", "Provider First Name", "Provider Middle Name",
           "Provider Last Name", "Credentials", "Practice Name", "Gender", "Specialty", "Taxonomy Code",
           "Address Line 1", "Address Line 2", "City", "State", "Zip Code", "County", "Phone Number",
           "Accepting New Patients", "Languages Spoken", "Last Verified Date", "Plan ID", "Network"]

FIRST_M = ["James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas", "Christopher",
           "Charles", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Andrew", "Paul", "Joshua",
           "Kenneth", "Kevin", "Brian", "Timothy", "Ronald", "George", "Jason", "Edward", "Jeffrey", "Ryan",
           "Jacob", "Gary", "Nicholas", "Eric", "Jonathan", "Stephen", "Larry", "Justin", "Scott", "Brandon",
           "Benjamin", "Samuel", "Gregory", "Alexander", "Patrick", "Frank", "Raymond", "Jack", "Dennis", "Jerry",
           "Tyler", "Aaron", "Jose", "Adam", "Nathan", "Henry", "Zachary", "Douglas", "Peter", "Kyle", "Noah",
           "Ethan", "Jeremy", "Walter", "Christian", "Keith", "Roger", "Terry", "Austin", "Sean", "Gerald", "Carl",
           "Harold", "Dylan", "Arthur", "Lawrence", "Jordan", "Jesse", "Bryan", "Billy", "Bruce", "Gabriel", "Joe",
           "Logan", "Alan", "Juan", "Albert", "Willie", "Elijah", "Wayne", "Randy", "Vincent", "Mason", "Roy",
           "Ralph", "Bobby", "Russell", "Bradley", "Philip", "Eugene", "Hiroshi", "Wei", "Minh", "Ahmed", "Omar",
           "Rajesh", "Sanjay", "Carlos", "Luis", "Miguel", "Dmitri", "Sergei", "Kwame", "Tariq", "Jun"]
FIRST_F = ["Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
           "Lisa", "Nancy", "Betty", "Sandra", "Margaret", "Ashley", "Kimberly", "Emily", "Donna", "Michelle",
           "Carol", "Amanda", "Melissa", "Deborah", "Stephanie", "Dorothy", "Rebecca", "Sharon", "Laura", "Cynthia",
           "Amy", "Kathleen", "Angela", "Shirley", "Brenda", "Emma", "Anna", "Pamela", "Nicole", "Samantha",
           "Katherine", "Christine", "Helen", "Debra", "Rachel", "Carolyn", "Janet", "Maria", "Catherine", "Heather",
           "Diane", "Olivia", "Julie", "Joyce", "Victoria", "Ruth", "Virginia", "Lauren", "Kelly", "Christina",
           "Joan", "Evelyn", "Judith", "Andrea", "Hannah", "Megan", "Cheryl", "Jacqueline", "Martha", "Madison",
           "Teresa", "Gloria", "Sara", "Janice", "Ann", "Kathryn", "Abigail", "Sophia", "Frances", "Jean", "Alice",
           "Judy", "Isabella", "Julia", "Grace", "Amber", "Denise", "Danielle", "Marilyn", "Beverly", "Charlotte",
           "Natalie", "Theresa", "Diana", "Brittany", "Doris", "Kayla", "Alexis", "Lori", "Marie", "Mei", "Linh",
           "Fatima", "Aisha", "Priya", "Ananya", "Carmen", "Lucia", "Yuki", "Olga", "Amara", "Leila", "Hana"]
NICKNAMES = {"Robert": ["Bob", "Rob", "Bobby"], "William": ["Bill", "Will"], "Richard": ["Rick", "Rich"],
             "James": ["Jim", "Jimmy"], "John": ["Jack", "Johnny"], "Joseph": ["Joe"], "Thomas": ["Tom"],
             "Michael": ["Mike"], "Christopher": ["Chris"], "Daniel": ["Dan", "Danny"], "David": ["Dave"],
             "Matthew": ["Matt"], "Anthony": ["Tony"], "Edward": ["Ed", "Ted"], "Steven": ["Steve"],
             "Andrew": ["Andy", "Drew"], "Benjamin": ["Ben"], "Samuel": ["Sam"], "Alexander": ["Alex"],
             "Nicholas": ["Nick"], "Timothy": ["Tim"], "Kenneth": ["Ken"], "Ronald": ["Ron"], "Donald": ["Don"],
             "Gregory": ["Greg"], "Patrick": ["Pat"], "Peter": ["Pete"], "Charles": ["Charlie", "Chuck"],
             "Lawrence": ["Larry"], "Jeffrey": ["Jeff"], "Zachary": ["Zach"], "Katherine": ["Kathy", "Kate"],
             "Catherine": ["Cathy", "Kate"], "Kathryn": ["Kathy", "Katie"], "Elizabeth": ["Liz", "Beth"],
             "Margaret": ["Maggie", "Peggy"], "Jennifer": ["Jen", "Jenny"], "Rebecca": ["Becky"],
             "Susan": ["Sue"], "Deborah": ["Deb", "Debbie"], "Victoria": ["Vicky"], "Jessica": ["Jess"],
             "Abigail": ["Abby"], "Kimberly": ["Kim"], "Cynthia": ["Cindy"], "Pamela": ["Pam"],
             "Patricia": ["Patty", "Trish"], "Samantha": ["Sam"], "Christine": ["Chris", "Tina"],
             "Jacqueline": ["Jackie"], "Theresa": ["Terri"], "Judith": ["Judy"], "Nathan": ["Nate"]}
SURNAME_SEED = ["Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
                "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
                "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez",
                "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen",
                "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell",
                "Carter", "Roberts", "Kim", "Patel", "Chen", "Wang", "Singh", "O'Neil", "O'Brien", "McDonald",
                "Van Dyke", "De La Cruz", "St. John", "Okafor", "Tadesse", "Yamamoto", "Novak", "Ivanov"]
SYLLABLES = ["an", "ber", "cal", "dor", "el", "fen", "gar", "hal", "is", "jor", "kel", "lan", "mor", "nel",
             "or", "pen", "quin", "ros", "sten", "tal", "ur", "van", "wes", "yor", "zel", "ash", "brook", "ford",
             "ley", "ton", "wood", "man", "son", "field", "well", "by", "ham", "ridge", "stein", "berg"]
STREETS = ["Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lincoln", "Jefferson", "Park", "Lake",
           "Hill", "River", "Commercial", "Division", "Burnside", "Broadway", "Sandy", "Powell", "Hawthorne",
           "Belmont", "Glisan", "Stark", "Alder", "Morrison", "Salmon", "Madison", "Market", "Center", "Liberty",
           "Court", "State", "Chemeketa", "Willamette", "Pacific", "Highland", "Lancaster", "Murray", "Cornell",
           "Barnes", "Canyon", "Terwilliger", "Macadam", "Kruse", "Boones Ferry", "Greenburg", "Scholls Ferry"]
SUFFIXES = [("Street", "St"), ("Avenue", "Ave"), ("Road", "Rd"), ("Drive", "Dr"), ("Boulevard", "Blvd"),
            ("Lane", "Ln"), ("Way", "Way"), ("Parkway", "Pkwy"), ("Court", "Ct"), ("Place", "Pl")]
DIRECTIONALS = [("", ""), ("North", "N"), ("South", "S"), ("NE", "Northeast"), ("NW", "Northwest"),
                ("SE", "Southeast"), ("SW", "Southwest"), ("East", "E"), ("West", "W")]
SPECIALTIES = [("Family Medicine", "207Q00000X", "MD"), ("Internal Medicine", "207R00000X", "MD"),
               ("Pediatrics", "208000000X", "MD"), ("Cardiovascular Disease", "207RC0000X", "MD"),
               ("Psychiatry", "2084P0800X", "MD"), ("Nurse Practitioner", "363L00000X", "NP"),
               ("Family Nurse Practitioner", "363LF0000X", "FNP-C"), ("Physician Assistant", "363A00000X", "PA-C"),
               ("Clinical Social Worker", "1041C0700X", "LCSW"), ("Psychologist", "103T00000X", "PsyD"),
               ("General Practice Dentistry", "1223G0001X", "DDS"), ("Obstetrics & Gynecology", "207V00000X", "MD"),
               ("Dermatology", "207N00000X", "MD"), ("Physical Therapist", "225100000X", "DPT"),
               ("Neurology", "2084N0400X", "DO"), ("Optometrist", "152W00000X", "OD")]
FACILITY_TYPES = [("Clinic/Center", "261Q00000X"), ("General Acute Care Hospital", "282N00000X"),
                  ("Pharmacy", "333600000X"), ("Clinical Medical Laboratory", "291U00000X")]
LANGUAGES = ["English", "English; Spanish", "English, Vietnamese", "Spanish", "English; Russian",
             "English / Mandarin", "English; Somali", "English; Arabic", "English; ASL", "English; Tagalog"]
ACCEPTING = ["Yes", "No", "Y", "N", "Accepting new patients", "Not accepting", "Existing patients only", "Open"]


def luhn_npis(rng: np.random.Generator, n: int, start: int = 100_000_000) -> np.ndarray:
    """n distinct valid NPIs (first digit 1), as strings."""
    body = rng.choice(np.arange(start, start + 10 * n + 1000, dtype=np.int64), size=n, replace=False)
    body = 100_000_000 + (body % 900_000_000)
    body = np.unique(body)
    while len(body) < n:
        body = np.unique(np.concatenate([body, 100_000_000 + rng.integers(0, 900_000_000, n)]))
    body = rng.permutation(body)[:n]
    digits = np.array([list(f"{b:09d}") for b in body], dtype=np.int64)
    doubled = digits.copy()
    doubled[:, 0::2] *= 2
    doubled = np.where(doubled > 9, doubled - 9, doubled)
    check = (10 - (doubled.sum(axis=1) + 24) % 10) % 10
    return np.array([f"{b:09d}{c}" for b, c in zip(body, check)], dtype=object)


def _surnames(rng: np.random.Generator, n: int) -> list[str]:
    made = set(SURNAME_SEED)
    out = list(SURNAME_SEED)
    while len(out) < n:
        k = rng.integers(2, 4)
        name = "".join(rng.choice(SYLLABLES, size=k)).capitalize()
        if name not in made:
            made.add(name)
            out.append(name)
    return out


def _typo(rng: np.random.Generator, s: str) -> str:
    if len(s) < 4:
        return s
    i = int(rng.integers(1, len(s) - 1))
    kind = rng.integers(0, 3)
    if kind == 0:    # swap two neighbours
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    if kind == 1:    # drop a letter
        return s[:i] + s[i + 1:]
    return s[:i] + rng.choice(list("aeiourstnl")) + s[i + 1:]   # substitute


def _address(rng: np.random.Generator) -> tuple[str, str, str, str]:
    """(number, directional pair index, street, suffix index) as a tuple of strings."""
    return (str(int(rng.integers(100, 20000))), str(int(rng.integers(0, len(DIRECTIONALS)))),
            str(rng.choice(STREETS)), str(int(rng.integers(0, len(SUFFIXES)))))


def _line1(addr: tuple[str, str, str, str], style: int) -> str:
    num, d, street, s = addr
    d_long, d_short = DIRECTIONALS[int(d)]
    suf_long, suf_short = SUFFIXES[int(s)]
    direction = d_long if style else d_short
    if direction in ("Northeast", "Northwest", "Southeast", "Southwest") and not style:
        direction = {"Northeast": "NE", "Northwest": "NW", "Southeast": "SE", "Southwest": "SW"}[direction]
    suffix = suf_long if style else suf_short
    return " ".join(x for x in (num, direction, street, suffix) if x)


def generate(n_rows: int, seed: int = 7, defect_rate: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(directory rows with HEADERS, labelled probable-duplicate pairs as row positions).

    ``defect_rate``: the share of providers whose every listing carries one defect (``DEFECTS``),
    drawn from a random stream of its own, so the directory without defects stays the same bytes."""
    rng = np.random.default_rng(seed)
    zips = pd.read_csv(Path(__file__).with_name("or_zips.csv"), dtype=str) if Path(__file__).with_name(
        "or_zips.csv").exists() else _or_zips()
    surnames = _surnames(rng, 4000)
    zipf = 1.0 / np.arange(1, len(surnames) + 1) ** 0.9
    zipf /= zipf.sum()

    # Sites: buildings with an address, ZIP and main phone. Group sites hold many providers.
    n_sites = max(20, n_rows // 6)
    site_zip = rng.integers(0, len(zips), n_sites)
    sites = pd.DataFrame({
        "addr": [_address(rng) for _ in range(n_sites)],
        "suite": rng.choice(["", "Suite 100", "Suite 200", "Ste 210", "#300", "Suite 4B", "Floor 2", ""], n_sites),
        "zip": zips["zip"].to_numpy()[site_zip], "city": zips["city"].to_numpy()[site_zip],
        "county": zips["county"].to_numpy()[site_zip],
        "phone": [f"{rng.choice(['503', '541', '971', '458'])}{int(rng.integers(2000000, 9999999))}" for _ in range(n_sites)],
        "practice": [f"{rng.choice(STREETS)} {rng.choice(['Health Partners', 'Family Clinic', 'Medical Group', 'Specialists', 'Care Center'])}"
                     for _ in range(n_sites)],
    })
    group_sites = rng.random(n_sites) < 0.15
    sites = sites.to_dict(orient="records")   # plain dicts: a row at a time is the hot loop

    # Providers: individuals (92 % of rows) and facilities.
    rows: list[dict] = []
    owner: list[int] = []          # the provider each row belongs to (a duplicate listing: its original's)
    labels: list[tuple[int, int, str]] = []
    npis = luhn_npis(rng, n_rows + 100)
    npi_i = 0
    group_site_ids = np.flatnonzero(group_sites)
    group_site_set = set(group_site_ids.tolist())
    while len(rows) < n_rows:
        owner.extend([npi_i] * (len(rows) - len(owner)))
        npi = npis[npi_i]
        npi_i += 1
        if rng.random() < 0.06:
            site = int(rng.integers(0, n_sites))
            ftype, fcode = FACILITY_TYPES[int(rng.integers(0, len(FACILITY_TYPES)))]
            locs = [site] if rng.random() < 0.8 else [site, int(rng.integers(0, n_sites))]
            for s in locs:
                rows.append(_row(rng, sites, s, npi, "2", "Facility", "", "", sites[s]["practice"] + " " + ftype,
                                 "", "", ftype, fcode, "", style=0))
            continue
        female = rng.random() < 0.55
        first = str(rng.choice(FIRST_F if female else FIRST_M))
        last = surnames[int(rng.choice(len(surnames), p=zipf))]
        middle = str(rng.choice(list(string.ascii_uppercase))) if rng.random() < 0.5 else ""
        spec, code, cred = SPECIALTIES[int(rng.integers(0, len(SPECIALTIES)))]
        if rng.random() < 0.35 and len(group_site_ids):
            home = int(rng.choice(group_site_ids))
        else:
            home = int(rng.integers(0, n_sites))
        k = int(rng.choice([1, 1, 1, 2, 2, 3]))
        locs = [home] + [int(rng.integers(0, n_sites)) for _ in range(k - 1)]
        start = len(rows)
        for s in dict.fromkeys(locs):
            rows.append(_row(rng, sites, s, npi, "1", "Individual", first, middle, last, cred,
                             "F" if female else "M", spec, code, sites[s]["practice"], style=0))
        # Spouse or sibling in the same group practice: same last name, another person (hard negative).
        if home in group_site_set and rng.random() < 0.05 and len(rows) < n_rows:
            other_f = not female
            rows.append(_row(rng, sites, home, npis[npi_i], "1", "Individual",
                             str(rng.choice(FIRST_F if other_f else FIRST_M)), "", last, cred,
                             "F" if other_f else "M", spec, code, sites[home]["practice"], style=0))
            npi_i += 1
        # A probable duplicate: the same person again under another NPI (or none), name varied.
        if rng.random() < 0.012 and len(rows) < n_rows:
            orig = start
            d_first, d_last, d_mid, kind = first, last, middle, ""
            v = rng.random()
            if v < 0.25 and first in NICKNAMES:
                d_first, kind = str(rng.choice(NICKNAMES[first])), "nickname"
            elif v < 0.4:
                d_first, d_last, kind = last, first, "transposed"
            elif v < 0.55:
                d_first, kind = first[0] + ".", "initial"
            elif v < 0.75:
                d_last, kind = _typo(rng, last), "typo"
            else:
                d_first, d_last, kind = first.upper(), last.upper().replace("'", "").replace(".", ""), "case_punct"
            if rng.random() < 0.5:
                d_mid = ""
            dup_npi = "" if rng.random() < 0.3 else npis[npi_i]
            npi_i += 1
            same_phone_elsewhere = rng.random() < 0.2
            r = _row(rng, sites, home, dup_npi, "1" if dup_npi else "", "Individual", d_first, d_mid, d_last, cred,
                     "F" if female else "M", spec, code, sites[home]["practice"], style=1)
            if same_phone_elsewhere:    # listed at another address, the same phone
                other = int(rng.integers(0, n_sites))
                r.update(_row(rng, sites, other, dup_npi, "", "", "", "", "", "", "", "", "", "", style=0,
                              only_address=True))
                r["Phone Number"] = rows[orig]["Phone Number"]
                kind += "+phone"
            rows.append(r)
            labels.append((orig, len(rows) - 1, kind))
    owner.extend([npi_i] * (len(rows) - len(owner)))
    rows = rows[:n_rows]
    owner = owner[:n_rows]
    labels = [x for x in labels if x[1] < n_rows]

    # A few exact copies and same-NPI-twice rows (so those checks have work at scale).
    frame = pd.DataFrame(rows, columns=HEADERS)
    if defect_rate > 0:
        add_defects(frame, np.asarray(owner), defect_rate, np.random.default_rng([seed, 1]))
    n_copies = max(1, n_rows // 2000)
    copy_from = rng.choice(n_rows - n_copies, n_copies, replace=False)
    positions = rng.choice(np.arange(n_rows - n_copies, n_rows), n_copies, replace=False)
    label_rows = {p for a, b, _ in labels for p in (a, b)}
    keep = [(c, p) for c, p in zip(copy_from, positions) if c not in label_rows and p not in label_rows]
    for c, p in keep:
        frame.iloc[p] = frame.iloc[c]
    lab = pd.DataFrame(labels, columns=["a", "b", "kind"])
    return frame, lab


#: What a defective provider's listings get wrong, each the way real directories get it wrong, and
#: the check that should say so.
DEFECTS = ("stale", "date_missing", "phone_short", "zip_malformed", "city_mismatch", "accepting_missing",
           "accepting_unrecognized", "npi_check_digit", "language_bad", "specialty_missing")


def add_defects(frame: pd.DataFrame, owner: np.ndarray, rate: float, rng: np.random.Generator) -> None:
    """Give ``rate`` of the providers (``owner``: provider of each row) a defect on every listing, a
    fifth of them a second one (a stale record often has a dead phone too), in place and column by
    column. About 0.2 findings per row at a rate of 0.15."""
    providers = np.unique(owner)
    hit = providers[rng.random(len(providers)) < rate]
    first = rng.integers(0, len(DEFECTS), len(hit))
    second = np.where(rng.random(len(hit)) < 0.2, rng.integers(0, len(DEFECTS), len(hit)), -1)
    kind = pd.Series(owner).map(dict(zip(hit.tolist(), first.tolist()))).fillna(-1).astype(int).to_numpy()
    kind2 = pd.Series(owner).map(dict(zip(hit.tolist(), second.tolist()))).fillna(-1).astype(int).to_numpy()
    days = rng.integers(120, 700, len(frame))
    stale = (pd.Timestamp("2026-11-01") - pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")

    def at(name: str) -> np.ndarray:
        return (kind == DEFECTS.index(name)) | (kind2 == DEFECTS.index(name))

    frame.loc[at("stale"), "Last Verified Date"] = np.asarray(stale)[at("stale")]
    frame.loc[at("date_missing"), "Last Verified Date"] = ""
    digits = frame["Phone Number"].str.replace(r"[^0-9]", "", regex=True)
    short = digits.str[:3] + "-" + digits.str[3:6] + "-" + digits.str[6:9]        # a digit dropped
    frame.loc[at("phone_short"), "Phone Number"] = short[at("phone_short")]
    frame.loc[at("zip_malformed"), "Zip Code"] = frame.loc[at("zip_malformed"), "Zip Code"].str[:4]
    cities = frame["City"].to_numpy()
    frame.loc[at("city_mismatch"), "City"] = np.roll(cities, 7919)[at("city_mismatch")]
    frame.loc[at("accepting_missing"), "Accepting New Patients"] = ""
    frame.loc[at("accepting_unrecognized"), "Accepting New Patients"] = "Call office"
    npi = frame["Provider NPI"]
    wrong = npi.str[:9] + ((npi.str[9:].replace("", "0").astype(int) + 1) % 10).astype(str)
    frame.loc[at("npi_check_digit") & (npi != "").to_numpy(), "Provider NPI"] = wrong[at("npi_check_digit") & (npi != "").to_numpy()]
    frame.loc[at("language_bad"), "Languages Spoken"] = "English; Other"
    frame.loc[at("specialty_missing"), ["Specialty", "Taxonomy Code"]] = ""


def _row(rng, sites, s, npi, etype, ptype, first, middle, last, cred, gender, spec, code, practice, style,
         only_address=False) -> dict:
    addr = sites[s]["addr"]
    suite = sites[s]["suite"]
    if style and suite:
        suite = suite.replace("Suite ", "Ste ") if "Suite" in suite else suite.replace("Ste ", "Suite ").replace("#", "Suite ")
    line1 = _line1(addr, style)
    if style and suite and rng.random() < 0.5:    # suite moved into line 1
        line1, suite = f"{line1} {suite}", ""
    phone = sites[s]["phone"]
    shown_phone = [f"({phone[:3]}) {phone[3:6]}-{phone[6:]}", f"{phone[:3]}-{phone[3:6]}-{phone[6:]}",
                   f"{phone[:3]}.{phone[3:6]}.{phone[6:]}", phone][int(rng.integers(0, 4))]
    out = {"Address Line 1": line1, "Address Line 2": suite, "City": sites[s]["city"], "State": "OR",
           "Zip Code": sites[s]["zip"], "County": sites[s]["county"], "Phone Number": shown_phone}
    if only_address:
        return out
    days = int(rng.integers(1, 80))
    date = (pd.Timestamp("2026-11-01") - pd.Timedelta(days=days)).strftime(["%Y-%m-%d", "%m/%d/%Y"][days % 2])
    out.update({"Provider NPI": npi, "NPI Entity Type": etype, "Provider Type": ptype,
                "Provider First Name": first, "Provider Middle Name": middle, "Provider Last Name": last,
                "Credentials": cred, "Practice Name": practice, "Gender": gender, "Specialty": spec,
                "Taxonomy Code": code,
                "Accepting New Patients": "" if ptype == "Facility" else ACCEPTING[int(rng.integers(0, len(ACCEPTING)))],
                "Languages Spoken": "" if ptype == "Facility" else LANGUAGES[int(rng.integers(0, len(LANGUAGES)))],
                "Last Verified Date": date, "Plan ID": "12345OR0020001", "Network": "Cascade Preferred"})
    return out


def _or_zips() -> pd.DataFrame:
    import zipcodes
    z = [r for r in zipcodes.filter_by(state="OR") if r["zip_code_type"] == "STANDARD"]
    return pd.DataFrame({"zip": [r["zip_code"] for r in z], "city": [r["city"] for r in z],
                         "county": [r["county"].replace(" County", "") for r in z]})


def write(n_rows: int, out: Path, seed: int = 7, defect_rate: float = 0.0) -> tuple[Path, Path]:
    """Write the CSV and its labels file (record ids as the audit names them: ``<file>:<line>``)."""
    frame, labels = generate(n_rows, seed, defect_rate)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False)
    rid = lambda p: f"{out.name}:{p + 2}"
    lab = pd.DataFrame({"record_id_a": labels["a"].map(rid), "record_id_b": labels["b"].map(rid),
                        "kind": labels["kind"]})
    labels_path = out.with_suffix(".labels.csv")
    lab.to_csv(labels_path, index=False)
    return out, labels_path


def write_qhp(csv_path: Path, out: Path, target_bytes: int = 0) -> Path:
    """The CSV's directory as a QHP providers.json, streamed out one provider at a time. Each provider
    carries a realistic ``plans`` array (most of a real file's bytes); with ``target_bytes`` the plans
    array is lengthened until the file reaches that size."""
    frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    groups = frame.groupby(["Provider NPI", "Provider First Name", "Provider Last Name", "Provider Type"],
                           sort=False, dropna=False)
    n_providers = groups.ngroups
    base_plans = [{"plan_id_type": "HIOS-PLAN-ID", "plan_id": f"12345OR00{i:02d}001", "network_tier": "PREFERRED",
                   "years": [2026]} for i in range(4)]
    plan_bytes = len(json.dumps(base_plans[0])) + 2
    per_provider = 700 + plan_bytes * len(base_plans)
    n_plans = len(base_plans)
    if target_bytes:
        n_plans = max(len(base_plans), int((target_bytes / n_providers - 700) / plan_bytes))
    plans = [{"plan_id_type": "HIOS-PLAN-ID", "plan_id": f"12345OR{i:07d}", "network_tier": "PREFERRED",
              "years": [2026]} for i in range(n_plans)]
    plans_json = json.dumps(plans)
    del per_provider
    with open(out, "w", encoding="utf-8") as fh:
        fh.write("[\n")
        first = True
        for (npi, fn, ln, ptype), g in groups:
            r = g.iloc[0]
            addresses = [{"address": a, "address_2": b or None, "city": c, "state": s, "zip": z, "phone": p}
                         for a, b, c, s, z, p in zip(g["Address Line 1"], g["Address Line 2"], g["City"],
                                                     g["State"], g["Zip Code"], g["Phone Number"])]
            if ptype == "Facility":
                obj = {"npi": npi or None, "type": "FACILITY", "facility_name": r["Practice Name"],
                       "facility_type": [r["Specialty"]], "addresses": addresses, "last_updated_on": r["Last Verified Date"]}
            else:
                obj = {"npi": npi or None, "type": "INDIVIDUAL",
                       "name": {"first": fn, "middle": r["Provider Middle Name"] or None, "last": ln,
                                "suffix": r["Credentials"]},
                       "addresses": addresses, "specialty": [r["Specialty"]],
                       "accepting": {"Yes": "accepting", "Y": "accepting", "Open": "accepting",
                                     "Accepting new patients": "accepting"}.get(r["Accepting New Patients"], "not accepting"),
                       "gender": {"F": "Female", "M": "Male"}.get(r["Gender"], "Other"),
                       "languages": [x.strip() for x in r["Languages Spoken"].replace("/", ";").replace(",", ";").split(";") if x.strip()],
                       "last_updated_on": r["Last Verified Date"]}
            text = json.dumps(obj)
            text = text[:-1] + ', "plans": ' + plans_json + "}"
            fh.write(("" if first else ",\n") + text)
            first = False
        fh.write("\n]\n")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--defect-rate", type=float, default=0.0,
                    help="share of providers whose listings carry one defect (0.15: ~0.2 findings per row)")
    ap.add_argument("--qhp-json", type=Path)
    ap.add_argument("--qhp-bytes", type=float, default=0, help="pad the QHP file's plans arrays to about this size")
    args = ap.parse_args()
    path, labels = write(args.rows, args.out, args.seed, args.defect_rate)
    print(f"wrote {path} and {labels}")
    if args.qhp_json:
        write_qhp(path, args.qhp_json, int(args.qhp_bytes))
        print(f"wrote {args.qhp_json} ({args.qhp_json.stat().st_size / 1e9:.2f} GB)")


if __name__ == "__main__":
    main()

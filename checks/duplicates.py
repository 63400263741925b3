"""Duplicate and conflicting listings (T2.i): a provider listed twice, one NPI under two names or two
provider types, and probable duplicates that share no NPI.

Everything works on whole columns. Probable duplicates are found by *blocking*: a row is compared only
with rows that share a place (the same street address without its suite, or the same phone) **and** a
name token (the last name, or the first name's nickname group), so the number of comparisons grows
with the size of the blocks, not with the square of the directory. Candidate pairs are scored field by
field with rapidfuzz (first name: exact / nickname / initial / Indel similarity; last name: Jaro-Winkler;
the same scores with first and last swapped, for transpositions), the matching pairs are grouped into
clusters (connected components), and each member row gets one finding whose detail lists the cluster's
members and every pair's scores.

Legitimate cases stay silent by construction: two people with the same common name at different
addresses and phones are never in one block; one provider at two real locations shares an NPI (and
is the business of ``duplicate.npi_same_location`` only when the location is the same); a group
practice sharing an address and phone pairs only providers whose names match.
"""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
from rapidfuzz.distance import Indel, JaroWinkler
from rapidfuzz.process import cpdist

from directory_audit.findings import VIOLATION_COLUMNS, violations
from directory_audit.model import (RAW_FIELDS, any_per, combine_codes, distinct_count_per, group_codes, group_size,
                                   key_codes, key_factor, per_distinct, per_table)
from directory_audit.normalize import building_key, fold_accents, location_key, per_unique
from directory_audit.registry import check

from .placeholders import real_phone_codes

# --------------------------------------------------------------------------------------------------
# Names

#: Nickname groups: every spelling in a group is the same given name. A spelling in two groups (PAT,
#: CHRIS, ALEX, SAM) joins them; gender, when both rows give it, still tells the people apart.
NICKNAME_GROUPS: tuple[tuple[str, ...], ...] = (
    ("ROBERT", "BOB", "BOBBY", "ROB", "ROBBIE", "ROBBY", "BERT"),
    ("WILLIAM", "BILL", "BILLY", "WILL", "WILLIE", "WILLY", "LIAM"),
    ("RICHARD", "RICK", "RICKY", "RICH", "RICHIE", "DICK"),
    ("JAMES", "JIM", "JIMMY", "JAMIE"),
    ("JOHN", "JACK", "JOHNNY", "JON"),
    ("JONATHAN", "JON", "JONNY"),
    ("JOSEPH", "JOE", "JOEY"),
    ("THOMAS", "TOM", "TOMMY"),
    ("MICHAEL", "MIKE", "MIKEY", "MICKEY"),
    ("CHRISTOPHER", "CHRIS", "KIT"),
    ("CHRISTINE", "CHRISTINA", "KRISTINE", "KRISTINA", "CHRIS", "TINA", "CHRISSY"),
    ("DANIEL", "DAN", "DANNY"),
    ("DAVID", "DAVE", "DAVEY"),
    ("MATTHEW", "MATT"),
    ("ANTHONY", "TONY"),
    ("EDWARD", "ED", "EDDIE", "TED", "NED"),
    ("STEPHEN", "STEVEN", "STEVE", "STEVIE"),
    ("ANDREW", "ANDY", "DREW"),
    ("BENJAMIN", "BEN", "BENNY"),
    ("SAMUEL", "SAM", "SAMMY"),
    ("SAMANTHA", "SAM", "SAMMIE"),
    ("ALEXANDER", "ALEX", "AL", "XANDER"),
    ("ALEXANDRA", "ALEX", "ALEXA", "SANDRA", "SANDY"),
    ("NICHOLAS", "NICK", "NICKY"),
    ("TIMOTHY", "TIM", "TIMMY"),
    ("KENNETH", "KEN", "KENNY"),
    ("RONALD", "RON", "RONNIE"),
    ("DONALD", "DON", "DONNIE"),
    ("GERALD", "JERRY", "GERRY"),
    ("GREGORY", "GREG"),
    ("PATRICK", "PAT", "PATTY"),
    ("PATRICIA", "PAT", "PATTY", "TRISH", "TRICIA"),
    ("PETER", "PETE"),
    ("CHARLES", "CHARLIE", "CHUCK", "CHAS"),
    ("LAWRENCE", "LARRY"),
    ("JEFFREY", "JEFF", "GEOFFREY", "GEOFF"),
    ("ZACHARY", "ZACH", "ZACK"),
    ("NATHANIEL", "NATHAN", "NATE", "NAT"),
    ("KATHERINE", "CATHERINE", "KATHRYN", "KATHARINE", "CATHRYN", "KATHY", "CATHY", "KATE", "KATIE",
     "KAT", "KATHLEEN", "KAY"),
    ("ELIZABETH", "LIZ", "LIZZIE", "BETH", "BETSY", "BETTY", "ELIZA", "LISA", "LIBBY"),
    ("MARGARET", "MAGGIE", "PEGGY", "MEG", "MARGE", "GRETA"),
    ("JENNIFER", "JEN", "JENNY", "JENN"),
    ("REBECCA", "BECKY", "BECCA"),
    ("SUSAN", "SUE", "SUSIE", "SUZANNE", "SUSANNE"),
    ("DEBORAH", "DEBRA", "DEB", "DEBBIE"),
    ("VICTORIA", "VICKY", "VICKIE", "TORI"),
    ("JESSICA", "JESS", "JESSIE"),
    ("ABIGAIL", "ABBY", "ABBIE", "GAIL"),
    ("KIMBERLY", "KIM", "KIMBERLEY"),
    ("CYNTHIA", "CINDY"),
    ("PAMELA", "PAM"),
    ("BARBARA", "BARB", "BARBIE"),
    ("JACQUELINE", "JACKIE"),
    ("VALERIE", "VAL"),
    ("THERESA", "TERESA", "TERRI", "TERRY", "TESS", "TESSA"),
    ("JUDITH", "JUDY"),
    ("DOROTHY", "DOT", "DOTTIE"),
    ("FREDERICK", "FRED", "FREDDY"),
    ("RAYMOND", "RAY"),
    ("EUGENE", "GENE"),
    ("LEONARD", "LEN", "LENNY", "LEO"),
    ("FRANCIS", "FRANK", "FRANKIE"),
    ("HENRY", "HANK", "HARRY"),
    ("ALBERT", "AL", "BERT"),
    ("PHILIP", "PHILLIP", "PHIL"),
    ("DOUGLAS", "DOUG"),
    ("VINCENT", "VINCE", "VINNIE"),
    ("MARY", "MOLLY", "POLLY", "MAE"),
    ("ANNE", "ANN", "ANNA", "ANNIE", "NANCY"),
    ("SARAH", "SARA", "SALLY"),
    ("EMILY", "EMMY", "EM"),
    ("AMANDA", "MANDY"),
    ("MELISSA", "MISSY", "MEL"),
    ("STEPHANIE", "STEPH"),
    ("ALICE", "ALLIE"),
    ("JOSHUA", "JOSH"),
    ("GABRIEL", "GABE"),
    ("GABRIELLE", "GABBY"),
    ("NICOLE", "NIKKI", "NICKY"),
)


def _nickname_index() -> dict[str, str]:
    """Spelling -> group key; groups sharing a spelling are merged (union-find over the groups)."""
    parent = list(range(len(NICKNAME_GROUPS)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    seen: dict[str, int] = {}
    for g, names in enumerate(NICKNAME_GROUPS):
        for n in names:
            if n in seen:
                parent[find(g)] = find(seen[n])
            else:
                seen[n] = g
    return {n: NICKNAME_GROUPS[find(g)][0] for n, g in seen.items()}


NICKNAMES = _nickname_index()

_NON_LETTERS = re.compile(r"[^A-Z ]+")


_fold = fold_accents


def _filled(col: pd.Series) -> pd.Series:
    col = col.astype(object)
    return col.where(col.notna(), "")


def name_key(col: pd.Series) -> pd.Series:
    """Upper case, accents folded, punctuation and spaces dropped: "O'Neil" and 'ONeil' -> 'ONEIL'.
    Computed once per distinct value."""
    return _filled(per_unique(col, lambda s: s.map(lambda u: _NON_LETTERS.sub("", _fold(str(u)).upper()).replace(" ", ""))))


def first_key(col: pd.Series) -> pd.Series:
    """The given name only: 'Robert J.' -> 'ROBERT', 'J. Robert' -> 'JROBERT' is avoided by taking the
    longest word when the first word is an initial."""
    def one(v: str) -> str:
        words = [w for w in _NON_LETTERS.sub(" ", _fold(str(v)).upper()).split() if w]
        if not words:
            return ""
        if len(words[0]) == 1 and len(words) > 1:   # 'J. Robert' goes by Robert
            return max(words[1:], key=len)
        return words[0]
    return _filled(per_unique(col, lambda s: s.map(one)))


def nickname_group(first: pd.Series) -> pd.Series:
    return _filled(per_unique(first, lambda s: s.map(lambda v: NICKNAMES.get(v, v))))


def _as_text(col: pd.Series) -> np.ndarray:
    """Each value as text, '' where missing. A column of text already (the name keys) is handed over
    as it is: millions of candidate pairs point at their names' strings instead of copies of them."""
    values = col.to_numpy(dtype=object, na_value="")
    if pd.api.types.infer_dtype(values, skipna=False) in ("string", "empty"):
        return values
    return np.array([str(v) for v in values], dtype=object)


def first_name_scores(a: pd.Series, b: pd.Series) -> np.ndarray:
    """1.0 same name; 0.95 same nickname group (Robert/Bob); 0.9 an initial of the other (R/Robert);
    else Indel similarity (strict: Daniel/Danielle 0.86, Jonathan/Johnathan 0.94). 0 when one is empty."""
    a = _as_text(a)
    b = _as_text(b)
    sim = cpdist(list(a), list(b), scorer=Indel.normalized_similarity, workers=1) if len(a) else np.zeros(0)
    sim = np.asarray(sim, dtype=float)
    ga = np.array([NICKNAMES.get(x, x) for x in a], dtype=object)
    gb = np.array([NICKNAMES.get(x, x) for x in b], dtype=object)
    la = np.array([len(x) for x in a])
    lb = np.array([len(x) for x in b])
    first_a = np.array([x[:1] for x in a], dtype=object)
    first_b = np.array([x[:1] for x in b], dtype=object)
    initial = ((la == 1) | (lb == 1)) & (first_a == first_b) & (la > 0) & (lb > 0)
    out = np.where(a == b, 1.0, np.where(ga == gb, 0.95, np.where(initial, 0.9, sim)))
    return np.where((la == 0) | (lb == 0), 0.0, out)


def last_name_scores(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Jaro-Winkler similarity of the name keys (Smith/Smyth 0.89, Smith/Smiht 0.95); 0 when empty."""
    a = list(_as_text(a))
    b = list(_as_text(b))
    if not a:
        return np.zeros(0)
    sim = np.asarray(cpdist(a, b, scorer=JaroWinkler.normalized_similarity, workers=1), dtype=float)
    empty = np.array([not x or not y for x, y in zip(a, b)])
    return np.where(empty, 0.0, sim)


def name_pair_scores(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """Per-pair name evidence for two aligned frames with columns first, last, middle, gender, suffix:
    first/last scores, the same with first and last swapped, and whether gender or generational
    suffix (Jr/Sr) contradict each other."""
    f = first_name_scores(left["first"], right["first"])
    l_ = last_name_scores(left["last"], right["last"])
    ft = first_name_scores(left["first"], right["last"])
    lt = first_name_scores(left["last"], right["first"])
    straight = np.minimum(f, l_)
    swapped = np.minimum(ft, lt)
    use_swap = swapped > straight
    g1, g2 = left["gender"].to_numpy(dtype=object), right["gender"].to_numpy(dtype=object)
    s1, s2 = left["generation"].to_numpy(dtype=object), right["generation"].to_numpy(dtype=object)
    m1, m2 = left["middle"].to_numpy(dtype=object), right["middle"].to_numpy(dtype=object)
    gender_conflict = (g1 != "") & (g2 != "") & (g1 != g2)
    generation_conflict = (s1 != "") & (s2 != "") & (s1 != s2)
    middle_conflict = (m1 != "") & (m2 != "") & (np.array([x[:1] for x in m1], dtype=object)
                                                 != np.array([x[:1] for x in m2], dtype=object))
    return pd.DataFrame({
        "first_name": np.where(use_swap, ft, f).round(3),
        "last_name": np.where(use_swap, lt, l_).round(3),
        "transposed": use_swap,
        "gender_conflict": gender_conflict,
        "generation_conflict": generation_conflict,
        "middle_conflict": middle_conflict,
    }, index=left.index)


def _gender(col: pd.Series) -> pd.Series:
    def one(values: pd.Series) -> pd.Series:
        g = values.astype(str).str.strip().str.upper().str[:1]
        return g.where(g.isin(["M", "F"]), "")
    return _filled(per_unique(col, one))


def _generation(suffix: pd.Series) -> pd.Series:
    def one(values: pd.Series) -> pd.Series:
        return values.astype(str).str.upper().str.extract(r"\b(JR|SR|II|III|IV)\b", expand=False).fillna("")
    return _filled(per_unique(suffix, one))


def person_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Name parts as comparison keys, one row per listing."""
    return pd.DataFrame({
        "first": first_key(rows["first_name"]),
        "last": name_key(rows["last_name"]),
        "middle": name_key(rows["middle_name"]),
        "gender": _gender(rows["gender"]),
        "generation": _generation(rows["suffix"]),
    }, index=rows.index)


@per_table
def table_people(rows: pd.DataFrame) -> pd.DataFrame:
    """``person_frame`` of every row of the table plus the nickname group of the first name, built
    once per table and shared by the NPI-name and probable-duplicate checks: each key worked out
    once per distinct name, on the table's shared factorizations."""
    def keys(column: str, func) -> pd.Series:
        return per_distinct(rows, column, lambda names: func(names).to_numpy(dtype=object), missing="")
    return pd.DataFrame({
        "first": keys("first_name", first_key),
        "last": keys("last_name", name_key),
        "middle": keys("middle_name", name_key),
        "gender": keys("gender", _gender),
        "generation": keys("suffix", _generation),
        "group": keys("first_name", lambda names: nickname_group(first_key(names))),
    }, index=rows.index)


def names_match(scores: pd.DataFrame, min_first: float, min_last: float) -> pd.Series:
    return ((scores["first_name"] >= min_first) & (scores["last_name"] >= min_last)
            & ~scores["gender_conflict"] & ~scores["generation_conflict"] & ~scores["middle_conflict"])


# --------------------------------------------------------------------------------------------------
# Addresses

_STREET_WORDS = {
    "STREET": "ST", "AVENUE": "AVE", "AV": "AVE", "ROAD": "RD", "DRIVE": "DR", "BOULEVARD": "BLVD", "LANE": "LN",
    "COURT": "CT", "PLACE": "PL", "PARKWAY": "PKWY", "HIGHWAY": "HWY", "SUITE": "STE", "NORTH": "N", "SOUTH": "S",
    "EAST": "E", "WEST": "W", "NORTHEAST": "NE", "NORTHWEST": "NW", "SOUTHEAST": "SE", "SOUTHWEST": "SW",
    "BUILDING": "BLDG", "FLOOR": "FL", "CIRCLE": "CIR", "TERRACE": "TER", "PIKE": "PIKE", "SQUARE": "SQ",
}


def street_key(line1: pd.Series, zip5: pd.Series) -> pd.Series:
    """The street address without its suite or unit, abbreviations unified, plus the ZIP:
    '123 North Main Street, Suite 200' / '123 N Main St #200' -> '123 N MAIN ST|97201'. A building
    is the place two listings of one person share, whichever suite each names. The same key as
    ``normalize.building_key`` of the table's ``location_key``."""
    return building_key(location_key(line1, zip5))


@per_table
def table_buildings(rows: pd.DataFrame) -> np.ndarray:
    """Integer code of each row's building (``street_key``), -1 where unknown: worked out once per
    distinct location key, never per row."""
    codes, uniques = key_factor(rows, "location_key")
    buildings = building_key(pd.Series(np.asarray(uniques, dtype=object), dtype="object"))
    building_codes = np.append(pd.factorize(buildings, use_na_sentinel=True)[0], -1)
    return building_codes[codes]


# --------------------------------------------------------------------------------------------------
# Helpers


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=list(VIOLATION_COLUMNS))


def _raw_columns(rows: pd.DataFrame) -> list[str]:
    return [f"{f}_raw" for f in RAW_FIELDS if f"{f}_raw" in rows.columns]


def raw_row_hash(rows: pd.DataFrame) -> pd.Series:
    """64-bit hash of every raw field of a row (not its record id): equal hashes are identical rows.
    A missing cell hashes as missing, apart from any text."""
    return pd.util.hash_pandas_object(rows[_raw_columns(rows)], index=False)


@per_table
def table_listings(rows: pd.DataFrame) -> np.ndarray:
    """Integer code of each row's (provider, location) listing, a missing location being a value:
    rows that are verbatim copies always share it, so only rows that share it need hashing."""
    return group_codes(key_codes(rows, "provider_key"), key_codes(rows, "location_key"))


@per_table
def table_row_hash(rows: pd.DataFrame) -> pd.Series:
    """``raw_row_hash`` of the rows whose listing (provider and location) is listed more than once,
    once per table (exact copies and same-NPI listings share it); 0 elsewhere, where no other row
    can be identical."""
    repeated = group_size(table_listings(rows)) > 1
    out = pd.Series(np.zeros(len(rows), dtype=np.uint64), index=rows.index)
    if repeated.any():
        out[repeated] = raw_row_hash(rows[repeated]).to_numpy()
    return out


_UNIT_WORDS = r"\b(?:SUITE|STE|UNIT|APT|APARTMENT|FLOOR|FL|ROOM|RM|NO|NUMBER|BLDG|BUILDING)\b|#"


@per_table
def table_suites(rows: pd.DataFrame) -> np.ndarray:
    """Integer code of each row's second address line (suite, floor, department) by its identifier:
    unit words dropped, letters and digits only ('Suite 200' = 'Ste. 200' = '#200'); -1 where none."""
    line2 = per_distinct(rows, "address_line2_raw",
                         lambda v: v.astype(str).str.upper().str.replace(r"[^A-Z0-9 #]", "", regex=True)
                         .str.replace(_UNIT_WORDS, "", regex=True).str.replace(r"[^A-Z0-9]", "", regex=True)
                         .to_numpy(dtype=object))
    return pd.factorize(line2.where(line2 != "", None), use_na_sentinel=True)[0]


@per_table
def table_later_copies(rows: pd.DataFrame) -> np.ndarray:
    """True on every row that verbatim repeats an earlier row (its listing and every raw field): the
    rows ``duplicate.exact_row`` reports, bar the first of each set."""
    listing = table_listings(rows)
    repeated = group_size(listing) > 1
    if not repeated.any():
        return np.zeros(len(rows), dtype=bool)
    copy = combine_codes(listing, pd.factorize(table_row_hash(rows).to_numpy())[0])
    return repeated & pd.Series(copy).duplicated(keep="first").to_numpy()


def _members_detail(rows: pd.DataFrame, group: pd.Series, limit: int = 50) -> pd.Series:
    """For each row, JSON naming the record ids of its group (at most ``limit``)."""
    rid = rows["record_id"].astype(str)
    members = rid.groupby(group).agg(lambda s: list(s)[:limit])
    counts = group.map(group.value_counts())
    detail = pd.DataFrame({"members": group.map(members), "count": counts})
    return pd.Series([json.dumps({"members": m, "count": int(c)}) for m, c in
                      zip(detail["members"], detail["count"])], index=rows.index)


def _union_find(a: np.ndarray, b: np.ndarray, n: int) -> np.ndarray:
    """Connected components of the graph with edges (a[i], b[i]) over nodes 0..n-1: label = smallest
    node of the component. Vectorised min-label propagation with pointer jumping."""
    labels = np.arange(n)
    if len(a) == 0:
        return labels
    while True:
        m = np.minimum(labels[a], labels[b])
        new = labels.copy()
        np.minimum.at(new, a, m)
        np.minimum.at(new, b, m)
        new = new[new]
        while True:
            nxt = new[new]
            if np.array_equal(nxt, new):
                break
            new = nxt
        if np.array_equal(new, labels):
            return labels
        labels = new


# --------------------------------------------------------------------------------------------------
# Checks


@check(id="duplicate.exact_row", factor="T2.i", severity="warning",
       title="Listing repeated verbatim",
       message="listing repeated verbatim ({observed} identical rows)")
def exact_row(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows identical in every field the directory shows (only the record id differs) list the same
    provider-location twice: a copy-and-paste or merge error. Every copy is reported, each naming the
    others in its detail."""
    if rows.empty:
        return _empty()
    h = table_row_hash(rows)
    listing = table_listings(rows)
    repeated = group_size(listing) > 1
    copy = pd.Series(combine_codes(listing, pd.factorize(h.to_numpy())[0]), index=rows.index)
    mask = pd.Series(repeated, index=rows.index) & copy.duplicated(keep=False)
    if not mask.any():
        return _empty()
    hit = rows.loc[mask, ["record_id"]]
    group = copy[mask]
    detail = _members_detail(hit, group)
    counts = group.map(group.value_counts()).astype(str)
    return violations(rows, mask, field="(row)", observed=counts, expected="one row per provider-location",
                      detail=detail)


@check(id="duplicate.npi_same_location", factor="T2.i", severity="warning",
       title="Same NPI listed more than once at one location",
       message="NPI {npi} is listed {observed} times at this location")
def npi_same_location(rows: pd.DataFrame) -> pd.DataFrame:
    """One NPI with more than one row at the same location (street address and ZIP, suite spellings
    unified) shows enrollees two listings that may disagree (accepting status, phone). Rows that are
    verbatim copies of each other are left to ``duplicate.exact_row``; a provider at two different
    locations is legitimate and not reported."""
    if rows.empty:
        return _empty()
    listing = combine_codes(key_codes(rows, "npi"), key_codes(rows, "location_key"))
    several = group_size(listing) > 1
    if not several.any():
        return _empty()
    content = np.full(len(rows), -1, dtype=np.int64)
    content[several] = pd.factorize(table_row_hash(rows).to_numpy()[several])[0]
    mask = pd.Series(several & (distinct_count_per(listing, content) > 1), index=rows.index)
    if not mask.any():
        return _empty()
    key = pd.Series(listing, index=rows.index)[mask]
    counts = key.map(key.value_counts()).astype(str)
    return violations(rows, mask, field="npi", observed=counts, expected="one listing per NPI and location",
                      detail=_members_detail(rows.loc[mask, ["record_id"]], key))


@check(id="duplicate.npi_name_conflict", factor="T2.i", severity="error",
       title="One NPI listed under conflicting names",
       message="NPI {npi} is listed under names that do not match: {observed}")
def npi_name_conflict(rows: pd.DataFrame, min_first_score: float = 0.9, min_last_score: float = 0.88) -> pd.DataFrame:
    """An NPI belongs to one person. Individual rows of one NPI whose names do not match (first and
    last name scored as for probable duplicates, so Bob/Robert, initials, typos and transposed names
    still match) list someone under another person's NPI. Every individual row of that NPI is
    reported, the names it is listed under in ``observed``."""
    npi = key_codes(rows, "npi")
    individual = (rows["provider_type"] == "individual").to_numpy() & (npi >= 0)
    if not individual.any():
        return _empty()
    parts = ["first", "last", "middle", "gender", "generation"]
    people = table_people(rows)
    # Only NPIs listed under more than one distinct name are compared, and each distinct name once.
    name = np.full(len(rows), -1, dtype=np.int64)
    who = people.loc[individual, parts]
    name[individual] = group_codes(*(pd.factorize(who[part])[0] for part in parts))
    several = individual & (distinct_count_per(npi, name) > 1)
    if not several.any():
        return _empty()
    distinct = people.loc[several, parts].assign(npi=npi[several]).drop_duplicates()
    pairs = distinct.reset_index().merge(distinct.reset_index(), on="npi", suffixes=("_a", "_b"))
    pairs = pairs[pairs["index_a"] < pairs["index_b"]]
    left = pairs[[c + "_a" for c in parts]]
    right = pairs[[c + "_b" for c in parts]]
    left.columns = right.columns = parts
    scores = name_pair_scores(left.reset_index(drop=True), right.reset_index(drop=True))
    # A middle name given once and not the other time, or differing, is not a conflict of identity.
    scores["middle_conflict"] = False
    ok = names_match(scores, min_first_score, min_last_score).to_numpy()
    bad_npis = np.unique(pairs.loc[~ok, "npi"].to_numpy())
    if not len(bad_npis):
        return _empty()
    mask = pd.Series(individual & np.isin(npi, bad_npis), index=rows.index)
    hit = rows.loc[mask, ["display_name", "npi"]]
    names = hit["display_name"].fillna("").astype(str)
    listed = names.groupby(hit["npi"]).agg(lambda s: " / ".join(dict.fromkeys(s)))
    observed = hit["npi"].map(listed)
    return violations(rows, mask, field="name", observed=observed,
                      expected="one name per NPI", detail=_members_detail(rows.loc[mask, ["record_id"]], hit["npi"]))


@check(id="duplicate.npi_type_conflict", factor="T2.i", severity="error",
       title="One NPI listed as an individual and as a facility or group",
       message="NPI {npi} is listed both as an individual and as a facility or group")
def npi_type_conflict(rows: pd.DataFrame) -> pd.DataFrame:
    """An NPI is either a person's (entity type 1) or an organization's (type 2). One NPI listed as
    an individual on one row and as a facility or group on another means one of the listings carries
    the wrong NPI. Every row of that NPI is reported."""
    npi = key_codes(rows, "npi")
    ptype = rows["provider_type"]
    individual = (ptype == "individual").to_numpy()
    organization = ptype.isin(["facility", "group"]).to_numpy()
    mask = pd.Series((individual | organization) & any_per(npi, individual) & any_per(npi, organization),
                     index=rows.index)
    if not mask.any():
        return _empty()
    hit = rows.loc[mask, ["record_id", "npi", "provider_type", "provider_type_raw"]]
    types = hit["provider_type"].groupby(hit["npi"]).agg(lambda s: " and ".join(sorted(set(s))))
    return violations(rows, mask, field="provider_type", observed=hit["provider_type_raw"].fillna(hit["provider_type"]),
                      expected=hit["npi"].map(types).radd("one provider type per NPI; listed as "),
                      detail=_members_detail(hit, hit["npi"]))


def candidate_pairs(rows: pd.DataFrame, max_block: int = 200) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Blocking: (people frame, candidate pairs i<j as positions into it, number of blocks skipped for
    being larger than ``max_block``). A block is a place (building or phone) and a name token (last
    name key, or first-name nickname group). Every key is an integer code, so a million rows block
    in integer operations. ``people["row"]`` is each person's position in ``rows``."""
    individual = ((rows["provider_type"] == "individual") & (rows["last_name"].notna() | rows["first_name"].notna()))
    # a verbatim copy is duplicate.exact_row's: only the first row of each set of copies is compared
    positions = np.flatnonzero(individual.to_numpy() & ~table_later_copies(rows))
    no_pairs = pd.DataFrame({"pos_a": np.zeros(0, dtype=np.int64), "pos_b": np.zeros(0, dtype=np.int64)})
    if not len(positions):
        return pd.DataFrame(), no_pairs, 0
    people = table_people(rows).iloc[positions].reset_index(drop=True)
    people["row"] = positions
    people["street"] = table_buildings(rows)[positions]
    people["phone"] = real_phone_codes(rows)[positions]      # 000-000-0000 shared is no shared place
    people["npi"] = key_codes(rows, "npi")[positions]
    people["zip"] = pd.factorize(rows["zip"].to_numpy(dtype=object)[positions], use_na_sentinel=True)[0]
    people["suite"] = table_suites(rows)[positions]
    # One vocabulary for both name tokens, so a last name meets the same word given as a first name
    # (Grace Howard / Howard Grace share the block of HOWARD).
    n = len(people)
    words = pd.concat([people["last"], people["group"]], ignore_index=True)
    token = np.where((words != "").to_numpy(), pd.factorize(words)[0], -1)
    person = np.concatenate([np.arange(n), np.arange(n)])
    block_codes, block_pos, offset = [], [], 0
    # A token or a place seen once cannot make a pair: dropping those first (two bincounts) spares
    # hashing most of a million solo practitioners' entries.
    token = np.where(group_size(token) > 1, token, -1)
    for place_col in ("street", "phone"):
        place = np.tile(people[place_col].to_numpy(), 2)
        place = np.where(group_size(place) > 2, place, -1)      # each person is in the tile twice
        block = combine_codes(place, token)
        ok = block >= 0
        block_codes.append(block[ok] + offset)
        block_pos.append(person[ok])
        offset += int(block.max()) + 1 if ok.any() else 0
    blocks = np.concatenate(block_codes)
    pos = np.concatenate(block_pos)
    sizes = np.bincount(blocks, minlength=max(offset, 1))
    skipped = int((sizes > max_block).sum())
    keep = (sizes[blocks] > 1) & (sizes[blocks] <= max_block)
    frame = pd.DataFrame({"key": blocks[keep], "pos": pos[keep]})
    pairs = frame.merge(frame, on="key", suffixes=("_a", "_b"))
    a, b = pairs["pos_a"].to_numpy(), pairs["pos_b"].to_numpy()
    forward = a < b
    pair_code = np.unique(a[forward] * len(people) + b[forward])   # one pair however many blocks share it
    a, b = pair_code // len(people), pair_code % len(people)
    # Rows sharing an NPI are one provider; conflicts among them are the npi_* checks' business.
    npi = people["npi"].to_numpy()
    same_npi = (npi[a] >= 0) & (npi[a] == npi[b])
    return people, pd.DataFrame({"pos_a": a[~same_npi], "pos_b": b[~same_npi]}), skipped


def score_pairs(people: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Per-field evidence for each candidate pair."""
    pa, pb = pairs["pos_a"].to_numpy(), pairs["pos_b"].to_numpy()
    a = people.iloc[pa].reset_index(drop=True)
    b = people.iloc[pb].reset_index(drop=True)
    scores = name_pair_scores(a, b)
    street, phone = people["street"].to_numpy(), people["phone"].to_numpy()
    scores["same_address"] = (street[pa] >= 0) & (street[pa] == street[pb])
    scores["same_phone"] = (phone[pa] >= 0) & (phone[pa] == phone[pb])
    suite = people["suite"].to_numpy()
    # two suites of one building are two offices (a clinician in two departments of a hospital)
    scores["other_suite"] = (suite[pa] >= 0) & (suite[pb] >= 0) & (suite[pa] != suite[pb])
    zip5 = people["zip"].to_numpy()
    scores["same_zip"] = (zip5[pa] >= 0) & (zip5[pa] == zip5[pb])
    scores["score"] = ((scores["first_name"] + scores["last_name"]) / 2).round(3)
    scores["pos_a"] = pa
    scores["pos_b"] = pb
    return scores


def probable_pairs(rows: pd.DataFrame, min_first_score: float = 0.9, min_last_score: float = 0.88,
                   max_block: int = 200) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(people, matching pairs with their scores): the library entry point the benchmark measures."""
    people, pairs, _ = candidate_pairs(rows, max_block)
    if pairs.empty:
        return people, pairs.assign(score=pd.Series(dtype=float))
    scores = score_pairs(people, pairs)
    # One place: the same building, or the same phone in the same ZIP (one office, its street
    # spelled two ways). The same name at two sites on a shared line is one provider at two sites.
    one_place = (scores["same_address"] | (scores["same_phone"] & scores["same_zip"])) & ~scores["other_suite"]
    return people, scores[names_match(scores, min_first_score, min_last_score) & one_place].reset_index(drop=True)


def _json_value(v):
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    return float(v)


def facility_pairs(rows: pd.DataFrame, min_name_score: float = 92.0, max_block: int = 200) -> pd.DataFrame:
    """Probable duplicate listings of one facility or group at one building, without an NPI on both
    ('Summit Surgery Ctr' and 'SUMMIT SURGERY CENTER, Inc.'): organisation names with legal
    suffixes, 'The', 'of' and abbreviations unified (``provider_types.organization_key``), blocked by
    building, scored with rapidfuzz's token-sort ratio (word order ignored, every word counted, so
    'Mercy Hospital' and 'Mercy Hospital Radiology' stay apart). Two suites, two phone numbers or two
    differently named sites of one organisation are separate listings, not duplicates. Columns: row_a, row_b (positions in
    ``rows``), name_score, same_phone."""
    from rapidfuzz import fuzz

    from directory_audit.provider_types import organization_key
    empty = pd.DataFrame({"row_a": np.zeros(0, dtype=np.int64), "row_b": np.zeros(0, dtype=np.int64),
                          "name_score": np.zeros(0), "same_phone": np.zeros(0, dtype=bool)})
    org = rows["provider_type"].isin(["facility", "group"]).to_numpy() & ~table_later_copies(rows)
    building = table_buildings(rows)
    org &= building >= 0
    org &= group_size(np.where(org, building, -1)) > 1
    if not org.any():
        return empty
    at = np.flatnonzero(org)
    # the organisation's own name: written in the last-name field or the name cell (scraped directories
    # put it there, the facility column then naming the site), else the facility/group column
    sub = rows.iloc[at]
    own = sub["last_name"].where(sub["first_name"].isna())
    own = own.where(own.notna(), sub["facility_name"])
    names = organization_key(own.astype(object))
    # the site's name, where the facility column names a site apart from the organisation itself
    site = organization_key(sub["facility_name"].astype(object)).to_numpy(dtype=object)
    site = np.where(pd.isna(site), names.to_numpy(dtype=object), site)      # no site name: the organisation's
    suite = sub["address_line2"].fillna("").astype(str).str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)
    frame = pd.DataFrame({"pos": at, "b": building[at], "name": names.to_numpy(dtype=object), "site": site,
                          "suite": suite.to_numpy(dtype=object), "loc": key_codes(rows, "location_key")[at]})
    frame = frame[frame["name"].notna()]
    sizes = frame["b"].map(frame["b"].value_counts())
    frame = frame[(sizes > 1) & (sizes <= max_block)]
    pairs = frame.merge(frame, on="b", suffixes=("_a", "_b"))
    pairs = pairs[pairs["pos_a"] < pairs["pos_b"]]
    if pairs.empty:
        return empty
    npi = key_codes(rows, "npi")
    both = (npi[pairs["pos_a"]] >= 0) & (npi[pairs["pos_b"]] >= 0)
    pairs = pairs[~both]         # two NPIs are two registered organisations; one NPI is npi_* business
    if pairs.empty:
        return empty
    phone = real_phone_codes(rows)
    pa, pb = pairs["pos_a"].to_numpy(), pairs["pos_b"].to_numpy()
    # One place: not two suites, not two different numbers, not two named units of one organisation
    # (a hospital's psychiatric unit and its children's hospital are separate listings).
    suites_differ = (pairs["suite_a"] != "") & (pairs["suite_b"] != "") & (pairs["suite_a"] != pairs["suite_b"])
    lines_differ = (pairs["loc_a"] != pairs["loc_b"]).to_numpy() & (pairs["suite_a"] == "").to_numpy() \
        & (pairs["suite_b"] == "").to_numpy()
    phones_differ = (phone[pa] >= 0) & (phone[pb] >= 0) & (phone[pa] != phone[pb])
    both_sites = pairs["site_a"].notna().to_numpy() & pairs["site_b"].notna().to_numpy()
    site_score = np.full(len(pairs), 100.0)
    if both_sites.any():
        site_score[both_sites] = cpdist(list(pairs["site_a"][both_sites]), list(pairs["site_b"][both_sites]),
                                        scorer=fuzz.token_sort_ratio, workers=1)
    keep = ~(suites_differ.to_numpy() | lines_differ | phones_differ) & (site_score >= min_name_score)
    pairs, pa, pb = pairs[keep], pa[keep], pb[keep]
    if pairs.empty:
        return empty
    score = np.asarray(cpdist(list(pairs["name_a"]), list(pairs["name_b"]), scorer=fuzz.token_sort_ratio,
                              workers=1), dtype=float)
    out = pd.DataFrame({"row_a": pa, "row_b": pb, "name_score": (score / 100).round(3),
                        "same_phone": (phone[pa] >= 0) & (phone[pa] == phone[pb])})
    return out[score >= min_name_score].reset_index(drop=True)


@check(id="duplicate.probable", factor="T2.i", severity="warning",
       title="Probable duplicate listing without a shared NPI",
       message="probable duplicate: {observed} is listed again at the same place under another NPI or none "
               "(cluster of {expected})")
def probable(rows: pd.DataFrame, min_first_score: float = 0.9, min_last_score: float = 0.88,
             max_block: int = 200, min_facility_score: float = 92.0) -> pd.DataFrame:
    """Two listings of one provider at one place that should be one listing. Individuals: different
    NPIs (or none) whose names match, allowing for nicknames (Robert/Bob, Katherine/Kathy), initials,
    small typos, first and last name transposed, case and punctuation, at the same street address
    (suite and abbreviations ignored), or on the same phone in the same ZIP. Facilities and groups
    without an NPI on both: names equal once legal suffixes and abbreviations are unified
    (``facility_pairs``), in one building. Not duplicates: one provider at several sites (different
    buildings), a doctor and their own practice (an individual is never paired with an
    organisation), verbatim copies (``duplicate.exact_row`` reports them; only the first copy is
    compared), two suites of one building, contradicting genders, generations (Jr/Sr) or middle
    initials. Pairs are grouped into
    clusters; each member row gets one finding whose detail lists the cluster's members and each
    pair's per-field scores."""
    if rows.empty:
        return _empty()
    people, matched = probable_pairs(rows, min_first_score, min_last_score, max_block)
    person_rows = people["row"].to_numpy() if len(people) else np.zeros(0, dtype=np.int64)
    facilities = facility_pairs(rows, float(min_facility_score), max_block)
    if matched.empty and facilities.empty:
        return _empty()
    rid = rows["record_id"].to_numpy(dtype=object)
    building = table_buildings(rows)
    records = []
    if not matched.empty:
        ra, rb = person_rows[matched["pos_a"].to_numpy()], person_rows[matched["pos_b"].to_numpy()]
        m = matched.assign(a=rid[ra], b=rid[rb], kind="individual")
        cols = ["a", "b", "kind", "first_name", "last_name", "transposed", "same_address", "same_phone", "score"]
        records.append((ra, rb, m[cols].to_dict(orient="records")))
    if not facilities.empty:
        fa, fb = facilities["row_a"].to_numpy(), facilities["row_b"].to_numpy()
        f = facilities.assign(a=rid[fa], b=rid[fb], kind="organization", same_address=building[fa] == building[fb],
                              score=facilities["name_score"])
        cols = ["a", "b", "kind", "name_score", "same_address", "same_phone", "score"]
        records.append((fa, fb, f[cols].to_dict(orient="records")))
    ra = np.concatenate([r[0] for r in records])
    rb = np.concatenate([r[1] for r in records])
    pair_records = [x for r in records for x in r[2]]
    # Clusters over the rows that appear in a matching pair.
    nodes, local = np.unique(np.concatenate([ra, rb]), return_inverse=True)
    labels = _union_find(local[:len(ra)], local[len(ra):], len(nodes))
    pair_lists: dict[int, list] = {}
    for cluster, record in zip(labels[local[:len(ra)]], pair_records):
        pair_lists.setdefault(int(cluster), []).append(record)
    members: dict[int, list] = {}
    for cluster, record_id in zip(labels, rid[nodes]):
        members.setdefault(int(cluster), []).append(record_id)
    details = {k: json.dumps({"cluster": f"C{k}", "members": members[k], "pairs": pair_lists[k]}, default=_json_value)
               for k in members}
    hit_index = rows.index[nodes]
    cluster_size = {k: len(v) for k, v in members.items()}
    mask = pd.Series(False, index=rows.index)
    mask.iloc[nodes] = True
    by_row = pd.Series(labels, index=hit_index)
    return violations(rows, mask, field="name", observed=rows["display_name"],
                      expected=by_row.map(cluster_size).astype(str) + " listings",
                      detail=by_row.map(details))

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
import unicodedata

import numpy as np
import pandas as pd
from rapidfuzz.distance import Indel, JaroWinkler
from rapidfuzz.process import cpdist

from directory_audit.findings import VIOLATION_COLUMNS, violations
from directory_audit.model import RAW_FIELDS
from directory_audit.registry import check

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


def _fold(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _filled(col: pd.Series) -> pd.Series:
    col = col.astype(object)
    return col.where(col.notna(), "")


def name_key(col: pd.Series) -> pd.Series:
    """Upper case, accents folded, punctuation and spaces dropped: "O'Neil" and 'ONeil' -> 'ONEIL'.
    Computed once per distinct value."""
    uniq = col.dropna().unique()
    table = {u: _NON_LETTERS.sub("", _fold(str(u)).upper()).replace(" ", "") for u in uniq}
    return _filled(col.map(table, na_action="ignore"))


def first_key(col: pd.Series) -> pd.Series:
    """The given name only: 'Robert J.' -> 'ROBERT', 'J. Robert' -> 'JROBERT' is avoided by taking the
    longest word when the first word is an initial."""
    uniq = col.dropna().unique()

    def one(v: str) -> str:
        words = [w for w in _NON_LETTERS.sub(" ", _fold(str(v)).upper()).split() if w]
        if not words:
            return ""
        if len(words[0]) == 1 and len(words) > 1:   # 'J. Robert' goes by Robert
            return max(words[1:], key=len)
        return words[0]
    return _filled(col.map({u: one(u) for u in uniq}, na_action="ignore"))


def nickname_group(first: pd.Series) -> pd.Series:
    return first.map(lambda v: NICKNAMES.get(v, v)).astype(object)


def first_name_scores(a: pd.Series, b: pd.Series) -> np.ndarray:
    """1.0 same name; 0.95 same nickname group (Robert/Bob); 0.9 an initial of the other (R/Robert);
    else Indel similarity (strict: Daniel/Danielle 0.86, Jonathan/Johnathan 0.94). 0 when one is empty."""
    a = a.fillna("").astype(str).to_numpy(dtype=object)
    b = b.fillna("").astype(str).to_numpy(dtype=object)
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
    a = list(a.fillna("").astype(str))
    b = list(b.fillna("").astype(str))
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
    g = col.fillna("").astype(str).str.strip().str.upper().str[:1]
    return g.where(g.isin(["M", "F"]), "").astype(object)


def _generation(suffix: pd.Series) -> pd.Series:
    s = suffix.fillna("").astype(str).str.upper()
    gen = s.str.extract(r"\b(JR|SR|II|III|IV)\b", expand=False)
    return gen.fillna("").astype(object)


def person_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Name parts as comparison keys, one row per listing."""
    return pd.DataFrame({
        "first": first_key(rows["first_name"]),
        "last": name_key(rows["last_name"]),
        "middle": name_key(rows["middle_name"]),
        "gender": _gender(rows["gender"]),
        "generation": _generation(rows["suffix"]),
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
    is the place two listings of one person share, whichever suite each names."""
    def one(line: str) -> str:
        text = re.sub(r"[^\w\s#]", " ", _fold(str(line)).upper()).replace("#", " # ")
        words = [_STREET_WORDS.get(w, w) for w in text.split()]
        text = " ".join(words)
        text = re.sub(r"(?:^|\s)(?:STE|UNIT|APT|APARTMENT|RM|ROOM|FL|BLDG|DEPT|#)(?:\s.*)?$", "", text).strip()
        return text
    uniq = line1.dropna().unique()
    key = line1.map({u: one(u) for u in uniq}, na_action="ignore").astype(object)
    out = key.where(key.notna(), "") + "|" + zip5.astype(object).where(zip5.notna(), "").astype(str)
    return out.where(key.notna() & (key != ""), None)


# --------------------------------------------------------------------------------------------------
# Helpers


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=list(VIOLATION_COLUMNS))


def _raw_columns(rows: pd.DataFrame) -> list[str]:
    return [f"{f}_raw" for f in RAW_FIELDS if f"{f}_raw" in rows.columns]


def raw_row_hash(rows: pd.DataFrame) -> pd.Series:
    """64-bit hash of every raw field of a row (not its record id): equal hashes are identical rows."""
    cols = _raw_columns(rows)
    frame = rows[cols].astype(object).where(rows[cols].notna(), "\x00")
    return pd.util.hash_pandas_object(frame, index=False)


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
    h = raw_row_hash(rows)
    mask = h.duplicated(keep=False)
    if not mask.any():
        return _empty()
    hit = rows[mask]
    group = h[mask]
    detail = _members_detail(hit, group)
    counts = group.map(group.value_counts()).astype(str)
    return violations(hit, field="(row)", observed=counts, expected="one row per provider-location",
                      detail=detail)


@check(id="duplicate.npi_same_location", factor="T2.i", severity="warning",
       title="Same NPI listed more than once at one location",
       message="NPI {npi} is listed {observed} times at this location")
def npi_same_location(rows: pd.DataFrame) -> pd.DataFrame:
    """One NPI with more than one row at the same location (street address and ZIP, suite spellings
    unified) shows enrollees two listings that may disagree (accepting status, phone). Rows that are
    verbatim copies of each other are left to ``duplicate.exact_row``; a provider at two different
    locations is legitimate and not reported."""
    sub = rows[rows["npi"].notna() & rows["location_key"].notna()]
    if sub.empty:
        return _empty()
    key = sub["npi"].astype(str) + "@" + sub["location_key"].astype(str)
    dup = key.duplicated(keep=False)
    sub, key = sub[dup], key[dup]
    if sub.empty:
        return _empty()
    h = raw_row_hash(sub)
    distinct = h.groupby(key).transform("nunique")
    sub, key = sub[distinct > 1], key[distinct > 1]
    if sub.empty:
        return _empty()
    counts = key.map(key.value_counts()).astype(str)
    return violations(sub, field="npi", observed=counts, expected="one listing per NPI and location",
                      detail=_members_detail(sub, key))


@check(id="duplicate.npi_name_conflict", factor="T2.i", severity="error",
       title="One NPI listed under conflicting names",
       message="NPI {npi} is listed under names that do not match: {observed}")
def npi_name_conflict(rows: pd.DataFrame, min_first_score: float = 0.9, min_last_score: float = 0.88) -> pd.DataFrame:
    """An NPI belongs to one person. Individual rows of one NPI whose names do not match (first and
    last name scored as for probable duplicates, so Bob/Robert, initials, typos and transposed names
    still match) list someone under another person's NPI. Every individual row of that NPI is
    reported, the names it is listed under in ``observed``."""
    ind = rows[(rows["provider_type"] == "individual") & rows["npi"].notna()]
    if ind.empty:
        return _empty()
    p = person_frame(ind)
    p["npi"] = ind["npi"]
    distinct = p.drop_duplicates(["npi", "first", "last", "middle", "gender", "generation"])
    multi = distinct[distinct["npi"].duplicated(keep=False)]
    if multi.empty:
        return _empty()
    pairs = multi.reset_index().merge(multi.reset_index(), on="npi", suffixes=("_a", "_b"))
    pairs = pairs[pairs["index_a"] < pairs["index_b"]]
    left = pairs[[c + "_a" for c in ("first", "last", "middle", "gender", "generation")]]
    right = pairs[[c + "_b" for c in ("first", "last", "middle", "gender", "generation")]]
    left.columns = right.columns = ["first", "last", "middle", "gender", "generation"]
    scores = name_pair_scores(left.reset_index(drop=True), right.reset_index(drop=True))
    # A middle name given once and not the other time, or differing, is not a conflict of identity.
    scores["middle_conflict"] = False
    ok = names_match(scores, min_first_score, min_last_score).to_numpy()
    bad_npis = set(pairs.loc[~ok, "npi"])
    if not bad_npis:
        return _empty()
    hit = ind[ind["npi"].isin(bad_npis)]
    names = hit["display_name"].fillna("").astype(str)
    listed = names.groupby(hit["npi"]).agg(lambda s: " / ".join(dict.fromkeys(s)))
    observed = hit["npi"].map(listed)
    return violations(hit, field="name", observed=observed,
                      expected="one name per NPI", detail=_members_detail(hit, hit["npi"]))


@check(id="duplicate.npi_type_conflict", factor="T2.i", severity="error",
       title="One NPI listed as an individual and as a facility or group",
       message="NPI {npi} is listed both as an individual and as a facility or group")
def npi_type_conflict(rows: pd.DataFrame) -> pd.DataFrame:
    """An NPI is either a person's (entity type 1) or an organization's (type 2). One NPI listed as
    an individual on one row and as a facility or group on another means one of the listings carries
    the wrong NPI. Every row of that NPI is reported."""
    sub = rows[rows["npi"].notna() & rows["provider_type"].isin(["individual", "facility", "group"])]
    if sub.empty:
        return _empty()
    is_ind = (sub["provider_type"] == "individual")
    per_npi = is_ind.groupby(sub["npi"]).agg(["any", "all"])
    bad = per_npi.index[per_npi["any"] & ~per_npi["all"]]
    hit = sub[sub["npi"].isin(bad)]
    if hit.empty:
        return _empty()
    types = hit["provider_type"].groupby(hit["npi"]).agg(lambda s: " and ".join(sorted(set(s))))
    return violations(hit, field="provider_type", observed=hit["provider_type_raw"].fillna(hit["provider_type"]),
                      expected=hit["npi"].map(types).radd("one provider type per NPI; listed as "),
                      detail=_members_detail(hit, hit["npi"]))


def candidate_pairs(rows: pd.DataFrame, max_block: int = 200) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Blocking: (people frame, candidate pairs i<j as positions into it, number of blocks skipped for
    being larger than ``max_block``). A block is a place (street key or phone) and a name token (last
    name key, or first-name nickname group)."""
    ind = rows[(rows["provider_type"] == "individual")]
    ind = ind[ind["last_name"].notna() | ind["first_name"].notna()]
    if ind.empty:
        return pd.DataFrame(), pd.DataFrame({"pos_a": [], "pos_b": []}, dtype="int64"), 0
    people = person_frame(ind)
    people["group"] = nickname_group(people["first"])
    people["street"] = street_key(ind["address_line1"], ind["zip"])
    people["phone"] = ind["phone"].astype(object)
    people["npi"] = ind["npi"].astype(object)
    people["record_id"] = ind["record_id"].astype(str)
    people = people.reset_index(drop=True)
    pos = np.arange(len(people))
    keys = []
    for place_col, tag in (("street", "A"), ("phone", "P")):
        place = people[place_col]
        has_place = place.notna().to_numpy()
        for tok_col in ("last", "group"):
            tok = people[tok_col].fillna("")
            ok = has_place & (tok != "").to_numpy()
            k = tag + ":" + place[ok].astype(str) + "/" + tok[ok].astype(str)
            keys.append(pd.DataFrame({"key": k.to_numpy(), "pos": pos[ok]}))
    blocks = pd.concat(keys, ignore_index=True)
    codes, _ = pd.factorize(blocks["key"])
    blocks = pd.DataFrame({"key": codes, "pos": blocks["pos"].to_numpy()})
    sizes = blocks.groupby("key")["pos"].transform("size")
    skipped = int(blocks.loc[sizes > max_block, "key"].nunique())
    blocks = blocks[(sizes > 1) & (sizes <= max_block)]
    pairs = blocks.merge(blocks, on="key", suffixes=("_a", "_b"))
    pairs = pairs[pairs["pos_a"] < pairs["pos_b"]]
    pairs = pairs[["pos_a", "pos_b"]].drop_duplicates().reset_index(drop=True)
    # Rows sharing an NPI are one provider; conflicts among them are the npi_* checks' business.
    na = people["npi"].to_numpy(dtype=object)[pairs["pos_a"].to_numpy()]
    nb = people["npi"].to_numpy(dtype=object)[pairs["pos_b"].to_numpy()]
    same_npi = pd.notna(na) & pd.notna(nb) & (na == nb)
    pairs = pairs[~same_npi].reset_index(drop=True)
    return people, pairs, skipped


def score_pairs(people: pd.DataFrame, pairs: pd.DataFrame) -> pd.DataFrame:
    """Per-field evidence for each candidate pair."""
    a = people.iloc[pairs["pos_a"].to_numpy()].reset_index(drop=True)
    b = people.iloc[pairs["pos_b"].to_numpy()].reset_index(drop=True)
    scores = name_pair_scores(a, b)
    scores["same_address"] = (a["street"].notna() & (a["street"] == b["street"])).to_numpy()
    scores["same_phone"] = (a["phone"].notna() & (a["phone"] == b["phone"])).to_numpy()
    scores["score"] = ((scores["first_name"] + scores["last_name"]) / 2).round(3)
    scores["pos_a"] = pairs["pos_a"].to_numpy()
    scores["pos_b"] = pairs["pos_b"].to_numpy()
    return scores


def probable_pairs(rows: pd.DataFrame, min_first_score: float = 0.9, min_last_score: float = 0.88,
                   max_block: int = 200) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(people, matching pairs with their scores): the library entry point the benchmark measures."""
    people, pairs, _ = candidate_pairs(rows, max_block)
    if pairs.empty:
        return people, pairs.assign(score=pd.Series(dtype=float))
    scores = score_pairs(people, pairs)
    return people, scores[names_match(scores, min_first_score, min_last_score)].reset_index(drop=True)


@check(id="duplicate.probable", factor="T2.i", severity="warning",
       title="Probable duplicate listing without a shared NPI",
       message="probable duplicate: {observed} is listed again at the same address or phone under "
               "another NPI or none (cluster of {expected})")
def probable(rows: pd.DataFrame, min_first_score: float = 0.9, min_last_score: float = 0.88,
             max_block: int = 200) -> pd.DataFrame:
    """Two listings of individuals with different NPIs (or none) whose names match, allowing for
    nicknames (Robert/Bob, Katherine/Kathy), initials, small typos, first and last name transposed,
    case and punctuation, at the same street address (suite and abbreviations ignored) or the same
    phone, are probably one person listed twice. Pairs are grouped into clusters; each member row
    gets one finding whose detail lists the cluster's members and each pair's per-field scores.
    Contradicting genders, generations (Jr/Sr) or middle initials keep two people apart."""
    if rows.empty:
        return _empty()
    people, matched = probable_pairs(rows, min_first_score, min_last_score, max_block)
    if matched.empty:
        return _empty()
    # Clusters over the people positions that appear in a matching pair.
    nodes = np.unique(np.concatenate([matched["pos_a"].to_numpy(), matched["pos_b"].to_numpy()]))
    local = {p: i for i, p in enumerate(nodes)}
    a = np.array([local[p] for p in matched["pos_a"]])
    b = np.array([local[p] for p in matched["pos_b"]])
    labels = _union_find(a, b, len(nodes))
    cluster_of = pd.Series(labels, index=nodes)
    rid = people["record_id"]
    matched["cluster"] = cluster_of.loc[matched["pos_a"]].to_numpy()
    matched["a"] = rid.iloc[matched["pos_a"]].to_numpy()
    matched["b"] = rid.iloc[matched["pos_b"]].to_numpy()
    pair_cols = ["a", "b", "first_name", "last_name", "transposed", "same_address", "same_phone", "score"]
    pair_lists = {k: g[pair_cols].to_dict(orient="records") for k, g in matched.groupby("cluster")}
    member_rids = pd.Series(rid.iloc[nodes].to_numpy(), index=labels).groupby(level=0).agg(list)
    details = {k: json.dumps({"cluster": f"C{k}", "members": member_rids[k], "pairs": pair_lists[k]},
                             default=lambda v: bool(v) if isinstance(v, np.bool_) else float(v))
               for k in member_rids.index}
    hit_rids = rid.iloc[nodes].to_numpy()
    hit = rows[rows["record_id"].astype(str).isin(set(hit_rids))]
    by_rid = pd.Series(labels, index=hit_rids)
    hit_labels = hit["record_id"].astype(str).map(by_rid)
    size = hit_labels.map(hit_labels.value_counts())
    return violations(hit, field="name", observed=hit["display_name"],
                      expected=size.astype(str) + " listings",
                      detail=hit_labels.map(details))

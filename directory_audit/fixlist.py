"""The fix list: the findings turned into a work list, one row per provider with findings.

Built from the findings and the canonical table (``build_fixlist``), written by ``outputs`` as
``fixlist.csv`` on every audit, and shown in the reports. Each row names the provider (NPI, name,
type), the provider-locations concerned (addresses and record ids), the findings behind it, one
recommended ``action`` and a ``priority``.

Action: the first of these that any of the provider's findings calls for (``ACTION_RULES``):

1. **suppress listing**: the listing should not be shown as it is: an excluded (LEIE) or deactivated
   NPI, a PO Box as the practice location, an exact duplicate row;
2. **investigate possible ghost**: a ghost-network pattern (``ghost.*``: call-centre phone, address
   inflation, a residence), a crowded address, a clinician at implausibly many locations;
3. **verify by call**: what only a call to the office settles: a missing, invalid, placeholder or
   out-of-state phone; a stale, missing or placeholder last-updated date; conflicting accepting
   flags; duplicate or conflicting listings; an NPPES name, state or taxonomy mismatch; a location
   outside the service area;
4. **correct data**: any other warning or error (a ZIP, city, language value, flag wording...);
5. **none**: only information findings.

Priority (enrollee impact: an enrollee acts on an *accepting* listing, and a wrong listing hurts most
where there are few alternatives):

* **1**: the provider accepts new patients somewhere (``open_practice`` status) and is in a *thin*
  specialty (at most ``THIN_SPECIALTY`` accepting providers of that specialty in the directory) or a
  *thin* county (at most ``THIN_COUNTY`` accepting providers in that county), with an action to take;
* **2**: accepting elsewhere, or any error finding;
* **3**: the rest (warnings or information on providers not taking new patients).

Order, deterministic: priority, action (in the order above), error findings (most first), findings
(most first), then NPI, name and provider key. Findings with no row of the table (source-level gaps,
records the loader could not read) concern the directory, not a provider, and are not listed here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: (action, check ids, check-id prefixes), first match wins.
ACTION_RULES: tuple[tuple[str, frozenset[str], tuple[str, ...]], ...] = (
    ("suppress listing", frozenset({"identifier.leie_excluded", "identifier.nppes_deactivated", "location.po_box",
                                    "duplicate.exact_row"}), ()),
    ("investigate possible ghost", frozenset({"location.crowded_address", "location.provider_many_locations"}),
     ("ghost.",)),
    ("verify by call", frozenset({
        "location.phone_missing", "location.phone_invalid", "location.phone_out_of_state", "placeholder.value",
        "update.stale", "update.last_updated_missing", "update.last_updated_unparseable",
        "update.last_updated_future", "placeholder.last_updated", "open_practice.conflicting",
        "duplicate.npi_same_location", "duplicate.probable", "duplicate.npi_name_conflict",
        "duplicate.npi_type_conflict", "identifier.nppes_name_mismatch", "identifier.nppes_state_mismatch",
        "identifier.nppes_taxonomy_mismatch", "identifier.nppes_not_found", "location.outside_service_area"}), ()),
)
ACTIONS = ("suppress listing", "investigate possible ghost", "verify by call", "correct data", "none")
THIN_SPECIALTY = 5
THIN_COUNTY = 10
FIXLIST_COLUMNS = ("priority", "action", "npi", "name", "type", "accepting", "specialty", "county",
                   "locations_concerned", "addresses", "record_ids", "findings", "errors", "warnings",
                   "priority_reason")
#: Addresses and record ids quoted per provider; the count says how many there are.
MAX_QUOTED = 5


def action_for(check_id: str, severity: str) -> str:
    """The action one finding calls for."""
    for action, ids, prefixes in ACTION_RULES:
        if check_id in ids or check_id.startswith(prefixes or ("\0",)):
            return action
    return "none" if severity == "info" else "correct data"


def empty_fixlist() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in FIXLIST_COLUMNS})


def _joined(keys: pd.Series, values: pd.Series, sep: str) -> pd.Series:
    """Per key (in order of first appearance), its values joined by ``sep`` in order: the rows put
    in key order (a stable sort keeps each key's values in order), cut into one list per key, and
    each list joined by Arrow's kernel. pandas' per-group string aggregation slices a Series per
    group, many times slower for a hundred thousand providers."""
    import pyarrow as pa
    import pyarrow.compute as pc
    if not len(keys):
        return pd.Series(dtype="object")
    codes, uniques = pd.factorize(keys, sort=False)
    order = np.argsort(codes, kind="stable")
    starts = np.flatnonzero(np.diff(codes[order])) + 1
    offsets = np.concatenate([[0], starts, [len(order)]]).astype(np.int64)
    texts = pa.array(np.asarray(values, dtype=object)[order], type=pa.large_string())
    joined = pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets), texts), pa.scalar(sep, pa.large_string()))
    return pd.Series(joined.to_numpy(zero_copy_only=False), index=uniques, dtype="object")


def _quoted(f: pd.DataFrame, column: str) -> pd.Series:
    """Per provider, its first MAX_QUOTED distinct values of ``column`` joined, '(+N more)' after."""
    distinct = f.loc[f[column].fillna("") != "", ["provider", column]].drop_duplicates()
    n = distinct.groupby("provider", sort=False).size()
    shown = distinct.groupby("provider", sort=False).head(MAX_QUOTED)
    text = _joined(shown["provider"], shown[column].astype(str), " | ")
    more = (n - MAX_QUOTED).reindex(text.index)
    return text.where(more <= 0, text + " | (+" + more.astype(str) + " more)")


def table_inputs() -> tuple:
    """The ``per_table`` helpers whose results ``build_fixlist`` reads besides the key
    factorizations: the audit keeps them when it drops the rest of what the checks derived."""
    from checks.open_practice import table_status
    from directory_audit import geo
    return (table_status, geo.table_county_keys)


#: Checks whose one finding is about the whole directory (it quotes a record only as an example).
DIRECTORY_LEVEL_CHECKS = frozenset({"update.generation_stamp", "update.measured_frequency"})


def build_fixlist(findings: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """One row per provider (``provider_key``) with findings; see the module docstring for the rules."""
    if findings.empty or table.empty:
        return empty_fixlist()
    from checks.open_practice import table_status     # the accepting status the metrics use
    from directory_audit import geo
    from directory_audit.model import key_factor, per_distinct

    # Full-table columns only as cheap per-distinct or cached values; everything quoted is built for
    # the rows that have findings alone (a few thousand of a million). Providers are the shared
    # integer codes of provider_key (a row without one is '(no name)', the last code).
    accepting = (table_status(table) == "accepting").to_numpy()
    specialty = per_distinct(table, "specialty_names", lambda v: v.str.split("|").str[0].to_numpy()).to_numpy()
    county = geo.table_county_keys(table).to_numpy()
    codes, keys = key_factor(table, "provider_key")
    provider_code = np.where(codes >= 0, codes, len(keys))
    provider_keys = np.append(keys, "(no name)")
    # each finding's row: the first row of its record id (one hash table of the million ids)
    record_ids = pd.Index(table["record_id"].astype(str).to_numpy(dtype=object))
    position = pd.Series(np.arange(len(table)), index=record_ids)
    if not record_ids.is_unique:
        position = position[~record_ids.duplicated()]
    f = findings[["check_id", "severity", "record_id"]].astype(str)
    # findings about the directory as a whole quote one record as an example; no provider can fix them
    f = f[~f["check_id"].isin(DIRECTORY_LEVEL_CHECKS)]
    at = position.reindex(f["record_id"].to_numpy()).to_numpy()
    keep = ~np.isnan(at)
    f = f[keep].reset_index(drop=True)
    if f.empty:
        return empty_fixlist()
    at = at[keep].astype(np.int64)
    hit = table[["npi", "npi_raw", "display_name", "provider_type", "address_line1", "city", "state", "zip"]].iloc[at]
    f["provider"] = provider_code[at]
    # text columns kept as Python objects (pandas would copy each into Arrow strings first)
    text = {"npi": hit["npi"].where(hit["npi"].notna(), hit["npi_raw"]).to_numpy(),
            "name": hit["display_name"].to_numpy(), "type": hit["provider_type"].to_numpy(),
            "specialty": specialty[at], "county": county[at],
            "address": (hit["address_line1"].fillna("") + ", " + hit["city"].fillna("") + " " + hit["state"].fillna("")
                        + " " + hit["zip"].fillna("")).str.strip(" ,").to_numpy()}
    for column, values in text.items():
        f[column] = pd.Series(values, index=f.index, dtype="object")
    pairs = f[["check_id", "severity"]].drop_duplicates().itertuples(index=False)
    actions = {(c, sv): action_for(c, sv) for c, sv in pairs}             # once per check id
    f["action"] = [actions[(c, sv)] for c, sv in zip(f["check_id"].tolist(), f["severity"].tolist())]
    f["action_rank"] = f["action"].map({a: i for i, a in enumerate(ACTIONS)})

    # thin specialties and counties: few accepting providers to turn to
    acc = pd.DataFrame({"provider": provider_code[accepting], "specialty": specialty[accepting],
                        "county": county[accepting]})
    per_specialty = acc.dropna(subset=["specialty"]).groupby("specialty")["provider"].nunique()
    per_county = acc.dropna(subset=["county"]).groupby("county")["provider"].nunique()
    # whether each provider accepts new patients at any of its rows
    accepting_somewhere = np.zeros(len(keys) + 1, dtype=bool)
    accepting_somewhere[provider_code[accepting]] = True
    f["accepting"] = accepting_somewhere[provider_code[at]]
    # grouped by the integer code: every per-provider series below shares one integer index
    g = f.groupby("provider", sort=False)
    counts = f.groupby(["provider", "check_id"], sort=True).size().rename("n").reset_index()
    counts["text"] = counts["check_id"] + " (" + counts["n"].astype(str) + ")"
    f["is_error"] = (f["severity"] == "error").to_numpy()
    f["is_warning"] = (f["severity"] == "warning").to_numpy()
    firsts = g[["npi", "name", "type", "specialty", "county", "accepting"]].first()
    out = pd.DataFrame({
        **{c: firsts[c] for c in firsts.columns},
        "locations_concerned": g["address"].nunique(),
        "addresses": _quoted(f, "address"), "record_ids": _quoted(f, "record_id"),
        "findings": _joined(counts["provider"], counts["text"], "; "),
        "errors": g["is_error"].sum().astype(int), "warnings": g["is_warning"].sum().astype(int),
        "action_rank": g["action_rank"].min(),
    })
    out["accepting"] = out["accepting"].astype(bool)
    out["action"] = out["action_rank"].map(dict(enumerate(ACTIONS)))
    thin_s = out["specialty"].map(per_specialty).fillna(0).le(THIN_SPECIALTY) & out["specialty"].notna()
    thin_c = out["county"].map(per_county).fillna(0).le(THIN_COUNTY) & out["county"].notna()
    act = out["action"] != "none"
    p1 = out["accepting"] & (thin_s | thin_c) & act
    p2 = ~p1 & act & (out["accepting"] | (out["errors"] > 0))
    out["priority"] = np.where(p1, 1, np.where(p2, 2, 3))
    reason = np.where(p1, "accepting new patients in a thin " + np.where(thin_s, "specialty", "county"),
                      np.where(out["accepting"] & act, "accepting new patients",
                               np.where(p2, "error findings", np.where(act, "not accepting; warnings only",
                                                                       "information only"))))
    out["priority_reason"] = reason
    out = out.rename_axis(None).assign(provider_key=provider_keys[out.index.to_numpy()]).reset_index(drop=True)
    out = out.sort_values(["priority", "action_rank", "errors", "warnings", "npi", "name", "provider_key"],
                          ascending=[True, True, False, False, True, True, True], kind="stable", na_position="last")
    out["accepting"] = np.where(out["accepting"], "yes", "no")
    return out[list(FIXLIST_COLUMNS)].reset_index(drop=True)


def summarize(fixlist: pd.DataFrame) -> dict:
    """Counts for summary.json and the report: providers listed, by action and by priority."""
    return {"providers": int(len(fixlist)),
            "by_action": {a: int((fixlist["action"] == a).sum()) for a in ACTIONS},
            "by_priority": {str(p): int((fixlist["priority"] == p).sum()) for p in (1, 2, 3)}}

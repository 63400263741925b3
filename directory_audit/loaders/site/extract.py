"""Reading values out of fetched pages with a profile's selectors.

Selecting nodes is per page by nature (an HTML tree or a JSON document is walked once per page).
Everything after that is done on columns: a page's cards become a frame of raw strings, and the
profile's ``regex`` and ``split``, the splitting of one-line addresses and the merging of card,
detail and location values run once over whole columns.
"""
from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
import pandas as pd

from .profile import PROFILE_FIELDS, Selector

#: Separator written between several matches of one selector, and between the parts of a split list:
#: normalize splits specialties and languages on it.
JOIN = "; "
ADDRESS_PARTS = ("address_line1", "address_line2", "city", "state", "zip")
_SPACE = re.compile(r"\s+")


class Unreadable(Exception):
    """A page whose body cannot be read as the profile's kind (not JSON, not text)."""


class HtmlExtractor:
    kind = "html"

    def parse(self, content: bytes) -> Any:
        from bs4 import BeautifulSoup
        if not content or not content.strip():
            raise Unreadable("the page is empty")
        # lxml repairs broken markup the way browsers roughly do: unclosed tags end at their parent.
        return BeautifulSoup(content, "lxml")

    def nodes(self, node: Any, sel: Selector | None) -> list:
        if sel is None or sel.path is None:
            return [node]
        return list(sel.compiled.select(node))

    def value(self, node: Any, sel: Selector) -> str | None:
        values = []
        for n in self.nodes(node, sel):
            v = n.get(sel.attr) if sel.attr else n.get_text(" ", strip=True)
            if isinstance(v, list):          # class and rel attributes are lists in BeautifulSoup
                v = " ".join(v)
            v = _SPACE.sub(" ", v).strip() if isinstance(v, str) else None
            if v:
                values.append(v)
        return JOIN.join(values) if values else None


class JsonExtractor:
    kind = "json"

    def parse(self, content: bytes) -> Any:
        try:
            return json.loads(content)
        except json.JSONDecodeError as exc:
            raise Unreadable(f"not JSON: {exc.msg} at byte offset {exc.pos}") from None
        except UnicodeDecodeError as exc:
            raise Unreadable(f"not UTF-8 at byte offset {exc.start}") from None

    def nodes(self, node: Any, sel: Selector | None) -> list:
        if sel is None or sel.path is None:
            return [node]
        found = sel.compiled.search(node)
        if found is None:
            return []
        return found if isinstance(found, list) else [found]

    def value(self, node: Any, sel: Selector) -> str | None:
        found = node if sel.path is None else sel.compiled.search(node)
        return json_text(found)


def extractor(kind: str):
    return HtmlExtractor() if kind == "html" else JsonExtractor()


def json_text(v: Any) -> str | None:
    """A JSON value as the text a page would show: numbers without a spurious '.0', lists joined."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, str):
        v = _SPACE.sub(" ", v).strip()
        return v or None
    if isinstance(v, list):
        parts = [t for t in (json_text(x) for x in v) if t]
        return JOIN.join(parts) if parts else None
    return json.dumps(v, sort_keys=True)


def values_of(ex, node: Any, specs: dict[str, Selector]) -> dict[str, str | None]:
    return {name: ex.value(node, sel) for name, sel in specs.items()}


def finish(frame: pd.DataFrame, specs: dict[str, Selector]) -> pd.DataFrame:
    """Apply each field's ``regex`` (first group kept; no match: missing) and ``split`` (parts
    re-joined with '; ') to whole columns, then split one-line ``address`` cells into their parts."""
    frame = frame.copy()
    for name, sel in specs.items():
        if name not in frame.columns:
            continue
        col = frame[name].astype("object")
        if sel.regex is not None:
            pattern = sel.regex.pattern if sel.regex.groups else f"({sel.regex.pattern})"
            col = col.astype("str").str.extract(re.compile(pattern, sel.regex.flags), expand=False) \
                .astype("object").where(frame[name].notna(), None)
            col = col.where(col.isna(), col.astype(str).str.strip())
        if sel.split:
            parts = col.str.split(re.escape(sel.split), regex=True)
            col = parts.map(lambda ps: JOIN.join(p.strip() for p in ps if p.strip()) or None
                            if isinstance(ps, list) else None)
        keep = (col.notna() & (col != "")).to_numpy(dtype=bool)
        frame[name] = pd.Series(np.where(keep, col.to_numpy(dtype=object), None), index=frame.index, dtype="object")
    if "address" in frame.columns:
        frame = split_addresses(frame)
    return frame


def split_addresses(frame: pd.DataFrame) -> pd.DataFrame:
    """``address`` ('1594 Pacific Blvd SE, Suite 4B, Albany, OR 97322') -> the five address fields,
    with usaddress, once per distinct line. A line usaddress cannot tag stays whole in
    address_line1 (normalize tries again and the location checks report what is missing)."""
    frame = frame.copy()
    codes, uniques = pd.factorize(frame["address"], use_na_sentinel=True)
    parsed = [_tag_address(u) for u in uniques]
    for i, part in enumerate(ADDRESS_PARTS):
        distinct = np.array([p[i] for p in parsed] + [None], dtype=object)
        new = pd.Series(distinct[np.where(codes >= 0, codes, len(parsed))], index=frame.index, dtype="object")
        old = frame[part] if part in frame.columns else pd.Series(None, index=frame.index, dtype="object")
        frame[part] = old.where(old.notna(), new)
    return frame.drop(columns=["address"])


_STREET = ("AddressNumberPrefix", "AddressNumber", "AddressNumberSuffix", "StreetNamePreModifier",
           "StreetNamePreDirectional", "StreetNamePreType", "StreetName", "StreetNamePostType",
           "StreetNamePostDirectional", "USPSBoxType", "USPSBoxID", "USPSBoxGroupType", "USPSBoxGroupID")
_SUITE = ("BuildingName", "OccupancyType", "OccupancyIdentifier", "SubaddressType", "SubaddressIdentifier")


def _tag_address(line: str) -> tuple[str | None, ...]:
    import usaddress
    try:
        tagged, _ = usaddress.tag(line)
    except usaddress.RepeatedLabelError:
        return (line, None, None, None, None)
    street = " ".join(tagged[k] for k in _STREET if k in tagged).strip(" ,") or None
    suite = " ".join(tagged[k] for k in _SUITE if k in tagged).strip(" ,") or None
    city = tagged.get("PlaceName", "").strip(" ,") or None
    state = tagged.get("StateName", "").strip(" ,.") or None
    zip_ = tagged.get("ZipCode", "").strip(" ,") or None
    if street is None:
        return (line, None, None, None, None)
    return (street, suite, city, state, zip_)


def merge_levels(cards: pd.DataFrame, details: pd.DataFrame, locations: pd.DataFrame) -> pd.DataFrame:
    """One row per provider-location: location values win over the detail page's, which win over
    the card's. A card with no detail page, or a detail page with no location blocks, is one row.
    ``cards`` is indexed by card number; ``details`` by card number; ``locations`` has ``card``."""
    fields = [f for f in PROFILE_FIELDS if f != "address"]
    rows = cards.merge(details, how="left", left_index=True, right_index=True, suffixes=("", "__detail"))
    if len(locations):
        rows = rows.merge(locations.set_index("card"), how="left", left_index=True, right_index=True,
                          suffixes=("", "__location"))
    out = rows.reset_index(names="card")
    for f in fields:
        value = out[f] if f in out.columns else pd.Series(None, index=out.index, dtype="object")
        for level in ("__detail", "__location"):
            if f + level in out.columns:
                over = out[f + level]
                value = over.where(over.notna(), value)
        out[f] = value.astype("object")
    return out[[c for c in out.columns if not c.endswith(("__detail", "__location"))]]

"""Language-fluency checks (T2.iv): the directory says which languages other than English each
provider speaks, in values that are languages.

Normalize turns names in English or in the language itself, ISO 639 codes and BCP-47 tags into one
tag ('Spanish', 'spa', 'es', 'Español' -> 'es'; 'ASL' -> 'ase'), keeps what is not a language in
``languages_unrecognized``, and the raw cell in ``languages_raw``.
"""
from __future__ import annotations

import functools

import langcodes
import numpy as np
import pandas as pd

from directory_audit import geo, vocab
from directory_audit.findings import violations
from directory_audit.model import (MULTI_SEP, any_per, count_distinct, explode_codes, explode_multi, key_codes,
                                   key_factor, per_distinct, per_table)
from directory_audit.registry import check, metric

from .open_practice import table_status
from .records import source_gap

#: Macrolanguage/collective tags that do not say which language a patient will be spoken to in,
#: each with the more specific languages that resolve it. Arabic ('ar') and Persian ('fa') are
#: macrolanguages too but are not listed: US directories conventionally write them so, and their
#: speakers share one standard form.
AMBIGUOUS = {
    "zh": ("Mandarin, Cantonese or another Chinese language",
           {"cmn", "yue", "nan", "hak", "wuu", "hsn", "gan", "cdo", "cjy", "cpx", "czh", "czo", "mnp", "lzh"}),
    "sgn": ("which sign language (e.g. ASL)", None),    # None: any specific sign language resolves it
    "crp": ("which creole (e.g. Haitian Creole)", {"ht", "pap", "tpi", "gcf", "kri", "jam", "pcm", "lou", "mfe", "cpf", "cpe", "cpp"}),
}


@functools.lru_cache(maxsize=4096)
def base_language(tag: str) -> str:
    """'es-MX' -> 'es', 'zh-Hant' -> 'zh': the language subtag a tag counts under."""
    try:
        return langcodes.Language.get(tag).language or tag
    except (langcodes.LanguageTagError, ValueError):
        return tag


@functools.lru_cache(maxsize=4096)
def _is_sign_language(tag: str) -> bool:
    return tag != "sgn" and "sign language" in vocab.language_name(tag).lower()


@functools.lru_cache(maxsize=65536)
def ambiguous_tags(cell: str) -> tuple[str, ...]:
    """The ambiguous tags of one | joined languages value that nothing else in it resolves."""
    tags = {base_language(t) for t in cell.split(MULTI_SEP) if t}
    out = []
    for tag, (_, resolvers) in AMBIGUOUS.items():
        if tag not in tags:
            continue
        resolved = any(_is_sign_language(t) for t in tags) if resolvers is None else bool(tags & resolvers)
        if not resolved:
            out.append(tag)
    return tuple(out)


@check(id="language.missing", factor="T2.iv", severity="warning",
       title="No language information for a provider",
       message="individual provider lists no language")
def missing(rows: pd.DataFrame) -> pd.DataFrame:
    """An individual provider (all rows of one provider_key) with no language value at all: the
    directory cannot tell an enrollee whether the provider speaks anything but English. Facilities
    are exempt (the QHP format gives them no languages field). One finding per row of the provider."""
    ind = rows["provider_type"] == "individual"
    has_any = any_per(key_codes(rows, "provider_key"), rows["languages_raw"].notna().to_numpy())
    if not has_any[ind.to_numpy()].any():      # nothing published anywhere: language.none_published says it once
        has_any = np.ones(len(rows), dtype=bool)
    return violations(rows, ind & ~has_any, field="languages", observed="", expected="the languages spoken")


@check(id="language.none_published", factor="T2.iv", severity="error",
       title="The directory publishes no language information",
       message="the directory publishes no language information: {expected}")
def none_published(rows: pd.DataFrame) -> pd.DataFrame:
    """No individual provider in the directory has any language value: the column is absent or empty
    everywhere. The directory does not disclose languages at all, which is one finding about the
    directory (T2.iv is then not evidenced), not one per provider; ``language.missing`` stays silent."""
    return source_gap(rows, field="languages", needing=rows["provider_type"] == "individual",
                      having=rows["languages_raw"].notna(),
                      what="languages spoken for each individual provider (0 providers disclose any)")


@check(id="language.not_a_language", factor="T2.iv", severity="error",
       title="Language value is not a language",
       message="language value {observed!r} is not a language")
def not_a_language(rows: pd.DataFrame) -> pd.DataFrame:
    """A value in the languages field that is no language in ISO 639/BCP-47 nor a known spelling of
    one ('Yes', 'N/A', 'Elvish'). One finding per such value."""
    flagged = rows.loc[rows["languages_unrecognized"].notna(), ["record_id", "npi_raw", "display_name", "languages_unrecognized"]]
    ex = explode_multi(flagged, "languages_unrecognized").reset_index(drop=True)
    return violations(ex, None, field="languages", observed=ex["languages_unrecognized"],
                      expected="a language name, ISO 639 code or BCP-47 tag")


@check(id="language.ambiguous", factor="T2.iv", severity="info",
       title="Language value does not say which language",
       message="languages {observed!r} do not say {expected}")
def ambiguous(rows: pd.DataFrame) -> pd.DataFrame:
    """A value that names a family rather than a language a patient can be served in: 'Chinese'
    without Mandarin, Cantonese or another Chinese language; 'Sign language' without which one
    (ASL, ...); 'Creole' without which creole. One finding per ambiguous value; the raw cell quoted."""
    amb = per_distinct(rows, "languages", lambda values: [MULTI_SEP.join(ambiguous_tags(v)) or None for v in values])
    flagged = rows.loc[amb.notna(), ["record_id", "npi_raw", "display_name", "languages", "languages_raw"]]
    flagged = flagged.assign(_amb=amb[amb.notna()])
    ex = explode_multi(flagged, "_amb").reset_index(drop=True)
    expected = ex["_amb"].map({tag: text for tag, (text, _) in AMBIGUOUS.items()})
    return violations(ex, None, field="languages", expected=expected)


# --- metrics -----------------------------------------------------------------------------------

@per_table
def _individual_languages(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (individual provider row, base language tag), with accepting and county."""
    ind = (rows["provider_type"] == "individual").to_numpy()
    codes, uniques = key_factor(rows, "languages")
    row_at, part, flat = explode_codes(np.where(ind, codes, -1), uniques)
    tags = np.array([base_language(t) for t in flat], dtype=object)      # once per distinct tag
    # text as object columns: each row points at its tag's or county's one string (pandas would
    # copy every row's text into Arrow strings)
    return pd.DataFrame({"provider_key": key_codes(rows, "provider_key")[row_at],
                         "languages": pd.Series(flat[part], dtype=object), "tag": pd.Series(tags[part], dtype=object),
                         "accepting": (table_status(rows) == "accepting").to_numpy()[row_at],
                         "county": pd.Series(geo.table_county_keys(rows).to_numpy()[row_at], dtype=object)})


@metric(id="language.disclosure_share", factor="T2.iv", title="Providers disclosing a language other than English")
def disclosure_share(rows: pd.DataFrame) -> dict:
    """Individual providers (by provider_key): how many list any recognized language, how many a
    language other than English, and that share of all individual providers."""
    ind = (rows["provider_type"] == "individual").to_numpy()
    providers = count_distinct(key_codes(rows, "provider_key")[ind])
    ex = _individual_languages(rows)
    with_any = count_distinct(ex["provider_key"].to_numpy())
    non_en = count_distinct(ex.loc[ex["tag"] != "en", "provider_key"].to_numpy())
    return {"providers": providers, "with_any_language": with_any, "with_non_english": non_en,
            "share_non_english": round(non_en / providers, 4) if providers else None}


@metric(id="language.providers_per_language", factor="T2.iv", title="Providers per language other than English")
def providers_per_language(rows: pd.DataFrame) -> dict:
    """Per language other than English: individual providers speaking it, and how many of them accept
    new patients at one or more locations. Sorted by providers, most first."""
    ex = _individual_languages(rows)
    ex = ex[ex["tag"] != "en"]
    per = ex.groupby(["tag", "provider_key"])["accepting"].any().groupby("tag").agg(["size", "sum"])
    per = per.sort_values(["size"], ascending=False, kind="stable")
    return {tag: {"name": vocab.language_name(tag), "providers": int(n), "accepting": int(a)}
            for tag, n, a in zip(per.index, per["size"], per["sum"])}


@metric(id="language.by_county", factor="T2.iv", title="Providers per language other than English, by county")
def by_county(rows: pd.DataFrame) -> dict:
    """Per 'STATE:County' (the directory's county, else the ZIP's): individual providers per
    language other than English."""
    ex = _individual_languages(rows)
    ex = ex[(ex["tag"] != "en") & ex["county"].notna()]
    counts = ex.groupby(["county", "tag"])["provider_key"].nunique()
    out: dict[str, dict[str, int]] = {}
    for (county, tag), n in counts.items():   # one step per (county, language) pair
        out.setdefault(str(county), {})[tag] = int(n)
    return {c: dict(sorted(v.items(), key=lambda kv: -kv[1])) for c, v in sorted(out.items())}


@metric(id="language.without_accepting", factor="T2.iv", title="Languages with no provider accepting new patients")
def without_accepting(rows: pd.DataFrame) -> list:
    """Languages other than English spoken by some individual provider, none of whom accepts new
    patients anywhere: an enrollee needing that language has no open practice to go to."""
    ex = _individual_languages(rows)
    ex = ex[ex["tag"] != "en"]
    any_acc = ex.groupby("tag")["accepting"].any()
    return sorted(any_acc[~any_acc].index.tolist())

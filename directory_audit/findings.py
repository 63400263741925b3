"""One Finding shape everywhere: the columns of the findings table and helpers to build it."""
from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"info": 1, "warning": 2, "error": 3}[self.value]


#: The findings table, in order. ``detail`` is a JSON object string with check-specific evidence
#: (counts, pair scores, cluster members); empty when a check has nothing more to say.
FINDING_COLUMNS = (
    "check_id", "severity", "factor_item", "record_id", "npi", "provider_name",
    "field", "observed", "expected", "message", "detail",
)

#: What a check body returns before the runner stamps check_id/severity/factor_item/message.
VIOLATION_COLUMNS = ("record_id", "npi", "provider_name", "field", "observed", "expected", "detail")


@dataclass(frozen=True)
class Finding:
    check_id: str
    severity: str
    factor_item: str
    record_id: str
    npi: str = ""
    provider_name: str = ""
    field: str = ""
    observed: str = ""
    expected: str = ""
    message: str = ""
    detail: str = ""

    @property
    def detail_dict(self) -> dict[str, Any]:
        return json.loads(self.detail) if self.detail else {}


def empty_findings() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in FINDING_COLUMNS})


def _text(values: Any, index: pd.Index) -> pd.Series:
    if isinstance(values, pd.Series):
        s = values.reindex(index)
    else:
        s = pd.Series([values] * len(index), index=index, dtype="object")
    return s.astype("object").where(s.notna(), "").astype(str)


def violations(
    rows: pd.DataFrame,
    mask: pd.Series | None = None,
    *,
    field: str,
    expected: str | pd.Series,
    observed: str | pd.Series | None = None,
    detail: pd.Series | None = None,
) -> pd.DataFrame:
    """The rows where ``mask`` is true, as violations of ``field``.

    ``observed`` defaults to the raw value of the field (``<field>_raw`` when the table has it), so
    a finding quotes what the directory showed, not our normalization of it.
    """
    # Only the columns a finding quotes are taken from the (wide) table: filtering all of a
    # million-row table's columns to report a handful of rows would cost more than the check.
    wanted = [c for c in ("record_id", "npi_raw", "npi", "display_name", f"{field}_raw", field, "folded_record_ids")
              if c in rows.columns]
    wanted = list(dict.fromkeys(wanted))
    if mask is None:
        hit = rows[wanted]
    else:
        if not mask.index.equals(rows.index):
            mask = mask.reindex(rows.index)
        hit = rows.loc[mask.fillna(False).astype(bool).to_numpy(), wanted]
    idx = hit.index
    if observed is None:
        raw = f"{field}_raw"
        observed = hit[raw] if raw in hit.columns else (hit[field] if field in hit.columns else "")
    out = pd.DataFrame(
        {
            "record_id": _text(hit["record_id"], idx),
            "npi": _text(hit["npi_raw"] if "npi_raw" in hit.columns else hit.get("npi", ""), idx),
            "provider_name": _text(hit["display_name"] if "display_name" in hit.columns else "", idx),
            "field": field,
            "observed": _text(observed, idx),
            "expected": _text(expected, idx),
            "detail": _text(detail if detail is not None else "", idx),
        },
        index=idx,
    )
    if "folded_record_ids" in hit.columns:
        out["detail"] = with_folded_records(out["detail"], hit["folded_record_ids"])
    return out.reset_index(drop=True)


def with_folded_records(detail: pd.Series, folded: pd.Series) -> pd.Series:
    """A finding on a provider-location folded from several source rows (``fold.py``) names them
    all: ``record_ids`` is added to its detail object. Rows not folded keep their detail as it is."""
    has = folded.notna().to_numpy()
    if not has.any():
        return detail
    detail = detail.copy()
    for i in np.flatnonzero(has):        # folded rows only: a handful next to the table
        text = detail.iat[i]
        obj = json.loads(text) if text else {}
        if not isinstance(obj, dict):
            obj = {"detail": obj}
        obj["record_ids"] = str(folded.iat[i]).split("|")
        detail.iat[i] = json.dumps(obj, default=str, sort_keys=True)
    return detail


def detail_json(frame: pd.DataFrame) -> pd.Series:
    """One JSON object per row of ``frame`` (for the ``detail`` column)."""
    records = frame.to_dict(orient="records")
    return pd.Series([json.dumps(r, default=str, sort_keys=True) for r in records], index=frame.index)


def to_findings(frame: pd.DataFrame) -> list[Finding]:
    return [Finding(**{c: ("" if pd.isna(v) else str(v)) for c, v in zip(FINDING_COLUMNS, row)})
            for row in frame[list(FINDING_COLUMNS)].itertuples(index=False)]


def flatten(findings: pd.DataFrame, columns: Sequence[str] = ("check_id", "record_id", "field")) -> list[tuple]:
    """Findings as a sorted list of tuples of ``columns``: the shape tests compare against literals."""
    if findings.empty:
        return []
    return sorted(tuple(str(v) for v in row) for row in findings[list(columns)].itertuples(index=False))


def severity_at_least(severities: Iterable[str], threshold: str) -> bool:
    t = Severity(threshold).rank
    return any(Severity(s).rank >= t for s in severities)

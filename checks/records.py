"""Record-level checks: records the loader could not read, and fields every listing needs."""
from __future__ import annotations

import pandas as pd

from directory_audit.findings import VIOLATION_COLUMNS, violations
from directory_audit.registry import check
from directory_audit.runner import AuditContext


@check(id="source.malformed_record", factor="T1.i", severity="error",
       title="Record cannot be parsed", message="record cannot be read: {observed}")
def malformed_record(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """A row or JSON entry the loader could not read (wrong field count, not an object). It is not
    audited further, so it is reported here rather than lost."""
    return problem_findings(context, "source.malformed_record")


def problem_findings(context: AuditContext, check_id: str) -> pd.DataFrame:
    """The loader's problems filed under ``check_id`` (see ``loaders.PROBLEM_COLUMNS``), as violations.
    Checks of things only a loader can see (pages, references, robots) are this one line."""
    p = context.load_problems
    if p is None or p.empty:
        return pd.DataFrame(columns=list(VIOLATION_COLUMNS) + ["message"])
    ids = p["check_id"].fillna("").replace("", "source.malformed_record") if "check_id" in p else \
        pd.Series("source.malformed_record", index=p.index)
    p = p[ids == check_id]
    detail = p["detail"].fillna("") if "detail" in p else ""
    out = pd.DataFrame({"record_id": p["record_id"], "npi": "", "provider_name": "", "field": p["field"],
                        "observed": p["observed"], "expected": p["expected"], "detail": detail,
                        "message": p["message"]})
    return out.reset_index(drop=True)


#: Loader problems that already explain an empty table (the feed or every page could not be fetched).
FETCH_FAILURES = ("feed.unreachable", "feed.browser_only", "plannet.page_failed", "access.page_failed",
                  "access.login_required", "access.robots_disallowed")


@check(id="source.empty_directory", factor="T1.i", severity="error",
       title="Directory lists no providers", message="the directory lists no providers: {observed}")
def empty_directory(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """A directory that lists no providers (a header and no rows, ``[]``, an index naming no files) tells
    enrollees nothing; most often an export that broke. Reported as an error so a nightly run fails
    loudly instead of passing with nothing audited."""
    if len(rows):
        return pd.DataFrame(columns=list(VIOLATION_COLUMNS))
    problems = context.load_problems
    if problems is not None and "check_id" in problems and problems["check_id"].isin(FETCH_FAILURES).any():
        return pd.DataFrame(columns=list(VIOLATION_COLUMNS))   # the loader already said why: nothing came back
    unreadable = 0 if context.load_problems is None else len(context.load_problems)
    observed = (f"no provider records ({unreadable} record(s) could not be read: see source.malformed_record)"
                if unreadable else "no provider records")
    source = context.load_sources[0] if context.load_sources else "(directory)"
    return pd.DataFrame([{"record_id": source, "npi": "", "provider_name": "", "field": "(directory)",
                          "observed": observed, "expected": "at least one provider listing", "detail": ""}],
                        columns=list(VIOLATION_COLUMNS))


@check(id="record.name_missing", factor="T1.i", severity="error",
       title="Provider name missing", message="listing has no provider or facility name")
def name_missing(rows: pd.DataFrame) -> pd.DataFrame:
    """A listing with neither a person's name nor a facility name cannot be found or acted on."""
    return violations(rows, rows["display_name"].isna(), field="name", observed="",
                      expected="a provider or facility name")


@check(id="record.specialty_missing", factor="T2.ii", severity="warning",
       title="Specialty missing", message="individual provider listed without a specialty")
def specialty_missing(rows: pd.DataFrame) -> pd.DataFrame:
    """Enrollees search by specialty (T2.ii); an individual with no specialty or taxonomy cannot be
    found that way. Facilities are exempt: QHP facilities carry a facility type instead."""
    mask = (rows["provider_type"] == "individual") & rows["specialty_names"].isna() & rows["specialty_codes"].isna()
    return violations(rows, mask, field="specialties", observed="", expected="a specialty or NUCC taxonomy code")


def source_gap(rows: pd.DataFrame, *, field: str, needing: pd.Series, having: pd.Series,
               what: str) -> pd.DataFrame:
    """One source-level violation when rows need ``field`` (``needing``) and not one of them has a
    value (``having``): the directory does not publish that information at all, which is one finding
    about the directory, not one per row. Empty otherwise. The record id is the source file."""
    need = needing.to_numpy(dtype=bool)
    if not need.any() or having.to_numpy(dtype=bool)[need].any():
        return violations(rows, pd.Series(False, index=rows.index), field=field, observed="", expected="")
    files = rows["source_file"].dropna().astype(str).unique() if "source_file" in rows else []
    source = files[0] if len(files) == 1 else ("; ".join(files[:3]) if len(files) else "(directory)")
    from directory_audit.findings import detail_json
    one = pd.DataFrame({"record_id": [source], "display_name": [""]})
    detail = detail_json(pd.DataFrame({"rows_needing_it": [int(need.sum())], "rows_with_a_value": [0],
                                       "sources": [list(map(str, files[:10]))]}))
    return violations(one, None, field=field, observed="", expected=what, detail=detail)

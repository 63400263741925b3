"""Feed-level checks: what the market sweep learns while fetching an issuer's machine-readable files
(``directory_audit.sweep``). The sweep files each as a loader problem under the check's id, and the
check reports it, so a feed problem reaches findings, the summary and the report like any other."""
from __future__ import annotations

import pandas as pd

from directory_audit.registry import check
from directory_audit.runner import AuditContext

from .records import problem_findings


@check(id="feed.unreachable", factor="T1.ii", severity="error",
       title="Index or provider file unreachable",
       message="the issuer's machine-readable file could not be read: {observed}")
def unreachable(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """45 CFR 156.230(c) requires the directory to be published in machine-readable form, and Oregon
    requires it to be publicly available: an index or providers file that answers with an HTTP error,
    does not resolve, or does not parse on every try is no directory at all for the public."""
    return problem_findings(context, "feed.unreachable")


@check(id="feed.browser_only", factor="T1.ii", severity="warning",
       title="File served only to a browser User-Agent",
       message="the file refused our declared User-Agent and answered a browser's: {observed}")
def browser_only(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """Machine-readable files exist for programs. A server that refuses an honest program's
    User-Agent and answers only a browser's keeps the data from the tools it was published for."""
    return problem_findings(context, "feed.browser_only")


@check(id="feed.stale_file", factor="T1.ii", severity="warning",
       title="Provider file not updated within the window",
       message="provider file last modified {observed}, and no record is newer: expected {expected}")
def stale_file(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """The directory must be updated at least monthly. A file whose HTTP Last-Modified date and every
    record's own last-updated date are older than the verification window was not updated in it."""
    return problem_findings(context, "feed.stale_file")


@check(id="feed.index_schema", factor="T1.ii", severity="error",
       title="Index does not follow the CMS schema",
       message="index.json {field}: found {observed}, expected {expected}")
def index_schema(rows: pd.DataFrame, context: AuditContext) -> pd.DataFrame:
    """The issuer index (CMS ``index.json``) must carry ``provider_urls``, ``plan_urls`` and
    ``formulary_urls`` as lists of URLs; a crawler that follows the schema misses what lies outside it."""
    return problem_findings(context, "feed.index_schema")

"""The one data path: load -> normalize -> check -> findings and summary. Library first; the CLI
and the reports call this and nothing else."""
from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pandas as pd

from . import __version__, provider_types
from .factors import FACTOR_ITEMS
from .findings import Severity
from .fixlist import build_fixlist, empty_fixlist
from .fixlist import table_inputs as fixlist_inputs
from .fixlist import summarize as summarize_fixlist
from .loaders import LoadResult, load
from .model import count_distinct, drop_derived, key_codes, share_key_factors
from .normalize import normalize
from .progress import Progress
from .registry import METRICS, load_catalogue, select
from .runner import AuditContext, CheckRun, run_checks, validate_options
from .settings import Settings


@dataclass
class AuditResult:
    table: pd.DataFrame
    findings: pd.DataFrame
    summary: dict[str, Any]
    check_runs: list[CheckRun]
    loaded: LoadResult
    #: one row per provider with findings, the action and priority (``directory_audit.fixlist``)
    fixlist: pd.DataFrame = dataclasses.field(default_factory=empty_fixlist)

    def exit_code(self, fail_on: str) -> int:
        if fail_on == "never" or self.findings.empty:
            return 0
        threshold = Severity(fail_on).rank
        # once per distinct severity, not once per finding (a million-row run has 200,000)
        return 1 if any(Severity(s).rank >= threshold for s in pd.unique(self.findings["severity"])) else 0


def load_reference(settings: Settings, npis: pd.Series | None = None) -> dict[str, Any]:
    """Optional reference files (NPPES, LEIE) named in the settings, read by their loaders and, when
    ``npis`` is given, filtered while reading to the NPIs the directory lists."""
    reference: dict[str, Any] = {}
    if settings.nppes_file or settings.leie_file:
        from .loaders import reference as ref
        if settings.nppes_file:
            reference["nppes"] = ref.load_nppes(settings.nppes_file, npis)
        if settings.leie_file:
            reference["leie"] = ref.load_leie(settings.leie_file, npis)
    return reference


def _peak_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def audit(source: str, settings: Settings, format: str = "auto", progress: Progress | None = None,
          history: Any = None, stage_peaks: dict[str, float] | None = None) -> AuditResult:
    """Audit one directory source and return its canonical table, findings and summary. ``history``:
    the store's past (``history.HistoryEvidence``) for the checks that compare runs, when there is one.
    ``stage_peaks``, when given, receives the process's peak memory (MB) at the end of each stage."""
    progress = progress or Progress(enabled=False)
    peaks = stage_peaks if stage_peaks is not None else {}
    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.perf_counter()
    catalogue = load_catalogue()
    validate_options(catalogue, settings)
    stages: dict[str, float] = {}

    t = time.perf_counter()
    loaded = load(source, settings, format=format, progress=progress)
    stages["load"] = time.perf_counter() - t
    peaks["load"] = _peak_mb()
    return audit_loaded(source, loaded, settings, progress, started=started, t0=t0, stages=stages,
                        history=history, stage_peaks=peaks)


def audit_loaded(source: str, loaded: LoadResult, settings: Settings, progress: Progress | None = None, *,
                 started: dt.datetime | None = None, t0: float | None = None,
                 stages: dict[str, float] | None = None, history: Any = None,
                 stage_peaks: dict[str, float] | None = None) -> AuditResult:
    """The rest of ``audit`` for a source already loaded: normalize, check, summarize. The market sweep
    loads a shared index once and audits each issuer's share of its rows through this. ``loaded``'s
    raw frame is handed to normalize and left empty (``LoadResult.take_frame``), so its memory goes
    back as soon as it is read."""
    progress = progress or Progress(enabled=False)
    peaks = stage_peaks if stage_peaks is not None else {}
    started = started or dt.datetime.now(dt.timezone.utc)
    t0 = time.perf_counter() if t0 is None else t0
    stages = {} if stages is None else stages
    catalogue = load_catalogue()
    validate_options(catalogue, settings)
    t = time.perf_counter()
    with progress.task("normalizing"):
        factors: dict = {}
        rows_read = len(loaded.frame)
        # The canonical table keeps every raw value beside its normalized one; the raw frame is not
        # needed again, and at a million rows it is hundreds of MB: handed to normalize, which
        # frees it as soon as it has read it (split listings folded: fewer rows than read).
        table = normalize(loaded.take_frame(), factors=factors)
    share_key_factors(table, factors)      # the checks group by these keys; normalize already hashed them
    stages["normalize"] = time.perf_counter() - t
    peaks["normalize"] = _peak_mb()

    t = time.perf_counter()
    reference = load_reference(settings, table["npi"])
    # NPPES knows each NPI's entity type: it settles the listings whose own evidence left it open
    provider_types.refine_with_nppes(table, reference.get("nppes"))
    context = AuditContext(settings=settings, reference=reference,
                           load_problems=loaded.problems, load_metadata=loaded.metadata,
                           load_sources=list(loaded.sources))
    if history is not None:
        context.reference["history"] = history
    stages["reference"] = time.perf_counter() - t
    specs = select(catalogue, settings.selected_checks, settings.disabled_checks)
    metrics = [m for m in METRICS.values()
               if not settings.selected_checks or m.factor in {s.factor for s in specs}]
    t = time.perf_counter()
    result = run_checks(table, specs, metrics, settings, context, progress)
    stages["checks"] = time.perf_counter() - t
    peaks["checks"] = _peak_mb()
    # what the checks derived from the table is not needed again, bar the key factorizations and
    # the little the fix list reads
    drop_derived(table, keep=fixlist_inputs())
    t = time.perf_counter()
    fixlist = build_fixlist(result.findings, table)
    stages["fixlist"] = time.perf_counter() - t
    duration = time.perf_counter() - t0
    summary = build_summary(source, loaded, table, result, settings, catalogue, specs, started, duration, stages,
                            rows_read)
    summary["fixlist"] = summarize_fixlist(fixlist)
    for key in ("site", "archive"):          # a crawl's pages and its WARC evidence file (website loader)
        if key in loaded.metadata:
            summary[key] = loaded.metadata[key]
    return AuditResult(table=table, findings=result.findings, summary=summary,
                       check_runs=result.check_runs, loaded=loaded, fixlist=fixlist)


def build_summary(source, loaded, table, result, settings, catalogue, specs, started, duration, stages,
                  rows_read: int | None = None) -> dict[str, Any]:
    f = result.findings
    # counted over plain lists: iterating a Series of 200,000 findings goes value by value through pandas
    by_check = Counter(f["check_id"].tolist()) if len(f) else Counter()
    by_factor = Counter(f["factor_item"].tolist()) if len(f) else Counter()
    by_severity = Counter(f["severity"].tolist()) if len(f) else Counter()
    factors: dict[str, Any] = {}
    for item_id, item in FACTOR_ITEMS.items():
        item_checks = [s for s in specs if s.factor == item_id]
        factors[item_id] = {
            "title": item.title,
            "checks": {s.id: by_check.get(s.id, 0) for s in item_checks},
            "findings": by_factor.get(item_id, 0),
            "findings_by_severity": dict(Counter(f.loc[f["factor_item"] == item_id, "severity"].tolist())) if len(f) else {},
            "metrics": result.metrics.get(item_id, {}),
            "narrative_only": not item.data_evidence,
        }
    return {
        "tool": "directory-audit",
        "tool_version": __version__,
        "source": source,
        "sources_read": loaded.sources,
        "format": loaded.format,
        "input_checksum": loaded.checksum,
        "started_at": started.isoformat(timespec="seconds"),
        "duration_seconds": round(duration, 3),
        "stage_seconds": {k: round(v, 3) for k, v in stages.items()},
        "settings": settings.describe(),
        # rows the loader read, and provider-locations after listings split over rows were folded
        "rows_read": int(len(table) if rows_read is None else rows_read),
        "provider_locations_audited": int(len(table)),
        "rows_folded": int(table["folded_record_ids"].notna().sum()) if "folded_record_ids" in table else 0,
        "rows_audited": int(len(table)),
        "providers_audited": count_distinct(key_codes(table, "provider_key")),
        "providers_by_type": provider_types.providers_by_type(table),
        "records_unreadable": int(len(loaded.problems)),
        "findings_total": int(len(f)),
        "findings_by_severity": {s.value: by_severity.get(s.value, 0) for s in Severity},
        "findings_by_check": {s.id: by_check.get(s.id, 0) for s in specs},
        "findings_by_factor_item": {k: by_factor.get(k, 0) for k in FACTOR_ITEMS},
        "factor_items": factors,
        "check_runs": [r.as_dict() for r in result.check_runs],
        "metric_errors": result.metric_errors,
    }

"""Run the selected checks and metrics over the canonical table.

A check that crashes is isolated: its run is recorded with status ``error`` and the error text, the
other checks go on, and the audit still writes its outputs. Each check is timed.
"""
from __future__ import annotations

import inspect
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .findings import FINDING_COLUMNS, VIOLATION_COLUMNS, empty_findings
from .progress import Progress
from .registry import CheckSpec, MetricSpec
from .settings import Settings


@dataclass
class AuditContext:
    """What checks may use besides the table: settings, reference files and what the loader saw."""
    settings: Settings
    reference: dict[str, Any] = field(default_factory=dict)   # e.g. "nppes", "leie" frames
    load_problems: pd.DataFrame | None = None
    load_metadata: dict[str, Any] = field(default_factory=dict)
    load_sources: list[str] = field(default_factory=list)     # what the loader read (paths, URLs)

    def has(self, key: str) -> bool:
        return key in self.reference and self.reference[key] is not None


@dataclass
class CheckRun:
    check_id: str
    status: str            # ok / error / skipped
    count: int
    seconds: float
    error: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"check_id": self.check_id, "status": self.status, "count": self.count,
                "seconds": round(self.seconds, 4), "error": self.error}


@dataclass
class RunResult:
    findings: pd.DataFrame
    check_runs: list[CheckRun]
    metrics: dict[str, dict[str, Any]]       # factor item -> metric id -> {"title", "value"}
    metric_errors: dict[str, str]


def _kwargs(func, check_id: str | None, settings: Settings, context: AuditContext) -> dict[str, Any]:
    params = list(inspect.signature(func).parameters.values())[1:]
    options = settings.options_for(check_id) if check_id else {}
    kwargs: dict[str, Any] = {}
    for p in params:
        if p.name == "settings":
            kwargs[p.name] = settings
        elif p.name == "as_of":
            kwargs[p.name] = pd.Timestamp(settings.as_of)
        elif p.name == "context":
            kwargs[p.name] = context
        elif p.name in options:
            kwargs[p.name] = options[p.name]
    return kwargs


def validate_options(specs: dict[str, CheckSpec], settings: Settings) -> None:
    """Unknown check ids or option names in the settings file are configuration errors."""
    from .errors import ConfigError
    for check_id, opts in settings.check_options.items():
        if check_id not in specs:
            raise ConfigError(f"check_options: unknown check id {check_id!r}; "
                              f"`directory-audit checks` lists the ids.")
        allowed = specs[check_id].options
        unknown = set(opts) - set(allowed)
        if unknown:
            raise ConfigError(f"check_options.\"{check_id}\": unknown option(s) {sorted(unknown)}; "
                              f"this check takes {sorted(allowed) or 'no options'}.")
    for sel in settings.disabled_checks + settings.selected_checks:
        if not any(sel in (s.id, s.family, s.factor) for s in specs.values()):
            raise ConfigError(f"check selection: {sel!r} is not a check id, family or factor item.")


def _template_fields(template: str) -> list[str] | None:
    """The violation columns a message template reads ('{observed!r} at {field}' -> observed, field),
    or None when it reads anything else (then every row is rendered as it stands)."""
    import string
    names = []
    try:
        for _, name, _, _ in string.Formatter().parse(template):
            if name is None:
                continue
            root = name.split(".")[0].split("[")[0]
            if root not in VIOLATION_COLUMNS:
                return None
            names.append(root)
    except ValueError:
        return None
    return list(dict.fromkeys(names))


def render_messages(template: str, out: pd.DataFrame) -> list[str]:
    """``template.format_map`` of each violation row, rendered once per distinct combination of the
    columns the template reads and spread back: 200,000 findings of one check mostly repeat a few
    hundred ZIPs, phones or dates, and a template that reads none renders once."""
    import numpy as np

    from .model import first_rows, group_codes
    fields = _template_fields(template)
    if fields is None or not len(out):
        return [template.format_map(r) for r in out[list(VIOLATION_COLUMNS)].to_dict(orient="records")]
    if not fields:
        return [template.format_map({})] * len(out)
    values = {f: out[f].to_numpy(dtype=object) for f in fields}
    if any(pd.api.types.infer_dtype(v, skipna=False) != "string" for v in values.values()):
        # missing or non-text cells: equal hashes would not mean equal text (1, 1.0, True)
        return [template.format_map(r) for r in out[list(VIOLATION_COLUMNS)].to_dict(orient="records")]
    combo = group_codes(*(pd.factorize(values[f], use_na_sentinel=False)[0] for f in fields))
    at = first_rows(combo)
    done = np.array([template.format_map({f: values[f][i] for f in fields}) for i in at], dtype=object)
    return done[combo].tolist()


def _stamp(spec: CheckSpec, out: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in VIOLATION_COLUMNS if c not in out.columns]
    if missing:
        raise TypeError(f"check {spec.id} returned a frame without columns {missing}; use findings.violations()")
    out = out.copy()
    out["check_id"] = spec.id
    out["severity"] = spec.severity.value
    out["factor_item"] = spec.factor
    rendered = render_messages(spec.message, out)
    if "message" in out.columns:
        given = out["message"].fillna("").astype(str)
        out["message"] = given.where(given != "", pd.Series(rendered, index=out.index))
    else:
        out["message"] = rendered
    return out[list(FINDING_COLUMNS)]


def run_checks(table: pd.DataFrame, specs: list[CheckSpec], metrics: list[MetricSpec], settings: Settings,
               context: AuditContext, progress: Progress | None = None) -> RunResult:
    progress = progress or Progress(enabled=False)
    frames, runs = [], []
    with progress.task("checking", total=len(specs) + len(metrics)) as task:
        for spec in specs:
            missing = [r for r in spec.requires if not context.has(r)]
            if missing:
                runs.append(CheckRun(spec.id, "skipped", 0, 0.0, f"needs {', '.join(missing)} (not given)"))
                task.advance()
                continue
            start = time.perf_counter()
            try:
                out = spec.func(table, **_kwargs(spec.func, spec.id, settings, context))
                stamped = _stamp(spec, out)
                frames.append(stamped)
                runs.append(CheckRun(spec.id, "ok", len(stamped), time.perf_counter() - start))
            except Exception as exc:  # isolate: one broken check must not cost the whole audit
                last = traceback.format_exception_only(type(exc), exc)[-1].strip()
                runs.append(CheckRun(spec.id, "error", 0, time.perf_counter() - start, last))
            task.advance()
        values: dict[str, dict[str, Any]] = {}
        errors: dict[str, str] = {}
        for m in metrics:
            if any(not context.has(r) for r in m.requires):   # e.g. a history metric without --history
                task.advance()
                continue
            try:
                value = m.func(table, **_kwargs(m.func, None, settings, context))
                if value is not None:        # None: nothing to measure in this source (e.g. no website)
                    values.setdefault(m.factor, {})[m.id] = {"title": m.title, "value": value}
            except Exception as exc:
                errors[m.id] = traceback.format_exception_only(type(exc), exc)[-1].strip()
            task.advance()
    frames = [f for f in frames if len(f)]
    findings = pd.concat(frames, ignore_index=True) if frames else empty_findings()
    return RunResult(findings=findings, check_runs=runs, metrics=values, metric_errors=errors)

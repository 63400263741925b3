"""The check catalogue: the ``@check`` and ``@metric`` decorators and selection by id, family or
factor item.

A check is a plain function over the canonical table that returns violations (see
``findings.violations``). The decorator carries its metadata and validates it at import: a unique
dotted id, a known factor item, a severity, a title and a docstring. Keyword parameters after the
table are resolved by the runner: ``settings`` and ``as_of`` from the settings, ``context`` for
reference data, anything else from ``[check_options."<id>"]`` with the function's default otherwise.
"""
from __future__ import annotations

import inspect
import re
from dataclasses import dataclass
from typing import Any, Callable

from .factors import FACTOR_ITEMS
from .findings import Severity

ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
RESERVED_PARAMS = {"settings", "as_of", "context"}


@dataclass(frozen=True)
class CheckSpec:
    id: str
    title: str
    severity: Severity
    factor: str
    message: str
    description: str
    func: Callable[..., Any]
    requires: tuple[str, ...] = ()   # context keys that must be present, e.g. "nppes"

    @property
    def family(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def options(self) -> dict[str, Any]:
        """Tunable keyword parameters and their defaults."""
        params = list(inspect.signature(self.func).parameters.values())[1:]
        return {p.name: p.default for p in params if p.name not in RESERVED_PARAMS}

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "severity": self.severity.value,
                "factor_item": self.factor, "family": self.family, "description": self.description,
                "message": self.message, "options": self.options, "requires": list(self.requires)}


@dataclass(frozen=True)
class MetricSpec:
    id: str
    title: str
    factor: str
    description: str
    func: Callable[..., Any]
    requires: tuple[str, ...] = ()   # context keys that must be present, e.g. "history"; else not computed


CHECKS: dict[str, CheckSpec] = {}
METRICS: dict[str, MetricSpec] = {}


def _validate_common(id: str, factor: str, func: Callable[..., Any], registry: dict) -> str:
    if not ID_PATTERN.match(id):
        raise ValueError(f"{func.__qualname__}: id {id!r} must be dotted lower_snake, e.g. 'location.po_box'")
    if id in registry:
        raise ValueError(f"duplicate id {id!r} ({func.__module__}.{func.__qualname__})")
    if factor not in FACTOR_ITEMS:
        raise ValueError(f"{id}: unknown factor item {factor!r}; expected one of {list(FACTOR_ITEMS)}")
    doc = inspect.getdoc(func)
    if not doc:
        raise ValueError(f"{id}: a check or metric needs a docstring saying what it looks for and why")
    return doc


def check(*, id: str, factor: str, severity: Severity | str, message: str, title: str | None = None,
          requires: tuple[str, ...] = ()) -> Callable:
    """Register a check. ``message`` is a template over finding columns (``{observed!r}`` ...)."""
    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        doc = _validate_common(id, factor, func, CHECKS)
        CHECKS[id] = CheckSpec(id=id, title=title or doc.splitlines()[0], severity=Severity(severity),
                               factor=factor, message=message, description=doc, func=func,
                               requires=tuple(requires))
        return func
    return register


def metric(*, id: str, factor: str, title: str, requires: tuple[str, ...] = ()) -> Callable:
    """Register a metric: a function of the canonical table returning JSON-ready numbers."""
    def register(func: Callable[..., Any]) -> Callable[..., Any]:
        doc = _validate_common(id, factor, func, METRICS)
        METRICS[id] = MetricSpec(id=id, title=title, factor=factor, description=doc, func=func,
                                 requires=tuple(requires))
        return func
    return register


def load_catalogue() -> dict[str, CheckSpec]:
    """Import the check families (their import is the registration) and return the catalogue."""
    import checks  # noqa: F401  (registers every family)
    return CHECKS


def select(specs: dict[str, CheckSpec], selectors: tuple[str, ...] = (),
           disabled: tuple[str, ...] = ()) -> list[CheckSpec]:
    """Checks whose id, family or factor item matches a selector (all when none), minus disabled."""
    def matches(spec: CheckSpec, sel: str) -> bool:
        return sel in (spec.id, spec.family, spec.factor)
    chosen = [s for s in specs.values() if not selectors or any(matches(s, x) for x in selectors)]
    return [s for s in chosen if not any(matches(s, x) for x in disabled)]

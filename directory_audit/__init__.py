"""directory-audit: audit a health insurer's provider directory for Oregon's Transparency factors.

The public API, pinned by tests/test_api.py::

    from directory_audit import audit, load_settings
    result = audit("fixtures/oregon/directory.csv", load_settings(as_of="2026-11-01"))
    result.findings      # one row per finding, FINDING_COLUMNS
    result.summary       # counts by check and factor item, metrics, run facts
"""
__version__ = "0.1.0"

from .errors import (ColumnMappingError, ConfigError, DirectoryAuditError, EncodingError,  # noqa: E402
                     InputError, MalformedJSON, SourceNotFound, UnknownFormat)
from .findings import FINDING_COLUMNS, Finding, Severity, flatten, violations  # noqa: E402
from .registry import check, metric  # noqa: E402
from .settings import Settings, load_settings  # noqa: E402
from .normalize import normalize  # noqa: E402
from .loaders import load  # noqa: E402
from .audit import AuditResult, audit  # noqa: E402

__all__ = [
    "__version__", "audit", "AuditResult", "load", "normalize", "Settings", "load_settings",
    "Finding", "Severity", "FINDING_COLUMNS", "flatten", "violations", "check", "metric",
    "DirectoryAuditError", "InputError", "SourceNotFound", "EncodingError", "MalformedJSON",
    "UnknownFormat", "ColumnMappingError", "ConfigError",
]

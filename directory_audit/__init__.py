"""directory-audit: audit a health insurer's provider directory for Oregon's Transparency factors.

The public API, pinned by tests/test_api.py::

    from directory_audit import audit, load_settings
    result = audit("fixtures/oregon/directory.csv", load_settings(as_of="2026-11-01"))
    result.findings      # one row per finding, FINDING_COLUMNS
    result.summary       # counts by check and factor item, metrics, run facts
"""
__version__ = "0.1.0"

import sys  # noqa: E402
import types  # noqa: E402

# Names resolve on first use (PEP 562): `directory-audit --help` and the CLI's start need neither
# pandas nor the checks, and importing pandas costs about a second.
_EXPORTS = {
    "ColumnMappingError": "errors", "ConfigError": "errors", "DirectoryAuditError": "errors",
    "EncodingError": "errors", "InputError": "errors", "MalformedJSON": "errors", "SourceNotFound": "errors",
    "UnknownFormat": "errors",
    "FINDING_COLUMNS": "findings", "Finding": "findings", "Severity": "findings", "flatten": "findings",
    "violations": "findings",
    "check": "registry", "metric": "registry",
    "Settings": "settings", "load_settings": "settings",
    "normalize": "normalize",
    "load": "loaders",
    "AuditResult": "audit", "audit": "audit",
}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'directory_audit' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    # `audit` is both a submodule and a function: the function wins, as the eager imports had it
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    def __setattr__(self, name, value):
        # importing the submodule directory_audit.audit (or .normalize) sets the package's attribute of
        # that name to the module; `from directory_audit import audit` has always meant the function
        if _EXPORTS.get(name) == name and isinstance(value, types.ModuleType) and hasattr(value, name):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))


__all__ = [
    "__version__", "audit", "AuditResult", "load", "normalize", "Settings", "load_settings",
    "Finding", "Severity", "FINDING_COLUMNS", "flatten", "violations", "check", "metric",
    "DirectoryAuditError", "InputError", "SourceNotFound", "EncodingError", "MalformedJSON",
    "UnknownFormat", "ColumnMappingError", "ConfigError",
]

"""The exceptions directory-audit raises. Data problems are findings, never exceptions; these are
for input the tool cannot read at all and for configuration mistakes. The CLI turns every one of
them into a one-paragraph message and exit code 2.

    DirectoryAuditError
     ├── InputError            the source cannot be read
     │    ├── SourceNotFound       missing file or unreachable URL
     │    ├── EncodingError        bytes that are not in the expected encoding (names the offset)
     │    ├── MalformedJSON        JSON that does not parse (names the byte offset)
     │    ├── UnknownFormat        --format auto could not tell what the source is
     │    ├── ColumnMappingError   required columns that cannot be mapped (lists headers found)
     │    └── FetchError           an http(s) fetch that did not give a body (``http.py``); ``.url``
     │         ├── UnsafeURL            a URL found in a document that points somewhere we never fetch
     │         ├── RobotsDisallowed     robots.txt forbids it for our User-Agent
     │         ├── DownloadTooLarge     past --max-download-mb (names the limit)
     │         ├── FetchTimeout         past the total time limit of one fetch
     │         └── FetchFailed          no connection, too many redirects, or a status the caller refused
     └── ConfigError           a settings, mapping or narrative file, or an option, is wrong
"""
from __future__ import annotations


class DirectoryAuditError(Exception):
    """Base of every error the tool raises on purpose."""


class InputError(DirectoryAuditError):
    pass


class SourceNotFound(InputError):
    pass


class EncodingError(InputError):
    pass


class MalformedJSON(InputError):
    pass


class UnknownFormat(InputError):
    pass


class ColumnMappingError(InputError):
    pass


class ConfigError(DirectoryAuditError):
    pass


class FetchError(InputError):
    """A fetch that did not give a body. ``url``: the URL asked; ``status``: the HTTP status if any."""

    def __init__(self, message: str, url: str | None = None, status: int | None = None):
        super().__init__(message)
        self.url, self.status = url, status


class UnsafeURL(FetchError):
    pass


class RobotsDisallowed(FetchError):
    pass


class DownloadTooLarge(FetchError):
    pass


class FetchTimeout(FetchError):
    pass


class FetchFailed(FetchError):
    pass

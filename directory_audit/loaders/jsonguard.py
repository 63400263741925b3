"""JSON read within bounded depth and memory, for every loader that reads JSON (QHP, Plan-Net).

200 KB of ``[[[[...`` is 100,000 levels of nesting; streamed through ijson it builds a path string per
level for every event (quadratic time, tens of GB), and ``json.loads`` dies with RecursionError. No real
directory nests deeper than a dozen levels (a QHP provider: array, provider, addresses/plans, object;
a FHIR Bundle: about eight), so JSON nested past ``MAX_DEPTH`` is refused, naming the byte offset,
before the parser sees that block.

The depth is counted as the bytes go by (``DepthGuard.feed``), a block at a time: brackets outside
strings, strings told by unescaped quotes. The count carries across blocks, so a stream is checked in
one pass, in step with the parser reading it.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ..errors import MalformedJSON

#: Deepest nesting accepted. A QHP providers.json reaches 4, a FHIR Bundle with extensions about 10.
MAX_DEPTH = 64
#: A JSON document read whole (an index.json, a FHIR resource) must be smaller than this.
MAX_SMALL_JSON_BYTES = 256 * 1024 * 1024

_ESCAPE = re.compile(rb"\\.", re.DOTALL)      # a backslash and the byte it escapes
_NOT_TOKEN = bytes(sorted(set(range(256)) - set(b'"[]{}')))
_STEP = np.zeros(256, dtype=np.int8)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1


class DepthGuard:
    """Counts JSON nesting over successive blocks of bytes; ``feed`` raises ``MalformedJSON`` at the
    first byte that opens a level past ``max_depth``.

    Per block: escaped pairs dropped (a regular expression, only when the block has a backslash), every
    byte but quotes and brackets dropped (``bytes.translate``), then numpy over what is left: the string
    state from the running count of quotes, the depth from the running sum of brackets outside strings.
    All of it runs in C; a few percent of the time ijson takes to parse the same bytes."""

    def __init__(self, name: str, max_depth: int = MAX_DEPTH):
        self.name, self.max_depth = name, max_depth
        self.offset = 0             # bytes seen before the next block
        self.depth = 0
        self.in_string = False
        self.escape_pending = False  # the last block ended with a backslash that escapes this one's first byte

    def feed(self, block: bytes) -> None:
        if not block:
            return
        start = (self.depth, self.in_string, self.escape_pending)
        scan = block[1:] if self.escape_pending else block
        pending = False
        if b"\\" in scan:
            scan = _ESCAPE.sub(b"", scan)
            if scan.endswith(b"\\"):
                scan, pending = scan[:-1], True
        tokens = scan.translate(None, _NOT_TOKEN)
        if tokens and not self._fast(tokens):
            self._exact(tokens, block, start)
        self.escape_pending = pending
        self.offset += len(block)

    def _fast(self, tokens: bytes) -> bool:
        """The common case in bytes operations: when no string holds a bracket, each string's quotes are
        adjacent among the tokens and drop out in pairs, leaving only brackets (and one quote when the
        block ends inside a string). False when that is not so; ``_exact`` then counts."""
        if self.in_string:
            tokens = b'"' + tokens
        brackets = tokens.replace(b'""', b"")
        left = brackets.count(b'"')
        if left > 1 or (left == 1 and not brackets.endswith(b'"')):
            return False
        if left:
            brackets = brackets[:-1]
        if brackets:
            depth = np.cumsum(_STEP[np.frombuffer(brackets, dtype=np.uint8)], dtype=np.int64)
            if self.depth + int(depth.max()) > self.max_depth:
                return False          # too deep: _exact finds where
            self.depth += int(depth[-1])
        self.in_string = left == 1
        return True

    def _exact(self, tokens: bytes, block: bytes, start: tuple[int, bool, bool]) -> None:
        a = np.frombuffer(tokens, dtype=np.uint8)
        quote = a == 0x22
        quotes = np.cumsum(quote, dtype=np.int64)
        inside = ((quotes - quote + int(self.in_string)) & 1).astype(bool)   # state before each token
        step = _STEP[a]
        step[inside] = 0
        depth = np.cumsum(step, dtype=np.int64)
        if self.depth + int(depth.max()) > self.max_depth:
            raise self._too_deep(block, *start)
        self.depth += int(depth[-1])
        self.in_string = bool((int(quotes[-1]) + int(self.in_string)) & 1)

    def _too_deep(self, block: bytes, depth: int, in_string: bool, escaped: bool) -> MalformedJSON:
        """Walk the block byte by byte (once, on the way to an error) to name the offending offset."""
        at = self.offset
        for i, c in enumerate(block):
            if escaped:
                escaped = False
            elif c == 0x5C:
                escaped = True
            elif c == 0x22:
                in_string = not in_string
            elif not in_string and c in (0x5B, 0x7B):
                depth += 1
                if depth > self.max_depth:
                    at = self.offset + i
                    break
            elif not in_string and c in (0x5D, 0x7D):
                depth -= 1
        return MalformedJSON(
            f"{self.name}: byte offset {at}: JSON nested more than {self.max_depth} levels deep; no provider "
            f"directory needs that (a QHP providers.json nests 4 levels, a FHIR Bundle about 10). "
            f"The file is refused as malformed or hostile.")


class GuardedReader:
    """A binary file wrapper for ijson: counts bytes read (progress, error offsets) and refuses JSON
    nested past ``max_depth`` before the parser is handed the block."""

    def __init__(self, fh: BinaryIO, name: str, max_depth: int = MAX_DEPTH):
        self.fh, self.pos = fh, 0
        self.guard = DepthGuard(name, max_depth)

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.guard.feed(data)
        self.pos += len(data)
        return data


def check_depth(data: bytes, name: str, max_depth: int = MAX_DEPTH) -> None:
    DepthGuard(name, max_depth).feed(data)


def load_small_json(path: Path, what: str, max_bytes: int = MAX_SMALL_JSON_BYTES,
                    max_depth: int = MAX_DEPTH) -> Any:
    """A JSON document read whole (index.json, a single resource): size and depth bounded first, then
    parsed; malformed JSON names its byte offset."""
    size = Path(path).stat().st_size
    if size > max_bytes:
        raise MalformedJSON(f"{path}: {size:,} bytes; expected {what}, which is far smaller "
                            f"(at most {max_bytes // (1024 * 1024)} MB is read whole).")
    data = Path(path).read_bytes()
    return loads_bounded(data, str(path), what, max_depth)


def loads_bounded(data: bytes, name: str, what: str, max_depth: int = MAX_DEPTH) -> Any:
    check_depth(data, name, max_depth)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MalformedJSON(f"{name}: byte offset {exc.start}: not UTF-8 ({exc.reason}); JSON must be UTF-8.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
        byte = len(text[: exc.pos].encode("utf-8")) + bom
        raise MalformedJSON(f"{name}: malformed JSON at byte offset {byte} (line {exc.lineno}, column {exc.colno}): "
                            f"{exc.msg}. Expected {what}.") from None

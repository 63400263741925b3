"""CMS QHP machine-readable provider data (45 CFR 156.230(c)): an issuer ``index.json`` whose
``provider_urls`` and ``plan_urls`` name local paths (relative to the index) or http(s) URLs, or a
``providers.json`` given directly.

providers.json is streamed with ijson, one provider object at a time, and the rows are gathered in
column chunks, so memory follows the number of provider-locations, not the size of the file (whose
``plans`` arrays are most of its bytes). Field names follow the spec and the JSON Schema in
``shared/reference/qhp``; the spec's ``speciality`` spelling is accepted beside ``specialty``.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path
from urllib.parse import urljoin
from typing import Any, BinaryIO, Iterator

import ijson
import pandas as pd

from ..errors import InputError, MalformedJSON, SourceNotFound
from ..model import MULTI_SEP, RAW_FIELDS, SOURCE_COLUMNS
from ..progress import Progress
from ..settings import Settings
from . import LoadResult, problems_frame, sha256_of

CHUNK_ROWS = 20_000
COLUMNS = list(SOURCE_COLUMNS) + list(RAW_FIELDS)
SHARED = ("plan_ids", "network_ids")


class _CountingReader:
    """File wrapper that knows how many bytes have been read, for progress and error offsets."""

    def __init__(self, fh: BinaryIO):
        self.fh, self.pos = fh, 0

    def read(self, n: int = -1) -> bytes:
        data = self.fh.read(n)
        self.pos += len(data)
        return data


class _Fetcher:
    """Fetches through the shared HTTP client (``http.py``), opened on first use: a local index that
    names only local files never opens a cache or a connection."""

    def __init__(self, settings: Settings, workdir: Path):
        self.settings, self.workdir, self.client, self.count = settings, workdir, None, 0

    def __call__(self, url: str, found_in: str | None = None) -> Path:
        """Download ``url`` (found inside ``found_in``, or typed by the user when None) to a temporary file."""
        from ..http import HttpClient, HttpOptions
        if self.client is None:
            self.client = HttpClient(HttpOptions.from_settings(self.settings))
        self.count += 1
        target = self.workdir / str(self.count) / (Path(url.split("?")[0]).name or "download.json")
        result = self.client.download(url, target, found_in=found_in)
        if result.status != 200:
            where = f" (named in {found_in})" if found_in else ""
            raise SourceNotFound(f"{url}{where}: HTTP {result.status}; expected 200 with a JSON document.")
        return target

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def _resolve(ref: Any, base: str, fetch: _Fetcher) -> tuple[Path, str]:
    """(local path, name as given) for a URL or path found in index.json.

    A local index.json whose URLs name files saved beside it (a regulator who downloaded the issuer's
    files into one folder) reads those copies instead of fetching: the audit is then reproducible
    from the folder alone. Anything else is fetched, as a URL found in ``base`` (the address guard of
    ``http.py`` refuses metadata and, for a public index, private addresses).
    """
    if not isinstance(ref, str) or not ref.strip():
        raise InputError(f"{base}: names {json.dumps(ref)[:80]} among its URLs; expected a URL or a path (a string).")
    if ref.startswith(("http://", "https://")):
        if not base.startswith(("http://", "https://")):
            sibling = Path(base).parent / Path(ref.split("?")[0]).name
            if sibling.is_file():
                return sibling, f"{ref} (local copy {sibling})"
        return fetch(ref, found_in=base), ref
    if "://" in ref.split("/", 1)[0] or ref.lower().startswith(("file:", "ftp:", "gopher:", "data:")):
        raise InputError(f"{base}: names {ref!r}; expected an http(s) URL or a path relative to the index.")
    if base.startswith(("http://", "https://")):
        url = urljoin(base, ref)
        return fetch(url, found_in=base), url
    path = (Path(base).parent / ref) if not Path(ref).is_absolute() else Path(ref)
    if not path.exists():
        raise SourceNotFound(f"{base}: names {ref!r}, but {path} does not exist.")
    return path, str(path)


def _malformed(path: Path, exc: Exception, offset: int) -> MalformedJSON:
    # ijson reports the problem but not always where; json's decoder gives the exact byte offset for
    # files small enough to re-read, else we give the position the stream had reached.
    if path.stat().st_size <= 200 * 1024 * 1024:
        try:
            text = path.read_bytes()
            json.loads(text)
        except json.JSONDecodeError as jexc:
            byte = len(text.decode("utf-8", "replace")[: jexc.pos].encode("utf-8"))
            return MalformedJSON(f"{path}: malformed JSON at byte offset {byte} (line {jexc.lineno}, column "
                                 f"{jexc.colno}): {jexc.msg}. Expected a JSON array of provider objects as in "
                                 f"the CMS QHP provider specification.")
        except UnicodeDecodeError as uexc:
            return MalformedJSON(f"{path}: byte offset {uexc.start}: not UTF-8 ({uexc.reason}); QHP JSON must be UTF-8.")
    return MalformedJSON(f"{path}: malformed JSON near byte offset {offset}: {exc}. Expected a JSON array of "
                         f"provider objects as in the CMS QHP provider specification.")


def load(source: str, settings: Settings, progress: Progress) -> LoadResult:
    with tempfile.TemporaryDirectory(prefix="directory-audit-") as tmp:
        fetch = _Fetcher(settings, Path(tmp))
        try:
            return _load(source, settings, progress, fetch)
        finally:
            fetch.close()


def _load(source: str, settings: Settings, progress: Progress, fetch: _Fetcher) -> LoadResult:
    if source.startswith(("http://", "https://")):
        first, name = fetch(source), source
    else:
        first, name = Path(source), source
        if not first.exists():
            raise SourceNotFound(f"{source}: no such file.")
    kind = _document_kind(first)
    if kind == "index":
        index = _read_small_json(first)
        for key in ("provider_urls", "plan_urls"):
            if key in index and not isinstance(index[key], list):
                raise InputError(f"{source}: '{key}' is {type(index[key]).__name__}, expected a list of URLs.")
        if not index.get("provider_urls"):
            raise InputError(f"{source}: index.json has no provider_urls; expected a list of providers.json URLs.")
        provider_files = [_resolve(u, name, fetch) for u in index["provider_urls"]]
        plan_files = [_resolve(u, name, fetch) for u in index.get("plan_urls") or []]
        read_files = [first] + [p for p, _ in provider_files] + [p for p, _ in plan_files]
    else:
        provider_files, plan_files, read_files = [(first, name)], [], [first]
    checksum = sha256_of(read_files)
    frames, problems = [], []
    many = len({p.name for p, _ in provider_files}) < len(provider_files)
    for i, (path, shown) in enumerate(provider_files):
        label = f"{i}:{path.name}" if many else path.name
        f, p = _stream_providers(path, label, shown, progress)
        frames.append(f)
        problems.extend(p)
    plans = {}
    for path, _ in plan_files:
        plans.update(_read_plans(path))
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    return LoadResult(frame=frame, format="qhp", sources=[name] + [s for _, s in provider_files + plan_files],
                      checksum=checksum, problems=problems_frame(problems), metadata={"plans": plans})


def _document_kind(path: Path) -> str:
    with open(path, "rb") as fh:
        head = fh.read(2048).lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return "index"
    if head.startswith(b"["):
        return "providers"
    raise MalformedJSON(f"{path}: byte offset 0: found {head[:20]!r}, expected a JSON array (providers.json) "
                        f"or object (index.json).")


def _read_small_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except json.JSONDecodeError as exc:
        raise MalformedJSON(f"{path}: malformed JSON at byte offset {exc.pos} (line {exc.lineno}, column "
                            f"{exc.colno}): {exc.msg}.") from None
    except UnicodeDecodeError as exc:
        raise MalformedJSON(f"{path}: byte offset {exc.start}: not UTF-8.") from None


def _read_plans(path: Path) -> dict[str, dict[str, Any]]:
    plans: dict[str, dict[str, Any]] = {}
    with open(path, "rb") as fh:
        reader = _CountingReader(fh)
        try:
            for plan in ijson.items(reader, "item", use_float=True):
                if isinstance(plan, dict) and plan.get("plan_id"):
                    plans[str(plan["plan_id"])] = {"marketing_name": plan.get("marketing_name"),
                                                   "plan_contact": plan.get("plan_contact"),
                                                   "last_updated_on": plan.get("last_updated_on")}
        except ijson.JSONError as exc:
            raise _malformed(path, exc, reader.pos) from None
    return plans


def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, list):
        return MULTI_SEP.join(str(x) for x in v if x is not None) or None
    if isinstance(v, (dict,)):
        return json.dumps(v)
    return str(v)


def _stream_providers(path: Path, label: str, shown: str, progress: Progress):
    size = path.stat().st_size
    chunks: list[pd.DataFrame] = []
    buf: dict[str, list] = {c: [] for c in COLUMNS}
    problems: list[dict[str, str]] = []
    # A provider's plan list repeats on each of its locations and most providers of an issuer list the
    # same plans: one string object per distinct list, not one per row, keeps a 2 GB file (whose bytes
    # are mostly plans arrays) from costing gigabytes of identical plan-id strings.
    shared: dict[str, str] = {}

    def flush() -> None:
        if buf["record_id"]:
            # Arrow-backed strings: a chunk of Python str objects costs about five times the bytes.
            # Plan and network lists stay Python objects, each distinct list held once (see below).
            chunks.append(pd.DataFrame({c: pd.Series(buf[c], dtype=object if c in SHARED else "str")
                                        for c in COLUMNS}))
            for c in COLUMNS:
                buf[c] = []

    with open(path, "rb") as fh, progress.task(f"reading {path.name}", total=size) as task:
        reader = _CountingReader(fh)
        try:
            for i, provider in enumerate(ijson.items(reader, "item", use_float=True)):
                for row in _provider_rows(provider, f"{label}[{i}]", problems):
                    row["source_file"] = shown
                    for c in SHARED:
                        if row.get(c) is not None:
                            row[c] = shared.setdefault(row[c], row[c])
                    for c in COLUMNS:
                        buf[c].append(row.get(c))
                if len(buf["record_id"]) >= CHUNK_ROWS:
                    flush()
                    task.update(reader.pos)
        except ijson.JSONError as exc:
            raise _malformed(path, exc, reader.pos) from None
        except UnicodeDecodeError as exc:
            raise MalformedJSON(f"{path}: near byte offset {reader.pos}: not UTF-8 ({exc.reason}).") from None
        flush()
    frame = pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=COLUMNS)
    return frame, problems


def _provider_rows(p: Any, where: str, problems: list[dict[str, str]]) -> Iterator[dict[str, Any]]:
    """One raw row per address of one provider object; problems for what cannot be read."""
    if not isinstance(p, dict):
        problems.append({"record_id": where, "field": "(provider)", "observed": json.dumps(p)[:200],
                         "expected": "a provider object", "message": f"{where} is a {type(p).__name__}, "
                         f"not a provider object; it is not audited"})
        return
    addresses = p.get("addresses")
    if not isinstance(addresses, list):
        problems.append({"record_id": where, "field": "addresses", "observed": json.dumps(addresses)[:200],
                         "expected": "a list of address objects",
                         "message": f"{where}.addresses is {type(addresses).__name__}, not a list; "
                                    f"the provider's locations cannot be read"})
        return
    name = p.get("name") if isinstance(p.get("name"), dict) else {}
    plans = p.get("plans") if isinstance(p.get("plans"), list) else []
    plan_ids = MULTI_SEP.join(dict.fromkeys(str(x.get("plan_id")) for x in plans if isinstance(x, dict) and x.get("plan_id")))
    tiers = MULTI_SEP.join(dict.fromkeys(str(x.get("network_tier")) for x in plans if isinstance(x, dict) and x.get("network_tier")))
    ptype = p.get("type")
    specialties = p.get("specialty", p.get("speciality"))
    if specialties is None and ptype == "FACILITY":
        specialties = p.get("facility_type")
    base = {
        "source_format": "qhp_json",
        "npi": _text(p.get("npi")),
        "provider_type": _text(ptype),
        "prefix": _text(name.get("prefix")), "first_name": _text(name.get("first")),
        "middle_name": _text(name.get("middle")), "last_name": _text(name.get("last")),
        "suffix": _text(name.get("suffix")),
        "facility_name": _text(p.get("facility_name") or p.get("group_name")),
        "gender": _text(p.get("gender")),
        "specialties": "; ".join(str(s) for s in specialties) if isinstance(specialties, list) else _text(specialties),
        "accepting_status": _text(p.get("accepting")),
        "provider_accepting_status": _text(p.get("accepting")),
        "languages": "; ".join(str(s) for s in p["languages"]) if isinstance(p.get("languages"), list) else _text(p.get("languages")),
        "plan_ids": plan_ids or None,
        "network_ids": tiers or None,
        "last_updated": _text(p.get("last_updated_on")),
    }
    if not addresses:
        yield {**base, "record_id": f"{where}.addresses"}
        return
    for j, a in enumerate(addresses):
        rid = f"{where}.addresses[{j}]"
        if not isinstance(a, dict):
            problems.append({"record_id": rid, "field": "(address)", "observed": json.dumps(a)[:200],
                             "expected": "an address object", "message": f"{rid} is not an address object"})
            continue
        yield {**base, "record_id": rid, "address_line1": _text(a.get("address")),
               "address_line2": _text(a.get("address_2")), "city": _text(a.get("city")),
               "state": _text(a.get("state")), "zip": _text(a.get("zip")), "phone": _text(a.get("phone"))}

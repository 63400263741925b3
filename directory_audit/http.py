"""The one HTTP client every loader that fetches uses (QHP URLs, website pages, Plan-Net APIs, the
market sweep). Contract: ``HTTP_API.md``; the rules below are issue 17's.

A directory file is untrusted input, often fetched from the internet, and it names more URLs that we
then fetch. So:

- **Where we may connect.** A URL the user typed (``found_in=None``) may point anywhere, loopback
  included. A URL found inside a fetched document (``found_in=<that document's URL or path>``) is
  resolved first and refused before any connection when any address it resolves to is link-local or a
  cloud metadata address (169.254.0.0/16, fe80::/10, fd00:ec2::254, 100.100.100.200), or is private,
  loopback or otherwise not globally routable unless the document itself came from such an address (or
  from a local file). Only http and https. Redirects are followed by hand and every hop is checked with
  the same rule, the previous hop being where the new URL was found. The check runs twice: once before
  the request, and again in the connection itself on the addresses it connects to, so a name that
  resolves differently the second time (DNS rebinding) still cannot reach a refused address.
- **How much.** A body past ``max_download_mb`` stops (Content-Length past it is refused before
  reading; decoded bytes are counted, so a gzip bomb stops too). The whole request, every read of every
  hop and retry included, must finish within ``total_timeout``: a watchdog shuts the socket when it
  passes, so a server dripping one byte a second cannot hold us past it.
- **How politely.** An identifying User-Agent; robots.txt (protego) per host; a per-host rate limit and
  a cap on concurrent requests; retries with exponential backoff on 429 and 5xx honouring Retry-After.
- **How often.** Responses are kept in a requests-cache SQLite file (``cache_dir``); a cached response is
  served without a request. ``download`` streams to a file and keeps its own file cache beside it,
  because requests-cache would hold a multi-GB body in memory.
"""
from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import ipaddress
import json
import os
import random
import shutil
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping
from urllib.parse import urljoin, urlsplit

import requests
import requests_cache
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from . import __version__
from .errors import (DirectoryAuditError, DownloadTooLarge, FetchError, FetchFailed, FetchTimeout,
                     RobotsDisallowed, UnsafeURL)

README_URL = "https://github.com/directory-audit/directory-audit#readme"
DEFAULT_USER_AGENT = f"directory-audit/{__version__} (+{README_URL})"
#: Environment variable naming the cache folder (tests point it at a temporary folder).
CACHE_ENV = "DIRECTORY_AUDIT_CACHE_DIR"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 507, 508, 509, 520, 521, 522, 523, 524})
#: Retry-After longer than this is not waited for: the response is returned (or raised) as it is.
MAX_RETRY_AFTER = 300.0
MAX_REDIRECTS = 10
CHUNK = 1 << 16

#: Addresses nothing found inside a document may reach: link-local (where cloud metadata services
#: live) and the metadata addresses outside it.
METADATA_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "169.254.0.0/16", "fe80::/10", "fd00:ec2::254/128", "100.100.100.200/32"))


@dataclass(frozen=True)
class HttpOptions:
    user_agent: str | None = None
    cache_dir: Path | None = None
    use_cache: bool = True
    refresh: bool = False
    requests_per_second: float = 1.0
    concurrency: int = 2
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    total_timeout: float = 600.0
    max_download_mb: float = 2048
    max_retries: int = 4
    respect_robots: bool = True
    #: First backoff in seconds (doubled each retry, with jitter) when the server sends no Retry-After.
    backoff_base: float = 1.0
    #: How long a cached response is served without asking again; a nightly run gets fresh data.
    cache_hours: float = 12.0

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> "HttpOptions":
        values: dict[str, Any] = {}
        for name in ("max_download_mb", "user_agent", "http_cache_dir", "http_refresh", "http_use_cache",
                     "requests_per_second", "http_concurrency"):
            v = getattr(settings, name, None)
            if v is not None:
                values[{"http_cache_dir": "cache_dir", "http_refresh": "refresh", "http_use_cache": "use_cache",
                        "http_concurrency": "concurrency"}.get(name, name)] = v
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def agent(self) -> str:
        return self.user_agent or DEFAULT_USER_AGENT

    @property
    def max_bytes(self) -> int:
        return int(self.max_download_mb * 1024 * 1024)

    def resolved_cache_dir(self) -> Path:
        if self.cache_dir is not None:
            return Path(self.cache_dir)
        if os.environ.get(CACHE_ENV):
            return Path(os.environ[CACHE_ENV])
        import platformdirs
        return Path(platformdirs.user_cache_dir("directory-audit")) / "http"


@dataclass
class FetchResult:
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
    content: bytes | None
    path: Path | None = None
    from_cache: bool = False
    fetched_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc))
    elapsed: float = 0.0
    sha256: str = ""
    redirects: list[str] = field(default_factory=list)
    found_in: str | None = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def text(self, encoding: str | None = None) -> str:
        """The body as text: the charset the server named, else UTF-8 (undecodable bytes replaced)."""
        if self.content is None:
            return Path(self.path).read_text(encoding=encoding or "utf-8", errors="replace") if self.path else ""
        charset = encoding or requests.utils.get_encoding_from_headers(self.headers) or "utf-8"
        try:
            return self.content.decode(charset, errors="replace")
        except LookupError:
            return self.content.decode("utf-8", errors="replace")


# --- where we may connect --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Policy:
    """What the addresses of one request may be: ``typed`` (the user gave the URL: anything) or found in a
    document, then ``allow_private`` when that document came from a private/loopback host or a file."""
    typed: bool
    allow_private: bool
    url: str
    found_in: str | None


def _is_metadata(ip: ipaddress._BaseAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in net for net in METADATA_NETWORKS if net.version == ip.version)


def _is_private(ip: ipaddress._BaseAddress) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchFailed(f"{host}: the name does not resolve ({exc}).", url=host) from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.hostname or "", port


def _policy_for(url: str, found_in: str | None) -> _Policy:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        where = f" (found in {found_in})" if found_in else ""
        raise UnsafeURL(f"{url}{where}: only http and https URLs with a host are fetched.", url=url)
    if found_in is None:
        return _Policy(True, True, url, None)
    if not found_in.startswith(("http://", "https://")):
        # A document read from a local file came from this machine, as a loopback-served one does.
        return _Policy(False, True, url, found_in)
    host, port = _host_port(found_in)
    try:
        addresses = _resolve(host, port)
    except FetchFailed:
        addresses = []
    allow = bool(addresses) and all(_is_private(ipaddress.ip_address(a.split("%")[0])) for a in addresses)
    return _Policy(False, allow, url, found_in)


def _check_address(address: str, policy: _Policy) -> None:
    if policy.typed:
        return
    ip = ipaddress.ip_address(address.split("%")[0])
    host = urlsplit(policy.url).hostname
    if _is_metadata(ip):
        raise UnsafeURL(f"{policy.url} (found in {policy.found_in}): {host} resolves to {ip}, a link-local or "
                        f"cloud metadata address; a URL named inside a document is never fetched from there.",
                        url=policy.url)
    if _is_private(ip) and not policy.allow_private:
        raise UnsafeURL(f"{policy.url} (found in {policy.found_in}): {host} resolves to {ip}, a private or "
                        f"loopback address, and the document naming it came from a public host; refused.",
                        url=policy.url)


def check_url(url: str, found_in: str | None = None) -> list[str]:
    """Resolve ``url`` and refuse it (``UnsafeURL``) under the rules above; return its addresses."""
    policy = _policy_for(url, found_in)
    host, port = _host_port(url)
    addresses = _resolve(host, port)
    for a in addresses:
        _check_address(a, policy)
    return addresses


class _Request:
    """The request a thread is making: its address policy, deadline and open connections (which the
    watchdog shuts when the deadline passes)."""

    def __init__(self, deadline: float):
        self.deadline = deadline
        self.policy: _Policy | None = None
        self.connections: list[HTTPConnection] = []
        self.expired = False
        self.lock = threading.Lock()

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def expire(self) -> None:
        with self.lock:
            self.expired = True
            for conn in self.connections:
                sock = getattr(conn, "sock", None)
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass


_current = threading.local()


def _active() -> _Request | None:
    return getattr(_current, "request", None)


class _GuardedConnectionMixin:
    """Checks the addresses it connects to against the thread's policy, connects only to a checked one,
    and registers itself so the watchdog can shut it."""

    def _new_conn(self):  # type: ignore[override]
        req = _active()
        if req is None or req.policy is None:
            return super()._new_conn()
        try:
            addresses = _resolve(self._dns_host, self.port)
        except FetchFailed as exc:
            raise NameResolutionError(self.host, self, socket.gaierror(str(exc))) from None
        for a in addresses:
            _check_address(a, req.policy)
        last: Exception | None = None
        for a in addresses:
            try:
                family = socket.AF_INET6 if ":" in a else socket.AF_INET
                sock = socket.socket(family, socket.SOCK_STREAM)
                for opt in self.socket_options or ():
                    sock.setsockopt(*opt)
                timeout = self.timeout if isinstance(self.timeout, (int, float)) else None
                sock.settimeout(timeout)
                if self.source_address:
                    sock.bind(self.source_address)
                sock.connect((a, self.port))
                return sock
            except socket.timeout:
                sock.close()
                last = ConnectTimeoutError(self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})")
            except OSError as exc:
                sock.close()
                last = NewConnectionError(self, f"Failed to establish a new connection: {exc}")
        raise last or NewConnectionError(self, f"{self.host}: no address to connect to")

    def request(self, *args, **kwargs):  # type: ignore[override]
        req = _active()
        if req is not None:
            with req.lock:
                req.connections.append(self)
        return super().request(*args, **kwargs)


class _HTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _HTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Adapter(HTTPAdapter):
    """Guarded connections; the per-host rate limit and the concurrency cap apply here, where a request
    really goes out (a cache hit never reaches the adapter)."""

    def __init__(self, client: "HttpClient"):
        self._client = client
        super().__init__(max_retries=0, pool_maxsize=max(client.options.concurrency, 1))

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        client = self._client
        client._wait_for_turn(urlsplit(request.url).hostname or "")
        response = super().send(request, stream=True, timeout=timeout, verify=verify, cert=cert, proxies=proxies)
        if not stream:
            # requests (and requests-cache) would read the whole body with no bound: read it here, within
            # the size limit and the deadline.
            try:
                body = client._read_bounded(response, request.url, sink=None)
            except BaseException:
                response.close()
                raise
            response._content = body
            response._content_consumed = True
        return response


class HttpClient:
    def __init__(self, options: HttpOptions | None = None, archive: Any = None, progress: Any = None):
        self.options = options or HttpOptions()
        self.archive = archive
        self.progress = progress
        self._robots: dict[str, Any] = {}
        self._robots_lock = threading.Lock()
        self._host_next: dict[str, float] = {}
        self._rate_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(self.options.concurrency, 1))
        o = self.options
        self.cache_dir = o.resolved_cache_dir()
        if o.use_cache:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            self.session: requests.Session = requests_cache.CachedSession(
                str(self.cache_dir / "responses.sqlite"), backend="sqlite",
                expire_after=dt.timedelta(hours=o.cache_hours), allowable_codes=(200, 203, 301, 308),
                allowable_methods=("GET",), stale_if_error=False)
        else:
            self.session = requests.Session()
        # A stream session for downloads: requests-cache would keep the whole body in memory.
        self._stream_session = requests.Session()
        for s in (self.session, self._stream_session):
            # Proxies from the environment would connect somewhere the address check never saw.
            s.trust_env = False
            s.headers["User-Agent"] = o.agent
            adapter = _Adapter(self)
            s.mount("http://", adapter)
            s.mount("https://", adapter)

    def __enter__(self) -> "HttpClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()
        self._stream_session.close()

    # --- public ------------------------------------------------------------------------------------

    def get(self, url: str, found_in: str | None = None, headers: Mapping[str, str] | None = None,
            params: Mapping[str, Any] | None = None, raise_for_status: bool = False) -> FetchResult:
        """Fetch ``url`` into memory (bounded by ``max_download_mb``)."""
        if params:
            url = requests.Request("GET", url, params=params).prepare().url
        return self._fetch(url, found_in, headers, dest=None, raise_for_status=raise_for_status)

    def download(self, url: str, dest_path: str | Path, found_in: str | None = None,
                 headers: Mapping[str, str] | None = None, raise_for_status: bool = False) -> FetchResult:
        """Stream ``url`` to ``dest_path`` (written to a temporary file, then renamed)."""
        return self._fetch(url, found_in, headers, dest=Path(dest_path), raise_for_status=raise_for_status)

    def get_many(self, urls: Iterable[str], found_in: str | None = None,
                 headers: Mapping[str, str] | None = None) -> Iterator[FetchResult | FetchError]:
        """Fetch several URLs on ``concurrency`` threads; yields, in the order given, a FetchResult or the
        FetchError that URL raised."""
        urls = list(urls)

        def one(u: str) -> FetchResult | FetchError:
            try:
                return self.get(u, found_in=found_in, headers=headers)
            except FetchError as exc:
                return exc

        ctx = self.progress.task(f"fetching {len(urls)} URLs", total=len(urls)) if self.progress else None
        task = ctx.__enter__() if ctx else None
        try:
            with ThreadPoolExecutor(max_workers=max(self.options.concurrency, 1)) as pool:
                for r in pool.map(one, urls):
                    if task is not None:
                        task.advance()
                    yield r
        finally:
            if ctx:
                ctx.__exit__(None, None, None)

    # --- the request -------------------------------------------------------------------------------

    def _fetch(self, url: str, found_in: str | None, headers: Mapping[str, str] | None, dest: Path | None,
               raise_for_status: bool) -> FetchResult:
        o = self.options
        started = time.monotonic()
        req = _Request(started + o.total_timeout)
        watchdog = threading.Timer(o.total_timeout, req.expire)
        watchdog.daemon = True
        previous = _active()
        _current.request = req
        watchdog.start()
        try:
            with self._slots:
                result = self._follow(url, found_in, headers, dest, req)
        except (requests.RequestException, OSError) as exc:
            if req.expired:
                raise self._timeout(url) from None
            raise FetchFailed(f"{url}: could not be fetched ({exc.__class__.__name__}: {_short(exc)}).",
                              url=url) from None
        finally:
            watchdog.cancel()
            _current.request = previous
        if req.expired:
            raise self._timeout(url)
        result.elapsed = time.monotonic() - started
        result.found_in = found_in
        if self.archive is not None:
            self.archive.record(result)
        if raise_for_status and not result.ok:
            raise FetchFailed(f"{url}: HTTP {result.status}; expected a 2xx response.", url=url, status=result.status)
        return result

    def _timeout(self, url: str) -> FetchTimeout:
        return FetchTimeout(f"{url}: the request did not finish within {self.options.total_timeout:g} s "
                            f"(total time limit for one fetch, all reads, redirects and retries included).", url=url)

    def _follow(self, url: str, found_in: str | None, headers, dest: Path | None, req: _Request) -> FetchResult:
        redirects: list[str] = []
        current, where = url, found_in
        for _ in range(MAX_REDIRECTS + 1):
            req.policy = _policy_for(current, where)
            host, port = _host_port(current)
            for a in _resolve(host, port):
                _check_address(a, req.policy)       # refused here, before any connection
            self._check_robots(current, where, req)
            req.policy = _policy_for(current, where)
            result = self._with_retries(current, headers, dest, req)
            location = result.headers.get("location")
            if 300 <= result.status < 400 and location:
                redirects.append(current)
                current, where = urljoin(current, location), current
                continue
            result.url, result.redirects = url, redirects
            return result
        raise FetchFailed(f"{url}: more than {MAX_REDIRECTS} redirects ({' -> '.join(redirects[:4])} ...).", url=url)

    def _with_retries(self, url: str, headers, dest: Path | None, req: _Request) -> FetchResult:
        o = self.options
        attempt = 0
        while True:
            result = self._once(url, headers, dest, req)
            if result.status not in RETRY_STATUSES or attempt >= o.max_retries:
                return result
            delay = _retry_after(result.headers.get("retry-after"))
            if delay is None:
                delay = o.backoff_base * (2 ** attempt) * (0.75 + random.random() / 2)
            if delay > MAX_RETRY_AFTER or delay > req.remaining():
                return result
            attempt += 1
            time.sleep(delay)

    def _once(self, url: str, headers, dest: Path | None, req: _Request) -> FetchResult:
        o = self.options
        timeout = (o.connect_timeout, o.read_timeout)
        if dest is None:
            kwargs: dict[str, Any] = {}
            if o.use_cache and o.refresh:
                kwargs["force_refresh"] = True
            resp = self.session.get(url, headers=dict(headers or {}), timeout=timeout, allow_redirects=False, **kwargs)
            body = resp.content
            return FetchResult(url=url, final_url=resp.url, status=resp.status_code,
                               headers={k.lower(): v for k, v in resp.headers.items()}, content=body,
                               from_cache=bool(getattr(resp, "from_cache", False)),
                               sha256=hashlib.sha256(body).hexdigest())
        cached = self._cached_download(url, dest)
        if cached is not None:
            return cached
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.part")
        with self._stream_session.get(url, headers=dict(headers or {}), timeout=timeout, allow_redirects=False,
                                      stream=True) as resp:
            digest = hashlib.sha256()
            try:
                with open(tmp, "wb") as out:
                    self._read_bounded(resp, url, sink=(out, digest))
                os.replace(tmp, dest)
            finally:
                if tmp.exists():
                    tmp.unlink()
            result = FetchResult(url=url, final_url=resp.url, status=resp.status_code,
                                 headers={k.lower(): v for k, v in resp.headers.items()}, content=None,
                                 path=dest, sha256=digest.hexdigest())
        self._store_download(url, result)
        return result

    def _read_bounded(self, response: requests.Response, url: str, sink) -> bytes | None:
        """Read a body within the size limit and the deadline; to ``sink`` (file, digest) or to memory."""
        o = self.options
        req = _active()
        limit = o.max_bytes
        length = response.headers.get("content-length", "")
        if length.strip().isdigit() and int(length) > limit:
            raise self._too_large(url, f"it announces {int(length):,} bytes")
        parts: list[bytes] = []
        total = 0
        raw = response.raw
        while True:
            if req is not None and (req.expired or req.remaining() <= 0):
                raise self._timeout(url)
            try:
                block = raw.read1(CHUNK, decode_content=True) if hasattr(raw, "read1") else raw.read(CHUNK, decode_content=True)
            except Exception:
                if req is not None and req.expired:
                    raise self._timeout(url) from None
                raise
            if not block:
                if req is not None and req.expired:
                    raise self._timeout(url)
                break
            total += len(block)
            if total > limit:
                raise self._too_large(url, f"more than {limit:,} bytes arrived")
            if sink is None:
                parts.append(block)
            else:
                sink[0].write(block)
                sink[1].update(block)
        return b"".join(parts) if sink is None else None

    def _too_large(self, url: str, what: str) -> DownloadTooLarge:
        return DownloadTooLarge(f"{url}: {what}, past the download limit of {self.options.max_download_mb:g} MB; "
                                f"raise it with --max-download-mb (or max_download_mb in the settings file).",
                                url=url)

    # --- politeness --------------------------------------------------------------------------------

    def _wait_for_turn(self, host: str) -> None:
        rps = self.options.requests_per_second
        if not rps or rps <= 0:
            return
        with self._rate_lock:
            now = time.monotonic()
            at = max(now, self._host_next.get(host, now))
            self._host_next[host] = at + 1.0 / rps
        if at > now:
            time.sleep(at - now)

    def _check_robots(self, url: str, found_in: str | None, req: _Request) -> None:
        if not self.options.respect_robots:
            return
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        if parts.path == "/robots.txt":
            return
        with self._robots_lock:
            parser = self._robots.get(origin)
        if parser is None:
            parser = self._fetch_robots(origin, found_in, req)
            with self._robots_lock:
                self._robots[origin] = parser
        if isinstance(parser, str):
            raise RobotsDisallowed(f"{url}: {parser}", url=url)
        if not parser.can_fetch(url, self.options.agent):
            raise RobotsDisallowed(f"{url}: {origin}/robots.txt disallows it for our User-Agent "
                                   f"({self.options.agent}); nothing was fetched.", url=url)

    def _fetch_robots(self, origin: str, found_in: str | None, req: _Request):
        from protego import Protego
        robots_url = origin + "/robots.txt"
        saved = req.policy
        try:
            result = self._with_retries(robots_url, None, None, req)
        except requests.RequestException:
            # No answer at all: RFC 9309 treats an unreachable robots.txt as "disallow everything", but a
            # host that does not answer will fail the real request anyway with a clearer message.
            return Protego.parse("")
        finally:
            req.policy = saved
        if result.status >= 500:
            return (f"{robots_url} answered HTTP {result.status}; robots.txt that cannot be read is taken as "
                    f"disallowing the whole site (RFC 9309); nothing was fetched.")
        if result.status != 200 or not result.content:
            return Protego.parse("")          # 4xx: no rules (RFC 9309)
        return Protego.parse(result.content.decode("utf-8", errors="replace"))

    # --- the download cache ------------------------------------------------------------------------

    def _download_cache_paths(self, url: str) -> tuple[Path, Path]:
        key = hashlib.sha256(url.encode("utf-8")).hexdigest()
        folder = self.cache_dir / "downloads"
        return folder / f"{key}.body", folder / f"{key}.json"

    def _cached_download(self, url: str, dest: Path) -> FetchResult | None:
        o = self.options
        if not o.use_cache or o.refresh:
            return None
        body, meta_path = self._download_cache_paths(url)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        fetched_at = dt.datetime.fromisoformat(meta["fetched_at"])
        if dt.datetime.now(dt.timezone.utc) - fetched_at > dt.timedelta(hours=o.cache_hours) or not body.exists():
            return None
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            dest.unlink()
        try:
            os.link(body, dest)
        except OSError:
            shutil.copyfile(body, dest)
        return FetchResult(url=url, final_url=meta["final_url"], status=meta["status"], headers=meta["headers"],
                           content=None, path=dest, from_cache=True, fetched_at=fetched_at, sha256=meta["sha256"])

    def _store_download(self, url: str, result: FetchResult) -> None:
        if not self.options.use_cache or result.status not in (200, 203):
            return
        body, meta_path = self._download_cache_paths(url)
        body.parent.mkdir(parents=True, exist_ok=True)
        tmp = body.with_name(body.name + ".tmp")
        shutil.copyfile(result.path, tmp)
        os.replace(tmp, body)
        meta = {"final_url": result.final_url, "status": result.status, "headers": result.headers,
                "fetched_at": result.fetched_at.isoformat(), "sha256": result.sha256}
        meta_path.write_text(json.dumps(meta), encoding="utf-8")


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) < 300 else text[:300] + "..."


__all__ = ["HttpClient", "HttpOptions", "FetchResult", "FetchError", "UnsafeURL", "RobotsDisallowed",
           "DownloadTooLarge", "FetchFailed", "FetchTimeout", "DirectoryAuditError", "check_url",
           "DEFAULT_USER_AGENT"]

"""A real threaded HTTP server on 127.0.0.1 serving the fixture directory website
(``fixtures/site/www``), with the misbehaviours a crawler meets wrapped around any of its pages:

- ``/busy/<page>``: 429 with ``Retry-After: 1`` the first time, then the page;
- ``/flaky/<page>``: 500 the first time, then the page;
- ``/down/<page>``: 500 every time (``Retry-After: 0`` so the client's retries are quick);
- ``/secure/<page>``: 302 to ``/login.html`` (a sign-in form);
- ``/private/<page>``: 401; ``/forbidden/<page>``: 403;
- ``/api/providers?page=N``: the directory as a JSON search API (``www/api/page-N.json``), no results
  past the last page.

Every request path and User-Agent is logged on ``server.requests``.
"""
from __future__ import annotations

import json
import threading
from collections import Counter
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

from tests.conftest import FIXTURES

WWW = FIXTURES / "site" / "www"
TYPES = {".html": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8", ".json": "application/json"}


class _Handler(BaseHTTPRequestHandler):
    server: "SiteServer"

    def log_message(self, *args) -> None:     # quiet test output
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict | None = None, ctype: str = "text/html") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        with self.server.lock:
            self.server.requests.append((self.path, self.headers.get("User-Agent", "")))
            self.server.hits[self.path] += 1
            hits = self.server.hits[self.path]
        prefix, _, rest = path[1:].partition("/")
        if prefix == "busy" and hits == 1:
            return self._send(429, b"slow down", {"Retry-After": "1"})
        if prefix == "flaky" and hits == 1:
            return self._send(500, b"oops", {"Retry-After": "0"})
        if prefix == "down":
            return self._send(500, b"down", {"Retry-After": "0"})
        if prefix == "secure":
            return self._send(302, b"", {"Location": f"/login.html?next=/{rest}"})
        if prefix == "private":
            return self._send(401, b"sign in", {"WWW-Authenticate": 'Basic realm="members"'})
        if prefix == "forbidden":
            return self._send(403, b"forbidden")
        if path == "/api/providers":          # the JSON search API: ?page=N, empty results past the last page
            from urllib.parse import parse_qs
            n = (parse_qs(self.path.partition("?")[2]).get("page") or ["1"])[0]
            file = WWW / "api" / f"page-{n}.json"
            body = file.read_bytes() if file.is_file() else json.dumps({"page": n, "results": []}).encode()
            return self._send(200, body, ctype="application/json")
        if prefix in ("busy", "flaky"):
            path = "/" + rest
        file = (WWW / path.lstrip("/")) if path != "/" else WWW / "index.html"
        if file.is_dir():
            file = file / "index.html"
        if not file.resolve().is_relative_to(WWW.resolve()) or not file.is_file():
            return self._send(404, b"not found")
        self._send(200, file.read_bytes(), ctype=TYPES.get(file.suffix, "application/octet-stream"))


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []
        self.hits: Counter = Counter()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def paths(self) -> list[str]:
        with self.lock:
            return [p for p, _ in self.requests]


@contextmanager
def serving() -> Iterator[SiteServer]:
    server = SiteServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def profile_with(tmp: Path, start_url: str) -> Path:
    """The fixture profile with another start URL, written to ``tmp``."""
    text = (FIXTURES / "site" / "profile.toml").read_text(encoding="utf-8")
    text = text.replace('start_urls = ["/providers/page-1.html"]', f'start_urls = ["{start_url}"]')
    out = tmp / ("profile-" + start_url.strip("/").replace("/", "-") + ".toml")
    out.write_text(text, encoding="utf-8")
    return out

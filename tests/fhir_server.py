"""A small FHIR search server on 127.0.0.1 for tests and benchmarks: answers ``Type?_count=&page=``
searches with searchset Bundles (``_include`` of what the matches reference, ``next`` links) and
``Type?_id=a,b`` reads, from a dataset held in memory or generated on the fly, and misbehaves on
request (a 429 once, an OperationOutcome, a page that always fails, a page without its includes, a
``next`` link that loops)."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit


class ListDataset:
    """Resources held in a list (a fixture directory)."""

    def __init__(self, resources: list[dict]):
        self.by_type: dict[str, list[dict]] = {}
        self.by_key: dict[str, dict] = {}
        for r in resources:
            self.by_type.setdefault(r["resourceType"], []).append(r)
            self.by_key[f"{r['resourceType']}/{r['id']}"] = r

    def count(self, kind: str) -> int:
        return len(self.by_type.get(kind, []))

    def slice(self, kind: str, start: int, stop: int) -> list[dict]:
        return self.by_type.get(kind, [])[start:stop]

    def get(self, key: str) -> dict | None:
        return self.by_key.get(key)


def references(resource: dict) -> list[str]:
    """What a PractitionerRole, HealthcareService or OrganizationAffiliation match references: all of
    it is ``_include``d (a real server includes only what was asked; the loader asks for all of it)."""
    refs = [(resource.get(k) or {}).get("reference")
            for k in ("practitioner", "organization", "providedBy", "participatingOrganization")]
    refs += [x.get("reference") for k in ("location", "healthcareService", "network") for x in resource.get(k) or []
             if isinstance(x, dict)]
    refs += [e["valueReference"].get("reference") for e in resource.get("extension") or [] if "valueReference" in e]
    return [r for r in refs if r]


@dataclass
class Faults:
    throttle_once: set = field(default_factory=set)     # (type, page): 429 Retry-After 0 the first time
    outcome: set = field(default_factory=set)           # types whose search answers 400 + OperationOutcome
    fail: set = field(default_factory=set)              # (type, page): 500 every time
    drop_include: set = field(default_factory=set)      # (type, page): no included resources
    loop: set = field(default_factory=set)              # (type, page): next link back to page 1


class FhirServer:
    def __init__(self, dataset, faults: Faults | None = None):
        self.dataset, self.faults, self.log = dataset, faults or Faults(), []
        self._throttled: set = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.log.append(self.path)
                status, body, headers = server.answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/fhir"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "FhirServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def answer(self, path: str) -> tuple[int, dict, dict]:
        parts = urlsplit(path)
        kind = parts.path.rstrip("/").rsplit("/", 1)[-1]
        q = parse_qs(parts.query)
        count = int(q.get("_count", ["50"])[0])
        page = int(q.get("page", ["1"])[0])
        f = self.faults
        if kind in f.outcome:
            return 400, {"resourceType": "OperationOutcome", "issue": [
                {"severity": "error", "code": "not-supported", "diagnostics": f"{kind} search is not supported"}]}, {}
        if (kind, page) in f.fail:
            return 500, {"resourceType": "OperationOutcome", "issue": [{"severity": "fatal", "code": "exception"}]}, {}
        if (kind, page) in f.throttle_once and (kind, page) not in self._throttled:
            self._throttled.add((kind, page))
            return 429, {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "throttled"}]}, \
                {"Retry-After": "0"}
        if "_id" in q:
            ids = [i for v in q["_id"] for i in v.split(",") if i]
            matches = [r for r in (self.dataset.get(f"{kind}/{i}") for i in ids) if r]
            total = len(matches)
            matches = matches[(page - 1) * count: page * count]
        else:
            total = self.dataset.count(kind)
            matches = self.dataset.slice(kind, (page - 1) * count, page * count)
        entries = [{"fullUrl": f"{self.base}/{kind}/{r['id']}", "resource": r, "search": {"mode": "match"}}
                   for r in matches]
        if q.get("_include") and (kind, page) not in f.drop_include:
            seen = set()
            for r in matches:
                for ref in references(r):
                    inc = self.dataset.get(ref) if ref not in seen else None
                    seen.add(ref)
                    if inc is not None:
                        entries.append({"fullUrl": f"{self.base}/{ref}", "resource": inc, "search": {"mode": "include"}})
        links = [{"relation": "self", "url": f"{self.base}/{kind}?{parts.query}"}]
        if (kind, page) in f.loop:
            links.append({"relation": "next", "url": self._page_url(kind, q, 1)})
        elif page * count < total:
            links.append({"relation": "next", "url": self._page_url(kind, q, page + 1)})
        return 200, {"resourceType": "Bundle", "type": "searchset", "total": total, "link": links, "entry": entries}, {}

    def _page_url(self, kind: str, q: dict, page: int) -> str:
        params = [(k, v) for k, vs in q.items() if k != "page" for v in vs] + [("page", str(page))]
        return f"{self.base}/{kind}?{urlencode(params)}"

"""Peak memory of the Plan-Net loader on a large directory, live and saved.

    python benchmarks/plannet_memory.py --roles 100000 [--count 200]

A synthetic Plan-Net directory (``--roles`` PractitionerRoles, one practitioner per 1.25 roles, a
Location per 10 roles, every fifth role at two locations, 500 organizations, 3 networks, 6 plans, every
resource with its newpatients, communication, telecom and meta.lastUpdated) is

* ``api``: served page by page from 127.0.0.1 by ``tests/fhir_server.py`` running in its own process,
  each page with its ``_include``d resources, and crawled by the loader through the shared HttpClient;
* ``bundles``: written as saved searchset pages in a folder, then read by the loader;
* ``ndjson``: written as an $export folder (one file per type), then read by the loader.

Each load runs in a fresh process, so its peak RSS (``ru_maxrss``) is the loader's alone; a process
that only imports the same modules gives the baseline. Prints one JSON line per run.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

PN = "http://hl7.org/fhir/us/davinci-pdex-plan-net"
SPECIALTIES = ("207Q00000X", "207R00000X", "208000000X", "2084P0800X", "363LF0000X", "207V00000X", "1223G0001X")
FIRST = ("Ana", "Ben", "Chen", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo", "Kai", "Linh")
LAST = ("Nguyen", "Smith", "Garcia", "Kim", "Patel", "Jensen", "Olsen", "Yamamoto", "Cardenas", "Brown")
CODES = ("newpt", "nopt", "existptonly")


class SyntheticDataset:
    """The directory generated on demand by index: nothing is held, so the server stays small."""

    def __init__(self, roles: int):
        self.n = {"PractitionerRole": roles, "Practitioner": max(1, int(roles / 1.25)),
                  "Location": max(1, roles // 10), "Organization": 500 + 3, "InsurancePlan": 6,
                  "HealthcareService": 0}

    def count(self, kind: str) -> int:
        return self.n.get(kind, 0)

    def slice(self, kind: str, start: int, stop: int) -> list[dict]:
        return [self.make(kind, i) for i in range(start, min(stop, self.count(kind)))]

    def get(self, key: str) -> dict | None:
        kind, _, rid = key.partition("/")
        try:
            i = int(rid.rsplit("-", 1)[1])
        except (IndexError, ValueError):
            return None
        return self.make(kind, i) if 0 <= i < self.count(kind) else None

    def make(self, kind: str, i: int) -> dict:
        updated = {"lastUpdated": f"2026-{1 + i % 10:02d}-{1 + i % 28:02d}T12:00:00Z"}
        newpatients = [{"url": f"{PN}/StructureDefinition/newpatients", "extension": [
            {"url": "acceptingPatients", "valueCodeableConcept": {"coding": [
                {"system": f"{PN}/CodeSystem/AcceptingPatientsCS", "code": CODES[i % 3]}]}},
            {"url": "fromNetwork", "valueReference": {"reference": f"Organization/net-{i % 3}"}}]}]
        if kind == "PractitionerRole":
            locations = [{"reference": f"Location/loc-{i % self.n['Location']}"}]
            if i % 5 == 0:
                locations.append({"reference": f"Location/loc-{(i + 7) % self.n['Location']}"})
            return {"resourceType": "PractitionerRole", "id": f"role-{i}", "meta": updated, "active": True,
                    "extension": newpatients + [{"url": f"{PN}/StructureDefinition/network-reference",
                                                 "valueReference": {"reference": f"Organization/net-{i % 3}"}}],
                    "practitioner": {"reference": f"Practitioner/pr-{i % self.n['Practitioner']}"},
                    "organization": {"reference": f"Organization/org-{i % 500}"},
                    "specialty": [{"coding": [{"system": "http://nucc.org/provider-taxonomy",
                                               "code": SPECIALTIES[i % len(SPECIALTIES)]}]}],
                    "location": locations,
                    "telecom": [{"system": "phone", "value": f"503-555-{i % 10000:04d}"}]}
        if kind == "Practitioner":
            return {"resourceType": "Practitioner", "id": f"pr-{i}", "meta": updated,
                    "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": f"{1000000000 + i * 7:010d}"}],
                    "name": [{"family": LAST[i % len(LAST)], "given": [FIRST[i % len(FIRST)], "Q"]}],
                    "gender": ("female", "male")[i % 2],
                    "communication": [{"coding": [{"system": "urn:ietf:bcp:47", "code": ("en", "es", "vi")[i % 3]}],
                                       "extension": [{"url": f"{PN}/StructureDefinition/communication-proficiency",
                                                      "valueCodeableConcept": {"coding": [{"code": "30"}]}}]}]}
        if kind == "Location":
            return {"resourceType": "Location", "id": f"loc-{i}", "meta": updated, "status": "active",
                    "extension": newpatients, "name": f"Clinic {i}",
                    "address": {"line": [f"{100 + i} NE Main St", f"Suite {i % 400}"], "city": "Portland",
                                "state": "OR", "postalCode": "97227"},
                    "telecom": [{"system": "phone", "value": f"971-555-{i % 10000:04d}"}]}
        if kind == "Organization":
            if i >= 500:
                n = i - 500
                return {"resourceType": "Organization", "id": f"net-{n}", "name": f"Network {n}",
                        "type": [{"coding": [{"system": f"{PN}/CodeSystem/OrgTypeCS", "code": "ntwk"}]}]}
            return {"resourceType": "Organization", "id": f"org-{i}", "name": f"Medical Group {i}", "meta": updated}
        if kind == "InsurancePlan":
            return {"resourceType": "InsurancePlan", "id": f"plan-{i}", "name": f"Plan {i}",
                    "network": [{"reference": f"Organization/net-{i % 3}"}]}
        raise KeyError(kind)


class _NetworkAwareDataset(SyntheticDataset):
    """``get`` also answers network ids (net-0 is Organization number 500)."""

    def get(self, key: str) -> dict | None:
        if key.startswith("Organization/net-"):
            return self.make("Organization", 500 + int(key.rsplit("-", 1)[1]))
        return super().get(key)


def _serve(roles: int, port_out, stop) -> None:
    from tests.fhir_server import FhirServer
    with FhirServer(_NetworkAwareDataset(roles)) as server:
        port_out.put(server.base)
        stop.wait()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(kind: str, source: str, count: int, out) -> None:
    import pandas  # noqa: F401  (the baseline imports the same)
    from directory_audit.loaders import plannet
    from directory_audit.settings import load_settings
    from directory_audit.progress import Progress
    if kind == "baseline":
        from directory_audit.http import HttpClient  # noqa: F401
        out.put({"run": "baseline", "peak_mb": round(_peak_mb(), 1)})
        return
    settings = load_settings(as_of="2026-11-01")
    t = time.perf_counter()
    if kind == "api":
        from directory_audit.http import HttpClient, HttpOptions
        with HttpClient(HttpOptions(requests_per_second=1000, use_cache=False, respect_robots=False)) as client:
            d = plannet.Directory()
            c = plannet.crawl(source, settings, d, client=client, count=count)
            frame, _ = plannet.build_rows(d)
            pages, problems = len(c.pages), len(d.problems)
    else:
        res = plannet.load(source, settings, Progress(enabled=False))
        frame, pages, problems = res.frame, len(res.sources), len(res.problems)
    out.put({"run": kind, "rows": len(frame), "pages_or_files": pages, "problems": problems,
             "seconds": round(time.perf_counter() - t, 1), "peak_mb": round(_peak_mb(), 1)})


def _run(kind: str, source: str = "", count: int = 200) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    p = ctx.Process(target=_child, args=(kind, source, count, q))
    p.start()
    result = q.get()
    p.join()
    return result


def _write_saved(roles: int, folder: Path, count: int) -> tuple[int, int]:
    """Saved search pages (what the API serves) and an NDJSON export of the same directory."""
    from tests.fhir_server import FhirServer
    data = _NetworkAwareDataset(roles)
    server = FhirServer(data)             # its page builder only; never started
    (folder / "bundles").mkdir(parents=True)
    (folder / "ndjson").mkdir(parents=True)
    pages = 0
    for kind in ("PractitionerRole", "InsurancePlan"):
        page = 1
        while True:
            _, bundle, _ = server.answer(f"/fhir/{kind}?_count={count}&page={page}&_include=all")
            pages += 1
            (folder / "bundles" / f"{kind}-{page:05d}.json").write_text(json.dumps(bundle))
            if not any(link["relation"] == "next" for link in bundle["link"]):
                break
            page += 1
    server.httpd.server_close()
    size = 0
    for kind in ("PractitionerRole", "Practitioner", "Location", "Organization", "InsurancePlan"):
        path = folder / "ndjson" / f"{kind}.ndjson"
        with open(path, "w") as fh:
            for i in range(data.count(kind)):
                fh.write(json.dumps(data.make(kind, i)) + "\n")
        size += path.stat().st_size
    return pages, size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--roles", type=int, nargs="+", default=[100000])
    ap.add_argument("--count", type=int, default=200, help="_count per page")
    args = ap.parse_args()
    print(json.dumps(_run("baseline")))
    ctx = mp.get_context("spawn")
    for roles in args.roles:
        q, stop = ctx.Queue(), ctx.Event()
        server = ctx.Process(target=_serve, args=(roles, q, stop), daemon=True)
        server.start()
        base = q.get()
        try:
            print(json.dumps({"roles": roles, **_run("api", base, args.count)}), flush=True)
        finally:
            stop.set()
            server.join(10)
        with tempfile.TemporaryDirectory() as tmp:
            pages, ndjson_bytes = _write_saved(roles, Path(tmp), args.count)
            bundle_bytes = sum(p.stat().st_size for p in (Path(tmp) / "bundles").iterdir())
            print(json.dumps({"roles": roles, "bundle_mb": round(bundle_bytes / 2**20, 1),
                              **_run("bundles", str(Path(tmp) / "bundles"))}), flush=True)
            print(json.dumps({"roles": roles, "ndjson_mb": round(ndjson_bytes / 2**20, 1),
                              **_run("ndjson", str(Path(tmp) / "ndjson"))}), flush=True)


if __name__ == "__main__":
    main()

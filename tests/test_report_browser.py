"""The HTML report in a real browser: headless Chromium opens report.html from disk, the test fails on
any JavaScript error, console error, failed resource load or request leaving the file, drives the
findings table's filter and sort, and takes a screenshot.

Chromium is driven through the DevTools protocol on 127.0.0.1 (``--remote-debugging-port=0``; the
port is read from the profile's DevToolsActivePort file) with ``websocket-client``. The test skips
only when Chromium is absent. ``UPDATE_SCREENSHOT=1`` also copies the screenshot to
``docs/report-screenshot.png`` for the README.
"""
from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--disable-extensions", "--no-default-browser-check", "--remote-debugging-port=0",
         "--remote-debugging-address=127.0.0.1"]

if CHROMIUM is None:
    print("test_report_browser: skipped because Chromium is not installed "
          "(Debian package `chromium`; .ci/run installs it when missing)")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (Debian package `chromium`)")
websocket = pytest.importorskip("websocket", reason="websocket-client is in the dev extra") if CHROMIUM else None


class Browser:
    """Headless Chromium with one page, spoken to over the DevTools protocol."""

    def __init__(self, profile: Path, width: int = 1280, height: int = 1000):
        self.proc = subprocess.Popen([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.events: list[dict] = []
        self._id = 0
        try:
            port = self._port(profile / "DevToolsActivePort")
            targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
            page = next(t for t in targets if t.get("type") == "page")
            self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.call(f"{domain}.enable")
            self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                      mobile=False)
        except BaseException:
            self.close()
            raise

    def _port(self, path: Path) -> int:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited: {self.proc.stderr.read().decode(errors='replace')[-2000:]}")
            if path.exists() and path.read_text().strip():
                return int(path.read_text().splitlines()[0])
            time.sleep(0.1)
        raise RuntimeError("chromium did not open its DevTools port within 30 s")

    def call(self, method: str, **params):
        self._id += 1
        my_id = self._id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_for(self, method: str, timeout: float = 30.0) -> dict:
        deadline = time.monotonic() + timeout
        for e in self.events:
            if e["method"] == method:
                return e
        while time.monotonic() < deadline:
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == method:
                    return msg
        raise TimeoutError(method)

    def open(self, url: str) -> None:
        self.events.clear()
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        self.eval("new Promise(r => setTimeout(r, 300))")   # let late errors and requests arrive
        self.call("Runtime.evaluate", expression="1")

    def eval(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise AssertionError(f"evaluating {expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def problems(self) -> list[str]:
        """JavaScript exceptions, console errors, failed loads, and any request that is not the file itself."""
        out = []
        for e in self.events:
            m, p = e["method"], e.get("params", {})
            if m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append(f"JS exception: {d.get('exception', {}).get('description') or d.get('text')}")
            elif m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(f"console.{p['type']}: {[a.get('value', a.get('description')) for a in p.get('args', [])]}")
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(f"log error: {p['entry'].get('text')} {p['entry'].get('url', '')}")
            elif m == "Network.loadingFailed":
                out.append(f"load failed: {p.get('errorText')} ({p.get('type')})")
            elif m == "Network.requestWillBeSent":
                url = p.get("request", {}).get("url", "")
                if not (url.startswith("file://") or url.startswith("data:")):
                    out.append(f"external request: {url}")
        return out

    def screenshot(self, path: Path, full_height: int | None = None) -> Path:
        params = {"format": "png"}
        if full_height:
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": 0, "width": 1280, "height": full_height, "scale": 1})
        data = self.call("Page.captureScreenshot", **params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        try:
            if getattr(self, "ws", None):
                self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def browser(tmp_path):
    b = Browser(tmp_path / "profile")
    try:
        yield b
    finally:
        b.close()


def _source(tmp_path: Path) -> Path:
    fixture = ROOT / "fixtures" / "oregon" / "directory.csv"
    if fixture.exists():
        return fixture
    path = tmp_path / "small.csv"   # until the Oregon fixtures land
    path.write_text(
        "NPI,Provider Name,Provider Type,Specialty,Address,City,State,Zip Code,Phone,Accepting New Patients,"
        "Languages Spoken,Last Updated\n"
        "1234567893,Ann Lee,Individual,Family Medicine,1 Main St,Portland,OR,97201,503-555-0100,Yes,Spanish,2026-10-01\n"
        "1234567894,Bo Kim,Individual,Pediatrics,PO Box 9,Salem,OR,97301,503-555-0101,Maybe,,2025-01-01\n",
        encoding="utf-8")
    return path


def _audit(tmp_path: Path, narrative: Path | None = None) -> Path:
    """Audit a copy of the source at a relative path, so the report (and the README screenshot) shows
    `fixtures/oregon/directory.csv` and `narrative.toml` as a user who ran the README command would see."""
    from directory_audit.audit import audit
    from directory_audit.outputs import write_outputs
    from directory_audit.settings import load_settings
    source = _source(tmp_path)
    local = tmp_path / "fixtures" / "oregon" / source.name
    local.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, local)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        settings = load_settings(as_of="2026-11-01",
                                 narrative_file=Path(os.path.relpath(narrative, tmp_path)) if narrative else None)
        result = audit(f"fixtures/oregon/{source.name}", settings)
        write_outputs(result, tmp_path / "out", settings)
    finally:
        os.chdir(cwd)
    return tmp_path / "out"


NARRATIVE = """
insurer = "Cascade Health Plan (sample)"
["T1.ii"]
directory_url = "https://cascade.example/find-a-provider"
update_frequency = "weekly"
disclosure_location = "footer of every search results page"
["T1.iii"]
process = "Provider Relations confirms accepting status with each office every 90 days"
["T1.iv"]
position = "Director of Network Management"
department = "Provider Network Services"
["T2.i"]
how_providers_are_told = "provider manual section 3 and the provider portal"
["T2.ii"]
how_enrollees_are_told = "welcome packet and member handbook chapter 2"
"""


def test_the_report_opens_offline_without_errors_and_its_table_filters_and_sorts(tmp_path, browser):
    narrative = tmp_path / "narrative.toml"
    narrative.write_text(NARRATIVE, encoding="utf-8")   # T2.iii left out: shown as narrative missing
    out = _audit(tmp_path, narrative)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    browser.open((out / "report.html").as_uri())
    assert browser.problems() == []

    assert browser.eval("document.title").startswith("Provider directory audit")
    assert browser.eval("document.querySelectorAll('section.item').length") == 9
    assert browser.eval("document.querySelectorAll('svg.chart').length") >= 1
    rows = report["findings_table"]["rows"]
    shown = len(rows)
    if shown:
        assert browser.eval("document.getElementById('f-count').textContent") == f"{shown:,} of {shown:,} shown"
        errors = sum(r["severity"] == "error" for r in rows)
        browser.eval("var s=document.getElementById('f-sev'); s.value='error'; s.dispatchEvent(new Event('change'))")
        assert browser.eval("document.querySelectorAll('#findings-table tbody tr:not([hidden])').length") == errors
        browser.eval("var s=document.getElementById('f-sev'); s.value=''; s.dispatchEvent(new Event('change'))")
        # sort by record id, twice: ascending, then descending
        col = report["findings_table"]["columns"].index("record_id")
        click = f"document.querySelector('#findings-table th button[data-col=\"{col}\"]').click()"
        browser.eval(click)
        assert browser.eval(f"document.querySelectorAll('#findings-table th')[{col}].getAttribute('aria-sort')") == "ascending"
        first_asc = browser.eval(f"document.querySelector('#findings-table tbody tr').cells[{col}].textContent")
        browser.eval(click)
        first_desc = browser.eval(f"document.querySelector('#findings-table tbody tr').cells[{col}].textContent")
        ids = sorted((r["record_id"] for r in rows), key=lambda s: s.lower())
        assert first_asc != first_desc or len(set(ids)) == 1
        browser.eval("var q=document.getElementById('f-text'); q.value='zzzz-no-such-text'; q.dispatchEvent(new Event('input'))")
        assert browser.eval("document.getElementById('f-count').textContent") == f"0 of {shown:,} shown"
    assert browser.problems() == []

    shot = browser.screenshot(tmp_path / "report.png", full_height=1900)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(shot, ROOT / "docs" / "report-screenshot.png")


def test_the_harness_catches_script_errors_and_outside_requests(tmp_path, browser):
    """A negative control: the checks above would see a broken page."""
    page = tmp_path / "broken.html"
    page.write_text("<!doctype html><title>x</title><img src='missing.png' alt=''>"
                    "<script>undefinedFunction()</script>", encoding="utf-8")
    browser.open(page.as_uri())
    problems = browser.problems()
    assert any("JS exception" in p and "undefinedFunction" in p for p in problems), problems
    assert any("load failed" in p or "log error" in p for p in problems), problems



def test_a_report_of_100000_findings_stays_usable_in_the_browser(tmp_path, browser):
    """The page embeds the worst 2,000 of 100,000 findings; it loads, filters and sorts quickly."""
    import pandas as pd

    import reports
    from directory_audit.factors import FACTOR_ITEMS
    summary = json.loads((_audit(tmp_path) / "summary.json").read_text(encoding="utf-8"))
    n, items = 100_000, list(FACTOR_ITEMS)
    findings = pd.DataFrame({
        "check_id": [f"x.check_{i % 7}" for i in range(n)], "severity": ["error", "warning", "info", "warning"] * (n // 4),
        "factor_item": [items[i % len(items)] for i in range(n)], "record_id": [f"big.csv:{i + 2}" for i in range(n)],
        "npi": "1234567893", "provider_name": "Ann Lee", "field": "zip", "observed": "9720", "expected": "5 digits",
        "message": "ZIP code is not 5 digits", "detail": ""})
    page = tmp_path / "big" / "report.html"
    page.parent.mkdir()
    page.write_text(reports.render(findings, summary, "html"), encoding="utf-8")
    t0 = time.monotonic()
    browser.open(page.as_uri())
    load_seconds = time.monotonic() - t0
    assert browser.problems() == []
    assert browser.eval("document.querySelectorAll('#findings-table tbody tr').length") == 2000
    elapsed = browser.eval("""(() => { const t = performance.now();
        const q = document.getElementById('f-text'); q.value = 'big.csv:1'; q.dispatchEvent(new Event('input'));
        document.querySelector('#findings-table th button[data-col="3"]').click();
        return performance.now() - t; })()""")
    assert browser.eval("document.getElementById('f-count').textContent").endswith("of 2,000 shown")
    assert load_seconds < 20 and elapsed < 2000, (load_seconds, elapsed)
    assert browser.problems() == []

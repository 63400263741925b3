"""The factor evidence reports: rendered from real audit runs, parsed, and compared with summary.json."""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup

import reports
from directory_audit.audit import audit
from directory_audit.factors import FACTOR_ITEMS
from directory_audit.findings import FINDING_COLUMNS
from directory_audit.narrative import Narrative
from directory_audit.outputs import write_outputs
from directory_audit.settings import load_settings
from reports import status as st
from reports.model import TOP_N, build

ROOT = Path(__file__).resolve().parents[1]
STATUSES = set(st.STATUS_ORDER)
SMALL_CSV = (
    "NPI,Provider Name,Provider Type,Specialty,Address,City,State,Zip Code,Phone,Accepting New Patients,"
    "Languages Spoken,Last Updated\n"
    "1234567893,Ann Lee,Individual,Family Medicine,1 Main St,Portland,OR,97201,503-555-0100,Yes,Spanish,2026-07-01\n"
    "1234567894,Bo Kim,Individual,Pediatrics,PO Box 9,Salem,OR,97301,503-555-0101,Maybe,,2026-06-01\n"
    "1234567893,Ann Lee,Individual,Family Medicine,1 Main St,Portland,OR,97201,503-555-0100,Yes,\"Spanish, Vietnamese\",2026-07-01\n"
)


def _sources(tmp: Path) -> dict[str, Path]:
    """Every fixture there is: the Oregon sample in each format, the CMS QHP example, a small CSV."""
    small = tmp / "small.csv"
    small.write_text(SMALL_CSV, encoding="utf-8")
    candidates = {
        "oregon-csv": ROOT / "fixtures/oregon/directory.csv",
        "oregon-xlsx": ROOT / "fixtures/oregon/directory.xlsx",
        "oregon-qhp": ROOT / "fixtures/oregon/qhp/index.json",
        "cms-qhp-example": ROOT.parent / "shared/reference/qhp/examples/index.json",
        "small-csv": small,
    }
    return {k: v for k, v in candidates.items() if v.exists()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("reports")
    out = {}
    settings = load_settings(as_of="2026-11-01")
    for name, source in _sources(tmp).items():
        result = audit(str(source), settings)
        write_outputs(result, tmp / name, settings)
        out[name] = tmp / name
    return out


def _load(run: Path):
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    report = json.loads((run / "report.json").read_text(encoding="utf-8"))
    soup = BeautifulSoup((run / "report.html").read_text(encoding="utf-8"), "lxml")
    md = (run / "report.md").read_text(encoding="utf-8")
    return summary, report, soup, md


def _num(text: str) -> int:
    return int(text.strip().replace(",", ""))


def pytest_generate_tests(metafunc):
    if "run_name" in metafunc.definition.fixturenames:
        import tempfile
        names = list(_sources(Path(tempfile.mkdtemp())))
        metafunc.parametrize("run_name", names)


def test_an_audit_writes_the_three_reports_next_to_the_findings(runs, run_name):
    run = runs[run_name]
    for name in ("findings.csv", "findings.jsonl", "summary.json", "report.html", "report.md", "report.json"):
        assert (run / name).stat().st_size > 0, name
    assert not list(run.glob(".*.tmp")), "atomic writes leave no temporary files"


def test_every_factor_item_section_shows_the_status_and_numbers_of_summary_json(runs, run_name):
    summary, report, soup, _ = _load(runs[run_name])
    for item_id, entry in summary["factor_items"].items():
        section = soup.find("section", attrs={"data-item": item_id})
        assert section is not None, item_id
        status = section["data-status"]
        assert status in STATUSES and status == report["items"][item_id]["status"]
        shown = section.find(attrs={"data-role": "status"}).get_text(" ", strip=True)
        assert status in shown and st.STATUS_MARK[status] in shown   # text and a mark, not colour alone
        assert section.find(["h3"]).get_text().startswith(f"{item_id}: {entry['title']}")
        if FACTOR_ITEMS[item_id].data_evidence:
            figures = {td["data-key"]: td.get_text() for td in section.select("table.figures td[data-key]")}
            assert _num(figures["findings"]) == entry["findings"]
            for sev in ("error", "warning", "info"):
                assert _num(figures[sev]) == entry["findings_by_severity"].get(sev, 0)
            for check_id, count in entry["checks"].items():
                row = section.find("tr", attrs={"data-check": check_id})
                assert row is not None, (item_id, check_id)
                assert _num(row.find("td", attrs={"data-key": "count"}).get_text()) == count
            for metric_id, metric in entry["metrics"].items():
                div = section.find("div", attrs={"data-metric": metric_id})
                assert div is not None, (item_id, metric_id)
                assert json.loads(div["data-value"]) == metric["value"]
                assert metric["title"] in div.get_text()
        # the item-status table on the cover agrees
        row = soup.select_one(f"#item-status tr[data-item='{item_id}']")
        assert row["data-status"] == status


def test_the_cover_shows_the_run_as_summary_json_records_it(runs, run_name):
    summary, report, soup, _ = _load(runs[run_name])
    cover = soup.find(id="cover-table")
    keys = {td["data-key"]: td.get_text(" ", strip=True) for td in cover.select("[data-key]")}
    assert _num(keys["rows_audited"]) == summary["rows_audited"]
    assert _num(keys["providers_audited"]) == summary["providers_audited"]
    assert _num(keys["records_unreadable"]) == summary["records_unreadable"]
    assert _num(keys["findings_total"].split()[0]) == summary["findings_total"]
    assert keys["input_checksum"] == summary["input_checksum"]
    assert keys["as_of"] == summary["settings"]["as_of"]
    assert summary["tool_version"] in keys["tool_version"]
    assert float(keys["duration_seconds"]) == summary["duration_seconds"]
    for f in report["factors"]:
        row = soup.select_one(f"#factor-status tr[data-factor='{f['factor']}']")
        items = [report["items"][i]["status"] for i in f["items"]]
        assert row["data-status"] == f["status"] == max(items, key=st.STATUS_ORDER.index)


def test_the_findings_by_factor_item_chart_reads_out_summary_counts(runs, run_name):
    summary, _, soup, _ = _load(runs[run_name])
    svg = soup.find("svg", id="chart-findings-by-item")
    assert svg is not None and svg.get("role") == "img"
    desc = svg.find("desc").get_text()
    for item_id, entry in summary["factor_items"].items():
        n = entry["findings_by_severity"].get("error", 0)
        assert f"{item_id} {entry['title']}: {n:,} error" in desc


def test_report_json_carries_the_same_data(runs, run_name):
    summary, report, _, _ = _load(runs[run_name])
    assert report["report_version"] == 1
    assert list(report["items"]) == list(FACTOR_ITEMS)
    assert report["findings_by_factor_item"] == summary["findings_by_factor_item"]
    assert report["cover"]["rows_audited"] == summary["rows_audited"]
    assert report["findings_table"]["total"] == summary["findings_total"]
    assert report["findings_table"]["embedded"] == min(TOP_N, summary["findings_total"])
    for item_id, entry in summary["factor_items"].items():
        item = report["items"][item_id]
        assert item["findings"] == entry["findings"]
        assert {c["id"]: c["count"] for c in item["checks"]} == entry["checks"]
        assert {m["id"]: m["value"] for m in item["metrics"]} == {k: v["value"] for k, v in entry["metrics"].items()}
        for example in item["examples"]:
            assert set(example) >= {"record_id", "check_id", "observed", "expected"}


def test_examples_quote_the_raw_values_of_real_findings(runs, run_name):
    _, report, soup, _ = _load(runs[run_name])
    findings = pd.read_csv(runs[run_name] / "findings.csv", dtype=str, keep_default_na=False)
    keys = set(zip(findings["check_id"], findings["record_id"], findings["observed"]))
    for item_id, item in report["items"].items():
        assert len(item["examples"]) <= 5
        for e in item["examples"]:
            assert (e["check_id"], e["record_id"], e["observed"]) in keys
        if item["examples"]:
            table = soup.find("section", attrs={"data-item": item_id}).find("table", class_="examples")
            assert len(table.tbody.find_all("tr")) == len(item["examples"])


def test_the_html_is_self_contained_and_accessible(runs, run_name):
    _, _, soup, _ = _load(runs[run_name])
    # self-contained: no element loads anything; the only URLs are links a reader may follow
    assert not soup.find_all(src=True)
    assert not soup.find_all("link")
    assert all(not s.get("src") for s in soup.find_all("script"))
    assert "@import" not in soup.find("style").get_text() and "url(" not in soup.find("style").get_text()
    # headings in order: one h1, never a skipped level
    levels = [int(h.name[1]) for h in soup.find_all(re.compile(r"^h[1-6]$"))]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:])), levels
    # every table has header cells; column headers say they are
    for table in soup.find_all("table"):
        assert table.find("th") is not None
        for th in table.select("thead th"):
            assert th.get("scope") == "col"
    assert soup.html.get("lang") == "en"
    for svg in soup.find_all("svg"):
        assert svg.get("role") == "img" and svg.find("title") and svg.find("desc")


def test_the_markdown_has_the_same_structure(runs, run_name):
    summary, report, _, md = _load(runs[run_name])
    headings = [(len(m.group(1)), m.group(2)) for m in re.finditer(r"^(#{1,6}) (.+)$", md, re.M)]
    levels = [lvl for lvl, _ in headings]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b - a <= 1 for a, b in zip(levels, levels[1:])), headings
    titles = [t for _, t in headings]
    assert titles[1] == "Cover"
    for f in report["factors"]:
        assert f["title"] in titles
    item_heads = [t for lvl, t in headings if lvl == 3 and re.match(r"T\d\.", t)]
    assert item_heads == [f"{i}: {e['title']}" for i, e in summary["factor_items"].items()]
    for section in ("Findings", "How status is decided", "Run details"):
        assert section in titles
    # each item's status line matches report.json
    for item_id, item in report["items"].items():
        block = md.split(f"### {item_id}: ", 1)[1].split("\n### ", 1)[0]
        assert f"Status: **{st.STATUS_MARK[item['status']]} {item['status']}**" in block
        if item["data_evidence"]:
            assert f"| Findings | {item['findings']:,} |" in block
    # tables: every header row is followed by a separator row with as many cells
    lines = md.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and (i == 0 or not lines[i - 1].startswith("|")):
            assert re.match(r"^\|(\s*-+:?\s*\|)+$", lines[i + 1]), (line, lines[i + 1])
            assert lines[i + 1].count("|") == len(re.findall(r"(?<!\\)\|", line))


def test_the_report_can_be_rebuilt_from_the_written_files_alone(runs):
    """Reports read only findings and summary: findings.csv + summary.json give the same statuses."""
    run = next(iter(runs.values()))
    summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))
    findings = pd.read_csv(run / "findings.csv", dtype=str, keep_default_na=False)
    rebuilt = build(findings, summary)
    original = json.loads((run / "report.json").read_text(encoding="utf-8"))
    assert {k: v["status"] for k, v in rebuilt["items"].items()} == {k: v["status"] for k, v in original["items"].items()}
    assert rebuilt["findings_table"]["rows"] == original["findings_table"]["rows"]


# --- the status rule, on summaries made to order ---------------------------------------------------------

def _summary(rows=1000, item="T2.v", checks=None, severity=None, runs=None, metrics=None):
    checks = checks if checks is not None else {"open_practice.flag_missing": sum((severity or {}).values())}
    factor_items = {i: {"title": f.title, "checks": {}, "findings": 0, "findings_by_severity": {},
                        "metrics": {}, "narrative_only": not f.data_evidence} for i, f in FACTOR_ITEMS.items()}
    factor_items[item] = {"title": FACTOR_ITEMS[item].title, "checks": checks,
                          "findings": sum((severity or {}).values()), "findings_by_severity": severity or {},
                          "metrics": metrics or {}, "narrative_only": False}
    return {"tool": "directory-audit", "tool_version": "0", "source": "x.csv", "settings": {"as_of": "2026-11-01"},
            "rows_audited": rows, "providers_audited": rows, "findings_total": 0,
            "findings_by_factor_item": {i: v["findings"] for i, v in factor_items.items()},
            "factor_items": factor_items,
            "check_runs": runs if runs is not None else [{"check_id": c, "status": "ok", "count": 0} for c in checks],
            "metric_errors": {}}


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=list(FINDING_COLUMNS))


@pytest.mark.parametrize("severity, runs, expected", [
    ({}, None, st.EVIDENCED),
    ({"error": 10}, None, st.EVIDENCED),                 # 1.0% errors: at the threshold, not above it
    ({"error": 11}, None, st.NEEDS_ATTENTION),           # 1.1%
    ({"warning": 51}, None, st.NEEDS_ATTENTION),         # 5.1% warnings
    ({"error": 100}, None, st.NOT_EVIDENCED),            # 10%
    ({}, [{"check_id": "open_practice.flag_missing", "status": "error", "count": 0}], st.NOT_EVIDENCED),  # nothing ran
    ({}, [], st.NOT_EVIDENCED),                          # not run at all
], ids=["clean", "1pct-errors", "above-1pct-errors", "above-5pct-warnings", "10pct-errors", "crashed", "not-run"])
def test_a_data_only_item_takes_its_status_from_error_and_warning_shares(severity, runs, expected):
    report = build(_empty(), _summary(severity=severity, runs=runs))
    assert report["items"]["T2.v"]["status"] == expected


def test_a_crashed_check_beside_one_that_ran_needs_attention():
    s = _summary(checks={"a.one": 0, "a.two": 0},
                 runs=[{"check_id": "a.one", "status": "ok"}, {"check_id": "a.two", "status": "error", "error": "boom"}])
    item = build(_empty(), s)["items"]["T2.v"]
    assert item["status"] == st.NEEDS_ATTENTION and item["checks_crashed"] == ["a.two"]


def test_narrative_items_are_missing_until_answered_and_never_invented():
    report = build(_empty(), _summary())
    assert report["items"]["T1.iv"]["status"] == st.NARRATIVE_MISSING
    assert all(q["answer"] == "" for q in report["items"]["T1.iv"]["narrative"])
    narrative = Narrative(answers={"T1.iv": {"position": "Director", "department": "Network Services"},
                                   "T2.iii": {"notification_frequency": "monthly", "notification_method": "letter"}})
    report = build(_empty(), _summary(), narrative)
    assert report["items"]["T1.iv"]["status"] == st.EVIDENCED
    t2iii = report["items"]["T2.iii"]   # no data check measures T2.iii within one run: rests on the narrative
    assert t2iii["status"] == st.EVIDENCED and t2iii["data_status"] == "not measured"
    assert any("narrative alone" in r for r in t2iii["reasons"])
    html = reports.render(_empty(), _summary(), "html")
    section = BeautifulSoup(html, "lxml").find("section", attrs={"data-item": "T1.iv"})
    assert section["data-status"] == st.NARRATIVE_MISSING and "narrative missing" in section.get_text()


AGE = {"update.age_summary": {"title": "Age of records", "value": {
    "window_days": 90, "records_with_date": 900, "median_days": 120.0, "p90_days": 300.0, "share_within_window": 0.3}}}


def test_a_narrative_claiming_weekly_updates_is_contradicted_by_months_old_records():
    s = _summary(item="T1.ii", checks={"update.stale": 0}, metrics=AGE)
    narrative = Narrative(answers={"T1.ii": {"directory_url": "https://example.com/find", "update_frequency": "weekly",
                                             "disclosure_location": "footer"}})
    item = build(_empty(), s, narrative)["items"]["T1.ii"]
    assert item["status"] == st.NEEDS_ATTENTION
    assert len(item["contradictions"]) == 1 and "'weekly'" in item["contradictions"][0]
    assert "120 days" in item["contradictions"][0]
    html = reports.render(_empty(), s, "html", narrative=narrative)
    callout = BeautifulSoup(html, "lxml").find(attrs={"data-role": "contradiction"})
    assert callout is not None and "weekly" in callout.get_text()
    assert "**Contradiction:**" in reports.render(_empty(), s, "md", narrative=narrative)


def test_a_stated_frequency_the_data_bears_out_is_no_contradiction():
    s = _summary(item="T1.ii", checks={"update.stale": 0}, metrics=AGE)
    narrative = Narrative(answers={"T1.ii": {"directory_url": "u", "update_frequency": "every 60 days",
                                             "disclosure_location": "footer"}})
    item = build(_empty(), s, narrative)["items"]["T1.ii"]
    assert item["contradictions"] == [] or all("monthly" in c for c in item["contradictions"])
    assert any("consistent" in n for n in item["notes"])


def test_a_stated_quarterly_update_falls_short_of_the_monthly_rule():
    s = _summary(item="T1.ii", checks={"update.stale": 0})
    narrative = Narrative(answers={"T1.ii": {"directory_url": "u", "update_frequency": "quarterly",
                                             "disclosure_location": "footer"}})
    item = build(_empty(), s, narrative)["items"]["T1.ii"]
    assert item["status"] == st.NEEDS_ATTENTION and "at least monthly" in item["contradictions"][0]


def test_an_unreadable_frequency_is_noted_not_guessed():
    narrative = Narrative(answers={"T1.ii": {"directory_url": "u", "update_frequency": "as needed",
                                             "disclosure_location": "footer"}})
    item = build(_empty(), _summary(item="T1.ii", checks={"update.stale": 0}, metrics=AGE), narrative)["items"]["T1.ii"]
    assert item["contradictions"] == [] and any("names no interval" in n for n in item["notes"])


# --- metrics and charts --------------------------------------------------------------------------------------

ALL_METRICS = {
    "T1.i": {"location.valid_share": {"rows": 1000, "valid": 950, "share": 0.95}},
    "T1.ii": {"update.age_summary": AGE["update.age_summary"]["value"],
              "update.age_histogram": {"labels": ["0-30", "31-60", "61-90", "91-180", "181-365", ">365"],
                                       "counts": [100, 200, 300, 250, 100, 50]}},
    "T1.iii": {"open_practice.flag_coverage": {"rows": 1000, "with_valid_flag": 990, "share": 0.99}},
    "T2.v": {"open_practice.accepting_share": {"rows": 1000, "share_accepting": 0.7,
                                               "by_status": {"accepting": 700, "not_accepting": 300}},
             "open_practice.accepting_by_specialty": {f"Specialty {i}": {"rows": 100 - i, "share_accepting": i / 30}
                                                      for i in range(30)},
             "open_practice.accepting_by_county": {"OR:Lane": {"rows": 10, "share_accepting": 0.5}}},
    "T2.iv": {"language.disclosure_share": {"providers": 800, "with_any_language": 700, "with_non_english": 200,
                                            "share_non_english": 0.25},
              "language.providers_per_language": {"es": {"name": "Spanish", "providers": 120, "accepting": 80},
                                                  "vi": {"name": "Vietnamese", "providers": 30, "accepting": 0}},
              "language.by_county": {"OR:Lane": {"es": 4}},
              "language.without_accepting": ["vi"],
              "language.something_new": 42},
}


def _with_metrics(metrics=ALL_METRICS):
    s = _summary()
    for item, ms in metrics.items():
        s["factor_items"][item]["metrics"] = {k: {"title": k.replace(".", " "), "value": v} for k, v in ms.items()}
        s["factor_items"][item]["checks"] = {"x.y": 0}
    s["check_runs"].append({"check_id": "x.y", "status": "ok"})
    return s


def test_the_documented_metrics_render_as_sentences_and_charts():
    soup = BeautifulSoup(reports.render(_empty(), _with_metrics(), "html"), "lxml")
    for chart_id in ("chart-update-age_histogram", "chart-open_practice-accepting_by_specialty",
                     "chart-language-providers_per_language", "chart-findings-by-item"):
        assert soup.find("svg", id=chart_id) is not None, chart_id
    text = soup.get_text(" ")
    assert "950 of 1,000 provider-locations show a complete, valid practice location (95.0%)" in text
    assert "Median age 120 days, 90th percentile 300 days" in text
    assert "990 of 1,000 provider-locations show a valid accepting-new-patients status (99.0%)" in text
    assert "70.0% of 1,000 provider-locations are shown as accepting new patients" in text
    assert "200 (25.0%) list a language other than English" in text
    assert "Languages offered by no provider who accepts new patients: vi." in text
    hist = soup.find("svg", id="chart-update-age_histogram").find("desc").get_text()
    assert "91-180: 250" in hist
    bars = soup.find("svg", id="chart-open_practice-accepting_by_specialty")
    assert "the 20 largest of 30 specialties" in bars.find("title").get_text()
    assert "Spanish (es): 120 (80 accepting)" in soup.find("svg", id="chart-language-providers_per_language").find("desc").get_text()
    # a metric nobody told the report about is still shown, generically
    assert soup.find("div", attrs={"data-metric": "language.something_new"}).get_text(" ").count("42") >= 1
    county = soup.find("div", attrs={"data-metric": "open_practice.accepting_by_county"})
    assert county.find("table") is not None and "OR:Lane" in county.get_text()


def test_a_metric_of_an_unexpected_shape_is_shown_generically_not_fatal():
    odd = {"T1.ii": {"update.age_histogram": {"labels": ["a"], "counts": [1, 2]},
                     "update.age_summary": {"median_days": 3}},
           "T2.iv": {"language.providers_per_language": ["es", "vi"], "language.without_accepting": "none"}}
    html = reports.render(_empty(), _with_metrics(odd), "html")
    soup = BeautifulSoup(html, "lxml")
    assert soup.find("div", attrs={"data-metric": "update.age_histogram"}) is not None
    assert "es, vi" in soup.find("div", attrs={"data-metric": "language.providers_per_language"}).get_text()
    reports.render(_empty(), _with_metrics(odd), "md")


def test_a_missing_metric_is_tolerated():
    html = reports.render(_empty(), _summary(), "html")
    assert "No metric for this item in this run." in html


# --- scale --------------------------------------------------------------------------------------------------

def test_at_100000_findings_the_html_embeds_the_worst_2000_and_links_the_csv():
    n = 100_000
    items = list(FACTOR_ITEMS)
    findings = pd.DataFrame({
        "check_id": [f"x.check_{i % 7}" for i in range(n)],
        "severity": ["info", "warning", "error", "warning"][0:4] * (n // 4),
        "factor_item": [items[i % len(items)] for i in range(n)],
        "record_id": [f"big.csv:{i + 2}" for i in range(n)],
        "npi": "1234567893", "provider_name": "Ann Lee", "field": "zip", "observed": "<script>alert(1)</script>",
        "expected": "5 digits", "message": "bad", "detail": "",
    })
    s = _summary(rows=50_000)
    s["findings_total"] = n
    t0 = time.perf_counter()
    html = reports.render(findings, s, "html")
    elapsed = time.perf_counter() - t0
    soup = BeautifulSoup(html, "lxml")
    rows = soup.select("#findings-table tbody tr")
    assert len(rows) == TOP_N
    assert {r["data-severity"] for r in rows} == {"error"}          # errors first
    intro = soup.find(id="findings").find("p").get_text(" ", strip=True)
    assert f"The {TOP_N:,} most severe of 100,000 findings are shown" in intro
    assert soup.find("a", href="findings.csv") is not None
    assert "<script>alert(1)</script>" not in html                    # raw values are escaped
    assert len(html) < 3_000_000 and elapsed < 20, (len(html), elapsed)
    md = reports.render(findings, s, "md")
    assert "the 50 most severe are listed here" in md


def test_write_reports_writes_three_files_atomically(tmp_path):
    paths = reports.write_reports(_empty(), _summary(), tmp_path)
    assert [p.name for p in paths] == ["report.html", "report.md", "report.json"]
    assert not list(tmp_path.glob(".*.tmp"))
    assert json.loads(paths[2].read_text(encoding="utf-8"))["items"]["T2.v"]["status"] == st.EVIDENCED
    with pytest.raises(ValueError):
        reports.render(_empty(), _summary(), "pdf")

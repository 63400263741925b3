"""The insurer narrative: template, reading TOML and YAML, errors, and its place in the reports."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from directory_audit.cli import main
from directory_audit.errors import ConfigError
from directory_audit.narrative import NARRATIVE_FIELDS, frequency_days, load_narrative, template

ROOT = Path(__file__).resolve().parents[1]

FILLED_TOML = """
insurer = "Cascade Health Plan"
["T1.ii"]
directory_url = "https://cascade.example/find-a-provider"
update_frequency = "weekly"
disclosure_location = "footer of every search page"
["T1.iii"]
process = "Provider Relations calls each office every 90 days"
["T1.iv"]
position = "Director of Network Management"
department = "Provider Network Services"
["T2.i"]
how_providers_are_told = "provider manual section 3"
["T2.ii"]
how_enrollees_are_told = "member handbook chapter 2"
["T2.iii"]
notification_frequency = "monthly"
notification_method = "letter or email"
"""

FILLED_YAML = """
insurer: Cascade Health Plan
"T1.ii":
  directory_url: https://cascade.example/find-a-provider
  update_frequency: weekly
  disclosure_location: footer of every search page
"T1.iii":
  process: Provider Relations calls each office every 90 days
"T1.iv":
  position: Director of Network Management
  department: Provider Network Services
"T2.i":
  how_providers_are_told: provider manual section 3
"T2.ii":
  how_enrollees_are_told: member handbook chapter 2
"T2.iii":
  notification_frequency: monthly
  notification_method: letter or email
"""


@pytest.mark.parametrize("fmt, suffix", [("toml", ".toml"), ("yaml", ".yaml")])
def test_the_template_reads_back_as_an_empty_narrative_with_every_question(tmp_path, fmt, suffix):
    path = tmp_path / f"narrative{suffix}"
    path.write_text(template(fmt), encoding="utf-8")
    narrative = load_narrative(path)
    assert narrative.answers == {}
    text = template(fmt)
    for item, fields in NARRATIVE_FIELDS.items():
        assert f'"{item}"' in text
        for f in fields:
            assert f.key in text and f.example in text
        assert narrative.missing(item) == [f for f in fields if f.required]


def test_the_template_covers_the_items_only_the_insurer_can_answer():
    keys = {item: [f.key for f in fields] for item, fields in NARRATIVE_FIELDS.items()}
    assert keys["T1.ii"] == ["directory_url", "update_frequency", "disclosure_location"]
    assert "process" in keys["T1.iii"]
    assert keys["T1.iv"] == ["position", "department"]
    assert keys["T2.iii"] == ["notification_frequency", "notification_method"]
    assert {"T2.i", "T2.ii"} <= set(keys)


def test_toml_and_yaml_narratives_read_the_same(tmp_path):
    (tmp_path / "n.toml").write_text(FILLED_TOML, encoding="utf-8")
    (tmp_path / "n.yml").write_text(FILLED_YAML, encoding="utf-8")
    a, b = load_narrative(tmp_path / "n.toml"), load_narrative(tmp_path / "n.yml")
    assert a.answers == b.answers and a.insurer == b.insurer == "Cascade Health Plan"
    assert a.answer("T1.iv", "department") == "Provider Network Services"
    assert all(a.missing(item) == [] for item in NARRATIVE_FIELDS)


def test_blank_answers_count_as_missing(tmp_path):
    path = tmp_path / "n.toml"
    path.write_text('["T1.iv"]\nposition = "   "\ndepartment = "Network Services"\n', encoding="utf-8")
    narrative = load_narrative(path)
    assert [f.key for f in narrative.missing("T1.iv")] == ["position"]


@pytest.mark.parametrize("name, text, says", [
    ("n.toml", '["T9.x"]\na = "b"\n', "unknown item"),
    ("n.toml", '["T1.iv"]\nboss = "me"\n', "unknown key"),
    ("n.toml", '["T1.iv"]\nposition = ["a", "b"]\n', "must be text"),
    ("n.toml", '["T1.iv"\nposition = "a"\n', "not valid TOML"),
    ("n.yaml", '"T1.iv": [unclosed\n', "not valid YAML"),
    ("n.yaml", '- a list\n', "expected a table"),
    ("n.toml", 'T1 = "x"\n', "unknown item"),
])
def test_a_wrong_narrative_file_is_a_configuration_error(tmp_path, name, text, says):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=says):
        load_narrative(path)


def test_a_missing_narrative_file_is_a_configuration_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_narrative(tmp_path / "nope.toml")


@pytest.mark.parametrize("text, days", [
    ("daily", 1), ("Weekly", 7), ("every 14 days", 14), ("bi-weekly", 14), ("every two weeks", 14),
    ("monthly", 31), ("every 2 months", 62), ("quarterly", 92), ("annually", 365),
    ("weekly for PCPs, monthly for facilities", 7), ("as needed", None), ("", None),
])
def test_a_stated_frequency_is_read_as_days(text, days):
    assert frequency_days(text) == days


def test_init_narrative_writes_the_template_and_will_not_overwrite(tmp_path):
    runner = CliRunner()
    path = tmp_path / "narrative.toml"
    result = runner.invoke(main, ["init-narrative", str(path)])
    assert result.exit_code == 0, result.output
    assert load_narrative(path).answers == {}
    result = runner.invoke(main, ["init-narrative", str(path)])
    assert result.exit_code == 2 and "--force" in result.output
    assert runner.invoke(main, ["init-narrative", str(path), "--force"]).exit_code == 0
    result = runner.invoke(main, ["init-narrative", str(tmp_path / "narrative.yaml")])
    assert result.exit_code == 0 and (tmp_path / "narrative.yaml").read_text().startswith("# directory-audit")
    assert "insurer:" in (tmp_path / "narrative.yaml").read_text()


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "d.csv"
    path.write_text(
        "NPI,Provider Name,Provider Type,Specialty,Address,City,State,Zip Code,Phone,Accepting New Patients,"
        "Languages Spoken,Last Updated\n"
        "1234567893,Ann Lee,Individual,Family Medicine,1 Main St,Portland,OR,97201,503-555-0100,Yes,Spanish,2026-07-01\n"
        "1023456780,Bo Kim,Individual,Pediatrics,12 Oak Ave,Salem,OR,97301,503-555-0101,No,English,2026-06-01\n",
        encoding="utf-8")
    return path


def test_audit_with_a_bad_narrative_exits_2_before_running(tmp_path):
    bad = tmp_path / "n.toml"
    bad.write_text('["T1.iv"]\nboss = "me"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["audit", str(_csv(tmp_path)), "--out", str(tmp_path / "out"),
                                       "--narrative", str(bad), "--quiet"])
    assert result.exit_code == 2 and "unknown key" in result.output
    assert not (tmp_path / "out" / "report.html").exists()


def test_the_report_quotes_the_narrative_and_says_where_the_data_contradicts_it(tmp_path):
    narrative = tmp_path / "n.toml"
    narrative.write_text(FILLED_TOML, encoding="utf-8")    # says weekly; the records are 4-5 months old
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["audit", str(_csv(tmp_path)), "--out", str(out), "--as-of", "2026-11-01",
                                       "--narrative", str(narrative), "--quiet", "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    median = summary["factor_items"]["T1.ii"]["metrics"]["update.age_summary"]["value"]["median_days"]
    assert median > 21
    t1ii = report["items"]["T1.ii"]
    assert t1ii["status"] in ("needs attention", "not evidenced")
    assert any("'weekly'" in c and f"{median:,.0f} days" in c for c in t1ii["contradictions"])
    assert report["items"]["T1.iv"]["status"] == "evidenced"
    assert report["cover"]["insurer"] == "Cascade Health Plan"
    soup = BeautifulSoup((out / "report.html").read_text(encoding="utf-8"), "lxml")
    t1iv = soup.find("section", attrs={"data-item": "T1.iv"})
    assert "Director of Network Management" in t1iv.get_text() and "narrative missing" not in t1iv.get_text()
    assert soup.find("section", attrs={"data-item": "T1.ii"}).find(attrs={"data-role": "contradiction"})
    link = soup.find("a", href="https://cascade.example/find-a-provider")
    assert link is not None
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "Director of Network Management" in md and "**Contradiction:**" in md


def test_without_a_narrative_every_narrative_item_is_flagged_missing(tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["audit", str(_csv(tmp_path)), "--out", str(out), "--as-of", "2026-11-01",
                                       "--quiet", "--fail-on", "never"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    for item in NARRATIVE_FIELDS:
        assert report["items"][item]["narrative_status"] == "missing"
        assert all(q["answer"] == "" for q in report["items"][item]["narrative"])
    assert report["items"]["T1.iv"]["status"] == "narrative missing"
    soup = BeautifulSoup((out / "report.html").read_text(encoding="utf-8"), "lxml")
    cells = soup.select("section[data-item='T1.iv'] table.narrative td")
    assert cells and all("narrative missing" in td.get_text() for td in cells)

"""The directory-audit command: exit codes 0/1/2, the three outputs, the catalogue, clear errors."""
import json
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner

from directory_audit.cli import main
from directory_audit.findings import FINDING_COLUMNS
from tests.conftest import FIXTURES, REFERENCE

CSV = str(FIXTURES / "oregon" / "directory.csv")


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_audit_writes_three_outputs_and_exits_1_on_errors(tmp_path):
    r = invoke("audit", CSV, "--out", str(tmp_path), "--as-of", "2026-11-01", "--quiet")
    assert r.exit_code == 1
    findings = pd.read_csv(tmp_path / "findings.csv", dtype=str)
    assert list(findings.columns) == list(FINDING_COLUMNS)
    lines = (tmp_path / "findings.jsonl").read_text().splitlines()
    assert len(lines) == len(findings) and set(json.loads(lines[0])) == set(FINDING_COLUMNS)
    summary = json.loads((tmp_path / "summary.json").read_text())
    for key in ("rows_audited", "findings_by_check", "findings_by_factor_item", "duration_seconds",
                "tool_version", "input_checksum", "settings", "check_runs"):
        assert key in summary
    assert summary["findings_total"] == len(findings)
    assert sum(summary["findings_by_check"].values()) == len(findings)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]   # atomic writes leave no temp files
    assert (tmp_path / "summary.json").stat().st_mode & 0o044   # readable by others, as a normal file is


def test_fail_on_never_exits_0_and_warning_exits_1(tmp_path):
    assert invoke("audit", CSV, "--out", str(tmp_path), "--as-of", "2026-11-01", "--fail-on", "never", "--quiet").exit_code == 0
    # the QHP example has only check-digit errors among the foundation checks: with those skipped, the
    # remaining findings decide the code
    ex = str(REFERENCE / "qhp" / "examples" / "providers.json")
    r = invoke("audit", ex, "--out", str(tmp_path / "q"), "--as-of", "2026-11-01", "--check", "identifier.npi_check_digit", "--quiet")
    assert r.exit_code == 1
    r = invoke("audit", ex, "--out", str(tmp_path / "q2"), "--as-of", "2026-11-01", "--check", "record.name_missing", "--quiet")
    assert r.exit_code == 0


@pytest.mark.parametrize("args,needle", [
    (["audit", "/nonexistent.csv", "--out", "X"], "no such file"),
    (["audit", CSV, "--out", "X", "--as-of", "yesterday"], "expected a date"),
    (["audit", CSV, "--out", "X", "--policy", "weekly"], "expected one of"),
    (["audit", CSV, "--out", "X", "--check", "location.no_such_check"], "not a check id"),
    (["audit", CSV, "--out", "X", "--format", "pdf"], "Invalid value"),
    (["audit", CSV], "Missing option '--out'"),
    (["audit", CSV, "--out", "X", "--nppes", "/nonexistent/nppes.csv"], "does not exist"),
])
def test_usage_and_input_errors_exit_2(tmp_path, args, needle):
    args = [str(tmp_path / "out") if a == "X" else a for a in args]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 2, r.output
    assert needle in r.output
    assert "Traceback" not in r.output


def test_malformed_json_exit_2_with_byte_offset(tmp_path):
    p = tmp_path / "providers.json"
    p.write_text('[{"npi": "1234567893",, "type": "INDIVIDUAL"}]')
    r = CliRunner().invoke(main, ["audit", str(p), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "byte offset 22" in r.output


def test_unmappable_columns_exit_2(tmp_path):
    p = tmp_path / "odd.csv"
    p.write_text("Who,Where\nJane,1 Main\n")
    r = CliRunner().invoke(main, ["audit", str(p), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "Headers found" in r.output and "--mapping" in r.output


def test_bad_config_file_exit_2(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('[check_options."identifier.npi_missing"]\nthreshold = 3\n')
    r = CliRunner().invoke(main, ["audit", CSV, "--out", str(tmp_path / "o"), "--config", str(cfg)])
    assert r.exit_code == 2 and "unknown option" in r.output


def test_checks_catalogue_json_shape():
    r = invoke("checks", "--format", "json")
    data = json.loads(r.output)
    assert {"id", "title", "severity", "factor_item", "family", "description", "options"} <= set(data[0])
    assert "identifier.npi_check_digit" in {c["id"] for c in data}


def test_checks_table_lists_ids_and_factor_items():
    r = invoke("checks")
    assert r.exit_code == 0 and "identifier.npi_malformed" in r.output and "T2.i" in r.output


def test_every_command_has_help():
    for name, cmd in main.commands.items():
        assert cmd.help, name
        assert invoke(name, "--help").exit_code == 0


def test_console_script_runs_as_a_module(tmp_path):
    # python -m directory_audit, not a TTY: no progress bar is drawn
    proc = subprocess.run([sys.executable, "-m", "directory_audit", "audit", CSV, "--out", str(tmp_path),
                           "--as-of", "2026-11-01", "--fail-on", "never"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "provider-locations" in proc.stderr and "\x1b[" not in proc.stderr

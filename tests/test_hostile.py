"""Hostile and broken input (issue 17): bounded JSON, empty directories, formula injection in CSV
outputs, wrong mapping and settings files, JSON that is not QHP. Every case in fixtures/hostile gets the
outcome its README lists; fuzzing over loader bytes gives findings or exit 2, never a traceback."""
import csv
import io
import json
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from directory_audit import audit, load, load_settings
from directory_audit.cli import main
from directory_audit.errors import ConfigError, DirectoryAuditError, MalformedJSON
from directory_audit.loaders.jsonguard import MAX_DEPTH, DepthGuard, GuardedReader, loads_bounded
from directory_audit.outputs import neutralise_formulas
from tests.conftest import FIXTURES

HOSTILE = FIXTURES / "hostile"
OREGON = FIXTURES / "oregon" / "directory.csv"
CASES = list(csv.DictReader(open(HOSTILE / "expected.csv", encoding="utf-8")))
HEADER = ("Provider NPI,Provider First Name,Provider Last Name,Specialty,Address Line 1,City,State,Zip Code,"
          "Phone Number,Accepting New Patients,Languages Spoken,Last Verified Date\n")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_each_hostile_fixture_gets_its_listed_outcome(case, tmp_path):
    path = HOSTILE / case["file"]
    if case["options"] == "--mapping-for-oregon":
        args = ["audit", OREGON, "--mapping", path]
    else:
        args = ["audit", path, *case["options"].split()]
    r = run(*args, "--out", tmp_path / "out", "--as-of", "2026-11-01", "--quiet")
    assert r.exit_code == int(case["exit_code"]), r.output
    if case["output_contains"]:
        assert case["output_contains"] in r.output
        assert str(path) in r.output or path.name in r.output          # the message names the file
        assert "Traceback" not in r.output
    if case["finding"]:
        findings = pd.read_csv(tmp_path / "out" / "findings.csv", dtype=str, keep_default_na=False)
        assert case["finding"] in set(findings["check_id"])


def test_every_fixture_is_listed():
    listed = {c["file"] for c in CASES}
    present = {p.name for p in HOSTILE.iterdir() if p.name not in ("README.md", "expected.csv")}
    assert present == listed
    readme = (HOSTILE / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in listed)


# --- bounded JSON ------------------------------------------------------------------------------------

def test_nested_brackets_refused_at_the_first_byte_past_the_limit():
    data = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(MalformedJSON, match=f"byte offset {MAX_DEPTH}: JSON nested more than {MAX_DEPTH}"):
        loads_bounded(data, "deep.json", "something")


def test_depth_limit_is_exact_and_ignores_brackets_inside_strings():
    ok = b'{"a":' * (MAX_DEPTH - 1) + b'"[[[[{{{{\\"[[[["' + b"}" * (MAX_DEPTH - 1)
    assert loads_bounded(ok, "x", "x") is not None
    deep = b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1)
    with pytest.raises(MalformedJSON, match=f"byte offset {MAX_DEPTH}"):
        loads_bounded(deep, "x", "x")
    assert loads_bounded(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, "x", "x") is not None


def _reference_depth(data: bytes) -> tuple[int, int, bool]:
    """The plain byte-by-byte rule the guard implements: (final depth, deepest, inside a string)."""
    depth = deepest = 0
    inside = escaped = False
    for c in data:
        if escaped:
            escaped = False
        elif c == 0x5C:
            escaped = True
        elif c == 0x22:
            inside = not inside
        elif not inside and c in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif not inside and c in b"]}":
            depth -= 1
    return depth, deepest, inside


@hsettings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([b"[", b"]", b"{", b"}", b'"', b"\\", b"a", b",", b":", b'\\"', b"\\\\"]),
                max_size=80),
       st.lists(st.integers(min_value=0, max_value=80), max_size=4), st.integers(min_value=1, max_value=6))
def test_guard_counts_as_the_byte_rule_does_across_any_block_split(tokens, cuts, limit):
    data = b"".join(tokens)
    depth, deepest, inside = _reference_depth(data)
    guard = DepthGuard("x", max_depth=limit)
    bounds = sorted({0, len(data), *[min(c, len(data)) for c in cuts]})
    try:
        for a, b in zip(bounds, bounds[1:]):
            guard.feed(data[a:b])
    except MalformedJSON:
        assert deepest > limit
        return
    assert deepest <= limit and (guard.depth, guard.in_string) == (depth, inside)


def test_guarded_reader_refuses_while_streaming(tmp_path):
    p = tmp_path / "providers.json"
    head = b'[{"npi": "1234567893", "addresses": []},'
    p.write_bytes(head + b"[" * 5000 + b"]" * 5000 + b"]")
    # the outer array is level 1: the 64th bracket after the head opens level 65
    with open(p, "rb") as fh, pytest.raises(MalformedJSON, match=f"byte offset {len(head) + MAX_DEPTH - 1}:"):
        reader = GuardedReader(fh, str(p))
        while reader.read(37):
            pass


def test_deep_json_through_the_loader_is_exit_2_not_a_crash(tmp_path):
    p = tmp_path / "providers.json"
    p.write_bytes(b'[{"npi": "1", "addresses": [], "x": ' + b"[" * 30_000 + b"]" * 30_000 + b"}]")
    with pytest.raises(MalformedJSON, match="nested more than 64"):
        load(str(p), load_settings(as_of="2026-11-01"))
    p.write_bytes(b"{" + b'"a":{' * 30_000)      # an index.json read whole
    with pytest.raises(MalformedJSON, match="nested more than 64"):
        load(str(p), load_settings(as_of="2026-11-01"))


def test_truncated_deep_json_names_the_offset_without_recursion(tmp_path):
    p = tmp_path / "providers.json"
    # ijson stops at the stray brace; the exact offset is then found again with json, which would die of
    # RecursionError on the brackets after it without the depth check
    p.write_bytes(b'[{"npi": "1234567893", "addresses": [}]' + b"[" * 3000)
    with pytest.raises(MalformedJSON, match="byte offset"):
        load(str(p), load_settings(as_of="2026-11-01"))


# --- empty directories --------------------------------------------------------------------------------

def test_empty_directory_is_an_error_finding_and_a_full_one_is_silent(tmp_path):
    s = load_settings(as_of="2026-11-01", selected_checks=("source",))
    p = tmp_path / "d.csv"
    p.write_text(HEADER)
    f = audit(str(p), s).findings
    assert f["check_id"].tolist() == ["source.empty_directory"]
    row = f.iloc[0]
    assert (row["severity"], row["factor_item"], row["record_id"]) == ("error", "T1.i", str(p))
    assert "the directory lists no providers" in row["message"]
    assert "source.empty_directory" not in set(audit(str(OREGON), s).findings["check_id"])


def test_empty_directory_says_when_records_could_not_be_read(tmp_path):
    p = tmp_path / "providers.json"
    p.write_text(json.dumps([{"npi": "1234567893", "addresses": "not a list"}]))
    f = audit(str(p), load_settings(as_of="2026-11-01", selected_checks=("source",))).findings
    empty = f[f["check_id"] == "source.empty_directory"].iloc[0]
    assert "1 record(s) could not be read" in empty["observed"]
    assert "source.malformed_record" in set(f["check_id"])


# --- CSV formula injection ----------------------------------------------------------------------------

def test_neutralise_formulas_prefixes_only_formula_cells():
    frame = pd.DataFrame({
        "observed": ["=1+1", "+1-=cmd|' /C calc'!A0", "-5", "-x", "@SUM(A1)", "\tx", "\rx", "ok", None,
                     "+1.5e3", " =x", "-", "(503) 413-2200"],
        "count": range(13),
    })
    before = frame.copy()
    out = neutralise_formulas(frame)
    assert out["observed"].tolist()[:8] == ["'=1+1", "'+1-=cmd|' /C calc'!A0", "-5", "'-x", "'@SUM(A1)", "'\tx",
                                            "'\rx", "ok"]
    assert pd.isna(out["observed"].iloc[8])
    assert out["observed"].tolist()[9:] == ["+1.5e3", " =x", "'-", "(503) 413-2200"]
    assert out["count"].tolist() == list(range(13))
    pd.testing.assert_frame_equal(frame, before)           # the caller's frame (and JSONL) keep raw values


def test_neutralise_formulas_leaves_a_clean_frame_alone():
    frame = pd.DataFrame({"a": ["x", "y"], "b": pd.array(["1", None], dtype="string")})
    assert neutralise_formulas(frame) is frame


def test_findings_csv_neutralised_and_jsonl_raw(tmp_path):
    r = run("audit", HOSTILE / "formula_injection.csv", "--out", tmp_path, "--as-of", "2026-11-01", "--quiet")
    assert r.exit_code == 1
    rows = list(csv.reader(io.StringIO((tmp_path / "findings.csv").read_text(encoding="utf-8"))))
    cells = [c for row in rows[1:] for c in row]
    assert "'+1-=cmd|' /C calc'!A0" in cells
    for c in cells:
        if c[:1] in ("=", "@", "\t", "\r") or (c[:1] in "+-" and c[:1] and not _is_number(c)):
            pytest.fail(f"formula cell left in findings.csv: {c!r}")
    observed = [json.loads(line)["observed"] for line in (tmp_path / "findings.jsonl").read_text().splitlines()]
    assert "+1-=cmd|' /C calc'!A0" in observed and not any(o.startswith("'+") for o in observed if o)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


# --- mapping and settings files -----------------------------------------------------------------------

@pytest.mark.parametrize("line,shown", [("provider_type = []", "provider_type = []"),
                                        ("npi = 5", "npi = 5 (a number)"),
                                        ('specialties = ["Specialty", 3]', 'specialties = [\'Specialty\', 3 (a number)]'),
                                        ('city = ""', "city = ''"),
                                        ("city = {a = 1}", "city = a table")])
def test_mapping_with_wrong_types_is_exit_2_saying_what_was_expected(tmp_path, line, shown):
    m = tmp_path / "m.toml"
    m.write_text(f"[columns]\n{line}\n")
    with pytest.raises(ConfigError, match="expected the header of the column") as exc:
        load(str(OREGON), load_settings(as_of="2026-11-01", mapping_file=m))
    assert shown in str(exc.value) and str(m) in str(exc.value)


@pytest.mark.parametrize("text,fragment", [
    ("disabled_checks = 5", "expected a list of strings"),
    ('policies = {x = "a"}', "policies.x"),
    ("service_area = 3", "service_area = 3"),
    ("check_options = {a = 1}", 'check_options."a"'),
    ('max_age_days = "x"', "whole number of days"),
    ("max_download_mb = true", "number of megabytes"),
    ("fail_on = 3", "fail_on = 3"),
])
def test_settings_with_wrong_types_is_exit_2(tmp_path, text, fragment):
    cfg = tmp_path / "s.toml"
    cfg.write_text(text + "\n")
    r = run("audit", OREGON, "--config", cfg, "--out", tmp_path / "o", "--quiet")
    assert r.exit_code == 2 and fragment in r.output and "Traceback" not in r.output


# --- fuzzing: findings or exit 2, never a traceback ---------------------------------------------------

# A fixed, small budget: each example is a whole audit (every check), so CI stays fast.
FUZZ = hsettings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SETTINGS = load_settings(as_of="2026-11-01")


def _audit_survives(path: Path, fmt: str = "auto") -> None:
    try:
        result = audit(str(path), SETTINGS, format=fmt)
    except DirectoryAuditError as exc:
        assert str(exc)                     # exit 2 with a message
        return
    assert not [r for r in result.check_runs if r.status == "error"], [r for r in result.check_runs if r.status == "error"]
    assert len(result.table) > 0 or "source.empty_directory" in set(result.findings["check_id"])


@FUZZ
@given(st.binary(max_size=400), st.booleans())
def test_fuzz_csv_bytes(body, with_header):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "d.csv"
        p.write_bytes((HEADER.encode() if with_header else b"") + body)
        _audit_survives(p)


JSON_TOKENS = st.sampled_from(['[', ']', '{', '}', ',', ':', '"npi"', '"addresses"', '"name"', '"type"', '"x"',
                               '"1234567893"', '1', '-0.5e3', 'null', 'true', '"\\u0000"', '"\\"', '"\\ud800"',
                               '"provider_urls"', '"plan_urls"', '"resourceType"', ' ', '\n', '\xff'])
JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
                               st.sampled_from(["npi", "type", "name", "addresses", "address", "city", "zip",
                                                "plans", "plan_id", "first", "last", "languages"]), inner, max_size=4),
                           max_leaves=12)


@FUZZ
@given(st.lists(JSON_TOKENS, max_size=60))
def test_fuzz_json_token_streams(tokens):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "providers.json"
        p.write_bytes("".join(tokens).encode("utf-8", "surrogatepass"))
        _audit_survives(p, "qhp")


@FUZZ
@given(st.lists(JSON_VALUES, min_size=1, max_size=4))
def test_fuzz_json_provider_shapes(providers):
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "providers.json"
        p.write_text(json.dumps(providers))
        _audit_survives(p, "qhp")


CELLS = st.one_of(st.none(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                  st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12),
                  st.sampled_from(["=1+1", "@x", "#N/A", "97227", "OR", "Yes", "2026-10-01"]))


@FUZZ
@given(st.lists(st.lists(CELLS, min_size=12, max_size=12), max_size=4))
def test_fuzz_xlsx_cells(rows):
    import openpyxl
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "d.xlsx"
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.append(HEADER.strip().split(","))
        for row in rows:
            ws.append(row)
        wb.save(p)
        _audit_survives(p)


def test_xlsx_cell_past_float_range_is_read_as_text(tmp_path):
    """Found by the fuzzer: pandas dies with OverflowError on a numeric cell that reads as infinity."""
    import openpyxl
    p = tmp_path / "d.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(HEADER.strip().split(","))
    ws.append(["1234567893", "Jane", "Doe", "Family Medicine", "2801 N Gantenbein Ave", "Portland", "OR", 97227,
               "(503) 413-2200", "Yes", "English", 1.7976931348623155e308])
    wb.save(p)
    res = load(str(p), load_settings(as_of="2026-11-01"))
    assert res.frame.loc[0, "zip"] == "97227" and res.frame.loc[0, "last_updated"] == "inf"


def test_deep_fhir_json_is_exit_2_and_a_deep_ndjson_line_is_a_finding(tmp_path):
    s = load_settings(as_of="2026-11-01")
    bundle = tmp_path / "bundle.json"
    bundle.write_text('{"resourceType": "Bundle", "entry": ' + "[" * 50_000 + "]" * 50_000 + "}")
    with pytest.raises(MalformedJSON, match="nested more than 64"):
        load(str(bundle), s, format="plannet")
    ndjson = tmp_path / "export.ndjson"
    ndjson.write_text('{"resourceType": "Practitioner", "id": "x", "extension": ' + "[" * 50_000 + "]" * 50_000
                      + "}\n" + '{"resourceType": "Practitioner", "id": "p1"}\n')
    # the deep line is an unreadable record, not a crash; with no roles left the loader says so (exit 2)
    with pytest.raises(DirectoryAuditError, match=r"1 record\(s\) could not be read.*export.ndjson:1"):
        load(str(ndjson), s, format="plannet")


def test_nested_brackets_fixture_exits_2_within_bounded_memory(tmp_path):
    """The 200 KB `[[[[...` file, in a process limited to 1.5 GB of address space (it used to pass 20 GB)."""
    resource = pytest.importorskip("resource")
    import subprocess
    import sys

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (1536 * 1024 ** 2, 1536 * 1024 ** 2))
    r = subprocess.run([sys.executable, "-m", "directory_audit", "audit", str(HOSTILE / "deep_nesting.json"),
                        "--out", str(tmp_path), "--quiet"], preexec_fn=limit, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 2 and "byte offset 64" in r.stderr and "Traceback" not in r.stderr


def test_workbook_inflating_past_the_limit_is_refused_before_reading(monkeypatch):
    from directory_audit.errors import InputError
    from directory_audit.loaders import files
    monkeypatch.setattr(files, "MAX_WORKBOOK_XML_BYTES", 1000)     # the real limit is 4 GB of XML
    with pytest.raises(InputError, match="zip bomb"):
        load(str(HOSTILE / "header_only.xlsx"), load_settings(as_of="2026-11-01"))


def test_every_module_that_writes_csv_neutralises_formulas():
    """A new CSV writer (a report export, a faster findings writer) must pass its frame through
    ``outputs.neutralise_formulas`` too."""
    import re
    root = Path(__file__).resolve().parents[1]
    writers = []
    for folder in ("directory_audit", "checks", "reports"):
        for path in (root / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if re.search(r"\.to_csv\(|csv\.writer\(|csv\.DictWriter\(|pa_csv\.write_csv|write_csv\(", text):
                writers.append(path)
                assert "neutralise_formulas" in text, f"{path.relative_to(root)} writes CSV without neutralise_formulas"
    assert writers                      # findings.csv at least

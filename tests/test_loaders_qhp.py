"""QHP JSON loader: the real public examples, index.json with local paths and with http URLs served
on 127.0.0.1, streaming, and malformed input."""
import json
import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from directory_audit import load, load_settings
from directory_audit.errors import InputError, MalformedJSON, SourceNotFound
from directory_audit.normalize import normalize
from tests.conftest import REFERENCE

EXAMPLES = REFERENCE / "qhp" / "examples"


@pytest.fixture
def s():
    return load_settings(as_of="2026-11-01")


def test_real_spec_providers_json(s):
    res = load(str(EXAMPLES / "providers.json"), s)
    assert res.format == "qhp"
    assert res.frame["record_id"].tolist() == [
        "providers.json[0].addresses[0]", "providers.json[1].addresses[0]",
        "providers.json[1].addresses[1]", "providers.json[2].addresses[0]"]
    t = normalize(res.frame)
    first = t.loc[0]
    assert (first["first_name"], first["middle_name"], first["last_name"]) == ("Martin", "Van", "Nostrand")
    assert first["accepting_status"] == "not_accepting" and first["accepting_status_raw"] == "not accepting"
    assert first["plan_ids"] == "12345XX9876543|12345XX9876542"
    assert first["address_line2"] == "Suite 120"
    assert t.loc[3, "provider_type"] == "facility" and t.loc[3, "display_name"] == "New York City Hospital"
    assert str(t.loc[0, "last_updated"].date()) == "2019-01-01"


def test_real_index_reads_copies_saved_beside_it(s):
    # The spec's index.json names https URLs; their files sit beside it, so nothing is fetched.
    res = load(str(EXAMPLES / "index.json"), s)
    assert len(res.frame) == 4
    assert "local copy" in res.sources[1]
    assert "12345XX9876543" in res.metadata["plans"]


def test_speciality_spelling_is_accepted(tmp_path, s):
    p = tmp_path / "providers.json"
    data = json.loads((EXAMPLES / "providers.json").read_text())
    data[0]["speciality"] = data[0].pop("specialty")
    p.write_text(json.dumps(data))
    t = normalize(load(str(p), s).frame)
    assert t.loc[0, "specialty_names"] == "Dermatology|Oncology"


def test_index_with_relative_paths(tmp_path, s):
    shutil.copy(EXAMPLES / "providers.json", tmp_path / "prov.json")
    shutil.copy(EXAMPLES / "plans.json", tmp_path / "plans.json")
    (tmp_path / "index.json").write_text(json.dumps({"provider_urls": ["prov.json"], "plan_urls": ["plans.json"]}))
    res = load(str(tmp_path / "index.json"), s)
    assert res.frame["record_id"].iloc[0] == "prov.json[0].addresses[0]"


@pytest.fixture
def served(tmp_path):
    """A real HTTP server on 127.0.0.1 serving tmp_path."""
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a, **k: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_index_following_http_urls(served, s):
    root, base = served
    (root / "data").mkdir()
    shutil.copy(EXAMPLES / "providers.json", root / "data" / "providers.json")
    shutil.copy(EXAMPLES / "plans.json", root / "data" / "plans.json")
    (root / "cms-data-index.json").write_text(json.dumps(
        {"provider_urls": [f"{base}/data/providers.json"], "plan_urls": [f"{base}/data/plans.json"]}))
    res = load(f"{base}/cms-data-index.json", s)
    assert len(res.frame) == 4 and res.sources[1] == f"{base}/data/providers.json"
    assert len(res.metadata["plans"]) >= 2


def test_http_404_is_a_clear_error(served, s):
    root, base = served
    (root / "index.json").write_text(json.dumps({"provider_urls": [f"{base}/missing.json"]}))
    with pytest.raises(SourceNotFound, match="HTTP 404"):
        load(f"{base}/index.json", s)


def test_malformed_json_names_the_byte_offset(tmp_path, s):
    p = tmp_path / "providers.json"
    text = '[{"npi": "1234567893", "type": "INDIVIDUAL", "addresses": [}]'
    p.write_text(text)
    with pytest.raises(MalformedJSON) as exc:
        load(str(p), s)
    assert f"byte offset {text.index('}]')}" in str(exc.value)


def test_truncated_json(tmp_path, s):
    p = tmp_path / "providers.json"
    p.write_text((EXAMPLES / "providers.json").read_text()[:700])
    with pytest.raises(MalformedJSON, match="byte offset"):
        load(str(p), s)


def test_entries_that_are_not_providers_become_problems(tmp_path, s):
    data = json.loads((EXAMPLES / "providers.json").read_text())
    data.insert(1, "not a provider")
    data[2]["addresses"] = {"address": "123 Lexington Ave"}
    p = tmp_path / "providers.json"
    p.write_text(json.dumps(data))
    res = load(str(p), s)
    assert res.problems["record_id"].tolist() == ["providers.json[1]", "providers.json[2]"]
    assert len(res.frame) == 2          # providers 0 and 3 are read; nothing is silently lost


def test_index_without_provider_urls(tmp_path, s):
    p = tmp_path / "index.json"
    p.write_text(json.dumps({"plan_urls": []}))
    with pytest.raises(InputError, match="provider_urls"):
        load(str(p), s)


def test_index_naming_a_missing_local_file(tmp_path, s):
    p = tmp_path / "index.json"
    p.write_text(json.dumps({"provider_urls": ["nowhere.json"]}))
    with pytest.raises(SourceNotFound, match="nowhere.json"):
        load(str(p), s)

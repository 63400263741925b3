"""--format auto: the source kind from its name and first bytes."""
import pytest

from directory_audit.errors import SourceNotFound, UnknownFormat
from directory_audit.loaders import sniff
from tests.conftest import FIXTURES, REFERENCE


@pytest.mark.parametrize("path,fmt", [
    (FIXTURES / "oregon" / "directory.csv", "csv"),
    (FIXTURES / "oregon" / "directory.xlsx", "xlsx"),
    (FIXTURES / "oregon" / "qhp" / "index.json", "qhp"),
    (REFERENCE / "qhp" / "examples" / "providers.json", "qhp"),
])
def test_sniffs_bundled_and_reference_sources(path, fmt):
    assert sniff(str(path)) == fmt


def test_sniffs_by_content_when_the_name_says_nothing(tmp_path):
    (tmp_path / "export").write_bytes((FIXTURES / "oregon" / "directory.xlsx").read_bytes())
    (tmp_path / "dump").write_text('  [{"npi": null}]')
    (tmp_path / "rows").write_text("NPI,Name\n1,2\n")
    assert [sniff(str(tmp_path / n)) for n in ("export", "dump", "rows")] == ["xlsx", "qhp", "csv"]


def test_unknown_and_missing(tmp_path):
    (tmp_path / "blob").write_bytes(b"\x00\x01\x02 binary")
    with pytest.raises(UnknownFormat, match="--format"):
        sniff(str(tmp_path / "blob"))
    with pytest.raises(SourceNotFound):
        sniff(str(tmp_path / "nothing.csv"))
    with pytest.raises(UnknownFormat, match="folder"):
        sniff(str(tmp_path))

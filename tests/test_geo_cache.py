"""The zipcodes data is kept in an Arrow file in the user cache folder (issue 16: the package builds
its 42,000 records in every process); what the cache gives back is exactly what the package gives."""
import zipcodes

from directory_audit import geo


def test_records_from_the_cache_equal_the_package(tmp_path, monkeypatch):
    cache = tmp_path / "cache" / "zipcodes.arrow"
    monkeypatch.setattr(geo, "zip_records_cache", lambda: cache)
    first = geo.zip_records()                 # no cache yet: from the package, then written
    assert cache.exists()
    again = geo.zip_records()                 # from the file
    assert first == again == zipcodes.list_all()
    assert not list(cache.parent.glob(".*.tmp"))


def test_a_damaged_cache_is_passed_over_and_rewritten(tmp_path, monkeypatch):
    cache = tmp_path / "zipcodes.arrow"
    cache.write_bytes(b"not an arrow file")
    monkeypatch.setattr(geo, "zip_records_cache", lambda: cache)
    assert geo.zip_records() == zipcodes.list_all()
    assert geo.zip_records() == zipcodes.list_all()
    assert cache.read_bytes()[:6] == b"ARROW1"


def test_an_unwritable_cache_folder_is_passed_over(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    monkeypatch.setattr(geo, "zip_records_cache", lambda: blocker / "zipcodes.arrow")
    assert geo.zip_records() == zipcodes.list_all()

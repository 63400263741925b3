"""CSV and Excel loaders: header spellings, mapping files, separators, and every kind of bad input."""
import pandas as pd
import pytest

from directory_audit import load, load_settings
from directory_audit.errors import ColumnMappingError, ConfigError, EncodingError, InputError, SourceNotFound
from directory_audit.loaders.files import match_header

HEADER = "Provider NPI,Provider First Name,Provider Last Name,Specialty,Address Line 1,City,State,Zip Code,Phone Number,Accepting New Patients,Languages Spoken,Last Verified Date\n"
ROW = "1234567893,Jane,Doe,Family Medicine,2801 N Gantenbein Ave,Portland,OR,97227,(503) 413-2200,Yes,English; Spanish,10/15/2026\n"


@pytest.fixture
def s():
    return load_settings(as_of="2026-11-01")


@pytest.mark.parametrize("header,field", [
    ("Provider Name", "name"), ("Zip Code", "zip"), ("ZIP", "zip"), ("Accepting New Patients", "accepting_status"),
    ("New Patients?", "accepting_status"), ("Languages Spoken", "languages"), ("Language(s)", "languages"),
    ("NPI Number", "npi"), ("Provider NPI", "npi"), ("Office Address", "address_line1"), ("ST", "state"),
    ("Telephone", "phone"), ("Practice City", "city"), ("Date Last Updated", "last_updated"),
    ("Last Verified Date", "last_updated"), ("Taxonomy Code", "specialties"), ("Suite", "address_line2"),
    ("Favourite Colour", None),
])
def test_common_header_spellings(header, field):
    assert match_header(header) == field


def test_csv_rows_keep_spreadsheet_row_numbers(tmp_path, s):
    p = tmp_path / "dir.csv"
    p.write_text(HEADER + ROW + ROW.replace("Jane", "John"), encoding="utf-8")
    res = load(str(p), s)
    assert res.format == "csv"
    assert res.frame["record_id"].tolist() == ["dir.csv:2", "dir.csv:3"]
    assert res.frame.loc[1, "first_name"] == "John"
    assert res.checksum.startswith("sha256:")


@pytest.mark.parametrize("sep", ["\t", "|", ";"])
def test_other_separators(tmp_path, s, sep):
    p = tmp_path / "dir.txt"
    text = (HEADER + ROW).replace(",", sep) if sep != ";" else (HEADER + ROW.replace("; ", " / ")).replace(",", sep)
    p.write_text(text, encoding="utf-8")
    res = load(str(p), s, format="csv")
    assert res.frame.loc[0, "zip"] == "97227"


def test_utf8_bom_is_accepted(tmp_path, s):
    p = tmp_path / "bom.csv"
    p.write_bytes(b"\xef\xbb\xbf" + (HEADER + ROW).encode())
    assert load(str(p), s).frame.loc[0, "npi"] == "1234567893"


def test_wrong_encoding_names_the_byte_offset(tmp_path, s):
    p = tmp_path / "latin.csv"
    data = (HEADER + ROW.replace("Jane", "Jos\u00e9")).encode("cp1252")
    p.write_bytes(data)
    with pytest.raises(EncodingError) as exc:
        load(str(p), s)
    offset = data.index(b"\xe9")
    assert f"byte offset {offset}" in str(exc.value) and "--encoding" in str(exc.value)
    # ...and the suggested encoding reads it.
    assert load(str(p), load_settings(encoding="cp1252")).frame.loc[0, "first_name"] == "Jos\u00e9"


def test_missing_file(s):
    with pytest.raises(SourceNotFound):
        load("/nonexistent/dir.csv", s)


def test_empty_file(tmp_path, s):
    p = tmp_path / "empty.csv"
    p.write_text("")
    with pytest.raises(InputError, match="empty"):
        load(str(p), s, format="csv")


def test_unmappable_columns_list_headers_and_how_to_map(tmp_path, s):
    p = tmp_path / "odd.csv"
    p.write_text("Prov #,Who,Where,Town,Province,Post\n1234567893,Jane Doe,1 Main,Salem,OR,97301\n")
    with pytest.raises(ColumnMappingError) as exc:
        load(str(p), s)
    msg = str(exc.value)
    assert "'Where'" in msg and "a street address" in msg and "--mapping" in msg


def test_mapping_file_maps_the_rest(tmp_path):
    p = tmp_path / "odd.csv"
    p.write_text("Prov #,Who,Where,Town,Province,Post,Spec,Tax\n"
                 "1234567893,\"Doe, Jane A, MD\",1 Main,Salem,OR,97301,Family Medicine,207Q00000X\n")
    m = tmp_path / "map.toml"
    m.write_text('[columns]\nnpi = "Prov #"\nname = "Who"\naddress_line1 = "Where"\ncity = "Town"\n'
                 'state = "Province"\nzip = "Post"\nspecialties = ["Spec", "Tax"]\n')
    res = load(str(p), load_settings(mapping_file=m))
    row = res.frame.loc[0]
    assert (row["npi"], row["name"], row["city"]) == ("1234567893", "Doe, Jane A, MD", "Salem")
    assert row["specialties"] == "Family Medicine; 207Q00000X"


def test_mapping_file_errors(tmp_path, s):
    p = tmp_path / "d.csv"
    p.write_text(HEADER + ROW)
    bad_field = tmp_path / "bad.toml"
    bad_field.write_text('[columns]\nfavourite = "Provider NPI"\n')
    with pytest.raises(ConfigError, match="unknown field 'favourite'"):
        load(str(p), load_settings(mapping_file=bad_field))
    bad_header = tmp_path / "bad2.toml"
    bad_header.write_text('[columns]\nnpi = "NPI #"\n')
    with pytest.raises(ColumnMappingError, match="'NPI #'"):
        load(str(p), load_settings(mapping_file=bad_header))


def test_row_with_extra_fields_becomes_a_problem_not_a_lost_row(tmp_path, s):
    p = tmp_path / "ragged.csv"
    bad = ROW.replace("2801 N Gantenbein Ave", "2801 N Gantenbein Ave, Suite 5")
    p.write_text(HEADER + ROW + bad + ROW.replace("Jane", "Ann"))
    res = load(str(p), s)
    assert res.frame["record_id"].tolist() == ["ragged.csv:2", "ragged.csv:4"]
    assert res.problems["record_id"].tolist() == ["ragged.csv:3"]
    assert "13 fields" in res.problems.loc[0, "message"] and "Suite 5" in res.problems.loc[0, "observed"]


def test_excel_export(tmp_path, s):
    p = tmp_path / "dir.xlsx"
    df = pd.DataFrame([{"NPI Number": 1234567893, "Provider Name": "Jane A. Doe MD", "Office Address": "1 Main St",
                        "City": "Salem", "ST": "OR", "ZIP": 97301, "Date Last Updated": pd.Timestamp("2026-10-15")}])
    df.to_excel(p, sheet_name="Providers", index=False)
    res = load(str(p), s)
    assert res.format == "xlsx"
    row = res.frame.loc[0]
    assert row["record_id"] == "dir.xlsx!Providers:2"
    assert (row["npi"], row["zip"]) == ("1234567893", "97301")
    assert row["last_updated"].startswith("2026-10-15")


def test_not_a_workbook(tmp_path, s):
    p = tmp_path / "fake.xlsx"
    p.write_text("this is not a workbook")
    with pytest.raises(InputError, match="Excel"):
        load(str(p), s)


def test_one_line_addresses_are_split(tmp_path, s):
    from directory_audit.normalize import normalize
    p = tmp_path / "oneline.csv"
    p.write_text('NPI,Provider Name,Address,Phone\n'
                 '1234567893,"Doe, Jane A, MD","2801 N Gantenbein Ave, Suite 300, Portland, OR 97227-1623",503-413-2200\n'
                 '1497758544,John Roe DO,1000 SE Tualatin Valley Hwy Hillsboro OR 97123,503-681-1111\n')
    t = normalize(load(str(p), s).frame)
    assert t[["address_line1", "city", "state", "zip"]].values.tolist() == [
        ["2801 N Gantenbein Ave, Suite 300", "PORTLAND", "OR", "97227"],
        ["1000 SE Tualatin Valley Hwy", "HILLSBORO", "OR", "97123"]]
    assert t.loc[0, "address_line1_raw"].endswith("OR 97227-1623") and t.loc[1, "city_raw"] == "Hillsboro"


def test_street_only_address_column_still_needs_city_state_zip(tmp_path, s):
    p = tmp_path / "street.csv"
    p.write_text("NPI,Provider Name,Address\n1234567893,Jane Doe,2801 N Gantenbein Ave\n")
    with pytest.raises(ColumnMappingError, match="a city, a state, a ZIP code"):
        load(str(p), s)


NPPES_DIR = __import__("pathlib").Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "nppes"


@pytest.mark.parametrize("name", ["nppes-practitioner-sample-ct-2018.csv", "nppes-organization-sample-ct.csv"])
def test_nppes_extracts_map_without_a_mapping_file(name, s):
    path = NPPES_DIR / name
    if not path.exists():
        pytest.skip("shared NPPES samples not present")
    res = load(str(path), s)
    cols = res.metadata["columns"]
    assert cols["address_line1"] == ["Provider First Line Business Practice Location Address"]
    assert cols["phone"] == ["Provider Business Practice Location Address Telephone Number"]
    assert cols["facility_name"] == ["Provider Organization Name (Legal Business Name)"]
    assert cols["last_name"] == ["Provider Last Name (Legal Name)"]
    assert cols["npi_entity_type"] == ["Entity Type Code"]
    assert cols["specialties"] == [f"Healthcare Provider Taxonomy Code_{i}" for i in range(1, 16)]
    # the mailing address is where letters go, never a practice location
    assert not any("Mailing" in h for hs in cols.values() for h in hs)
    first = res.frame.iloc[0]
    assert first["zip"] and first["city"] and first["npi"]


@pytest.mark.parametrize("header,field", [
    ("Provider Last Name (Legal Name)", "last_name"), ("Healthcare Provider Taxonomy Code_12", "specialties"),
    ("Provider Business Mailing Address City Name", None), ("Provider Other Last Name", None),
    ("Healthcare Provider Primary Taxonomy Switch_1", None),
])
def test_nppes_header_spellings(header, field):
    assert match_header(header) == field

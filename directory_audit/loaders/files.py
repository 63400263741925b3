"""CSV and Excel directory exports.

Insurers name their columns in many ways; ``HEADER_SYNONYMS`` knows the common spellings and a
TOML mapping file (``--mapping``) names the rest::

    [columns]
    npi = "Prov NPI #"
    specialties = ["Specialty", "Taxonomy"]     # several columns feed one field

Rows keep their spreadsheet row number (header = row 1) in ``record_id``: ``directory.csv:17``.
"""
from __future__ import annotations

import codecs
import csv
import re
import tomllib
from pathlib import Path

import pandas as pd

from ..errors import ColumnMappingError, ConfigError, EncodingError, InputError, SourceNotFound
from ..model import RAW_FIELDS, first_rows, group_codes
from ..progress import Progress
from ..settings import Settings
from . import LoadResult, problems_frame, sha256_of

HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "npi": ("npi", "npinumber", "npino", "nationalprovideridentifier", "individualnpi", "renderingnpi",
            "typenpi", "npiid", "provnpi"),
    "npi_entity_type": ("npientitytype", "entitytype", "entitytypecode", "npitype", "npientitytypecode"),
    "provider_type": ("providertype", "type", "recordtype", "providercategory", "providerclass", "category"),
    "name": ("providername", "name", "fullname", "practitionername", "physicianname", "doctorname",
             "providerfullname", "clinicianname"),
    "prefix": ("prefix", "nameprefix", "salutation"),
    "first_name": ("firstname", "first", "givenname", "fname", "forename"),
    "middle_name": ("middlename", "middleinitial", "mi", "middle"),
    "last_name": ("lastname", "last", "surname", "familyname", "lname"),
    "suffix": ("suffix", "credentials", "credential", "degree", "degrees", "namesuffix", "professionaldesignation",
               "licensetype"),
    "facility_name": ("practicename", "facilityname", "groupname", "organizationname", "orgname", "clinicname",
                      "medicalgroup", "facility", "locationname", "officename", "businessname", "group",
                      "practice", "organization", "affiliation", "groupaffiliation", "hospitalname"),
    "gender": ("gender", "sex"),
    "specialties": ("specialty", "specialties", "speciality", "specialities", "primaryspecialty",
                    "specialtydescription", "specialtyname", "taxonomy", "taxonomycode", "taxonomycodes",
                    "taxonomies", "nucctaxonomy", "facilitytype"),
    "address_line1": ("addressline1", "address1", "address", "streetaddress", "street", "officeaddress",
                      "addr1", "locationaddress", "serviceaddress", "streetaddress1", "addressstreet",
                      "street1", "line1"),
    "address_line2": ("addressline2", "address2", "suite", "ste", "addr2", "suiteunit", "unit", "streetaddress2",
                      "street2", "line2", "suitenumber", "suitefloor"),
    "city": ("city", "town", "cityname"),
    "state": ("state", "st", "statecode", "stateabbreviation", "stateprovince"),
    "zip": ("zip", "zipcode", "postalcode", "zip5", "postcode", "zippostalcode", "zipcode5", "zipplus4"),
    "county": ("county", "countyname"),
    "phone": ("phone", "phonenumber", "telephone", "tel", "telephonenumber", "phoneno", "appointmentphone",
              "contactphone", "officephonenumber", "mainphone"),
    "accepting_status": ("acceptingnewpatients", "newpatients", "acceptingpatients", "accepting",
                         "acceptsnewpatients", "newpatientsaccepted", "openpractice", "panelstatus",
                         "acceptingnewpatientsyn", "newpatientstatus", "acceptnewpatients", "panelopen",
                         "acceptingnew", "openpanel"),
    "provider_accepting_status": ("provideracceptingnewpatients", "provideraccepting"),
    "languages": ("languages", "language", "languagesspoken", "languagespoken", "otherlanguages",
                  "nonenglishlanguages", "spokenlanguages", "languagesotherthanenglish", "languagesother",
                  "languagecapabilities"),
    "plan_ids": ("planid", "planids", "plan", "plans", "hiosplanid", "hiosid", "products", "product", "planname"),
    "network_ids": ("network", "networkname", "networks", "networkid", "tier", "networktier", "networkids"),
    "last_updated": ("lastupdated", "lastverified", "lastverifieddate", "datelastupdated", "lastupdateddate",
                     "updated", "lastupdatedon", "verifieddate", "lastattestationdate", "attestationdate",
                     "datelastverified", "lastmodified", "updatedate", "dateupdated", "verificationdate",
                     "lastverifiedon", "datelastmodified", "recordupdated", "asof", "asofdate"),
}
#: The CMS NPPES NPI file's own column names (its monthly full file and every extract of it), matched
#: exactly: an NPPES extract audits without a mapping file. Only the *practice location* columns map;
#: the "Business Mailing Address" columns are where NPPES sends letters, not where patients go, and
#: stay unmapped. Every "Healthcare Provider Taxonomy Code_N" (1-15) feeds ``specialties``
#: (``NPPES_TAXONOMY``), joined in column order.
NPPES_HEADERS: dict[str, str] = {
    "Provider Organization Name (Legal Business Name)": "facility_name",
    "Provider Last Name (Legal Name)": "last_name",
    "Provider First Name": "first_name",
    "Provider Middle Name": "middle_name",
    "Provider Name Prefix Text": "prefix",
    "Provider Credential Text": "suffix",
    "Provider Gender Code": "gender",
    "Provider First Line Business Practice Location Address": "address_line1",
    "Provider Second Line Business Practice Location Address": "address_line2",
    "Provider Business Practice Location Address City Name": "city",
    "Provider Business Practice Location Address State Name": "state",
    "Provider Business Practice Location Address Postal Code": "zip",
    "Provider Business Practice Location Address Telephone Number": "phone",
    "Last Update Date": "last_updated",
    "Entity Type Code": "npi_entity_type",
    "NPI": "npi",
}
NPPES_TAXONOMY = re.compile(r"^healthcareprovidertaxonomycode\d{1,2}$")

# Words that prefix a column name without changing its meaning ("Provider NPI", "Practice City").
_NOISE_PREFIXES = ("provider", "practice", "office", "location", "practitioner", "primary", "service")

_SYNONYM_INDEX = {syn: field for field, syns in HEADER_SYNONYMS.items() for syn in syns}

REQUIRED_GROUPS = {
    "a provider name": ("name", "last_name", "facility_name"),
    "a street address": ("address_line1",),
    "a city": ("city",),
    "a state": ("state",),
    "a ZIP code": ("zip",),
}


def header_key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(header).lower())


_NPPES_INDEX = {header_key(h): field for h, field in NPPES_HEADERS.items()}


def match_header(header: str) -> str | None:
    key = header_key(header)
    if key in _NPPES_INDEX:
        return _NPPES_INDEX[key]
    if NPPES_TAXONOMY.match(key):
        return "specialties"
    if key in _SYNONYM_INDEX:
        return _SYNONYM_INDEX[key]
    for prefix in _NOISE_PREFIXES:
        if key.startswith(prefix) and key[len(prefix):] in _SYNONYM_INDEX:
            return _SYNONYM_INDEX[key[len(prefix):]]
    return None


def read_mapping(path: Path | None) -> dict[str, list[str]]:
    if path is None:
        return {}
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"Column-mapping file {path} does not exist.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"Column-mapping file {path} is not valid TOML: {exc}.") from None
    columns = data.get("columns")
    if not isinstance(columns, dict):
        raise ConfigError(f"Column-mapping file {path}: expected a [columns] table naming, for each field, "
                          f"the header(s) that hold it, e.g. npi = \"Prov NPI #\".")
    out: dict[str, list[str]] = {}
    for field, headers in columns.items():
        if field not in RAW_FIELDS:
            raise ConfigError(f"Column-mapping file {path}: unknown field {field!r}; "
                              f"expected one of {', '.join(RAW_FIELDS)}.")
        names = [headers] if isinstance(headers, str) else headers
        if not isinstance(names, list) or not names or not all(isinstance(h, str) and h.strip() for h in names):
            raise ConfigError(f"Column-mapping file {path}: {field} = {_toml_shown(headers)}; expected the header "
                              f"of the column that holds it, as a string (e.g. {field} = \"Header In Your File\"), or a "
                              f"non-empty list of headers (e.g. {field} = [\"First Header\", \"Second Header\"]).")
        out[field] = list(names)
    return out


def _toml_shown(value: object) -> str:
    if isinstance(value, list):
        return "[]" if not value else "[" + ", ".join(_toml_shown(v) for v in value[:4]) + (", ...]" if len(value) > 4 else "]")
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, str):
        return repr(value)
    kind = {bool: "a boolean", int: "a number", float: "a number"}.get(type(value), f"a {type(value).__name__}")
    return f"{value!r} ({kind})"


# "123 Main St, Portland, OR 97201": a one-cell address carries city, state and ZIP itself.
ONE_LINE_ADDRESS = r"^.+?,\s*[^,\d]+?,?\s+[A-Za-z]{2}\.?,?\s+\d{5}(?:-?\d{4})?\s*$"


def _one_line_addresses(table: pd.DataFrame | None, columns: list[str]) -> bool:
    """True when most sampled values of the address column are whole one-line addresses."""
    if table is None or len(columns) != 1:
        return False
    sample = table[columns[0]].replace("", None).dropna().head(200).astype(str)
    return len(sample) > 0 and sample.str.match(ONE_LINE_ADDRESS).mean() >= 0.5


def map_columns(headers: list[str], mapping: dict[str, list[str]], source: str,
                table: pd.DataFrame | None = None) -> dict[str, list[str]]:
    """Field -> source headers. Explicit mapping first, then synonyms; fails listing what is missing.
    City, state and ZIP columns are not required when the address column holds whole one-line
    addresses (normalize splits them)."""
    fields: dict[str, list[str]] = {}
    used: set[str] = set()
    for field, names in mapping.items():
        missing = [n for n in names if n not in headers]
        if missing:
            raise ColumnMappingError(
                f"{source}: the mapping names column(s) {missing} for field '{field}', but the file's headers "
                f"are: {', '.join(repr(h) for h in headers)}.")
        fields[field] = names
        used.update(names)
    for h in headers:
        if h in used:
            continue
        field = match_header(h)
        if field and field not in mapping:
            fields.setdefault(field, []).append(h)
    missing_groups = [what for what, options in REQUIRED_GROUPS.items() if not any(o in fields for o in options)]
    if set(missing_groups) <= {"a city", "a state", "a ZIP code"} and "address_line1" in fields \
            and _one_line_addresses(table, fields["address_line1"]):
        missing_groups = []
    if missing_groups:
        options = "; ".join(f"{what}: one of {', '.join(REQUIRED_GROUPS[what])}" for what in missing_groups)
        raise ColumnMappingError(
            f"{source}: cannot find columns for {', '.join(missing_groups)}. Headers found: "
            f"{', '.join(repr(h) for h in headers)}. Map them in a TOML file passed with --mapping, "
            f"e.g. [columns] with lines like address_line1 = \"Street\" (fields: {options}).")
    return fields


def _join_non_empty(columns: list[pd.Series], separator: str) -> pd.Series:
    """Row by row, the non-empty cells of several columns joined by ``separator`` ('' when none).
    Joined once per distinct combination of cells (a specialty and its taxonomy code repeat across
    a million rows), then spread back by position."""
    n = len(columns[0])
    combo = group_codes(*(pd.factorize(col, use_na_sentinel=True)[0] for col in columns))
    distinct = int(combo.max(initial=-1)) + 1
    if distinct > n // 2:          # nearly every row its own combination: join the rows themselves
        texts = [col.reset_index(drop=True) for col in columns]
    else:
        first = first_rows(combo)
        texts = [col.iloc[first].reset_index(drop=True) for col in columns]
    texts = [t.fillna("").astype(str) for t in texts]      # Arrow strings: the joins below run in C++
    joined = texts[0]
    for nxt in texts[1:]:
        joined = joined.where(nxt == "", joined.where(joined == "", joined + separator) + nxt)
    joined = joined.to_numpy(dtype=object)
    return pd.Series(joined if distinct > n // 2 else joined[combo], index=columns[0].index, dtype="object")


def to_raw_frame(table: pd.DataFrame, fields: dict[str, list[str]], record_ids: pd.Series,
                 source_format: str, source_file: str) -> pd.DataFrame:
    out = pd.DataFrame({"record_id": record_ids.values, "source_format": source_format,
                        "source_file": source_file}, index=table.index)
    for field, cols in fields.items():
        if len(cols) == 1:
            out[field] = table[cols[0]]
        else:  # several columns feed one field: join their non-empty values
            out[field] = _join_non_empty([table[c] for c in cols], "; ")
    return out.reset_index(drop=True)


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise SourceNotFound(f"{path}: no such file.")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, expected a file.")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror}).") from None


def _decode_error(path: Path, encoding: str) -> EncodingError:
    """Find the first undecodable byte's offset by decoding incrementally."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                pos = offset + exc.start
                bad = block[exc.start:exc.start + 4]
                return EncodingError(
                    f"{path}: byte offset {pos}: found bytes {bad!r}, which are not valid {encoding}. "
                    f"The file is in another encoding (exports from Excel on Windows are often cp1252); "
                    f"give it with --encoding cp1252.")
            offset += len(block)
    return EncodingError(f"{path}: the file is not valid {encoding}; give its encoding with --encoding.")


def _delimiter(sample: str) -> str:
    header = sample.splitlines()[0] if sample else ""
    counts = {d: header.count(d) for d in (",", "\t", "|", ";")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def load_csv(source: str, settings: Settings, progress: Progress) -> LoadResult:
    path = Path(source)
    _check_readable(path)
    encoding = "utf-8-sig" if settings.encoding.lower().replace("_", "-") in ("utf-8", "utf8") else settings.encoding
    try:
        with open(path, encoding=encoding, newline="") as fh:
            sample = fh.read(65536)
    except UnicodeDecodeError:
        raise _decode_error(path, encoding) from None
    except LookupError:
        raise InputError(f"--encoding: found {settings.encoding!r}, expected a Python codec name such as "
                         f"utf-8 or cp1252.") from None
    if not sample.strip():
        raise InputError(f"{path}: the file is empty; expected a header row and one row per provider location.")
    delimiter = _delimiter(sample)
    problems: list[dict[str, str]] = []
    with progress.task(f"reading {path.name}"):
        try:
            table = _read_fast(path, encoding, delimiter)
            if table is None:
                table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding, sep=delimiter,
                                    on_bad_lines="error", low_memory=False)
            record_ids = (path.name + ":") + pd.Series(range(2, len(table) + 2), dtype="int64").astype(str).astype(object)
        except UnicodeDecodeError:
            raise _decode_error(path, encoding) from None
        except pd.errors.ParserError:
            # Some rows have more fields than the header: read with the csv module so every row keeps its
            # number; the well-formed rows are kept and each bad one becomes a finding quoting the row.
            table, record_ids, problems = _read_ragged(path, encoding, delimiter)
    headers = [str(h) for h in table.columns]
    fields = map_columns(headers, read_mapping(settings.mapping_file), str(path), table)
    frame = to_raw_frame(table, fields, record_ids, "csv", str(path))
    return LoadResult(frame=frame, format="csv", sources=[str(path)], checksum=sha256_of([path]),
                      problems=problems_frame(problems), metadata={"columns": fields, "headers": headers})


def _read_fast(path: Path, encoding: str, delimiter: str) -> pd.DataFrame | None:
    """The multithreaded Arrow CSV reader (about 8x pandas' C reader on a million rows), for UTF-8
    files only. It is strict: a short or long row, bad UTF-8 or anything else it refuses returns None,
    and the C reader then reads the file again and reports the problem with its row or byte offset."""
    if encoding not in ("utf-8-sig", "utf-8"):
        return None
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, sep=delimiter, engine="pyarrow")
    except (ValueError, OSError, ImportError):   # pandas' ParserError and Arrow's errors are ValueErrors
        return None


def _read_ragged(path: Path, encoding: str, delimiter: str):
    with open(path, encoding=encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        header = next(reader)
        good, ids, problems = [], [], []
        for n, row in enumerate(reader, start=2):
            if not row:
                continue
            rid = f"{path.name}:{n}"
            if len(row) > len(header):
                problems.append({"record_id": rid, "field": "(row)", "observed": delimiter.join(row),
                                 "expected": f"{len(header)} fields as in the header",
                                 "message": f"row {n} has {len(row)} fields where the header has {len(header)} "
                                            f"(an unquoted '{delimiter}' inside a value?); the row is not audited"})
                continue
            good.append(row + [""] * (len(header) - len(row)))
            ids.append(rid)
    return pd.DataFrame(good, columns=header, dtype=str), pd.Series(ids, dtype=str), problems


#: A workbook is a zip of XML; past this much XML it is refused rather than inflated (a zip bomb).
MAX_WORKBOOK_XML_BYTES = 4 * 1024 ** 3


def _check_workbook_size(path: Path) -> None:
    import zipfile
    try:
        with zipfile.ZipFile(path) as z:
            inflated = sum(info.file_size for info in z.infolist())
    except (zipfile.BadZipFile, OSError):
        return                 # not a zip: openpyxl's own error names the problem
    if inflated > MAX_WORKBOOK_XML_BYTES:
        raise InputError(f"{path}: the workbook inflates to {inflated:,} bytes of XML, past the "
                         f"{MAX_WORKBOOK_XML_BYTES // 1024 ** 3} GB a directory workbook could need; refused as a "
                         f"zip bomb. Export the directory as CSV instead.")


def _sheet_as_text(path: Path, sheet: str) -> pd.DataFrame:
    import openpyxl
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        rows = [["" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))
                 for v in row] for row in book[sheet].iter_rows(values_only=True)]
    finally:
        book.close()
    if not rows:
        return pd.DataFrame()
    width = max(len(r) for r in rows)
    rows = [r + [""] * (width - len(r)) for r in rows]
    header = [h or f"Unnamed: {i}" for i, h in enumerate(rows[0])]
    return pd.DataFrame(rows[1:], columns=header, dtype=str)


def load_excel(source: str, settings: Settings, progress: Progress) -> LoadResult:
    path = Path(source)
    _check_readable(path)
    _check_workbook_size(path)
    with progress.task(f"reading {path.name}"):
        try:
            book = pd.ExcelFile(path, engine="openpyxl")
        except Exception as exc:  # openpyxl raises several types for a file that is not a workbook
            raise InputError(f"{path}: cannot be read as an Excel workbook (.xlsx): {exc}. "
                             f"Save it as .xlsx or export it as CSV.") from None
        sheet = settings.sheet or book.sheet_names[0]
        if sheet not in book.sheet_names:
            raise InputError(f"{path}: no sheet named {sheet!r}; sheets found: {book.sheet_names}.")
        try:
            table = pd.read_excel(book, sheet_name=sheet, dtype=str, keep_default_na=False)
        except (OverflowError, ValueError):
            # pandas turns every whole-number float into an int and dies on one past float range
            # (a cell holding 1E+309 reads as infinity): read such a sheet's values as text ourselves.
            table = _sheet_as_text(path, sheet)
    table = table.loc[~(table == "").all(axis=1)] if len(table.columns) else table
    record_ids = pd.Series(table.index + 2).map(lambda n: f"{path.name}!{sheet}:{n}")
    headers = [str(h) for h in table.columns]
    fields = map_columns(headers, read_mapping(settings.mapping_file), f"{path} (sheet {sheet})", table)
    frame = to_raw_frame(table, fields, record_ids, "xlsx", str(path))
    return LoadResult(frame=frame, format="xlsx", sources=[str(path)], checksum=sha256_of([path]),
                      metadata={"columns": fields, "headers": headers, "sheet": sheet})

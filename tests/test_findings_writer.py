"""findings.csv and findings.jsonl are written column by column with Arrow's string kernels; their
bytes equal what pandas' to_csv / to_json(lines=True) write for the same frame, whatever the text."""
import pandas as pd
from hypothesis import given, settings, strategies as st

from directory_audit.findings import FINDING_COLUMNS
from directory_audit.outputs import neutralise_formulas, write_findings_csv, write_findings_jsonl

TRICKY = st.one_of(st.none(), st.text(alphabet=st.sampled_from(list('ab ,"\n\r\t\\/é😀\x00\x01\x1f\x7f\u2028{}:')),
                                      max_size=12))


def _pandas_bytes(frame: pd.DataFrame, tmp_path) -> tuple[bytes, bytes]:
    # findings.csv neutralises formula cells (issue 17) before writing; JSONL keeps the raw text
    neutralise_formulas(frame[list(FINDING_COLUMNS)]).to_csv(tmp_path / "p.csv", index=False)
    text = frame[list(FINDING_COLUMNS)].to_json(orient="records", lines=True, force_ascii=False) if len(frame) else ""
    return (tmp_path / "p.csv").read_bytes(), (text if not text or text.endswith("\n") else text + "\n").encode()


def _written(frame: pd.DataFrame, tmp_path) -> tuple[bytes, bytes]:
    return (write_findings_csv(frame, tmp_path / "f.csv").read_bytes(),
            write_findings_jsonl(frame, tmp_path / "f.jsonl").read_bytes())


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(*[TRICKY] * len(FINDING_COLUMNS)), max_size=6))
def test_same_bytes_as_pandas(tmp_path_factory, rows):
    tmp_path = tmp_path_factory.mktemp("w")
    frame = pd.DataFrame(rows, columns=list(FINDING_COLUMNS), dtype=object)
    assert _written(frame, tmp_path) == _pandas_bytes(frame, tmp_path)


def test_worked_examples(tmp_path):
    frame = pd.DataFrame([dict.fromkeys(FINDING_COLUMNS, "plain")], dtype=object)
    frame.loc[0, "observed"] = 'say "hi", then\nleave'
    frame.loc[0, "detail"] = '{"url": "https://x.example/a\\b"}'
    frame.loc[0, "npi"] = None
    csv, jsonl = _written(frame, tmp_path)
    assert b'"say ""hi"", then\nleave"' in csv and b",," in csv        # quoted and doubled; missing: empty
    assert b'"detail":"{\\"url\\": \\"https:\\/\\/x.example\\/a\\\\b\\"}"' in jsonl and b'"npi":null' in jsonl
    assert (csv, jsonl) == _pandas_bytes(frame, tmp_path)


def test_text_columns_in_arrow_dtype_and_other_values(tmp_path):
    """Arrow-backed string columns take the fast path; a number in a column falls back to pandas."""
    frame = pd.DataFrame([dict.fromkeys(FINDING_COLUMNS, "x")]).astype("string[pyarrow]")
    assert _written(frame, tmp_path) == _pandas_bytes(frame.astype(object), tmp_path)
    odd = pd.DataFrame([dict.fromkeys(FINDING_COLUMNS, "x")], dtype=object)
    odd.loc[0, "observed"] = 12
    assert _written(odd, tmp_path) == _pandas_bytes(odd, tmp_path)


def test_no_findings(tmp_path):
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in FINDING_COLUMNS})
    assert _written(frame, tmp_path) == _pandas_bytes(frame, tmp_path)

"""Issue 12 reproducers: every malformed package, tidy folder or review map is refused with the project's error.

Each test is one minimal reproducer from the issue; before the fix each ended in a foreign exception (zlib.error,
LZMAError, OverflowError, InvalidIndexError, _csv.Error, UnicodeDecodeError, JSONDecodeError, KeyError,
AttributeError) or was accepted silently. The message must name the file and, where they exist, the line,
column and study.
"""

from __future__ import annotations

import json
import struct
import warnings
import zipfile

import pytest

from fixtures.packages.build import ROWS, ROWS_HEADER, STUDIES, package_files, write_folder, zip_bytes
from helpers.core.errors import DataError
from helpers.data.archive import read_zip
from helpers.data.dataset import load_dataset
from helpers.data.tidy import read_tidy, write_tidy
from helpers.data.reviewmap import load_review_map


def _load(folder, **files):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dataset(write_folder(folder, package_files(**files)))


def _refused(match, fn, *args, **kwargs):
    with pytest.raises(DataError, match=match) as err:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn(*args, **kwargs)
    assert "\n" not in str(err.value).split(": ", 1)[0]
    return err.value


# --- study information -------------------------------------------------------------------------------------


def test_duplicated_line_in_study_information(tmp_path):
    lines = STUDIES.splitlines(keepends=True)
    text = "".join(lines[:3] + [lines[2]] + lines[3:])  # Beta 2005 on lines 3 and 4
    err = _refused(r"study-information.csv: line 4: column Study: study 'Beta 2005': exact duplicate lines "
                   r"\(lines 3, 4\)", _load, tmp_path, study_information=text)
    assert err.study == "Beta 2005" and err.line == 4


def test_repeated_study_label_with_different_information(tmp_path):
    text = STUDIES + "Beta 2005,2006,PUB,parallel,\"12 randomised\",,,\r\n"
    _refused(r"study-information.csv: line 5: column Study: study 'Beta 2005': repeated study label \(lines 3, 5\)",
             _load, tmp_path, study_information=text)


def test_non_ascii_digits_in_participants_are_not_a_count(tmp_path):
    text = STUDIES.replace("61 randomised", "\u0666\u0661 randomised")  # Arabic-Indic 61
    ds = _load(tmp_path, study_information=text)
    st = ds.studies.set_index("study")
    assert st["n_randomised"].isna()["Beta 2005"] and st.loc["Alpha 2001", "n_randomised"] == 40
    assert any("n_randomised not found in column 'char_participants' for 1 stud(ies) (lines 3)" in w
               for w in ds.warnings)


# --- archive -----------------------------------------------------------------------------------------------


def test_corrupted_deflate_data(tmp_path):
    raw = bytearray(zip_bytes({"123-data-rows.csv": (ROWS_HEADER + ROWS).encode()}))
    start = 30 + len("123-data-rows.csv")  # local header + name; no extra field
    raw[start:start + 8] = b"\xff" * 8  # invalid deflate block type
    path = tmp_path / "deflate.zip"
    path.write_bytes(bytes(raw))
    _refused(r"deflate.zip: entry '123-data-rows.csv' could not be read: .*(invalid|Error)", read_zip, path)


def test_patched_compression_method_lzma(tmp_path):
    raw = bytearray(zip_bytes({"123-data-rows.csv": (ROWS_HEADER + ROWS).encode()}))
    struct.pack_into("<H", raw, 8, zipfile.ZIP_LZMA)  # local header: compression method
    cd = raw.rfind(b"PK\x01\x02")
    struct.pack_into("<H", raw, cd + 10, zipfile.ZIP_LZMA)  # central directory: compression method
    start = 30 + len("123-data-rows.csv")
    raw[start:start + 4] = bytes([9, 4, 5, 0])  # a plausible LZMA properties header: LZMAError on decoding
    path = tmp_path / "lzma.zip"
    path.write_bytes(bytes(raw))
    _refused(r"lzma.zip: entry '123-data-rows.csv' could not be read", read_zip, path)


def test_entry_name_not_valid_utf8(tmp_path):
    raw = bytearray(zip_bytes({"123-data-rows.csv": b"x"}))
    for sig, flag_at, name_at in ((b"PK\x03\x04", 6, 30), (b"PK\x01\x02", 8, 46)):
        at = raw.find(sig)
        struct.pack_into("<H", raw, at + flag_at, struct.unpack_from("<H", raw, at + flag_at)[0] | 0x800)
        raw[at + name_at] = 0xFF  # '1' -> an invalid UTF-8 lead byte
    path = tmp_path / "name.zip"
    path.write_bytes(bytes(raw))
    _refused(r"name.zip: an entry name is flagged UTF-8 but is not valid UTF-8", read_zip, path)


# --- package CSVs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [("inf", "'inf' is not a finite number"), ("", "'' is not a whole number from 1 to 100000"),
     ("1.5", "'1.5' is not a whole number from 1 to 100000"), ("1e300", "'1e300' is not a whole number")],
)
def test_analysis_group_must_be_a_whole_number(tmp_path, value, problem):
    rows = ROWS_HEADER + ROWS.replace("1,1,Nausea,Oral", f"{value},1,Nausea,Oral", 1)
    _refused(rf"data-rows.csv: line 4: column 'Analysis group': study 'Gamma 2010': {problem}", _load, tmp_path,
             data_rows=rows)


def test_analysis_number_one_and_a_half_is_not_filed_under_one_one(tmp_path):
    rows = ROWS_HEADER + ROWS.replace("1,1,Nausea,Oral", "1,1.5,Nausea,Oral", 1)
    _refused(r"data-rows.csv: line 4: column 'Analysis number': study 'Gamma 2010': '1.5' is not a whole number", _load, tmp_path,
             data_rows=rows)


def test_header_cell_over_the_csv_field_limit(tmp_path):
    rows = ROWS_HEADER.replace("Footnotes", "F" * 131_073) + ROWS
    _refused(r"data-rows.csv: line 1: field larger than field limit", _load, tmp_path, data_rows=rows)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("8,30,", "8,inf,", r"data-rows.csv: line 3: column 'Experimental N': study 'Beta 2005': 'inf' is not a finite number"),
        ("40.0,12.0,", "inf,12.0,", r"line 5: column 'Experimental mean': study 'Alpha 2001': 'inf' is not a finite number"),
        ("40.0,12.0,", "40.0,-inf,", r"line 5: column 'Experimental SD': study 'Alpha 2001': '-inf' is not a finite number"),
        ("8,30,", "8,317.5,", r"row 3 \(study 'Beta 2005'\): column n_e: a count must be a whole number; got 317.5"),
        ("8,30,", "8,1e300,", r"row 3 \(study 'Beta 2005'\): column n_e: more than MAX_N=10,000,000 participants"),
        ("8,30,", "7.5,30,", r"row 3 \(study 'Beta 2005'\): column events_e: a count must be a whole number"),
    ],
)
def test_numeric_fields_finite_and_counts_whole(tmp_path, old, new, message):
    _refused(message, _load, tmp_path, data_rows=ROWS_HEADER + ROWS.replace(old, new, 1))


def test_exact_duplicate_data_row_refused(tmp_path):
    lines = ROWS.splitlines(keepends=True)
    rows = ROWS_HEADER + "".join(lines[:2] + [lines[1]] + lines[2:])  # Beta 2005 of 1.1 on lines 3 and 4
    err = _refused(r"data-rows.csv: line 4: study 'Beta 2005': exact duplicate of line 3 \(every field equal\)",
                   _load, tmp_path, data_rows=rows)
    assert err.line == 4 and err.study == "Beta 2005"


def test_same_study_twice_with_different_data_accepted_and_warned(tmp_path):
    lines = ROWS.splitlines(keepends=True)
    stratum = lines[1].replace("8,30,0.0,0.0,4,31", "3,12,0.0,0.0,2,11")  # a second stratum of Beta 2005
    ds = _load(tmp_path, data_rows=ROWS_HEADER + "".join(lines[:2] + [stratum] + lines[2:]))
    beta = ds.analysis("1.1").query("study == 'Beta 2005'")
    assert beta["n_e"].tolist() == [30, 12] and beta["events_c"].tolist() == [4, 2]
    assert any("analysis 1.1: study 'Beta 2005' has 2 rows with different data (lines 3, 4); kept as separate"
               in w for w in ds.warnings)


# --- tidy folder -------------------------------------------------------------------------------------------


@pytest.fixture()
def tidy(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset(write_folder(tmp_path / "pkg", package_files()))
    return write_tidy(ds, tmp_path / "tidy")


def _edit_meta(folder, fn):
    path = folder / "dataset.json"
    path.write_text(fn(json.loads(path.read_text(encoding="utf-8"))), encoding="utf-8")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: json.dumps([m]), r"dataset.json: expected a JSON object .*; got a list"),
        (lambda m: json.dumps({k: v for k, v in m.items() if k != "label"}), r"dataset.json: key 'label' missing"),
        (lambda m: json.dumps({k: v for k, v in m.items() if k != "sha256"}), r"dataset.json: key 'sha256' missing"),
        (lambda m: "{not json", r"dataset.json: not valid JSON"),
        (lambda m: json.dumps({**m, "synthetic": "no"}), r"dataset.json: key 'synthetic': 'no' is not of the expected"),
    ],
)
def test_tidy_dataset_json_malformed(tidy, edit, message):
    _edit_meta(tidy, edit)
    _refused(message, read_tidy, tidy)
    _refused(message, load_dataset, tidy)


def test_tidy_rows_not_utf8(tidy):
    path = tidy / "rows.csv"
    path.write_bytes(path.read_bytes().replace(b"Alpha", b"Alph\xe9", 1))
    _refused(r"rows.csv: not valid UTF-8 \(byte \d+\)", read_tidy, tidy)


def test_tidy_rows_with_inf_and_fractional_n(tidy):
    path = tidy / "rows.csv"
    text = path.read_text(encoding="utf-8").splitlines(keepends=True)
    header = text[0].rstrip("\n").split(",")
    cells = text[2].rstrip("\n").split(",")
    cells[header.index("n_e")] = "30.5"
    cells[header.index("n_c")] = "inf"
    path.write_text("".join(text[:2] + [",".join(cells) + "\n"] + text[3:]), encoding="utf-8")
    err = _refused(r"rows.csv: 2 problem\(s\) found", read_tidy, tidy)
    assert "row 3 (study 'Beta 2005'): column n_c: must be finite; got inf" in str(err)
    assert "row 3 (study 'Beta 2005'): column n_e: a count must be a whole number; got 30.5" in str(err)


def test_tidy_folder_missing_a_file_is_a_data_error(tidy):
    (tidy / "studies.csv").unlink()
    _refused(r"studies.csv: missing \(a tidy folder holds", read_tidy, tidy)


# --- review map --------------------------------------------------------------------------------------------


def test_review_map_with_python_tag(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text('review: x\ntitle: t\nrules: !!python/object/apply:os.system ["echo hi"]\n', encoding="utf-8")
    _refused(r"evil.yaml: not valid YAML: could not determine a constructor", load_review_map, path)
    _refused(r"evil.yaml: not valid YAML", lambda: load_dataset(write_folder(tmp_path / "p", package_files()),
                                                                 review=path))


@pytest.mark.parametrize("text", ["\xff\xfe", "rules: {drug: {ketamine: [ketamine]}}\n" + "[" * 10_000])
def test_review_map_undecodable_or_deeply_nested(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_bytes(text.encode("latin-1") if text.startswith("\xff") else text.encode())
    _refused(r"bad.yaml: not valid (YAML|UTF-8)", load_review_map, path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: {drug: {ketamine: ['--']}}\n", r"rules.drug.ketamine: expected a list of keywords, each with a letter"),
        ("rules: [drug]\n", r"rules: expected a mapping; got a list"),
        ("rules: {}\noverrides: {'1.1': {subgroups: [x]}}\n", r"overrides.1.1.subgroups: expected a mapping; got a list"),
        ("rules: {}\ndefaults_by_outcome: 12\n", r"defaults_by_outcome: expected a mapping; got a int"),
    ],
)
def test_review_map_sections_of_the_wrong_shape(tmp_path, text, message):
    """Found by the mutation harness (tests/test_properties.py): a ValueError / AttributeError before."""
    path = tmp_path / "shape.yaml"
    path.write_text(text, encoding="utf-8")
    _refused(rf"shape.yaml: {message}", load_review_map, path)


def test_real_rows_keep_both_dadabayev_strata_with_a_warning(real_rows):
    """CD015373 enters Dadabayev 2020 twice per analysis (with and without PTSD): accepted, and recorded."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset(real_rows)
    twice = [w for w in ds.warnings if "study 'Dadabayev 2020' has 2 rows with different data" in w]
    assert [w.split(": analysis ")[1].split(":")[0] for w in twice] == ["2.1", "2.2"]
    assert (ds.rows["study"] == "Dadabayev 2020").sum() == 4

"""helpers.data.writer: the Cochrane package writer is the reader run backwards (round trips both ways)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pandas as pd
import pytest

from helpers.core import paths
from helpers.data import writer
from helpers.data.datapackage import read_package

TABLES = writer.TABLES


def _sample_members(sample) -> dict[str, bytes]:
    outer = zipfile.ZipFile(sample)
    inner_name = next(n for n in outer.namelist() if n.endswith("-data.zip"))
    inner = zipfile.ZipFile(io.BytesIO(outer.read(inner_name)))
    return {n: inner.read(n) for n in inner.namelist()}


def _assert_same_tables(a, b):
    for key in TABLES:
        pd.testing.assert_frame_equal(getattr(a, key), getattr(b, key), check_dtype=True, obj=key)
    assert a.included == b.included and a.package_id == b.package_id


def test_writer_reproduces_the_revman_sample_byte_for_byte(shared_sample):
    """writer(reader(sample)) == sample: every CSV and the .ris, BOM, line endings, #N/A, 0.0 and 6 decimals."""
    files = writer.package_files(read_package(shared_sample))
    assert files == _sample_members(shared_sample)


def test_reader_of_writer_gives_the_tables_back(shared_sample, tmp_path):
    raw = read_package(shared_sample)
    folder = writer.write_folder(writer.package_files(raw), tmp_path / "pkg")
    _assert_same_tables(read_package(folder), raw)
    zipped = writer.write_zip(writer.package_files(raw), tmp_path / "pkg.zip", "Fleiss1993", raw.package_id)
    _assert_same_tables(read_package(zipped), raw)


def test_number_formats():
    assert writer.format_computed(0.680760) == "0.68076"
    assert writer.format_computed(-1e-9) == "0"
    assert writer.format_computed(np.nan) == ""
    assert writer.format_computed(12.3456789) == "12.345679"
    rows = pd.DataFrame({"analysis_group": [1.0], "n_e": [30.0], "mean_e": [5.0], "weight": [33.3333333],
                         "footnotes": [None]}, index=pd.Index([2], name="line"))  # fmt: skip
    text = writer.table_bytes("data_rows", rows).decode("utf-8")
    assert text == "\ufeffAnalysis group,Experimental N,Experimental mean,Weight,Footnotes\n1,30,5.0,33.333333,\n"


def test_bad_cells_are_named():
    rows = pd.DataFrame({"analysis_group": [1.0], "n_e": ["thirty"]}, index=pd.Index([7], name="line"))
    with pytest.raises(writer.WriterError, match=r"data_rows: row 7: column 'n_e': 'thirty' is not a number"):
        writer.table_bytes("data_rows", rows)
    with pytest.raises(writer.WriterError, match=r"column 'nonsense' has no Cochrane header"):
        writer.table_bytes("settings", pd.DataFrame({"nonsense": [1]}))


def test_write_folder_refuses_data_raw(tmp_path):
    with pytest.raises(PermissionError, match="allow_raw"):
        writer.write_folder({"a.csv": b"x"}, paths.DATA_RAW / "anything")
    assert not (paths.DATA_RAW / "anything").exists()


def test_zip_is_deterministic(tmp_path):
    files = {"1-analysis-data/1-data-rows.csv": b"a", "1-study-data/1-included.ris": b"b"}
    a = writer.write_zip(files, tmp_path / "a.zip", "pkg", "1").read_bytes()
    b = writer.write_zip(files, tmp_path / "b.zip", "pkg", "1").read_bytes()
    assert a == b
    inner = zipfile.ZipFile(io.BytesIO(zipfile.ZipFile(io.BytesIO(a)).read("pkg/1-files/1-data.zip")))
    assert inner.namelist() == sorted(files) and {i.date_time for i in inner.infolist()} == {writer.ZIP_DATE}


def test_study_year_text_is_written_back_as_read():
    """A study year the reader keeps as text ("1989 Oct" -> year 1989, year_text "1989 Oct") is written as the
    package's "Study year" cell again; a plain year stays a number (the reader adds year_text to every package)."""
    rows = pd.DataFrame({"study": ["A", "B"], "year": [1989.0, 2001.0], "year_text": ["1989 Oct", None]},
                        index=pd.Index([2, 3], name="line"))  # fmt: skip
    text = writer.table_bytes("data_rows", rows).decode("utf-8")
    assert text == "\ufeffStudy,Study year\nA,1989 Oct\nB,2001\n"

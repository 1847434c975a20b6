"""helpers.data.datapackage: the real RevMan sample and small malformed packages (errors name file, line, column)."""

from __future__ import annotations

import math

import pytest

from fixtures.packages.build import ROWS, ROWS_HEADER, package_files, write_folder, write_outer_zip, zip_bytes
from helpers.data.datapackage import PackageError, read_package


def test_shared_sample_tables(shared_sample):
    raw = read_package(shared_sample)
    assert (raw.name, raw.package_id) == ("Fleiss1993", "921923100913455418")
    assert len(raw.settings) == 2 and len(raw.data_rows) == 12 and len(raw.study_information) == 12
    s = raw.settings.loc[2]  # line 2 of the settings CSV: analysis 1.1
    assert (s.method_label, s.measure_label, s.model_label, s.log_scale) == ("MH", "Odds Ratio", "Fixed effect", True)
    assert (s.estimate, s.ci_low, s.ci_high, s.q, s.df, s.i2) == (0.896866, 0.840514, 0.956995, 9.946056, 6, 39.67458)
    assert s.data_source_eligibility is None  # '#N/A'
    amis = raw.data_rows.loc[2]
    assert (amis.study, amis.events_e, amis.n_e, amis.events_c, amis.n_c) == ("AMIS", 246, 2267, 219, 2257)
    assert (amis.weight, amis.estimate, amis.ci_low, amis.ci_high) == (10.153491, 1.132736, 0.934665, 1.372783)
    assert raw.study_information.columns[0] == "study"  # BOM stripped from the first header
    assert raw.subgroups.empty and "NS  - AMIS" in raw.included


def test_three_input_forms_agree(tmp_path):
    files = package_files()
    folder = write_folder(tmp_path / "unpacked", files)
    inner = tmp_path / "123-data.zip"
    inner.write_bytes(zip_bytes({k: v.encode() for k, v in files.items()}))
    outer = write_outer_zip(tmp_path / "Tiny.zip", files)
    a, b, c = (read_package(p) for p in (folder, inner, outer))
    for x in (b, c):
        assert x.data_rows.equals(a.data_rows) and x.settings.equals(a.settings)
    assert c.name == "Tiny" and c.package_id == "123"


def test_quoted_commas_na_and_extra_columns(tmp_path):
    extra = ROWS_HEADER.replace("Footnotes", "Footnotes,Brand new column")
    rows = "".join(line + ",surprise\n" for line in ROWS.splitlines())
    raw = read_package(write_folder(tmp_path, package_files(data_rows=extra + rows)))
    assert raw.data_rows.loc[5, "footnotes"] == "note, with comma"
    assert raw.data_rows.loc[5, "analysis_name"] == "Pain intensity, short term"
    assert raw.data_rows.loc[4, "footnotes"] is None  # '#N/A'
    assert (raw.data_rows["brand_new_column"] == "surprise").all()


def test_missing_required_file(tmp_path):
    with pytest.raises(PackageError, match=r"required file '\*-data-rows.csv' not found"):
        read_package(write_folder(tmp_path, package_files(data_rows=None)))


def test_missing_required_column(tmp_path):
    text = ROWS_HEADER.replace("Experimental SD,", "Exp SD,") + ROWS
    with pytest.raises(PackageError, match=r"123-data-rows.csv: line 1: missing required column\(s\) 'Experimental SD'"):
        read_package(write_folder(tmp_path, package_files(data_rows=text)))


def test_non_numeric_value_names_file_line_column(tmp_path):
    text = ROWS_HEADER + ROWS.replace("8,30,", "8,thirty,", 1)
    with pytest.raises(PackageError, match=r"123-data-rows.csv: line 3: column 'Experimental N': study 'Beta 2005': 'thirty' is not a number"):
        read_package(write_folder(tmp_path, package_files(data_rows=text)))


def test_ragged_row_names_line(tmp_path):
    text = ROWS_HEADER + ROWS.replace("Beta 2005,2005", "Beta, 2005,2005", 1)
    with pytest.raises(PackageError, match=r"data-rows.csv: line 3: 25 fields but the header has 24"):
        read_package(write_folder(tmp_path, package_files(data_rows=text)))


def test_zip_problems_surface_as_package_errors(tmp_path):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(zip_bytes({"../123-data-rows.csv": b"x"}))
    with pytest.raises(PackageError, match=r"bad.zip: entry '../123-data-rows.csv'.*zip-slip"):
        read_package(bad)
    notzip = tmp_path / "n.zip"
    notzip.write_bytes(b"PK? no")
    with pytest.raises(PackageError, match=r"n.zip: not a zip archive"):
        read_package(notzip)


def test_placeholders_are_read_as_written(shared_sample):
    raw = read_package(shared_sample)
    assert raw.data_rows.loc[2, "mean_e"] == 0.0 and math.isclose(raw.data_rows.loc[9, "sd_e"], 4.7)

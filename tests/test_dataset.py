"""helpers.data.dataset, tidying and tidy: package -> validated tidy tables; tidy CSV round trip; data/raw is never written."""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pytest

from fixtures.packages.build import ROWS, ROWS_HEADER, package_files, write_folder, write_outer_zip
from helpers.core import paths
from helpers.data.dataset import load_dataset
from helpers.data.tidy import read_tidy, write_tidy
from helpers.data.tidying import SYNTHETIC_LABEL
from helpers.data.schema import ValidationError


def _snapshot(root):
    return sorted((str(p), p.stat().st_mtime_ns) for p in root.rglob("*")) + [("root", root.stat().st_mtime_ns)]


@pytest.fixture()
def tiny(tmp_path):
    return write_outer_zip(tmp_path / "Tiny.zip", package_files())


def test_shared_sample_dataset(shared_sample):
    with pytest.warns(UserWarning, match="not a RoB 2 table"):
        ds = load_dataset(shared_sample, review=None)
    assert ds.label == "Fleiss1993" and not ds.synthetic and len(ds.sha256) == 64
    assert len(ds.studies) == 12 and list(ds.analyses().index) == ["1.1", "1.2"]
    a11 = ds.analysis("1.1")
    assert len(a11) == 7 and set(a11[["measure", "method", "model"]].itertuples(index=False)) == {("OR", "MH", "fixed")}
    assert a11["events_e"].sum() == 2128 and a11["n_c"].sum() == 13817
    assert a11[["mean_e", "sd_e", "giv_estimate", "giv_se"]].isna().all().all()  # 0.0 placeholders -> NaN
    a12 = ds.analysis("1.2")
    assert a12["events_e"].isna().all() and a12["n_e"].sum() == 106 and a12.loc[0, "sd_e"] == 4.7
    pub = ds.published.set_index(["level", "analysis_id"])
    o11 = ds.published.query("level == 'overall' and analysis_id == '1.1'").iloc[0]
    assert (o11.estimate, o11.ci_low, o11.ci_high, o11.q, o11.df, o11.i2) == (
        0.896866, 0.840514, 0.956995, 9.946056, 6, 39.67458)
    o12 = ds.published.query("level == 'overall' and analysis_id == '1.2'").iloc[0]
    assert o12.status == "not published" and math.isnan(o12.estimate)
    assert (pub.loc[("study", "1.2"), "status"] == "not published").all()
    amis = ds.published.query("study == 'AMIS'").iloc[0]
    assert (amis.weight, amis.estimate, amis.ci_low, amis.ci_high) == (10.153491, 1.132736, 0.934665, 1.372783)


def test_tiny_package_tidy_rows(tiny):
    with pytest.warns(UserWarning):
        ds = load_dataset(tiny)
    rows = ds.rows
    assert list(rows["analysis_id"]) == ["1.1"] * 3 + ["1.2"] * 2
    r = rows.iloc[0]
    assert (r.drug, r.route, r.comparator, r.outcome, r.timepoint) == ("ketamine", "intravenous", "placebo", "nausea", "any")
    assert rows.iloc[2]["route"] == "oral" and rows.iloc[3]["timepoint"] == "short"
    assert rows.iloc[3]["analysis_name"] == "Pain intensity, short term" and rows.iloc[3]["outcome"] == "pain_intensity"
    assert rows.iloc[3]["route"] is None  # nothing says the route of analysis 1.2: left empty and warned
    assert any("route not mapped (left NaN) for analysis 1.2" in w for w in ds.warnings)
    st = ds.studies.set_index("study")
    assert st.loc["Beta 2005", "design"] == "crossover" and st.loc["Alpha 2001", "design"] == "parallel"
    assert st.loc["Beta 2005", "n_randomised"] == 61 and st.loc["Beta 2005", "condition"] == "CRPS"
    assert st.loc["Alpha 2001", "route"] == "intravenous" and st.loc["Beta 2005", "rob_overall"] == "High"
    assert list(st.loc["Alpha 2001", ["rob_d1", "rob_d2"]]) == ["Low", "Some concerns"]
    assert rows.set_index("study").loc["Beta 2005", "design"].tolist() == ["crossover", "crossover"]
    assert ds.label == "Tiny" and not ds.synthetic


def test_synthetic_flag_and_dropped_values_warned(tmp_path):
    studies = package_files()["123-study-data/123-study-information.csv"][1:].replace(
        "Alpha 2001,2001,PUB,Randomised parallel trial,\"40 randomised; condition: neuropathic pain\",,,",
        "Alpha 2001,2001,PUB,Randomised parallel trial,\"40 randomised; condition: neuropathic pain\",,,"
        "SYNTHETIC - not real trial data")
    rows = ROWS_HEADER + ROWS.replace("0.0,0.0,0.0,0.0,5,20", "0.0,0.0,3.5,0.0,5,20", 1)
    with pytest.warns(UserWarning, match=r"data-rows.csv: line 2: column mean_e: value 3.5 does not apply"):
        ds = load_dataset(write_folder(tmp_path, package_files(study_information=studies, data_rows=rows)))
    assert ds.synthetic and ds.label == SYNTHETIC_LABEL and ds.studies["synthetic"].tolist() == [True, False, False]
    assert np.isnan(ds.rows.loc[0, "mean_e"])


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("8,30,", "31,30,", r"data-rows.csv: row 3 \(study 'Beta 2005'\): column events_e: events \(31\) exceed n_e \(30\)"),
        ("40.0,12.0,", "40.0,-12.0,", r"data-rows.csv: row 5 \(study 'Alpha 2001'\): column sd_e: SD must be > 0; got -12"),
        ("0,20,48.0", "0,0,48.0", r"data-rows.csv: row 5 \(study 'Alpha 2001'\): column n_e: n must be > 0; got 0"),
    ],
)
def test_domain_errors_name_file_line_column_and_study(tmp_path, old, new, message):
    rows = ROWS_HEADER + ROWS.replace(old, new, 1)
    with pytest.raises(ValidationError, match=message):
        load_dataset(write_folder(tmp_path, package_files(data_rows=rows)))


def test_unknown_setting_label(tmp_path):
    settings = package_files()["123-analysis-data/123-overall-estimates-and-settings.csv"][1:]
    with pytest.raises(ValueError, match=r"settings.csv: line 3: column 'Effect measure': unknown value 'Mean Diff'"):
        load_dataset(write_folder(tmp_path, package_files(settings=settings.replace("Mean Difference", "Mean Diff"))))


def test_tidy_round_trip_is_byte_identical(tiny, tmp_path):
    with pytest.warns(UserWarning):
        ds = load_dataset(tiny)
    first = write_tidy(ds, tmp_path / "t1")
    back = load_dataset(first)  # a tidy folder is accepted too
    second = write_tidy(read_tidy(first), tmp_path / "t2")
    for name in ("rows.csv", "studies.csv", "published.csv", "dataset.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert back.rows.equals(ds.rows) and back.studies.equals(ds.studies) and back.sha256 == ds.sha256


def test_never_writes_under_data_raw(tiny):
    paths.DATA_RAW.mkdir(exist_ok=True)
    before = _snapshot(paths.DATA_RAW)
    with pytest.warns(UserWarning):
        ds = load_dataset(tiny)
    with pytest.raises(PermissionError, match="data/raw"):
        write_tidy(ds, paths.DATA_RAW / "tidy")
    if any(paths.DATA_RAW.iterdir()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            load_dataset()
    assert _snapshot(paths.DATA_RAW) == before
    assert not os.path.exists(paths.DATA_RAW / "tidy")


def test_analysis_lookup_error_lists_known(tiny):
    with pytest.warns(UserWarning):
        ds = load_dataset(tiny)
    with pytest.raises(KeyError, match=r"analysis '9.9' not in Tiny; known: 1.1, 1.2"):
        ds.analysis("9.9")

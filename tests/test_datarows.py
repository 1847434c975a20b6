"""Bare data rows: the R data file (.rda) and the *-data-rows.csv of the real review CD015373.pub2."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from helpers.data.datapackage import PackageError
from helpers.data.datarows import HEADERS, row_data_type
from helpers.data.dataset import load_dataset, read_rows_table
from helpers.data.rdata import BACK, make_names, read_rda_frame, read_rda_rows


def _load(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dataset(path, **kw)


@pytest.fixture(scope="module")
def real(real_rows):
    return _load(real_rows)


def _write_rows_csv(real_rows, folder, edit=None):
    """The .rda's data frame written as the Cochrane Library's CSV export (Cochrane headers, NA as empty)."""
    _, frame = read_rda_frame(real_rows)
    frame = frame.rename(columns=lambda c: BACK.get(c, c))
    if edit is not None:
        frame = edit(frame)
    target = folder / "CD015373-data-rows.csv"
    frame.to_csv(target, index=False, na_rep="", float_format=None)
    return target


def test_make_names_matches_r():
    assert make_names("CI start") == "CI.start"
    assert make_names("O-E") == "O.E"
    assert make_names("Bias arising from the randomization process (judgement)") == \
        "Bias.arising.from.the.randomization.process..judgement."
    assert make_names("1st") == "X1st"
    assert BACK["Experimental.cases"] == "Experimental cases"


def test_rda_rows_shape_and_headers(real_rows):
    rows, label = read_rda_rows(real_rows)
    assert label.endswith("CD015373_pub2_data.rda!CD015373_pub2_data")
    assert rows.shape == (176, 40)  # 39 columns + year_text (the study year as written, when not a plain year)
    assert {"subgroup_number", "overall_bias_judgement", "bias_in_measurement_of_the_outcome_support",
            "review_doi"} <= set(rows.columns)
    assert rows["study"].nunique() == 28
    ids = {f"{int(g)}.{int(n)}" for g, n in zip(rows["analysis_group"], rows["analysis_number"])}
    assert len(ids) == 95 and rows["analysis_group"].nunique() == 13
    first = rows.loc[1]  # R row 1: Lumanauw 2019, analysis 1.1
    assert (first["study"], first["n_e"], first["n_c"]) == ("Lumanauw 2019", 59, 30)
    assert first["mean_e"] == pytest.approx(60.033898) and first["weight"] == pytest.approx(34.134428)
    assert (first["estimate"], first["ci_low"], first["ci_high"]) == pytest.approx((-1.266102, -16.467724, 13.93552))
    assert rows.loc[5, "subgroup"] == "≤1 day" and rows.loc[5, "subgroup_number"] == 3
    assert rows.loc[76, "year"] == 2005  # "2005a" in the file: the letter only tells two reports apart


def test_data_type_read_from_the_cells_the_type_uses(real_rows):
    rows, _ = read_rda_rows(real_rows)
    types = row_data_type(rows)
    # Dadabayev 2020, 2.1: means/SDs plus 0.0 placeholders in the case and GIV cells -> continuous
    assert rows.loc[52, "events_e"] == 0.0 and types[52] == "continuous"
    # 2.2: every cell 0.0 (no events in either arm) -> dichotomous
    assert rows.loc[54, ["mean_e", "sd_e", "events_e", "events_c"]].tolist() == [0, 0, 0, 0] and types[54] == "dichotomous"
    # 79 rows with SDs > 0; 95 with SDs empty and the 2 all-zero rows of 2.2 are dichotomous
    assert types.value_counts().to_dict() == {"dichotomous": 97, "continuous": 79}


def test_load_dataset_reads_the_rda(real):
    assert (len(real.rows), real.studies.shape[0], real.rows["analysis_id"].nunique()) == (176, 28, 95)
    a = real.analyses()
    assert a["data_type"].value_counts().to_dict() == {"dichotomous": 60, "continuous": 35}
    assert a.loc["1.1", ["measure", "method", "model"]].tolist() == ["MD", "IV", "random"]
    assert a.loc["7.19", "measure"] == "SMD"
    # one trial twice in one analysis (two strata), placeholders gone
    dad = real.analysis("2.1")
    assert dad["study"].tolist() == ["Dadabayev 2020"] * 2
    assert dad["mean_e"].tolist() == [43.33, 48.22] and dad["n_c"].tolist() == [10, 9]
    assert dad["events_e"].isna().all() and dad["giv_se"].isna().all()
    assert real.sha256 == "943cda91e23592be2b5dd9ed5ab2e48b4ecf2b9f8f7abf9c5470b43ca7284409"


def test_revman_values_go_to_published(real):
    pub = real.published
    study = pub[pub["level"] == "study"]
    assert len(study) == 176
    row = study[(study["analysis_id"] == "1.9") & (study["study"] == "Lumanauw 2019")].iloc[0]
    assert (row["estimate"], row["ci_low"], row["ci_high"], row["weight"]) == pytest.approx(
        (13.647059, 1.944172, 95.795156, 22.248935))
    # RevMan printed nothing for double-zero rows: not published
    assert study[study["analysis_id"] == "2.2"]["status"].tolist() == ["not published"] * 2


def test_rob2_judgements_from_the_rows(real):
    st = real.studies.set_index("study")
    assert st.loc["Dadabayev 2020", "rob_d1"] == "Some concerns"
    # RoB 2 judges results: Dadabayev differs between 2.1 (some concerns) and 2.2 (high); the first is kept, said
    assert st.loc["Dadabayev 2020", "rob_overall"] == "Some concerns"
    assert any("several rows for ['Dadabayev 2020']" in w for w in real.warnings)


def test_csv_export_reads_like_the_rda(real_rows, real, tmp_path):
    csv = _write_rows_csv(real_rows, tmp_path)
    ds = _load(csv)
    cols = [c for c in ds.rows.columns]
    pd.testing.assert_frame_equal(ds.rows[cols], real.rows[cols])
    pd.testing.assert_frame_equal(ds.published, real.published)
    rows, label = read_rows_table(csv)
    assert label == str(csv) and len(rows) == 176


def test_errors_name_file_row_and_analysis(real_rows, tmp_path):
    def mixed(frame):  # a continuous row (means and SDs, no counts) that RevMan estimated in a dichotomous analysis
        frame.loc[22, ["Experimental mean", "Experimental SD"]] = [50.0, 10.0]
        frame.loc[22, ["Experimental cases", "Control cases"]] = [None, None]
        return frame

    csv = _write_rows_csv(real_rows, tmp_path, mixed)
    with pytest.raises(PackageError, match=r"CD015373-data-rows.csv: analysis 1.9: rows of different data types"):
        _load(csv)
    junk = tmp_path / "junk.rda"
    junk.write_bytes(b"not R data at all")
    with pytest.raises(PackageError, match="junk.rda: not a readable R data file"):
        _load(junk)


def test_headers_cover_the_export():
    assert "Subgroup number" in HEADERS and "Overall bias (support)" in HEADERS
    assert len(set(HEADERS)) == len(HEADERS)


def test_rows_without_a_map_load_with_their_settings_left_empty(real_rows, tmp_path):
    """No map (review_map none, or a map without analysis_settings): the settings are not in the data, so measure,
    method and model stay empty and a warning says helpers.stats.infer.settle reads them off RevMan's values
    (before: the file was refused)."""
    bare = tmp_path / "bare.yaml"
    bare.write_text("review: X\ntitle: t\nrules: {}\n", encoding="utf-8")
    for review in (None, bare):
        ds = _load(real_rows, review=review)
        assert ds.rows["analysis_id"].nunique() == 95 and ds.rows[["measure", "method", "model"]].isna().all().all()
        assert any("95 analyses are not in the data" in w and "settle" in w for w in ds.warnings)

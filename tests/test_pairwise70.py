"""The reader and the settings inference on real Cochrane reviews' data-rows exports (../shared/fixtures/pairwise70).

Fast tests: a handful of files, each chosen for one convention of the export that refused or misread it before
(load_dataset refused all of them on 54b6881). Slow test: every file of the folder, load and reproduction rates.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from helpers.corpus.cli import run_corpus
from helpers.data.dataset import load_dataset
from helpers.data.rdata import BACK, read_rda_frame
from helpers.stats.concordance import concordance
from helpers.stats.infer import settle
from helpers.stats.meta import meta_analysis
from helpers.stats.settings import analysis_arguments


def _load(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dataset(path)


def _settled(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return settle(load_dataset(path))


def _study_checks(ds, analysis=None) -> pd.Series:
    """Status counts of RevMan's per-study estimate, CI and weight against the recomputation."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = concordance(ds)
    table = table[table["level"] == "study"]
    if analysis is not None:
        table = table[table["analysis_id"] == analysis]
    return table["status"].value_counts()


def test_giv_se_in_arm_rows_and_weights_per_subgroup(pairwise70):
    """CD000219: dichotomous rows carry GIV SE with Variance = SE² (was: 'cells of several data types'); analysis
    1.1 shows subgroup totals only, so its weights are percent of each subgroup's IV random-effects pooling."""
    ds = _settled(pairwise70 / "CD000219_pub5_data.rda")
    a = ds.analysis("1.1")
    assert set(a["data_type"]) == {"dichotomous"} and a["giv_se"].isna().all()
    assert a[["measure", "model"]].iloc[0].tolist() == ["RR", "random"]  # MH and IV random weights agree here
    pub = ds.published[(ds.published["level"] == "study") & (ds.published["analysis_id"] == "1.1")]
    assert pub.groupby(a["subgroup"].to_numpy())["weight"].sum().round(4).eq(100).all()
    checks = _study_checks(ds, "1.1")
    assert checks.get("mismatch", 0) == 0 and checks["ok"] == 3 * len(a) + len(a)  # estimate, 2 CI ends, weight


def test_giv_rows_with_placeholder_counts(pairwise70):
    """CD013284: GIV rows with N filled and 0 in the case cells are GIV, not double-zero dichotomous rows
    (were: estimate 0 recomputed for RevMan's 1.0854)."""
    ds = _settled(pairwise70 / "CD013284_pub2_data.rda")
    a = ds.analysis("1.1")
    assert set(a["data_type"]) == {"giv"} and a["measure"].iloc[0] in ("RR", "OR")
    assert a["events_e"].isna().all()
    checks = _study_checks(ds, "1.1")
    assert checks.get("mismatch", 0) == 0 and checks["ok"] == 4 * len(a)


def test_settings_read_off_the_values_not_taken_from_another_review(pairwise70):
    """CD012265: the CD015373 map's settings were applied to it ('MD does not fit dichotomous data')."""
    ds = _settled(pairwise70 / "CD012265_pub2_data.rda")
    got = ds.analyses()[["data_type", "measure"]].to_dict("index")
    assert got["1.1"] == {"data_type": "dichotomous", "measure": "OR"}  # (4/26)/(6/25) = 0.641026
    assert got["1.2"] == {"data_type": "continuous", "measure": "MD"}
    ev = ds.settings_evidence.set_index("analysis_id")
    assert ev.loc["1.1", "status"].startswith("reproduced") and ds.generic is not None


def test_exact_duplicate_row_revman_weighted_is_kept_twice(pairwise70):
    """CD001396: Cohen 2002 appears twice in 1.3 with every field equal and both weighted by RevMan (was
    refused as a copy-paste error): kept twice as RevMan pooled it, numbered by ``entry``, and said."""
    ds = _load(pairwise70 / "CD001396_pub4_data.rda")
    cohen = ds.analysis("1.3").query("study == 'Cohen 2002'")
    assert cohen["entry"].tolist() == [1, 2]
    assert any("repeats line 45 in every field and RevMan gave both a weight" in w for w in ds.warnings)


def test_weights_all_zero_are_not_published(pairwise70):
    """CD000547 1.3: RevMan printed weight 0 for every study (no totals): not published, not a mismatch."""
    ds = _settled(pairwise70 / "CD000547_pub3_data.rda")
    pub = ds.published[(ds.published["level"] == "study") & (ds.published["analysis_id"] == "1.3")]
    assert len(pub) and pub["weight"].isna().all() and pub["estimate"].notna().any()
    assert _study_checks(ds, "1.3").get("mismatch", 0) == 0


def _rows_csv(pairwise70, tmp_path, edit):
    """CD012265's data rows written as the Cochrane Library's CSV export after ``edit(frame)``."""
    _, frame = read_rda_frame(pairwise70 / "CD012265_pub2_data.rda")
    frame = edit(frame.rename(columns=lambda c: BACK.get(c, c)))
    csv = tmp_path / "CD012265-data-rows.csv"
    frame.to_csv(csv, index=False, na_rep="")
    return csv


def test_study_cis_at_99_percent(pairwise70, tmp_path):
    """Study CIs printed at 99 % (RevMan's "Study CI" option): the level is read off the CIs and used."""
    def at99(frame):
        sel = (frame["Analysis group"] == 1) & (frame["Analysis number"] == 2)
        se = (frame.loc[sel, "CI end"] - frame.loc[sel, "CI start"]) / (2 * 1.959963984540054)
        frame.loc[sel, "CI start"] = (frame.loc[sel, "Mean"] - 2.5758293035489 * se).round(6)
        frame.loc[sel, "CI end"] = (frame.loc[sel, "Mean"] + 2.5758293035489 * se).round(6)
        return frame

    ds = _settled(_rows_csv(pairwise70, tmp_path, at99))
    ev = ds.settings_evidence.set_index("analysis_id")
    assert ev.loc["1.2", "ci_level"] == 0.99 and ev.loc["1.3", "ci_level"] == 0.95
    assert ev.loc["1.2", "status"].startswith("reproduced")
    assert (ds.analysis("1.2")["ci_level"] == 0.99).all()
    checks = _study_checks(ds, "1.2")
    assert checks.get("mismatch", 0) == 0 and checks["ok"] == 3


def test_study_year_text_keeps_its_year_and_its_words(pairwise70, tmp_path):
    """'1989 Oct' in Study year (was: "is not a number"): year 1989, the text kept in year_text."""
    def text(frame):
        frame = frame.astype({"Study year": object})
        frame["Study year"] = "2022 Oct"
        frame.loc[frame.index[-1], "Study year"] = "(accessed on 1 February 2015)"
        return frame

    csv = _rows_csv(pairwise70, tmp_path, text)
    ds = _load(csv)
    assert ds.rows["year"].tolist()[:1] == [2022] and ds.rows["year"].iloc[-1] == 2015
    assert ds.rows["year_text"].iloc[0] == "2022 Oct"
    assert ds.rows["year_text"].iloc[-1] == "(accessed on 1 February 2015)"


@pytest.mark.slow
def test_every_review_loads_and_reproduces_revman(pairwise70, tmp_path):
    """Over the whole folder, as the corpus mode runs it (in-process, 2 jobs): >= 99 % of the files load and
    pool; the rest are refused in one line naming the file (no traceback, no defect of ours: status 'failed'
    would be one); >= 99.6 % of RevMan's per-study values compared (estimate, CI ends, weight) are reproduced at
    the printed precision; values neither side has (not estimable) are counted apart."""
    files = sorted(pairwise70.glob("*.rda"))
    summary = run_corpus(pairwise70, tmp_path / "out", jobs=2)
    assert summary["file"].tolist() == [f.name for f in files]
    refused = summary[summary["status"] != "loaded"]
    assert set(refused["status"]) <= {"refused"}, refused[["file", "reason"]].to_string()
    for r in refused.itertuples():
        assert r.reason and "\n" not in r.reason and "Traceback" not in r.reason
    loaded = summary[summary["status"] == "loaded"]
    assert len(loaded) >= 0.99 * len(files), refused[["file", "reason"]].to_string()
    compared, ok = loaded["study_values_compared"].sum(), loaded["study_values_reproduced"].sum()
    assert compared > 100_000 and ok >= 0.996 * compared, (ok, compared)
    assert len(list((tmp_path / "out" / "reviews").glob("*.csv"))) == len(loaded)


def test_overall_only_row_without_subgroup(pairwise70):
    """CD011535 1.4: CIMPACT 2018 is entered per arm in two subgroups (Applicability SUBGROUP_ONLY) and once with
    both arms pooled, Subgroup empty, OVERALL_ONLY (was: "field 'subgroup' is empty in row 34"). RevMan computed
    that row's estimate and CI and gave it an overall weight; the rows entering the overall (all but the two
    SUBGROUP_ONLY ones) carry ~100 % of RevMan's weights, so the empty-subgroup row is read as overall only."""
    ds = _settled(pairwise70 / "CD011535_pub7_data.rda")
    a = ds.analysis("1.4").reset_index(drop=True)
    only = a["applicability"].eq("OVERALL_ONLY")
    assert a.loc[only, "study"].tolist() == ["CIMPACT 2018"] and a.loc[only, "subgroup"].isna().all()
    pub = ds.published[(ds.published["level"] == "study") & (ds.published["analysis_id"] == "1.4")]
    assert abs(pub.loc[~a["applicability"].eq("SUBGROUP_ONLY").to_numpy(), "weight"].sum() - 100) < 0.05
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ma = meta_analysis(a, **analysis_arguments(a)[1])
    assert ma.overall.k == len(a) - 2  # the two SUBGROUP_ONLY arms out, the OVERALL_ONLY row in
    assert sum(res.k for _, res in ma.subgroups) == len(a) - 1  # every row but the OVERALL_ONLY one
    checks = concordance(ds)
    study = checks[(checks["analysis_id"] == "1.4") & (checks["level"] == "study")
                   & checks["quantity"].isin(["estimate", "ci_low", "ci_high"])]
    assert len(study) == 3 * len(a) and (study["status"] == "ok").all()


def test_rob_judgement_not_applicable_is_no_judgement(pairwise70):
    """CD003216: RoB 2 cells 'Not applicable' (was refused: "column rob_d5: 'Not applicable': must be one of Low,
    Some concerns, High"): no judgement (empty), each said in the dataset's warnings."""
    ds = _load(pairwise70 / "CD003216_pub3_data.rda")
    studies = ds.studies.set_index("study")
    assert pd.isna(studies.at["Arias 2008", "rob_d5"]) and pd.isna(studies.at["Houwing 2003", "rob_overall"])
    said = [w for w in ds.warnings if "'Not applicable': no judgement, left empty" in w]
    assert len(said) == 7 and any("Arias 2008" in w for w in said)  # 7 studies; the refusal listed 5

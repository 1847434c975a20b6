"""Issue 17 part B: the review's own settings by default (notebooks 02 and 04), statistic labels that follow
the method, sensitivity subsets that cannot be formed said so, "Favours <drug>" labels."""

from __future__ import annotations

import dataclasses
import json
import warnings

import pytest

from helpers.core import paths
from helpers.data.dataset import load_dataset
from helpers.figures.forest import forest_plot
from helpers.report import render, sensitivity, summary
from helpers.stats import sensitivity as stats_sensitivity
from helpers.stats.published import review_published, rounded


@pytest.fixture(scope="module")
def real(real_rows):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the loader's notes are tested where it is
        rows = load_dataset(real_rows)
    return rows


@pytest.fixture(scope="module")
def real_tables(real):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sensitivity.sensitivity_tables(real, "pain_intensity")


def _parameter(notebook: str, name: str) -> str:
    nb = json.loads((paths.NOTEBOOKS / notebook).read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    line = next(line for line in "".join(cell["source"]).splitlines() if line.startswith(f"{name} ="))
    return line.split("=", 1)[1].split("#")[0].strip()


def test_notebooks_02_and_04_default_to_the_review_settings():
    assert _parameter("02_small_study_effects.ipynb", "estimator") == "None"  # was 'REML'
    assert _parameter("04_sensitivity.ipynb", "estimator") == "None"


def test_all_studies_row_of_1_1_is_the_published_result(real_tables):
    """04's "all studies" row for 1.1 is the review's -15.79 [-32.09, 0.51] (it was REML: -15.80 [-31.69, 0.10])."""
    published = {e["analysis"]: e for e in review_published("cd015373")[0]}["1.1"]
    subsets = real_tables["subsets"].set_index(["analysis_id", "subset"])
    row = subsets.loc[("1.1", "all studies")]
    assert [rounded(row[c], 2) for c in ("estimate", "ci_low", "ci_high")] == [
        published["estimate"], published["ci_low"], published["ci_high"]]
    assert (row["estimator"], row["ci_method"], row["settings"]) == ("DL", "z", sensitivity.REVIEW_MARK)
    view = sensitivity.subsets_view(real_tables["subsets"])
    assert view.loc[0, "estimate [95% CI]"] == "-15.79 [-32.09, 0.51]"


def test_the_grid_marks_the_review_choice_beside_the_alternatives(real_tables):
    grid = real_tables["estimators"]
    one = grid[grid["analysis_id"] == "1.1"].set_index(["estimator", "ci_method"])
    assert len(one) == 8 and list(one["settings"]).count(sensitivity.REVIEW_MARK) == 1
    assert one.loc[("DL", "z"), "settings"] == sensitivity.REVIEW_MARK
    view = sensitivity.grid_view(grid).set_index(["analysis", "CI method"])
    assert view.loc[("1.1", "Wald (z)"), "DL"] == "-15.79 [-32.09, 0.51] (review)"
    assert view.loc[("1.1", "Wald (z)"), "REML"] == "-15.80 [-31.69, 0.10]"  # the alternative, unmarked


def test_subsets_that_cannot_be_formed_say_why(real_tables):
    """The real rows carry no overall RoB judgement for 1.1's studies and no design: no k = 0, no NaN shown."""
    subsets = real_tables["subsets"].set_index(["analysis_id", "subset"])
    rob = subsets.loc[("1.1", "low risk of bias only")]
    assert rob["note"] == ("cannot be formed: the overall risk-of-bias judgement is not in the data rows for any "
                           "of its 3 studies")
    assert subsets.loc[("1.1", "parallel-group only"), "note"].startswith(
        "cannot be formed: the design (parallel or crossover) is not in the data rows")
    assert (subsets["k"] == 0).sum() == 0
    view = sensitivity.subsets_view(real_tables["subsets"])
    assert not view.astype(str).apply(lambda c: c.str.contains("nan|NaN")).any().any()


def test_subsets_are_formed_where_every_study_is_judged():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset()  # the synthetic default: every study has a design and an overall judgement
        sel = next(summary.select(ds, "pain_intensity", drug="ketamine", timepoint="short"))
        sub = stats_sensitivity.restricted(ds.studies, sel.rows, "MD", "DL", "z").set_index("subset")
    parallel = (sel.rows["design"] == "parallel").sum()
    assert sub.loc["parallel-group only", "k"] == parallel and sub.loc["all studies", "note"] == ""
    low = sel.rows["study"].map(ds.studies.set_index("study")["rob_overall"]).eq("Low").sum()
    assert sub.loc["low risk of bias only", "k"] == low
    if low == 0:
        assert sub.loc["low risk of bias only", "note"] == "no study of the analysis qualifies"


def test_an_override_is_named_in_the_tables(real):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tables = sensitivity.sensitivity_tables(real, "pain_intensity", tau2_method="REML",
                                                ci_method="hksj")
    row = tables["subsets"].set_index(["analysis_id", "subset"]).loc[("1.1", "all studies")]
    assert (row["estimator"], row["ci_method"], row["settings"]) == ("REML", "hksj", "override")
    assert [rounded(row[c], 2) for c in ("estimate", "ci_low", "ci_high")] == ["-15.80", "-49.81", "18.21"]


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


def test_hksj_forest_plot_prints_t_with_df_and_its_settings(real):
    sel = next(s for s in summary.select(real, "pain_intensity") if s.analysis_id == "1.1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        review = forest_plot(summary.analyse(sel))
        hksj = forest_plot(summary.analyse(sel, "REML", "hksj"))
    assert "IV, Random, 95% CI" in _texts(review)
    assert "Test for overall effect: Z = 1.90 (P = 0.06)" in _texts(review)
    texts = _texts(hksj)
    assert "IV, Random (REML, HKSJ), 95% CI" in texts and "IV, Random, 95% CI" not in texts
    # metafor 3.8.1: rma(yi, vi, method="REML", test="knha") on 1.1 gives t = -1.9990, df = 2, p = 0.1836
    assert "Test for overall effect: t = 2.00, df = 2 (P = 0.18)" in texts
    assert not any(t.startswith("Test for overall effect: Z") for t in texts)


def test_favours_labels_name_the_drug_and_comparator_on_revman_sides(real):
    by_id = {s.analysis_id: s for o in ("pain_intensity", "responders_50", "any_adverse_event")
             for s in summary.select(real, o)}
    assert render.favours(by_id["1.1"]) == ("Favours ketamine", "Favours placebo")  # lower pain is better
    assert render.favours(by_id["1.3"]) == ("Favours placebo", "Favours ketamine")  # more responders is better
    assert render.favours(by_id["1.9"]) == ("Favours ketamine", "Favours placebo")  # fewer adverse events
    assert render.favours(by_id["2.1"]) == ("Favours ketamine", "Favours active comparator")


def test_favours_labels_stay_generic_without_a_known_direction(real):
    sel = next(s for s in summary.select(real, "pain_intensity") if s.analysis_id == "1.1")
    scale = dataclasses.replace(sel, rows=sel.rows.assign(outcome="quality_of_life"))  # a scale of either direction
    assert render.favours(scale) == render.GENERIC_FAVOURS == ("Favours experimental", "Favours control")
    two = dataclasses.replace(sel, rows=sel.rows.assign(comparator=["placebo", "active", "placebo"]))
    assert render.favours(two) == render.GENERIC_FAVOURS


def test_single_study_analysis_shows_its_ci_as_revman_does(real):
    """1.3 (one study) under the REML + HKSJ override read '5.00 [NA, NA]' in its forest plot and '5.00 [, ]' on
    the index; RevMan prints the study's own CI (the data rows' CI start / end for Noppers 2011a)."""
    sel = next(s for s in summary.select(real, "responders_50") if s.analysis_id == "1.3")
    revman = real.published.query("analysis_id == '1.3' and level == 'study'").iloc[0]
    expected = f"{rounded(revman['estimate'], 2)} [{rounded(revman['ci_low'], 2)}, {rounded(revman['ci_high'], 2)}]"
    assert expected == "5.00 [0.27, 94.34]"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for estimator, ci in ((None, "z"), ("REML", "hksj")):
            ma = summary.analyse(sel, estimator, ci)
            view = summary.findings_view(summary.summary_of_findings([(sel, ma)])).data
            assert view.loc[0, "estimate [95% CI]"] == expected, (estimator, ci)
            assert "5.00 [0.27, 94.34]" in _texts(forest_plot(ma))


def test_estimate_text_never_prints_empty_or_na_intervals():
    from helpers.figures.forest_text import estimate_text

    assert estimate_text(5.0, float("nan"), float("nan")) == "5.00 [CI not estimable]"
    assert estimate_text(float("nan"), float("nan"), float("nan")) == "Not estimable"
    assert estimate_text(1.125, 0.5, 2.0) == "1.13 [0.50, 2.00]"  # RevMan rounds half up


def test_counts_say_not_in_the_data_rows_instead_of_zero(real):
    for by in summary.COUNT_BY:
        table = summary.counts(real, by)
        assert (table["participants"] == summary.NOT_IN_ROWS).all(), by  # was 0 for every drug, route, design
    design = summary.counts(real, "design")
    assert design["design"].tolist() == [summary.NOT_RECORDED, "all trials"] and design["trials"].tolist() == [28, 28]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        synthetic = summary.counts(load_dataset(), "drug")
    assert synthetic["participants"].iloc[-1] == 2309  # every trial gives its number randomised: a number


def test_notebook_00_says_how_many_of_the_67_trials_have_data_rows(real):
    text = summary.trial_coverage(real)
    assert "The review included **67** trials (the review map `data/reviews/cd015373.yaml`)" in text
    assert "**28** of them have data rows" in text and "the other **39** have none" in text
    nb = json.loads((paths.NOTEBOOKS / "00_data.ipynb").read_text(encoding="utf-8"))
    assert any("summary.trial_coverage(ds)" in "".join(c["source"]) for c in nb["cells"])


def test_concordance_warnings_name_the_study_never_a_repr(real):
    """05 printed 'study np.int64(1) not entered' (the row position's numpy repr)."""
    from helpers.stats.concordance import concordance

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        concordance(real)
    entered = [str(w.message) for w in caught if "not entered" in str(w.message)]
    assert entered and not any("np." in m for m in entered)
    assert "study 'Noppers 2011a (row 2)' not entered: no events in either arm (double zero): not estimable for " \
           "RR/OR" in entered

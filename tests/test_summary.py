"""helpers.report.summary and helpers.report.notebook on the default synthetic package (67 trials, 2,309 participants)."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from helpers.core.checks import MetaWarning
from helpers.report import sensitivity, summary
from helpers.stats import sensitivity as stats_sensitivity
from helpers.data.dataset import load_dataset
from helpers.report.notebook import parameters, save_table
from helpers.data.schema import DRUGS


@pytest.fixture(scope="module")
def ds():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dataset()


def _published_overall(ds, aid):
    p = ds.published
    return p[(p["analysis_id"] == aid) & (p["level"] == "overall")].iloc[0]


def test_counts_total_matches_the_review(ds):
    for by in summary.COUNT_BY:
        table = summary.counts(ds, by)
        total = table[table[by] == "all trials"].iloc[0]
        assert (total["trials"], total["participants"]) == (67, 2309)  # Ferraro et al. 2025: 67 RCTs, 2,309 adults
    design = summary.counts(ds, "design").set_index("design")
    assert design.loc["parallel", "trials"] + design.loc["crossover", "trials"] == 67
    assert list(summary.counts(ds, "drug")["drug"][:-1]) == [d for d in DRUGS if d in set(ds.studies["drug"])]
    with pytest.raises(ValueError, match="by must be one of drug, route, design"):
        summary.counts(ds, "colour")


def test_summary_of_findings_row_equals_the_synthetic_packages_own_overall_row(ds):
    """The table carries the pooled numbers unchanged; the synthetic package's overall rows were written by this
    engine (helpers.synthetic.publish.fill_estimates), so this is no comparison with RevMan (see test_published
    and test_real_concordance for those)."""
    results = summary.analyse_all(summary.select_all(ds, ("pain_intensity", "nausea"), drug="ketamine"))
    assert [sel.analysis_id for sel, _ in results] == [  # every selection, outcome by outcome, in analysis order
        sel.analysis_id for outcome in ("pain_intensity", "nausea") for sel in summary.select(ds, outcome, "ketamine")]
    sof = summary.summary_of_findings(results)
    row = sof[(sof["analysis_id"] == "1.2") & (sof["subgroup"] == "all")].iloc[0]
    pub = _published_overall(ds, "1.2")
    for q in ("estimate", "ci_low", "ci_high", "tau2", "i2"):
        assert row[q] == pytest.approx(pub[q], abs=5e-6), q
    assert row["k"] == ds.analysis("1.2")["study"].nunique()
    assert set(sof["drug"]) == {"ketamine"} and {"pain_intensity", "nausea"} <= set(ds.rows.set_index(
        "analysis_id").loc[sof["analysis_id"], "outcome"])


def test_route_filter_keeps_only_that_route(ds):
    sels = list(summary.select(ds, "pain_intensity", route="oral", timepoint="short"))
    assert sels and all(set(s.rows["route"]) == {"oral"} and set(s.rows["timepoint"]) == {"short"} for s in sels)
    with pytest.raises(ValueError, match="route must be one of intravenous, oral, topical, intramuscular, other, unknown"):
        list(summary.select(ds, "pain_intensity", route="rectal"))


def test_estimator_grid_dl_z_equals_the_packages_own_row_and_hksj_is_wider(ds):
    """DL + Wald is the package's setting: that cell equals the package's overall row (written by this engine, not
    RevMan); FE has tau² 0; HKSJ widens the REML interval here."""
    sel = next(summary.select(ds, "pain_intensity", drug="ketamine", timepoint="short"))
    grid = sensitivity.estimator_grid(sel.rows, "MD", {"analysis_id": sel.analysis_id}, ("DL", "z"))
    grid = grid.set_index(["estimator", "ci_method"])
    assert len(grid) == 8
    pub = _published_overall(ds, sel.analysis_id)
    assert grid.loc[("DL", "z"), "estimate"] == pytest.approx(pub["estimate"], abs=5e-6)
    assert grid.loc[("DL", "z"), "ci_low"] == pytest.approx(pub["ci_low"], abs=5e-6)
    assert grid.loc[("FE", "z"), "tau2"] == 0
    width = grid["ci_high"] - grid["ci_low"]
    assert width[("REML", "hksj")] > width[("REML", "z")]


def test_subsets_and_leave_one_out(ds):
    sel = next(summary.select(ds, "pain_intensity", drug="ketamine", timepoint="short"))
    sub = stats_sensitivity.restricted(ds.studies, sel.rows, "MD", "REML", "z").set_index("subset")
    assert sub.loc["all studies", "k"] == len(sel.rows)
    assert sub.loc["parallel-group only", "k"] == (sel.rows["design"] == "parallel").sum()
    low = sel.rows["study"].map(ds.studies.set_index("study")["rob_overall"]).eq("Low").sum()
    assert sub.loc["low risk of bias only", "k"] == low
    loo = sensitivity.leave_one_out(sel.rows, "MD", "REML", "z", {"a": 1})
    assert len(loo) == len(sel.rows) and set(loo["k"]) == {len(sel.rows) - 1}
    assert list(loo.columns[:2]) == ["a", "omitted"]


def test_small_study_groups_below_three_are_warned_not_run(ds):
    groups = summary.bias_groups(ds, "pain_intensity", drug="ketamine")
    with pytest.warns(MetaWarning, match="funnel-plot tests not run"):
        table = summary.small_study_table(groups)
    assert (table.loc[table["k"] < 3, "tests"] == "not run (k < 3)").all()
    ran = table[table["k"] >= 3]
    assert ran["egger_p"].between(0, 1).all() and ran["begg_p"].between(0, 1).all()
    assert (ran["low_power"] == (ran["k"] < 10)).all()


def test_parameters_checked_and_tables_written(tmp_path):
    with pytest.raises(ValueError, match="drug must be one of ketamine, memantine"):
        parameters(drug="aspirin", out_dir=tmp_path)
    with pytest.raises(ValueError, match="estimator must be one of FE, DL, REML, PM"):
        parameters(estimator="ML", out_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="no-such.zip"):
        parameters(data_path=tmp_path / "no-such.zip", out_dir=tmp_path)
    params = parameters(estimator="FE", out_dir=tmp_path)
    assert params.estimator == "FE" and "out_dir" not in repr(params)
    rel = save_table(pd.DataFrame({"x": [1 / 3, np.nan]}), params, "t")
    assert rel == "tables/t.csv"
    assert (tmp_path / "tables" / "t.csv").read_bytes() == b'x\n0.3333333333\n""\n'  # NaN: empty field, quoted so the line is not blank
    with pytest.raises(ValueError, match="plain file name"):
        save_table(pd.DataFrame(), params, "../t")


def test_one_meaning_per_estimator_label(ds):
    """'DL' (and 'FE') mean inverse-variance pooling in the notebooks as in the explorer, also for the package's
    Mantel-Haenszel analyses; the package's own MH-DL is estimator None."""
    from helpers.stats.meta import meta_analysis
    from helpers.stats.settings import estimator_arguments

    # the review (and the default package in its shape) pools risk ratios by inverse variance; the same analysis
    # with RevMan's default Mantel-Haenszel setting
    sel = next(summary.select(ds, "any_adverse_event"))
    settings = sel.settings.copy()
    settings["method"] = "MH"
    sel = dataclasses.replace(sel, settings=settings, rows=sel.rows.assign(method="MH"))
    measure = sel.settings["measure"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for est in ("FE", "DL", "REML"):
            ours = summary.analyse(sel, est, subgroups=False)
            explorer = meta_analysis(sel.rows, measure, **estimator_arguments(est, "z"), study="study")
            assert ours.method == "IV" and ours.overall.estimate == pytest.approx(explorer.overall.estimate, rel=1e-12)
        package = summary.analyse(sel, None, subgroups=False)
    assert package.method == "MH"


def test_funnel_trim_and_fill_follows_the_views_estimator(ds):
    """The funnel figure's trim and fill pools with the estimator of its view, as the small-study table beside
    it (it was always REML while the table followed ``estimator``)."""
    from helpers.report import plan, render

    spec = next(s for s in plan.funnel_plan(ds, "pain_intensity", "ketamine").figures if s.k >= 3)
    rows = spec.selected.rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for est in ("DL", "PM", None):
            figure = render.small_study(spec, est).trim_fill
            table = summary.small_study_tests(spec.selected, spec.route, rows, est)
            show = np.exp if spec.selected.settings["measure"] in ("RR", "OR") else (lambda x: x)
            assert float(show(figure.estimate)) == pytest.approx(table["adjusted_estimate"], rel=1e-12), est
            assert figure.k0 == table["trimfill_k0"]
    reml, review = render.small_study(spec, "REML").trim_fill, render.small_study(spec, None).trim_fill
    # None: the analysis' own settings (random effects, DerSimonian-Laird), no longer REML
    assert reml.pooled.tau2_method == "REML" and review.pooled.tau2_method == "DL"


def test_rows_without_a_route_are_a_recorded_warning(ds):
    from dataclasses import replace

    from helpers.core.checks import MetaWarning

    # in the review's shape an analysis has one route; any analysis with two or more rows shows the rule
    sel = next(s for s in summary.select(ds, "pain_intensity") if len(s.rows) > 1)
    rows = sel.rows.copy()
    rows.loc[0, "route"] = None
    with pytest.warns(MetaWarning, match=rf"analysis {sel.analysis_id}: 1 row\(s\) without a route left out .*"
                                         rf"{rows.loc[0, 'study']}"):
        groups = list(summary.route_groups(replace(sel, rows=rows)))
    assert sum(len(g) for _, g in groups) == len(rows) - 1


def test_findings_view_reads_as_a_reader_reads_it():
    sof = pd.DataFrame({"analysis_id": ["1.1", "1.10"], "analysis": ["Pain", "Adverse events (total)"],
                        "drug": "ketamine", "route": ["intravenous", None], "subgroup": [None, "all"],
                        "timepoint": ["immediate", None], "measure": ["MD", "RR"], "model": "random",
                        "k": [3.0, 4.0], "participants": [173.0, float("nan")], "estimate": [-15.7911, 3.2634],
                        "ci_low": [-32.0875, 1.0512], "ci_high": [0.5053, 10.0917], "p": 0.05, "i2": [68.9, float("nan")],
                        "tau2": 1.0, "warnings": 0})
    view = summary.findings_view(sof)
    assert view.data.to_dict("records") == [
        {"analysis": "1.1", "name": "Pain", "route": "intravenous", "subgroup": "", "time point": "immediate",
         "measure": "MD", "studies": "3", "participants": "173", "estimate [95% CI]": "-15.79 [-32.09, 0.51]",
         "I² (%)": "69"},
        {"analysis": "1.10", "name": "Adverse events (total)", "route": "", "subgroup": "all", "time point": "",
         "measure": "RR", "studies": "4", "participants": "not in the data", "estimate [95% CI]": "3.26 [1.05, 10.09]",
         "I² (%)": ""}]
    page = view.to_html()
    assert page == summary.findings_view(sof).to_html() and "NaN" not in page and ">0<" not in page
    assert summary.findings_view(pd.DataFrame()).empty  # a dataset without these outcomes
    generic = sof.drop(columns=["drug", "route", "timepoint"]).assign(comparison="Drug versus placebo")
    assert list(summary.findings_view(generic).data.columns) == [
        "analysis", "name", "comparison", "subgroup", "measure", "studies", "participants", "estimate [95% CI]",
        "I² (%)"]

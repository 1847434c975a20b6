"""helpers.report.plan on the default synthetic package: figure names, titles, per-route analyses, execution names."""

from __future__ import annotations

import warnings

import pytest

from helpers.report import plan, render, summary
from helpers.data.dataset import load_dataset
from helpers.data.schema import DRUGS


@pytest.fixture(scope="module")
def ds():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dataset()


def test_drugs_present_and_execution_names(ds):
    assert plan.drugs_present(ds) == DRUGS  # all five drugs of the review are in the synthetic package
    assert plan.execution_name("01_efficacy.ipynb", "ketamine") == "01_efficacy--ketamine.ipynb"
    assert plan.execution_name("00_data.ipynb", None) == "00_data.ipynb"
    assert plan.scoped("summary_of_findings_pain_intensity", "memantine") == "summary_of_findings_pain_intensity_memantine"
    assert plan.scoped("concordance", None) == "concordance"


def test_forest_plan_names_titles_and_k(ds):
    """The default package has the real review's shape: one plot per analysis, named drug x comparator x route."""
    fp = plan.forest_plan(ds, ("pain_intensity",), "ketamine")
    by_stem = {f.stem: f for f in fp.figures}
    assert len(by_stem) == len(fp.figures)  # stems unique
    iv = by_stem["forest_ketamine_placebo_intravenous_pain_intensity_immediate"]
    assert (iv.k, iv.route, iv.subgroups, iv.selected.analysis_id) == (3, "intravenous", False, "1.1")
    assert iv.title == ("Comparison 1: Ketamine (intravenous) versus placebo\n"
                        "Outcome 1.1: Pain intensity (continuous), immediate-term follow-up")
    # the review's subgroup analyses are drawn with their subgroups (analysis 1.2: duration of administration)
    by_duration = by_stem["forest_ketamine_placebo_intravenous_pain_intensity_immediate_by_duration"]
    assert (by_duration.selected.analysis_id, by_duration.k, by_duration.subgroups) == ("1.2", 3, True)
    assert by_stem["forest_ketamine_placebo_intravenous_pain_intensity_short_by_condition"].selected.analysis_id == "1.5"
    assert by_stem["forest_ketamine_placebo_intravenous_pain_intensity_medium"].k == 1  # every analysis drawn, as RevMan
    assert by_stem["forest_ketamine_active_oral_pain_intensity_short"].selected.analysis_id == "4.1"
    # the re-analysis the review did not do: ketamine versus placebo with routes as subgroups (1.1, 3.1, 5.1)
    again = by_stem["forest_reanalysis_ketamine_placebo_by_route_pain_intensity_immediate"]
    assert (again.k, again.subgroups) == (6, True) and again.title.startswith("Re-analysis not in the review")
    assert dict(fp.skipped)["forest_reanalysis_ketamine_active_by_route_pain_intensity_short"].startswith(
        "not drawn: 'active' comparators are not pooled across comparisons")
    ae = plan.forest_plan(ds, plan.AE_OUTCOMES, "ketamine")
    assert "forest_ketamine_placebo_intravenous_psychotomimetic" in {f.stem for f in ae.figures}  # no "any" time


def test_per_analysis_plot_pools_as_the_synthetic_packages_overall_row(ds):
    """The planned figure's analysis pools with the package's settings; its overall row was written by this engine
    when the synthetic package was made, so this checks the plan's selection and settings, not RevMan."""
    spec = next(f for f in plan.forest_plan(ds, ("pain_intensity",), "ketamine").figures
                if f.stem == "forest_ketamine_placebo_intravenous_pain_intensity_immediate")
    ma = summary.analyse(spec.selected, subgroups=spec.subgroups)  # package settings: IV, random effects DL
    assert len(ma.subgroups) == 0 and ma.overall.k == 3
    pub = ds.published
    row = pub[(pub["analysis_id"] == "1.1") & (pub["level"] == "overall")].iloc[0]
    for q in ("estimate", "ci_low", "ci_high", "tau2", "i2"):  # calibrated near the review's MD -15.79 (-32.09 to 0.51)
        assert getattr(ma.overall, q) == pytest.approx(row[q], abs=5e-6), q
    assert row["estimate"] == pytest.approx(-15.815951, abs=5e-7)


def test_funnel_plan_needs_three_studies_and_lists_the_rest(ds):
    fu = plan.funnel_plan(ds, "pain_intensity", "ketamine")
    stems = {f.stem: f.k for f in fu.figures}
    assert stems == {"funnel_ketamine_placebo_intravenous_pain_intensity_immediate": 3,
                     "funnel_ketamine_placebo_intravenous_pain_intensity_short": 4}  # fmt: skip
    assert dict(fu.skipped)["funnel_ketamine_placebo_oral_pain_intensity_short"] == "not drawn: k = 2 < 3"
    frame = fu.to_frame()
    assert len(frame) == len(fu.figures) + len(fu.skipped) and set(frame["status"]) >= {"drawn"}


def test_figure_titles_reach_the_drawn_figures(ds):
    fu = plan.funnel_plan(ds, "pain_intensity", "memantine").figures[0]
    fig = render.draw(fu, ds)
    (title,) = [t for t in fig.texts if t.get_gid() == "title"]
    assert fu.title == ("Comparison 7: Memantine (oral) versus placebo\n"
                        "Outcome 7.2: Pain intensity (continuous), short-term follow-up")
    assert title.get_text().split() == fu.title.split()  # the drawn title may wrap long lines
    assert plan.rob_stems("ketamine") == ("rob_traffic_light_ketamine", "rob_summary_ketamine")
    restricted = plan.only_drug(ds, "magnesium")
    assert set(restricted.rows["drug"]) == {"magnesium"} and len(restricted.studies) == len(ds.studies)

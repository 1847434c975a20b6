"""helpers.report.plan on the default synthetic package: figure names, titles, per-route analyses, execution names."""

from __future__ import annotations

import warnings

import pytest

from helpers.report import plan, render
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
    fp = plan.forest_plan(ds, ("pain_intensity",), "ketamine")
    by_stem = {f.stem: f for f in fp.figures}
    assert len(by_stem) == len(fp.figures)  # stems unique
    all_routes = by_stem["forest_ketamine_placebo_pain_intensity_immediate"]
    iv = by_stem["forest_ketamine_placebo_intravenous_pain_intensity_immediate"]
    assert (all_routes.k, all_routes.route, all_routes.subgroups, iv.k, iv.route, iv.subgroups) == (
        14, None, True, 6, "intravenous", False)  # analysis 1.1: its route subgroups, then each route alone
    assert all_routes.title == ("Comparison 1: Ketamine versus placebo\n"
                                "Outcome 1.1: Pain intensity (0-100): immediate term [subgroups: route]")
    assert iv.title == ("Comparison 1: Ketamine versus placebo, intravenous route only\n"
                        "Outcome 1.1: Pain intensity (0-100): immediate term")
    crossover = by_stem["forest_ketamine_placebo_pain_intensity_immediate_crossover"]
    assert crossover.selected.analysis_id == "1.5" and crossover.k == 9
    # a single-route analysis gets one plot, named with its route (analysis 2.1: intravenous only)
    assert "forest_ketamine_usual_care_intravenous_pain_intensity_immediate" in by_stem
    assert "forest_ketamine_usual_care_pain_intensity_immediate" not in by_stem
    assert by_stem["forest_ketamine_placebo_topical_pain_intensity_medium"].k == 1  # every analysis drawn, as RevMan
    assert fp.skipped == ()  # no re-analysis: each drug x comparator x outcome x time point is one analysis here
    assert "other routes only" in by_stem["forest_ketamine_placebo_other_pain_intensity_immediate"].title
    ae = plan.forest_plan(ds, plan.AE_OUTCOMES, "ketamine")
    assert "forest_ketamine_placebo_intravenous_psychotomimetic" in {f.stem for f in ae.figures}  # no "any" time


def test_per_route_analysis_reproduces_the_published_subgroup(ds):
    spec = next(f for f in plan.forest_plan(ds, ("pain_intensity",), "ketamine").figures
                if f.stem == "forest_ketamine_placebo_intravenous_pain_intensity_immediate")
    ma = render.analyse(spec)  # package settings: IV, random effects DerSimonian-Laird
    assert len(ma.subgroups) == 0 and ma.overall.k == 6
    pub = ds.published
    row = pub[(pub["analysis_id"] == "1.1") & (pub["level"] == "subgroup") & (pub["subgroup"] == "Intravenous")].iloc[0]
    for q in ("estimate", "ci_low", "ci_high", "tau2", "i2"):  # RevMan: -15.76 [-31.99, 0.47], tau2 370.7, I2 91%
        assert getattr(ma.overall, q) == pytest.approx(row[q], abs=5e-6), q
    whole = render.analyse(next(f for f in plan.forest_plan(ds, ("pain_intensity",), "ketamine").figures
                              if f.stem == "forest_ketamine_placebo_pain_intensity_immediate"))
    assert sorted(name for name, _ in whole.subgroups) == ["Intravenous", "Oral", "Other routes", "Topical"]


def test_funnel_plan_needs_three_studies_and_lists_the_rest(ds):
    fu = plan.funnel_plan(ds, "pain_intensity", "ketamine")
    stems = {f.stem: f.k for f in fu.figures}
    assert stems["funnel_ketamine_placebo_intravenous_pain_intensity_short"] == 11
    assert min(stems.values()) >= 3
    assert dict(fu.skipped)["funnel_ketamine_placebo_oral_pain_intensity_short"] == "not drawn: k = 2 < 3"
    frame = fu.to_frame()
    assert len(frame) == len(fu.figures) + len(fu.skipped) and set(frame["status"]) >= {"drawn"}


def test_figure_titles_reach_the_drawn_figures(ds):
    fu = plan.funnel_plan(ds, "pain_intensity", "memantine").figures[0]
    fig = render.draw(fu, ds)
    (title,) = [t for t in fig.texts if t.get_gid() == "title"]
    assert title.get_text() == "Comparison 4: Memantine versus placebo\nOutcome 4.1: Pain intensity (0-100): immediate term"
    assert plan.rob_stems("ketamine") == ("rob_traffic_light_ketamine", "rob_summary_ketamine")
    restricted = plan.only_drug(ds, "magnesium")
    assert set(restricted.rows["drug"]) == {"magnesium"} and len(restricted.studies) == len(ds.studies)


def test_expected_figures_counts_the_plan(ds):
    assert plan.expected_figures(ds, "00_data.ipynb", None) == 11
    assert plan.expected_figures(ds, "01_efficacy.ipynb", "ketamine") == len(
        plan.forest_plan(ds, ("pain_intensity",), "ketamine").figures)
    assert plan.expected_figures(ds, "05_concordance.ipynb", None) == 0

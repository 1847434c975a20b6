"""The run's figure index (helpers.report.figindex, issue 18): each figure recorded with its facts by the plans
the notebooks draw from, counted as the notebooks draw, and grouped on the run report by those facts, never by
splitting its file name (``usual_care`` was grouped as "usual", ``ketamine_and_magnesium`` as "and")."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace

import pytest

from helpers.core import paths
from helpers.data.dataset import load_dataset
from helpers.report import figindex, plan
from helpers.report.index import figure_group, figures
from helpers.report.notebook import declared_parameters

NB = {name: paths.NOTEBOOKS / f"{name}.ipynb" for name in
      ("00_data", "01_efficacy", "02_small_study_effects", "03_adverse_events", "05_concordance")}


@pytest.fixture(scope="module")
def ds():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dataset()


def _committed_images(notebook) -> int:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return sum("image/png" in out.get("data", {}) for c in cells if c["cell_type"] == "code" for out in c["outputs"])


@pytest.mark.parametrize("name", ["00_data", "01_efficacy", "02_small_study_effects", "03_adverse_events"])
def test_counts_equal_the_figures_the_committed_notebooks_drew(ds, name):
    """The committed notebooks ran on the default package with their own defaults (drug ketamine for 01-03)."""
    assert figindex.expected_figures(ds, NB[name]) == _committed_images(NB[name]) > 0


def test_defaults_come_from_the_parameters_cell_and_given_values_win(ds):
    assert declared_parameters(NB["02_small_study_effects"])["outcome"] == "pain_intensity"
    funnels = figindex.notebook_figures(ds, NB["02_small_study_effects"], {"drug": "memantine"})
    assert {(f.kind, f.drug, f.outcome) for f in funnels} == {("funnel", "memantine", "pain_intensity")}
    assert figindex.expected_figures(ds, NB["05_concordance"]) == 0
    rob = figindex.notebook_figures(ds, NB["00_data"])
    assert [(f.stem, f.kind, f.drug) for f in rob[:3]] == [
        ("data_overview", "overview", None), ("rob_traffic_light_ketamine", "rob_traffic_light", "ketamine"),
        ("rob_summary_ketamine", "rob_summary", "ketamine")]


def _relabelled(ds):
    """The default package with analysis 1.1's rows compared with usual care and 2.1's given to ketamine plus
    magnesium: names the planner writes as ``..._usual_care_...`` and ``forest_ketamine_and_magnesium_...``."""
    rows = ds.rows.copy()
    rows.loc[rows["analysis_id"] == "1.1", "comparator"] = "usual_care"
    rows.loc[rows["analysis_id"] == "2.1", "drug"] = "ketamine; magnesium"
    return replace(ds, rows=rows)


def test_usual_care_and_drug_combinations_group_by_their_facts(ds):
    facts = figindex.notebook_figures(_relabelled(ds), NB["01_efficacy"], {"drug": None})
    usual = [f for f in facts if f.analysis == "1.1"]
    both = [f for f in facts if f.analysis == "2.1"]
    assert usual and all("_usual_care_" in f.stem and f.comparator == "usual_care" for f in usual)
    assert both and all(f.stem.startswith("forest_ketamine_and_magnesium_") for f in both)
    assert {figure_group(f.to_dict()) for f in usual} == {("ketamine", "usual care")}
    assert {figure_group(f.to_dict()) for f in both} == {("ketamine and magnesium", "active")}  # 2.1 compares with an active medicine
    index = figindex.figure_index(list(facts))
    page = figures({f"figures/{stem}.png": "0" for stem in index}, index)
    assert f"<h3>ketamine versus usual care ({len(usual)})</h3>" in page
    assert f"<h3>ketamine and magnesium versus active ({len(both)})</h3>" in page
    assert "versus usual (" not in page and "versus and (" not in page  # what splitting the names gave


def test_facts_are_the_plans_own(ds):
    spec = plan.forest_plan(ds, plan.EFFICACY_OUTCOMES, "ketamine").figures[0]
    facts = spec.facts()
    rows = spec.selected.rows
    assert (facts.stem, facts.kind, facts.analysis) == (spec.stem, "forest", spec.selected.analysis_id)
    assert facts.drug == "ketamine" and facts.comparator == "; ".join(sorted(rows["comparator"].unique()))
    assert (facts.outcome, facts.timepoint) == (spec.selected.settings["outcome"], spec.selected.settings["timepoint"])
    assert facts.comparison == rows["comparison"].iloc[0] and facts.comparison_number == facts.analysis.split(".")[0]

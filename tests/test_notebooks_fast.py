"""Notebooks 01-03 for all five drugs, fast (issue 18): the per-drug notebooks run on a dataset cut from the default
package (one analysis per drug and outcome, pain intensity and the psychotomimetic family only), each drug as the
runner would give it, in this process (tests/test_any_dataset.run_cells: the notebook's own code cells, no kernel
start-up). Each execution must finish and draw exactly the figures the run's figure index plans for it
(helpers.report.figindex), so the index, the runner's ordering and the notebooks cannot drift apart."""

from __future__ import annotations

import dataclasses
import warnings

import pytest

from helpers.core import paths
from helpers.data.dataset import load_dataset
from helpers.data.schema import DRUGS
from helpers.data.tidy import write_tidy
from helpers.report import figindex
from test_any_dataset import run_cells

OUTCOMES = ("pain_intensity", "psychotomimetic")
PER_DRUG = ("01_efficacy", "02_small_study_effects", "03_adverse_events")


@pytest.fixture(scope="module")
def cut(tmp_path_factory):
    """(tidy folder, dataset) cut from the default package: per drug, the largest analysis of each outcome."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset()
    rows = ds.rows[ds.rows["outcome"].isin(OUTCOMES)]
    sizes = rows.groupby(["drug", "outcome", "analysis_id"])["study"].nunique().reset_index()
    keep = sizes.sort_values(["study", "analysis_id"], ascending=[False, True]).groupby(["drug", "outcome"]).head(1)
    small = dataclasses.replace(ds, rows=rows[rows["analysis_id"].isin(keep["analysis_id"])])
    folder = write_tidy(small, tmp_path_factory.mktemp("cut") / "five-drugs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return folder, load_dataset(folder)


def test_the_cut_holds_every_drug(cut):
    _, ds = cut
    assert set(ds.rows["drug"]) == set(DRUGS) and set(ds.rows["outcome"]) == set(OUTCOMES)


@pytest.mark.parametrize("drug", DRUGS)
@pytest.mark.parametrize("notebook", PER_DRUG)
def test_per_drug_notebook_runs_and_draws_its_planned_figures(cut, notebook, drug, tmp_path, monkeypatch):
    folder, ds = cut
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shown = run_cells(notebook, folder, tmp_path, monkeypatch, {"drug": drug})
    drawn = sorted(p.stem for p in (tmp_path / "figures").glob("*.png"))
    planned = sorted(f.stem for f in figindex.notebook_figures(ds, paths.NOTEBOOKS / f"{notebook}.ipynb",
                                                               {"drug": drug}))
    assert drawn == planned
    if notebook == "01_efficacy":
        assert planned  # every drug has a pain-intensity analysis in the cut
    if notebook == "03_adverse_events":  # only ketamine keeps a harm in the cut; the others say so in one line
        assert any("Not available in this dataset" in s for s in shown) == (drug != "ketamine")
    assert any((tmp_path / "tables").glob(f"*{drug}*.csv")), sorted(p.name for p in (tmp_path / "tables").glob("*"))

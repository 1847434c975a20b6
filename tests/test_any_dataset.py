"""Any dataset runs every notebook: a dataset without some outcomes or without published estimates gets a
"not available in this dataset" section, never an exception (issue 10 point 4).

The notebooks' code cells are executed in this process (same code as a kernel runs, without kernel start-up),
with ``IPython.display.display`` recording what each cell shows.
"""

from __future__ import annotations

import dataclasses
import warnings

import matplotlib
import nbformat
import pytest

from helpers.core import paths
from helpers.data.dataset import load_dataset
from helpers.data.tidy import write_tidy
from helpers.report import plan

pytestmark = pytest.mark.slow  # ten in-process executions: the slow tier (tests/test_notebooks_fast.py is the quick one)

NOTEBOOKS = ("01_efficacy", "02_small_study_effects", "03_adverse_events", "04_sensitivity", "05_concordance")


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    """Tidy folders cut from the default package (ketamine, one analysis per outcome): efficacy outcomes only
    (what 01 covers), and adverse events only (what 03 covers); neither has RevMan's published estimates."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset()
    root = tmp_path_factory.mktemp("cut")
    out = {}
    rows = ds.rows[ds.rows["drug"] == "ketamine"]
    first = rows.groupby("outcome")["analysis_id"].first()  # one analysis per outcome keeps the test quick
    rows = rows[rows["analysis_id"].isin(first)]
    for name, keep in (("pain_only", rows["outcome"].isin(plan.EFFICACY_OUTCOMES)),
                       ("ae_only", rows["outcome"].isin(plan.AE_OUTCOMES))):
        cut = dataclasses.replace(ds, rows=rows[keep], published=ds.published.iloc[0:0])
        out[name] = write_tidy(cut, root / name)
    return out


def run_cells(notebook: str, data_path, out_dir, monkeypatch, parameters: dict | None = None) -> list[str]:
    """Execute the code cells of ``notebooks/<notebook>.ipynb`` with ``data_path`` (and ``parameters`` over the
    notebook's own, e.g. ``{"drug": "memantine"}``); return the Markdown shown."""
    import IPython.display

    matplotlib.use("Agg")
    shown = []
    monkeypatch.setattr(IPython.display, "display",
                        lambda *objs, **kw: shown.extend(getattr(o, "data", "") for o in objs))
    nb = nbformat.read(paths.NOTEBOOKS / f"{notebook}.ipynb", as_version=4)
    namespace = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        exec(compile(cell.source, f"{notebook}.ipynb", "exec"), namespace)
        if "parameters" in cell.metadata.get("tags", []):
            namespace.update(data_path=str(data_path), out_dir=str(out_dir), **(parameters or {}))
    return [s for s in shown if isinstance(s, str)]


@pytest.mark.parametrize("notebook", NOTEBOOKS)
@pytest.mark.parametrize("cut", ["pain_only", "ae_only"])
def test_every_notebook_runs_and_says_what_is_not_available(datasets, notebook, cut, tmp_path, monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shown = run_cells(notebook, datasets[cut], tmp_path, monkeypatch)
    notes = [s for s in shown if "Not available in this dataset" in s]
    expect_note = (notebook == "05_concordance" or (cut == "pain_only") == (notebook == "03_adverse_events"))
    assert bool(notes) == expect_note, shown
    if notebook == "03_adverse_events" and cut == "pain_only":
        assert "no adverse-event outcome (" in notes[0] and "for ketamine" in notes[0]
        # the empty sections below are named once here (their headings stay, their cells show nothing)
        assert ("nor do the sections below that need it (the numbers behind the figure; summary of findings; "
                "forest plots)") in notes[0]
    if notebook == "05_concordance":
        assert "no published estimates" in notes[0]

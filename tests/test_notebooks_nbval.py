"""The committed notebook set: static checks (fast) and nbval against a fresh execution (slow).

nbval re-executes every committed notebook and compares each cell's outputs with the committed ones after
the substitutions in tests/nbval_sanitize.cfg. Refresh the committed outputs with
``python -m helpers.run refresh-notebooks``.
"""

from __future__ import annotations

import ast
import subprocess
import sys

import nbformat
import pytest

from helpers.core import paths
from helpers.run import runner
from helpers.run.execute import KERNEL_NAME

NBVAL_ARGS = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", "tests/nbval_sanitize.cfg", "-p", "no:xdist"]
NOTEBOOKS = runner.default_notebooks()


def _read(path):
    if not path.is_file():
        pytest.fail(f"notebook of the set missing: notebooks/{path.name}")
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell_then_derived_values(path):
    nb = _read(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    assigned = [t.id for node in ast.parse(code[tagged[0]].source).body for t in node.targets]
    assert assigned == list(runner.PARAMETERS), "parameters cell assigns exactly helpers.run.runner.PARAMETERS, in order"
    assert "parameters(" in code[tagged[0] + 1].source, "the next cell derives values with helpers.report.notebook.parameters"
    assert nb.metadata["kernelspec"]["name"] == KERNEL_NAME


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_are_present_and_machine_independent(path):
    nb = _read(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "every code cell executed (run refresh-notebooks)"
    text = nbformat.writes(nb)
    assert str(paths.PROJECT_ROOT.resolve()) not in text, "outputs contain this machine's project path"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"committed notebook has an error output: {errors[0].ename if errors else ''}"
    for cell in code:
        if any(call in cell.source for call in ("forest_plot(", "funnel_plot(", "ae_breakdown_plot(", "draw(")):
            assert cell.source.rstrip().endswith(";"), f"plot cell should end with ';': {cell.source[:60]!r}"
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= 3, "narrative for the reader"


@pytest.mark.slow
def test_nbval_against_fresh_execution():
    missing = [p.name for p in NOTEBOOKS if not p.is_file()]
    assert not missing, f"notebooks missing: {missing}"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *NBVAL_ARGS,
           *[f"notebooks/{p.name}" for p in NOTEBOOKS]]
    done = subprocess.run(cmd, cwd=paths.PROJECT_ROOT, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]

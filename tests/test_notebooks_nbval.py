"""The committed notebook set: static checks (fast) and nbval against a fresh execution (slow).

nbval re-executes every committed notebook and compares each cell's outputs with the committed ones after
the substitutions in tests/nbval_sanitize.cfg; nbval does not compare images, so
``test_committed_images_equal_fresh_execution`` compares every inline PNG byte for byte with a fresh execution.
Refresh the committed outputs with ``python -m helpers.run refresh-notebooks``.
"""

from __future__ import annotations

import ast
import base64
import struct
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


def _images(nb) -> list[tuple[int, str]]:
    """(code cell number, base64 PNG) of every inline image, in order."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    return [(i, o["data"]["image/png"]) for i, c in enumerate(code) for o in c.get("outputs", [])
            if "image/png" in o.get("data", {})]


def _png_dpi(b64: str) -> float:
    """Horizontal resolution recorded in a PNG's pHYs chunk (matplotlib writes the savefig dpi there)."""
    data = base64.b64decode(b64)
    at = data.find(b"pHYs")
    assert at > 0, "PNG without a pHYs chunk"
    per_metre = struct.unpack(">I", data[at + 4:at + 8])[0]
    return per_metre * 0.0254


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_inline_images_are_small(path):
    """Inline figures are previews at INLINE_DPI (the saved PNG/SVG/PDF are the full-resolution outputs)."""
    from helpers.report.notebook import INLINE_DPI

    for cell, image in _images(_read(path)):
        assert round(_png_dpi(image)) == INLINE_DPI, f"code cell {cell}: inline PNG not at {INLINE_DPI} dpi"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_images_equal_fresh_execution(path):
    """Every inline PNG of the committed notebook equals, byte for byte, the same output of a fresh execution
    (byte-stable PNGs make this exact): a figure changed by the code shows up here, where nbval looks away."""
    from helpers.run.verify import execute_fresh

    committed = _images(_read(path))
    fresh = _images(execute_fresh(path))
    assert [c for c, _ in committed] == [c for c, _ in fresh], "images in different cells: refresh-notebooks"
    differ = [cell for (cell, a), (_, b) in zip(committed, fresh) if a != b]
    assert not differ, f"inline images of code cells {differ} differ from a fresh execution: refresh-notebooks"

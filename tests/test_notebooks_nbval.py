"""The committed notebook set: static checks, and nbval against one fresh execution of the whole set.

nbval re-executes every committed notebook once and compares each cell's outputs with the committed ones after
the substitutions in tests/nbval_sanitize.cfg. nbval skips images by default; the plugin tests/nbval_images.py
makes the same comparison cover every inline PNG, byte for byte, so the set is executed once for text and
figures. Refresh the committed outputs with ``python -m helpers.run refresh-notebooks``.
"""

from __future__ import annotations

import ast
import base64
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers.core import paths
from helpers.report import notebook
from helpers.run import runner
from helpers.run.execute import KERNEL_NAME

TESTS = Path(__file__).parent
NBVAL_ARGS = ["--nbval", "--nbval-current-env", "--nbval-sanitize-with", str(TESTS / "nbval_sanitize.cfg"),
              "-p", "no:xdist", "-p", "no:cacheprovider", "-p", "nbval_images"]
NOTEBOOKS = runner.default_notebooks()


def _read(path):
    if not path.is_file():
        pytest.fail(f"notebook of the set missing: notebooks/{path.name}")
    return nbformat.read(path, as_version=4)


def _used_parameters(code_cells) -> set[str]:
    """The parameters a notebook's code uses: every ``params.<name>`` of ``notebook.PARAMETERS``, and ``out_dir``
    when it writes a table or a figure (``save_table``/``publish`` write into ``params.out_dir``)."""
    used = set()
    for cell in code_cells:
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "params":
                used.add(node.attr)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("save_table", "publish"):
                used.add("out_dir")
    return used & set(notebook.PARAMETERS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell_declares_exactly_what_the_notebook_uses(path):
    """The parameters cell declares, in ``notebook.PARAMETERS`` order and as literals, the parameters the
    notebook's code uses and no other (00 and 05 use three); the next cell passes each to ``parameters`` by
    name and derives every other value (papermill does not recompute values derived in the parameters cell)."""
    nb = _read(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    tagged = [i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    declared = list(notebook.declared_parameters(path))  # literals only, else ParameterError
    assert declared == [p for p in notebook.PARAMETERS if p in declared], "declared in notebook.PARAMETERS order"
    assert set(declared) == _used_parameters(code[tagged[0] + 1:]), "declares exactly the parameters it uses"
    call = next(node for node in ast.walk(ast.parse(code[tagged[0] + 1].source))
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "parameters")
    assert not call.args and [(k.arg, k.value.id) for k in call.keywords] == [(p, p) for p in declared]
    assert nb.metadata["kernelspec"]["name"] == KERNEL_NAME


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_outputs_are_present_and_machine_independent(path):
    nb = _read(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "every code cell executed (run refresh-notebooks)"
    text = nbformat.writes(nb)
    assert str(paths.PROJECT_ROOT.resolve()) not in text, "outputs contain this machine's project path"
    addresses = re.findall(r"<[^<>]* at 0x[0-9a-fA-F]{6,16}>", text)
    assert not addresses, f"outputs contain memory addresses (differ per process): {addresses[:2]}"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"committed notebook has an error output: {errors[0].ename if errors else ''}"
    for cell in code:
        if any(call in cell.source for call in ("forest_plot(", "funnel_plot(", "ae_breakdown_plot(", "draw(")):
            assert cell.source.rstrip().endswith(";"), f"plot cell should end with ';': {cell.source[:60]!r}"
    assert sum(c.cell_type == "markdown" for c in nb.cells) >= 3, "narrative for the reader"


def nbval(*notebooks: Path, cwd: Path = paths.PROJECT_ROOT) -> subprocess.CompletedProcess:
    """Run nbval (with the image plugin) on ``notebooks`` in a pytest subprocess: one kernel per notebook."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, "-m", "pytest", "-q", "--rootdir", str(cwd), *NBVAL_ARGS, *map(str, notebooks)]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=1800, env=env)


@pytest.mark.notebooks
def test_nbval_against_fresh_execution():
    """The committed set, executed once: every cell's text and inline PNGs equal a fresh execution."""
    missing = [p.name for p in NOTEBOOKS if not p.is_file()]
    assert not missing, f"notebooks missing: {missing}"
    done = nbval(*(paths.NOTEBOOKS.relative_to(paths.PROJECT_ROOT) / p.name for p in NOTEBOOKS))
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


TINY_PNGS = (  # two 1x1 PNGs (black, white): a committed image and a changed one
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==",
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGP4DwABAQEAsTj2FAAAAABJRU5ErkJggg==",
)


def _image_notebook(path: Path, shown: str, committed: str) -> Path:
    """A one-cell notebook that displays PNG ``shown`` and whose committed output is PNG ``committed``."""
    cell = nbformat.v4.new_code_cell(
        "import base64\nfrom IPython.display import Image, display\n"
        f"display(Image(data=base64.b64decode({shown!r})))", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "image/png": committed, "text/plain": "<IPython.core.display.Image object>"})]
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


@pytest.mark.parametrize("committed, expect_pass", [(0, True), (1, False)], ids=["same-image", "changed-image"])
def test_image_plugin_makes_nbval_compare_inline_pngs(tmp_path, committed, expect_pass):
    # without the plugin nbval passes a notebook whose committed figure differs from what the code draws
    nb = _image_notebook(tmp_path / "figure.ipynb", TINY_PNGS[0], TINY_PNGS[committed])
    done = nbval(nb.relative_to(tmp_path), cwd=tmp_path)
    assert (done.returncode == 0) is expect_pass, done.stdout[-3000:]
    if not expect_pass:
        assert "mismatch 'image/png'" in done.stdout

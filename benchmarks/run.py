"""Wall time of the full notebook run against its floor, and where the run's time goes (its stages).

The floor is what the run cannot go below on ``--jobs`` workers: per execution of the plan, a kernel start and
the library imports of that notebook (every ``import`` of its code cells, executed by papermill in a notebook of
nothing else), summed over the executions and divided by the jobs. The full run is
``helpers.run.runner.run_set`` of the default set with ``--jobs`` processes. Aim: the run within 2x its floor.

Stages (seconds summed over executions): kernel start and stop (an execution's papermill time outside its
cells); in the cells, the library imports (each notebook's imports cell as the floor's kernels ran it), then the
rest split into computing, drawing (the ``helpers.figures`` plot functions) and saving (``publish``: PNG, SVG and
PDF by ``Figure.savefig`` format, and the inline preview) by the shares measured when one execution of each
notebook (its longest) is re-run in this process with those functions timed; export
(``helpers.report.export.reader_html`` of every executed notebook, re-run here), and the runner outside the
kernels (load and plan before the first kernel; the last export, hashing and index.html after the last one).
``WHY_NOT_CUT`` says why what remains above the floor cannot be cut without changing a published byte.

    python benchmarks/run.py [--jobs 2] [--quick] [--json PATH] [--keep RUN_FOLDER]

``--quick``: the runner's tiny test notebook (``tests/fixtures/notebooks/fixture_figure.ipynb``) on one job:
the same machinery in seconds (what make test runs), not a measurement of the set.
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import matplotlib
import nbformat
import papermill as pm
from _common import Report, Row, emit, parser

from helpers.core import paths
from helpers.report.export import reader_html
from helpers.run import runner
from helpers.run.execute import KERNEL_NAME, kernel_environment

#: The plot functions whose time counts as drawing ({module: names}); everything else in a cell is computing.
DRAWING = {
    "helpers.figures.forest": ("forest_plot",), "helpers.figures.funnel": ("funnel_plot",),
    "helpers.figures.adverse": ("ae_breakdown_plot",), "helpers.figures.overview": ("overview_plot",),
    "helpers.figures.robplot": ("rob_traffic_light", "rob_summary"),
}
SAVING = {"helpers.report.notebook": ("publish",)}
FORMATS = ("png", "svg", "pdf")  # helpers.figures.style.FORMATS, timed one by one inside SAVING
#: What stays above the floor and why it is not cut (printed with the stages; README, Performance).
WHY_NOT_CUT = (
    "every figure is drawn three times, once per format: the PNG by Agg at 300 dpi, the SVG with text as paths, "
    "the PDF with embedded TrueType subsets; each renderer draws every artist itself, and no format can be made "
    "from another without changing its bytes",
    "the PNG's zlib level, the 300 dpi and the SVG/PDF text handling are what the published bytes are made of; "
    "PDF font subsets are already made once per font and glyph set in a kernel (helpers.figures.pdf_fonts)",
    "the jobs run in parallel already; saving the three formats in parallel inside a kernel would only compete "
    "with the other job for the same cores",
)
AIM = 2.0  # the full run within AIM x its floor
QUICK_NOTEBOOK = paths.PROJECT_ROOT / "tests" / "fixtures" / "notebooks" / "fixture_figure.ipynb"


def import_lines(notebook: Path) -> str:
    """Every import statement of the notebook's code cells (the library imports an execution pays for)."""
    lines = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "code":
            tree = ast.parse("\n".join(ln for ln in cell.source.splitlines() if not ln.lstrip().startswith("%")))
            lines += [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    return "\n".join(dict.fromkeys(lines))


def floor_seconds(notebooks: list[Path], workdir: Path) -> dict[str, tuple[float, float]]:
    """{notebook name: (seconds for papermill to execute a notebook holding only its imports, of which the
    imports cell)}."""
    out = {}
    for nb in notebooks:
        empty = nbformat.v4.new_notebook()
        empty.cells = [nbformat.v4.new_code_cell(import_lines(nb))]
        source, done = workdir / f"imports-{nb.name}", workdir / f"done-{nb.name}"
        nbformat.write(empty, source)
        start = time.perf_counter()
        with kernel_environment():
            pm.execute_notebook(str(source), str(done), kernel_name=KERNEL_NAME, progress_bar=False,
                                cwd=str(nb.parent))
        total = time.perf_counter() - start
        cells = nbformat.read(done, as_version=4).cells
        out[nb.name] = (total, sum(c.metadata.get("papermill", {}).get("duration") or 0.0 for c in cells))
    return out


def _stamp(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def run_stages(run_dir: Path) -> tuple[dict[str, dict[str, float]], float]:
    """({execution: {total, cells}} from papermill's metadata, seconds from first kernel start to last end)."""
    per, starts, ends = {}, [], []
    for path in sorted((run_dir / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        meta = nb.metadata["papermill"]
        cells = sum(c.metadata.get("papermill", {}).get("duration") or 0.0 for c in nb.cells)
        per[path.name] = {"total": meta["duration"], "cells": cells, "source": Path(meta["input_path"]).name}
        starts.append(_stamp(meta["start_time"]))
        ends.append(_stamp(meta["end_time"]))
    return per, max(ends) - min(starts)


def export_seconds(run_dir: Path) -> float:
    start = time.perf_counter()
    for path in sorted((run_dir / "notebooks").glob("*.ipynb")):
        reader_html(nbformat.read(path, as_version=4), f"../notebooks/{path.name}")
    return time.perf_counter() - start


PARTS = ("computing", "drawing", *(f"saving {fmt.upper()}" for fmt in FORMATS), "inline preview")


def cell_shares(notebook: Path, drug: str | None, out_dir: Path) -> dict[str, float]:
    """{part: share of cell time} for ``PARTS`` of one execution re-run in this process with the ``DRAWING`` and
    ``SAVING`` functions timed (their module attributes wrapped while it runs), saving split by the format
    ``Figure.savefig`` writes; the rest of ``publish`` is the inline preview."""
    import importlib

    from matplotlib.figure import Figure

    matplotlib.use("agg")
    spent: dict[str, float] = defaultdict(float)
    depth = {"n": 0}
    saved = []

    def timed(stage, fn):
        def wrapper(*args, **kwargs):
            if depth["n"]:
                return fn(*args, **kwargs)
            depth["n"] += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[stage] += time.perf_counter() - start
                depth["n"] -= 1
        return wrapper

    def by_format(fn):
        def savefig(self, *args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(self, *args, **kwargs)
            finally:
                spent[f"saving {str(kwargs.get('format')).upper()}"] += time.perf_counter() - start
        return savefig

    for stage, table in (("drawing", DRAWING), ("publish", SAVING)):
        for module_name, names in table.items():
            module = importlib.import_module(module_name)
            for name in names:
                saved.append((module, name, getattr(module, name)))
                setattr(module, name, timed(stage, getattr(module, name)))
    saved.append((Figure, "savefig", Figure.savefig))
    Figure.savefig = by_format(Figure.savefig)
    cells = [c.source for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"]
    namespace: dict = {}
    exec(cells[0], namespace)  # the parameters cell
    namespace.update(drug=drug, out_dir=str(out_dir))
    start = time.perf_counter()
    cwd = os.getcwd()
    try:
        os.chdir(notebook.parent)
        with contextlib.redirect_stdout(io.StringIO()), kernel_environment():
            for source in cells[1:]:
                exec(compile(source, notebook.name, "exec"), namespace)
    finally:
        os.chdir(cwd)
        for module, name, fn in saved:
            setattr(module, name, fn)
    total = time.perf_counter() - start
    formats = [f"saving {fmt.upper()}" for fmt in FORMATS]
    shares = {part: spent[part] / total for part in ("drawing", *formats)}
    shares["inline preview"] = max(spent["publish"] - sum(spent[f] for f in formats), 0.0) / total
    return {"computing": max(1 - sum(shares.values()), 0.0), **shares}


def stages_of(per: dict[str, dict], floors: dict[str, tuple[float, float]], shares: dict[str, dict[str, float]],
              export: float, outside: float) -> dict[str, float]:
    """The run's stages (seconds summed over executions): kernel start and stop, the imports cell (as the floor
    ran it, at most the execution's cells), the rest of the cells by ``shares``, export, the runner outside."""
    stages = {"kernel start and stop (outside cells)": sum(v["total"] - v["cells"] for v in per.values())}
    imports = {name: min(floors[v["source"]][1], v["cells"]) for name, v in per.items()}
    stages["cells: library imports (as in the floor)"] = sum(imports.values())
    for part in PARTS:
        stages[f"cells: {part}"] = sum((v["cells"] - imports[name]) * shares[v["source"]][part]
                                       for name, v in per.items())
    stages["export (reader HTML, re-run)"] = export
    stages["runner outside kernels (plan, hashes, index)"] = outside
    return stages


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--keep", type=Path, help="keep the run folder here (to compare its manifest.json hashes)")
    args = p.parse_args(argv)
    jobs = 1 if args.quick else args.jobs
    notebooks = [QUICK_NOTEBOOK] if args.quick else runner.default_notebooks()
    with tempfile.TemporaryDirectory(prefix="nmda-bench-") as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        result = runner.run_set(args.keep or work / "run", notebooks=notebooks, jobs=jobs)
        wall = time.perf_counter() - start
        per, kernels_span = run_stages(result.run_dir)
        export = export_seconds(result.run_dir)
        floors = floor_seconds(notebooks, work)
        shares = {}
        for nb in notebooks:
            mine = {k: v for k, v in per.items() if v["source"] == nb.name}
            name = max(mine, key=lambda k: mine[k]["cells"])  # its longest execution (the most figures)
            drug = name.split("--", 1)[1].removesuffix(".ipynb") if "--" in name else None
            shares[nb.name] = cell_shares(nb, drug, work / "profile")
    n = len(per)
    floor = sum(floors[v["source"]][0] for v in per.values()) / jobs
    stages = stages_of(per, floors, shares, export, max(wall - kernels_span, 0.0))
    saving = sum(v for k, v in stages.items() if k.startswith("cells: saving"))
    report = Report("run.py", rows=[Row(
        f"{'quick: test notebook' if args.quick else 'full run'}: {n} executions, --jobs {jobs}", wall,
        f"floor: kernel start + imports x {n} / {jobs}", floor, f"<= {AIM:g}x floor")], stages=stages, notes=[
        "floor per execution (kernel start + that notebook's imports, papermill): "
        + ", ".join(f"{k.removesuffix('.ipynb')} {v[0]:.1f} s" for k, v in floors.items()),
        "cells after the imports split by the shares of one execution per notebook re-run in this process: "
        + ", ".join(f"{k.removesuffix('.ipynb')} " + "/".join(f"{100 * s[p]:.0f}" for p in PARTS)
                    for k, s in shares.items()) + " % " + "/".join(PARTS),
        f"above the floor: {wall - floor:.1f} s of wall time on {jobs} jobs; saving figures is {saving:.1f} s "
        f"of the {sum(stages.values()):.1f} s summed over executions",
        *(f"not cut: {why}" for why in WHY_NOT_CUT),
    ])
    emit(report, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

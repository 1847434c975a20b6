"""Wall time of the full notebook run against its floor, and where the run's time goes (its stages).

The floor is what the run cannot go below on ``--jobs`` workers: per execution of the plan, a kernel start and
the library imports of that notebook (every ``import`` of its code cells, executed by papermill in a notebook of
nothing else), summed over the executions and divided by the jobs. The full run is
``helpers.run.runner.run_set`` of the default set with ``--jobs`` processes. Aim: the run within 2x its floor.

Stages (seconds summed over executions): kernel start and stop (an execution's papermill time outside its
cells), the cells split into computing, drawing (the ``helpers.figures`` plot functions) and saving
(``helpers.figures.style.save_figure``: PNG, SVG, PDF) by the shares measured when one execution of each notebook
(its longest) is re-run in this process with those functions timed, export (``helpers.report.export.reader_html`` of every
executed notebook, re-run here), and the runner outside the kernels (load and plan before the first kernel;
the last export, hashing and index.html after the last one).

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
SAVING = {"helpers.figures.style": ("save_figure",)}
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


def floor_seconds(notebooks: list[Path], workdir: Path) -> dict[str, float]:
    """{notebook name: seconds for papermill to execute a notebook holding only its imports}."""
    out = {}
    for nb in notebooks:
        empty = nbformat.v4.new_notebook()
        empty.cells = [nbformat.v4.new_code_cell(import_lines(nb))]
        source = workdir / f"imports-{nb.name}"
        nbformat.write(empty, source)
        start = time.perf_counter()
        with kernel_environment():
            pm.execute_notebook(str(source), str(workdir / f"done-{nb.name}"), kernel_name=KERNEL_NAME,
                                progress_bar=False, cwd=str(nb.parent))
        out[nb.name] = time.perf_counter() - start
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


def cell_shares(notebook: Path, drug: str | None, out_dir: Path) -> dict[str, float]:
    """{computing, drawing, saving: share of cell time} of one execution re-run in this process with the
    ``DRAWING`` and ``SAVING`` functions timed (their module attributes wrapped while it runs)."""
    import importlib

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

    for stage, table in (("drawing", DRAWING), ("saving", SAVING)):
        for module_name, names in table.items():
            module = importlib.import_module(module_name)
            for name in names:
                saved.append((module, name, getattr(module, name)))
                setattr(module, name, timed(stage, getattr(module, name)))
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
    shares = {"drawing": spent["drawing"] / total, "saving": spent["saving"] / total}
    return {"computing": 1 - sum(shares.values()), **shares}


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
    floor = sum(floors[v["source"]] for v in per.values()) / jobs
    stages = {"kernel start and stop (outside cells)": sum(v["total"] - v["cells"] for v in per.values())}
    for part in ("computing", "drawing", "saving"):
        stages[f"cells: {part}"] = sum(v["cells"] * shares[v["source"]][part] for v in per.values())
    stages["export (reader HTML, re-run)"] = export
    stages["runner outside kernels (plan, hashes, index)"] = max(wall - kernels_span, 0.0)
    report = Report("run.py", rows=[Row(
        f"{'quick: test notebook' if args.quick else 'full run'}: {n} executions, --jobs {jobs}", wall,
        f"floor: kernel start + imports x {n} / {jobs}", floor, f"<= {AIM:g}x floor")], stages=stages, notes=[
        "floor per execution (kernel start + that notebook's imports, papermill): "
        + ", ".join(f"{k.removesuffix('.ipynb')} {v:.1f} s" for k, v in floors.items()),
        "cells split by the shares of one execution per notebook re-run in this process: "
        + ", ".join(f"{k.removesuffix('.ipynb')} " + "/".join(f"{100 * s[p]:.0f}" for p in ("computing", "drawing",
                                                                                         "saving"))
                    for k, s in shares.items()) + " % computing/drawing/saving",
    ])
    emit(report, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

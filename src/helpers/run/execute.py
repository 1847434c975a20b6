"""Executing notebooks: one papermill execution per call (with its HTML export), a process pool over many.

Kernels run with ``PYTHONHASHSEED=0`` and ``SOURCE_DATE_EPOCH=0`` (``KERNEL_ENV``) so set iteration order and the
dates matplotlib writes into PDF/SVG cannot differ between runs. Notebook errors never raise here: each
execution ends in a :class:`NotebookOutcome` naming the failed cell (0-based in the source notebook).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat

from helpers.core import paths

KERNEL_NAME = paths.KERNEL_NAME
KERNEL_ENV = {"PYTHONHASHSEED": "0", "SOURCE_DATE_EPOCH": "0"}
CELL_TIMEOUT = 1800  # seconds per cell


@contextlib.contextmanager
def kernel_environment():
    """Set ``KERNEL_ENV`` for kernels started inside the block; restore the caller's environment after."""
    saved = {k: os.environ.get(k) for k in KERNEL_ENV}
    os.environ.update(KERNEL_ENV)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass(frozen=True)
class NotebookOutcome:
    """How one notebook execution ended. ``cell_index`` is 0-based in the source notebook."""

    notebook: str
    ok: bool
    seconds: float
    message: str = ""
    cell_index: int | None = None
    first_line: str | None = None


def check_kernel(kernel_name: str) -> None:
    """Raise a clear error when the Jupyter kernel the runner needs is not installed."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        raise RuntimeError(
            f"Jupyter kernel '{kernel_name}' is not installed; run `make install` or "
            f"`python -m ipykernel install --sys-prefix --name {kernel_name}`"
        ) from None


# execution (one notebook per call; top-level so process pools can pickle it)


def _failed_cell(executed: Path) -> tuple[int | None, str | None]:
    """(0-based index in the source notebook, first source line) of the first cell with an error output."""
    try:
        nb = nbformat.read(executed, as_version=4)
    except Exception:  # partial notebook unreadable: report without the cell
        return None, None
    source_index = 0
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags or "papermill-error-cell-tag" in tags:
            continue
        has_error = any(o.get("output_type") == "error" for o in cell.get("outputs", []))
        if has_error or cell.get("metadata", {}).get("papermill", {}).get("exception") is True:
            lines = [ln for ln in cell.source.splitlines() if ln.strip()]
            return source_index, (lines[0].strip() if lines else "")
        source_index += 1
    return None, None


def _execute(task: dict) -> NotebookOutcome:
    """Execute one notebook with papermill and export it to HTML; never raises for notebook errors."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    source, output, html_out = Path(task["source"]), Path(task["output"]), Path(task["html"])
    name = task["name"]
    start = time.perf_counter()
    with kernel_environment():
        try:
            pm.execute_notebook(
                str(source), str(output), parameters=task["parameters"], kernel_name=task["kernel"],
                progress_bar=False, cwd=str(source.parent), execution_timeout=CELL_TIMEOUT,
            )
            outcome = NotebookOutcome(name, True, time.perf_counter() - start)
        except PapermillExecutionError as exc:
            index, first = _failed_cell(output)
            where = f"cell {index} (0-based) `{first}`" if index is not None else "an unidentified cell"
            outcome = NotebookOutcome(
                name, False, time.perf_counter() - start, f"{name} failed in {where}: {exc.ename}: {exc.evalue}",
                index, first,
            )
        except Exception as exc:  # kernel death, timeout, unreadable notebook
            outcome = NotebookOutcome(name, False, time.perf_counter() - start,
                                      f"{name} could not be executed: {type(exc).__name__}: {exc}")
    if output.is_file():
        _scrub_and_export(output, html_out, task["parameters"].get("data_path"))
    return outcome


def _scrub_and_export(notebook: Path, target: Path, data_path: str | None) -> None:
    """Remove this machine's paths from the executed notebook (run folder, data folder, project root become
    ``<run folder>``, ``<data folder>``, ``<project>``), then write the reader's HTML export of it."""
    from helpers.report.export import reader_html, scrub_paths

    replacements = {str(notebook.parent.parent): "<run folder>", str(paths.PROJECT_ROOT.resolve()): "<project>"}
    if data_path is not None:
        replacements[str(Path(data_path).parent)] = "<data folder>"
    nb = scrub_paths(nbformat.read(notebook, as_version=4), replacements)
    nbformat.write(nb, notebook)
    target.write_text(reader_html(nb, f"../notebooks/{notebook.name}"), encoding="utf-8")


def execute_tasks(tasks: list[dict], jobs: int, progress: bool) -> list[NotebookOutcome]:
    """Execute ``tasks`` (started in list order) and return the outcomes in the same order."""
    from tqdm import tqdm

    bar = tqdm(total=len(tasks), desc="notebooks", unit="nb", disable=not progress, file=sys.stderr)
    results: dict[str, NotebookOutcome] = {}
    try:
        if jobs == 1:
            for task in tasks:
                results[task["name"]] = _execute(task)
                bar.update()
        else:
            context = multiprocessing.get_context("fork")
            with cf.ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), mp_context=context) as pool:
                futures = {pool.submit(_execute, task): task["name"] for task in tasks}
                for future in cf.as_completed(futures):
                    results[futures[future]] = future.result()
                    bar.update()
    finally:
        bar.close()
    return [results[task["name"]] for task in tasks]

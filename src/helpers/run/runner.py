"""Notebook runner: execute the notebook set with papermill into a run folder, write a manifest, verify a run.

Usage::

    python -m helpers.run [--out DIR] [--jobs N] [--data PATH] [--notebooks NB ...] [-p NAME=VALUE ...]
    python -m helpers.run verify RUN_DIR        # re-execute with the manifest's parameters, compare every output
    python -m helpers.run refresh-notebooks     # re-execute notebooks/0*.ipynb in place (outputs for nbval)

A run folder holds ``notebooks/`` (executed copies), ``html/`` (nbconvert export) and ``index.html`` linking
them, ``figures/`` and ``tables/`` (written by the notebooks), ``manifest.json`` (input SHA-256, parameters,
package versions, git commit, Python version, SHA-256 of every figure and table; no timestamps) and
``run-log.json`` (wall-clock times; never compared).

The plan: the per-drug notebooks (``helpers.report.plan.PER_DRUG_NOTEBOOKS``: 01 efficacy, 02 small-study effects,
03 adverse events) run once per drug present in the data (read in this process), as separate executions named
``01_efficacy--ketamine.ipynb`` ...; the others run once. ``-p drug=X`` runs every notebook for that drug only.
Executions are handed to the worker processes longest first (expected figure count, ``plan.expected_figures``)
so the cores stay busy to the end. The manifest records every execution's name, notebook and parameters, and
``verify`` re-runs exactly those.

Kernels run with ``PYTHONHASHSEED=0`` and ``SOURCE_DATE_EPOCH=0`` so set iteration order and the dates
matplotlib writes into PDF/SVG cannot differ between runs.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import html
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import yaml

from helpers.run import manifest as mf
from helpers.core import paths
from helpers.report import plan as figure_plan

KERNEL_NAME = "nmda-review-py3"
#: The notebook set, in order; ``python -m helpers.run`` executes all of them by default.
NOTEBOOK_SET = (
    "00_data.ipynb",
    "01_efficacy.ipynb",
    "02_small_study_effects.ipynb",
    "03_adverse_events.ipynb",
    "04_sensitivity.ipynb",
    "05_concordance.ipynb",
)
#: Parameters every notebook's ``parameters`` cell declares; ``-p`` may only set these.
PARAMETERS = ("data_path", "drug", "route", "outcome", "timepoint", "estimator", "ci_method", "out_dir")
#: Parameters the runner sets itself (``--data`` and ``--out``), so ``-p`` may not.
RUNNER_PARAMETERS = ("data_path", "out_dir")
#: What ``-p`` (and ``run_set(parameters=...)``) may set.
SETTABLE_PARAMETERS = tuple(p for p in PARAMETERS if p not in RUNNER_PARAMETERS)
KERNEL_ENV = {"PYTHONHASHSEED": "0", "SOURCE_DATE_EPOCH": "0"}
RUN_SUBDIRS = ("notebooks", "html", "figures", "tables")
RUN_FILES = ("index.html", mf.MANIFEST_NAME, mf.RUN_LOG_NAME)
CELL_TIMEOUT = 1800  # seconds per cell
#: Shown at the top of index.html when the run used the default (synthetic) package.
SYNTHETIC_BANNER = "SYNTHETIC DATA - not evidence: the default package is made up to show the tools."


@dataclass(frozen=True)
class Execution:
    """One papermill execution of the plan: source notebook, execution name (``01_efficacy--ketamine.ipynb``)
    and the parameters it receives besides ``data_path`` and ``out_dir``."""

    source: Path
    name: str
    parameters: dict = field(default_factory=dict)


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


class NotebookFailure(RuntimeError):
    """A notebook of the set failed; the message names the notebook, the cell index and its first line."""


@dataclass(frozen=True)
class NotebookOutcome:
    """How one notebook execution ended. ``cell_index`` is 0-based in the source notebook."""

    notebook: str
    ok: bool
    seconds: float
    message: str = ""
    cell_index: int | None = None
    first_line: str | None = None


@dataclass(frozen=True)
class RunResult:
    """A finished run: its folder, the notebook outcomes and the output hashes written to the manifest."""

    run_dir: Path
    outcomes: tuple[NotebookOutcome, ...]
    outputs: dict = field(repr=False)

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.outcomes)

    @property
    def failures(self) -> tuple[NotebookOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.ok)

    def summary(self) -> str:
        lines = [f"run folder: {self.run_dir} ({len(self.outputs)} hashed outputs)"]
        lines += [f"  {'ok  ' if o.ok else 'FAIL'} {o.notebook} ({o.seconds:.1f} s){' - ' + o.message if o.message else ''}"
                  for o in self.outcomes]
        return "\n".join(lines)


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify`: every output that differs, with where (run folder vs re-execution/manifest)."""

    run_dir: Path
    differences: tuple[mf.OutputDifference, ...]
    compared: int
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.differences

    def summary(self) -> str:
        if self.ok:
            head = f"verify passed: {self.compared} outputs of {self.run_dir} reproduced byte for byte"
        else:
            head = f"verify FAILED: {len(self.differences)} of {self.compared} outputs differ"
        return "\n".join([head, *(f"  {d.describe()}" for d in self.differences), *(f"  note: {n}" for n in self.notes)])


# ---------------------------------------------------------------------------------------------------------
# arguments


def default_notebooks() -> list[Path]:
    """The committed notebook set in ``notebooks/``, in order."""
    return [paths.NOTEBOOKS / name for name in NOTEBOOK_SET]


def parse_param(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` -> (name, value), VALUE read as a YAML scalar (``null``, numbers, strings)."""
    if "=" not in text:
        raise ValueError(f"parameter '{text}' is not NAME=VALUE")
    name, raw = text.split("=", 1)
    name = name.strip()
    if name not in SETTABLE_PARAMETERS:
        raise ValueError(f"unknown parameter '{name}'; allowed: {', '.join(SETTABLE_PARAMETERS)} "
                         "(use --data/--out for the others)")
    return name, yaml.safe_load(raw)


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


def _check_notebooks(notebooks: list[Path]) -> list[Path]:
    resolved = [Path(nb) for nb in notebooks]
    if not resolved:
        raise ValueError("no notebooks to run")
    for nb in resolved:
        if nb.suffix != ".ipynb" or not nb.is_file():
            raise FileNotFoundError(f"notebook not found (expected an existing .ipynb file): {nb}")
    names = [nb.name for nb in resolved]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"notebook names must be unique within a run: {', '.join(duplicates)}")
    return resolved


# ---------------------------------------------------------------------------------------------------------
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


def _drugs_and_costs(data: Path | None, notebooks: list[Path], drug: str | None) -> tuple[tuple[str, ...], dict]:
    """Drugs present in the data and the expected figure count of each (notebook name, drug)."""
    from helpers.data.dataset import load_dataset

    with warnings.catch_warnings():  # the notebooks show these; here only the drug list is needed
        warnings.simplefilter("ignore")
        ds = load_dataset(data)
    drugs = (drug,) if drug is not None else figure_plan.drugs_present(ds)
    costs = {}
    for nb in notebooks:
        for d in drugs if nb.name in figure_plan.PER_DRUG_NOTEBOOKS else (drug,):
            costs[(nb.name, d)] = figure_plan.expected_figures(ds, nb.name, d)
    return drugs, costs


def plan_executions(notebooks: list[Path], parameters: dict, drugs: tuple[str, ...]) -> list[Execution]:
    """One execution per notebook, or per drug for ``plan.PER_DRUG_NOTEBOOKS`` (``drug`` given in
    ``parameters``: that drug only), in notebook order."""
    out = []
    for nb in notebooks:
        if nb.name in figure_plan.PER_DRUG_NOTEBOOKS and parameters.get("drug") is None:
            out += [Execution(nb, figure_plan.execution_name(nb.name, d), {**parameters, "drug": d}) for d in drugs]
        else:
            out.append(Execution(nb, nb.name, dict(parameters)))
    return out


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
        _export_html(output, html_out)
    return outcome


def _export_html(notebook: Path, target: Path) -> None:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.read(notebook, as_version=4))
    target.write_text(body, encoding="utf-8")


def _map(tasks: list[dict], jobs: int, progress: bool) -> list[NotebookOutcome]:
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


# ---------------------------------------------------------------------------------------------------------
# run folder


def _prepare_run_dir(out: Path) -> Path:
    run_dir = paths.ensure_writable_dir(out).resolve()
    for sub in RUN_SUBDIRS:  # only what a run writes: stale outputs would enter the manifest
        shutil.rmtree(run_dir / sub, ignore_errors=True)
        (run_dir / sub).mkdir()
    for name in RUN_FILES:
        (run_dir / name).unlink(missing_ok=True)
    return run_dir


def _write_index(run_dir: Path, outcomes: list[NotebookOutcome], outputs: dict[str, str], label: str,
                 banner: str | None = None) -> None:
    rows = "\n".join(
        f'<li><a href="html/{html.escape(Path(o.notebook).stem)}.html">{html.escape(o.notebook)}</a> '
        f'(<a href="notebooks/{html.escape(o.notebook)}">ipynb</a>) - {"ok" if o.ok else "FAILED: " + html.escape(o.message)}</li>'
        for o in outcomes
    )
    files = "\n".join(f'<li><a href="{html.escape(name)}">{html.escape(name)}</a></li>' for name in outputs)
    page = (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>nmda-review run</title></head><body>\n"
        "<h1>nmda-review run</h1>\n"
        + (f'<p style="background:#D55E00;color:#fff;padding:0.5em;font-weight:bold">{html.escape(banner)}</p>\n'
           if banner else "")
        + f"<p>Input: {html.escape(label)}. Hashes of every output: "
        '<a href="manifest.json">manifest.json</a>.</p>\n'
        f"<h2>Notebooks</h2>\n<ul>\n{rows}\n</ul>\n<h2>Figures and tables</h2>\n<ul>\n{files}\n</ul>\n</body></html>\n"
    )
    (run_dir / "index.html").write_text(page, encoding="utf-8")


def run_set(
    out: Path | str,
    notebooks: list[Path] | None = None,
    data_path: Path | str | None = None,
    parameters: dict | None = None,
    jobs: int = 1,
    kernel_name: str = KERNEL_NAME,
    progress: bool = False,
    publish_figures: Path | None = None,
) -> RunResult:
    """Execute the plan of ``notebooks`` (default: the set) into the run folder ``out`` and write its manifest.

    ``parameters`` are passed to every notebook (names from ``PARAMETERS``); ``data_path`` None means the
    synthetic default package in ``data/raw/``. Notebooks in ``plan.PER_DRUG_NOTEBOOKS`` run once per drug in
    the data (:func:`plan_executions`). With ``publish_figures`` the run's figures are also copied there.
    Raises :class:`NotebookFailure` naming each failed execution and cell, after writing the manifest, the
    partial executed notebooks and their HTML.
    """
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    params = dict(parameters or {})
    unknown = sorted(set(params) - set(PARAMETERS) | set(params) & set(RUNNER_PARAMETERS))
    if unknown:
        raise ValueError(f"parameters not settable here: {', '.join(unknown)}; "
                         f"allowed: {', '.join(SETTABLE_PARAMETERS)}")
    notebooks = _check_notebooks(notebooks if notebooks is not None else default_notebooks())
    data = Path(data_path).resolve() if data_path is not None else None
    if data is not None and not data.exists():
        raise FileNotFoundError(f"--data: no such file or folder: {data_path}")
    check_kernel(kernel_name)
    run_dir = _prepare_run_dir(Path(out))
    drugs, costs = (), {}
    if any(nb.name in figure_plan.PER_DRUG_NOTEBOOKS for nb in notebooks):
        drugs, costs = _drugs_and_costs(data, notebooks, params.get("drug"))
        if not drugs:
            skipped = ", ".join(nb.name for nb in notebooks if nb.name in figure_plan.PER_DRUG_NOTEBOOKS)
            warnings.warn(f"not executed: {skipped} (they run once per drug, and no analysis of "
                          f"{data_path or 'the default package'} is mapped to a drug: see data/reviews/*.yaml)",
                          stacklevel=2)
    executions = plan_executions(notebooks, params, drugs)
    return _run_plan(run_dir, executions, data, jobs, kernel_name, progress, publish_figures, costs)


def _run_plan(run_dir: Path, executions: list[Execution], data: Path | None, jobs: int, kernel_name: str,
              progress: bool, publish_figures: Path | None, costs: dict) -> RunResult:
    names = [e.name for e in executions]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"execution names must be unique within a run: {', '.join(duplicates)}")
    data_param = None if data is None else str(data)
    tasks = [
        {
            "name": e.name,
            "source": str(e.source.resolve()),
            "output": str(run_dir / "notebooks" / e.name),
            "html": str(run_dir / "html" / f"{Path(e.name).stem}.html"),
            "parameters": {**e.parameters, "data_path": data_param, "out_dir": str(run_dir)},
            "kernel": kernel_name,
        }
        for e in executions
    ]
    # longest first (expected figures); ties keep plan order. Outputs do not depend on the order.
    order = sorted(range(len(tasks)), key=lambda i: -costs.get((executions[i].source.name,
                                                                executions[i].parameters.get("drug")), 0))
    started = time.time()
    clock = time.perf_counter()
    by_name = dict(zip((tasks[i]["name"] for i in order), _map([tasks[i] for i in order], jobs, progress)))
    outcomes = [by_name[e.name] for e in executions]
    outputs = mf.hash_outputs(run_dir)

    input_path = data if data is not None else paths.DATA_RAW
    label = mf.portable_path(input_path) if data is not None else "default synthetic package (data/raw)"
    banner = None if data is not None else SYNTHETIC_BANNER
    manifest = {
        "manifest_version": 2,
        "input": {"path": mf.portable_path(data), "hashed": mf.portable_path(input_path),
                  "sha256": mf.sha256_path(input_path)},
        "kernel": kernel_name,
        "kernel_env": KERNEL_ENV,
        "notebooks": [
            {"execution": e.name, "notebook": mf.portable_path(e.source),
             "parameters": {**e.parameters, "data_path": mf.portable_path(data)}, "status": "ok" if o.ok else "failed"}
            for e, o in zip(executions, outcomes)
        ],
        "packages": mf.package_versions(),
        "python": mf.python_version(),
        "git": mf.git_commit(),
        "outputs": outputs,
    }
    mf.write_json(run_dir / mf.MANIFEST_NAME, manifest)
    mf.write_json(run_dir / mf.RUN_LOG_NAME, {
        "started_unix": round(started, 3),
        "wall_seconds": round(time.perf_counter() - clock, 3),
        "jobs": jobs,
        "execution_order": [tasks[i]["name"] for i in order],
        "notebook_seconds": {o.notebook: round(o.seconds, 3) for o in outcomes},
    })
    _write_index(run_dir, outcomes, outputs, label, banner)
    result = RunResult(run_dir, tuple(outcomes), outputs)
    if not result.ok:
        kept = ", ".join(f"notebooks/{o.notebook}" for o in result.failures)
        raise NotebookFailure("\n".join([o.message for o in result.failures]
                                        + [f"partial executed notebook(s) kept in {run_dir}: {kept}"]))
    if publish_figures is not None:
        target = paths.ensure_writable_dir(publish_figures)
        for rel in outputs:
            if rel.startswith("figures/"):
                dest = target / rel.removeprefix("figures/")
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(run_dir / rel, dest)
    return result


# ---------------------------------------------------------------------------------------------------------
# verify


def recorded_executions(manifest: dict) -> tuple[list[Execution], Path | None]:
    """The executions and input recorded in a manifest (version 1 entries: execution name = notebook name)."""
    executions, data = [], None
    for entry in manifest["notebooks"]:
        source = mf.resolve_portable(entry["notebook"])
        params = {k: v for k, v in entry["parameters"].items() if k not in RUNNER_PARAMETERS}
        executions.append(Execution(source, entry.get("execution", source.name), params))
        data = mf.resolve_portable(entry["parameters"].get("data_path"))
    return executions, data


def verify(run_dir: Path | str, jobs: int = 1, kernel_name: str | None = None, progress: bool = False) -> VerifyResult:
    """Re-execute the plan recorded in ``RUN_DIR/manifest.json`` into a temporary folder and compare outputs.

    Three sets of SHA-256 hashes are compared: the manifest's, the files now in the run folder, and the
    fresh execution's. Every output that differs anywhere is listed; a changed input package is a note.
    """
    run = Path(run_dir).resolve()
    recorded = mf.read_manifest(run)
    executions, data = recorded_executions(recorded)
    _check_notebooks(sorted({e.source for e in executions}))
    notes = []
    current_input = mf.sha256_path(mf.resolve_portable(recorded["input"]["hashed"]))
    if current_input != recorded["input"]["sha256"]:
        notes.append(f"input {recorded['input']['hashed']} changed since the run (sha256 {current_input[:12]} "
                     f"!= recorded {recorded['input']['sha256'][:12]})")
    on_disk = mf.hash_outputs(run)
    differences = mf.compare_hashes(recorded["outputs"], on_disk, "run folder vs its manifest")
    seconds = {}
    log = run / mf.RUN_LOG_NAME
    if log.is_file():  # the original run's times order the re-execution, longest first
        seconds = json.loads(log.read_text(encoding="utf-8")).get("notebook_seconds", {})
    costs = {(e.source.name, e.parameters.get("drug")): seconds.get(e.name, 0) for e in executions}
    kernel = kernel_name or recorded["kernel"]
    check_kernel(kernel)
    with tempfile.TemporaryDirectory(prefix="nmda-verify-") as tmp:
        try:
            fresh = _run_plan(_prepare_run_dir(Path(tmp) / "run"), executions, data, jobs, kernel, progress,
                              None, costs).outputs
        except NotebookFailure as exc:
            raise NotebookFailure(f"verify could not re-execute the run: {exc}") from exc
    seen = {d.output for d in differences}
    differences += [d for d in mf.compare_hashes(on_disk, fresh, "re-execution vs run folder") if d.output not in seen]
    return VerifyResult(run, tuple(differences), len(set(recorded["outputs"]) | set(on_disk) | set(fresh)), tuple(notes))


# ---------------------------------------------------------------------------------------------------------
# refresh committed notebooks (reference outputs for nbval)


def refresh_notebooks(notebooks: list[Path] | None = None, kernel_name: str = KERNEL_NAME) -> list[Path]:
    """Re-execute notebooks in place with their own default parameters, keeping outputs for nbval.

    Volatile metadata (execution timing, papermill records) is stripped. A notebook whose outputs contain
    this machine's project path is refused: committed outputs must not depend on the machine.
    """
    from nbclient import NotebookClient

    check_kernel(kernel_name)
    notebooks = _check_notebooks(notebooks if notebooks is not None else default_notebooks())
    root = str(paths.PROJECT_ROOT.resolve())
    with kernel_environment():
        for path in notebooks:
            nb = nbformat.read(path, as_version=4)
            NotebookClient(nb, kernel_name=kernel_name, timeout=CELL_TIMEOUT, record_timing=False,
                           resources={"metadata": {"path": str(path.parent)}}).execute()
            nb.metadata.pop("papermill", None)
            nb.metadata["kernelspec"] = {"name": kernel_name, "display_name": "Python (nmda-review)", "language": "python"}
            for cell in nb.cells:
                cell.metadata.pop("execution", None)
                cell.metadata.pop("papermill", None)
            text = nbformat.writes(nb)
            if root in text:
                raise ValueError(f"{path.name}: outputs contain the absolute project path {root}; "
                                 "print paths relative to the project instead")
            path.write_text(text, encoding="utf-8")
    return notebooks


# ---------------------------------------------------------------------------------------------------------
# command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=paths.RUNS / "default", help="run folder (default runs/default)")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks executed in parallel (default 1)")
    parser.add_argument("--data", type=Path, default=None, help="data package to analyse (default: synthetic data/raw)")
    parser.add_argument("--notebooks", nargs="+", type=Path, default=None, help="notebooks to run (default: the set)")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                        help=f"notebook parameter for every notebook; NAME one of {', '.join(SETTABLE_PARAMETERS)}")
    parser.add_argument("--kernel", default=KERNEL_NAME, help=f"Jupyter kernel name (default {KERNEL_NAME})")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Console entry point (``nmda-run``); returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["verify"]:
            sub = argparse.ArgumentParser(prog="python -m helpers.run verify")
            sub.add_argument("run_dir", type=Path)
            sub.add_argument("--jobs", type=int, default=1, help="notebooks executed in parallel (default 1)")
            sub.add_argument("--no-progress", action="store_true", help="hide the progress bar")
            args = sub.parse_args(argv[1:])
            result = verify(args.run_dir, jobs=args.jobs, progress=not args.no_progress)
            print(result.summary())
            return 0 if result.ok else 1
        if argv[:1] == ["refresh-notebooks"]:
            sub = argparse.ArgumentParser(prog="python -m helpers.run refresh-notebooks")
            sub.add_argument("notebooks", nargs="*", type=Path)
            args = sub.parse_args(argv[1:])
            done = refresh_notebooks(args.notebooks or None)
            print("re-executed in place: " + ", ".join(p.name for p in done))
            return 0
        args = _parser().parse_args(argv[1:] if argv[:1] == ["run"] else argv)
        params = dict(parse_param(p) for p in args.param)
        default_set = args.notebooks is None
        result = run_set(
            args.out, notebooks=args.notebooks, data_path=args.data, parameters=params, jobs=args.jobs,
            kernel_name=args.kernel, progress=not args.no_progress,
            publish_figures=paths.FIGURES if default_set and args.data is None and not params else None,
        )
        print(result.summary())
        return 0
    except NotebookFailure as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError, RuntimeError, PermissionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


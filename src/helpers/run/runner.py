"""Notebook runner: plan the executions of the notebook set and run them into a run folder with a manifest.

The command line is :mod:`helpers.run.cli`; ``verify`` and ``refresh-notebooks`` are :mod:`helpers.run.verify`;
executing one notebook is :mod:`helpers.run.execute`; ``index.html`` is written by :mod:`helpers.report.index`.

A run folder holds ``notebooks/`` (executed copies), ``html/`` (nbconvert export) and ``index.html`` linking
them, ``figures/`` and ``tables/`` (written by the notebooks), ``manifest.json`` (input SHA-256, parameters,
package versions, git commit, Python version, SHA-256 of every figure and table; no timestamps) and
``run-log.json`` (wall-clock times; never compared).

The plan: the per-drug notebooks (``helpers.report.plan.PER_DRUG_NOTEBOOKS``: 01 efficacy, 02 small-study effects,
03 adverse events) run once per drug present in the data (read in this process), as separate executions named
``01_efficacy--ketamine.ipynb`` ...; the others run once. ``-p drug=X`` runs every notebook for that drug only.
Executions are handed to the worker processes longest first (expected figure count, ``figindex.expected_figures``)
so the cores stay busy to the end. The manifest records every execution's name, notebook and parameters, and
``verify`` re-runs exactly those. Each notebook receives only the parameters its ``parameters`` cell declares
(:func:`helpers.report.notebook.declared_parameters`); a parameter given with ``-p`` that a notebook does not
declare is warned (one line per parameter, naming the notebooks) and recorded in the manifest
(``ignored_parameters``).

Nothing is lost: the arguments and the input package are checked (the package is loaded) before anything is
written; the run writes into a staging folder beside ``--out`` and is moved into place when complete; ``--out``
must be new, empty or a previous run folder (:mod:`helpers.run.folder`).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from helpers.core import paths
from helpers.core.errors import NmdaError
from helpers.data import mapmode
from helpers.report import figindex
from helpers.report import plan as figure_plan
from helpers.report.index import SYNTHETIC_BANNER, write_index
from helpers.report.notebook import PARAMETERS, declared_parameters
from helpers.report.params import check_parameters
from helpers.report.verdict import Verdict, run_verdict
from helpers.report.verdict_html import inferred_settings
from helpers.run import folder
from helpers.run import manifest as mf
from helpers.run.execute import KERNEL_ENV, KERNEL_NAME, NotebookOutcome, check_kernel, execute_tasks

#: The notebook set, in order; ``python -m helpers.run`` executes all of them by default.
NOTEBOOK_SET = (
    "00_data.ipynb",
    "01_efficacy.ipynb",
    "02_small_study_effects.ipynb",
    "03_adverse_events.ipynb",
    "04_sensitivity.ipynb",
    "05_concordance.ipynb",
)
#: ``PARAMETERS`` (helpers.report.notebook): what a notebook may declare; ``-p`` may only set these.
#: Parameters the runner sets itself (``--data`` and ``--out``), so ``-p`` may not.
RUNNER_PARAMETERS = ("data_path", "out_dir")
#: What ``-p`` (and ``run_set(parameters=...)``) may set.
SETTABLE_PARAMETERS = tuple(p for p in PARAMETERS if p not in RUNNER_PARAMETERS)


@dataclass(frozen=True)
class Execution:
    """One papermill execution of the plan: source notebook, execution name (``01_efficacy--ketamine.ipynb``)
    and the parameters it receives besides ``data_path`` and ``out_dir``."""

    source: Path
    name: str
    parameters: dict = field(default_factory=dict)


class NotebookFailure(NmdaError, RuntimeError):
    """A notebook of the set failed; the message names the notebook, the cell index and its first line.

    ``notebooks`` lists the failed executions (their partial executed copies are kept). Exit code 1.
    """

    exit_code = 1

    def __init__(self, message: str, notebooks: tuple[str, ...] = ()):
        super().__init__(message)
        self.notebooks = notebooks


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


# ---------------------------------------------------------------------------------------------------------
# plan


def default_notebooks() -> list[Path]:
    """The committed notebook set in ``notebooks/``, in order."""
    return [paths.NOTEBOOKS / name for name in NOTEBOOK_SET]


def _notebook_path(nb: Path) -> Path:
    if nb.suffix == ".ipynb" and nb.is_file():
        return nb
    if len(nb.parts) == 1:  # a bare name: the committed notebook of that name
        bare = paths.NOTEBOOKS / (nb.name if nb.suffix == ".ipynb" else f"{nb.name}.ipynb")
        if bare.is_file():
            return bare
    raise FileNotFoundError(f"notebook not found (expected an existing .ipynb file or a name of the set: "
                            f"{', '.join(NOTEBOOK_SET)}): {nb}")


def check_notebooks(notebooks: list[Path]) -> list[Path]:
    """``notebooks`` as paths; raise unless each is an existing ``.ipynb`` and their names are unique.

    A bare name of the set (``00_data.ipynb`` or ``00_data``) means the committed notebook in ``notebooks/``.
    """
    resolved = [_notebook_path(Path(nb)) for nb in notebooks]
    if not resolved:
        raise ValueError("no notebooks to run")
    names = [nb.name for nb in resolved]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"notebook names must be unique within a run: {', '.join(duplicates)}")
    return resolved


def own_parameters(nb: Path, parameters: dict) -> dict:
    """The entries of ``parameters`` that notebook ``nb`` declares (what the runner passes it)."""
    declared = declared_parameters(nb)
    return {name: value for name, value in parameters.items() if name in declared}


def ignored_parameters(notebooks: list[Path], parameters: dict) -> dict[str, list[str]]:
    """Parameter name -> the notebooks (names, in order) of ``notebooks`` that do not declare it, for each of
    ``parameters`` that some notebook ignores."""
    ignored = {name: [nb.name for nb in notebooks if name not in declared_parameters(nb)] for name in parameters}
    return {name: names for name, names in ignored.items() if names}


def _drugs_and_costs(data: Path | None, notebooks: list[Path], drug: str | None, review_map: str = "auto",
                     parameters: dict | None = None) -> tuple[tuple, dict, str | None, dict]:
    """Drugs present in the data, the expected figure count of each (notebook name, drug), when the data are
    read in the generic mode (no review map applies) why (the per-drug notebooks then run once, drug None), and
    the run's figure index (:func:`helpers.report.figindex.figure_index`: stem -> facts)."""
    from helpers.data.dataset import load_dataset
    from helpers.stats.infer import settle

    with warnings.catch_warnings():  # the notebooks show these; here only the drug list is needed
        warnings.simplefilter("ignore")
        ds = settle(load_dataset(data, review_map))  # as the notebooks read it
    if ds.generic is not None and drug is None:
        drugs = (None,)
    else:
        drugs = (drug,) if drug is not None else figure_plan.drugs_present(ds)
    costs, drawn = {}, []
    for nb in notebooks:
        for d in drugs if nb.name in figure_plan.PER_DRUG_NOTEBOOKS else (drug,):
            facts = figindex.notebook_figures(ds, nb, own_parameters(nb, {**(parameters or {}), "drug": d}))
            costs[(nb.name, d)] = len(facts)
            drawn += facts
    return drugs, costs, ds.generic, figindex.figure_index(drawn)


def plan_executions(notebooks: list[Path], parameters: dict, drugs: tuple[str, ...]) -> list[Execution]:
    """One execution per notebook, or per drug for ``plan.PER_DRUG_NOTEBOOKS`` (``drug`` given in
    ``parameters``: that drug only; ``drugs`` ``(None,)``: once for all, as in the generic mode), in notebook
    order; each with the ``parameters`` its notebook declares (:func:`own_parameters`)."""
    out = []
    for nb in notebooks:
        if nb.name in figure_plan.PER_DRUG_NOTEBOOKS and parameters.get("drug") is None:
            out += [Execution(nb, figure_plan.execution_name(nb.name, d), own_parameters(nb, {**parameters, "drug": d}))
                    for d in drugs]
        else:
            out.append(Execution(nb, nb.name, own_parameters(nb, parameters)))
    return out


# ---------------------------------------------------------------------------------------------------------
# run folder


def run_set(
    out: Path | str,
    notebooks: list[Path] | None = None,
    data_path: Path | str | None = None,
    parameters: dict | None = None,
    jobs: int = 1,
    kernel_name: str = KERNEL_NAME,
    progress: bool = False,
    publish_figures: Path | None = None,
    add_rows: Path | str | None = None,
) -> RunResult:
    """Execute the plan of ``notebooks`` (default: the set) into the run folder ``out`` and write its manifest.

    ``parameters`` are passed to every notebook that declares them (names from ``PARAMETERS``; one ignored by a
    notebook is warned and recorded in the manifest's ``ignored_parameters``); ``data_path`` None means the
    synthetic default package in ``data/raw/``. Notebooks in ``plan.PER_DRUG_NOTEBOOKS`` run once per drug in
    the data (:func:`plan_executions`). With ``publish_figures`` the run's figures are also copied there. With
    ``add_rows`` (a CSV of extra study rows) the notebooks read the input plus those rows (:func:`with_added_rows`).
    Raises :class:`NotebookFailure` naming each failed execution and cell, after writing the manifest, the
    partial executed notebooks and their HTML (into ``out`` when it held no previous run; else the previous run
    is kept and the failed one stays in its staging folder, named in the message). ``out`` is checked by
    :func:`helpers.run.folder.check_target` and the input loaded before anything is written.
    """
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
    params = dict(parameters or {})
    unknown = sorted(set(params) - set(PARAMETERS) | set(params) & set(RUNNER_PARAMETERS))
    if unknown:
        raise ValueError(f"parameters not settable here: {', '.join(unknown)}; "
                         f"allowed: {', '.join(SETTABLE_PARAMETERS)}")
    params = check_parameters(params)  # every value, before any kernel starts; canonical spelling
    notebooks = check_notebooks(notebooks if notebooks is not None else default_notebooks())
    data = Path(os.path.abspath(data_path)) if data_path is not None else None  # links kept: ../shared stays
    if data is not None and not data.exists():
        raise FileNotFoundError(f"--data: no such file or folder: {data_path}")
    target = folder.check_target(out)
    check_kernel(kernel_name)
    if add_rows is not None:  # the notebooks read the derived data from a tidy folder in data/processed/
        data = with_added_rows(data, Path(add_rows), params.get("review_map", "auto"))
        data_path = data
    drugs, costs, generic, figures = _drugs_and_costs(data, notebooks, params.get("drug"),
                                                      params.get("review_map", "auto"), params)  # loads the input
    if generic is not None:
        warnings.warn(f"{mapmode.generic_note(generic)}; see index.html", stacklevel=2)
    skipped = ()
    if not drugs and any(nb.name in figure_plan.PER_DRUG_NOTEBOOKS for nb in notebooks):
        names = ", ".join(nb.name for nb in notebooks if nb.name in figure_plan.PER_DRUG_NOTEBOOKS)
        why = (f"they run once per drug, and no analysis of {data_path or 'the default package'} is mapped to a "
               "drug: see data/reviews/*.yaml")
        skipped = (f"{names}: {why}",)
        warnings.warn(f"not executed: {names} ({why})", stacklevel=2)
    executions = plan_executions(notebooks, params, drugs)
    ignored = ignored_parameters(notebooks, params)
    for name, names in ignored.items():
        warnings.warn(f"-p {name}={params[name]} is ignored by {', '.join(names)} (no such parameter in "
                      f"{'its' if len(names) == 1 else 'their'} parameters cell)", stacklevel=2)
    previous = folder.has_previous_run(target)
    staging = folder.stage(target)
    try:
        result = run_plan(staging, executions, data, jobs, kernel_name, progress, costs, skipped, generic, figures,
                          ignored)
    except NotebookFailure as exc:
        kept = staging if previous else folder.commit(staging, target)
        where = (f"partial executed notebook(s) kept in {kept}: "
                 + ", ".join(f"notebooks/{n}" for n in exc.notebooks))
        if previous:
            where += f"; the previous run in {target} is unchanged"
        raise NotebookFailure(f"{exc}\n{where}", exc.notebooks) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    folder.commit(staging, target)
    result = dataclasses.replace(result, run_dir=target)
    if publish_figures is not None:
        published = paths.ensure_writable_dir(publish_figures)
        for rel in result.outputs:
            if rel.startswith("figures/"):
                dest = published / rel.removeprefix("figures/")
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(target / rel, dest)
    return result


def with_added_rows(data: Path | None, extra: Path, review_map: str = "auto") -> Path:
    """The input ``data`` with the rows of ``extra`` added (:func:`helpers.data.addrows.add_rows`), written as a
    tidy folder ``data/processed/<review>-added-<SHA-256 of its tables>/`` (the same rows give the same folder);
    what was added and any subgroup copy that now disagrees with its main analysis (and did not in the input) are
    warned."""
    from helpers.data.addrows import add_rows, copy_disagreements
    from helpers.data.dataset import load_dataset
    from helpers.data.tidy import write_tidy

    with warnings.catch_warnings():  # the notebooks show the data's own warnings
        warnings.simplefilter("ignore")
        ds = load_dataset(data, review_map)
    derived, added = add_rows(ds, extra)
    warnings.warn(f"{derived.label}: " + "; ".join(added), stacklevel=3)
    before = set(copy_disagreements(ds))  # as in the input (CD015373.pub2: 1.10 as published): not news
    for note in copy_disagreements(derived):
        if note not in before:
            warnings.warn(f"subgroup copy disagrees with its main analysis: {note}", stacklevel=3)
    name = f"{str(ds.review or 'data').lower()}-added-{derived.sha256[:12]}"
    return write_tidy(derived, paths.DATA_PROCESSED / name)


def verdict_of(data: Path | None, parameters: dict) -> Verdict | None:
    """The run report's verdict (:func:`helpers.report.verdict.run_verdict`) of the input ``data`` run with
    ``parameters``; None, with a warning saying why, when it cannot be formed (the rest of the page stands)."""
    from helpers.data.dataset import load_dataset
    from helpers.stats.infer import settle

    try:
        with warnings.catch_warnings():  # the notebooks show the data's warnings
            warnings.simplefilter("ignore")
            ds = settle(load_dataset(data, parameters.get("review_map", "auto")))  # as the notebooks read it
            return run_verdict(ds, parameters)
    except (NmdaError, ValueError, KeyError) as exc:
        warnings.warn(f"index.html: no verdict block ({type(exc).__name__}: {exc})", stacklevel=2)
        return None


def run_plan(run_dir: Path, executions: list[Execution], data: Path | None, jobs: int, kernel_name: str,
             progress: bool, costs: dict, skipped: tuple[str, ...] = (), generic: str | None = None,
             figures: dict | None = None, ignored: dict | None = None) -> RunResult:
    """Execute ``executions`` into ``run_dir`` (a fresh :func:`helpers.run.folder.stage` folder; longest ``costs``
    first), write the manifest, the run log and index.html; what :func:`run_set` and
    :func:`helpers.run.verify.verify` share. ``generic``: why the data were read in the generic mode (recorded
    in the manifest as ``generic_mode`` and shown in index.html), None when a review map applied. ``figures``:
    the figure index (stem -> facts), recorded in the manifest; the run report groups figures by it.
    ``ignored``: :func:`ignored_parameters`, recorded in the manifest when not empty. Each notebook receives
    ``data_path`` and ``out_dir`` when it declares them."""
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
            "parameters": own_parameters(e.source, {**e.parameters, "data_path": data_param, "out_dir": str(run_dir)}),
            "kernel": kernel_name,
        }
        for e in executions
    ]
    # longest first (expected figures); ties keep plan order. Outputs do not depend on the order.
    order = sorted(range(len(tasks)), key=lambda i: -costs.get((executions[i].source.name,
                                                                executions[i].parameters.get("drug")), 0))
    started = time.time()
    clock = time.perf_counter()
    by_name = dict(zip((tasks[i]["name"] for i in order), execute_tasks([tasks[i] for i in order], jobs, progress)))
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
        "figures": figures or {},
    }
    if generic is not None:  # only then, so that a mapped run's manifest is as before
        manifest["generic_mode"] = generic
    if ignored:  # likewise
        manifest["ignored_parameters"] = ignored
    inferred = inferred_settings(run_dir) if generic is not None else None  # a map's settings are not inferred
    if inferred is not None:  # likewise: only when settings were read off RevMan's values
        manifest["inferred_settings"] = inferred
    mf.write_json(run_dir / mf.MANIFEST_NAME, manifest)
    mf.write_json(run_dir / mf.RUN_LOG_NAME, {
        "started_unix": round(started, 3),
        "wall_seconds": round(time.perf_counter() - clock, 3),
        "jobs": jobs,
        "execution_order": [tasks[i]["name"] for i in order],
        "notebook_seconds": {o.notebook: round(o.seconds, 3) for o in outcomes},
    })
    params = {k: v for e in executions for k, v in e.parameters.items() if k != "drug"}  # the run's, from all
    write_index(run_dir, outcomes, outputs, label, banner, skipped, generic, verdict_of(data, params))
    result = RunResult(run_dir, tuple(outcomes), outputs)
    if not result.ok:
        raise NotebookFailure("\n".join(o.message for o in result.failures),
                              tuple(o.notebook for o in result.failures))
    return result

"""Verify a run and refresh the committed notebooks.

``verify`` re-executes the plan recorded in a run's manifest into a temporary folder and compares every output's
SHA-256 three ways (manifest, run folder, fresh execution). ``refresh_notebooks`` re-executes the committed
notebooks in place (their outputs are nbval's reference).
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat

from helpers.core import paths
from helpers.core.errors import RunFolderError
from helpers.run import manifest as mf
from helpers.run.execute import CELL_TIMEOUT, KERNEL_NAME, check_kernel, kernel_environment
from helpers.run.folder import stage
from helpers.run.runner import (RUNNER_PARAMETERS, Execution, NotebookFailure, check_notebooks, default_notebooks,
                                run_plan)


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify`: every output that differs, with where (run folder vs re-execution/manifest)."""

    run_dir: Path
    differences: tuple[mf.OutputDifference, ...]
    compared: int
    notes: tuple[str, ...] = ()
    quick: bool = False  # files compared with the manifest only, nothing re-executed

    @property
    def ok(self) -> bool:
        return not self.differences

    def summary(self) -> str:
        if self.ok and self.quick:
            head = f"verify --quick passed: {self.compared} outputs of {self.run_dir} match the manifest"
        elif self.ok:
            head = f"verify passed: {self.compared} outputs of {self.run_dir} reproduced byte for byte"
        else:
            head = f"verify FAILED: {len(self.differences)} of {self.compared} outputs differ"
        return "\n".join([head, *(f"  {d.describe()}" for d in self.differences), *(f"  note: {n}" for n in self.notes)])


def find_runs(root: Path | str | None = None) -> list[Path]:
    """The run folders under ``root`` (default ``runs/``): sub-folders holding a manifest, sorted; staging and
    hidden folders left out."""
    base = Path(root) if root is not None else paths.RUNS
    if not base.is_dir():
        return []
    return sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and (p / mf.MANIFEST_NAME).is_file())


def run_to_verify(run_dir: Path | str | None, root: Path | str | None = None) -> Path:
    """The run folder ``verify`` is asked about: ``run_dir`` when it holds a manifest; with none given, the only
    run under ``runs/``. Otherwise a RunFolderError that says which runs exist and how to name one
    (``make verify OUT=runs/<name>``)."""
    runs = find_runs(root)
    shown = ", ".join(mf.portable_path(r) or str(r) for r in runs)
    hint = (f"runs: {shown}; name one, e.g. `make verify OUT={mf.portable_path(runs[0]) or runs[0]}`" if runs else
            "no run folder under runs/ yet: `make run` or `make real` first")
    if run_dir is None:
        if len(runs) == 1:
            return runs[0]
        raise RunFolderError(f"which run? {hint}" if runs else hint)
    if not (Path(run_dir) / mf.MANIFEST_NAME).is_file():
        raise RunFolderError(f"{run_dir}: not a run folder (no {mf.MANIFEST_NAME}); {hint}")
    return Path(run_dir)


def recorded_executions(manifest: dict) -> tuple[list[Execution], Path | None]:
    """The executions and input recorded in a manifest (version 1 entries: execution name = notebook name)."""
    executions, data = [], None
    for entry in manifest["notebooks"]:
        source = mf.resolve_portable(entry["notebook"])
        params = {k: v for k, v in entry["parameters"].items() if k not in RUNNER_PARAMETERS}
        executions.append(Execution(source, entry.get("execution", source.name), params))
        data = mf.resolve_portable(entry["parameters"].get("data_path"))
    return executions, data


def verify_quick(run_dir: Path | str) -> VerifyResult:
    """Hash every figure and table of ``RUN_DIR`` and compare with its manifest; re-execute nothing (seconds).

    Finds a changed, missing or added output and a changed input (a note); it cannot tell whether the code
    still produces the same outputs, which only the full :func:`verify` re-execution shows.
    """
    run = Path(run_dir).resolve()
    recorded = mf.read_manifest(run)
    notes = []
    hashed = mf.resolve_portable(recorded["input"]["hashed"])
    if hashed is not None and Path(hashed).exists():
        current_input = mf.sha256_path(hashed)
        if current_input != recorded["input"]["sha256"]:
            notes.append(f"input {recorded['input']['hashed']} changed since the run (sha256 {current_input[:12]} "
                         f"!= recorded {recorded['input']['sha256'][:12]})")
    else:
        notes.append(f"input {recorded['input']['hashed']} not found: not compared")
    on_disk = mf.hash_outputs(run)
    differences = mf.compare_hashes(recorded["outputs"], on_disk, "run folder vs its manifest")
    return VerifyResult(run, tuple(differences), len(set(recorded["outputs"]) | set(on_disk)),
                        tuple(notes), quick=True)


def verify(run_dir: Path | str, jobs: int = 1, kernel_name: str | None = None, progress: bool = False) -> VerifyResult:
    """Re-execute the plan recorded in ``RUN_DIR/manifest.json`` into a temporary folder and compare outputs.

    Three sets of SHA-256 hashes are compared: the manifest's, the files now in the run folder, and the
    fresh execution's. Every output that differs anywhere is listed; a changed input package is a note.
    """
    run = Path(run_dir).resolve()
    recorded = mf.read_manifest(run)
    executions, data = recorded_executions(recorded)
    check_notebooks(sorted({e.source for e in executions}))
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
            fresh = run_plan(stage(Path(tmp) / "run"), executions, data, jobs, kernel, progress, costs,
                             figures=recorded.get("figures")).outputs
        except NotebookFailure as exc:
            raise NotebookFailure(f"verify could not re-execute the run: {exc}") from exc
    seen = {d.output for d in differences}
    differences += [d for d in mf.compare_hashes(on_disk, fresh, "re-execution vs run folder") if d.output not in seen]
    return VerifyResult(run, tuple(differences), len(set(recorded["outputs"]) | set(on_disk) | set(fresh)), tuple(notes))


def execute_fresh(path: Path, kernel_name: str = KERNEL_NAME) -> nbformat.NotebookNode:
    """A fresh in-memory execution of the notebook at ``path`` with its own default parameters, as
    :func:`refresh_notebooks` writes it (volatile metadata stripped); ``path`` itself is not touched."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with kernel_environment():
        NotebookClient(nb, kernel_name=kernel_name, timeout=CELL_TIMEOUT, record_timing=False,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    nb.metadata.pop("papermill", None)
    nb.metadata["kernelspec"] = {"name": kernel_name, "display_name": "Python (nmda-review)", "language": "python"}
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
        for output in cell.get("outputs", []):
            _scrub_addresses(output)
    return nb


_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,16}\b")


def _scrub_addresses(output: dict) -> None:
    """Memory addresses (``<... Styler at 0x7f...>``, the plain-text twin of a styled table) replaced by
    ``0xADDRESS``, as tests/nbval_sanitize.cfg does: a committed output must not differ per process."""
    if isinstance(output.get("text"), str):
        output["text"] = _ADDRESS.sub("0xADDRESS", output["text"])
    plain = output.get("data", {}).get("text/plain")
    if isinstance(plain, str):
        output["data"]["text/plain"] = _ADDRESS.sub("0xADDRESS", plain)


def refresh_notebooks(notebooks: list[Path] | None = None, kernel_name: str = KERNEL_NAME) -> list[Path]:
    """Re-execute notebooks in place with their own default parameters, keeping outputs for nbval.

    Volatile metadata (execution timing, papermill records) is stripped. A notebook whose outputs contain
    this machine's project path is refused: committed outputs must not depend on the machine.
    """
    check_kernel(kernel_name)
    notebooks = check_notebooks(notebooks if notebooks is not None else default_notebooks())
    root = str(paths.PROJECT_ROOT.resolve())
    for path in notebooks:
        text = nbformat.writes(execute_fresh(path, kernel_name))
        if root in text:
            raise ValueError(f"{path.name}: outputs contain the absolute project path {root}; "
                             "print paths relative to the project instead")
        path.write_text(text, encoding="utf-8")
    return notebooks

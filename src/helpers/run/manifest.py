"""Run manifest: what went in (input hash, parameters, versions) and what came out (hash of every output).

The manifest holds no timestamps, host names or absolute paths, so two runs of the same inputs with the same
code give byte-identical ``manifest.json`` files (apart from ``git_commit`` when the code itself changed).
Wall-clock times live in a separate run log (``run-log.json``) that no comparison reads.

Hashes are SHA-256 (FIPS 180-4). A folder is hashed as the SHA-256 of its sorted
``"<relative posix path>\\0<file sha256>\\n"`` lines, so renaming or editing any file changes it.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from helpers.core import paths

MANIFEST_NAME = "manifest.json"
RUN_LOG_NAME = "run-log.json"
#: Sub-folders of a run whose every file is hashed into the manifest and compared by ``verify``.
HASHED_DIRS = ("figures", "tables")
#: Extra distributions recorded besides the direct requirements (the kernel machinery and this project).
EXTRA_DISTRIBUTIONS = ("nmda-review",)


def sha256_path(path: Path | str) -> str:
    """SHA-256 of a file, or of a folder's files (sorted relative paths and their hashes, hidden files skipped)."""
    target = Path(path)
    if target.is_file():
        return paths.sha256_file(target)
    if not target.is_dir():
        raise FileNotFoundError(f"input to hash does not exist: {target}")
    digest = hashlib.sha256()
    for rel, sha in sorted(hash_tree(target).items()):
        digest.update(f"{rel}\0{sha}\n".encode())
    return digest.hexdigest()


def hash_tree(folder: Path | str) -> dict[str, str]:
    """``{relative posix path: sha256}`` of every non-hidden file under ``folder`` (empty when it is absent)."""
    root = Path(folder)
    if not root.is_dir():
        return {}
    out = {}
    for file in sorted(root.rglob("*")):
        rel = file.relative_to(root)
        if file.is_file() and not any(part.startswith(".") for part in rel.parts):
            out[rel.as_posix()] = paths.sha256_file(file)
    return out


def hash_outputs(run_dir: Path | str) -> dict[str, str]:
    """Hashes of every file under the run's ``figures/`` and ``tables/``, keyed ``"figures/<name>"``."""
    run = Path(run_dir)
    hashes = {}
    for sub in HASHED_DIRS:
        for rel, sha in hash_tree(run / sub).items():
            hashes[f"{sub}/{rel}"] = sha
    return dict(sorted(hashes.items()))


def portable_path(path: Path | str | None) -> str | None:
    """``path`` relative to the project root, posix (``data/raw/...`` inside it, ``../shared/...`` beside it): no
    machine path in a manifest or run report, and a clone with the same neighbours resolves it again. None stays
    None; a path on another drive (Windows), which has no relative form, stays absolute."""
    if path is None:
        return None
    absolute = os.path.abspath(path)  # symlinks kept: a ../shared that is a link stays ../shared
    try:
        return Path(os.path.relpath(absolute, os.path.abspath(paths.PROJECT_ROOT))).as_posix()
    except ValueError:
        return absolute


def resolve_portable(path: str | None) -> Path | None:
    """Inverse of :func:`portable_path`: relative paths are taken from the project root."""
    if path is None:
        return None
    candidate = Path(path)
    return candidate if candidate.is_absolute() else paths.PROJECT_ROOT / candidate


def normalise_distribution(name: str) -> str:
    """PEP 503 form of a distribution name: lower case, runs of ``-_.`` as ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_requirements(pyproject: Path | None = None) -> dict[str, list[str]]:
    """Distribution names declared in ``pyproject.toml``, the one declaration of dependencies, by group:
    ``{"dependencies": [...], "<extra>": [...]}`` (normalised)."""
    with open(pyproject or paths.PROJECT_ROOT / "pyproject.toml", "rb") as handle:
        project = tomllib.load(handle)["project"]
    groups = {"dependencies": project["dependencies"], **project.get("optional-dependencies", {})}
    return {group: [normalise_distribution(re.split(r"[<>=!~\[; ]", req.strip(), maxsplit=1)[0]) for req in reqs]
            for group, reqs in groups.items()}


def requirement_names(pyproject: Path | None = None) -> list[str]:
    """Every declared distribution name (dependencies, then each optional group)."""
    return [name for names in declared_requirements(pyproject).values() for name in names]


def package_versions() -> dict[str, str]:
    """Installed versions of the direct requirements plus the kernel machinery; absent ones as "not installed"."""
    versions = {}
    for name in [*requirement_names(), *EXTRA_DISTRIBUTIONS]:
        try:
            versions[name.lower()] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name.lower()] = "not installed"
    return dict(sorted(versions.items()))


def git_commit() -> dict[str, object]:
    """``{"commit": sha or None, "dirty": bool or None}`` of the project checkout (None outside git)."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=paths.PROJECT_ROOT, capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "dirty": None if status is None else bool(status)}


@dataclass(frozen=True)
class OutputDifference:
    """One output that does not match: ``expected``/``found`` are SHA-256 hex digests or None when absent."""

    output: str
    expected: str | None
    found: str | None
    where: str

    def describe(self) -> str:
        if self.expected is None:
            return f"{self.output}: unexpected extra output in {self.where}"
        if self.found is None:
            return f"{self.output}: missing in {self.where}"
        return f"{self.output}: differs in {self.where} (expected {self.expected[:12]}, found {self.found[:12]})"


def compare_hashes(expected: dict[str, str], found: dict[str, str], where: str) -> list[OutputDifference]:
    """Every output whose hash differs, is missing from ``found`` or is extra in it, in sorted order."""
    return [
        OutputDifference(name, expected.get(name), found.get(name), where)
        for name in sorted(set(expected) | set(found))
        if expected.get(name) != found.get(name)
    ]


def write_json(path: Path, payload: dict) -> None:
    """Write ``payload`` as sorted, indented JSON with a trailing newline (byte-stable)."""
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def read_manifest(run_dir: Path | str) -> dict:
    """Load ``RUN_DIR/manifest.json``; a clear error when it is absent or not a manifest."""
    file = Path(run_dir) / MANIFEST_NAME
    if not file.is_file():
        raise FileNotFoundError(f"no {MANIFEST_NAME} in {run_dir}: is this a run folder made by `python -m helpers.run`?")
    try:
        payload = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{file}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    for field in ("notebooks", "outputs", "input", "kernel"):
        if field not in payload:
            raise ValueError(f"{file}: manifest field '{field}' is missing")
    return payload


def python_version() -> str:
    return platform.python_version()

"""Project paths, in one place.

Every path the code uses is derived here from the project root. Importing this module touches nothing on
disk; functions that need a folder to exist create it themselves, and never under ``data/raw/``.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]
DATA = PROJECT_ROOT / "data"
DATA_RAW = DATA / "raw"  # immutable inputs: read-only to code
DATA_PROCESSED = DATA / "processed"  # written only by code
DATA_EXTERNAL = DATA / "external"  # downloaded inputs (git-ignored cache, helpers.data.fetch)
REVIEWS = DATA / "reviews"  # per-review YAML mapping analyses to drug/route/outcome/time point
NOTEBOOKS = PROJECT_ROOT / "notebooks"
FIGURES = PROJECT_ROOT / "figures"
RUNS = PROJECT_ROOT / "runs"
SHARED = PROJECT_ROOT.parent / "shared"
SHARED_SAMPLE_PACKAGE = SHARED / "fixtures" / "cochrane-data-package" / "Fleiss1993.zip"
SHARED_REAL_ROWS = SHARED / "fixtures" / "cd015373-real" / "CD015373_pub2_data.rda"  # the real review's data rows
#: The Jupyter kernel the project registers (``make install``: the Makefile's ``KERNEL``) and runs notebooks in.
KERNEL_NAME = "nmda-review-py3"
_CHUNK = 1 << 20


def sha256_file(path: Path | str) -> str:
    """SHA-256 hex digest of one file's bytes, read in 1 MiB blocks (a fetched input, a run's outputs)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def is_under_raw(path: Path | str) -> bool:
    """True when ``path`` resolves to ``data/raw/`` or anything beneath it."""
    resolved = Path(path).resolve()
    raw = DATA_RAW.resolve()
    return resolved == raw or raw in resolved.parents


def display(path: Path | str) -> str:
    """``path`` as messages and outputs show it: relative to the project when inside it (no machine paths in
    committed outputs), else as given."""
    resolved = Path(path).resolve()
    root = PROJECT_ROOT.resolve()
    return resolved.relative_to(root).as_posix() if root in resolved.parents else str(path)


def ensure_writable_dir(path: Path | str) -> Path:
    """Create ``path`` (and parents) for output and return it; refuse anything under ``data/raw/``."""
    target = Path(path)
    if is_under_raw(target):
        raise PermissionError(f"refusing to write under data/raw/ (read-only to code): {target}")
    target.mkdir(parents=True, exist_ok=True)
    return target


def check_stem(stem: str) -> str:
    """Return ``stem`` when it is a plain output file name (no folders, not hidden); raise ValueError otherwise."""
    if not stem or "/" in stem or "\\" in stem or stem.startswith("."):
        raise ValueError(f"stem must be a plain file name without folders; got {stem!r}")
    return stem

"""Shared test fixtures. Area-specific fixtures live in the test modules that use them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers.core import paths


def pytest_collection_modifyitems(items):
    """The one long item of `make test` (nbval over the committed notebook set, marked ``notebooks``) first:
    with ``-n 2 --dist loadfile`` one worker runs it while the other works through the rest, instead of
    starting it last and leaving the other worker idle."""
    items.sort(key=lambda item: item.get_closest_marker("notebooks") is None)


@pytest.fixture(scope="session")
def shared_sample() -> Path:
    """The real RevMan Web data package in ../shared (skips when that folder is absent)."""
    if not paths.SHARED_SAMPLE_PACKAGE.exists():
        pytest.skip(f"shared sample package not present at {paths.SHARED_SAMPLE_PACKAGE}")
    return paths.SHARED_SAMPLE_PACKAGE


@pytest.fixture(scope="session")
def rscript() -> str:
    """Path to Rscript with metafor installed (skips with a clear reason otherwise)."""
    exe = shutil.which("Rscript")
    if exe is None:
        pytest.skip("Rscript not found: install r-base-core r-cran-metafor to run the live metafor comparison")
    import subprocess

    probe = subprocess.run([exe, "-e", "library(metafor)"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip("R package metafor not installed (apt-get install r-cran-metafor)")
    return exe


@pytest.fixture(scope="session")
def real_rows() -> Path:
    """The real review's data rows (CD015373.pub2, .rda) in ../shared (skips when that folder is absent)."""
    if not paths.SHARED_REAL_ROWS.exists():
        pytest.skip(f"real data rows not present at {paths.SHARED_REAL_ROWS}")
    return paths.SHARED_REAL_ROWS

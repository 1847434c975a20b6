"""Shared test fixtures. Area-specific fixtures live in the test modules that use them."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from helpers.core import paths


def pytest_collection_modifyitems(items):
    """The one long item of `make test` (nbval over the committed notebook set, marked ``notebooks``) first:
    with ``-n 2 --dist loadfile`` one worker runs it while the other works through the rest, instead of
    starting it last and leaving the other worker idle."""
    items.sort(key=lambda item: item.get_closest_marker("notebooks") is None)


CI_VALUES = ("true", "1", "yes")  # what CI services set CI to (GitHub Actions, GitLab, Travis: "true")


def on_ci() -> bool:
    """True when the environment says this is a CI run (``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() in CI_VALUES


def need_shared(path: Path, what: str) -> Path:
    """``path`` (a fixture in ../shared) when it exists. Absent, the test skips outside CI and FAILS on CI
    (``CI=true``): there a missing fixture would silently turn every check against real data into a skip.
    The one place tests decide this; use it (or the fixtures below) for anything read from ../shared."""
    if path.exists():
        return path
    message = f"{what} not present at {path}"
    if on_ci():
        pytest.fail(f"{message}: CI=true, so the tests that need it fail instead of skipping "
                    f"(place the fixtures in {paths.SHARED} beside the project)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def shared_sample() -> Path:
    """The real RevMan Web data package in ../shared (skips outside CI, fails on CI when absent)."""
    return need_shared(paths.SHARED_SAMPLE_PACKAGE, "shared sample package")


@pytest.fixture(scope="session")
def real_rows() -> Path:
    """The real review's data rows (CD015373.pub2, .rda) in ../shared (skips outside CI, fails on CI when absent)."""
    return need_shared(paths.SHARED_REAL_ROWS, "real data rows")


@pytest.fixture(scope="session")
def pairwise70() -> Path:
    """The Cochrane Library's data-rows export of 400 real reviews (../shared/fixtures/pairwise70/data, R data
    files; skips outside CI, fails on CI when absent)."""
    return need_shared(paths.SHARED / "fixtures" / "pairwise70" / "data", "Pairwise70 reviews")


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

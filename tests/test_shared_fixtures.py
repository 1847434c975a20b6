"""Tests that read ../shared skip only outside CI: with ``CI=true`` and the fixture absent they FAIL with a clear
message (tests/conftest.py: ``need_shared`` and the ``shared_sample``, ``real_rows``, ``pairwise70`` fixtures).

Checked by running pytest in a subprocess with the ../shared paths pointed at a folder that does not exist (a
plugin module that rewrites ``helpers.core.paths`` before collection), once with ``CI=true`` and once without."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from helpers.core import paths

TESTS = Path(__file__).resolve().parent
PROBE = '''
from conftest import pairwise70, real_rows, shared_sample  # fixtures of tests/conftest.py, used from a probe file


def test_sample(shared_sample):
    pass

def test_rows(real_rows):
    pass

def test_pairwise70(pairwise70):
    pass
'''
# real test modules reading ../shared directly or through the fixtures (one of each way)
REAL = ["test_malformed.py::test_real_rows_keep_both_dadabayev_strata_with_a_warning",
        "test_properties.py::test_mutated_packages_load_or_raise_the_projects_error[fleiss]"]  # fmt: skip


def _run(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess:
    missing = tmp_path / "no-shared"
    (tmp_path / "shared_missing.py").write_text(
        "from pathlib import Path\nfrom helpers.core import paths\n"
        f"paths.SHARED = Path({str(missing)!r})\n"
        "paths.SHARED_SAMPLE_PACKAGE = paths.SHARED / 'fixtures' / 'cochrane-data-package' / 'Fleiss1993.zip'\n"
        "paths.SHARED_REAL_ROWS = paths.SHARED / 'fixtures' / 'cd015373-real' / 'CD015373_pub2_data.rda'\n",
        encoding="utf-8")
    (tmp_path / "test_probe.py").write_text(PROBE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")}
    if ci is not None:
        env["CI"] = ci
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(TESTS)])
    args = [sys.executable, "-m", "pytest", "-q", "-rfs", "-n", "0", "-p", "no:randomly", "-p", "no:cacheprovider",
            "-p", "shared_missing", "-c", str(paths.PROJECT_ROOT / "pyproject.toml"),
            "--rootdir", str(paths.PROJECT_ROOT), str(tmp_path / "test_probe.py"), *(str(TESTS / t) for t in REAL)]
    return subprocess.run(args, capture_output=True, text=True, cwd=paths.PROJECT_ROOT, env=env, timeout=300)


def test_absent_fixtures_fail_on_ci_with_the_reason(tmp_path):
    done = _run(tmp_path, "true")
    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "1 failed, 4 errors" in out, out  # fixtures fail at setup (errors), the direct call in the test (failed)
    assert "passed" not in out and "skipped" not in out, out
    for what in ("shared sample package", "real data rows", "Pairwise70 reviews"):
        assert f"{what} not present at {tmp_path / 'no-shared'}" in out, out
    assert "CI=true, so the tests that need it fail instead of skipping" in out


def test_absent_fixtures_skip_outside_ci(tmp_path):
    done = _run(tmp_path, None)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 skipped" in done.stdout and "failed" not in done.stdout and "error" not in done.stdout, done.stdout

"""Benchmarks cannot rot: every script under benchmarks/ runs its quick mode here and prints its table.

The scripts are discovered (``benchmarks/_common.scripts``: every ``benchmarks/*.py`` not starting with ``_``), so
a new benchmark is covered by adding it. Each must take ``--quick`` (seconds) and ``--json``; the rows are
checked for structure and for positive, finite numbers, never against time thresholds (speed is measured by
``make benchmark``, not asserted in timed tests).
"""

from __future__ import annotations

import importlib.util
import json
import math
import re
import shutil
import subprocess
import sys

import pytest

from helpers.core import paths

BENCHMARKS = paths.PROJECT_ROOT / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))
from _common import COLUMNS, Row, format_table, scripts  # noqa: E402

QUICK_TIMEOUT = 900  # seconds: generous for a loaded machine; a quick mode takes seconds on a quiet one


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_scripts_are_discovered():
    names = [p.name for p in scripts()]
    assert {"engine.py", "run.py", "explore.py", "test_suite.py"} <= set(names)
    assert not any(n.startswith("_") for n in names)


@pytest.mark.parametrize("script", scripts(), ids=lambda p: p.name)
def test_quick_mode_prints_its_table(script, tmp_path):
    out = tmp_path / "rows.json"
    done = subprocess.run([sys.executable, str(script), "--quick", "--json", str(out)], cwd=paths.PROJECT_ROOT,
                          capture_output=True, text=True, timeout=QUICK_TIMEOUT)
    assert done.returncode == 0, f"{script.name} --quick failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    header = done.stdout.splitlines()[0].split()
    assert header[:3] == ["measured", "ours", "(s)"] and "aim" in header, done.stdout[:500]
    report = json.loads(out.read_text())
    assert report["script"] == script.name and report["rows"]
    for row in report["rows"]:
        assert set(row) == set(COLUMNS), row
        assert row["measured"].strip() and row["measured"] in done.stdout
        assert math.isfinite(row["ours_s"]) and row["ours_s"] > 0, row
        if row["peer"]:
            assert math.isfinite(row["peer_s"]) and row["peer_s"] > 0 or not shutil.which("Rscript"), row
            assert row["ratio"] == pytest.approx(row["ours_s"] / row["peer_s"], nan_ok=True)
    for stage, seconds in report["stages"].items():
        assert stage in done.stdout and math.isfinite(seconds) and seconds >= 0, (stage, seconds)
    assert any(note.startswith("machine: ") and "load average" in note for note in report["notes"])
    # the notes go into README.md (make benchmark README=1): no machine path in them
    root = str(paths.PROJECT_ROOT.resolve().parent)
    assert not [n for n in report["notes"] if root in n or str(paths.SHARED.resolve()) in n], report["notes"]


def test_table_lists_every_row_with_its_ratio():
    table = format_table([Row("a", 2.0, "metafor", 4.0, "faster"), Row("b", 1.0)])
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["measured", "ours", "(s)"] and set(lines[1]) == {"-"}
    assert lines[2].split() == ["a", "2.000", "metafor", "4.000", "0.50", "faster"]
    assert lines[3].split() == ["b", "1.000", "-", "-", "-", "-"]
    assert format_table([Row("c", 0.042, "metafor", 41.7)]).splitlines()[2].split()[4] == "0.001"  # not 0.00


def test_engine_benchmark_same_work_same_rules():
    """benchmarks/engine.py compares the same work under the same rules (issue 9 point 10)."""
    b = _load("engine")
    script = b.r_loop()
    # the same fits: one rma call per engine fit, the same tests, each with the same REML threshold
    calls = re.findall(r'rma\(yi, vi, data = u, method = "(\w+)", test = ([^,]+), control = list\(threshold = '
                       r"([0-9e.-]+)", script)
    assert [(m, "knha" in t) for m, t, _ in calls[:len(b.FITS)]] == [(m, ci == "hksj") for m, ci in b.FITS]
    assert {float(th) for _, _, th in calls} == {b.REML_TOL}
    # leave-one-out of the fit with the engine's CI method (was the knha fit against the engine's Wald)
    loo_method, loo_ci = b.LEAVE_ONE_OUT
    assert calls[-1][0] == loo_method and calls[-1][1] == f'"{b.R_TEST[loo_ci]}"'
    assert script.count('confint(fit, type = "QP")') == sum(m != "FE" for m, _ in b.FITS)
    # the small analyses: REML with knha (the engine's hksj) at the same threshold
    assert re.search(r'rma\(yi, vi, data = a, method = "REML", test = "knha", control = list\(threshold = '
                     + re.escape(f"{b.REML_TOL:g}"), script)
    # the same statistic: best of the repeats given to both sides
    assert "seq_len(repeats)" in script and "best <- min(best" in script
    assert "best of 3 passes" in b.rules(3) and "same work both sides" in b.rules()


def test_readme_section_is_rewritten_between_its_markers_only(tmp_path):
    b = _load("_all")
    readme = tmp_path / "README.md"
    readme.write_text(f"# Title\n\n## Performance\n\nkept\n\n{b.README_START}\nold numbers\n{b.README_END}\n\n## Next\n")
    rows = [Row("full run", 90.0, "floor", 40.0, "<= 2x floor"), Row("b", 1.0)]
    report = {"script": "run.py", "rows": [], "stages": {"kernel": 30.0, "cells: saving PNG": 10.0},
              "notes": ["floor per execution: 00_data 4.0 s", "machine: 2 cores, load average 1.0"]}
    text = b.markdown([report], rows, when="2026-12-03 17:00 UTC", load_start="0.5, 0.4, 0.3", load_end="1.0, 0.8, 0.5")
    b.write_readme(readme, text)
    out = readme.read_text()
    assert "old numbers" not in out and out.startswith("# Title\n\n## Performance\n\nkept\n\n")
    assert out.endswith(f"{b.README_END}\n\n## Next\n")
    assert "| full run | 90.000 | floor | 40.000 | 2.25 | <= 2x floor |" in out
    assert "| b | 1.000 | - | - | - | - |" in out
    assert "| kernel | 30.0 | 75.0 % |" in out and "| cells: saving PNG | 10.0 | 25.0 % |" in out
    assert "load average (1, 5, 15 min) 0.5, 0.4, 0.3 at the start, 1.0, 0.8, 0.5 at the end" in out
    assert "; scripts: run.py." in out
    assert "- run.py: floor per execution: 00_data 4.0 s" in out and "machine: 2 cores" not in out
    b.write_readme(readme, "new")  # a second measurement replaces the first
    assert out.split(b.README_START)[0] == readme.read_text().split(b.README_START)[0]
    assert f"{b.README_START}\nnew\n{b.README_END}" in readme.read_text()
    readme.write_text("no markers\n")
    with pytest.raises(SystemExit, match="needs the lines"):
        b.write_readme(readme, "x")


def test_run_stages_take_the_imports_out_of_the_cells_and_split_the_rest():
    b = _load("run")
    per = {"a--x.ipynb": {"total": 12.0, "cells": 10.0, "source": "a.ipynb"},
           "a--y.ipynb": {"total": 5.0, "cells": 3.0, "source": "a.ipynb"}}
    floors = {"a.ipynb": (6.0, 4.0)}  # kernel start + imports, of which the imports cell
    shares = {"a.ipynb": dict(zip(b.PARTS, (0.5, 0.1, 0.2, 0.1, 0.05, 0.05)))}
    stages = b.stages_of(per, floors, shares, export=1.0, outside=2.0)
    assert stages["kernel start and stop (outside cells)"] == pytest.approx(4.0)
    assert stages["cells: library imports (as in the floor)"] == pytest.approx(4.0 + 3.0)  # at most its cells
    assert stages["cells: computing"] == pytest.approx(0.5 * 6.0) and stages["cells: saving PNG"] == pytest.approx(1.2)
    assert sum(stages.values()) == pytest.approx(12.0 + 5.0 + 1.0 + 2.0)

"""benchmarks/engine.py compares the same work under the same rules (issue 9 point 10)."""

from __future__ import annotations

import importlib.util
import re

from helpers.core import paths


def _engine_benchmark():
    spec = importlib.util.spec_from_file_location("bench_engine", paths.PROJECT_ROOT / "benchmarks" / "engine.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_engine_benchmark_same_work_same_rules():
    b = _engine_benchmark()
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
    # the same statistic: best of REPEATS on both sides
    assert f"seq_len({b.REPEATS})" in script and "best <- min(best" in script
    assert f"best of {b.REPEATS}" in b.rules() and "same work both sides" in b.rules()

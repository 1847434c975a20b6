"""Engine speed: every analysis of the default dataset, and REML on 10,000 studies; metafor on the same work.

Run: ``.venv/bin/python benchmarks/engine.py`` (a script, not a test). Work units are the default dataset's
analyses split by drug and route (outcome x time point x drug x route). Both sides do the same work under the
same rules, all taken from the constants below (``FITS``, ``LEAVE_ONE_OUT``, ``REPEATS``, ``REML_TOL``):

- the same fits per unit: FE, DL, REML with the Wald CI, REML with HKSJ (metafor ``test="knha"``), each
  random-effects fit with its Q-profile tau² CI (the engine always computes it; metafor ``confint(type="QP")``),
  and a leave-one-out of the REML fit with the Wald CI (metafor ``leave1out`` of the ``test="z"`` fit);
- the same convergence tolerance for REML: 1e-10 (the engine's relative change of tau², metafor's
  ``control = list(threshold = 1e-10)``, its absolute change: the same for tau² near 1, and tighter than
  metafor's default 1e-5 either way);
- the same statistic: the best of ``REPEATS`` timed passes on both sides (metafor loops inside one Rscript
  process, so process start-up is excluded).
The printout says all of this.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.stats.effects import effect_sizes
from helpers.stats.pooling import pool
from helpers.stats.sensitivity import leave_one_out

SEED = 20250101
N_LARGE = 10_000
REPEATS = 3  # best of REPEATS timed passes, engine and metafor alike
REML_TOL = 1e-10
FITS = (("FE", "z"), ("DL", "z"), ("REML", "z"), ("REML", "hksj"))  # (tau² method, CI method) per unit
LEAVE_ONE_OUT = ("REML", "z")
R_TEST = {"z": "z", "hksj": "knha"}
R_TIMEOUT = 120  # seconds; metafor's rma.uni builds k x k matrices, so 10,000 studies may not finish


def r_loop() -> str:
    """The R script timing metafor on exactly the work of :func:`run_engine` (built from the same constants)."""
    ctrl = f"control = list(threshold = {REML_TOL:g}, maxiter = 1000)"
    lines = []
    for m, ci in FITS:  # HKSJ needs two studies: the engine then uses the Wald CI, and so does this loop
        test = f'"{R_TEST[ci]}"' if ci == "z" else f'if (nrow(u) >= 2) "{R_TEST[ci]}" else "z"'
        lines.append(f'      fit <- suppressWarnings(rma(yi, vi, data = u, method = "{m}", test = {test}, {ctrl}))')
        if m != "FE":
            lines.append('      if (nrow(u) >= 2) ci <- try(suppressWarnings(confint(fit, type = "QP")), silent = TRUE)')
    fits = "\n".join(lines)
    m, ci = LEAVE_ONE_OUT
    return f"""
suppressPackageStartupMessages(library(metafor))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[2])
best <- Inf
for (r in seq_len({REPEATS})) {{
  t0 <- proc.time()[["elapsed"]]
  if (args[1] == "units") {{
    for (u in split(d, factor(d$unit, levels = unique(d$unit)))) {{
{fits}
      if (nrow(u) >= 2) {{
        fit <- suppressWarnings(rma(yi, vi, data = u, method = "{m}", test = "{R_TEST[ci]}", {ctrl}))
        lo <- suppressWarnings(leave1out(fit))
      }}
    }}
  }} else {{
    fit <- rma(yi, vi, data = d, method = "REML", {ctrl})
  }}
  best <- min(best, proc.time()[["elapsed"]] - t0)
}}
cat(sprintf("%.6f %s\\n", best, as.character(packageVersion("metafor"))))
"""


def rules() -> str:
    """One line saying what both sides did."""
    fits = ", ".join(f"{m}{'' if ci == 'z' else ' + ' + ci.upper()}" for m, ci in FITS)
    return (f"same work both sides: per unit {fits} (each random-effects fit with its Q-profile tau2 CI), "
            f"leave-one-out of {LEAVE_ONE_OUT[0]} with CI {LEAVE_ONE_OUT[1]}; REML tolerance {REML_TOL:g}; "
            f"statistic: best of {REPEATS} passes (the engine's leave-one-out fits also compute their Q-profile "
            "CI, metafor's leave1out does not: extra work on the engine side only)")


def workload() -> tuple[list[tuple[str, np.ndarray, np.ndarray]], str]:
    """(unit name, yi, vi) per analysis x drug x route of the default dataset, and a description."""
    try:
        from helpers.data.dataset import load_dataset
    except ImportError:  # the data layer is missing: same shape, seeded
        rng = np.random.default_rng(SEED)
        units = [(f"synthetic-{i}", rng.normal(0, 0.5, k), rng.uniform(0.01, 0.3, k))
                 for i, k in enumerate(rng.integers(1, 12, 60))]
        return units, "GENERATED workload (helpers.data.dataset missing): 60 units of 1-11 studies"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset()
        units = []
        for (aid, drug, route), rows in ds.rows.groupby(["analysis_id", "drug", "route"], sort=True, dropna=False):
            es = effect_sizes(rows.reset_index(drop=True), rows["measure"].iloc[0])
            ok = es["yi"].notna().to_numpy()
            if ok.any():
                units.append((f"{aid}/{drug}/{route}", es["yi"].to_numpy()[ok], es["vi"].to_numpy()[ok]))
    return units, f"{ds.label}: {len(units)} units (analysis x drug x route) from {ds.source}"


def run_engine(units) -> float:
    """Seconds for one pass of the work of :func:`r_loop` over ``units``."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _, y, v in units:
            for method, ci in FITS:
                pool(y, v, method=method, ci=ci if y.size >= 2 else "z", tol=REML_TOL)
            if y.size >= 2:
                leave_one_out(y, v, method=LEAVE_ONE_OUT[0], ci=LEAVE_ONE_OUT[1], tol=REML_TOL)
    return time.perf_counter() - start


def large(seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.005, 0.5, N_LARGE)
    return rng.normal(0.2, np.sqrt(v + 0.04)), v


def run_metafor(units, y_big, v_big) -> tuple[float, float, str] | None:
    """(seconds for the units loop, seconds for REML on the large set or NaN on timeout, metafor version)."""
    exe = shutil.which("Rscript")
    if exe is None:
        return None
    results, version = [], "?"
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "loop.R"
        script.write_text(r_loop())
        frames = [pd.DataFrame({"unit": name, "yi": y, "vi": v}) for name, y, v in units]
        pd.concat(frames).to_csv(Path(tmp) / "units.csv", index=False, float_format="%.17g")
        pd.DataFrame({"yi": y_big, "vi": v_big}).to_csv(Path(tmp) / "big.csv", index=False, float_format="%.17g")
        for mode, csv in (("units", "units.csv"), ("big", "big.csv")):
            try:
                proc = subprocess.run([exe, str(script), mode, str(Path(tmp) / csv)], capture_output=True, text=True,
                                      timeout=R_TIMEOUT)
            except subprocess.TimeoutExpired:
                print(f"metafor {mode}: stopped after {R_TIMEOUT} s without a result (shown as NaN)")
                results.append(np.nan)
                continue
            if proc.returncode != 0:
                print(f"Rscript failed (metafor installed?): {proc.stderr.strip()[-300:]}", file=sys.stderr)
                return None
            seconds, version = proc.stdout.split()
            results.append(float(seconds))
    return results[0], results[1], version


def main() -> None:
    units, description = workload()
    k_total = sum(y.size for _, y, _ in units)
    engine_loop = min(run_engine(units) for _ in range(REPEATS))
    y_big, v_big = large()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fit = pool(y_big, v_big, method="REML", tol=REML_TOL)
        times.append(time.perf_counter() - start)
    engine_big = min(times)
    print(f"workload: {description}; {k_total} study rows")
    print(rules())
    print(f"REML on {N_LARGE} studies (seed {SEED}): tau2 = {fit.tau2:.6f}, converged = {fit.converged}")
    r = run_metafor(units, y_big, v_big)
    rows = [("all analyses of the default dataset", engine_loop, r[0] if r else np.nan),
            (f"REML on {N_LARGE} studies", engine_big, r[1] if r else np.nan)]
    table = pd.DataFrame(rows, columns=["task", "engine_s", "metafor_s"])
    table["engine/metafor"] = table["engine_s"] / table["metafor_s"]
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    print(f"metafor {r[2]} timed inside one Rscript process" if r else "metafor: Rscript not available, not timed")


if __name__ == "__main__":
    main()

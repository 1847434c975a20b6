"""Engine speed: every analysis of the default dataset, many small analyses, REML on 10,000 studies; metafor alike.

Run: ``.venv/bin/python benchmarks/engine.py [--quick] [--json PATH]`` (a script, not a test; ``--quick``: ten
units, 100 small analyses, 1,000 studies, one pass). Work units are the default dataset's
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
Small analyses (``N_SMALL`` seeded analyses of 2-10 studies, as in a corpus of reviews): REML with HKSJ
(metafor ``test="knha"``) for each, the engine in one :func:`helpers.stats.batch.pool_batch` call and as a loop of
:func:`helpers.stats.pooling.pool` (which also computes each Q-profile CI), metafor as a loop of ``rma`` over the
analyses split beforehand, in one R process, with the same tolerance and statistic.
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
from _common import Report, Row, emit, parser

from helpers.stats.batch import pool_batch
from helpers.stats.effects import effect_sizes
from helpers.stats.pooling import pool
from helpers.stats.sensitivity import leave_one_out

SEED = 20250101
N_LARGE = 10_000
N_SMALL = 2_000  # small analyses of 2-10 studies
QUICK = {"units": 5, "N_SMALL": 50, "N_LARGE": 200, "REPEATS": 1}  # --quick: seconds, not minutes
REPEATS = 3  # best of REPEATS timed passes, engine and metafor alike
REML_TOL = 1e-10
FITS = (("FE", "z"), ("DL", "z"), ("REML", "z"), ("REML", "hksj"))  # (tau² method, CI method) per unit
LEAVE_ONE_OUT = ("REML", "z")
R_TEST = {"z": "z", "hksj": "knha"}
#: Seconds per Rscript task; metafor's rma.uni builds k x k matrices, so 10,000 studies may not finish in time.
R_TIMEOUT = {"units": 600, "small": 600, "big": 120}


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
repeats <- as.integer(args[3])
if (args[1] == "small") parts <- split(d, factor(d$group, levels = unique(d$group)))  # not timed
best <- Inf
for (r in seq_len(repeats)) {{
  t0 <- proc.time()[["elapsed"]]
  if (args[1] == "units") {{
    for (u in split(d, factor(d$unit, levels = unique(d$unit)))) {{
{fits}
      if (nrow(u) >= 2) {{
        fit <- suppressWarnings(rma(yi, vi, data = u, method = "{m}", test = "{R_TEST[ci]}", {ctrl}))
        lo <- suppressWarnings(leave1out(fit))
      }}
    }}
  }} else if (args[1] == "small") {{
    for (a in parts) fit <- try(suppressWarnings(rma(yi, vi, data = a, method = "REML", test = "knha", {ctrl})),
                                silent = TRUE)  # an analysis where Fisher scoring fails must not stop the loop
  }} else {{
    fit <- rma(yi, vi, data = d, method = "REML", {ctrl})
  }}
  best <- min(best, proc.time()[["elapsed"]] - t0)
}}
cat(sprintf("%.6f %s\\n", best, as.character(packageVersion("metafor"))))
"""


def rules(repeats: int = REPEATS) -> str:
    """One line saying what both sides did."""
    fits = ", ".join(f"{m}{'' if ci == 'z' else ' + ' + ci.upper()}" for m, ci in FITS)
    return (f"same work both sides: per unit {fits} (each random-effects fit with its Q-profile tau2 CI), "
            f"leave-one-out of {LEAVE_ONE_OUT[0]} with CI {LEAVE_ONE_OUT[1]}; REML tolerance {REML_TOL:g}; "
            f"statistic: best of {repeats} passes (the engine's leave-one-out fits also compute their Q-profile "
            "CI, metafor's leave1out does not: extra work on the engine side only)")


def small_analyses(n: int, seed: int = SEED) -> pd.DataFrame:
    """``n`` seeded analyses of 2-10 studies as long columns ``group, yi, vi`` (heterogeneity 0 to 0.3)."""
    rng = np.random.default_rng(seed)
    k = rng.integers(2, 11, n)
    group = np.repeat(np.arange(n), k)
    vi = rng.uniform(0.01, 0.5, group.size)
    yi = rng.normal(0, 0.4, n)[group] + rng.normal(0, np.sqrt(vi + rng.uniform(0, 0.3, n)[group]))
    return pd.DataFrame({"group": group, "yi": yi, "vi": vi})


def run_small(small: pd.DataFrame, repeats: int) -> tuple[float, float, int]:
    """(seconds for one pool_batch call, seconds for a loop of pool, analyses where REML did not converge) over
    the small analyses, best of ``repeats`` (the loop: one pass; it is the slow reference, not the claim)."""
    y, v, g = (small[c].to_numpy() for c in ("yi", "vi", "group"))
    batch = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # counted in the notes from the result
        for _ in range(repeats):
            start = time.perf_counter()
            fit = pool_batch(y, v, g, "REML", "hksj", tol=REML_TOL)
            batch.append(time.perf_counter() - start)
        start = time.perf_counter()
        for _, part in small.groupby("group", sort=False):
            pool(part["yi"].to_numpy(), part["vi"].to_numpy(), tau2_method="REML", ci="hksj", tol=REML_TOL)
    return min(batch), time.perf_counter() - start, int((~fit.converged).sum())


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
                pool(y, v, tau2_method=method, ci=ci if y.size >= 2 else "z", tol=REML_TOL)
            if y.size >= 2:
                leave_one_out(y, v, tau2_method=LEAVE_ONE_OUT[0], ci=LEAVE_ONE_OUT[1], tol=REML_TOL)
    return time.perf_counter() - start


def large(n: int = N_LARGE, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    v = rng.uniform(0.005, 0.5, n)
    return rng.normal(0.2, np.sqrt(v + 0.04)), v


def run_metafor(inputs: dict[str, pd.DataFrame], repeats: int) -> tuple[dict[str, float], str] | None:
    """({mode: seconds, NaN on timeout}, metafor version) for the modes ``units``, ``small``, ``big`` of
    :func:`r_loop`, each in its own Rscript process; None without Rscript and metafor."""
    exe = shutil.which("Rscript")
    if exe is None:
        return None
    results, version = {}, "?"
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "loop.R"
        script.write_text(r_loop())
        for mode, frame in inputs.items():
            csv = Path(tmp) / f"{mode}.csv"
            frame.to_csv(csv, index=False, float_format="%.17g")
            try:
                proc = subprocess.run([exe, str(script), mode, str(csv), str(repeats)], capture_output=True,
                                      text=True, timeout=R_TIMEOUT[mode])
            except subprocess.TimeoutExpired:
                print(f"metafor {mode}: stopped after {R_TIMEOUT[mode]} s without a result (shown as NaN)")
                results[mode] = np.nan
                continue
            if proc.returncode != 0:
                print(f"metafor {mode} failed (shown as NaN): {proc.stderr.strip()[-300:]}", file=sys.stderr)
                results[mode] = np.nan
                continue
            seconds, version = proc.stdout.split()
            results[mode] = float(seconds)
    return results, version


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    size = QUICK if args.quick else {"units": None, "N_SMALL": N_SMALL, "N_LARGE": N_LARGE, "REPEATS": REPEATS}
    repeats = size["REPEATS"]
    units, description = workload()
    units = units[: size["units"]]
    k_total = sum(y.size for _, y, _ in units)
    engine_loop = min(run_engine(units) for _ in range(repeats))
    small = small_analyses(size["N_SMALL"])
    batch_s, loop_s, not_converged = run_small(small, repeats)
    y_big, v_big = large(size["N_LARGE"])
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fit = pool(y_big, v_big, tau2_method="REML", tol=REML_TOL)
        times.append(time.perf_counter() - start)
    engine_big = min(times)
    frames = [pd.DataFrame({"unit": name, "yi": y, "vi": v}) for name, y, v in units]
    r = run_metafor({"units": pd.concat(frames), "small": small,
                     "big": pd.DataFrame({"yi": y_big, "vi": v_big})}, repeats)
    peer = f"metafor {r[1]}" if r else "metafor (Rscript not available)"
    times_r = r[0] if r else {}
    n_small = size["N_SMALL"]
    report = Report("engine.py", rows=[
        Row(f"all analyses of the default dataset ({len(units)} units)", engine_loop, peer,
            times_r.get("units", np.nan), "faster than metafor"),
        Row(f"{n_small} small analyses, REML + HKSJ, pool_batch", batch_s, peer, times_r.get("small", np.nan),
            "faster than metafor"),
        Row(f"{n_small} small analyses, REML + HKSJ, loop of pool", loop_s, peer, times_r.get("small", np.nan),
            "(reference: the per-analysis path)"),
        Row(f"REML on {size['N_LARGE']} studies", engine_big, peer, times_r.get("big", np.nan),
            "faster than metafor"),
    ], notes=[
        f"workload: {description}; {k_total} study rows",
        rules(repeats),
        f"small analyses: {n_small} seeded analyses of 2-10 studies; pool_batch {n_small / batch_s:,.0f} "
        f"analyses/s" + (f", metafor {n_small / times_r['small']:,.0f} analyses/s (loop of rma in one R process, "
                         f"split beforehand)" if "small" in times_r and np.isfinite(times_r["small"]) else "")
        + f"; REML did not converge in 100 iterations in {not_converged} (pool alike)",
        f"REML on {size['N_LARGE']} studies (seed {SEED}): tau2 = {fit.tau2:.6f}, converged = {fit.converged}",
        f"{peer} timed inside one Rscript process per task" if r else "metafor: Rscript not available, not timed",
    ])
    emit(report, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

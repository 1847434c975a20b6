"""Arm-level values of the synthetic analyses, and the calibration of three analyses to published results.

Each data row is built from draws made once per (trial, stratum, comparison group, analysis name without its
subgroup suffix), so a subgroup analysis repeats the rows of the analysis it splits, as in the review.

* continuous outcomes: control mean and SD drawn around ``CONTINUOUS[outcome]``; the true effect is the drug's
  effect (scaled by time point and comparator) plus ``tau * z``; the observed mean difference adds
  ``noise * SE``; for SMD analyses each row is on its own scale (a drawn factor), as when trials use
  different instruments;
* dichotomous outcomes: control risk ``p_c`` drawn around ``DICHOTOMOUS[outcome]``; log RR = the drug's log RR
  (scaled by comparator) plus ``tau * z``; events are binomial quantiles ``F^-1(u; n, p)`` of pre-drawn
  uniforms ``u``, so they move monotonically with the risk;
* calibration (``CALIBRATION_TARGETS``): the effects of an analysis are replaced by ``mu + s * c_i``, ``c`` the
  centred drawn effects (mean differences, or ``z`` for log RR); for each ``s`` on a grid ``mu`` is corrected
  four times by the remaining error of the pooled estimate, the grid is refined around the best ``s``, and the
  (mu, s) with the smallest maximum of the relative estimate error and relative CI-width error (log scale for
  RR) is kept. It consumes no random numbers.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from helpers.core.results import ResultMixin
from helpers.stats.meta import meta_analysis

TIMEPOINT_DECAY = {"immediate": 1.0, "short": 0.6, "medium": 0.4, "long": 0.3, "any": 1.0, None: 1.0}
COMPARATOR_SCALE = {"placebo": 1.0, "usual_care": 1.3, "active": 0.4, "unknown": 1.0}
# outcome -> (control mean, SD low, SD high, effect of ketamine, effect of other drugs); lower is better except QoL
CONTINUOUS = {
    "pain_intensity": (58.0, 14.0, 26.0, -9.0, -3.0),
    "disability": (40.0, 10.0, 20.0, -5.0, -2.0),
    "quality_of_life": (50.0, 12.0, 22.0, 5.0, 2.0),
    "depressive_symptoms": (9.0, 3.0, 6.0, -1.0, -0.5),
}
CONTINUOUS_TAU = 0.35  # between-trial SD of the true effect, in units of the control SD
SMD_SCALES = (0.2, 0.6, 1.0)  # factors applied to a row's means and SDs in SMD analyses (different instruments)
# outcome -> (control risk, RR ketamine, RR other drugs)
DICHOTOMOUS = {
    "responders_30": (0.25, 1.5, 1.2), "responders_50": (0.15, 1.6, 1.2),
    "any_adverse_event": (0.15, 1.8, 1.2), "serious_adverse_event": (0.03, 1.5, 1.2),
    "other_adverse_events": (0.1, 1.3, 1.2), "withdrawal_ae": (0.05, 2.0, 1.5), "tolerability": (0.05, 2.0, 1.5),
    "psychotomimetic": (0.05, 4.0, 1.5), "hallucinations": (0.03, 4.0, 1.5), "dissociative": (0.05, 4.0, 1.5),
    "sedation": (0.1, 2.0, 1.5), "nausea": (0.1, 1.8, 1.5), "vomiting": (0.05, 1.8, 1.3),
    "dizziness": (0.08, 2.0, 1.4), "headache": (0.12, 1.2, 1.1),
}  # fmt: skip
DICHOTOMOUS_TAU = 0.3
# analysis id -> published (estimate, CI low, CI high): Ferraro et al. 2025, abstract (IV ketamine vs placebo)
CALIBRATION_TARGETS = {
    "1.1": (-15.79, -32.09, 0.51),
    "1.4": (-5.32, -15.51, 4.87),
    "1.9": (3.26, 1.05, 10.09),
}
CALIBRATION_TOLERANCE = 0.10  # relative error allowed on the estimate and on the CI width


@dataclass(frozen=True, repr=False)
class Calibration(ResultMixin):
    """Achieved versus published estimate for one calibrated analysis (display scale: MD or RR)."""

    analysis: str
    k: int
    target: float
    target_ci_low: float
    target_ci_high: float
    estimate: float
    ci_low: float
    ci_high: float
    estimate_error: float  # relative
    width_error: float  # relative (log scale for ratios)


def draw(rng: np.random.Generator) -> dict:
    """The random numbers one data row is built from (always the same count, whatever its data type)."""
    return {"z": float(rng.standard_normal()), "noise": float(rng.standard_normal()),
            "mean_c": float(rng.standard_normal()), "sd": float(rng.random()), "sd_ratio": float(rng.uniform(0.85, 1.15)),
            "risk_z": float(rng.standard_normal()), "u": (float(rng.random()), float(rng.random())),
            "scale": float(SMD_SCALES[int(rng.integers(len(SMD_SCALES)))])}  # fmt: skip


def _outcome(analysis) -> str:
    table = CONTINUOUS if analysis.data_type == "continuous" else DICHOTOMOUS
    if analysis.outcome not in table:
        raise ValueError(f"analysis {analysis.analysis_id} ({analysis.name!r}): outcome {analysis.outcome!r} has no "
                         f"generation parameters; known {analysis.data_type} outcomes: {', '.join(table)}")
    return analysis.outcome


def raw_effects(analysis, trials: list, draws: list[dict]) -> np.ndarray:
    """Drawn effects of the rows (mean difference on the row's scale, or the log RR's standard normal part)."""
    if analysis.data_type == "dichotomous":
        return np.array([d["z"] for d in draws])
    mean, sd_lo, sd_hi, eff_k, eff_o = CONTINUOUS[_outcome(analysis)]
    out = []
    for t, d in zip(trials, draws):
        sd = sd_lo + (sd_hi - sd_lo) * d["sd"]
        n_e, n_c = t.arms
        se = math.sqrt((sd * d["sd_ratio"]) ** 2 / n_e + sd**2 / n_c)
        effect = (eff_k if t.drug == "ketamine" else eff_o) * TIMEPOINT_DECAY[analysis.timepoint]
        out.append(effect * COMPARATOR_SCALE[t.comparator] + CONTINUOUS_TAU * sd * d["z"] + d["noise"] * se)
    return np.array(out)


def rows(analysis, trials: list, draws: list[dict], shift: tuple[float, float] | None = None) -> list[dict]:
    """Arm-level data rows; ``shift=(mu, s)`` replaces the effects by ``mu + s * c_i`` (calibration)."""
    effects = raw_effects(analysis, trials, draws)
    out = []
    if analysis.data_type == "continuous":
        if shift is not None:
            effects = shift[0] + shift[1] * (effects - effects.mean())
        mean, sd_lo, sd_hi, _, _ = CONTINUOUS[_outcome(analysis)]
        for t, d, eff in zip(trials, draws, effects):
            k = d["scale"] if analysis.measure == "SMD" else 1.0
            sd = sd_lo + (sd_hi - sd_lo) * d["sd"]
            mean_c = max(mean + 0.15 * mean * d["mean_c"], 0.5)
            n_e, n_c = t.arms
            out.append({"mean_e": round(k * max(mean_c + eff, 0.1), 1), "sd_e": round(k * sd * d["sd_ratio"], 1),
                        "n_e": n_e, "mean_c": round(k * mean_c, 1), "sd_c": round(k * sd, 1), "n_c": n_c})  # fmt: skip
        return out
    risk, rr_k, rr_o = DICHOTOMOUS[_outcome(analysis)]
    theta = np.array([math.log(rr_k if t.drug == "ketamine" else rr_o) * COMPARATOR_SCALE[t.comparator]
                      for t in trials]) + DICHOTOMOUS_TAU * effects  # fmt: skip
    if shift is not None:
        theta = shift[0] + shift[1] * (effects - effects.mean())
    for t, d, th in zip(trials, draws, theta):
        n_e, n_c = t.arms
        p_c = float(np.clip(risk * math.exp(0.4 * d["risk_z"]), 0.005, 0.9))
        p_e = float(min(p_c * math.exp(th), 0.97))
        out.append({"events_e": int(stats.binom.ppf(d["u"][0], n_e, p_e)), "n_e": n_e,
                    "events_c": int(stats.binom.ppf(d["u"][1], n_c, p_c)), "n_c": n_c})  # fmt: skip
    if out and not any(r["events_e"] + r["events_c"] for r in out):
        out[0]["events_e"] = 1  # no event at all: one, so every analysis is estimable (docs)
    return out


def pool(analysis, labels: list[str], values: list[dict]):
    """The analysis pooled as RevMan does (its own measure, method and model; DerSimonian-Laird tau²)."""
    table = pd.DataFrame([{**v, "study": lab} for lab, v in zip(labels, values)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero cells etc. are recorded when the package's estimates are filled
        return meta_analysis(table, analysis.measure, method=analysis.method, model=analysis.model,
                             tau2_method="DL", study="study")  # fmt: skip


def calibrate(analysis, trials: list, draws: list[dict]) -> tuple[tuple[float, float], Calibration]:
    """Find (mu, s) so the analysis' pooled estimate and CI width land on its target (module docstring)."""
    target = CALIBRATION_TARGETS[analysis.analysis_id]
    log = analysis.data_type == "dichotomous"
    tr = np.log(target) if log else np.asarray(target, float)
    to_display = np.exp if log else (lambda x: x)
    labels = [t.label for t in trials]

    def run(mu, s):
        res = pool(analysis, labels, rows(analysis, trials, draws, (mu, s))).overall
        err_est = abs(float(to_display(res.estimate)) / target[0] - 1)
        err_width = abs((res.ci_high - res.ci_low) / (tr[2] - tr[1]) - 1)
        return max(err_est, err_width), err_est, err_width, res

    def search(grid, best):
        for s in grid:
            mu = float(tr[0])
            for _ in range(4):
                score = run(mu, s)
                if best is None or score[0] < best[0][0]:
                    best = (score, (mu, float(s)))
                mu += float(tr[0] - score[3].estimate)
        return best

    if log:
        grid = np.linspace(0.0, 4.0, 41)
    else:
        spread = float(np.std(raw_effects(analysis, trials, draws))) or 1.0
        grid = np.linspace(0.05, 3.0, 30) * 10.0 / spread
    best = search(grid, None)
    step = grid[1] - grid[0]
    best = search(np.linspace(max(best[1][1] - step, 0.0), best[1][1] + step, 11), best)
    (_, err_est, err_width, res), shift = best
    record = Calibration(f"{analysis.analysis_id} {analysis.name}", int(res.k), *target,
                         float(to_display(res.estimate)), float(to_display(res.ci_low)),
                         float(to_display(res.ci_high)), float(err_est), float(err_width))  # fmt: skip
    return shift, record

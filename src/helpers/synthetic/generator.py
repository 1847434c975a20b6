"""Seeded generator of the synthetic default dataset, written as a Cochrane data package (version 1).

The package is shaped like Ferraro et al. 2025 (CD015373.pub2): 67 RCTs, 2,309 participants, 39 ketamine
trials, the rest memantine, dextromethorphan, amantadine and magnesium; parallel and crossover designs;
placebo, usual-care and active comparators. It is NOT evidence: every label starts ``SYN-`` and every
study's notes say ``SYNTHETIC - not real trial data``.

Method (documented in docs/synthetic-data.md):

* study attributes, arm sizes, arm-level data and reporting patterns are drawn from one
  ``numpy.random.Generator(PCG64(seed))`` in a fixed order; randomised N are scaled to sum to 2,309 exactly
  (largest-remainder rounding);
* pain (0-100, lower is better) is continuous arm data for parallel trials (MD, IV, random effects) and a
  paired mean difference with SE for crossover trials (generic inverse variance); adverse events are
  events/N (RR, Mantel-Haenszel, random effects); events are binomial quantiles ``F^-1(u; n, p)`` of
  pre-drawn uniforms ``u``, so they move monotonically with the risk;
* three intravenous-ketamine-versus-placebo subgroups are calibrated to the published estimates
  (``CALIBRATION_TARGETS``): study effects are ``mu + s * c_i`` with a fixed centred vector ``c``; for each
  ``s`` on a grid, ``mu`` is moved by the remaining error four times, and the (mu, s) whose pooled estimate
  and CI width are closest (max relative error) is kept, so no random numbers are consumed by calibration;
* RevMan's published columns (study weight/mean/CI, subgroup and overall estimates, heterogeneity, Z, P,
  test for subgroup differences) are computed with :func:`helpers.stats.meta.meta_analysis` using each analysis'
  own settings (RevMan preset: DerSimonian-Laird tau², Wald CI).

Reference for the format: Cochrane RevMan knowledge base, "Data package specification" (version 1), and the
RevMan Web sample package Fleiss1993 (BOM, ``#N/A``, ``0.0`` placeholders, line endings, 6-decimal numbers).

Regenerate: ``.venv/bin/python -m helpers.synthetic --out DIR`` (``--allow-raw`` to write data/raw).
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from helpers.core import paths
from helpers.core.errors import OneLineArgumentParser, cli_main
from helpers.stats.meta import meta_analysis
from helpers.core.results import ResultMixin

SEED = 20251
PACKAGE_ID = "000000000000000001"
PACKAGE_NAME = "synthetic-cd015373"
TOTAL_PARTICIPANTS = 2309
SYNTHETIC_NOTE = "SYNTHETIC - not real trial data"
BOM = "\ufeff"
ZIP_DATE = (2025, 1, 1, 0, 0, 0)

DRUG_CODES = {"ketamine": "K", "memantine": "M", "dextromethorphan": "D", "amantadine": "A", "magnesium": "Mg"}
# route code -> (tidy route, route detail)
ROUTES = {
    "IV": ("intravenous", "intravenous infusion"),
    "PO": ("oral", "oral"),
    "TOP": ("topical", "topical cream"),
    "IN": ("other", "intranasal"),
    "SC": ("other", "subcutaneous"),
}
SUBGROUP_LABELS = {"intravenous": "Intravenous", "oral": "Oral", "topical": "Topical", "other": "Other routes"}
COMPARATORS = {"placebo": "placebo", "usual_care": "usual care", "active": "active comparator"}
COMPARATOR_DETAIL = {"placebo": ("saline placebo", "inert placebo"), "usual_care": ("usual care",),
                     "active": ("lidocaine", "midazolam", "gabapentin")}  # fmt: skip

# (drug, route code, comparator, design, number of trials): 39 ketamine + 28 others = 67
STRATA = (
    ("ketamine", "IV", "placebo", "parallel", 16),
    ("ketamine", "IV", "placebo", "crossover", 5),
    ("ketamine", "IV", "usual_care", "parallel", 2),
    ("ketamine", "IV", "active", "parallel", 2),
    ("ketamine", "PO", "placebo", "parallel", 4),
    ("ketamine", "PO", "placebo", "crossover", 2),
    ("ketamine", "TOP", "placebo", "parallel", 3),
    ("ketamine", "TOP", "placebo", "crossover", 1),
    ("ketamine", "IN", "placebo", "parallel", 2),
    ("ketamine", "IN", "placebo", "crossover", 1),
    ("ketamine", "SC", "placebo", "parallel", 1),
    ("memantine", "PO", "placebo", "parallel", 7),
    ("memantine", "PO", "placebo", "crossover", 2),
    ("dextromethorphan", "PO", "placebo", "parallel", 4),
    ("dextromethorphan", "PO", "placebo", "crossover", 3),
    ("amantadine", "IV", "placebo", "parallel", 2),
    ("amantadine", "PO", "placebo", "parallel", 1),
    ("amantadine", "PO", "placebo", "crossover", 1),
    ("magnesium", "IV", "placebo", "parallel", 4),
    ("magnesium", "PO", "placebo", "parallel", 3),
    ("magnesium", "IV", "usual_care", "parallel", 1),
)
CONDITIONS = {
    "ketamine": ("neuropathic pain", "CRPS", "fibromyalgia", "cancer pain", "phantom limb pain",
                 "chronic postsurgical pain", "mixed chronic pain"),
    "memantine": ("neuropathic pain", "fibromyalgia", "phantom limb pain", "CRPS"),
    "dextromethorphan": ("painful diabetic neuropathy", "postherpetic neuralgia", "neuropathic pain"),
    "amantadine": ("neuropathic pain", "cancer pain"),
    "magnesium": ("neuropathic pain", "fibromyalgia", "CRPS", "cancer pain"),
}  # fmt: skip

TIMEPOINTS = ("immediate", "short", "medium", "long")
TIMEPOINT_NAMES = {"immediate": "immediate term", "short": "short term", "medium": "medium term",
                   "long": "long term"}  # fmt: skip
PAIN_REPORT_P = {"immediate": 0.45, "short": 0.5, "medium": 0.2, "long": 0.12}
PAIN_DECAY = {"immediate": 1.0, "short": 0.6, "medium": 0.4, "long": 0.3}
PAIN_MD = {"ketamine": -9.0, "memantine": -3.0, "dextromethorphan": -5.0, "amantadine": -4.0, "magnesium": -2.0}
PAIN_TAU = 7.0
# outcome -> (analysis name, control risk, RR ketamine, RR other drugs, probability a trial reports it)
AE_OUTCOMES = {
    "any_adverse_event": ("Any adverse event", 0.08, 2.2, 1.3, 0.2),
    "psychotomimetic": ("Psychotomimetic adverse events", 0.04, 4.0, 1.5, 0.7),
    "nausea": ("Nausea", 0.10, 1.8, 1.5, 0.65),
    "vomiting": ("Vomiting", 0.05, 1.8, 1.3, 0.45),
    "withdrawal_ae": ("Withdrawal due to adverse events", 0.03, 2.0, 1.5, 0.5),
}
AE_TAU = 0.3
ROB_DOMAINS = (
    "Bias arising from the randomization process",
    "Bias due to deviations from intended interventions",
    "Bias due to missing outcome data",
    "Bias in measurement of the outcome",
    "Bias in selection of the reported result",
    "Overall bias",
)
ROB_LEVELS = ("Low", "Some concerns", "High")
ROB_P = (0.6, 0.3, 0.1)  # per domain; overall = worst, so ~8% Low, ~50% Some concerns, ~40% High

# (comparison drug, comparator, analysis key, subgroup) -> published (estimate, ci_low, ci_high)
CALIBRATION_TARGETS = {
    ("ketamine", "placebo", "pain_immediate", "intravenous"): (-15.79, -32.09, 0.51),
    ("ketamine", "placebo", "pain_short", "intravenous"): (-5.32, -15.51, 4.87),
    ("ketamine", "placebo", "any_adverse_event", "intravenous"): (3.26, 1.05, 10.09),
}
CALIBRATION_TOLERANCE = 0.10  # relative error allowed on the estimate and on the CI width

DATA_ROWS_HEADER = (
    "Analysis group", "Analysis number", "Analysis name", "Subgroup", "Applicability", "Study", "Study year",
    "GIV Mean", "GIV SE", "Experimental mean", "Experimental SD", "Experimental cases", "Experimental N",
    "Control mean", "Control SD", "Control cases", "Control N", "O-E", "Variance", "Weight", "Mean",
    "CI start", "CI end", "Footnotes",
)  # fmt: skip
SETTINGS_HEADER = (
    "Analysis group", "Analysis number", "Analysis name", "Analysis group name", "Data source",
    "Data source eligibility", "Data type", "Log-scale data", "Outcome", "Intervention grouping",
    "Experimental intervention", "Control intervention", "Subgroup by", "Filter criteria",
    "Experimental group label", "Control group label", "Statistical method", "Effect measure",
    "Unit of effect measure", "Analysis model", "Subgroup estimates", "Overall estimates",
    "Test for subgroup differences", "Swap event and non-event", "Study CI", "Estimate CI", "Experimental cases",
    "Experimental N", "Control cases", "Control N", "Mean", "CI start", "CI end", "Heterogeneity Tau²",
    "Heterogeneity Chi²", "Heterogeneity df", "Heterogeneity P", "Heterogeneity I²", "Effect Z", "Effect P",
    "Subgroup Chi²", "Subgroup df", "Subgroup P", "Subgroup I²", "ID",
)  # fmt: skip
SUBGROUP_HEADER = (
    "Analysis group", "Analysis number", "Subgroup", "Subgroup number", "Experimental cases", "Experimental N",
    "Control cases", "Control N", "Weight", "Mean", "CI start", "CI end", "Heterogeneity Tau²",
    "Heterogeneity Chi²", "Heterogeneity df", "Heterogeneity P", "Heterogeneity I²", "Effect Z", "Effect P", "ID",
)  # fmt: skip
STUDY_HEADER = ("Study", "Year", "Data source", "Char: Methods", "Char: Participants", "Char: Interventions",
                "Char: Outcomes", "Char: Notes")  # fmt: skip
# data type -> (RevMan "Data type", "Effect measure", "Statistical method", log scale)
DATA_TYPES = {
    "continuous": ("Continuous", "Mean Difference", "IV", False),
    "giv": ("Contrast level", "Mean Difference", "IV", False),
    "dichotomous": ("Dichotomous", "Risk Ratio", "MH", True),
}


@dataclass(frozen=True)
class Study:
    """One synthetic trial: its attributes and the pre-drawn quantities its outcome data are built from."""

    label: str
    year: int
    drug: str
    route_code: str
    comparator: str
    comparator_detail: str
    design: str
    condition: str
    n: int
    rob: tuple
    draws: dict = field(repr=False, compare=False)

    @property
    def route(self) -> str:
        return ROUTES[self.route_code][0]

    @property
    def arms(self) -> tuple[int, int]:
        """(experimental N, control N): split 1:1 for parallel trials, everyone in both arms for crossover."""
        if self.design == "crossover":
            return self.n, self.n
        return (self.n + 1) // 2, self.n // 2


@dataclass(frozen=True, repr=False)
class Calibration(ResultMixin):
    """Achieved versus published estimate for one calibrated subgroup (display scale: MD or RR)."""

    analysis: str
    subgroup: str
    k: int
    target: float
    target_ci_low: float
    target_ci_high: float
    estimate: float
    ci_low: float
    ci_high: float
    estimate_error: float  # relative
    width_error: float  # relative (log scale for ratios)


@dataclass(frozen=True, repr=False)
class SyntheticPackage(ResultMixin):
    """The generated package: file bytes keyed by relative path, counts, calibration and warnings."""

    seed: int
    package_id: str
    n_studies: int
    n_participants: int
    n_ketamine: int
    n_analyses: int
    files: tuple = field(repr=False)  # ((relative path, bytes), ...) sorted by path
    calibration: tuple = field(repr=False)  # Calibration, ...
    warnings: tuple = ()

    def calibration_table(self) -> str:
        """Markdown table of the calibration (pasted into docs/synthetic-data.md by ``--report``)."""
        lines = ["| analysis | subgroup | k | published | synthetic | estimate error | CI width error |",
                 "|---|---|---|---|---|---|---|"]  # fmt: skip
        for c in self.calibration:
            lines.append(
                f"| {c.analysis} | {c.subgroup} | {c.k} | {c.target:.2f} ({c.target_ci_low:.2f} to "
                f"{c.target_ci_high:.2f}) | {c.estimate:.2f} ({c.ci_low:.2f} to {c.ci_high:.2f}) | "
                f"{100 * c.estimate_error:.1f}% | {100 * c.width_error:.1f}% |"
            )
        return "\n".join(lines)


# ----------------------------------------------------------------------------------------------- studies


def _draw_studies(rng: np.random.Generator) -> list[Study]:
    """Draw study attributes stratum by stratum, scale N to TOTAL_PARTICIPANTS, label and sort them."""
    raw = []
    for drug, route_code, comparator, design, count in STRATA:
        for _ in range(count):
            year = int(rng.integers(1994, 2024))
            size = float(rng.lognormal(math.log(36.0 if design == "parallel" else 20.0), 0.45))
            condition = str(rng.choice(CONDITIONS[drug]))
            detail = str(rng.choice(COMPARATOR_DETAIL[comparator]))
            rob = tuple(int(x) for x in rng.choice(3, size=5, p=ROB_P))
            draws = {
                "report": rng.random(len(TIMEPOINTS) + len(AE_OUTCOMES)),
                "pain_z": rng.standard_normal(len(TIMEPOINTS)),
                "pain_noise": rng.standard_normal(len(TIMEPOINTS)),
                "pain_mean_c": rng.normal(58.0, 8.0, len(TIMEPOINTS)),
                "pain_sd": rng.uniform(14.0, 26.0, len(TIMEPOINTS)),
                "pain_sd_ratio": rng.uniform(0.85, 1.15, len(TIMEPOINTS)),
                "ae_z": rng.standard_normal(len(AE_OUTCOMES)),
                "ae_risk_z": rng.standard_normal(len(AE_OUTCOMES)),
                "ae_u": rng.random((len(AE_OUTCOMES), 2)),
            }
            raw.append([drug, route_code, comparator, design, year, size, condition, detail, rob, draws])
    sizes = _scale_to_total(np.array([r[5] for r in raw]), TOTAL_PARTICIPANTS, minimum=10)
    # number trials within drug x route in order of year (then draw order) for the labels
    order = sorted(range(len(raw)), key=lambda i: (raw[i][0], raw[i][1], raw[i][4], i))
    counters: dict[tuple[str, str], int] = {}
    studies = []
    for i in order:
        drug, route_code, comparator, design, year, _, condition, detail, rob, draws = raw[i]
        counters[(drug, route_code)] = counters.get((drug, route_code), 0) + 1
        label = f"SYN-{DRUG_CODES[drug]}-{route_code}-{counters[(drug, route_code)]:02d} {year}"
        overall = max(rob)  # RoB 2: overall is the worst domain judgement
        studies.append(Study(label, year, drug, route_code, comparator, detail, design, condition,
                             int(sizes[i]), rob + (overall,), draws))  # fmt: skip
    return sorted(studies, key=lambda s: s.label)


def _scale_to_total(sizes: np.ndarray, total: int, minimum: int) -> np.ndarray:
    """Integers proportional to ``sizes``, each >= ``minimum``, summing to ``total`` (largest remainder).

    ``floor(size * total / sum)`` (at least ``minimum``), then one is added to (or taken from) the trials with
    the largest (smallest) fractional parts, ties broken by position, until the sum is exact.
    """
    exact = sizes * total / sizes.sum()
    out = np.maximum(np.floor(exact).astype(int), minimum)
    frac = exact - np.floor(exact)
    up = np.argsort(-frac, kind="stable")
    down = np.argsort(frac, kind="stable")
    j = 0
    while out.sum() != total:
        if out.sum() < total:
            out[up[j % len(out)]] += 1
        elif out[down[j % len(out)]] > minimum:
            out[down[j % len(out)]] -= 1
        j += 1
    return out


# ---------------------------------------------------------------------------------------------- analyses


def _comparisons() -> list[tuple[str, str]]:
    """(drug, comparator) pairs in STRATA order."""
    seen: list[tuple[str, str]] = []
    for drug, _, comparator, _, _ in STRATA:
        if (drug, comparator) not in seen:
            seen.append((drug, comparator))
    return seen


def _analysis_keys() -> list[tuple[str, str, str]]:
    """(key, data type, analysis name) in RevMan order within a comparison."""
    keys = [(f"pain_{t}", "continuous", f"Pain intensity (0-100): {TIMEPOINT_NAMES[t]}") for t in TIMEPOINTS]
    keys.append(("pain_crossover", "giv", "Pain intensity (0-100), crossover trials (paired MD): immediate term"))
    keys += [(key, "dichotomous", spec[0]) for key, spec in AE_OUTCOMES.items()]
    return keys


def _effect_scale(study: Study) -> float:
    """Multiplier of the drug's effect by comparator (active comparators narrow the difference)."""
    return {"placebo": 1.0, "usual_care": 1.3, "active": 0.4}[study.comparator]


def _reports(study: Study, key: str) -> bool:
    u = study.draws["report"]
    if key == "pain_crossover":
        return study.design == "crossover"
    if key.startswith("pain_"):
        if study.design == "crossover":
            return False
        ratios = [u[i] / PAIN_REPORT_P[t] for i, t in enumerate(TIMEPOINTS)]
        t = key[len("pain_"):]
        i = TIMEPOINTS.index(t)
        return ratios[i] < 1 or (min(ratios) >= 1 and i == int(np.argmin(ratios)))  # every trial reports pain
    i = list(AE_OUTCOMES).index(key)
    return bool(u[len(TIMEPOINTS) + i] < AE_OUTCOMES[key][4])


def _pain_effects(studies: list[Study], t: str) -> np.ndarray:
    """Observed mean differences (true effect + sampling error) of parallel trials at time point ``t``."""
    i = TIMEPOINTS.index(t)
    out = []
    for s in studies:
        d = s.draws
        n_e, n_c = s.arms
        sd = d["pain_sd"][i]
        se = math.sqrt((sd * d["pain_sd_ratio"][i]) ** 2 / n_e + sd**2 / n_c)
        true = PAIN_MD[s.drug] * PAIN_DECAY[t] * _effect_scale(s) + PAIN_TAU * d["pain_z"][i]
        out.append(true + d["pain_noise"][i] * se)
    return np.array(out)


def _rows(studies: list[Study], key: str, data_type: str, shift: tuple[float, float] | None) -> list[dict]:
    """Data rows of one analysis for ``studies``; ``shift=(mu, s)`` replaces effects by ``mu + s * c_i``."""
    rows = []
    if key.startswith("pain_") and key != "pain_crossover":
        t = key[len("pain_"):]
        i = TIMEPOINTS.index(t)
        md = _pain_effects(studies, t)
        if shift is not None:
            md = shift[0] + shift[1] * (md - md.mean())
        for s, effect in zip(studies, md):
            n_e, n_c = s.arms
            mean_c = round(float(np.clip(s.draws["pain_mean_c"][i], 30.0, 85.0)), 1)
            mean_e = round(float(np.clip(mean_c + effect, 0.5, 99.5)), 1)
            sd_c = round(float(s.draws["pain_sd"][i]), 1)
            sd_e = round(float(s.draws["pain_sd"][i] * s.draws["pain_sd_ratio"][i]), 1)
            rows.append({"study": s, "mean_e": mean_e, "sd_e": sd_e, "n_e": n_e,
                         "mean_c": mean_c, "sd_c": sd_c, "n_c": n_c})  # fmt: skip
    elif key == "pain_crossover":
        for s in studies:
            d = s.draws
            se = 0.8 * d["pain_sd"][0] / math.sqrt(s.n)
            true = PAIN_MD[s.drug] * _effect_scale(s) + PAIN_TAU * d["pain_z"][0]
            rows.append({"study": s, "giv_estimate": round(float(true + d["pain_noise"][0] * se), 2),
                         "giv_se": round(float(se), 3), "n_e": s.n, "n_c": s.n})  # fmt: skip
    else:
        j = list(AE_OUTCOMES).index(key)
        _, risk, rr_ket, rr_other, _ = AE_OUTCOMES[key]
        z = np.array([s.draws["ae_z"][j] for s in studies])
        theta = np.array([math.log(rr_ket if s.drug == "ketamine" else rr_other) * _effect_scale(s)
                          for s in studies]) + AE_TAU * z  # fmt: skip
        if shift is not None:
            theta = shift[0] + shift[1] * (z - z.mean())
        for s, th in zip(studies, theta):
            n_e, n_c = s.arms
            p_c = float(np.clip(risk * math.exp(0.4 * s.draws["ae_risk_z"][j]), 0.005, 0.9))
            p_e = float(min(p_c * math.exp(th), 0.97))
            u = s.draws["ae_u"][j]
            rows.append({"study": s, "events_e": int(stats.binom.ppf(u[0], n_e, p_e)), "n_e": n_e,
                         "events_c": int(stats.binom.ppf(u[1], n_c, p_c)), "n_c": n_c})  # fmt: skip
    return rows


@dataclass
class _Analysis:
    group: int
    number: int
    comparison: str
    name: str
    key: str
    data_type: str
    drug: str
    comparator: str
    rows: list  # data rows, sorted by subgroup then study label
    pooled: object = None


def _build_analyses(studies: list[Study], calibrations: list) -> list[_Analysis]:
    analyses = []
    for g, (drug, comparator) in enumerate(_comparisons(), start=1):
        members = [s for s in studies if s.drug == drug and s.comparator == comparator]
        title = f"{drug.capitalize()} versus {COMPARATORS[comparator]}"
        number = 0
        for key, data_type, name in _analysis_keys():
            rows = []
            for route in SUBGROUP_LABELS:
                sub = [s for s in members if s.route == route and _reports(s, key)]
                if not sub:
                    continue
                target = CALIBRATION_TARGETS.get((drug, comparator, key, route))
                shift = None
                if target is not None:
                    shift, record = _calibrate(sub, key, data_type, target, f"{g}.{number + 1} {name}",
                                               SUBGROUP_LABELS[route])  # fmt: skip
                    calibrations.append(record)
                sub_rows = _rows(sub, key, data_type, shift)
                # a subgroup needs one estimable study; double-zero studies are kept beside one with events
                if data_type != "dichotomous" or any(r["events_e"] + r["events_c"] > 0 for r in sub_rows):
                    rows += sub_rows
            if rows:
                number += 1
                analyses.append(_Analysis(g, number, title, name, key, data_type, drug, comparator, rows))
    return analyses


# --------------------------------------------------------------------------------------- engine + search


def _pool(data_type: str, rows: list[dict], subgroups: bool):
    """RevMan-style analysis of ``rows`` with :func:`helpers.stats.meta.meta_analysis` (random effects, DL, Wald).

    Returns the engine's ``MetaAnalysis``; the subgroup column is the route label when ``subgroups``.
    """
    _, measure_label, method, _ = DATA_TYPES[data_type]
    table = pd.DataFrame([{**{k: v for k, v in r.items() if k != "study"}, "study": r["study"].label,
                           "subgroup": SUBGROUP_LABELS[r["study"].route]} for r in rows])  # fmt: skip
    measure = "RR" if data_type == "dichotomous" else "MD"
    return meta_analysis(table, measure, method=method, model="random", tau2_method="DL", ci="z",
                         subgroup="subgroup" if subgroups else None, study="study")  # fmt: skip


def _calibrate(studies: list[Study], key: str, data_type: str, target: tuple, analysis: str, subgroup: str):
    """Find (mu, s) so the subgroup's pooled estimate and CI width land on ``target`` (see module docstring).

    Errors are relative: |estimate / published - 1| and |width / published width - 1| (widths on the analysis
    scale, log for RR). For each s on a grid mu is corrected four times by the remaining error; the grid is
    then refined around the best s. Returns ((mu, s), Calibration).
    """
    log = data_type == "dichotomous"
    tr = np.log(target) if log else np.asarray(target, float)
    to_display = np.exp if log else (lambda x: x)

    def run(mu, s):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zero cells etc. are recorded when the final package is pooled
            res = _pool(data_type, _rows(studies, key, data_type, (mu, s)), subgroups=False).overall
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

    grid = np.linspace(0.0, 4.0, 41) if log else np.linspace(0.1, 3.0, 30)
    best = search(grid, None)
    step = grid[1] - grid[0]
    best = search(np.linspace(best[1][1] - step, best[1][1] + step, 11), best)
    (_, err_est, err_width, res), shift = best
    record = Calibration(analysis, subgroup, int(res.k), target[0], target[1], target[2],
                         float(to_display(res.estimate)), float(to_display(res.ci_low)),
                         float(to_display(res.ci_high)), float(err_est), float(err_width))  # fmt: skip
    return shift, record


# ------------------------------------------------------------------------------------------------ output


def _num(x) -> str:
    """A computed number as RevMan prints it: up to 6 decimals, trailing zeros dropped; NaN/None -> empty."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    text = f"{float(x):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _value(x) -> str:
    """An entered value (arm data): Python's shortest round-trip float text, e.g. ``5.0``, ``1.71``."""
    return repr(float(x))


def _csv(header, rows, newline: str) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return (BOM + buf.getvalue()).encode("utf-8")


def _id(kind: str, text: str) -> str:
    """A stable RevMan-like numeric id (18 digits) derived from the package id and ``text``."""
    digest = hashlib.sha256(f"{PACKAGE_ID}/{kind}/{text}".encode()).hexdigest()
    return f"{kind}:{int(digest[:15], 16) % 10**18:018d}"


def _display(value: float, log: bool) -> float:
    return math.exp(value) if log and math.isfinite(value) else value


def _study_files(studies: list[Study], seed: int) -> dict[str, bytes]:
    info, rob, ris = [], [], []
    for s in studies:
        n_e, n_c = s.arms
        keys = [k for k, _, _ in _analysis_keys() if _reports(s, k)]
        route_detail = ROUTES[s.route_code][1]
        info.append((
            s.label, s.year, "PUB",
            f"design: {s.design}; randomised: {s.n}; allocation: "
            + ("1:1 parallel groups" if s.design == "parallel" else "two-period crossover"),
            f"condition: {s.condition}; n_randomised: {s.n}; n_experimental: {n_e}; n_control: {n_c}; adults: yes",
            f"drug: {s.drug}; route: {s.route}; route_detail: {route_detail}; comparator: {s.comparator}; "
            f"comparator_detail: {s.comparator_detail}",
            "outcomes: " + " / ".join(keys),
            f"{SYNTHETIC_NOTE}; generator: helpers.synthetic; seed: {seed}",
        ))  # fmt: skip
        row = [s.label]
        for domain, level in zip(ROB_DOMAINS, s.rob):
            row += [ROB_LEVELS[level], f"{SYNTHETIC_NOTE}: judgement drawn at random"]
        rob.append(row)
        ris.append(f"TY  - JOUR\nNS  - {s.label}\nTI  - {SYNTHETIC_NOTE}\nPY  - {s.year}\nER  - \n\n")
    rob_header = ["Study"]
    for domain in ROB_DOMAINS:
        rob_header += [f"Domain (judgement): {domain}", f"Domain (support): {domain}"]
    prefix = f"{PACKAGE_ID}-study-data/{PACKAGE_ID}"
    return {
        f"{prefix}-study-information.csv": _csv(STUDY_HEADER, info, "\r\n"),
        f"{prefix}-risk-of-bias.csv": _csv(rob_header, rob, "\r\n"),
        f"{prefix}-included.ris": (BOM + "".join(ris)).encode("utf-8"),
    }


def _analysis_files(analyses: list[_Analysis]) -> tuple[dict[str, bytes], list[str]]:
    data_rows, settings, subgroup_rows, notes = [], [], [], []
    for a in analyses:
        label, measure_label, method, log = DATA_TYPES[a.data_type]
        ma = a.pooled
        notes += [f"analysis {a.group}.{a.number} {a.name}: {w}" for w in getattr(ma, "warnings", ())]
        entered = {rec.study: rec for rec in ma.studies.itertuples(index=False)}  # excluded rows are absent
        for r in a.rows:
            s = r["study"]
            st = entered.get(s.label)
            if a.data_type == "dichotomous":
                cols = ["0.0", "0.0", "0.0", "0.0", r["events_e"], r["n_e"], "0.0", "0.0", r["events_c"], r["n_c"]]
            elif a.data_type == "continuous":
                cols = ["0.0", "0.0", _value(r["mean_e"]), _value(r["sd_e"]), 0, r["n_e"],
                        _value(r["mean_c"]), _value(r["sd_c"]), 0, r["n_c"]]  # fmt: skip
            else:
                cols = [_value(r["giv_estimate"]), _value(r["giv_se"]), "0.0", "0.0", 0, r["n_e"], "0.0", "0.0", 0,
                        r["n_c"]]  # fmt: skip
            if st is not None:  # display scale already
                est = [_num(st.weight), _num(st.estimate), _num(st.ci_low), _num(st.ci_high)]
            else:  # not estimable: RevMan prints 0 weight and no estimate
                est = ["0", "0", "0", "0"]
            data_rows.append([a.group, a.number, a.name, SUBGROUP_LABELS[s.route], "SUBGROUP_AND_OVERALL", s.label,
                              s.year, *cols, "0.0", "0.0", *est, ""])  # fmt: skip
        totals = _totals(a)
        o = ma.overall
        test = ma.subgroup_test
        settings.append([
            a.group, a.number, a.name, a.comparison, "Custom input", "#N/A", label, str(log).lower(), "", "", "", "",
            "Route of administration", "", a.drug.capitalize(), COMPARATORS[a.comparator].capitalize(), method,
            measure_label, "", "Random effects", "true", "true", "true", "false", "95%", "95%", *totals,
            _num(_display(o.estimate, log)), _num(_display(o.ci_low, log)), _num(_display(o.ci_high, log)),
            _num(o.tau2), _num(o.q), o.df, _num(o.q_p), _num(o.i2), _num(abs(o.z)), _num(o.p),
            *((_num(test.q), test.df, _num(test.p), _num(test.i2)) if test is not None else ("", "", "", "")),
            _id("analysis", f"{a.group}.{a.number}"),
        ])  # fmt: skip
        for number, (name, res) in enumerate(ma.subgroups, start=1):
            members = [r for r in a.rows if SUBGROUP_LABELS[r["study"].route] == name]
            subgroup_rows.append([
                a.group, a.number, name, number, *_totals(a, members), _num(ma.subgroup_weight(name)),
                _num(_display(res.estimate, log)), _num(_display(res.ci_low, log)),
                _num(_display(res.ci_high, log)), _num(res.tau2), _num(res.q), res.df, _num(res.q_p),
                _num(res.i2), _num(abs(res.z)), _num(res.p), _id("subgroup", f"{a.group}.{a.number}/{name}"),
            ])  # fmt: skip
    prefix = f"{PACKAGE_ID}-analysis-data/{PACKAGE_ID}"
    files = {
        f"{prefix}-data-rows.csv": _csv(DATA_ROWS_HEADER, data_rows, "\n"),
        f"{prefix}-overall-estimates-and-settings.csv": _csv(SETTINGS_HEADER, settings, "\n"),
        f"{prefix}-subgroup-estimates.csv": _csv(SUBGROUP_HEADER, subgroup_rows, "\r\n"),
    }
    return files, notes


def _totals(a: _Analysis, rows: list | None = None) -> list:
    """Experimental cases, Experimental N, Control cases, Control N (cases empty unless dichotomous)."""
    rows = a.rows if rows is None else rows
    n_e, n_c = sum(r["n_e"] for r in rows), sum(r["n_c"] for r in rows)
    if a.data_type == "dichotomous":
        return [sum(r["events_e"] for r in rows), n_e, sum(r["events_c"] for r in rows), n_c]
    return ["", n_e, "", n_c]


# ------------------------------------------------------------------------------------------- public API


def generate(seed: int = SEED) -> SyntheticPackage:
    """Generate the synthetic package in memory (file bytes), deterministically from ``seed``.

    Warnings the engine raises while filling the published estimates (zero cells, double-zero studies,
    single-study subgroups) are re-issued once each with ``warnings.warn`` and kept in ``.warnings``.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    rng = np.random.Generator(np.random.PCG64(int(seed)))
    studies = _draw_studies(rng)
    calibrations: list[Calibration] = []
    analyses = _build_analyses(studies, calibrations)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # recorded in each MetaAnalysis.warnings and re-issued below
        for a in analyses:
            a.pooled = _pool(a.data_type, a.rows, subgroups=True)
    files = _study_files(studies, int(seed))
    analysis_files, notes = _analysis_files(analyses)
    files.update(analysis_files)
    for note in notes:
        warnings.warn(note, stacklevel=2)
    return SyntheticPackage(
        seed=int(seed),
        package_id=PACKAGE_ID,
        n_studies=len(studies),
        n_participants=sum(s.n for s in studies),
        n_ketamine=sum(s.drug == "ketamine" for s in studies),
        n_analyses=len(analyses),
        files=tuple(sorted(files.items())),
        calibration=tuple(calibrations),
        warnings=tuple(notes),
    )


def write_package(out: Path | str, seed: int = SEED, *, allow_raw: bool = False,
                  package: SyntheticPackage | None = None) -> Path:
    """Write the unpacked package (``<id>-study-data/``, ``<id>-analysis-data/``) into folder ``out``.

    Refuses ``data/raw/`` unless ``allow_raw=True`` (the one-off regeneration of the committed copy).
    """
    target = Path(out)
    if paths.is_under_raw(target):
        if not allow_raw:
            raise PermissionError(f"refusing to write under data/raw/ without allow_raw=True (--allow-raw): {target}")
        target.mkdir(parents=True, exist_ok=True)
    else:
        target = paths.ensure_writable_dir(target)
    package = generate(seed) if package is None else package
    for rel, data in package.files:
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    return target


def _zip(entries: list[tuple[str, bytes | None]]) -> bytes:
    """Deterministic zip: given order, fixed timestamp, fixed permissions, deflate level 9."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3
            if data is None:  # directory entry
                info.external_attr = (0o40755 << 16) | 0x10
                zf.writestr(info, b"")
            else:
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buf.getvalue()


def write_package_zip(out_zip: Path | str, seed: int = SEED, *, package: SyntheticPackage | None = None) -> Path:
    """Write the package as the Cochrane Library serves it: ``<name>/<id>-files/<id>-data.zip`` in a zip.

    Both zips have sorted entries and a fixed timestamp, so the bytes depend on the seed only.
    """
    out_zip = Path(out_zip)
    paths.ensure_writable_dir(out_zip.parent)
    package = generate(seed) if package is None else package
    inner = _zip(list(package.files))
    outer = _zip([
        (f"{PACKAGE_NAME}/", None),
        (f"{PACKAGE_NAME}/{PACKAGE_ID}-files/", None),
        (f"{PACKAGE_NAME}/{PACKAGE_ID}-files/{PACKAGE_ID}-data.zip", inner),
    ])  # fmt: skip
    out_zip.write_bytes(outer)
    return out_zip


@cli_main
def main(argv: list[str] | None = None) -> int:
    parser = OneLineArgumentParser(prog="python -m helpers.synthetic", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder to write the unpacked package into")
    parser.add_argument("--zip", type=Path, help="also write the zip-inside-zip package to this file")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--allow-raw", action="store_true", help="allow --out under data/raw/ (one-off regeneration)")
    parser.add_argument("--report", action="store_true", help="print counts and the calibration table (markdown)")
    args = parser.parse_args(argv)
    if args.out is None and args.zip is None and not args.report:
        parser.error("give --out DIR, --zip FILE and/or --report")
    package = generate(args.seed)
    if args.out is not None:
        print(write_package(args.out, args.seed, allow_raw=args.allow_raw, package=package))
    if args.zip is not None:
        print(write_package_zip(args.zip, args.seed, package=package))
    if args.report:
        print(f"studies: {package.n_studies}; participants: {package.n_participants}; "
              f"ketamine trials: {package.n_ketamine}; analyses: {package.n_analyses}\n")  # fmt: skip
        print(package.calibration_table())
    return 0


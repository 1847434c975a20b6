"""The text of a RevMan-style forest plot: number and P-value formatting, the heterogeneity / overall-effect /
subgroup-difference lines, and the printed rows (one dict per row, top-down) that :mod:`helpers.figures.forest`
lays out and draws.

Text follows RevMan's wording (Cochrane Handbook ch. 10; RevMan statistical methods, Deeks & Higgins 2010):
"Heterogeneity: Tau² = 0.12; Chi² = 9.95, df = 6 (P = 0.13); I² = 40%" (Tau² only for random effects),
"Test for overall effect: Z = 3.29 (P = 0.001)", "Test for subgroup differences: Chi² = 1.23, df = 2 (P = 0.54),
I² = 0%". Numbers round half up; P values >= 0.01 get two decimals, smaller ones one significant figure,
and below 0.00001 read "P < 0.00001" (as RevMan prints them).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from helpers.core import checks
from helpers.core.rounding import rounded

MEASURE_LABELS = {
    "RR": "Risk Ratio",
    "OR": "Odds Ratio",
    "RD": "Risk Difference",
    "MD": "Mean Difference",
    "SMD": "Std. Mean Difference",
}
METHOD_LABELS = {"MH": "M-H", "IV": "IV", "Peto": "Peto"}
MODEL_LABELS = {"fixed": "Fixed", "random": "Random"}
CI_LABELS = {"z": "Wald", "hksj": "HKSJ"}


# ---------------------------------------------------------------------------------------------------- text
def fmt(x: float, decimals: int) -> str:
    """``x`` rounded half up (not to even) to ``decimals`` places, as RevMan prints; 'NA' when not finite."""
    return "NA" if x is None or not np.isfinite(x) else rounded(x, decimals)


def format_p(p: float) -> str:
    """RevMan's P: 'P = 0.13' (>= 0.01, two decimals), 'P = 0.001' (one significant figure), 'P < 0.00001'."""
    if p is None or not np.isfinite(p):
        return "P = NA"
    if p < 0.00001:
        return "P < 0.00001"
    if p >= 0.01:
        return f"P = {fmt(p, 2)}"
    return f"P = {fmt(p, -math.floor(math.log10(p)))}"


def _percent(x: float, decimals: int) -> str:
    return "0%" if x == 0 else f"{fmt(x, decimals)}%"


def heterogeneity_text(pool: Any, model: str) -> str:
    """'Heterogeneity: [Tau² = t; ]Chi² = q, df = d (P = p); I² = i%' (Tau² shown for random effects only)."""
    checks.check_choice("model", model, MODEL_LABELS)
    if pool.k < 2 or not np.isfinite(pool.q):
        return "Heterogeneity: Not applicable"
    tau = f"Tau² = {fmt(pool.tau2, 2)}; " if model == "random" else ""
    return (
        f"Heterogeneity: {tau}Chi² = {fmt(pool.q, 2)}, df = {int(pool.df)} ({format_p(pool.q_p)}); "
        f"I² = {_percent(pool.i2, 0)}"
    )


def overall_effect_text(pool: Any) -> str:
    """'Test for overall effect: Z = z (P = p)' with |Z| as RevMan prints it; under HKSJ (``pool.ci_method``
    "hksj") the statistic is a t on k - 1 df: 'Test for overall effect: t = t, df = k - 1 (P = p)'."""
    if not np.isfinite(pool.z):
        return "Test for overall effect: Not applicable"
    if getattr(pool, "ci_method", "z") == "hksj":
        return f"Test for overall effect: t = {fmt(abs(pool.z), 2)}, df = {int(pool.k) - 1} ({format_p(pool.p)})"
    return f"Test for overall effect: Z = {fmt(abs(pool.z), 2)} ({format_p(pool.p)})"


def settings_text(ma: Any) -> str:
    """The method column's header as RevMan prints it, 'IV, Random, 95% CI', with the settings that differ from
    RevMan's defaults (DerSimonian-Laird, Wald CI) named, e.g. 'IV, Random (REML, HKSJ), 95% CI', so a figure
    drawn with other settings never reads as RevMan's; the level as the analysis' (e.g. '90% CI')."""
    tau2, ci = getattr(ma, "tau2_method", "DL"), getattr(ma, "ci_method", "z")  # RevMan's defaults when not said
    named = [tau2] if ma.model == "random" and tau2 != "DL" else []
    named += [CI_LABELS.get(ci, ci)] if ci != "z" else []
    model = MODEL_LABELS[ma.model] + (f" ({', '.join(named)})" if named else "")
    return f"{METHOD_LABELS[ma.method]}, {model}, {100 * getattr(ma.overall, 'level', 0.95):g}% CI"


def subgroup_difference_text(test: Any) -> str:
    """'Test for subgroup differences: Chi² = q, df = d (P = p), I² = i%' or '... Not applicable'."""
    if test is None or not np.isfinite(test.q):
        return "Test for subgroup differences: Not applicable"
    return (
        f"Test for subgroup differences: Chi² = {fmt(test.q, 2)}, df = {int(test.df)} ({format_p(test.p)}), "
        f"I² = {_percent(test.i2, 1)}"
    )


def estimate_text(est: float, lo: float, hi: float) -> str:
    """'1.13 [0.93, 1.37]' on the display scale; 'Not estimable' (RevMan's words) without an estimate, and
    '5.00 [CI not estimable]' without an interval, never '[NA, NA]' or '[, ]'."""
    if not _finite(est):
        return "Not estimable"
    if not (_finite(lo) and _finite(hi)):
        return f"{fmt(est, 2)} [CI not estimable]"
    return f"{fmt(est, 2)} [{fmt(lo, 2)}, {fmt(hi, 2)}]"


def _finite(x: Any) -> bool:
    return x is not None and not pd.isna(x) and bool(np.isfinite(float(x)))


def _num(x: Any) -> str:
    if x is None or pd.isna(x):
        return ""
    x = float(x)
    return str(int(x)) if x == int(x) else f"{x:.6g}"


# ---------------------------------------------------------------------------------------------------- rows
def _has(frame: pd.DataFrame, col: str) -> bool:
    return col in frame.columns and pd.to_numeric(frame[col], errors="coerce").notna().any()


def table_columns(ma: Any) -> list[tuple[str, str, str | None]]:
    """(key, header, arm group) for the text columns between the study name and the weight."""
    rows = pd.concat([ma.studies, ma.excluded], ignore_index=True) if len(ma.excluded) else ma.studies
    cols: list[tuple[str, str, str | None]] = []
    for arm, group in (("e", "Experimental"), ("c", "Control")):
        if _has(rows, f"events_{arm}"):
            cols += [(f"events_{arm}", "Events", group), (f"n_{arm}", "Total", group)]
        elif _has(rows, f"mean_{arm}"):
            cols += [(f"mean_{arm}", "Mean", group), (f"sd_{arm}", "SD", group), (f"n_{arm}", "Total", group)]
    if _has(rows, "giv_estimate"):
        label = f"log[{ma.measure}]" if ma.log_scale else ma.measure
        cols += [("giv_estimate", label, None), ("giv_se", "SE", None)]
    return cols


#: How a forest plot shows RevMan's Applicability: the heading of the rows that enter the total and no subgroup
#: (OVERALL_ONLY), and the weight of a row that enters its subgroup and not the total (SUBGROUP_ONLY).
OVERALL_ONLY = "In the total only (no subgroup)"
SUBGROUP_ONLY = "subgroup only"


def _groups(ma: Any) -> list[tuple[str | None, Any, pd.DataFrame, pd.DataFrame]]:
    """(subgroup name, PoolResult or None, study rows, excluded rows) in the analysis' order."""
    excluded = ma.excluded if len(ma.excluded) else ma.studies.iloc[0:0]
    if not ma.subgroups:
        return [(None, None, ma.studies, excluded)]
    out = []
    for name, pool in ma.subgroups:
        in_sub = ma.studies[ma.studies["subgroup"] == name]
        ex = excluded[excluded["subgroup"] == name] if "subgroup" in excluded.columns else excluded.iloc[0:0]
        out.append((name, pool, in_sub, ex))
    alone = ma.studies[ma.studies["subgroup"].isna()]  # Applicability OVERALL_ONLY: the total's, no subgroup's
    if len(alone):
        out.append((OVERALL_ONLY, None, alone, excluded.iloc[0:0]))
    return out


def _weight_text(weight: float) -> str:
    """A study's weight in the total; ``SUBGROUP_ONLY`` for a study row that enters its subgroup and not the total
    (Applicability SUBGROUP_ONLY: no weight in the total), never 'NA%'."""
    return SUBGROUP_ONLY if pd.isna(weight) else f"{fmt(weight, 1)}%"


def _sum(frame: pd.DataFrame, col: str) -> str:
    return _num(pd.to_numeric(frame[col], errors="coerce").sum()) if col in frame.columns else ""


def build_rows(ma: Any, cols: list, prediction_interval: bool) -> list[dict]:
    """One dict per printed row, top-down: kind, cells {key: text}, bold, and what to draw on the plot side."""
    disp = ma.display
    arm_keys = [c[0] for c in cols]
    dichotomous = "events_e" in arm_keys
    rows: list[dict] = []

    def total_rows(label: str, frame: pd.DataFrame, pool: Any, weight: float) -> None:
        cells = {"study": label, "weight": f"{fmt(weight, 1)}%"}
        cells |= {k: _sum(frame, k) for k in arm_keys if k.startswith("n_")}
        est, lo, hi = disp(pool.estimate), disp(pool.ci_low), disp(pool.ci_high)
        cells["ci"] = estimate_text(est, lo, hi)
        rows.append(dict(kind="pooled", cells=cells, bold=True, diamond=(est, lo, hi), label=label))
        if dichotomous:
            ev = {k: _sum(frame, k) for k in ("events_e", "events_c")}
            rows.append(dict(kind="text", cells={"study": "Total events:"} | ev, bold=False))

    groups = _groups(ma)
    for name, pool, studies, excluded in groups:
        if name is not None:
            rows.append(dict(kind="text", cells={"study": str(name)}, bold=True))
        for _, r in studies.iterrows():
            cells = {"study": str(r["study"]), "weight": _weight_text(r["weight"])}
            cells |= {k: _num(r.get(k)) for k in arm_keys}
            cells["ci"] = estimate_text(r["estimate"], r["ci_low"], r["ci_high"])
            rows.append(
                dict(kind="study", cells=cells, bold=False, est=r["estimate"], lo=r["ci_low"], hi=r["ci_high"],
                     weight=float(r["weight"]))
            )
        for _, r in excluded.iterrows():
            cells = {"study": str(r.get("study", "")), "ci": "Not estimable"} | {k: _num(r.get(k)) for k in arm_keys}
            rows.append(dict(kind="excluded", cells=cells, bold=False))
        if pool is not None and len(groups) > 1:  # one subgroup: its subtotal is the total, drawn once below
            total_rows("Subtotal (95% CI)", studies, pool, float(studies["weight"].sum()))
            rows.append(dict(kind="text", cells={"study": heterogeneity_text(pool, ma.model)}, bold=False, span=True))
            rows.append(dict(kind="text", cells={"study": overall_effect_text(pool)}, bold=False, span=True))
            rows.append(dict(kind="blank", cells={}, bold=False))
    entered = ma.studies[ma.studies["weight"].notna()] if ma.studies["weight"].notna().any() else ma.studies
    total_rows("Total (95% CI)", entered, ma.overall, 100.0)  # SUBGROUP_ONLY rows are not the total's
    if prediction_interval:
        lo, hi = ma.overall.pi_low, ma.overall.pi_high
        if np.isfinite(lo) and np.isfinite(hi):
            text = f"[{fmt(disp(lo), 2)}, {fmt(disp(hi), 2)}]"
            rows.append(dict(kind="pi", cells={"study": "Prediction interval", "ci": text}, bold=False,
                             lo=disp(lo), hi=disp(hi)))
        else:
            rows.append(dict(kind="text", cells={"study": "Prediction interval", "ci": "Not estimable (k < 3)"},
                             bold=False))
    rows.append(dict(kind="text", cells={"study": heterogeneity_text(ma.overall, ma.model)}, bold=False, span=True))
    rows.append(dict(kind="text", cells={"study": overall_effect_text(ma.overall)}, bold=False, span=True))
    rows.append(dict(kind="text", cells={"study": subgroup_difference_text(ma.subgroup_test)}, bold=False, span=True))
    return rows

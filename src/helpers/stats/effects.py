"""Study effect sizes ``yi`` and sampling variances ``vi`` from arm-level data.

Dichotomous (a = events_e of n_e, c = events_c of n_c, b = n_e - a, d = n_c - c), after adding
``preset.cc_add`` to all four cells of a table with a zero cell (under REVMAN the RD, and the RR of a study
where everyone has the event in both arms (= 1), keep the raw-count estimate: the correction is in vi only;
an OR where everyone has the event in both arms is not estimable):
    RR: yi = ln[(a/n_e)/(c/n_c)],  vi = 1/a - 1/n_e + 1/c - 1/n_c
    OR: yi = ln[(a d)/(b c)],      vi = 1/a + 1/b + 1/c + 1/d
    RD: yi = a/n_e - c/n_c,        vi = a b/n_e³ + c d/n_c³
Continuous (N = n_e + n_c, pooled SD s = sqrt(((n_e-1)sd_e² + (n_c-1)sd_c²)/(N-2))):
    MD:  yi = mean_e - mean_c,     vi = sd_e²/n_e + sd_c²/n_c
    SMD: yi = J (mean_e - mean_c)/s, Hedges' g; J and vi per ``preset.smd_correction`` (see helpers.stats.presets).
References: Cochrane Handbook ch. 6 and 10; RevMan 5 "Statistical methods" (Deeks & Higgins 2010);
Hedges (1981); metafor ``escalc`` (Viechtbauer 2010).
"""

from __future__ import annotations

import warnings as _warnings

import numpy as np
import pandas as pd
from scipy.special import gammaln

from helpers.core.checks import (CONTINUOUS_MEASURES, DICHOTOMOUS_MEASURES, MEASURES, RATIO_MEASURES, InputError,
                            MetaWarning, as_float_array, check_choice, continuous_arrays, dichotomous_arrays,
                            source_prefix)
from helpers.stats.presets import REVMAN, Preset

DICHOTOMOUS_COLUMNS = ("events_e", "n_e", "events_c", "n_c")
CONTINUOUS_COLUMNS = ("mean_e", "sd_e", "n_e", "mean_c", "sd_c", "n_c")
GIV_COLUMNS = ("giv_estimate", "giv_se")
DOUBLE_ZERO = "no events in either arm (double zero): not estimable for RR/OR"
ALL_EVENTS = "every participant has the event in both arms: odds ratio not estimable"


def display_scale(x, measure: str):
    """``x`` (a number or array on the analysis scale) on the display scale: ``exp(x)`` for the ratio measures
    (``RATIO_MEASURES``: RR and OR are analysed as logs), ``x`` unchanged otherwise. The one back-transform."""
    return np.exp(x) if measure in RATIO_MEASURES else x


def corrected_cells(a, n1, c, n2, add: float):
    """Cells (a, b, c, d) with ``add`` added to every cell of tables that have a zero cell (escalc to="only0")."""
    b, d = n1 - a, n2 - c
    zero = (a == 0) | (b == 0) | (c == 0) | (d == 0)
    inc = np.where(zero, add, 0.0)
    return a + inc, b + inc, c + inc, d + inc


def dichotomous_effects(a, n1, c, n2, measure: str, preset: Preset = REVMAN):
    """(yi, vi, reasons) for validated count arrays. ``reasons[i]`` is None for studies that enter, else why
    not (double zero for RR/OR when ``preset.drop_double_zero``); such studies get NaN yi/vi."""
    check_choice("measure", measure, DICHOTOMOUS_MEASURES)
    a_, b_, c_, d_ = corrected_cells(a, n1, c, n2, preset.cc_add)
    n1_, n2_ = a_ + b_, c_ + d_
    with np.errstate(divide="ignore", invalid="ignore"):
        if measure == "RR":
            yi = np.log((a_ / n1_) / (c_ / n2_))
            vi = 1 / a_ - 1 / n1_ + 1 / c_ - 1 / n2_
        elif measure == "OR":
            yi = np.log((a_ * d_) / (b_ * c_))
            vi = 1 / a_ + 1 / b_ + 1 / c_ + 1 / d_
        else:
            yi = a_ / n1_ - c_ / n2_
            vi = a_ * b_ / n1_**3 + c_ * d_ / n2_**3
    if preset.raw_zero_cell_estimate:
        # RevMan: the estimate from the raw counts where it is finite, the correction in the variance only
        if measure == "RD":
            yi = a / n1 - c / n2
        elif measure == "RR":
            yi = np.where((a == n1) & (c == n2), 0.0, yi)
    reasons = np.full(len(a), None, dtype=object)
    if measure in RATIO_MEASURES and preset.drop_double_zero:
        reasons[(a == 0) & (c == 0)] = DOUBLE_ZERO
    if measure == "OR" and preset.drop_all_events:
        reasons[(a == n1) & (c == n2)] = ALL_EVENTS
    bad = ~np.isfinite(yi) | ~np.isfinite(vi) | (vi <= 0)
    reasons[bad & (reasons == None)] = "effect or variance not estimable (zero cell without correction)"  # noqa: E711
    yi = np.where(reasons == None, yi, np.nan)  # noqa: E711
    vi = np.where(reasons == None, vi, np.nan)  # noqa: E711
    return yi.astype(float), vi.astype(float), reasons


def hedges_j(m, correction: str):
    """Hedges' small-sample factor for m = N - 2 df: exact Γ(m/2)/(√(m/2) Γ((m-1)/2)) or 1 - 3/(4N - 9)."""
    if correction == "exact":
        return np.exp(gammaln(m / 2) - 0.5 * np.log(m / 2) - gammaln((m - 1) / 2))
    return 1 - 3 / (4 * (m + 2) - 9)


def continuous_effects(m1, sd1, n1, m2, sd2, n2, measure: str, preset: Preset = REVMAN):
    """(yi, vi) for validated arm arrays; MD or SMD (Hedges' g) as documented in the module."""
    check_choice("measure", measure, CONTINUOUS_MEASURES)
    if measure == "MD":
        return m1 - m2, sd1**2 / n1 + sd2**2 / n2
    n = n1 + n2
    s = np.sqrt(((n1 - 1) * sd1**2 + (n2 - 1) * sd2**2) / (n - 2))
    g = hedges_j(n - 2, preset.smd_correction) * (m1 - m2) / s
    if preset.smd_correction == "exact":
        return g, 1 / n1 + 1 / n2 + g**2 / (2 * n)
    return g, n / (n1 * n2) + g**2 / (2 * (n - 3.94))


def _column(table: pd.DataFrame, name: str, rows, labels, index, source) -> np.ndarray:
    return as_float_array(name, table[name].to_numpy()[rows], labels=labels, index=index, source=source)


def effect_sizes(table: pd.DataFrame, measure: str, preset: Preset = REVMAN, *, study: str = "study",
                 source: str | None = None) -> pd.DataFrame:
    """Copy of ``table`` with ``yi``, ``vi`` and ``excluded_reason`` (None when the row enters) added.

    Needs ``events_e, n_e, events_c, n_c`` (RR, OR, RD) or ``mean_e, sd_e, n_e, mean_c, sd_c, n_c`` (MD, SMD).
    Rows with non-missing ``giv_estimate`` and ``giv_se`` (generic inverse variance, e.g. crossover trials)
    pass through: yi = giv_estimate, vi = giv_se². Excluded rows get NaN yi/vi, their reason and a warning.
    Bad values raise InputError naming ``source``, the row and the field.

    Formulas (a, b, c, d the 2x2 cells after the preset's zero-cell correction; s the pooled SD):
    RR yi = ln[(a/n_e)/(c/n_c)], vi = 1/a - 1/n_e + 1/c - 1/n_c; OR yi = ln(ad/bc), vi = 1/a + 1/b + 1/c + 1/d;
    RD yi = a/n_e - c/n_c, vi = ab/n_e³ + cd/n_c³; MD yi = mean_e - mean_c, vi = sd_e²/n_e + sd_c²/n_c;
    SMD yi = J (mean_e - mean_c)/s (Hedges' g, J per preset). Cochrane Handbook ch. 6 (Higgins, Li & Deeks
    2023); Deeks & Higgins (2010) RevMan statistical methods; Hedges (1981) J Educ Stat 6:107.
    """
    check_choice("measure", measure, MEASURES)
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame; got {type(table).__name__}")
    needed = CONTINUOUS_COLUMNS if measure in CONTINUOUS_MEASURES else DICHOTOMOUS_COLUMNS
    out = table.copy()
    n_rows = len(out)
    giv = np.zeros(n_rows, dtype=bool)
    if all(col in out.columns for col in GIV_COLUMNS):
        giv = out["giv_estimate"].notna().to_numpy() & out["giv_se"].notna().to_numpy()
    arm = np.flatnonzero(~giv)
    missing = [col for col in needed if col not in out.columns]
    if missing and arm.size:
        raise InputError(f"{source_prefix(source)}measure {measure} needs columns {', '.join(needed)}; "
                         f"missing {', '.join(missing)} (and {arm.size} rows have no giv_estimate/giv_se)")
    labels_all = out[study].astype(str).to_numpy() if study in out.columns else None
    yi = np.full(n_rows, np.nan)
    vi = np.full(n_rows, np.nan)
    reasons = np.full(n_rows, None, dtype=object)
    for rows, kind in ((arm, "arm"), (np.flatnonzero(giv), "giv")):
        if not rows.size:
            continue
        labels = labels_all[rows] if labels_all is not None else None
        index = out.index.to_numpy()[rows]
        cols = GIV_COLUMNS if kind == "giv" else needed
        values = [_column(out, col, rows, labels, index, source) for col in cols]
        if kind == "giv":
            est, se = values
            if np.any(se <= 0):
                bad = int(np.flatnonzero(se <= 0)[0])
                raise InputError(f"{source_prefix(source)}field 'giv_se' must be > 0: row {rows[bad]} "
                                 f"(study {labels[bad] if labels is not None else '?'!r}) has giv_se={se[bad]!r}")
            yi[rows], vi[rows] = est, se**2
        elif measure in CONTINUOUS_MEASURES:
            arrays = continuous_arrays(*values, labels=labels, index=index, source=source)
            yi[rows], vi[rows] = continuous_effects(*arrays, measure, preset)
        else:
            arrays = dichotomous_arrays(*values, labels=labels, index=index, source=source)
            yi[rows], vi[rows], reasons[rows] = dichotomous_effects(*arrays, measure, preset)
    for i in np.flatnonzero(reasons != None):  # noqa: E711
        who = f"study {labels_all[i]!r}" if labels_all is not None else f"row {i}"
        _warnings.warn(f"{source_prefix(source)}{who} excluded from {measure}: {reasons[i]}",
                       MetaWarning, stacklevel=2)
    out["yi"], out["vi"], out["excluded_reason"] = yi, vi, reasons
    return out


def usable_effects(rows: pd.DataFrame, measure: str) -> pd.DataFrame:
    """:func:`effect_sizes` of ``rows`` (analysis scale) without the rows that cannot enter an analysis (each
    already warned by ``effect_sizes`` and named in its ``excluded_reason``)."""
    es = effect_sizes(rows, measure)
    return es[es["excluded_reason"].isna()].reset_index(drop=True)

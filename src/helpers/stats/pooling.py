"""Pooling: inverse-variance (fixed and random effects), Mantel-Haenszel and Peto.

Notation: study effects y_i with sampling variances v_i, weights w_i = 1/v_i (fixed) or 1/(v_i + tau²) (random).
Pooled estimate mu = sum(w_i y_i)/sum(w_i), SE = 1/sqrt(sum w_i); Cochran's Q = sum (1/v_i)(y_i - mu_FE)²,
df = k - 1 (the tau² estimators are in :mod:`helpers.stats.tau2`). References: Borenstein et al. (2009)
Introduction to Meta-Analysis; Viechtbauer (2005, 2010); Deeks, Higgins & Altman, Cochrane Handbook ch. 10;
RevMan 5 "Statistical methods" (Deeks & Higgins 2010).
"""

from __future__ import annotations

import warnings as _warnings
from dataclasses import dataclass

import numpy as np
from scipy import stats

from helpers.core.checks import (CI_METHODS, DICHOTOMOUS_MEASURES, MODELS, PI_METHODS, TAU2_METHODS, InputError,
                                 MetaWarning, check_choice, check_level, dichotomous_arrays, effect_arrays,
                                 source_prefix)
from helpers.core.results import ResultMixin, format_value
from helpers.stats.effects import corrected_cells, dichotomous_effects
from helpers.stats.presets import REVMAN, Preset
from helpers.stats.tau2 import cochran_q, q_profile_ci, reml_terms, solve_q, tau2_dl, tau2_dl_se, tau2_reml

MH_MEASURES = DICHOTOMOUS_MEASURES
PETO_NO_VARIANCE = "no variance (no events or only events in both arms): not estimable for Peto OR"


@dataclass(frozen=True, repr=False)
class PoolResult(ResultMixin):
    """One pooled analysis on the analysis scale (log for RR/OR).

    ``z``/``p`` test the pooled effect (with ``ci_method="hksj"`` ``z`` is the t statistic on k - 1 df).
    ``weights`` are percentages (sum 100) of the studies that entered, in input order; ``excluded`` holds the
    input positions that did not enter (MH/Peto: double-zero or zero-variance studies).
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    z: float
    p: float
    tau2: float
    tau2_se: float
    tau2_ci_low: float
    tau2_ci_high: float
    q: float
    df: int
    q_p: float
    i2: float
    h2: float
    k: int
    pi_low: float
    pi_high: float
    weights: tuple[float, ...]
    tau2_method: str
    model: str
    ci_method: str
    pi_method: str
    level: float
    converged: bool
    iterations: int
    tau2_truncated: bool
    excluded: tuple[int, ...] = ()
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        """Text laid out like metafor's ``print.rma``: model, tau², I², H², Q test, estimate table."""
        f = lambda x, d=4: format_value(x, d) if isinstance(x, str) else ("NaN" if np.isnan(x) else f"{x:.{d}f}")
        kind = "Fixed-effect" if self.model == "fixed" else "Random-effects"
        lines = [f"{kind} model (k = {self.k}; tau² estimator: {self.tau2_method}; CI: {self.ci_method})", ""]
        if self.model == "random":
            se = f" (SE = {f(self.tau2_se)})" if not np.isnan(self.tau2_se) else ""
            lines.append(f"tau^2 = {f(self.tau2)}{se}, {self.level:.0%} CI [{f(self.tau2_ci_low)}, "
                         f"{f(self.tau2_ci_high)}]")
        lines += [f"I^2 = {f(self.i2, 2)}%   H^2 = {f(self.h2, 2)}",
                  f"Test for heterogeneity: Q(df = {self.df}) = {f(self.q)}, p = {format_value(self.q_p, 4)}", "",
                  f"estimate = {f(self.estimate)}  se = {f(self.se)}  z = {f(self.z)}  p = {format_value(self.p, 4)}",
                  f"{self.level:.0%} CI [{f(self.ci_low)}, {f(self.ci_high)}]"]
        if not np.isnan(self.pi_low):
            lines.append(f"{self.level:.0%} prediction interval ({self.pi_method}) [{f(self.pi_low)}, "
                         f"{f(self.pi_high)}]")
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def _note(notes: list[str], message: str) -> None:
    notes.append(message)
    _warnings.warn(message, MetaWarning, stacklevel=3)


def _heterogeneity(q, df, tau2, vi, i2_from, model) -> tuple[float, float]:
    """(I² in percent, H²). From Q: I² = max(0, (Q - df)/Q), H² = Q/df (Higgins & Thompson 2002). From tau²:
    I² = tau²/(tau² + s²), H² = (tau² + s²)/s², s² = (k-1) sum w/((sum w)² - sum w²) (metafor)."""
    if df < 1:
        return np.nan, np.nan
    if i2_from == "q" or model == "fixed":
        i2 = 0.0 if q <= df else 100.0 * (q - df) / q
        return i2, q / df
    w = 1.0 / vi
    s2 = df * np.sum(w) / (np.sum(w) ** 2 - np.sum(w**2))
    return 100.0 * tau2 / (tau2 + s2), (tau2 + s2) / s2


def _inference(estimate, se, k, ci, level):
    """(ci_low, ci_high, z, p) from a Wald z test or, for HKSJ, a t test on k - 1 df."""
    if np.isnan(se) or (se == 0 and estimate == 0):
        stat = np.nan
    else:
        stat = estimate / se if se > 0 else np.copysign(np.inf, estimate)
    if ci == "hksj":
        crit = stats.t.ppf((1 + level) / 2, k - 1) if k > 1 else np.nan
        p = 2 * stats.t.sf(abs(stat), k - 1) if k > 1 else np.nan
    else:
        crit = stats.norm.ppf((1 + level) / 2)
        p = 2 * stats.norm.sf(abs(stat))
    return estimate - crit * se, estimate + crit * se, float(stat), float(p)


def _prediction(estimate, se_wald, se_hksj, tau2, k, pi, level, model) -> tuple[float, float]:
    """Prediction interval mu ± c sqrt(tau² + SE²), whatever the CI method:
    ``t`` (the Handbook's; Higgins, Thompson & Spiegelhalter 2009): c = t_{k-2}, SE the Wald SE of the mean
    sqrt(1/sum w) - also under HKSJ (R meta before 5.2 used the HKSJ SE here; its changelog calls that a bug);
    NaN for k < 3. ``z`` (metafor ``predict`` of a ``test="z"`` fit): c = z, Wald SE. ``knha`` (metafor
    ``predict`` of a ``test="knha"`` fit): c = t_{k-1}, the HKSJ SE. Random-effects models only; NaN for fixed
    effect."""
    if model == "fixed" or np.isnan(tau2):
        return np.nan, np.nan
    se = se_wald
    if pi == "t":
        if k < 3:
            return np.nan, np.nan
        crit = stats.t.ppf((1 + level) / 2, k - 2)
    elif pi == "knha":
        if k < 2:
            return np.nan, np.nan
        crit, se = stats.t.ppf((1 + level) / 2, k - 1), se_hksj
    else:
        crit = stats.norm.ppf((1 + level) / 2)
    half = crit * np.sqrt(tau2 + se**2)
    return float(estimate - half), float(estimate + half)


def _resolve_pi(pi, preset):
    if pi is None:
        pi = preset.pi_method
    return check_choice("pi", pi, PI_METHODS)


def pool(yi, vi, tau2_method: str = "REML", ci: str = "z", pi: str | None = None, preset: Preset = REVMAN, *,
         level: float = 0.95, tol: float = 1e-10, maxiter: int = 100, labels=None, source=None) -> PoolResult:
    """Inverse-variance meta-analysis of effects ``yi`` with sampling variances ``vi``.

    tau2_method: tau² estimator, one of TAU2_METHODS: ``FE`` (fixed effect, tau² = 0), ``DL`` (DerSimonian & Laird
    1986, truncated at 0 with a warning), ``REML`` (Fisher scoring, Viechtbauer 2005), ``PM`` (Paule & Mandel 1982:
    root of Q(tau²) = k - 1). Random-effects weights 1/(v_i + tau²); mu ± z SE.
    ci: ``z`` (Wald) or ``hksj`` (Hartung & Knapp 2001, Sidik & Jonkman 2002: SE² scaled by
    Q(tau²)/(k - 1) with weights 1/(v_i+tau²), t on k - 1 df; not truncated at 1, as metafor ``test="knha"``;
    one study: the Wald CI, with a note, as metafor sets ``test="z"`` when k = 1).
    pi: prediction interval, whatever ``ci``: ``t`` (the Handbook's: Wald SE of the mean, t on k - 2 df), ``z``
    (metafor, normal quantile, Wald SE), ``knha`` (metafor's under ``test="knha"``: HKSJ SE, t on k - 1 df;
    needs ``ci="hksj"``) or None (the preset's: ``t`` for REVMAN, ``z`` for METAFOR).
    preset: decides how I² is computed (``i2_from``: from Q for REVMAN, the default; from tau² for METAFOR).
    REML also gives tau2_se = sqrt(2/tr(PP)); every random-effects fit gives the Q-profile tau² CI.
    One study: the estimate is that study, heterogeneity statistics are NaN.
    """
    check_choice("tau2_method", tau2_method, TAU2_METHODS)
    check_choice("ci", ci, CI_METHODS)
    pi = _resolve_pi(pi, preset)
    level = check_level(level)
    y, v = effect_arrays(yi, vi, labels=labels, source=source)
    return _pool_arrays(y, v, tau2_method, ci, pi, level, tol, maxiter, preset.i2_from)


def _pool_arrays(y, v, tau2_method, ci, pi, level, tol=1e-10, maxiter=100, i2_from="tau2", notes=None, q=None,
                 excluded=()) -> PoolResult:
    notes = [] if notes is None else notes
    k = len(y)
    model = "fixed" if tau2_method == "FE" else "random"
    q = cochran_q(y, v) if q is None else q
    df = k - 1
    tau2, tau2_se, converged, iterations, truncated = 0.0, np.nan, True, 0, False
    tau2_ci = (np.nan, np.nan)
    if k == 1:
        _note(notes, "only one study: heterogeneity (tau², Q, I²) is not estimable")
        q, tau2 = np.nan, (0.0 if model == "fixed" else np.nan)
    elif tau2_method == "DL":
        raw, tau2 = tau2_dl(y, v, q)
        tau2_se = tau2_dl_se(tau2, y, v)
        if raw < 0:
            truncated = True
            _note(notes, f"DerSimonian-Laird tau² estimate {raw:.6g} < 0 truncated to 0")
    elif tau2_method == "PM":
        tau2 = solve_q(df, y, v)
        if tau2 == 0.0:
            truncated = True
            _note(notes, f"Paule-Mandel: Q(0) = {q:.6g} <= k - 1 = {df}, tau² set to 0")
    elif tau2_method == "REML":
        tau2, converged, iterations = tau2_reml(y, v, tol, maxiter)
        tau2_se = float(np.sqrt(2.0 / reml_terms(tau2, y, v)[2]))
        if not converged:
            _note(notes, f"REML did not converge in {maxiter} iterations (last tau² = {tau2:.6g})")
    if model == "random" and k > 1:
        tau2_ci = q_profile_ci(y, v, level)
    w = 1.0 / (v + (0.0 if np.isnan(tau2) else tau2))
    estimate = float(np.sum(w * y) / np.sum(w))
    se = se_wald = float(np.sqrt(1.0 / np.sum(w)))
    if pi == "knha" and ci != "hksj":
        raise ValueError("pi 'knha' (metafor's prediction interval of a test='knha' fit) needs ci 'hksj'; "
                         f"got ci {ci!r}")
    if ci == "hksj" and k == 1:  # as metafor: 'Setting argument test="z" since k=1'
        _note(notes, "HKSJ needs at least two studies: the Wald (z) CI and p of the one study, as metafor")
        ci = "z"
    if ci == "hksj":
        spread = 0.0 if np.all(y == y[0]) else np.sum(w * (y - estimate) ** 2)  # exact 0 for identical
        se = float(se * np.sqrt(spread / (k - 1)))
    ci_low, ci_high, z, p = _inference(estimate, se, k, ci, level)
    i2, h2 = _heterogeneity(q, df, tau2, v, i2_from, model)
    pi_low, pi_high = _prediction(estimate, se_wald, se, tau2, k, pi, level, model)
    return PoolResult(
        estimate=estimate, se=se, ci_low=float(ci_low), ci_high=float(ci_high), z=z, p=p, tau2=float(tau2),
        tau2_se=tau2_se, tau2_ci_low=float(tau2_ci[0]), tau2_ci_high=float(tau2_ci[1]), q=float(q), df=df,
        q_p=float(stats.chi2.sf(q, df)) if k > 1 else np.nan, i2=float(i2), h2=float(h2), k=k,
        pi_low=pi_low, pi_high=pi_high, weights=tuple((100.0 * w / np.sum(w)).tolist()),
        tau2_method=tau2_method, model=model, ci_method=ci, pi_method=pi, level=level, converged=converged,
        iterations=iterations, tau2_truncated=truncated, excluded=tuple(excluded), warnings=tuple(notes))


def _mh_sums(a, b, c, d, measure, rd_variance="greenland-robins"):
    """Mantel-Haenszel estimate (log scale for RR/OR), its variance and the MH weights.
    OR: Mantel & Haenszel (1959) with the Robins, Breslow & Greenland (1986) variance; RR: Greenland & Robins
    (1985); RD: weights n_e n_c/N with the Greenland & Robins (1985) variance (RevMan 5 "Statistical methods")
    or, ``rd_variance="sato"``, Sato, Greenland & Robins (1989) as metafor ``rma.mh``."""
    n1, n2 = a + b, c + d
    n = n1 + n2
    if measure == "OR":
        r, s = a * d / n, b * c / n
        p, q = (a + d) / n, (b + c) / n
        sr, ss = np.sum(r), np.sum(s)
        var = np.sum(p * r) / (2 * sr**2) + np.sum(p * s + q * r) / (2 * sr * ss) + np.sum(q * s) / (2 * ss**2)
        return float(np.log(sr / ss)), float(var), s
    if measure == "RR":
        r, s = a * n2 / n, c * n1 / n
        var = np.sum((n1 * n2 * (a + c) - a * c * n) / n**2) / (np.sum(r) * np.sum(s))
        return float(np.log(np.sum(r) / np.sum(s))), float(var), s
    w = n1 * n2 / n
    est = np.sum(w * (a / n1 - c / n2)) / np.sum(w)
    if rd_variance == "sato":
        p = np.sum((n1**2 * c - n2**2 * a + n1 * n2 * (n2 - n1) / 2) / n**2)
        q = np.sum((a * (n2 - c) + c * (n1 - a)) / (2 * n))
        var = (est * p + q) / np.sum(w) ** 2
    else:
        var = np.sum((a * b * n2**3 + c * d * n1**3) / (n1 * n2 * n**2)) / np.sum(w) ** 2
    return float(est), float(var), w


def _fixed_result(estimate, var, weights, q, k, df, level, pi, excluded, notes) -> PoolResult:
    se = float(np.sqrt(var))
    ci_low, ci_high, z, p = _inference(estimate, se, k, "z", level)
    if df < 1:
        _note(notes, "fewer than two informative studies: heterogeneity (Q, I²) is not estimable")
        q = np.nan
    i2, h2 = _heterogeneity(q, df, 0.0, None, "q", "fixed")
    return PoolResult(
        estimate=estimate, se=se, ci_low=float(ci_low), ci_high=float(ci_high), z=z, p=p, tau2=0.0, tau2_se=np.nan,
        tau2_ci_low=np.nan, tau2_ci_high=np.nan, q=float(q), df=df,
        q_p=float(stats.chi2.sf(q, df)) if df >= 1 else np.nan, i2=float(i2), h2=float(h2), k=k, pi_low=np.nan,
        pi_high=np.nan, weights=tuple((100.0 * weights / np.sum(weights)).tolist()), tau2_method="FE", model="fixed",
        ci_method="z", pi_method=pi, level=level, converged=True, iterations=0, tau2_truncated=False,
        excluded=tuple(excluded), warnings=tuple(notes))


def _excluded(reasons, labels, notes) -> list[int]:
    out = [int(i) for i in np.flatnonzero(reasons != None)]  # noqa: E711
    for i in out:
        who = f"study {labels[i]!r}" if labels is not None else f"row {i}"
        _note(notes, f"{who} excluded: {reasons[i]}")
    return out


def mantel_haenszel(events_e, n_e, events_c, n_c, measure: str, model: str = "fixed", preset: Preset = REVMAN, *,
                    ci: str = "z", pi: str | None = None, level: float = 0.95, labels=None,
                    source=None) -> PoolResult:
    """Mantel-Haenszel meta-analysis of RR, OR or RD (log scale for RR/OR), as RevMan.

    Fixed effect: the MH estimate with weights (OR) b c/N, (RR) c n_e/N, (RD) n_e n_c/N, printed as percent.
    Heterogeneity: Q = sum (1/v_i)(y_i - MH estimate)² with the study effects of :mod:`helpers.stats.effects`.
    ``model="random"``: RevMan's random effects for dichotomous data, DerSimonian-Laird tau² from that MH-based Q,
    then inverse-variance pooling with 1/(v_i + tau²) (weights are then those). ``preset.mh_correction``
    decides whether cells of zero-cell studies are corrected in the MH sums (RevMan yes, metafor no);
    double-zero studies are excluded for RR/OR when ``preset.drop_double_zero`` (recorded and warned).
    MH estimate: OR = sum(a_i d_i/N_i)/sum(b_i c_i/N_i), RR = sum(a_i n_ci/N_i)/sum(c_i n_ei/N_i),
    RD = sum(w_i (a_i/n_ei - c_i/n_ci))/sum(w_i); variances of ln OR by Robins, Breslow & Greenland (1986),
    of ln RR and RD by Greenland & Robins (1985). Mantel & Haenszel (1959) JNCI 22:719; DerSimonian & Laird
    (1986) Control Clin Trials 7:177; Deeks & Higgins (2010) RevMan statistical methods.
    """
    check_choice("measure", measure, MH_MEASURES)
    check_choice("model", model, MODELS)
    check_choice("ci", ci, CI_METHODS)
    if model == "fixed" and ci != "z":
        raise ValueError(f"ci={ci!r} needs model='random'; the Mantel-Haenszel fixed-effect CI is 'z'")
    pi = _resolve_pi(pi, preset)
    level = check_level(level)
    a, n1, c, n2 = dichotomous_arrays(events_e, n_e, events_c, n_c, labels=labels, source=source)
    yi, vi, reasons = dichotomous_effects(a, n1, c, n2, measure, preset)
    notes: list[str] = []
    excluded = _excluded(reasons, labels, notes)
    keep = reasons == None  # noqa: E711
    if not keep.any():
        raise InputError(f"{source_prefix(source)}no study can enter the {measure} analysis "
                         f"({len(excluded)} excluded)")
    # metafor rma.mh computes Q without double-zero studies (its drop00=c(TRUE, FALSE))
    in_q = ~((a == 0) & (c == 0))[keep] if not preset.drop_double_zero else np.ones(int(keep.sum()), bool)
    a, n1, c, n2, yi, vi = (x[keep] for x in (a, n1, c, n2, yi, vi))
    raw_rd = measure == "RD" and preset.raw_zero_cell_estimate  # RevMan: MH RD sums from the raw counts
    corrected = preset.mh_correction and not raw_rd
    cells = corrected_cells(a, n1, c, n2, preset.cc_add) if corrected else (a, n1 - a, c, n2 - c)
    estimate, var, mh_w = _mh_sums(*cells, measure, preset.mh_rd_variance)
    q = float(np.sum((yi[in_q] - estimate) ** 2 / vi[in_q]))
    if model == "fixed":
        return _fixed_result(estimate, var, mh_w, q, len(yi), int(in_q.sum()) - 1, level, pi, excluded, notes)
    if not in_q.all():
        dropped = np.flatnonzero(keep)[~in_q]
        _note(notes, f"rows {dropped.tolist()} (double zero) carry no information for random effects: left out")
        excluded = sorted(excluded + dropped.tolist())
    return _pool_arrays(yi[in_q], vi[in_q], "DL", ci, pi, level, i2_from=preset.i2_from, notes=notes, q=q,
                        excluded=excluded)


def peto_effects(a, n1, c, n2):
    """Peto's O - E = a - n_e(a+c)/N and V = n_e n_c (a+c)(b+d)/(N²(N-1)); study yi = (O-E)/V, vi = 1/V
    (Yusuf et al. 1985). Returns (yi, vi, o_minus_e, v); yi/vi NaN where V = 0."""
    n = n1 + n2
    m1 = a + c
    o_e = a - n1 * m1 / n
    v = n1 * n2 * m1 * (n - m1) / (n**2 * (n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        yi = np.where(v > 0, o_e / v, np.nan)
        vi = np.where(v > 0, 1 / v, np.nan)
    return yi, vi, o_e, v


def peto(events_e, n_e, events_c, n_c, preset: Preset = REVMAN, *, level: float = 0.95, labels=None,
         source=None) -> PoolResult:
    """Peto one-step odds ratio (fixed effect; Yusuf et al. 1985), log scale: ln OR = sum(O-E)/sum V,
    SE = 1/sqrt(sum V), weights V (percent), Q = sum (O-E)²/V - (sum(O-E))²/sum V.

    Studies with V = 0 (no events, or only events, in both arms) carry no information: excluded (recorded and
    warned) when ``preset.drop_double_zero`` (RevMan), else counted in k with weight 0 as metafor ``rma.peto``.
    """
    level = check_level(level)
    a, n1, c, n2 = dichotomous_arrays(events_e, n_e, events_c, n_c, labels=labels, source=source)
    yi, vi, o_e, v = peto_effects(a, n1, c, n2)
    reasons = np.full(len(a), None, dtype=object)
    if preset.drop_double_zero:
        reasons[v == 0] = PETO_NO_VARIANCE
    notes: list[str] = []
    excluded = _excluded(reasons, labels, notes)
    keep = reasons == None  # noqa: E711
    if not np.any(v[keep] > 0):
        raise InputError(f"{source_prefix(source)}no study can enter the Peto analysis "
                         f"({len(excluded)} excluded, the rest have V = 0)")
    o_e, v = o_e[keep], v[keep]
    pos = v > 0
    q = float(np.sum(o_e[pos] ** 2 / v[pos]) - np.sum(o_e) ** 2 / np.sum(v))
    return _fixed_result(float(np.sum(o_e) / np.sum(v)), float(1 / np.sum(v)), v, max(q, 0.0), int(keep.sum()),
                         int(pos.sum()) - 1, level, _resolve_pi(None, preset), excluded, notes)

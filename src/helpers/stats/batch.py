"""Many small meta-analyses at once: inverse-variance pooling vectorised over analyses given as long arrays.

``pool_batch(yi, vi, group, tau2_method, ci)`` fits one analysis per distinct ``group`` value, with the formulas of
:func:`helpers.stats.pooling.pool` (see there and :mod:`helpers.stats.tau2` for the estimators and citations),
but every per-analysis sum is one ``np.bincount`` over all rows, so the Python overhead is paid per call, not per
analysis. For thousands of analyses of a few studies each (a corpus of reviews) this is what makes the engine
faster than a loop of :func:`pool` calls or of metafor's ``rma``.

Same conventions as ``pool``: the same tau² estimators (``FE``, ``DL`` truncated at 0, ``REML`` by Fisher
scoring from DL with the same convergence rule ``|change| <= tol * tau²`` and ``maxiter``, ``PM`` as the root of
Q(tau²) = k - 1), the same Wald or HKSJ (t on k - 1 df, not truncated) inference, I² and H² from Q (REVMAN) or
from tau² (METAFOR, ``preset.i2_from``), and the same single-study rule (heterogeneity NaN, the estimate is that
study). When Fisher scoring overshoots the REML root (two iterates bracket it), ``pool`` finishes with Brent's
method and this module with a bracketed Newton iteration (exact derivative) to the same tolerance; the PM root
likewise. ``tests/test_batch.py`` checks agreement with ``pool`` on many random analyses (closed forms to 1e-12,
iterated tau² to 1e-10 relative, what follows from it to 1e-9) and with the metafor reference JSON.

Not computed here (use ``pool`` for one full fit): the Q-profile CI of tau², prediction intervals, study weights.
"""

from __future__ import annotations

import warnings as _warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from helpers.core.checks import CI_METHODS, TAU2_METHODS, InputError, MetaWarning, check_choice, check_level, \
    effect_arrays
from helpers.core.results import ResultMixin
from helpers.stats.presets import REVMAN, Preset

#: Per-analysis fields of :class:`BatchResult`, in ``to_frame()`` column order (after ``group``).
BATCH_FIELDS = ("k", "estimate", "se", "ci_low", "ci_high", "z", "p", "tau2", "tau2_se", "q", "df", "q_p", "i2",
                "h2", "converged", "iterations", "tau2_truncated")


@dataclass(frozen=True, repr=False)
class BatchResult(ResultMixin):
    """One row per analysis (``group``: the distinct group ids, sorted) of arrays named as :class:`PoolResult`'s
    fields; ``warnings`` counts what ``pool`` would have warned about per analysis (one study, truncation,
    non-convergence)."""

    group: np.ndarray
    k: np.ndarray
    estimate: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    z: np.ndarray
    p: np.ndarray
    tau2: np.ndarray
    tau2_se: np.ndarray
    q: np.ndarray
    df: np.ndarray
    q_p: np.ndarray
    i2: np.ndarray
    h2: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray
    tau2_truncated: np.ndarray
    tau2_method: str
    model: str
    ci_method: str
    level: float
    warnings: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """One row per analysis: ``group`` and ``BATCH_FIELDS``."""
        return pd.DataFrame({"group": self.group, **{name: getattr(self, name) for name in BATCH_FIELDS}})

    def summary(self) -> str:
        kind = "Fixed-effect" if self.model == "fixed" else "Random-effects"
        lines = [f"{kind} models for {len(self.group)} analyses (k = {int(self.k.min())}-{int(self.k.max())}; "
                 f"tau² estimator: {self.tau2_method}; CI: {self.ci_method})"]
        return "\n".join(lines + [f"warning: {w}" for w in self.warnings])


class _Groups:
    """Row -> analysis codes and per-analysis sums (``np.bincount``)."""

    def __init__(self, codes: np.ndarray, n: int):
        self.codes, self.n = codes, n

    def sum(self, x: np.ndarray) -> np.ndarray:
        return np.bincount(self.codes, weights=x, minlength=self.n)

    def subset(self, chosen: np.ndarray) -> tuple[_Groups, np.ndarray]:
        """The groups flagged in ``chosen`` (boolean per group) renumbered 0..m-1, and the rows they hold."""
        rows = chosen[self.codes]
        renumber = np.cumsum(chosen) - 1
        return _Groups(renumber[self.codes[rows]], int(chosen.sum())), rows


def _moments(tau2, y, v, g: _Groups):
    """(mu, sum w, sum w², sum w³, sum w (y - mu)², sum w² (y - mu)²) with w = 1/(v + tau²) per analysis."""
    w = 1.0 / (v + tau2[g.codes])
    sw, sw2, sw3 = g.sum(w), g.sum(w**2), g.sum(w**3)
    mu = g.sum(w * y) / sw
    r = y - mu[g.codes]
    return mu, sw, sw2, sw3, g.sum(w * r**2), g.sum((w * r) ** 2)


def _reml_score(tau2, y, v, g, slope: bool = False):
    """(score Y'PPY - tr P, Fisher information tr(PP)) per analysis (Viechtbauer 2005; tau2.reml_terms); with
    ``slope`` also the score's derivative tr(PP) - 2 Y'PPPY (dP/dtau² = -PP), where with P y = w r, r = y - mu:
    Y'PPPY = sum w³ r² - (sum w² r)² / sum w."""
    w = 1.0 / (v + tau2[g.codes])
    sw, sw2, sw3 = g.sum(w), g.sum(w**2), g.sum(w**3)
    r = y - (g.sum(w * y) / sw)[g.codes]
    info = sw2 - 2 * sw3 / sw + (sw2 / sw) ** 2
    score = g.sum((w * r) ** 2) - (sw - sw2 / sw)
    if not slope:
        return score, info
    return score, info, info - 2 * (g.sum(w**3 * r**2) - g.sum(w**2 * r) ** 2 / sw)


def _bracketed_root(f_step, lo, hi, x, xtol, maxiter=200):
    """Roots of decreasing functions (one per analysis) with f(lo) > 0 > f(hi): Newton steps from
    ``f_step(x, chosen) -> (f, step)`` (evaluated for the analyses still ``chosen`` only), bisection whenever a
    step leaves the bracket; an analysis stops at f = 0 or a step <= its ``xtol``."""
    lo, hi, x = lo.copy(), hi.copy(), x.copy()
    active = np.ones(x.size, bool)
    for _ in range(maxiter):
        idx = np.flatnonzero(active)
        if not idx.size:
            break
        f, step = f_step(x[idx], active)
        lo[idx], hi[idx] = np.where(f > 0, x[idx], lo[idx]), np.where(f < 0, x[idx], hi[idx])
        new = x[idx] + step
        new = np.where((new > lo[idx]) & (new < hi[idx]), new, (lo[idx] + hi[idx]) / 2)
        done = (f == 0) | (np.abs(new - x[idx]) <= xtol[idx]) | (hi[idx] - lo[idx] <= xtol[idx])
        x[idx] = np.where(f == 0, x[idx], new)
        active[idx[done]] = False
    return x


def _dl(q, df, sw, sw2):
    """DerSimonian-Laird per analysis: (Q - (k-1)) / (sum w - sum w²/sum w), w = 1/v (untruncated)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (q - df) / (sw - sw2 / sw)


def _tau2_reml(y, v, g: _Groups, k, tol, maxiter):
    """(tau², converged, iterations) per analysis: :func:`helpers.stats.tau2.tau2_reml` for all at once (each
    iteration on the analyses still iterating only)."""
    tau2, converged, iterations = np.zeros(g.n), np.ones(g.n, bool), np.zeros(g.n, int)
    score0, _ = _reml_score(np.zeros(g.n), y, v, g)
    todo = (k > 1) & (score0 > 0)  # else the maximum is on the boundary: tau² = 0 exactly
    if not todo.any():
        return tau2, converged, iterations
    sub, rows = g.subset(todo)
    ys, vs = y[rows], v[rows]

    _, sw, sw2, _, q, _ = _moments(np.zeros(sub.n), ys, vs, sub)
    t = np.maximum(_dl(q, np.bincount(sub.codes, minlength=sub.n) - 1, sw, sw2), 0.0)
    score, info = _reml_score(t, ys, vs, sub)
    out, its, conv = t.copy(), np.full(sub.n, maxiter), np.zeros(sub.n, bool)
    active, lo, hi = np.ones(sub.n, bool), np.zeros(sub.n), np.zeros(sub.n)
    for it in range(1, maxiter + 1):
        idx = np.flatnonzero(active)
        adj = score[idx] / info[idx]
        while (neg := t[idx] + adj < 0).any():  # step halved to stay >= 0
            adj[neg] /= 2.0
        new = t[idx] + adj
        finished = np.abs(adj) <= tol * new
        out[idx[finished]], its[idx[finished]], conv[idx[finished]] = new[finished], it, True
        active[idx[finished]] = False
        idx, new = idx[~finished], new[~finished]
        if not idx.size:
            break
        part, kept = sub.subset(active)
        new_score, new_info = _reml_score(new, ys[kept], vs[kept], part)
        bracket = new_score * score[idx] < 0  # two iterates bracket the root: finished below
        b = idx[bracket]
        lo[b], hi[b] = np.minimum(t[b], new[bracket]), np.maximum(t[b], new[bracket])
        its[b], conv[b], active[b] = it, True, False
        go = ~bracket
        t[idx[go]], score[idx[go]], info[idx[go]] = new[go], new_score[go], new_info[go]
    out[active] = t[active]  # not converged in maxiter iterations
    bracketed = conv & (hi > 0)
    if bracketed.any():
        sub2, rows2 = sub.subset(bracketed)
        y2, v2 = ys[rows2], vs[rows2]

        def newton(x, chosen):
            part, kept = sub2.subset(chosen)
            s, _, ds = _reml_score(x, y2[kept], v2[kept], part, slope=True)
            return s, -s / ds

        lo2, hi2 = lo[bracketed], hi[bracketed]
        out[bracketed] = _bracketed_root(newton, lo2, hi2, (lo2 + hi2) / 2, tol * hi2)
    tau2[todo], converged[todo], iterations[todo] = out, conv, its
    return tau2, converged, iterations


def _group_max(x, g: _Groups):
    out = np.full(g.n, -np.inf)
    np.maximum.at(out, g.codes, x)
    return out


def _tau2_pm(y, v, g: _Groups, k):
    """(tau², set to 0) per analysis: the root of the generalized Q(tau²) = k - 1 (:func:`tau2.solve_q`), found
    by a bracketed Newton iteration (dQ/dtau² = -sum w² (y - mu)²) to pool's tolerance 1e-14 x the bracket."""
    tau2 = np.zeros(g.n)
    _, _, _, _, q0, _ = _moments(tau2, y, v, g)
    todo = (k > 1) & (q0 > k - 1)
    if not todo.any():
        return tau2, k > 1
    sub, rows = g.subset(todo)
    ys, vs, target = y[rows], v[rows], (k - 1)[todo]
    mean = sub.sum(ys) / np.bincount(sub.codes, minlength=sub.n)
    spread = sub.sum((ys - mean[sub.codes]) ** 2) / np.bincount(sub.codes, minlength=sub.n)  # np.var per analysis
    hi = np.maximum(np.maximum(spread, _group_max(vs, sub)), 1e-12)

    def newton(x, chosen):
        part, kept = sub.subset(chosen)
        _, _, _, _, qx, slope = _moments(x, ys[kept], vs[kept], part)
        return qx - target[chosen], (qx - target[chosen]) / slope

    everyone = np.ones(sub.n, bool)
    while (up := newton(hi, everyone)[0] > 0).any():
        hi[up] *= 10.0
    tau2[todo] = _bracketed_root(newton, np.zeros(sub.n), hi, np.zeros(sub.n), 1e-14 * hi)
    return tau2, (k > 1) & ~todo


def _warn(notes: list[str], count: int, message: str, ids) -> None:
    if count:
        shown = ", ".join(map(str, ids[:5])) + (", ..." if count > 5 else "")
        notes.append(f"{count} analyses {message} ({shown})")
        _warnings.warn(notes[-1], MetaWarning, stacklevel=3)


def pool_batch(yi, vi, group, tau2_method: str = "REML", ci: str = "z", preset: Preset = REVMAN, *,
               level: float = 0.95, tol: float = 1e-10, maxiter: int = 100, source=None) -> BatchResult:
    """Inverse-variance meta-analysis of every analysis in ``group`` (one id per row of ``yi``, ``vi``) at once.

    tau2_method: tau² estimator in TAU2_METHODS (``FE``, ``DL``, ``REML``, ``PM``); ci: ``z`` (Wald) or ``hksj``
    (SE² x Q(tau²)/(k - 1), t on k - 1 df); preset: how I² is computed (``i2_from``); level, tol, maxiter: as
    :func:`helpers.stats.pooling.pool`, whose numbers these are (formulas and citations there). Returns a
    :class:`BatchResult` with one entry per distinct group id (sorted). tau2_se: REML sqrt(2/tr(PP)) and DL
    (as metafor), NaN for PM and FE. What ``pool`` would warn about is warned once per kind, with the count.
    """
    check_choice("tau2_method", tau2_method, TAU2_METHODS)
    check_choice("ci", ci, CI_METHODS)
    level = check_level(level)
    y, v = effect_arrays(yi, vi, source=source)
    group = np.asarray(group)
    if group.shape != y.shape:
        raise InputError(f"group has {group.size} values for {y.size} rows of yi and vi: one analysis id per row")
    missing = pd.isna(group)
    if missing.any():
        raise InputError(f"group: analysis id missing in row {int(np.flatnonzero(missing)[0])}")
    ids, first, codes = np.unique(group, return_index=True, return_inverse=True)
    g = _Groups(codes.ravel(), len(ids))
    k = np.bincount(g.codes, minlength=g.n)
    df, one = k - 1, k == 1
    _, sw0, sw20, sw30, q, _ = _moments(np.zeros(g.n), y, v, g)
    tau2, tau2_se = np.zeros(g.n), np.full(g.n, np.nan)
    converged, iterations, truncated = np.ones(g.n, bool), np.zeros(g.n, int), np.zeros(g.n, bool)
    notes: list[str] = []
    _warn(notes, int(one.sum()), "with one study: heterogeneity (tau², Q, I²) is not estimable", ids[one])
    with np.errstate(divide="ignore", invalid="ignore"):
        if tau2_method == "DL":
            raw = _dl(q, df, sw0, sw20)
            tau2, truncated = np.maximum(raw, 0.0), ~one & (raw < 0)
            tr_p, tr_pp = sw0 - sw20 / sw0, sw20 - 2 * sw30 / sw0 + (sw20 / sw0) ** 2
            tau2_se = np.sqrt(2 * df + 4 * tau2 * tr_p + 2 * tau2**2 * tr_pp) / tr_p
            _warn(notes, int(truncated.sum()), "with a DerSimonian-Laird tau² estimate < 0 truncated to 0",
                  ids[truncated])
        elif tau2_method == "PM":
            tau2, truncated = _tau2_pm(y, v, g, k)
            _warn(notes, int(truncated.sum()), "with Paule-Mandel Q(0) <= k - 1: tau² set to 0", ids[truncated])
        elif tau2_method == "REML":
            tau2, converged, iterations = _tau2_reml(y, v, g, k, tol, maxiter)
            tau2_se = np.sqrt(2.0 / _reml_score(tau2, y, v, g)[1])
            _warn(notes, int((~converged).sum()), f"where REML did not converge in {maxiter} iterations",
                  ids[~converged])
        if tau2_method != "FE":
            tau2[one], tau2_se[one] = np.nan, np.nan
        q[one] = np.nan
        estimate, sw, _, _, spread, _ = _moments(np.nan_to_num(tau2), y, v, g)
        se = se_wald = np.sqrt(1.0 / sw)
        if ci == "hksj":
            identical = g.sum(np.abs(y - y[first][g.codes])) == 0  # exact 0, as pool
            se = se_wald * np.sqrt(np.where(identical, 0.0, spread) / df)
            se[one] = se_wald[one]  # as pool and metafor (test="z" when k = 1)
            _warn(notes, int(one.sum()), "with one study: HKSJ needs at least two, the Wald (z) CI and p",
                  ids[one])
            crit = np.where(one, stats.norm.ppf((1 + level) / 2), stats.t.ppf((1 + level) / 2, np.maximum(df, 1)))
        else:
            crit = np.full(g.n, stats.norm.ppf((1 + level) / 2))
        z = np.where(se > 0, estimate / se, np.copysign(np.inf, estimate))
        z[np.isnan(se) | ((se == 0) & (estimate == 0))] = np.nan
        if ci == "hksj":
            p = np.where(one, 2 * stats.norm.sf(np.abs(z)), 2 * stats.t.sf(np.abs(z), np.maximum(df, 1)))
        else:
            p = 2 * stats.norm.sf(np.abs(z))
        if preset.i2_from == "q" or tau2_method == "FE":
            i2, h2 = np.where(q <= df, 0.0, 100.0 * (q - df) / q), q / df
        else:
            s2 = df * sw0 / (sw0**2 - sw20)
            i2, h2 = 100.0 * tau2 / (tau2 + s2), (tau2 + s2) / s2
        i2[one], h2[one] = np.nan, np.nan
        q_p = np.where(one, np.nan, stats.chi2.sf(q, np.maximum(df, 1)))
    return BatchResult(
        group=ids, k=k, estimate=estimate, se=se, ci_low=estimate - crit * se, ci_high=estimate + crit * se, z=z,
        p=p, tau2=tau2, tau2_se=tau2_se, q=q, df=df, q_p=q_p, i2=i2, h2=h2, converged=converged,
        iterations=iterations, tau2_truncated=truncated, tau2_method=tau2_method,
        model="fixed" if tau2_method == "FE" else "random", ci_method=ci, level=level, warnings=tuple(notes))

"""Small-study effects: Egger's regression test, Begg's rank correlation test, Duval & Tweedie trim and fill.

Each function reproduces the metafor function named in its docstring (checked against metafor 3.8.1 in
``tests/test_reference_metafor.py``). Inputs are study effects ``yi`` and sampling variances ``vi`` on the
analysis scale (log scale for RR and OR).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from helpers.core import checks
from helpers.stats.pooling import PoolResult, pool
from helpers.core.results import ResultMixin, format_value

ESTIMATORS = ("L0", "R0")  # trim-and-fill estimators of the number of missing studies
SIDES = ("left", "right")  # side of the funnel plot on which studies are imputed
MIN_K = 3  # fewest studies for the tests (regression with 2 parameters needs 1 residual df)
MAXITER = 100  # trim-and-fill iterations before giving up (metafor's default)


def _arrays(yi, vi, labels, what: str) -> tuple[np.ndarray, np.ndarray]:
    y, v = checks.effect_arrays(yi, vi, labels=labels)
    if y.size < MIN_K:
        raise ValueError(f"{what} needs at least {MIN_K} studies; got {y.size}")
    return y, v


@dataclass(frozen=True, repr=False)
class EggerResult(ResultMixin):
    """Egger's regression test. ``bias`` is the slope on the standard error (Egger's "intercept" in the
    standardised-deviate form); ``limit_estimate`` is the intercept, the effect expected at se -> 0."""

    bias: float
    bias_se: float
    t: float
    df: int
    p: float
    limit_estimate: float
    limit_se: float
    limit_ci_low: float
    limit_ci_high: float
    k: int


def egger(yi, vi, *, labels=None, level: float = 0.95) -> EggerResult:
    """Egger's regression test for funnel-plot asymmetry (Egger et al., BMJ 1997;315:629).

    Weighted least squares of ``yi = b0 + b1 * sqrt(vi)`` with weights ``1/vi`` and a free (multiplicative)
    residual variance ``s2 = sum(w * e**2) / (k - 2)``; ``t = b1 / se(b1)`` on ``k - 2`` df. This is
    algebraically Egger's regression of ``yi/sei`` on ``1/sei`` (his intercept is ``b1`` here) and equals
    metafor's ``regtest(rma(yi, vi, method="FE"), model="lm")``, including the limit estimate ``b0`` with a
    t-based CI.
    """
    level = checks.check_level(level)
    y, v = _arrays(yi, vi, labels, "egger")
    k = y.size
    X = np.column_stack([np.ones(k), np.sqrt(v)])
    w = 1.0 / v
    xtwx = X.T @ (X * w[:, None])
    beta = np.linalg.solve(xtwx, X.T @ (w * y))
    resid = y - X @ beta
    df = k - 2
    s2 = float(np.sum(w * resid**2) / df)
    cov = s2 * np.linalg.inv(xtwx)
    se = np.sqrt(np.diag(cov))
    with np.errstate(divide="ignore", invalid="ignore"):
        t = beta[1] / se[1]
    p = float(2 * stats.t.sf(abs(t), df)) if np.isfinite(t) else float("nan")
    crit = stats.t.ppf(0.5 + level / 2, df)
    return EggerResult(bias=float(beta[1]), bias_se=float(se[1]), t=float(t), df=df, p=p,
                       limit_estimate=float(beta[0]), limit_se=float(se[0]),
                       limit_ci_low=float(beta[0] - crit * se[0]), limit_ci_high=float(beta[0] + crit * se[0]), k=k)


@dataclass(frozen=True, repr=False)
class BeggResult(ResultMixin):
    """Begg & Mazumdar's rank correlation test: Kendall's tau (tau-b) and its two-sided p."""

    tau: float
    p: float
    exact: bool
    k: int


def begg(yi, vi, *, labels=None) -> BeggResult:
    """Begg & Mazumdar's rank correlation test (Biometrics 1994;50:1088), as metafor's ``ranktest``.

    With the fixed-effect estimate ``theta = sum(w*yi)/sum(w)`` (``w = 1/vi``) and ``vb = 1/sum(w)``, the
    standardised deviates ``(yi - theta) / sqrt(vi - vb)`` are rank-correlated with ``vi`` by Kendall's tau-b.
    The p-value is exact (permutation distribution of Kendall's statistic) when neither variable has ties, as
    metafor does for any k; with ties it is the normal approximation with the tie-corrected variance of the
    statistic (Kendall 1970), no continuity correction, as R's ``cor.test``.
    """
    y, v = _arrays(yi, vi, labels, "begg")
    w = 1.0 / v
    theta = np.sum(w * y) / np.sum(w)
    ystar = (y - theta) / np.sqrt(v - 1.0 / np.sum(w))
    ties = len(np.unique(ystar)) < y.size or len(np.unique(v)) < v.size
    res = stats.kendalltau(ystar, v, method="asymptotic" if ties else "exact")
    return BeggResult(tau=float(res.statistic), p=float(res.pvalue), exact=not ties, k=y.size)


def _slope_on_sei(y: np.ndarray, v: np.ndarray, tau2_method: str) -> float:
    """Slope of the meta-regression ``yi ~ sqrt(vi)`` with residual heterogeneity estimated by ``tau2_method``
    (FE, DL, REML or PM; Viechtbauer 2005 and Viechtbauer et al. 2015 for the estimators with moderators)."""
    X = np.column_stack([np.ones(y.size), np.sqrt(v)])
    k, p = X.shape

    def fit(tau2: float):
        w = 1.0 / (v + tau2)
        xtwx_inv = np.linalg.inv(X.T @ (X * w[:, None]))
        P = np.diag(w) - (X * w[:, None]) @ xtwx_inv @ (X * w[:, None]).T
        return xtwx_inv @ (X.T @ (w * y)), P

    tau2 = 0.0
    if tau2_method != "FE":
        _, P0 = fit(0.0)
        q0 = float(y @ P0 @ y)
        tau2 = max(0.0, (q0 - (k - p)) / np.trace(P0))  # DL
        if tau2_method == "REML":
            for _ in range(MAXITER):
                _, P = fit(tau2)
                Py = P @ y
                step = (Py @ Py - np.trace(P)) / np.sum(P * P)
                new = max(0.0, tau2 + step)
                if abs(new - tau2) < 1e-10:
                    tau2 = new
                    break
                tau2 = new
        elif tau2_method == "PM" and q0 > k - p:
            def gen_q(t):
                return float(y @ fit(t)[1] @ y) - (k - p)
            hi = max(1.0, 10 * tau2)
            while gen_q(hi) > 0:
                hi *= 10
            tau2 = optimize.brentq(gen_q, 0.0, hi, xtol=1e-12)
    return float(fit(tau2)[0][1])


@dataclass(frozen=True, repr=False)
class TrimFillResult(ResultMixin):
    """Trim and fill: ``k0`` studies imputed on ``side``; ``estimate`` etc. from the analysis of the observed
    plus filled studies (analysis scale); ``filled`` holds the imputed studies (``yi``, ``vi``)."""

    estimator: str
    side: str
    k0: int
    se_k0: float
    p_k0: float
    tau2_method: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    tau2: float
    k: int
    iterations: int
    converged: bool
    filled: pd.DataFrame
    pooled: PoolResult  # observed + filled studies
    warnings: tuple[str, ...]

    def summary(self) -> str:
        lines = [f"Trim and fill ({self.estimator}, tau2 method {self.tau2_method}): {self.k0} studies filled on the "
                 f"{self.side} side (SE of k0 {format_value(self.se_k0)})",
                 f"Adjusted estimate {format_value(self.estimate, 6)} (95% CI {format_value(self.ci_low, 6)} to "
                 f"{format_value(self.ci_high, 6)}), tau2 {format_value(self.tau2, 6)}, k = {self.k}"]
        return "\n".join(lines + [f"warning: {w}" for w in self.warnings])


def _k0_estimate(signed_ranks: np.ndarray, k: int, estimator: str) -> tuple[float, float]:
    """Duval & Tweedie (2000) estimators of the number of missing studies and their SE."""
    if estimator == "R0":
        neg = -signed_ranks[signed_ranks < 0]
        k0 = k - (neg.max() if neg.size else 0) - 1  # length of the rightmost run of positive ranks, minus 1
        return float(k0), float(np.sqrt(2 * max(0.0, k0) + 2))
    sr = float(np.sum(signed_ranks[signed_ranks > 0]))  # Wilcoxon statistic of the positive deviations
    k0 = (4 * sr - k * (k + 1)) / (2 * k - 1)
    var_sr = (k * (k + 1) * (2 * k + 1) + 10 * k0**3 + 27 * k0**2 + 17 * k0 - 18 * k * k0**2 - 18 * k * k0
              + 6 * k**2 * k0) / 24
    return float(k0), float(4 * np.sqrt(max(var_sr, 0.0)) / (2 * k - 1))


def trim_and_fill(yi, vi, estimator: str = "L0", side: str | None = None, tau2_method: str = "REML", *,
                  labels=None, **pool_kwargs) -> TrimFillResult:
    """Duval & Tweedie's trim and fill (Biometrics 2000;56:455; JASA 2000;95:89), as metafor's ``trimfill``.

    ``side=None`` chooses the side where studies are missing as metafor does: the sign of the slope of the
    meta-regression ``yi ~ sqrt(vi)`` (same tau² ``tau2_method``): slope < 0 -> "right", else "left". With studies
    flipped so that the missing side is the left, sorted by effect, iterate: pool the ``k - k0`` smallest effects
    (``tau2_method``), rank ``|yi - estimate|`` over all k studies, and re-estimate k0 from the signed ranks:
    L0 = (4*S_r - k(k+1)) / (2k - 1), S_r = sum of positive ranks; R0 = (rightmost run of positive ranks) - 1;
    rounded and truncated at 0, until k0 repeats. The k0 most extreme studies are then mirrored about the
    trimmed estimate (``2*estimate - yi``, same ``vi``) and all k + k0 studies are pooled with ``tau2_method``
    (``pool_kwargs`` go to :func:`helpers.stats.pooling.pool`, e.g. ``ci="hksj"``).
    """
    checks.check_choice("estimator", estimator, ESTIMATORS)
    checks.check_choice("tau2_method", tau2_method, checks.TAU2_METHODS)
    if side is not None:
        checks.check_choice("side", side, SIDES)
    y, v = _arrays(yi, vi, labels, "trim_and_fill")
    k = y.size
    notes: list[str] = []
    if side is None:
        side = "right" if _slope_on_sei(y, v, tau2_method) < 0 else "left"
    flip = -1.0 if side == "right" else 1.0
    order = np.argsort(flip * y, kind="stable")
    ys, vs = flip * y[order], v[order]
    k0, prev, iterations, converged = 0, -1, 0, True
    beta = float("nan")
    while k0 != prev:
        if iterations == MAXITER:
            converged = False
            notes.append(f"trim and fill did not converge in {MAXITER} iterations; k0 = {k0} from the last one")
            break
        prev, iterations = k0, iterations + 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trimmed = pool(ys[: k - k0], vs[: k - k0], tau2_method=tau2_method, **pool_kwargs)
        beta = trimmed.estimate
        if not trimmed.converged:
            notes.append(f"iteration {iterations}: tau2 ({tau2_method}) did not converge for the {k - k0} trimmed studies")
        dev = ys - beta
        ranks = np.empty(k)
        ranks[np.argsort(np.abs(dev), kind="stable")] = np.arange(1, k + 1)
        k0_raw, se_k0 = _k0_estimate(np.sign(dev) * ranks, k, estimator)
        k0 = int(max(0, round(k0_raw)))
    fill_y = flip * (2 * beta - ys[k - k0:]) if k0 else np.empty(0)
    fill_v = vs[k - k0:] if k0 else np.empty(0)
    for note in notes:
        warnings.warn(note, checks.MetaWarning, stacklevel=2)
    res = pool(np.concatenate([y, fill_y]), np.concatenate([v, fill_v]), tau2_method=tau2_method, **pool_kwargs)
    # R0 only: P(R0 >= k0) under no missing studies = sum_{j > k0} 2**-j (Duval & Tweedie 2000)
    p_k0 = 0.5 ** (k0 + 1) if estimator == "R0" else float("nan")
    filled = pd.DataFrame({"study": [f"Filled {i + 1}" for i in range(k0)], "yi": fill_y, "vi": fill_v})
    return TrimFillResult(estimator=estimator, side=side, k0=k0, se_k0=se_k0, p_k0=p_k0, tau2_method=tau2_method,
                          estimate=res.estimate, se=res.se, ci_low=res.ci_low, ci_high=res.ci_high, tau2=res.tau2,
                          k=res.k, iterations=iterations, converged=converged, filled=filled, pooled=res,
                          warnings=tuple(notes) + res.warnings)

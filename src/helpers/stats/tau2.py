"""Between-study variance: Cochran's Q, the generalized Q, and the tau² estimators and CI the pooling uses.

DerSimonian & Laird (1986) with its SE, REML by Fisher scoring (Viechtbauer 2005), the root of the generalized Q
(Paule & Mandel 1982; DerSimonian & Kacker 2007) and the Q-profile CI (Viechtbauer 2007). Notation as in
:mod:`helpers.stats.pooling`: effects y_i, sampling variances v_i, weights w_i = 1/(v_i + tau²).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats


def cochran_q(yi: np.ndarray, vi: np.ndarray) -> float:
    """Q = sum w_i (y_i - mu_FE)², w_i = 1/v_i (Cochran 1954)."""
    w = 1.0 / vi
    mu = np.sum(w * yi) / np.sum(w)
    return float(np.sum(w * (yi - mu) ** 2))


def generalized_q(tau2: float, yi: np.ndarray, vi: np.ndarray) -> float:
    """Q(tau²) = sum (y_i - mu_tau)²/(v_i + tau²): equals Cochran's Q at tau² = 0 (DerSimonian & Kacker 2007)."""
    w = 1.0 / (vi + tau2)
    mu = np.sum(w * yi) / np.sum(w)
    return float(np.sum(w * (yi - mu) ** 2))


def tau2_dl(yi, vi, q=None) -> tuple[float, float]:
    """DerSimonian-Laird: (Q - (k-1)) / (sum w - sum w²/sum w); returns (untruncated, truncated at 0)."""
    w = 1.0 / vi
    q = cochran_q(yi, vi) if q is None else q
    raw = (q - (len(yi) - 1)) / (np.sum(w) - np.sum(w**2) / np.sum(w))
    return float(raw), max(0.0, float(raw))


def tau2_dl_se(tau2, yi, vi) -> float:
    """SE of the DL estimate (as metafor): sqrt(2(k-1) + 4 tau² tr P + 2 tau⁴ tr(PP)) / tr P, with P from the
    fixed-effect weights 1/v_i."""
    _, tr_p, tr_pp = reml_terms(0.0, yi, vi)
    return float(np.sqrt(2 * (len(yi) - 1) + 4 * tau2 * tr_p + 2 * tau2**2 * tr_pp) / tr_p)


def solve_q(target: float, yi, vi) -> float:
    """tau² >= 0 with generalized Q(tau²) = target (Q decreases in tau²); 0 when Q(0) <= target."""
    g = lambda t: generalized_q(t, yi, vi) - target
    if g(0.0) <= 0:
        return 0.0
    hi = max(float(np.var(yi)), float(np.max(vi)), 1e-12)
    while g(hi) > 0:
        hi *= 10.0
    return float(optimize.brentq(g, 0.0, hi, xtol=1e-14 * hi, rtol=4 * np.finfo(float).eps, maxiter=500))


def reml_terms(tau2, yi, vi):
    """(Y'PPY, tr P, tr(PP)) at tau² with P = W - W 1 1' W / sum w, W = diag(1/(v_i + tau²)) (Viechtbauer 2005)."""
    w = 1.0 / (vi + tau2)
    sw, sw2 = np.sum(w), np.sum(w**2)
    mu = np.sum(w * yi) / sw
    ypPy = np.sum((w * (yi - mu)) ** 2)  # Y'PPY
    tr_p = sw - sw2 / sw
    tr_pp = sw2 - 2 * np.sum(w**3) / sw + (sw2 / sw) ** 2
    return ypPy, tr_p, tr_pp


def _reml_score(tau2, yi, vi) -> float:
    ypPy, tr_p, _ = reml_terms(tau2, yi, vi)
    return float(ypPy - tr_p)


def tau2_reml(yi, vi, tol: float, maxiter: int) -> tuple[float, bool, int]:
    """REML by Fisher scoring (Viechtbauer 2005; as metafor): tau² += (Y'PPY - tr P)/tr(PP), step halved to stay
    >= 0, starting from DL; converged when the change is <= tol * tau² (relative: any scale of data works). When
    two iterates bracket the root of the score (the iteration can oscillate slowly), Brent's method finishes it.
    tau² = 0 exactly when the score at 0 is <= 0 (the maximum is on the boundary)."""
    score = _reml_score(0.0, yi, vi)
    if score <= 0:
        return 0.0, True, 0
    tau2 = tau2_dl(yi, vi)[1]
    score = _reml_score(tau2, yi, vi)
    for it in range(1, maxiter + 1):
        adj = score / reml_terms(tau2, yi, vi)[2]
        while tau2 + adj < 0:
            adj /= 2.0
        new = tau2 + adj
        if abs(adj) <= tol * new:
            return float(new), True, it
        new_score = _reml_score(new, yi, vi)
        if new_score * score < 0:
            lo, hi = min(tau2, new), max(tau2, new)
            root = optimize.brentq(_reml_score, lo, hi, args=(yi, vi), xtol=tol * hi, maxiter=500)
            return float(root), True, it
        tau2, score = new, new_score
    return float(tau2), False, maxiter


def q_profile_ci(yi, vi, level) -> tuple[float, float]:
    """Q-profile CI (Viechtbauer 2007): tau² where Q(tau²) equals the chi²_{k-1} quantiles (1±level)/2."""
    df = len(yi) - 1
    lower = solve_q(stats.chi2.ppf((1 + level) / 2, df), yi, vi)
    upper = solve_q(stats.chi2.ppf((1 - level) / 2, df), yi, vi)
    return lower, upper

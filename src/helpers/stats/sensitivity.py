"""Sensitivity analyses: leave-one-out and cumulative meta-analysis (metafor's ``leave1out`` and ``cumul``).

Both refit :func:`helpers.stats.pooling.pool` on subsets of the studies, with the same ``pool`` arguments as the
main analysis, and return one row per subset.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.core import checks
from helpers.stats.pooling import PoolResult, pool
from helpers.core.results import ResultMixin, format_value

COLUMNS = ("estimate", "se", "z", "p", "ci_low", "ci_high", "tau2", "q", "df", "q_p", "i2", "h2",
           "pi_low", "pi_high", "converged")


@dataclass(frozen=True, repr=False)
class SensitivityResult(ResultMixin):
    """One :class:`PoolResult` per subset. ``kind`` "leave_one_out": ``studies[i]`` is the study omitted from
    ``fits[i]``; "cumulative": ``studies[i]`` is the study added in ``fits[i]`` (studies in the order added)."""

    kind: str
    tau2_method: str
    ci_method: str
    k: int
    studies: tuple[str, ...]
    fits: tuple[PoolResult, ...]
    warnings: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per fit, column ``omitted`` (leave-one-out) or ``added`` (cumulative), ``k``
        studies in the fit, then estimate, se, z, p, ci_low, ci_high, tau2, q, df, q_p, i2, h2, pi_low,
        pi_high, converged (analysis scale)."""
        col = "omitted" if self.kind == "leave_one_out" else "added"
        frame = pd.DataFrame({name: [getattr(f, name) for f in self.fits] for name in COLUMNS})
        frame.insert(0, "k", [f.k for f in self.fits])
        frame.insert(0, col, list(self.studies))
        return frame

    def summary(self) -> str:
        what = "Leave-one-out" if self.kind == "leave_one_out" else "Cumulative"
        est = [f.estimate for f in self.fits]
        head = (f"{what} meta-analysis of {self.k} studies (tau2 {self.tau2_method}, CI {self.ci_method}): "
                f"estimates from {format_value(min(est), 6)} to {format_value(max(est), 6)}")
        table = self.to_frame().iloc[:, :9].to_string(index=False)
        return "\n".join([head, table] + [f"warning: {w}" for w in self.warnings])


def _labels(labels, k: int) -> tuple[str, ...]:
    if labels is None:
        return tuple(f"Study {i + 1}" for i in range(k))
    return tuple(str(x) for x in labels)


def _run(kind: str, subsets, y, v, names, pool_kwargs) -> SensitivityResult:
    fits, notes = [], []
    for name, idx in zip(names, subsets):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # re-issued once below, prefixed with the subset
            fit = pool(y[idx], v[idx], **pool_kwargs)
        verb = "without" if kind == "leave_one_out" else "up to"
        notes += [f"{verb} {name}: {w}" for w in fit.warnings]
        fits.append(fit)
    for note in notes:
        warnings.warn(note, checks.MetaWarning, stacklevel=3)
    return SensitivityResult(kind=kind, tau2_method=fits[0].tau2_method, ci_method=fits[0].ci_method, k=y.size,
                             studies=tuple(names), fits=tuple(fits), warnings=tuple(notes))


def leave_one_out(yi, vi, labels=None, **pool_kwargs) -> SensitivityResult:
    """Leave-one-out meta-analysis (as metafor's ``leave1out``): for each study i, ``pool`` of the other k - 1
    studies with ``pool_kwargs`` (tau2_method, ci, pi, preset, level). Needs k >= 2; with k = 2 each fit is one study
    (heterogeneity NaN). Viechtbauer & Cheung, Res Synth Methods 2010;1:112."""
    y, v = checks.effect_arrays(yi, vi, labels=labels)
    k = y.size
    if k < 2:
        raise ValueError(f"leave_one_out needs at least 2 studies; got {k}")
    keep = ~np.eye(k, dtype=bool)  # row i: every study but i
    return _run("leave_one_out", keep, y, v, _labels(labels, k), pool_kwargs)


def cumulative(yi, vi, order=None, labels=None, **pool_kwargs) -> SensitivityResult:
    """Cumulative meta-analysis (as metafor's ``cumul``; Lau et al., NEJM 1992;327:248): studies are added
    one at a time in ascending ``order`` (one sort key per study, e.g. publication year; ties keep input order;
    None = input order) and ``pool`` (``pool_kwargs``) is refitted after each addition."""
    y, v = checks.effect_arrays(yi, vi, labels=labels)
    k = y.size
    if order is None:
        perm = np.arange(k)
    else:
        keys = np.asarray(order)
        if keys.shape != (k,):
            raise checks.InputError(f"order must give one sort key per study ({k}); got shape {keys.shape}")
        if keys.dtype.kind in "fc" and not np.all(np.isfinite(keys)):
            bad = int(np.flatnonzero(~np.isfinite(keys))[0])
            raise checks.InputError(f"order: {checks.describe_row(bad, labels)} has a non-finite sort key "
                                    f"{keys[bad]!r}")
        perm = np.argsort(keys, kind="stable")
    names = _labels(labels, k)
    subsets = [perm[: i + 1] for i in range(k)]
    return _run("cumulative", subsets, y, v, [names[i] for i in perm], pool_kwargs)

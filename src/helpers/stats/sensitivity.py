"""Sensitivity analyses: leave-one-out and cumulative meta-analysis (metafor's ``leave1out`` and ``cumul``), the
estimator x CI-method grid and the restricted subsets (Cochrane Handbook v6.4 section 10.14).

Leave-one-out and cumulative refit :func:`helpers.stats.pooling.pool` on subsets of the studies, with the same
``pool`` arguments as the main analysis, and return one row per subset. :func:`estimator_grid` pools one
analysis' study effects with every tau² estimator x CI method; :func:`restricted` pools the analysis' studies at
low overall risk of bias and its parallel-group trials (:func:`subset_rows`). A subset the data cannot form is
said so, with the reason, never shown as ``k = 0``: "low risk of bias only" needs an overall RoB judgement for
every study of the analysis, "parallel-group only" a recorded design (the real review's data rows carry neither
for most studies). ``k = 0`` is shown only when every study was judged and none qualifies.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.core import checks
from helpers.core.results import ResultMixin, format_value
from helpers.stats.effects import display_scale, usable_effects
from helpers.stats.pooling import PoolResult, pool

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


#: The restricted subsets of :func:`restricted`, in the order shown.
SUBSETS = ("all studies", "low risk of bias only", "parallel-group only")


def estimator_grid(rows: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Inverse-variance pooling of the study effects of ``rows`` (tidy rows of one analysis,
    :func:`helpers.stats.effects.usable_effects`) with every tau² estimator x CI method (``TAU2_METHODS`` x
    ``CI_METHODS``): one row each, columns ``estimator`` (the tau2_method), ``ci_method``, ``k``, ``estimate``,
    ``ci_low``, ``ci_high`` (display scale), ``tau2``, ``i2``."""
    es = usable_effects(rows, measure)
    records = []
    for tau2_method in checks.TAU2_METHODS:
        for ci in checks.CI_METHODS:
            res = pool(es["yi"], es["vi"], tau2_method=tau2_method, ci=ci, labels=es["study"])
            records.append({"estimator": tau2_method, "ci_method": ci, "k": res.k,
                            "estimate": float(display_scale(res.estimate, measure)),
                            "ci_low": float(display_scale(res.ci_low, measure)),
                            "ci_high": float(display_scale(res.ci_high, measure)), "tau2": res.tau2, "i2": res.i2})
    return pd.DataFrame.from_records(records)


def _unknown(rows: pd.DataFrame, values: pd.Series, what: str) -> str | None:
    """Why a subset selected on ``values`` (one per row) cannot be formed: the studies without a value."""
    missing = sorted(set(rows.loc[values.isna().to_numpy(), "study"].astype(str)))
    if not missing:
        return None
    studies = rows["study"].nunique()
    who = (f"any of its {studies} studies" if len(missing) == studies
           else f"{len(missing)} of its {studies} studies ({', '.join(missing)})")
    return f"cannot be formed: {what} is not in the data rows for {who}"


def subset_rows(studies: pd.DataFrame, rows: pd.DataFrame) -> dict[str, tuple[pd.DataFrame, str | None]]:
    """``SUBSETS`` of ``rows`` (one analysis), with the overall RoB judgements of ``studies``
    (``Dataset.studies``): name -> (rows in it, None) or (empty rows, why it cannot be formed)."""
    rob = rows["study"].map(studies.set_index("study")["rob_overall"])
    design = rows["design"] if "design" in rows else pd.Series(None, index=rows.index, dtype=object)
    out = {"all studies": (rows, None)}
    for name, values, what, keep in (
            ("low risk of bias only", rob, "the overall risk-of-bias judgement", rob == "Low"),
            ("parallel-group only", design, "the design (parallel or crossover)", design == "parallel")):
        reason = _unknown(rows, values, what)
        out[name] = (rows.iloc[0:0], reason) if reason else (rows[keep.to_numpy()], None)
    return out


def restricted(studies: pd.DataFrame, rows: pd.DataFrame, measure: str, tau2_method: str, ci_method: str,
               source: str = "") -> pd.DataFrame:
    """The pooled estimate (``tau2_method``, ``ci_method``; Wald for one study) of all ``rows``, of the studies at
    low overall risk of bias only and of the parallel-group trials only (:func:`subset_rows`): one row per
    subset, columns ``subset``, ``k``, ``note`` (why a subset cannot be formed, or that no study qualifies; warned,
    prefixed with analysis ``source``), ``estimate``, ``ci_low``, ``ci_high`` (display scale), ``i2``."""
    records = []
    for name, (sub, reason) in subset_rows(studies, rows).items():
        es = usable_effects(sub, measure) if len(sub) else sub
        rec = {"subset": name, "k": np.nan if reason else len(es), "note": reason or ""}
        if reason is None and len(es) >= 1:
            res = pool(es["yi"], es["vi"], tau2_method=tau2_method, ci=ci_method if len(es) > 1 else "z",
                       labels=es["study"])
            rec |= {"estimate": float(display_scale(res.estimate, measure)),
                    "ci_low": float(display_scale(res.ci_low, measure)),
                    "ci_high": float(display_scale(res.ci_high, measure)), "i2": res.i2}
        elif reason is None:
            rec["note"] = "no study of the analysis qualifies"
        if rec["note"]:
            warnings.warn(f"analysis {source}: subset '{name}' {rec['note']}", checks.MetaWarning, stacklevel=2)
        records.append(rec)
    return pd.DataFrame.from_records(records)


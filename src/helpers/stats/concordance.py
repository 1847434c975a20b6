"""Concordance: the package's published RevMan estimates against our recomputation.

For every analysis of a :class:`~helpers.data.dataset.Dataset`, :func:`concordance` re-runs
:func:`helpers.stats.meta.meta_analysis` with the analysis' own settings (effect measure, statistical method
MH/IV/Peto, analysis model, subgroups; random effects = DerSimonian-Laird as in RevMan) and compares, level
by level (overall, subgroup, study), the quantities RevMan prints: estimate and CI (display scale: ratios
for RR/OR), study and subgroup weight (%), heterogeneity Chi², df, P, I², tau², the test of the overall effect
Z and P, and the test for subgroup differences. RevMan prints |Z|, so Z is compared in absolute value.

Tolerance (``tol=None``): half a unit in the last printed digit of the published value, i.e.
``0.5 * 10**exponent`` of its shortest decimal representation (``0.896866`` -> 5e-7). Trailing zeros are lost
when the CSV is parsed, so a value printed as ``0.9570`` is checked at 5e-4 rather than 5e-5: the tolerance is
never tighter than the printed precision, and at most ten times looser. ``tol=<float>`` uses one absolute
tolerance for every quantity instead.

Status per compared quantity: ``ok`` (within tolerance), ``mismatch``, ``not published`` (RevMan did not compute
it: all-zero estimates in the package, or a value RevMan leaves empty, e.g. tau² of a fixed-effect analysis) or
``not recomputed`` (published but our analysis has no such value, e.g. a study we excluded) - the last counts
as a failure in ``all_ok``.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from helpers.data.dataset import Dataset, iter_analyses
from helpers.stats.meta import meta_analysis

QUANTITIES = ("estimate", "ci_low", "ci_high", "weight", "tau2", "q", "df", "q_p", "i2", "z", "p",
              "subgroup_q", "subgroup_df", "subgroup_p", "subgroup_i2")  # fmt: skip
STATUSES = ("ok", "mismatch", "not published", "not recomputed")
COLUMNS = ("level", "analysis_id", "subgroup", "study", "quantity", "published", "recomputed", "abs_diff", "tol",
           "within_tol", "status")  # fmt: skip


def printed_tolerance(value: float) -> float:
    """Half a unit in the last digit of the shortest decimal representation of ``value``."""
    if not np.isfinite(value):
        return np.nan
    exponent = Decimal(repr(float(value))).normalize().as_tuple().exponent
    return 0.5 * 10.0 ** min(int(exponent), 0) if isinstance(exponent, int) else np.nan


def _pool_values(ma, res, scale: bool) -> dict:
    """Published-comparable values of a PoolResult (display scale, |Z|)."""
    disp = ma.display if scale else (lambda x: x)
    return {"estimate": float(disp(res.estimate)), "ci_low": float(disp(res.ci_low)),
            "ci_high": float(disp(res.ci_high)), "tau2": res.tau2, "q": res.q, "df": res.df, "q_p": res.q_p,
            "i2": res.i2, "z": abs(res.z), "p": res.p}  # fmt: skip


def _recompute(settings, rows: pd.DataFrame) -> dict:
    """{(level, subgroup, study): {quantity: value}} for one analysis."""
    has_sg = rows["subgroup"].notna().any()
    ma = meta_analysis(
        rows, measure=settings["measure"], method=settings["method"], model=settings["model"],
        tau2_method="DL", subgroup="subgroup" if has_sg else None, study="study",
    )  # fmt: skip
    out = {}
    overall = _pool_values(ma, ma.overall, True)
    if ma.subgroup_test is not None:
        t = ma.subgroup_test
        overall.update(subgroup_q=t.q, subgroup_df=t.df, subgroup_p=t.p, subgroup_i2=t.i2)
    out[("overall", None, None)] = overall
    st = ma.studies
    for name, res in ma.subgroups:
        vals = _pool_values(ma, res, True)
        vals["weight"] = ma.subgroup_weight(name)
        out[("subgroup", name, None)] = vals
    for rec in st.itertuples(index=False):
        sg = rec.subgroup if has_sg else None
        out[("study", sg, rec.study)] = {"estimate": rec.estimate, "ci_low": rec.ci_low, "ci_high": rec.ci_high,
                                         "weight": rec.weight}  # fmt: skip
    return out


def concordance(dataset: Dataset, tol: float | None = None) -> pd.DataFrame:
    """Published versus recomputed, one row per (level, analysis, subgroup, study, quantity); see module doc."""
    if tol is not None and not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be None (printed precision) or a finite number >= 0; got {tol!r}")
    pub = dataset.published
    records = []
    for aid, settings, rows in iter_analyses(dataset):
        recomputed = _recompute(settings, rows)
        for rec in pub[pub["analysis_id"] == aid].itertuples(index=False):
            sg = rec.subgroup if isinstance(rec.subgroup, str) else None
            study = rec.study if isinstance(rec.study, str) else None
            ours = recomputed.get((rec.level, sg, study), {})
            for q in QUANTITIES:
                published = getattr(rec, q)
                mine = ours.get(q, np.nan)
                mine = np.nan if mine is None else float(mine)
                if pd.isna(published) and q not in ours:
                    continue  # a quantity neither side has at this level
                t = printed_tolerance(published) if tol is None else tol
                diff = abs(published - mine) if not (pd.isna(published) or pd.isna(mine)) else np.nan
                if pd.isna(published):
                    status = "not published"
                elif pd.isna(mine):
                    status = "not recomputed"
                else:
                    status = "ok" if diff <= t else "mismatch"
                records.append((rec.level, aid, sg, study, q, published, mine, diff, t, status == "ok", status))
    return pd.DataFrame.from_records(records, columns=list(COLUMNS))


def all_ok(table: pd.DataFrame) -> bool:
    """True when nothing published is a mismatch or missing from the recomputation."""
    return not table["status"].isin(("mismatch", "not recomputed")).any()

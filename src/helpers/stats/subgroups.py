"""Test for subgroup differences, as RevMan reports it.

With J subgroup estimates theta_j (each from its own fixed- or random-effects analysis) and their standard errors
se_j: w_j = 1/se_j², theta_bar = sum(w_j theta_j)/sum(w_j), Q = sum w_j (theta_j - theta_bar)² ("Chi²"),
df = J - 1, p from chi²_df, I² = max(0, (Q - df)/Q) in percent. The same formula serves fixed- and
random-effects analyses; only the subgroup estimates differ (Borenstein & Higgins 2013, Prev Sci 14:134;
Cochrane Handbook section 10.11.3.1; RevMan 5 "Statistical methods", Deeks & Higgins 2010).
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats

from helpers.core.checks import MODELS, InputError, as_float_array, check_choice, check_positive, check_same_length
from helpers.stats.tau2 import cochran_q
from helpers.core.results import ResultMixin


@dataclass(frozen=True, repr=False)
class SubgroupTest(ResultMixin):
    """Chi² test for differences between subgroup estimates: q (RevMan's Chi²), df, p, i2 (percent), model
    (the analysis model the subgroup estimates came from)."""

    q: float
    df: int
    p: float
    i2: float
    model: str

    def summary(self) -> str:
        """RevMan's line: ``Test for subgroup differences: Chi² = 1.23, df = 2 (P = 0.54), I² = 0%``."""
        return (f"Test for subgroup differences ({self.model} effect): Chi² = {self.q:.2f}, df = {self.df} "
                f"(P = {self.p:.2g}), I² = {self.i2:.1f}%")


def subgroup_test(estimates, ses, model: str = "fixed", *, labels=None) -> SubgroupTest:
    """Chi² test of J >= 2 subgroup estimates (analysis scale) with standard errors ``ses``.

    w_j = 1/se_j², theta_bar = sum(w_j theta_j)/sum(w_j), Q = sum w_j (theta_j - theta_bar)², df = J - 1,
    I² = max(0, (Q - df)/Q) x 100 (Borenstein & Higgins 2013, Prev Sci 14:134; Cochrane Handbook 10.11.3.1)."""
    check_choice("model", model, MODELS)
    est = as_float_array("estimates", estimates, labels=labels)
    se = as_float_array("ses", ses, labels=labels)
    j = check_same_length({"estimates": est, "ses": se}, labels=labels)
    check_positive("ses", se, labels=labels)
    if j < 2:
        raise InputError(f"a test for subgroup differences needs at least 2 subgroups; got {j}")
    q = cochran_q(est, se**2)
    df = j - 1
    i2 = 0.0 if q <= df else 100.0 * (q - df) / q
    return SubgroupTest(q=q, df=df, p=float(stats.chi2.sf(q, df)), i2=i2, model=model)

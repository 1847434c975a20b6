"""Everything a funnel plot shows, computed before it is drawn (as metafor's ``funnel(trimfill(fit))``).

:func:`small_study_effects` takes study effects ``yi`` and sampling variances ``vi`` on the analysis scale (log for
RR and OR) and returns a :class:`SmallStudyEffects`: the inverse-variance fixed-effect estimate (the centre of the
pseudo 95% limits ``theta_FE ± 1.96 se``), Egger's regression test (:func:`helpers.stats.bias.egger`; Egger et al.
1997, BMJ 315:629) and Duval & Tweedie's trim and fill (:func:`helpers.stats.bias.trim_and_fill`; Duval & Tweedie
2000, Biometrics 56:455). Both need ``bias.MIN_K`` studies; below that they are skipped with a recorded warning.
:func:`helpers.figures.funnel.funnel_plot` draws the result.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from helpers.core import checks
from helpers.core.results import ResultMixin
from helpers.stats import bias
from helpers.stats.pooling import PoolResult, pool


@dataclass(frozen=True, repr=False)
class SmallStudyEffects(ResultMixin):
    """Studies (``yi``, ``vi``, ``labels``), the fixed-effect fit, Egger's test and trim and fill (None when not
    asked for or k < ``bias.MIN_K``), and ``notes``: every warning raised while computing them."""

    measure: str
    k: int
    yi: np.ndarray = field(compare=False)
    vi: np.ndarray = field(compare=False)
    labels: tuple | None
    fixed_effect: PoolResult
    egger: bias.EggerResult | None
    trim_fill: bias.TrimFillResult | None
    notes: tuple[str, ...] = ()

    @property
    def log_scale(self) -> bool:
        """Ratio measures (RR, OR) are analysed and drawn on the log scale."""
        return self.measure in checks.RATIO_MEASURES


def small_study_effects(yi, vi, *, measure: str, labels=None, egger: bool = True, trim_fill: bool = True,
                        tau2_method: str = "REML") -> SmallStudyEffects:
    """Fixed-effect estimate, Egger's test and trim and fill of ``yi``/``vi`` for a funnel plot.

    ``measure`` is one of ``helpers.core.checks.MEASURES``. The fixed effect is ``pool(yi, vi, tau2_method="FE")``
    (mu = sum(y_i/v_i)/sum(1/v_i)). With ``egger``/``trim_fill`` False that part is not computed. k < ``bias.MIN_K``:
    both are skipped with a :class:`helpers.core.checks.MetaWarning`, recorded in ``notes``; trim and fill's own
    warnings are recorded there too. ``tau2_method``: the tau² estimator of trim and fill's pooled fits (one of
    ``TAU2_METHODS``), the same one the view's tables use.
    """
    checks.check_choice("measure", measure, checks.MEASURES)
    checks.check_choice("tau2_method", tau2_method, checks.TAU2_METHODS)
    y, v = checks.effect_arrays(yi, vi, labels=labels)
    k = y.size
    fe = pool(y, v, tau2_method="FE")
    notes: list[str] = []
    egger_res = trim_res = None
    if (egger or trim_fill) and k < bias.MIN_K:
        msg = f"Egger's test and trim and fill need at least {bias.MIN_K} studies; k = {k}: not drawn"
        warnings.warn(msg, checks.MetaWarning, stacklevel=2)
        notes.append(msg)
    else:
        if egger:
            egger_res = bias.egger(y, v, labels=labels)
        if trim_fill:
            trim_res = bias.trim_and_fill(y, v, tau2_method=tau2_method, labels=labels)
            notes += list(trim_res.warnings)
    return SmallStudyEffects(measure, k, y, v, None if labels is None else tuple(labels), fe, egger_res, trim_res,
                             tuple(notes))

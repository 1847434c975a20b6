"""Conventions of the two reference tools, as explicit presets.

``REVMAN`` (the default everywhere) follows RevMan / the Cochrane Handbook (Deeks, Higgins & Altman, ch. 10;
RevMan 5 "Statistical methods" by Deeks & Higgins). ``METAFOR`` reproduces the defaults of R metafor
(Viechtbauer 2010, J Stat Softw 36(3); ``escalc(add=1/2, to="only0", drop00=FALSE, vtype="LS")``,
``rma.mh(add=c(1/2, 0), to=c("only0", "none"))``, ``rma.uni`` I² from tau², ``predict`` with a normal quantile).
Presets are passed as arguments (``preset=REVMAN``), never set globally. docs/conventions.md lists the differences.
"""

from __future__ import annotations

from dataclasses import dataclass

from helpers.core.checks import PI_METHODS, check_choice
from helpers.core.results import ResultMixin

I2_SOURCES = ("q", "tau2")
SMD_CORRECTIONS = ("approximate", "exact")
MH_RD_VARIANCES = ("greenland-robins", "sato")


@dataclass(frozen=True, repr=False)
class Preset(ResultMixin):
    """How to compute study effects and heterogeneity statistics.

    name: label shown in results.
    cc_add: continuity correction added to every cell of a 2x2 table that has a zero cell (``to="only0"``).
    drop_double_zero: exclude studies with no events in either arm from RR and OR (RevMan: True; metafor
        escalc ``drop00=FALSE``: False, the study enters with the correction). Always kept for RD.
    mh_correction: also use the corrected cells in the Mantel-Haenszel sums (RevMan: True; metafor rma.mh: False).
    smd_correction: Hedges' small-sample factor J for the SMD: ``"approximate"`` J = 1 - 3/(4N - 9) with
        RevMan's variance N/(n_e n_c) + g²/(2(N - 3.94)); ``"exact"`` J = Γ(m/2)/(√(m/2) Γ((m-1)/2)), m = N - 2,
        with metafor's large-sample variance 1/n_e + 1/n_c + g²/(2N).
    i2_from: ``"q"`` I² = (Q - df)/Q (Higgins & Thompson 2002; RevMan) or ``"tau2"`` I² = τ²/(τ² + s²) with the
        typical within-study variance s² (metafor, random-effects models).
    pi_method: prediction interval with ``"t"`` (k - 2 df; Higgins, Thompson & Spiegelhalter 2009; Handbook) or
        ``"z"`` (normal quantile; metafor ``predict``). Used when a function is called with ``pi=None``.
    mh_rd_variance: variance of the MH risk difference, ``"greenland-robins"`` (1985; RevMan) or ``"sato"``
        (Sato, Greenland & Robins 1989; metafor ``rma.mh``).
    raw_zero_cell_estimate: RevMan's rule for tables with a zero cell whose effect is finite without the
        correction: the RD (and, when every participant has the event in both arms, the RR = 1) is taken from
        the raw counts, the correction enters the variance only, and the MH RD sums use the raw counts
        (2/38 vs 0/39: RD 0.052632 [-0.031599, 0.136862]; 28/28 vs 29/29: RR 1 [0.935159, 1.06934]). False:
        the corrected cells give the estimate too (metafor ``escalc``).
    drop_all_events: an odds ratio of a study where every participant has the event in both arms is not
        estimable and the study is left out (RevMan: True, e.g. 9/9 vs 9/9); False: it enters with the
        correction (metafor).
    """

    name: str
    cc_add: float
    drop_double_zero: bool
    mh_correction: bool
    smd_correction: str
    i2_from: str
    pi_method: str
    mh_rd_variance: str = "greenland-robins"
    raw_zero_cell_estimate: bool = False
    drop_all_events: bool = False

    def __post_init__(self):
        check_choice("smd_correction", self.smd_correction, SMD_CORRECTIONS)
        check_choice("i2_from", self.i2_from, I2_SOURCES)
        check_choice("pi_method", self.pi_method, PI_METHODS)
        check_choice("mh_rd_variance", self.mh_rd_variance, MH_RD_VARIANCES)
        if not self.cc_add >= 0:
            raise ValueError(f"cc_add must be >= 0; got {self.cc_add!r}")


REVMAN = Preset(name="revman", cc_add=0.5, drop_double_zero=True, mh_correction=True,
                smd_correction="approximate", i2_from="q", pi_method="t", raw_zero_cell_estimate=True,
                drop_all_events=True)
METAFOR = Preset(name="metafor", cc_add=0.5, drop_double_zero=False, mh_correction=False,
                 smd_correction="exact", i2_from="tau2", pi_method="z", mh_rd_variance="sato")
PRESETS = {"revman": REVMAN, "metafor": METAFOR}

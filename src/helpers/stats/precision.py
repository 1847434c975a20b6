"""Imprecision for the GRADE assist (:mod:`helpers.stats.certainty`): decision thresholds, the optimal
information size (OIS) and the imprecision rule.

Thresholds (analysis scale; GRADE guidance 6, Guyatt et al. 2011, J Clin Epidemiol 64:1283): ratio measures
RR/OR ``RATIO_LOW`` = 0.75 and ``RATIO_HIGH`` = 1.25 ("we suggest an RR of under 0.75 or over 1.25 as a rough
guide"); MD ±MID, the outcome's minimal important difference from the review map's ``certainty:`` section
(none known: the null alone); SMD ±``SMD_MID`` = 0.5 unless the map gives one (GRADE handbook, Schünemann et al.
2013, 5.2.6: "if the MID is not known or the use of different outcome measures required calculation of an effect
size, we suggest downgrading if the upper or lower CI crosses an effect size of 0.5 in either direction", as
quoted in the KCE process book 5.5.1.2). RD: the null alone unless a threshold is passed.

Rule (GRADE 6; Core GRADE 2, Guyatt et al. 2025, BMJ 389:e081904; GRADE guidance 34, Zeng et al. 2022, J Clin
Epidemiol 150:216): the CI reaching below the lower and above the upper threshold (appreciable benefit and
appreciable harm) -> very serious; the CI crossing the null or one threshold -> serious; otherwise no concern.
Then the OIS: fewer participants than the OIS -> at least serious (GRADE 6: "If the 95% CI excludes a relative
risk of 1.0, and the total number of events or patients exceeds the OIS criterion, precision is adequate").
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, stats

from helpers.core.checks import RATIO_MEASURES
from helpers.stats.effects import display_scale

RATIO_LOW, RATIO_HIGH = 0.75, 1.25  # GRADE 6's rough guide for appreciable benefit or harm
SMD_MID = 0.5  # GRADE handbook 5.2.6 when no MID is known
OIS_RRR = 0.25  # relative risk reduction for the OIS (GRADE 6; Core GRADE: "typically 20% or 25%")
OIS_ALPHA, OIS_POWER = 0.05, 0.80  # GRADE 6: alpha 0.05, beta 0.20


def thresholds(measure: str, mid: float | None) -> tuple[float, float] | None:
    """``(lower, upper)`` decision thresholds on the analysis scale, or None when none is known."""
    if measure in RATIO_MEASURES:
        return float(np.log(RATIO_LOW)), float(np.log(RATIO_HIGH))
    if measure == "SMD" and mid is None:
        mid = SMD_MID
    return None if mid is None else (-float(mid), float(mid))


def threshold_words(measure: str, t: tuple[float, float]) -> str:
    """``±10`` for differences, ``0.75/1.25`` for ratios (display scale)."""
    if measure in RATIO_MEASURES:
        return f"{display_scale(t[0], measure):.2f}/{display_scale(t[1], measure):.2f}"
    return f"±{t[1]:g}"


def shown(measure: str, x: float) -> str:
    """A value of the analysis scale on the display scale, two decimals."""
    return f"{display_scale(x, measure):.2f}"


def optimal_information_size(control_risk: float, rrr: float = OIS_RRR, alpha: float = OIS_ALPHA,
                             power: float = OIS_POWER) -> float:
    """Participants (both arms) of one trial powered to detect a relative risk reduction ``rrr`` from
    ``control_risk`` (GRADE 6: "the number of patients required for an adequately powered individual trial").

    Per arm n = [z_(1-a/2) sqrt((p1+p2)(q1+q2)/2) + z_(1-b) sqrt(p1 q1 + p2 q2)]² / (p1 - p2)², p2 = p1 (1 - rrr)
    (Fleiss, no continuity correction; R's ``power.prop.test``, which solves the same equation); total 2n.
    """
    p1 = float(control_risk)
    if not 0 < p1 < 1:
        raise ValueError(f"control_risk must be strictly between 0 and 1; got {control_risk!r}")
    p2 = p1 * (1 - rrr)
    za, zb = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    n = (za * math.sqrt((p1 + p2) * (2 - p1 - p2) / 2) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 \
        / (p1 - p2) ** 2
    return 2 * n


def optimal_information_size_continuous(mid: float, sd: float, alpha: float = OIS_ALPHA,
                                        power: float = OIS_POWER) -> float:
    """Participants (both arms) of one two-sample t-test trial powered to detect a difference ``mid`` with
    standard deviation ``sd`` (GRADE 6: for continuous outcomes "calculating an OIS"): per arm n solves
    P(T' > t_(1-a/2, 2n-2)) = power with T' non-central t, ncp = sqrt(n/2) mid/sd (R's ``power.t.test``)."""
    if not (mid > 0 and sd > 0):
        raise ValueError(f"mid and sd must be positive; got mid={mid!r}, sd={sd!r}")

    def gap(n):
        df = 2 * (n - 1)
        return stats.nct.sf(stats.t.isf(alpha / 2, df), df, math.sqrt(n / 2) * mid / sd) - power

    return 2 * optimize.brentq(gap, 2, 1e9, xtol=1e-10)


def participants(rows) -> float:
    """Participants of ``rows`` (data rows or a meta-analysis' ``studies``): the sum of both arms' sizes
    ``n_e + n_c``; NaN (not in the data) when a row lacks either arm's size, as generic inverse variance rows
    mostly do (RevMan asks for no arm size there): a sum over the rows that carry them would undercount."""
    n = rows[["n_e", "n_c"]].to_numpy(float) if {"n_e", "n_c"} <= set(rows.columns) else np.full((len(rows), 1), np.nan)
    return float(n.sum()) if len(n) and not np.isnan(n).any() else float("nan")


def _ois(ma, mid: float | None) -> tuple[float | None, str]:
    """The OIS of ``ma`` and how it was computed, or None and why not."""
    st = ma.studies.dropna(subset=["weight"])
    if "events_c" in st and st["events_c"].notna().any() and ma.measure in ("RR", "OR", "RD"):
        risk = float(np.nansum(st["events_c"]) / np.nansum(st["n_c"]))
        if not 0 < risk < 1:
            return None, f"OIS not computable (control risk {risk:.0%})"
        return optimal_information_size(risk), f"control risk {risk:.1%}, RRR {OIS_RRR:.0%}"
    if ma.measure == "SMD":
        return optimal_information_size_continuous(mid if mid is not None else SMD_MID, 1.0), "SD units"
    if ma.measure == "MD" and mid is not None and {"sd_e", "sd_c"} <= set(st.columns) and st["sd_c"].notna().any():
        n = np.concatenate([st["n_e"], st["n_c"]]).astype(float)
        sd = np.concatenate([st["sd_e"], st["sd_c"]]).astype(float)
        ok = ~np.isnan(n) & ~np.isnan(sd)
        pooled = float(math.sqrt(np.sum((n[ok] - 1) * sd[ok] ** 2) / np.sum(n[ok] - 1)))
        return optimal_information_size_continuous(mid, pooled), f"MID {mid:g}, pooled SD {pooled:.1f}"
    return None, "OIS not computed (no MID or no arm data)"


def ci_rating(measure: str, lo: float, hi: float, t: tuple[float, float] | None) -> tuple[str, str]:
    """``(rating, words)`` for a CI ``lo``-``hi`` (analysis scale) against the null and thresholds ``t``: beyond
    both thresholds -> very serious; crossing the null or one threshold -> serious; else no concern."""
    ci = f"95% CI {shown(measure, lo)} to {shown(measure, hi)}"
    crosses_null = bool(lo < 0 < hi)
    null = f"{'includes' if crosses_null else 'excludes'} the null"
    if t is None:
        return ("serious" if crosses_null else "no concern"), f"{ci} {null}; no MID for this outcome (null only)"
    both = bool(lo < t[0] and hi > t[1])
    one = bool(lo < t[0] < hi or lo < t[1] < hi)
    rating = "very serious" if both else ("serious" if crosses_null or one else "no concern")
    where = "reaches beyond both thresholds" if both else ("crosses a threshold" if one else "crosses no threshold")
    return rating, f"{ci} {null} and {where} {threshold_words(measure, t)}"


def imprecision_rating(ma, t: tuple[float, float] | None, mid: float | None = None) -> tuple[str, str]:
    """``(rating, reason)``: :func:`ci_rating` of the pooled CI of ``ma``, then at least serious when fewer
    participants entered than the OIS (see the module docstring)."""
    rating, words = ci_rating(ma.measure, ma.overall.ci_low, ma.overall.ci_high, t)
    ois, how = _ois(ma, mid)
    n = participants(ma.studies.dropna(subset=["weight"]))
    if math.isnan(n):
        return rating, f"{words}; participants not in the data (rows without arm sizes): OIS not judged"
    if ois is None:
        return rating, f"{words}; {n:.0f} participants; {how}"
    met = n >= ois
    words += f"; {n:.0f} participants {'>=' if met else '<'} OIS {math.ceil(ois)} ({how})"
    if not met and rating == "no concern":
        rating = "serious"
    return rating, words

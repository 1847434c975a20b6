"""The explorer's plain-language reading of a pooled result: words for the tidy codes, the effect in display
units, events per 100 and the one-paragraph reading with its caveats (:func:`plain_language`)."""

from __future__ import annotations

import numpy as np

from helpers.core.checks import RATIO_MEASURES, check_choice
from helpers.figures.forest_text import estimate_text

#: Minimal important differences on the analysis scale. MD: 10 points on a 0-100 pain scale
#: (Dworkin et al. 2008, *J Pain* 9:105, IMMPACT; Cochrane PaPaS convention); SMD: 0.5 SD
#: (Norman, Sloan & Wyrwich 2003, *Med Care* 41:582).
MID = {"MD": 10.0, "SMD": 0.5}
MID_WORDS = {"MD": "10 points on a 0-100 pain scale", "SMD": "0.5 standard deviations"}
#: Fewer studies than this draws a caveat (random-effects tau² is poorly estimated; Cochrane Handbook 10.10.4).
FEW_STUDIES = 5
#: I² above this draws a heterogeneity caveat (Cochrane Handbook 10.10.2: 50-90% "may represent substantial").
I2_SUBSTANTIAL = 50.0

OUTCOME_WORDS = {
    "pain_intensity": "pain intensity",
    "any_adverse_event": "any adverse event",
    "psychotomimetic": "psychotomimetic adverse events (e.g. hallucinations, dissociation)",
    "nausea": "nausea",
    "vomiting": "vomiting",
    "withdrawal_ae": "withdrawal because of adverse events",
}
TIMEPOINT_WORDS = {"immediate": "immediately after treatment", "short": "at short-term follow-up",
                   "medium": "at medium-term follow-up", "long": "at long-term follow-up", "any": "at any time"}
ESTIMATOR_WORDS = {"FE": "fixed effect", "DL": "random effects, DerSimonian-Laird",
                   "REML": "random effects, REML", "PM": "random effects, Paule-Mandel"}
CI_WORDS = {"z": "Wald CI", "hksj": "Hartung-Knapp-Sidik-Jonkman CI"}


def per_100(measure: str, value: float, risk: float) -> float:
    """Extra events per 100 treated for an effect ``value`` (analysis scale) at control risk ``risk``.

    RR: 100 r (RR - 1); OR: 100 (OR r / (1 - r + OR r) - r); RD: 100 RD
    (Cochrane Handbook v6.4, 14.1.5.1; Deeks 2002, *Stat Med* 21:1575).
    """
    check_choice("measure", measure, ("RR", "OR", "RD"))
    if measure == "RD":
        return 100.0 * value
    if not 0 <= risk <= 1:
        raise ValueError(f"control risk must be between 0 and 1; got {risk!r}")
    ratio = float(np.exp(value))
    treated = risk * ratio if measure == "RR" else ratio * risk / (1 - risk + ratio * risk)
    return 100.0 * (treated - risk)


def per_100_text(x: float) -> str:
    """Events per 100 to two significant figures, no exponent: 12.3 -> "12", 0.456 -> "0.46", -4 -> "-4"."""
    return f"{float(f'{x:.2g}'):g}"


def format_effect(measure: str, estimate: float, ci_low: float, ci_high: float) -> str:
    """``"MD -15.79 [-32.09, 0.51]"``, as RevMan prints a pooled result: the estimate and its 95% CI on the display
    scale (ratios back-transformed), two decimals rounded half up (:func:`helpers.figures.forest_text.estimate_text`)."""
    scale = np.exp if measure in RATIO_MEASURES else float
    return f"{measure} {estimate_text(*(float(scale(x)) for x in (estimate, ci_low, ci_high)))}"


def result_lines(result, published: str) -> tuple[str, ...]:
    """The lines under a pooled result, in order: what the review printed for it (``published``, from
    :func:`helpers.explore.review.published_line`) and the settings it was pooled with. This is the place for any
    further line about the current selection (e.g. its certainty of evidence): the explorer shows every line
    returned here, in order, under the pooled number."""
    lines = [published] if published else []
    if result.settings:
        lines.append(f"settings: {result.settings}")
    return tuple(lines)


def _size_sentence(measure, estimate, ci_low, ci_high, outcome, drug, risk, name="") -> str:
    if measure in ("MD", "SMD"):
        unit = "points" if measure == "MD" else "standard deviations"
        digits = 1 if measure == "MD" else 2
        word = "lower" if estimate < 0 else "higher"
        what = "pain" if outcome == "pain_intensity" else OUTCOME_WORDS.get(outcome, outcome) or name
        if not outcome and measure == "MD":  # an outcome the data do not name: its units, no pain yardstick
            return (f"On average {what} was {abs(estimate):.{digits}f} {word} with {drug} than with control, in "
                    "the outcome's own units; the data give no minimal important difference to judge its size by.")
        text = f"On average {what} was {abs(estimate):.{digits}f} {unit} {word} with {drug} than with control"
        mid = MID[measure]
        if abs(estimate) >= mid:
            text += f", at least the minimal important difference of {MID_WORDS[measure]}."
        else:
            text += (f", less than the minimal important difference of {MID_WORDS[measure]}: "
                     "most patients would probably not notice a difference this small.")
        if ci_low < -mid < ci_high or ci_low < mid < ci_high:
            text += " The confidence interval includes both unimportant and important effects."
        return text
    what = OUTCOME_WORDS.get(outcome, outcome) or name
    if measure != "RD" and not (np.isfinite(risk) and risk > 0):
        why = "No control-group events" if risk == 0 else "No control-group risk is available"
        return f"{why}, so {what} cannot be expressed per 100 people from the {measure}."
    d, lo, hi = (per_100(measure, x, risk) for x in (estimate, ci_low, ci_high))
    word = "more" if d > 0 else "fewer"
    signed = [("+" if x > 0 else "") + per_100_text(x) for x in (lo, hi)]
    text = (f"For {what}, that is about {per_100_text(abs(d))} {word} people per 100 with {drug} "
            f"(95% CI {signed[0]} to {signed[1]} per 100)")
    if measure != "RD":
        text += f", if {per_100_text(100 * risk)} in 100 have it with control"
    return text + "."


def plain_language(*, measure: str, estimate: float, ci_low: float, ci_high: float, k: int, i2: float,
                   outcome: str, drug: str, route: str, timepoint: str, tau2_method: str, ci: str,
                   participants: int | None = None, control_risk: float = float("nan"), n_high_rob: int = 0,
                   synthetic: bool = False, analysis_name: str = "") -> str:
    """One paragraph for a student: what was found, how big it is against a yardstick, and why to be careful.

    Size: MD/SMD against :data:`MID`; RR/OR/RD as events per 100 at the control risk (:func:`per_100`).
    Caveats (Cochrane Handbook v6.4 ch. 14, GRADE): fewer than :data:`FEW_STUDIES` studies; 95% CI containing
    no effect; I² > :data:`I2_SUBSTANTIAL`%; studies at high risk of bias; synthetic data.
    All effect arguments are on the analysis scale (log for RR and OR). Data not mapped to drug, route, outcome
    and time point (the generic mode: ``outcome`` empty) are read by ``analysis_name``, the intervention against
    control as the review's analysis compares them, and an MD is not judged against the pain yardstick.
    """
    people = f", {participants} participants" if participants is not None else ""
    if outcome:
        what = (f"{drug} ({route}) compared with control, {OUTCOME_WORDS.get(outcome, outcome)} "
                f"{TIMEPOINT_WORDS.get(timepoint, timepoint)}")
    else:
        what = f"{analysis_name or 'this analysis'}, {drug} compared with control"
    head = (f"{k} {'study' if k == 1 else 'studies'}{people}: {what}, "
            f"{format_effect(measure, estimate, ci_low, ci_high)} (95% CI in brackets); {ESTIMATOR_WORDS[tau2_method]}, "
            f"{CI_WORDS[ci]}.")
    size = _size_sentence(measure, estimate, ci_low, ci_high, outcome, drug, control_risk, analysis_name)
    crosses = ci_low <= 0 <= ci_high
    caveats = []
    if synthetic:
        caveats.append("SYNTHETIC DATA - these are made-up studies, not evidence")
    if k < FEW_STUDIES:
        caveats.append("a single study" if k == 1 else f"only {k} studies")
    if crosses:
        caveats.append("the 95% CI includes no effect, so no difference is also compatible with the data")
    if np.isfinite(i2) and i2 > I2_SUBSTANTIAL:
        caveats.append(f"substantial heterogeneity (I² = {i2:.0f}%): the studies disagree")
    if n_high_rob:
        caveats.append(f"{n_high_rob} of {k} studies at high risk of bias")
    tail = ("Reasons for caution: " + "; ".join(caveats) + "." if caveats
            else "None of these simple checks raised a caveat; certainty still needs a full GRADE assessment.")
    return " ".join((head, size, tail))

"""Every change explained against the review: how and why the current result differs from the review's own.

:func:`explain` walks from the review's analysis (its own settings, every study) to the user's choice one change
at a time, and computes each step: first the studies (left out, or removed by a risk-of-bias filter), then the
model / tau² estimator, then the CI method. Each step is a pooled result of its own, so each sentence gives the
numbers that step changed and the reason in words (weights 1/(vi + tau²); HKSJ's t quantile on k - 1 df and its
rescaled standard error; the removed studies' own estimates and weights). A last sentence sets the result
against the review's (estimate, interval width, whether the interval still includes no effect).

References: DerSimonian & Laird 1986 (Control Clin Trials 7:177); Viechtbauer 2005 (J Educ Behav Stat 30:261)
for REML and Paule-Mandel; Hartung & Knapp 2001 (Stat Med 20:3875) and Sidik & Jonkman 2002 (Stat Med 21:3153)
for HKSJ; Cochrane Handbook v6.4, 10.10.4.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import stats

from helpers.explore.review import TAU2_WORDS
from helpers.explore.selection import LEFT_OUT, ROB_LABELS, Exploration, Selection, explore
from helpers.figures.forest_text import estimate_text, fmt

ESTIMATOR_NAMES = {"FE": "the fixed-effect model", **{k: f"the {v} estimator" for k, v in TAU2_WORDS.items()}}


def _width(result: Exploration) -> float:
    """Width of the interval on the display scale (ratios: the ratio of the limits)."""
    if result.meta.log_scale:
        return float(np.exp(result.ci_high - result.ci_low))
    return result.ci_high - result.ci_low


def _width_words(before: Exploration, after: Exploration) -> str:
    if before.meta.log_scale:
        return (f"its upper limit is {fmt(_width(after), 2)} times its lower limit (was {fmt(_width(before), 2)})")
    return f"{fmt(_width(after), 2)} wide instead of {fmt(_width(before), 2)}"


def _studies_step(review: Exploration, now: Exploration) -> list[str]:
    removed = [(s, why) for s, why in now.excluded]
    if not removed:
        return []
    studies = review.meta.studies.set_index("study")
    parts = []
    for study, why in removed:
        if study in studies.index:
            row = studies.loc[study]
            own = estimate_text(row["estimate"], row["ci_low"], row["ci_high"])
            parts.append(f"{study} ({why}; weight {fmt(row['weight'], 1)}% in the review's analysis, its own "
                         f"{review.measure} {own})")
        else:
            parts.append(f"{study} ({why}; not pooled in the review's analysis)")
    ma0, ma1 = review.meta, now.meta
    pooled0, pooled1 = float(ma0.display(review.estimate)), float(ma1.display(now.estimate))
    moved = pooled1 - pooled0
    closer = abs(now.estimate) < abs(review.estimate)
    text = (f"Without {'; '.join(parts)}: {review.k} -> {now.k} studies. The estimate moves from {fmt(pooled0, 2)} "
            f"to {fmt(pooled1, 2)} ({'+' if moved > 0 else ''}{fmt(moved, 2)}), "
            f"{'closer to' if closer else 'further from'} no effect: the "
            f"{'study' if len(removed) == 1 else 'studies'} left out lay {'further from' if closer else 'closer to'} "
            f"no effect than the pooled result of the rest.")
    if review.meta.model == "random" and now.meta.model == "random" and np.isfinite(now.tau2):
        if fmt(review.tau2, 2) == fmt(now.tau2, 2):
            text += f" tau² stays {fmt(now.tau2, 2)}."
        else:
            text += (f" tau² goes from {fmt(review.tau2, 2)} to {fmt(now.tau2, 2)}: the remaining studies "
                     f"{'agree more with each other' if now.tau2 < review.tau2 else 'disagree more'}.")
    return [text]


def _estimator_step(before: Exploration, after: Exploration) -> list[str]:
    if before.tau2_method == after.tau2_method and before.meta.method == after.meta.method:
        return []
    if after.tau2_method == "FE":
        return [f"The fixed-effect model assumes every study estimates one true effect: tau² is set to 0 (the "
                f"review's {ESTIMATOR_NAMES[before.tau2_method].removeprefix('the ')} gives "
                f"{fmt(before.tau2, 2)}), so each study is weighted 1/vi (the largest studies count most) and the "
                f"interval leaves out the differences between studies: {_width_words(before, after)}."]
    if before.tau2_method == "FE":
        return [f"A random-effects model with {ESTIMATOR_NAMES[after.tau2_method].removeprefix('the ')} estimates "
                f"tau² = {fmt(after.tau2, 2)} (the fixed-effect model assumes 0): weights 1/(vi + tau²) are more "
                f"equal across studies and the between-study variance widens the interval: "
                f"{_width_words(before, after)}."]
    t0, t1 = before.tau2, after.tau2
    if fmt(t0, 2) == fmt(t1, 2):
        why = "The same tau², so the same weights and interval."
    elif t1 > t0:
        why = ("A larger tau² makes the weights 1/(vi + tau²) more equal across studies and adds to every study's "
               f"variance, so the interval widens: {_width_words(before, after)}.")
    else:
        why = ("A smaller tau² lets the weights 1/(vi + tau²) follow the studies' own precision more closely, so the "
               f"interval narrows: {_width_words(before, after)}.")
    how = {"DL": "a method-of-moments estimate from Cochran's Q",
           "REML": "an iterative restricted maximum-likelihood estimate",
           "PM": "the value that makes the generalised Q equal its degrees of freedom"}.get(after.tau2_method, "")
    return [f"The {ESTIMATOR_NAMES[after.tau2_method].removeprefix('the ')} ({how}) gives tau² = {fmt(t1, 2)}; "
            f"{ESTIMATOR_NAMES[before.tau2_method]} gives {fmt(t0, 2)}. {why} The estimate moves from "
            f"{fmt(float(before.meta.display(before.estimate)), 2)} to "
            f"{fmt(float(after.meta.display(after.estimate)), 2)}."]


def _ci_step(before: Exploration, after: Exploration) -> list[str]:
    if before.ci_method == after.ci_method:
        return []
    hksj, wald = (after, before) if after.ci_method == "hksj" else (before, after)
    k, level = hksj.k, hksj.meta.overall.level
    if k < 2:
        return ["HKSJ needs at least 2 studies (a t distribution on k - 1 df): with one study there is no interval."]
    crit_t = float(stats.t.ppf((1 + level) / 2, k - 1))
    crit_z = float(stats.norm.ppf((1 + level) / 2))
    factor = hksj.meta.overall.se / wald.meta.overall.se
    ratio = (crit_t * hksj.meta.overall.se) / (crit_z * wald.meta.overall.se)
    scale = ("the studies scatter around the pooled mean less than their variances predict"
             if factor < 1 else "the studies scatter around the pooled mean more than their variances predict")
    if after.ci_method == "hksj":
        return [f"The HKSJ interval uses a t distribution with k - 1 = {k - 1} df (quantile {fmt(crit_t, 2)} "
                f"instead of the normal {fmt(crit_z, 2)}) and rescales the standard error by "
                f"{fmt(factor, 2)} ({scale}). Together the interval is {fmt(ratio, 2)} times as wide as the Wald "
                f"interval with the same tau²: {_width_words(before, after)}. The t quantile allows for tau² being "
                f"estimated from only {k} studies, which matters most when studies are few (Cochrane Handbook "
                f"10.10.4).", ] if ratio > 1 else [
                f"The HKSJ interval uses a t distribution with k - 1 = {k - 1} df (quantile {fmt(crit_t, 2)} "
                f"instead of the normal {fmt(crit_z, 2)}) but rescales the standard error by {fmt(factor, 2)} "
                f"({scale}), so here it is narrower than the Wald interval with the same tau²: "
                f"{_width_words(before, after)}."]
    return [f"The Wald interval uses the normal quantile {fmt(crit_z, 2)} instead of HKSJ's t quantile "
            f"{fmt(crit_t, 2)} on {k - 1} df and the unscaled standard error: {fmt(1 / ratio, 2)} times the HKSJ "
            f"width; {_width_words(before, after)}."]


def _verdict(review: Exploration, now: Exploration) -> str:
    null = 1.0 if review.meta.log_scale else 0.0
    lo0, hi0 = (float(review.meta.display(x)) for x in (review.ci_low, review.ci_high))
    lo1, hi1 = (float(now.meta.display(x)) for x in (now.ci_low, now.ci_high))
    had, has = lo0 <= null <= hi0, lo1 <= null <= hi1
    both = {(True, True): "both include no effect", (False, False): "neither includes no effect",
            (True, False): "the review's includes no effect; this one does not",
            (False, True): "the review's excludes no effect; this one includes it"}[(had, has)]
    return (f"Against the review's analysis: {now.headline} here, {review.headline} with the review's "
            f"settings and studies; {both}.")


def _how(result: Exploration) -> tuple:
    """What decides a pooled result besides the data: studies removed, model, estimator, method, CI method."""
    return (result.excluded, result.meta.model, result.tau2_method, result.meta.method, result.ci_method)


def chain(dataset, selection: Selection, review: Exploration | None = None) -> list[Exploration]:
    """The results from the review's analysis to ``selection``: review, + the study changes, + the estimator,
    + the CI method (each step a result of :func:`explore`; steps that change nothing are skipped)."""
    base = replace(selection, tau2_method=None, ci=None, leave_out=None, rob="all")
    review = review if review is not None else explore(dataset, base)
    studies = replace(base, leave_out=selection.leave_out, rob=selection.rob)
    ci_before = review.ci_method if selection.tau2_method != "FE" else "z"
    model = replace(studies, tau2_method=selection.tau2_method, ci=ci_before if selection.tau2_method else None)
    steps, seen = [review], {base}
    for step in (studies, model, selection):
        if step not in seen:
            seen.add(step)
            steps.append(explore(dataset, step))
    return steps


def explain(dataset, selection: Selection, review: Exploration | None = None) -> tuple[str, ...]:
    """Sentences saying how and why the result for ``selection`` (one of the review's analyses: ``analysis`` set)
    differs from the review's own; ``review`` is the review's result when already computed. Raises ValueError
    when a step leaves no study (the message of :func:`explore`)."""
    if selection.analysis is None:
        raise ValueError("explain() compares with one of the review's analyses: the selection needs an analysis")
    steps = chain(dataset, selection, review)
    review, now = steps[0], steps[-1]
    lines = []
    if now.rob_note:
        lines.append("Risk of bias: " + now.rob_note)
    elif selection.rob != "all" and all(why == LEFT_OUT for _, why in now.excluded):
        lines.append(f"Risk of bias: the filter '{ROB_LABELS[selection.rob]}' removes no study here: every study of "
                     f"{review.analysis} passes it.")
    if _how(now) == _how(review):
        return tuple(lines + [f"This is the review's analysis {review.analysis} with the review's settings and "
                              f"every study: {review.headline}."])
    for before, after in zip(steps, steps[1:]):
        lines += _studies_step(before, after) if after.excluded != before.excluded else []
        lines += _estimator_step(before, after) if after.excluded == before.excluded else []
        lines += _ci_step(before, after) if after.tau2_method == before.tau2_method else []
    for note in now.warnings:
        if "needs inverse-variance weights" in note:
            lines.append(note[0].upper() + note[1:] + ".")
    return tuple(lines + [_verdict(review, now)])

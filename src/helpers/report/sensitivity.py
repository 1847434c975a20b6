"""The tables of notebook 04 (sensitivity): the estimator x CI-method grid, the restricted subsets and
leave-one-out (computed by :mod:`helpers.stats.sensitivity`), each with the review's own settings unless a
parameter overrides them, labelled with their analysis, and their reader's views.

``tau2_method`` None (the default everywhere; the notebooks' ``estimator`` parameter) means the package's own
settings of each analysis (:func:`review_choice`: the tau² estimator and CI method RevMan pooled with, ``FE`` for a
fixed-effect model), so the "all studies" row of an analysis is the review's published result. The estimator grid
shows every alternative beside it, the review's choice marked. A subset the data cannot form says so
(:func:`helpers.stats.sensitivity.restricted`), never ``k = 0``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from helpers.core.checks import CI_METHODS, TAU2_METHODS, MetaWarning, check_choice
from helpers.data.tidy import Dataset
from helpers.figures.forest_text import estimate_text
from helpers.report import generic
from helpers.report.summary import Selected, select
from helpers.stats import sensitivity
from helpers.stats.effects import display_scale, usable_effects
from helpers.stats.settings import review_estimator

#: How the review's settings are named in the tables: the estimator column reads e.g. "DL (the review's)".
REVIEW_MARK = "the review's settings"


def review_choice(sel: Selected) -> tuple[str, str]:
    """(tau2_method, ci_method) the package pooled ``sel`` with (:func:`helpers.stats.settings.review_estimator`).
    A statistical method other than inverse variance (M-H, Peto) is warned: these tables pool the study effects
    by inverse variance, with the review's model and estimator."""
    method = sel.settings["method"]
    if method != "IV":
        warnings.warn(f"analysis {sel.analysis_id}: the review pools with {method}; the sensitivity tables pool "
                      "the study effects by inverse variance with its model and estimator", MetaWarning, stacklevel=2)
    return review_estimator(sel.rows)


def _labelled(frame: pd.DataFrame, label: dict) -> pd.DataFrame:
    """``frame`` with the ``label`` columns (analysis, drug, time point, settings used) in front."""
    for i, (key, value) in enumerate(label.items()):
        frame.insert(i, key, value)
    return frame


def estimator_grid(rows: pd.DataFrame, measure: str, label: dict, choice: tuple[str, str] | None = None) -> pd.DataFrame:
    """:func:`helpers.stats.sensitivity.estimator_grid` of ``rows`` with ``label`` columns prepended; ``choice``
    (tau2_method, ci_method): the row of the review's settings, marked ``REVIEW_MARK`` in column ``settings``."""
    grid = sensitivity.estimator_grid(rows, measure)
    grid.insert(2, "settings", [REVIEW_MARK if (e, c) == choice else ""
                                for e, c in zip(grid["estimator"], grid["ci_method"])])
    return _labelled(grid, label)


def leave_one_out(rows: pd.DataFrame, measure: str, tau2_method: str, ci_method: str, label: dict) -> pd.DataFrame:
    """``helpers.stats.sensitivity.leave_one_out`` of ``rows`` on the display scale, ``label`` columns prepended."""
    es = usable_effects(rows, measure)
    res = sensitivity.leave_one_out(es["yi"], es["vi"], labels=es["study"], tau2_method=tau2_method,
                                     ci=ci_method)
    frame = res.to_frame()[["omitted", "k", "estimate", "ci_low", "ci_high", "i2"]]
    frame[["estimate", "ci_low", "ci_high"]] = display_scale(frame[["estimate", "ci_low", "ci_high"]], measure)
    return _labelled(frame, label)


def _entering(rows: pd.DataFrame, measure: str) -> int:
    """How many of ``rows`` can enter a pooling (not-estimable rows out; their warnings are the pooling's own)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetaWarning)
        return len(usable_effects(rows, measure))


def sensitivity_tables(ds: Dataset, outcome: str, drug: str | None = None, route: str | None = None,
                       timepoint: str | None = None, tau2_method: str | None = None, ci_method: str = "z",
                       min_k: int = 3) -> dict[str, pd.DataFrame]:
    """For every selected analysis (the generic mode: every estimable analysis of the package) with at least
    ``min_k`` studies that can enter it: ``"estimators"`` (:func:`estimator_grid`),
    ``"subsets"`` (:func:`helpers.stats.sensitivity.restricted`) and ``"leave_one_out"`` (:func:`leave_one_out`)
    tables, stacked.

    ``tau2_method`` None: each analysis' own settings (:func:`review_choice`), and ``ci_method`` is then the
    package's, as in :func:`helpers.report.summary.analyse`; a ``tau2_method`` given overrides the review's for
    every analysis, with ``ci_method``. The subsets and leave-one-out tables name the settings they used."""
    if tau2_method is not None:
        check_choice("tau2_method", tau2_method, TAU2_METHODS)
    check_choice("ci_method", ci_method, CI_METHODS)
    tables: dict[str, list] = {"estimators": [], "subsets": [], "leave_one_out": []}
    chosen = generic.selections(ds, ()) if generic.is_generic(ds) else select(ds, outcome, drug, route, timepoint)
    for sel in chosen:  # the generic mode: every estimable analysis of the package, whatever its outcome
        measure = sel.settings["measure"]
        if len(sel.rows) < min_k or _entering(sel.rows, measure) < min_k:
            continue
        review = review_choice(sel)
        used = review if tau2_method is None else (tau2_method, ci_method)
        label = {"analysis_id": sel.analysis_id, "drug": sel.drug, "timepoint": sel.settings["timepoint"]}
        try:  # an analysis the engine refuses is named and left out of the tables, the others kept
            grid = estimator_grid(sel.rows, measure, label, review)
            label |= {"estimator": used[0], "ci_method": used[1],
                      "settings": REVIEW_MARK if used == review else "override"}
            subsets = _labelled(sensitivity.restricted(ds.studies, sel.rows, measure, *used, source=sel.analysis_id),
                                label)
            loo = leave_one_out(sel.rows, measure, *used, label)
        except ValueError as exc:
            warnings.warn(f"analysis {sel.analysis_id}: sensitivity analyses not computed: {exc}", MetaWarning,
                          stacklevel=2)
            continue
        tables["estimators"].append(grid)
        tables["subsets"].append(subsets)
        tables["leave_one_out"].append(loo)
    return {name: pd.concat(parts, ignore_index=True) if parts else pd.DataFrame() for name, parts in tables.items()}


# ---------------------------------------------------------------------------------------------------- views
CI_WORDS = {"z": "Wald (z)", "hksj": "HKSJ"}


def _interval(frame: pd.DataFrame) -> list[str]:
    return [estimate_text(e, lo, hi) for e, lo, hi in zip(frame["estimate"], frame["ci_low"], frame["ci_high"])]


def grid_view(grid: pd.DataFrame) -> pd.DataFrame:
    """The estimator grid as a reader reads it: one row per analysis and CI method, one column per estimator
    holding "estimate [95% CI]" (two decimals, RevMan's rounding), the review's own settings marked
    "(review)", tau² of each estimator in the Wald row's text left to the saved table."""
    if grid.empty:
        return grid
    text = grid.assign(cell=[t + (" (review)" if mark else "") for t, mark in zip(_interval(grid), grid["settings"])])
    wide = text.pivot_table(index=["analysis_id", "timepoint", "ci_method"], columns="estimator", values="cell",
                            aggfunc="first", sort=False)
    wide = wide.reindex(columns=[e for e in TAU2_METHODS if e in wide.columns]).reset_index()
    wide["ci_method"] = wide["ci_method"].map(CI_WORDS)
    wide.columns.name = None
    return wide.rename(columns={"analysis_id": "analysis", "timepoint": "time point", "ci_method": "CI method"})


def subsets_view(subsets: pd.DataFrame) -> pd.DataFrame:
    """The restricted subsets as a reader reads them: the estimate [95% CI], or why the subset cannot be
    formed (or that no study qualifies), never k = 0 with empty numbers."""
    if subsets.empty:
        return subsets
    result = [note if note else text for note, text in zip(subsets["note"], _interval(subsets))]
    return pd.DataFrame({
        "analysis": subsets["analysis_id"], "time point": subsets["timepoint"],
        "settings": [f"{e}, {CI_WORDS[c]}" + (" (review)" if s == REVIEW_MARK else "")
                     for e, c, s in zip(subsets["estimator"], subsets["ci_method"], subsets["settings"])],
        "subset": subsets["subset"], "studies": ["" if k != k else f"{k:.0f}" for k in subsets["k"]],
        "estimate [95% CI]": result,
        "I² (%)": ["" if i != i else f"{i:.0f}" for i in subsets.get("i2", pd.Series(float("nan"), subsets.index))],
    })


def leave_one_out_view(loo: pd.DataFrame) -> pd.DataFrame:
    """Leave-one-out as a reader reads it: analysis, study left out, studies, estimate [95% CI], I²."""
    if loo.empty:
        return loo
    return pd.DataFrame({"analysis": loo["analysis_id"], "time point": loo["timepoint"], "left out": loo["omitted"],
                         "studies": loo["k"], "estimate [95% CI]": _interval(loo),
                         "I² (%)": ["" if i != i else f"{i:.0f}" for i in loo["i2"]]})

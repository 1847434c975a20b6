"""A package analysis' own settings, as arguments of :func:`helpers.stats.meta.meta_analysis`.

RevMan writes, per analysis: statistical method, effect measure, analysis model and (RevMan Web, 2025) the
heterogeneity estimator, the CI method, whether a prediction interval is shown, the CI/PI level, and "Swap
event and non-event"; per data row, "Applicability". :func:`analysis_arguments` turns the tidy rows of one
analysis (:mod:`helpers.data.tidying` copies the settings onto them) into the keyword arguments that
recompute it exactly so, plus the notes for every setting the engine cannot honour. A setting that cannot be
honoured is never replaced silently: the note names it and what was used instead, and
:func:`helpers.stats.concordance.concordance` prints it on every row of that analysis.

:func:`estimator_arguments` is the one meaning of a ``tau2_method`` a user picks (notebooks' ``estimator``
parameter, explorer, figures):
``FE`` = inverse-variance fixed effect, ``DL``/``REML``/``PM`` = inverse-variance random effects with that tau²
estimator (REML and PM are defined for inverse-variance weights only; Viechtbauer 2005). The package's own
method (e.g. Mantel-Haenszel with DerSimonian-Laird on the MH-based Q) is "the package's settings",
``tau2_method`` None, never a label of its own.

Defaults when a package does not give a setting are RevMan's: DerSimonian-Laird, Wald CI, 95 %, no prediction
interval, no swap, every row in the subgroup and overall pooling.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.core.checks import CI_METHODS, TAU2_METHODS, check_choice

RANDOM_TAU2 = tuple(m for m in TAU2_METHODS if m != "FE")


def _first(rows: pd.DataFrame, column: str):
    """The analysis' value of a per-analysis setting column (None when absent or empty)."""
    if column not in rows:
        return None
    values = rows[column]
    filled = np.flatnonzero(~pd.isna(values.to_numpy()))
    return values.iloc[filled[0]] if filled.size else None


def swap_events(rows: pd.DataFrame) -> pd.DataFrame:
    """RevMan's "Swap event and non-event": events_e = n_e - events_e, events_c = n_c - events_c."""
    out = rows.copy()
    for arm in ("e", "c"):
        out[f"events_{arm}"] = out[f"n_{arm}"] - out[f"events_{arm}"]
    return out


def analysis_arguments(rows: pd.DataFrame) -> tuple[pd.DataFrame, dict, tuple[str, ...]]:
    """(rows to analyse, meta_analysis keyword arguments, notes) for the tidy rows of one analysis.

    The rows are swapped (events <-> non-events) when the package says so; the arguments carry measure,
    method, model, tau2_method, ci, pi, level, subgroup and applicability. ``pi`` is the Handbook's rule
    (``"t"``) whatever the package asks: the interval is computed either way and the package does not publish
    its numbers; notes list every setting that could not be honoured."""
    notes: list[str] = []
    model = _first(rows, "model")
    kwargs = {"measure": _first(rows, "measure"), "method": _first(rows, "method"), "model": model,
              "tau2_method": "DL", "ci": "z", "pi": "t", "level": 0.95,
              "subgroup": "subgroup" if rows["subgroup"].notna().any() else None, "study": "study"}  # fmt: skip
    tau2 = _first(rows, "tau2_method")
    ci = _first(rows, "ci_method")
    if model == "random":
        if tau2 is not None and tau2 not in RANDOM_TAU2:
            notes.append(f"heterogeneity estimator {tau2!r} not available (engine: {', '.join(RANDOM_TAU2)}); "
                         "recomputed with DL")
        elif tau2 is not None:
            if kwargs["method"] == "MH" and tau2 != "DL":
                notes.append(f"heterogeneity estimator {tau2} with the MH method: the engine's MH random-effects "
                             "model is DerSimonian-Laird on the MH-based Q; recomputed with DL")
            else:
                kwargs["tau2_method"] = tau2
        if ci is not None and ci not in CI_METHODS:
            notes.append(f"CI method {ci!r} not available (engine: {', '.join(CI_METHODS)}); recomputed with Wald (z)")
        elif ci is not None:
            kwargs["ci"] = ci
    level = _first(rows, "ci_level")
    if level is not None and np.isfinite(level):
        kwargs["level"] = float(level)
    swap = _first(rows, "swap_events")
    if swap is not None and swap == 1:
        if kwargs["measure"] in ("RR", "OR", "RD") and {"events_e", "n_e", "events_c", "n_c"} <= set(rows):
            rows = swap_events(rows)
        else:
            notes.append("'Swap event and non-event' set on rows without event counts: not applied")
    if "applicability" in rows and rows["applicability"].notna().any():
        kwargs["applicability"] = "applicability"
    return rows, kwargs, tuple(notes)


def estimator_arguments(tau2_method: str, ci: str) -> dict[str, str]:
    """meta_analysis keyword arguments for a tau² estimator a user picks (one meaning everywhere, see module doc).

    >>> estimator_arguments("PM", "hksj")
    {'method': 'IV', 'model': 'random', 'tau2_method': 'PM', 'ci': 'hksj'}
    """
    check_choice("tau2_method", tau2_method, TAU2_METHODS)
    check_choice("ci", ci, CI_METHODS)
    if tau2_method == "FE":
        return {"method": "IV", "model": "fixed", "tau2_method": "DL", "ci": ci}
    return {"method": "IV", "model": "random", "tau2_method": tau2_method, "ci": ci}


def review_estimator(rows: pd.DataFrame) -> tuple[str, str]:
    """(tau2_method, ci) a user would pick to pool the tidy rows of one analysis by inverse variance as the package
    did (:func:`analysis_arguments`): ``FE`` and Wald for a fixed-effect model, else the package's tau² estimator
    and CI method (RevMan's defaults DL and Wald when it gives none). With the package's own inverse-variance
    method, ``estimator_arguments(*review_estimator(rows))`` recomputes exactly what the package did.

    >>> review_estimator(pd.DataFrame({"model": ["random"], "method": ["IV"], "subgroup": [None]}))
    ('DL', 'z')
    """
    _, kwargs, _ = analysis_arguments(rows)
    return tau2_method_of(kwargs), "z" if kwargs["model"] == "fixed" else kwargs["ci"]


def tau2_method_of(kwargs: dict) -> str:
    """The ``tau2_method`` a user would pick for :func:`helpers.stats.meta.meta_analysis` arguments ``kwargs``
    (the explorer's "Estimator" button): ``FE`` for a fixed-effect model, else their tau² estimator.

    >>> tau2_method_of({"model": "random", "tau2_method": "REML"}), tau2_method_of({"model": "fixed"})
    ('REML', 'FE')
    """
    return "FE" if kwargs["model"] == "fixed" else kwargs["tau2_method"]

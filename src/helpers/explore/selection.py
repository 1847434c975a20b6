"""Explorer logic without widgets: what the user may choose, which rows that selects, and the pooled result.

- :func:`for_analysis` - the selection of one of the review's analyses (the explorer's choices follow the review's
  comparisons and analyses: :mod:`helpers.explore.review`);
- :func:`select_rows` - the tidy rows for a :class:`Selection`, with every excluded study recorded;
- :func:`explore` - selection -> :class:`helpers.stats.meta.MetaAnalysis` -> :class:`Exploration` (numbers + text,
  the text from :func:`helpers.explore.reading.plain_language`).

For one of the review's analysis (``Selection.analysis``) the pooling is the review's own (effect measure,
Mantel-Haenszel or inverse variance, model, tau² estimator, CI method) with only what the user changed replaced
(:func:`helpers.explore.review.settings_arguments`; REML and PM switch to inverse variance, being defined for
inverse-variance weights only: Viechtbauer 2005, *J Educ Behav Stat* 30:261). Across analyses (no ``analysis``)
estimators map onto the engine as ``FE`` -> ``model="fixed"``, ``DL``/``REML``/``PM`` -> ``model="random"`` with
that tau² estimator, inverse variance throughout (:func:`helpers.stats.settings.estimator_arguments`).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from helpers.core.checks import CI_METHODS, TAU2_METHODS, MetaWarning, check_choice
from helpers.core.results import ResultMixin
from helpers.explore.reading import format_effect, plain_language
from helpers.explore.review import settings_arguments, settings_words
from helpers.report.summary import select
from helpers.stats.settings import estimator_arguments, tau2_method_of

#: Risk-of-bias filters: on the RoB 2 overall judgement, or on domain 1 (randomization process) alone, the one
#: domain the review's data rows judge for every study.
ROB_FILTERS = ("all", "exclude_high", "low_only", "d1_low")
ROB_LABELS = {"all": "all studies", "exclude_high": "exclude high risk of bias (overall)",
              "low_only": "low risk of bias only (overall)", "d1_low": "low risk from randomization (D1) only"}
LEFT_OUT = "left out (sensitivity analysis)"  # the exclusion reason of the study left out
#: The judgement column each filter reads (helpers.data.schema: rob_overall, rob_d1..rob_d5).
ROB_COLUMN = {"exclude_high": "rob_overall", "low_only": "rob_overall", "d1_low": "rob_d1"}
ROB_WORDS = {"rob_overall": "overall risk-of-bias judgement", "rob_d1": "judgement of the randomization process "
             "(RoB 2 domain 1)"}
#: Selection fields that narrow the data, in the order the dropdowns depend on one another.
#: Comparator is included: pooling placebo- and active-controlled trials together would mix two questions.
DATA_FIELDS = ("drug", "comparator", "route", "outcome", "timepoint")


@dataclass(frozen=True)
class Selection:
    """What the user chose. ``leave_out`` is a study label or None; ``rob`` one of :data:`ROB_FILTERS`.

    ``analysis`` (e.g. ``"1.1"``) selects one of the review's analyses, with its subgroups, as RevMan pools it;
    the data fields then describe it (:func:`for_analysis`). There ``tau2_method`` and ``ci`` None mean the review's
    own settings, and a value replaces only that setting (:func:`helpers.explore.review.settings_arguments`).
    Without ``analysis`` the data fields select the rows across analyses (each study's main analysis once).
    """

    drug: str
    comparator: str
    route: str
    outcome: str
    timepoint: str
    tau2_method: str = "REML"
    ci: str = "z"
    leave_out: str | None = None
    rob: str = "all"
    analysis: str | None = None

    def __post_init__(self):
        if self.analysis is None or self.tau2_method is not None:
            check_choice("tau2_method", self.tau2_method, TAU2_METHODS)
        if self.analysis is None or self.ci is not None:
            check_choice("ci", self.ci, CI_METHODS)
        check_choice("rob", self.rob, ROB_FILTERS)


def for_analysis(dataset, analysis_id: str, **settings) -> Selection:
    """The :class:`Selection` of the review's analysis ``analysis_id`` (its data fields read from its rows; a field
    the rows leave empty, as in the generic mode, is ""); ``settings``: tau2_method, ci, leave_out, rob (default: the
    review's settings, every study)."""
    rows = dataset.analysis(analysis_id)
    fields = {n: str(rows[n].dropna().iloc[0]) if n in rows and rows[n].notna().any() else "" for n in DATA_FIELDS}
    return Selection(**fields, **{"tau2_method": None, "ci": None, **settings}, analysis=str(analysis_id))


@dataclass(frozen=True)
class RowSelection:
    """Rows that enter the analysis, plus each excluded study and why (never dropped silently)."""

    rows: pd.DataFrame
    candidates: tuple[str, ...]  # studies matching drug/route/outcome/time point before any filter
    excluded: tuple[tuple[str, str], ...]  # (study, reason)
    rob_note: str = ""  # why the risk-of-bias filter could not be applied ("" when applied or not asked for)


def _rob_by_study(studies: pd.DataFrame, column: str = "rob_overall") -> Mapping[str, str]:
    if column not in studies:
        return {}
    return {s: j for s, j in zip(studies["study"], studies[column]) if j is not None and not pd.isna(j)}


def _base_study(label: str) -> str:
    """``"Dadabayev 2020 [2]"`` (a second stratum, :func:`_main_analysis_rows`) -> ``"Dadabayev 2020"``."""
    return re.sub(r" \[\d+\]$", "", label)


def rob_not_applicable(dataset, studies, rob: str) -> str:
    """Why the filter ``rob`` cannot be applied to ``studies`` ("" when it can): some study has no judgement of the
    kind the filter reads. Filtering then would judge studies on a judgement nobody made (and could leave k = 0),
    so the explorer keeps every study and says which judgements the data hold instead."""
    if rob == "all":
        return ""
    column = ROB_COLUMN[rob]
    lacking = [s for s in studies if _base_study(s) not in _rob_by_study(dataset.studies, column)]
    if not lacking:
        return ""
    have = {}
    for c in ("rob_d1", "rob_d2", "rob_d3", "rob_d4", "rob_d5", "rob_overall"):
        judged = _rob_by_study(dataset.studies, c)
        have[c] = len({_base_study(s) for s in studies if _base_study(s) in judged})
    n = len({_base_study(s) for s in studies})
    held = ", ".join(f"{c.removeprefix('rob_').upper()} for {m} of {n}" for c, m in have.items() if m)
    return (f"the filter '{ROB_LABELS[rob]}' cannot be applied: {len(lacking)} of {len(studies)} studies have no "
            f"{ROB_WORDS[column]} in the data ({', '.join(lacking)}); the data judge "
            f"{held or 'no domain for these studies'}. Every study is kept.")


def _analysis_key(analysis_id) -> tuple:
    return tuple(int(x) for x in str(analysis_id).split(".") if x.isdigit())


def _main_analysis_rows(picked: pd.DataFrame) -> pd.DataFrame:
    """Each study's rows from the first analysis (in analysis-number order) it appears in among ``picked``.

    The review repeats a main analysis split by duration, condition or dose (1.4, 1.5, 1.6 hold the same trials):
    those copies are the same data and must not be pooled twice. Two rows of one study in one analysis (strata
    entered separately, e.g. with and without PTSD) stay, labelled ``"<study> [2]"`` etc. for the engine.
    """
    if picked.empty or "analysis_id" not in picked:
        return picked
    order = picked["analysis_id"].map(_analysis_key)
    first = order.groupby(picked["study"]).transform("min")
    out = picked[order == first].copy()
    stratum = out.groupby("study").cumcount()
    out["study"] = [s if i == 0 else f"{s} [{i + 1}]" for s, i in zip(out["study"], stratum)]
    return out


def select_rows(dataset, selection: Selection) -> RowSelection:
    """Rows of ``dataset.rows`` for ``selection``: the review's analysis ``selection.analysis``, or the rows matching
    the data fields (outcome, drug, route, time point as :func:`helpers.report.summary.select` selects them, then
    the one comparator: one comparison as the review map gives it), each study's main analysis only
    (:func:`_main_analysis_rows`), then the RoB filter, then leave-out.

    RoB filter on the RoB 2 overall judgement (Sterne et al. 2019, *BMJ* 366:l4898): ``exclude_high`` drops
    ``High``; ``low_only`` keeps ``Low``; ``d1_low`` keeps ``Low`` in domain 1 (randomization process). When a
    selected study has no judgement of that kind, the filter is not applied at all: every study is kept and
    ``rob_note`` (also warned) says why (:func:`rob_not_applicable`), never k = 0 from judgements nobody made.
    """
    if selection.analysis is not None:
        picked = _main_analysis_rows(dataset.analysis(selection.analysis))
    else:  # the report's row selection (summary.select), then the one comparator
        parts = [sel.rows for sel in select(dataset, selection.outcome, selection.drug, selection.route,
                                            selection.timepoint, estimable_only=False)]
        rows = pd.concat(parts, ignore_index=True) if parts else dataset.rows.iloc[0:0]
        picked = _main_analysis_rows(rows[(rows["comparator"] == selection.comparator).to_numpy()])
    candidates = tuple(dict.fromkeys(picked["study"]))
    if selection.leave_out is not None and selection.leave_out not in candidates:
        raise ValueError(f"leave_out must be one of the selected studies ({', '.join(candidates)}); "
                         f"got {selection.leave_out!r}")
    rob_note = rob_not_applicable(dataset, candidates, selection.rob)
    if rob_note:
        warnings.warn(rob_note, MetaWarning, stacklevel=2)
    rob = _rob_by_study(dataset.studies, ROB_COLUMN.get(selection.rob, "rob_overall"))
    excluded: list[tuple[str, str]] = []
    keep = []
    for study in candidates:
        judgement = rob.get(_base_study(study))
        if not rob_note and selection.rob == "exclude_high" and judgement == "High":
            excluded.append((study, "high risk of bias"))
        elif not rob_note and selection.rob == "low_only" and judgement != "Low":
            excluded.append((study, f"risk of bias {judgement!s}, not Low"))
        elif not rob_note and selection.rob == "d1_low" and judgement != "Low":
            excluded.append((study, f"randomization (D1) {judgement!s}, not Low"))
        elif study == selection.leave_out:
            excluded.append((study, LEFT_OUT))
        else:
            keep.append(study)
    return RowSelection(picked[picked["study"].isin(keep)], candidates, tuple(excluded), rob_note)


# ---------------------------------------------------------------------------------------------- analysis


def _one(rows: pd.DataFrame, column: str, what: str) -> str:
    values = tuple(dict.fromkeys(rows[column].dropna()))
    if len(values) != 1:
        raise ValueError(f"the selected rows must share one {what}; found {column} = {', '.join(map(str, values))}")
    return str(values[0])


def control_risk(rows: pd.DataFrame) -> float:
    """Pooled control-group risk sum(events_c) / sum(n_c) over the rows (NaN without dichotomous counts).

    Used as the assumed control risk for absolute effects (Cochrane Handbook v6.4, 14.1.5.1).
    """
    if "events_c" not in rows or rows["events_c"].isna().all():
        return float("nan")
    ok = rows["events_c"].notna() & rows["n_c"].notna()
    return float(rows.loc[ok, "events_c"].sum() / rows.loc[ok, "n_c"].sum())


# ---------------------------------------------------------------------------------------------- explore


@dataclass(frozen=True, repr=False)
class Exploration(ResultMixin):
    """The explorer's result for one :class:`Selection`: pooled numbers (analysis scale), text and provenance.

    ``excluded`` lists (study, reason) for every study removed by the RoB filter or the leave-out choice;
    ``warnings`` holds those of the data selection and of the engine (non-convergence, truncation, ...).
    ``tau2_method`` and ``ci_method`` are the ones used (for the review's own settings: the review's).
    """

    drug: str
    comparator: str
    route: str
    outcome: str
    timepoint: str
    tau2_method: str
    ci_method: str
    rob_filter: str
    leave_out: str | None
    measure: str
    k: int
    participants: int
    estimate: float
    ci_low: float
    ci_high: float
    tau2: float
    i2: float
    control_risk: float
    n_high_rob: int
    synthetic: bool
    label: str
    text: str
    excluded: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()
    analysis: str | None = None  # the review's analysis ("1.1") when one was selected
    analysis_name: str = ""
    settings: str = ""  # the settings pooled with, in words (helpers.explore.review.settings_words)
    rob_note: str = ""  # why the risk-of-bias filter could not be applied (RowSelection.rob_note)
    meta: object = field(default=None, repr=False, compare=False)

    @property
    def headline(self) -> str:
        """``"RR 2.10 (95% CI 1.40 to 3.15)"`` on the display scale."""
        return format_effect(self.measure, self.estimate, self.ci_low, self.ci_high)


def explore(dataset, selection: Selection) -> Exploration:
    """Run the engine on the rows chosen by ``selection`` and read the result in plain language.

    ``dataset`` is a :class:`helpers.data.tidy.Dataset` (needs ``rows``, ``studies``, ``synthetic``, ``label``).
    Raises ValueError when no study is left after the filters (the message says which filter removed which).
    """
    from helpers.stats.meta import meta_analysis  # engine core; imported here so the reading code stays light

    picked = select_rows(dataset, selection)
    if picked.rows.empty:
        why = "; ".join(f"{s}: {r}" for s, r in picked.excluded) or "no rows match"
        raise ValueError(f"no study left for {selection.drug} vs {selection.comparator}, {selection.route}, "
                         f"{selection.outcome}, {selection.timepoint} ({why})")
    dupes = picked.rows["study"][picked.rows["study"].duplicated()].unique()
    if len(dupes):
        raise ValueError(f"studies appear in more than one selected row (would be counted twice): "
                         f"{', '.join(map(str, dupes))}")
    rows, kwargs, setting_notes = _arguments(picked.rows.reset_index(drop=True), selection)
    measure = kwargs.pop("measure")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        meta = meta_analysis(rows, measure, **kwargs)
    for w in caught:  # re-emit: the caller sees them, and they are recorded below
        warnings.warn(w.message, w.category, stacklevel=2)
    pooled = meta.overall
    tau2_method, ci = tau2_method_of(kwargs), kwargs["ci"]
    rob = _rob_by_study(dataset.studies)
    entered = list(dict.fromkeys(meta.studies["study"]))
    n_high = sum(rob.get(_base_study(s)) == "High" for s in entered)
    entered_rows = rows[rows["study"].isin(entered)]
    participants = int(np.nansum(entered_rows[["n_e", "n_c"]].to_numpy(dtype=float)))
    risk = control_risk(entered_rows) if measure in ("RR", "OR") else float("nan")
    name = str(rows["analysis_name"].iloc[0]) if selection.analysis and "analysis_name" in rows else ""
    unmapped = not selection.outcome  # the generic mode: the analysis' own name says what it compares
    text = plain_language(measure=measure, estimate=pooled.estimate, ci_low=pooled.ci_low, ci_high=pooled.ci_high,
                          k=pooled.k, i2=pooled.i2, outcome=selection.outcome,
                          drug=selection.drug or ("the intervention" if unmapped else "the drug"),
                          route=selection.route, timepoint=selection.timepoint, tau2_method=tau2_method, ci=ci,
                          participants=participants, control_risk=risk, n_high_rob=n_high,
                          synthetic=bool(dataset.synthetic), analysis_name=name)
    notes = (picked.rob_note,) if picked.rob_note else ()
    notes += setting_notes + tuple(str(w.message) for w in caught) + tuple(pooled.warnings)
    return Exploration(
        drug=selection.drug, comparator=selection.comparator, route=selection.route, outcome=selection.outcome,
        timepoint=selection.timepoint, tau2_method=tau2_method, ci_method=ci,
        rob_filter=selection.rob, leave_out=selection.leave_out, measure=measure, k=int(pooled.k),
        participants=participants, estimate=float(pooled.estimate), ci_low=float(pooled.ci_low),
        ci_high=float(pooled.ci_high), tau2=float(pooled.tau2), i2=float(pooled.i2), control_risk=risk,
        n_high_rob=int(n_high), synthetic=bool(dataset.synthetic), label=str(dataset.label), text=text,
        excluded=picked.excluded, warnings=tuple(dict.fromkeys(notes)), analysis=selection.analysis,
        analysis_name=name, settings=settings_words({"measure": measure, **kwargs},
                                                    rows if selection.tau2_method is None else None),
        rob_note=picked.rob_note, meta=meta)


def _arguments(rows: pd.DataFrame, selection: Selection) -> tuple[pd.DataFrame, dict, tuple[str, ...]]:
    """(rows, meta_analysis arguments with ``measure``, notes): for one of the review's analyses its own settings
    with the user's changes (:func:`helpers.explore.review.settings_arguments`); across analyses the estimator's
    one meaning (:func:`helpers.stats.settings.estimator_arguments`)."""
    if selection.analysis is not None:
        return settings_arguments(rows, selection.tau2_method, selection.ci)
    measure = _one(rows, "measure", "effect measure")
    return rows, {"measure": measure, **estimator_arguments(selection.tau2_method, selection.ci)}, ()

"""Adverse-event breakdown: the psychotomimetic family vs nausea vs vomiting, and the other harms beside them, by
drug and route (the numbers).

Outcomes are the harms of ``helpers.data.schema.HARMS``, each in a ``FAMILIES`` panel: the psychotomimetic family
(psychotomimetic effects, hallucinations, dissociative symptoms), nausea, vomiting, and the other harms (adverse
events total, serious adverse events, tolerability, withdrawal, sedation, dizziness, headache, other adverse
events). For each outcome x drug x route x comparator: the crude event proportion per arm (sum of events / sum of
participants across the studies, experimental and control) and the pooled effect of those studies, computed with
the settings of the analysis their rows come from (effect measure, statistical method, model, heterogeneity
estimator, CI method, level, swapped events: :func:`helpers.stats.settings.analysis_arguments`, the same settings
the analysis' forest plot and summary-of-findings row use), so that a breakdown row that holds one analysis' rows
gives that analysis' own pooled result (e.g. the review's RR 3.26 [1.05, 10.09] for intravenous ketamine, adverse
events total, analysis 1.9: RR, inverse variance, random effects, DerSimonian-Laird; Cochrane Handbook 10.3-10.4).

A cell can hold rows of several analyses (a study in several analyses of one outcome counts with its first one; the
others add the studies they alone hold). When those analyses' settings differ, the cell is pooled with the settings
of the analysis that contributes most of its rows (ties: the first in analysis order), and the row's ``notes`` and
a warning say so, naming every analysis and its settings. ``tau2_method`` (FE/DL/REML/PM) replaces the method and
model as everywhere else (:func:`helpers.stats.settings.estimator_arguments`: inverse variance), keeping each
analysis' measure. :func:`ae_breakdown` returns an :class:`AEBreakdown`;
:func:`helpers.figures.adverse.ae_breakdown_plot` draws it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from helpers.core import checks
from helpers.core.results import ResultMixin
from helpers.data.schema import COMPARATORS, HARMS, PSYCHOTOMIMETIC_FAMILY
from helpers.stats.meta import meta_analysis
from helpers.stats.settings import analysis_arguments, estimator_arguments

AE_OUTCOMES = HARMS
#: The panels of the breakdown, in display order: family -> its outcomes (every outcome of AE_OUTCOMES once).
FAMILIES = {
    "Psychotomimetic family": PSYCHOTOMIMETIC_FAMILY,
    "Nausea": ("nausea",),
    "Vomiting": ("vomiting",),
    "Other harms": tuple(o for o in HARMS if o not in (*PSYCHOTOMIMETIC_FAMILY, "nausea", "vomiting")),
}
FAMILY_OF = {o: family for family, outcomes in FAMILIES.items() for o in outcomes}
#: ``estimate``/``ci_low``/``ci_high`` are on the display scale of ``measure`` (ratios for RR and OR);
#: ``analyses``: the analyses whose rows were pooled; ``settings_from``: the analysis whose settings were used
#: (or ``estimator <name>``); ``settings``: those settings in words.
TABLE_COLUMNS = ("family", "outcome", "drug", "route", "comparator", "k", "studies", "events_e", "n_e", "events_c", "n_c",
                 "prop_e", "prop_c", "measure", "estimate", "ci_low", "ci_high", "i2", "method", "model", "analyses",
                 "settings_from", "settings", "notes")  # fmt: skip
#: The per-analysis setting columns of the tidy rows (``helpers.data.schema``) that decide the pooling.
SETTING_COLUMNS = ("measure", "method", "model", "tau2_method", "ci_method", "ci_level", "swap_events")
_NEEDED = ("outcome", "drug", "route", "comparator", "study", "analysis_id", "data_type", "events_e", "n_e",
           "events_c", "n_c", "measure", "method", "model")  # fmt: skip
_CI_WORDS = {"z": "Wald CI", "hksj": "HKSJ CI"}


@dataclass(frozen=True, repr=False)
class AEBreakdown(ResultMixin):
    """The AE breakdown of one dataset: ``table`` (one row per outcome x drug x route x comparator, columns
    ``TABLE_COLUMNS``; each row names the analyses pooled and the settings used), every note (rows not used,
    settings that differ between the analyses of a row, pooling warnings), the ``tau2_method`` (None: each
    analysis' own settings) and ``ci_method`` asked for, and the dataset's ``label``/``synthetic``."""

    tau2_method: str | None
    ci_method: str
    comparator: str | None
    label: str
    synthetic: bool
    table: pd.DataFrame = field(compare=False)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The breakdown table (a copy)."""
        return self.table.copy()

    def summary(self) -> str:
        """One line per row: outcome / comparison, pooled estimate [95% CI], k, the analyses and settings used,
        and the row's notes."""
        how = "each analysis' own settings" if self.tau2_method is None else f"estimator {self.tau2_method}"
        lines = [f"AEBreakdown of {self.label} ({how}; comparator {self.comparator or 'any'}): {len(self.table)} rows"]
        for r in self.table.itertuples(index=False):
            est = (f"{r.measure} {r.estimate:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}]" if np.isfinite(r.estimate)
                   else f"{r.measure} not estimable")
            lines.append(f"  {r.outcome} / {r.drug} / {r.route} / {r.comparator}: {est}, k={r.k}; {r.settings}")
            if r.notes:
                lines.append(f"    notes: {r.notes}")
        return "\n".join(lines)


def _words(kwargs: dict) -> str:
    """Settings in words, e.g. ``RR, IV, random effects (DL), Wald CI``."""
    text = f"{kwargs['measure']}, {kwargs['method']}, "
    if kwargs["model"] == "random":
        text += f"random effects ({kwargs['tau2_method']}), {_CI_WORDS.get(kwargs['ci'], kwargs['ci'])}"
    else:
        text += "fixed effect"
    if kwargs.get("level", 0.95) != 0.95:
        text += f", {kwargs['level']:.0%} CI"
    return text


def _own(rows: pd.DataFrame) -> tuple[dict, bool]:
    """One analysis' own meta_analysis arguments (no subgroups) and whether it swaps events and non-events."""
    swap = rows["swap_events"].dropna() if "swap_events" in rows else pd.Series([], dtype=float)
    return analysis_arguments(rows.assign(subgroup=None))[1], bool(len(swap) and swap.iloc[0] == 1)


def _described(own: tuple[dict, bool]) -> str:
    return _words(own[0]) + (", events swapped" if own[1] else "")


def _cell_settings(g: pd.DataFrame, tau2_method: str | None, ci_method: str):
    """(rows to pool, meta_analysis arguments, analysis whose settings are used, words, notes) for one cell."""
    notes: list[str] = []
    order = list(dict.fromkeys(g["analysis_id"]))  # analysis order (the package's)
    counts = g["analysis_id"].value_counts()
    source = max(order, key=lambda a: (counts[a], -order.index(a)))  # most rows; ties: the first
    own = {a: _own(g[g["analysis_id"] == a]) for a in order}
    if len({_described(own[a]) for a in order}) > 1:
        each = "; ".join(f"{a} ({_described(own[a])}; {counts[a]} row(s))" for a in order)
        notes.append(f"rows of analyses with different settings: {each}; pooled with the settings of analysis "
                     f"{source}, which contributes the most rows")
    rows = g.copy()
    first_row = g[g["analysis_id"] == source].iloc[0]
    for col in SETTING_COLUMNS:  # the chosen analysis' settings for every row of the cell (swap included)
        if col in rows:
            rows[col] = first_row[col]
    rows, kwargs, setting_notes = analysis_arguments(rows.assign(subgroup=None))
    notes += [f"analysis {source}: {n}" for n in setting_notes]
    if own[source][1] and kwargs["measure"] in ("RR", "OR", "RD"):
        notes.append(f"events and non-events swapped, as analysis {source} says ('Swap event and non-event')")
    kwargs = kwargs | {"subgroup": None, "study": "study"}
    pooled = f"analyses {', '.join(order)}; " if len(order) > 1 else ""
    words = f"{pooled}analysis {source}'s settings: {_described(own[source])}"
    if tau2_method is not None:
        kwargs = kwargs | estimator_arguments(tau2_method, ci_method)
        words = f"{pooled}estimator {tau2_method}: {_words(kwargs)} (analysis {source}'s own: {_described(own[source])})"
        source = f"estimator {tau2_method}"
    return rows, kwargs, source, words, notes


def _pool_cell(g: pd.DataFrame, tau2_method: str | None, ci_method: str) -> tuple[dict, list[str]]:
    """The pooled columns of one cell (dichotomous rows, one analysis per study) and its notes."""
    rows, kwargs, source, words, notes = _cell_settings(g, tau2_method, ci_method)
    rec = dict(measure=kwargs["measure"], method=kwargs["method"], model=kwargs["model"],
               analyses=", ".join(dict.fromkeys(g["analysis_id"])), settings_from=source, settings=words,
               estimate=np.nan, ci_low=np.nan, ci_high=np.nan, i2=np.nan)  # fmt: skip
    for col in ("events_e", "n_e", "events_c", "n_c"):
        rec[col] = float(rows[col].sum())
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ma = meta_analysis(rows.reset_index(drop=True), **kwargs)
        notes += [str(w.message) for w in caught]
        res = ma.overall
        rec.update(estimate=float(ma.display(res.estimate)), ci_low=float(ma.display(res.ci_low)),
                   ci_high=float(ma.display(res.ci_high)), i2=float(res.i2))
    except ValueError as err:  # e.g. every study double-zero: RR not estimable
        notes.append(f"{kwargs['measure']} not estimable: {err}")
    return rec, notes


def _group_table(dataset: Any, tau2_method: str | None, ci_method: str,
                 comparator: str | None) -> tuple[pd.DataFrame, list[str]]:
    rows = dataset.rows
    missing = [c for c in _NEEDED if c not in rows.columns]
    if missing:
        raise ValueError(f"dataset.rows lacks column(s) {', '.join(missing)} ({dataset.label})")
    ae = rows[rows["outcome"].isin(AE_OUTCOMES)]
    if comparator is not None:
        ae = ae[ae["comparator"] == comparator]
    if ae.empty:
        raise ValueError(f"no rows with a harm outcome ({', '.join(AE_OUTCOMES)}) and comparator {comparator!r} "
                         f"in {dataset.label}")
    records, all_notes = [], []
    keys = ["outcome", "drug", "route", "comparator"]
    for (outcome, drug, route, comp), g in ae.groupby(keys, sort=False, dropna=False):
        notes = []
        not_dich = g[g["data_type"] != "dichotomous"]
        if len(not_dich):
            notes.append(f"{len(not_dich)} non-dichotomous row(s) not used: {', '.join(not_dich['study'])}")
        g = g[g["data_type"] == "dichotomous"]
        # a study in several analyses of one outcome (the review's subgroup analyses repeat the main analysis):
        # only its rows of the first analysis count; two rows of one analysis (strata, e.g. with and without
        # PTSD) both count
        first = g.groupby("study", sort=False)["analysis_id"].transform("first")
        dup = g[g["analysis_id"] != first]
        if len(dup):
            notes.append("studies in more than one analysis, first analysis used: "
                         + ", ".join(dict.fromkeys(f"{r.study} (analysis {r.analysis_id})" for r in dup.itertuples())))
        g = g[g["analysis_id"] == first]
        rec = dict(family=FAMILY_OF[outcome], outcome=outcome, drug=drug, route=route, comparator=comp, k=len(g),
                   studies="; ".join(dict.fromkeys(g["study"])))
        if len(g):
            pooled, pool_notes = _pool_cell(g, tau2_method, ci_method)
            rec.update(pooled)
            notes += pool_notes
        else:
            rec.update(events_e=0.0, n_e=0.0, events_c=0.0, n_c=0.0, estimate=np.nan, ci_low=np.nan,
                       ci_high=np.nan, i2=np.nan, analyses="", settings_from="", settings="no dichotomous row")
        rec["prop_e"] = rec["events_e"] / rec["n_e"] if rec["n_e"] else np.nan
        rec["prop_c"] = rec["events_c"] / rec["n_c"] if rec["n_c"] else np.nan
        rec["notes"] = " | ".join(dict.fromkeys(notes))
        for note in dict.fromkeys(notes):
            all_notes.append(f"{outcome} / {drug} / {route} / {comp}: {note}")
        records.append(rec)
    table = pd.DataFrame.from_records(records, columns=list(TABLE_COLUMNS))
    table["outcome"] = pd.Categorical(table["outcome"], AE_OUTCOMES, ordered=True)
    table = table.sort_values(keys, kind="stable").reset_index(drop=True)
    table["outcome"] = table["outcome"].astype(str)
    return table, all_notes


def ae_breakdown(dataset: Any, *, tau2_method: str | None = None, ci_method: str = "z",
                 comparator: str | None = "placebo") -> AEBreakdown:
    """Harms (``AE_OUTCOMES``, grouped in ``FAMILIES``) by drug and route, as an :class:`AEBreakdown`.

    ``comparator`` (one of ``helpers.data.schema.COMPARATORS``, default placebo) keeps those rows; None keeps all,
    each comparator its own row, never pooled together. The table has one row per outcome x drug x route x
    comparator with ``k``, the summed arm counts, crude proportions ``prop_e``/``prop_c`` = sum(events)/sum(N), and
    the pooled effect with its 95% CI and I², computed with the settings of the analysis the rows come from
    (``tau2_method`` None, as the forest plots; see the module docstring for a row whose analyses' settings differ)
    or with ``tau2_method`` (``helpers.core.checks.TAU2_METHODS``) and ``ci_method`` (``CI_METHODS``, used with a
    ``tau2_method`` only; the package's own CI method otherwise). Columns ``analyses``, ``settings_from`` and
    ``settings`` say, per row, what was pooled and how; ``notes`` records every study row not used, every
    difference of settings and every warning of the pooling. Each such note is also warned and kept, prefixed
    with its outcome / drug / route / comparator, in ``AEBreakdown.notes``.
    """
    if tau2_method is not None:
        checks.check_choice("tau2_method", tau2_method, checks.TAU2_METHODS)
    checks.check_choice("ci_method", ci_method, checks.CI_METHODS)
    if comparator is not None:
        checks.check_choice("comparator", comparator, COMPARATORS)
    if not (hasattr(dataset, "rows") and hasattr(dataset, "label") and hasattr(dataset, "synthetic")):
        raise TypeError(f"dataset must be a helpers.data.tidy.Dataset; got {type(dataset).__name__}")
    table, notes = _group_table(dataset, tau2_method, ci_method, comparator)
    for note in notes:
        warnings.warn(note, checks.MetaWarning, stacklevel=2)
    return AEBreakdown(tau2_method, ci_method, comparator, str(dataset.label), bool(dataset.synthetic), table,
                       tuple(notes))

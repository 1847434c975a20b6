"""Adverse-event breakdown: the psychotomimetic family vs nausea vs vomiting, and the other harms beside them, by
drug and route (the numbers).

Outcomes are the harms of ``helpers.data.schema.HARMS``, each in a ``FAMILIES`` panel: the psychotomimetic family
(psychotomimetic effects, hallucinations, dissociative symptoms), nausea, vomiting, and the other harms (adverse
events total, serious adverse events, tolerability, withdrawal, sedation, dizziness, headache, other adverse
events). For each outcome x drug x route x comparator: the crude event proportion per arm (sum of events / sum of
participants across the studies, experimental and control) and the pooled risk ratio by Mantel-Haenszel
(``helpers.stats.pooling.mantel_haenszel``, RevMan's method: Greenland & Robins 1985; random effects =
DerSimonian-Laird on the MH-based Q, Cochrane Handbook 10.4.1/10.10.4). :func:`ae_breakdown` returns an
:class:`AEBreakdown`; :func:`helpers.figures.adverse.ae_breakdown_plot` draws it.
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
from helpers.stats.pooling import mantel_haenszel

AE_OUTCOMES = HARMS
#: The panels of the breakdown, in display order: family -> its outcomes (every outcome of AE_OUTCOMES once).
FAMILIES = {
    "Psychotomimetic family": PSYCHOTOMIMETIC_FAMILY,
    "Nausea": ("nausea",),
    "Vomiting": ("vomiting",),
    "Other harms": tuple(o for o in HARMS if o not in (*PSYCHOTOMIMETIC_FAMILY, "nausea", "vomiting")),
}
FAMILY_OF = {o: family for family, outcomes in FAMILIES.items() for o in outcomes}
TABLE_COLUMNS = ("family", "outcome", "drug", "route", "comparator", "k", "studies", "events_e", "n_e", "events_c", "n_c",
                 "prop_e", "prop_c", "rr", "rr_ci_low", "rr_ci_high", "i2", "model", "notes")  # fmt: skip
_NEEDED = ("outcome", "drug", "route", "comparator", "study", "analysis_id", "data_type", "events_e", "n_e",
           "events_c", "n_c")  # fmt: skip


@dataclass(frozen=True, repr=False)
class AEBreakdown(ResultMixin):
    """The AE breakdown of one dataset: ``table`` (one row per outcome x drug x route x comparator, columns
    ``TABLE_COLUMNS``), every note (rows not used, pooling warnings) and the dataset's ``label``/``synthetic``."""

    model: str
    comparator: str | None
    label: str
    synthetic: bool
    table: pd.DataFrame = field(compare=False)
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The breakdown table (a copy)."""
        return self.table.copy()


def _group_table(dataset: Any, model: str, comparator: str | None) -> tuple[pd.DataFrame, list[str]]:
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
                   studies="; ".join(dict.fromkeys(g["study"])), model=model)
        for col in ("events_e", "n_e", "events_c", "n_c"):
            rec[col] = float(g[col].sum())
        rec["prop_e"] = rec["events_e"] / rec["n_e"] if rec["n_e"] else np.nan
        rec["prop_c"] = rec["events_c"] / rec["n_c"] if rec["n_c"] else np.nan
        rec.update(rr=np.nan, rr_ci_low=np.nan, rr_ci_high=np.nan, i2=np.nan)
        if len(g):
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    res = mantel_haenszel(g["events_e"], g["n_e"], g["events_c"], g["n_c"], "RR", model=model,
                                          labels=list(g["study"]))
                notes += [str(w.message) for w in caught]
                rec.update(rr=float(np.exp(res.estimate)), rr_ci_low=float(np.exp(res.ci_low)),
                           rr_ci_high=float(np.exp(res.ci_high)), i2=float(res.i2))
            except ValueError as err:  # e.g. every study double-zero: RR not estimable
                notes.append(f"RR not estimable: {err}")
        rec["notes"] = " | ".join(dict.fromkeys(notes))
        for note in dict.fromkeys(notes):
            all_notes.append(f"{outcome} / {drug} / {route} / {comp}: {note}")
        records.append(rec)
    table = pd.DataFrame.from_records(records, columns=list(TABLE_COLUMNS))
    table["outcome"] = pd.Categorical(table["outcome"], AE_OUTCOMES, ordered=True)
    table = table.sort_values(keys, kind="stable").reset_index(drop=True)
    table["outcome"] = table["outcome"].astype(str)
    return table, all_notes


def ae_breakdown(dataset: Any, *, model: str = "random", comparator: str | None = "placebo") -> AEBreakdown:
    """Harms (``AE_OUTCOMES``, grouped in ``FAMILIES``) by drug and route, as an :class:`AEBreakdown`.

    ``comparator`` (one of ``helpers.data.schema.COMPARATORS``, default placebo) keeps those rows; None keeps all,
    each comparator its own row, never pooled together. The table has one row per outcome x drug x route x
    comparator with ``k``, the summed arm counts, crude proportions ``prop_e``/``prop_c`` = sum(events)/sum(N), and
    the pooled Mantel-Haenszel RR (``model`` in ``helpers.core.checks.MODELS``) with its 95% CI and I²; its
    ``notes`` column records every study row not used and every warning of the pooling. Each such note is also
    warned and kept, prefixed with its outcome / drug / route / comparator, in ``AEBreakdown.notes``.
    """
    checks.check_choice("model", model, checks.MODELS)
    if comparator is not None:
        checks.check_choice("comparator", comparator, COMPARATORS)
    if not (hasattr(dataset, "rows") and hasattr(dataset, "label") and hasattr(dataset, "synthetic")):
        raise TypeError(f"dataset must be a helpers.data.tidy.Dataset; got {type(dataset).__name__}")
    table, notes = _group_table(dataset, model, comparator)
    for note in notes:
        warnings.warn(note, checks.MetaWarning, stacklevel=2)
    return AEBreakdown(model, comparator, str(dataset.label), bool(dataset.synthetic), table, tuple(notes))

"""Risk of bias across studies (RoB 2; Sterne et al. 2019, BMJ 366:l4898; Cochrane Handbook ch. 8): the checked
study x domain judgements (:func:`rob_judgements`) and, per domain, the percent of studies - or of the analysis
weight - judged Low, Some concerns, High or without information (:func:`rob_proportions`; robvis' summary,
McGuinness & Higgins 2021, Res Synth Methods 12:55). :mod:`helpers.figures.robplot` draws both.

A missing judgement is "No information" and counted as such, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from helpers.core.results import ResultMixin
from helpers.data.schema import DRUGS, LIST_SEP, ROB_COLUMNS, ROB_LEVELS

NO_INFO = "No information"
#: The judgements in display order, "No information" last.
CATEGORIES = (*ROB_LEVELS, NO_INFO)


@dataclass(frozen=True, repr=False)
class RobJudgements(ResultMixin):
    """``table``: one row per study (index ``study``, input order), one column per ``ROB_COLUMNS`` domain, each
    cell one of ``CATEGORIES``; ``drug``: the drug the studies were kept for (None: all)."""

    drug: str | None
    k: int
    table: pd.DataFrame = field(compare=False)

    def to_frame(self) -> pd.DataFrame:
        """The judgements table (a copy)."""
        return self.table.copy()


@dataclass(frozen=True, repr=False)
class RobProportions(ResultMixin):
    """``shares``: percent per domain (rows, ``ROB_COLUMNS`` order) and judgement (columns, ``CATEGORIES``), each
    row summing to 100; of studies (``weighted`` False) or of the weights given; ``k`` studies, ``drug`` as in
    :class:`RobJudgements`."""

    drug: str | None
    k: int
    weighted: bool
    shares: pd.DataFrame = field(compare=False)

    def to_frame(self) -> pd.DataFrame:
        """The shares table (a copy)."""
        return self.shares.copy()


def rob_judgements(studies: pd.DataFrame, drug: str | None = None) -> RobJudgements:
    """The RoB 2 judgements of ``studies`` (``Dataset.studies``: columns ``study`` and ``ROB_COLUMNS``), checked.

    ``drug`` (one of ``helpers.data.schema.DRUGS``) keeps the studies whose ``drug`` list contains it. A value
    that is not a RoB 2 judgement is refused naming row, study and field; a missing one is ``NO_INFO``.
    """
    if not isinstance(studies, pd.DataFrame):
        raise TypeError(f"studies must be a DataFrame (Dataset.studies); got {type(studies).__name__}")
    missing = [c for c in ("study", *ROB_COLUMNS) if c not in studies.columns]
    if missing:
        raise ValueError(f"studies lacks column(s): {', '.join(missing)}")
    table = studies
    if drug is not None:
        if drug not in DRUGS:
            raise ValueError(f"drug must be one of {', '.join(DRUGS)}; got {drug!r}")
        if "drug" not in studies.columns:
            raise ValueError("studies has no 'drug' column to filter on")
        lists = studies["drug"].fillna("").astype(str).str.split(LIST_SEP)
        table = studies[lists.apply(lambda ds: drug in ds)]
        if table.empty:
            raise ValueError(f"no studies of {drug!r} in studies")
    out = table[["study", *ROB_COLUMNS]].copy()
    for col in ROB_COLUMNS:
        values = out[col].where(out[col].notna(), NO_INFO)
        bad = ~values.isin(CATEGORIES)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(
                f"row {out.index[i]} (study {out['study'].iloc[i]!r}), field {col}: {values.iloc[i]!r} is not a "
                f"RoB 2 judgement; allowed: {', '.join(ROB_LEVELS)} (or empty)"
            )
        out[col] = values
    if out["study"].duplicated().any():
        raise ValueError(f"duplicate study label(s): {', '.join(out['study'][out['study'].duplicated()])}")
    return RobJudgements(drug=drug, k=len(out), table=out.set_index("study"))


def rob_proportions(studies: pd.DataFrame, weights: Any = None, drug: str | None = None) -> RobProportions:
    """Percent of studies (or of ``weights``) per domain and judgement of :func:`rob_judgements` (``studies``,
    ``drug``): share_dc = 100 sum_{i: judgement_id = c} w_i / sum_i w_i, w_i = 1 without weights.

    ``weights``: None (each study counts once) or a mapping / Series study -> non-negative weight, e.g. the
    ``weight`` column of a ``MetaAnalysis.studies`` or the participants (robvis' weighted summary). Every study
    must have a weight.
    """
    judged = rob_judgements(studies, drug)
    table = judged.table
    if weights is None:
        w = pd.Series(1.0, index=table.index)
    else:
        if not isinstance(weights, Mapping | pd.Series):
            raise TypeError(f"weights must be a mapping or Series study -> weight; got {type(weights).__name__}")
        w = pd.Series(weights, dtype=float)
        absent = [s for s in table.index if s not in w.index]
        if absent:
            raise ValueError(f"weights lacks study(ies): {', '.join(map(str, absent))}")
        w = w.reindex(table.index)
        bad = w[~np.isfinite(w) | (w < 0)]
        if len(bad):
            raise ValueError(f"weights must be finite and >= 0; study {bad.index[0]!r} has {bad.iloc[0]!r}")
        if w.sum() <= 0:
            raise ValueError("weights sum to 0")
    out = pd.DataFrame({c: [float(w[table[d] == c].sum()) for d in ROB_COLUMNS] for c in CATEGORIES},
                       index=list(ROB_COLUMNS))
    return RobProportions(drug=drug, k=judged.k, weighted=weights is not None,
                          shares=out.div(out.sum(axis=1), axis=0) * 100)

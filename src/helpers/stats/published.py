"""The review's published pooled results against the recomputed ones, judged to the printed digits.

A review prints a handful of pooled results in its abstract and key messages (CD015373.pub2: intravenous
ketamine versus placebo, pain immediate term MD -15.79 (-32.09 to 0.51), ...). The review map keeps them, as
printed and with their source, under ``published_results`` (``data/reviews/<review>.yaml``).
:func:`published_concordance` recomputes each analysis overall with the analysis' own settings
(:func:`helpers.stats.settings.analysis_arguments`, as :func:`helpers.stats.concordance.concordance` does),
rounds the estimate and both CI limits to the digits printed (``"-15.79"``: two decimals) and compares them
as text; the number of studies and participants is checked where the review states them.

The printed results belong to one data set: the review's pinned data rows (the review map's
``source.sha256``). For any other data (the synthetic package, another export) nothing is compared and the
result says so (``status`` "not compared"), rather than setting real numbers beside other data.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from helpers.core.results import ResultMixin
from helpers.core.rounding import rounded
from helpers.data.tidy import Dataset
from helpers.data.reviewmap import load_review_map
from helpers.stats.meta import meta_analysis
from helpers.stats.settings import analysis_arguments

STATUSES = ("reproduced", "differs", "not compared")
COLUMNS = ("analysis_id", "label", "measure", "published", "recomputed", "studies", "participants", "status",
           "detail")  # fmt: skip
LIMITS = ("estimate", "ci_low", "ci_high")


def printed_decimals(text: str) -> int:
    """Decimals printed in ``text`` (``"-15.79"``: 2)."""
    exponent = Decimal(text).as_tuple().exponent
    return max(-int(exponent), 0)


def review_published(review: str | Path = "cd015373") -> tuple[list[dict], str, str | None]:
    """(entries, source text, sha256 of the data they belong to) from the review map."""
    path = load_review_map(review).path
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    block = doc.get("published_results") or {}
    entries = list(block.get("results") or [])
    for i, e in enumerate(entries):
        missing = [k for k in ("analysis", "measure", *LIMITS) if k not in e]
        if missing:
            raise ValueError(f"{path}: published_results.results[{i}]: missing {', '.join(missing)}")
    sha = (doc.get("source") or {}).get("sha256")
    return entries, " ".join(str(block.get("source", "")).split()), sha


def _fmt(values: dict, measure: str) -> str:
    return f"{measure} {values['estimate']} ({values['ci_low']} to {values['ci_high']})"


@dataclass(frozen=True, repr=False)
class PublishedConcordance(ResultMixin):
    """Published versus recomputed pooled results; ``table`` has one row per published result (``COLUMNS``)."""

    review: str
    source: str
    n_results: int
    n_reproduced: int
    compared: bool
    table: pd.DataFrame = field(compare=False)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def summary(self) -> str:
        if not self.compared and self.table.empty:
            return f"{self.review}: no published results to compare: {self.source}"
        if not self.compared:
            return f"{self.review}: published results not compared: {self.table['detail'].iloc[0]}"
        lines = [f"{self.review}: {self.n_reproduced} of {self.n_results} published results reproduced to the "
                 f"printed digits (source: {self.source})"]  # fmt: skip
        for r in self.table.itertuples(index=False):
            lines.append(f"  {r.analysis_id} {r.label}: published {r.published}; recomputed {r.recomputed}: "
                         f"{r.status}{'; ' + r.detail if r.detail else ''}")  # fmt: skip
        return "\n".join(lines)


#: What the generic mode's empty result says in place of a source.
GENERIC_SOURCE = "the generic mode applies no review map, so no review's printed results are listed"


def _recompute(rows: pd.DataFrame) -> dict:
    rows, kwargs, _ = analysis_arguments(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ma = meta_analysis(rows, **kwargs)
    o = ma.overall
    return {"estimate": float(ma.display(o.estimate)), "ci_low": float(ma.display(o.ci_low)),
            "ci_high": float(ma.display(o.ci_high)), "k": int(o.k), "measure": ma.measure}  # fmt: skip


def published_concordance(dataset: Dataset, review: str | Path = "cd015373") -> PublishedConcordance:
    """Each published result of ``review`` against its recomputation from ``dataset`` (see module doc).

    A dataset read in the generic mode (``dataset.generic``: no review map applies to it) has no published
    results of a review to compare: an empty result, named after the dataset's own review label."""
    if getattr(dataset, "generic", None):
        return PublishedConcordance(review=str(dataset.review), source=GENERIC_SOURCE, n_results=0, n_reproduced=0,
                                    compared=False, table=pd.DataFrame(columns=list(COLUMNS)))  # fmt: skip
    entries, source, sha = review_published(review)
    name = str(review).upper() if not str(review).endswith((".yaml", ".yml")) else Path(review).stem
    records = []
    compared = sha is not None and dataset.sha256 == sha
    for e in entries:
        aid = str(e["analysis"])
        published = {k: str(e[k]) for k in LIMITS}
        base = {"analysis_id": aid, "label": e.get("label", ""), "measure": e["measure"],
                "published": _fmt(published, e["measure"]), "studies": e.get("studies"),
                "participants": e.get("participants")}  # fmt: skip
        if not compared:
            why = (f"the data ({dataset.label}, sha256 {dataset.sha256[:12]}...) are not the review's pinned data "
                   f"rows (sha256 {str(sha)[:12]}...)")  # fmt: skip
            records.append({**base, "recomputed": "", "status": STATUSES[2], "detail": why})
            continue
        rows = dataset.analysis(aid)
        ours = _recompute(rows)
        shown = {k: rounded(ours[k], printed_decimals(published[k])) for k in LIMITS}
        problems = [f"{k} {shown[k]} vs {published[k]}" for k in LIMITS if shown[k] != published[k]]
        if ours["measure"] != e["measure"]:
            problems.append(f"measure {ours['measure']} vs {e['measure']}")
        if e.get("studies") is not None and ours["k"] != int(e["studies"]):
            problems.append(f"{ours['k']} studies vs {e['studies']}")
        n = int(np.nansum(rows["n_e"]) + np.nansum(rows["n_c"]))
        if e.get("participants") is not None and n != int(e["participants"]):
            problems.append(f"{n} participants vs {e['participants']}")
        records.append({**base, "recomputed": _fmt(shown, ours["measure"]),
                        "status": STATUSES[1] if problems else STATUSES[0], "detail": "; ".join(problems)})  # fmt: skip
    table = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    return PublishedConcordance(review=name, source=source, n_results=len(table),
                                n_reproduced=int((table["status"] == STATUSES[0]).sum()), compared=compared,
                                table=table)  # fmt: skip

"""The verdict a run report opens with: what review, what input, whether its published results were reproduced.

:func:`run_verdict` computes it from the run's dataset and parameters (a small frozen :class:`Verdict`); the
run report (:mod:`helpers.report.index`) draws it first with :func:`verdict_html`. Everything it says comes
from the data, the review map (``data/reviews/<review>.yaml``: citation, pinned file, published results, number
of included trials) and the run's tables, never from literals:

- the review named (title, authors, year, DOI) and the input: the pinned file (its SHA-256 matches the map's) or
  not (``derived from ... modified``, another package, the synthetic default);
- the published results, each recomputed with the review's own analysis settings
  (:func:`helpers.stats.published.published_concordance`): the engine against RevMan;
- when the run departs from the review (``-p estimator=...``, ``-p ci_method=...``, rows added, other bytes),
  a second verdict kept apart: this run's result of each published analysis against the published one, by how
  much it differs and why (the departures named);
- how many of the review's included trials contribute data rows, and the analyses that could not be pooled with
  the reason (no study estimable, e.g. no events in either arm);
- subgroup copies that disagree with their main analysis (:func:`helpers.data.addrows.copy_disagreements`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import pandas as pd

from helpers.core.checks import MetaWarning
from helpers.core.results import ResultMixin
from helpers.data.addrows import added_studies, copy_disagreements
from helpers.data.provenance import Citation, review_citation
from helpers.data.reviewmap import ReviewMapError
from helpers.data.tidy import Dataset
from helpers.report import summary
from helpers.stats.published import LIMITS, printed_decimals, published_concordance, review_published, rounded

#: The run parameters that change how the review's analyses are pooled, and their value under the review's
#: own settings (helpers.report.params: estimator None = each analysis' own settings; ci_method z = Wald).
SETTINGS = {"estimator": None, "ci_method": "z"}
THIS_RUN_COLUMNS = ("analysis_id", "label", "published", "this_run", "status", "difference", "why")


@dataclass(frozen=True, repr=False)
class Verdict(ResultMixin):
    """What a run's report says first (see the module docstring). ``published``: the published results against
    the engine with the review's settings (``helpers.stats.published.COLUMNS``); ``this_run``: each published
    result against this run's (``THIS_RUN_COLUMNS``; empty when the run is the review's own)."""

    label: str
    synthetic: bool
    input_sha256: str
    citation: Citation | None
    pinned: bool
    published_compared: bool
    published: pd.DataFrame = field(compare=False)
    departures: tuple[str, ...] = ()
    this_run: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(THIS_RUN_COLUMNS)),
                                   compare=False)  # fmt: skip
    trials_with_rows: int = 0
    added_trials: tuple[str, ...] = ()
    not_pooled: tuple[tuple[str, str, str], ...] = ()
    copies: tuple[str, ...] = ()
    generic: str | None = None
    #: analyses holding an added study (their per-study weights differ from RevMan's by construction)
    changed_analyses: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        return self.published.copy()

    def summary(self) -> str:
        pinned = "" if self.citation is None else ("; matches the pinned file" if self.pinned else
                                                    "; not the pinned file")
        lines = [f"data: {self.label} (SHA-256 {self.input_sha256[:12]}{pinned})"]
        if self.citation is not None:
            lines.insert(0, f"review: {self.citation}")
        for r in self.published.itertuples(index=False):
            lines.append(f"  {r.analysis_id} {r.label}: published {r.published}; recomputed {r.recomputed or '-'}: "
                         f"{r.status}")
        lines += [f"  departure: {d}" for d in self.departures]
        for r in self.this_run.itertuples(index=False):
            lines.append(f"  this run {r.analysis_id}: {r.this_run}: {r.status}{'; ' + r.difference if r.difference else ''}")
        lines.append(f"trials with data rows: {self.trials_with_rows}"
                     + (f" of {self.citation.trials}" if self.citation and self.citation.trials else ""))
        lines += [f"  not pooled: {a} ({n}): {why}" for a, n, why in self.not_pooled]
        lines += [f"  subgroup copy: {c}" for c in self.copies]
        return "\n".join(lines)

    @property
    def departs(self) -> bool:
        """True when the run's numbers are not the review's by construction: settings changed or other bytes."""
        return bool(self.departures)


def _citation(dataset: Dataset) -> Citation | None:
    if dataset.generic or not dataset.review:
        return None
    try:
        return review_citation(str(dataset.review).lower())
    except ReviewMapError:
        return None


def settings_departures(parameters: dict) -> tuple[str, ...]:
    """The run parameters that are not the review's settings, each in words (empty: the review's own)."""
    out = []
    estimator, ci = parameters.get("estimator"), parameters.get("ci_method") or "z"
    if estimator is not None:
        out.append(f"estimator={estimator}: every analysis pooled by inverse variance with {estimator} "
                   "(the review: each analysis' own settings, random effects DerSimonian-Laird)")
    if ci != SETTINGS["ci_method"]:
        applied = "" if estimator is not None else (" (with the review's own settings the package's CI method is "
                                                    "used; give an estimator to apply it)")
        out.append(f"ci_method={ci} (the review: Wald z){applied}")
    return tuple(out)


def _data_departure(dataset: Dataset, citation: Citation | None) -> tuple[str, ...]:
    """The data's departure from the pinned file, in words: the studies added and where, else that the bytes
    differ."""
    if citation is None or dataset.synthetic or dataset.sha256 == citation.pinned_sha256:
        return ()
    rows = dataset.rows
    added = [f"{s} added to {', '.join(rows.loc[rows['study'] == s, 'analysis_id'].unique())}"
             for s in added_studies(dataset)]
    what = "; ".join(added) if added else "its bytes differ from the pinned file"
    return (f"data: {dataset.label}: {what}",)


def _this_run(dataset: Dataset, review: str, parameters: dict, why: str) -> pd.DataFrame:
    """Each published result against this run's recomputation (this run's data and settings)."""
    entries, _, _ = review_published(review)
    analyses = dataset.analyses()
    records = []
    for e in entries:
        aid = str(e["analysis"])
        published = {k: str(e[k]) for k in LIMITS}
        shown = f"{e['measure']} {published['estimate']} ({published['ci_low']} to {published['ci_high']})"
        base = {"analysis_id": aid, "label": e.get("label", ""), "published": shown}
        if aid not in analyses.index:
            records.append(base | {"this_run": "", "status": "not in the data", "difference": "", "why": why})
            continue
        sel = summary.Selected(aid, analyses.loc[aid], dataset.analysis(aid))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", MetaWarning)
            ma = summary.analyse(sel, parameters.get("estimator"), parameters.get("ci_method") or "z", subgroups=False)
        o = ma.overall
        ours = {k: float(ma.display(getattr(o, k))) for k in LIMITS}
        text = {k: rounded(ours[k], printed_decimals(published[k])) for k in LIMITS}
        differs = any(text[k] != published[k] for k in LIMITS)
        places = max(printed_decimals(published[k]) for k in LIMITS)
        diff = ", ".join(f"{word} {ours[k] - float(published[k]):+.{places}f}"
                         for word, k in zip(("estimate", "lower", "upper"), LIMITS))
        records.append(base | {"this_run": f"{ma.measure} {text['estimate']} ({text['ci_low']} to {text['ci_high']})",
                               "status": "differs" if differs else "same as published",
                               "difference": diff if differs else "", "why": why if differs else ""})  # fmt: skip
    return pd.DataFrame.from_records(records, columns=list(THIS_RUN_COLUMNS))


def _not_pooled(dataset: Dataset) -> tuple[tuple[str, str, str], ...]:
    out = []
    for aid, settings in dataset.analyses().iterrows():
        reason = summary.not_estimable(summary.Selected(aid, settings, dataset.analysis(aid)))
        if reason is not None:
            out.append((aid, str(settings["analysis_name"]), f"no study can enter: {reason}; as in RevMan"))
    return tuple(out)


def run_verdict(dataset: Dataset, parameters: dict | None = None) -> Verdict:
    """The :class:`Verdict` of a run on ``dataset`` with ``parameters`` (``-p`` values; estimator and
    ci_method matter)."""
    parameters = dict(parameters or {})
    citation = _citation(dataset)
    pinned = citation is not None and dataset.sha256 == citation.pinned_sha256
    if citation is not None:
        pub = published_concordance(dataset, str(dataset.review).lower())
        table, compared = pub.to_frame(), pub.compared
    else:
        table, compared = pd.DataFrame(), False
    departures = settings_departures(parameters) + _data_departure(dataset, citation)
    this_run = pd.DataFrame(columns=list(THIS_RUN_COLUMNS))
    if citation is not None and departures and not dataset.synthetic:
        this_run = _this_run(dataset, str(dataset.review).lower(), parameters, "; ".join(departures))
    studies = set(dataset.rows["study"])
    added = added_studies(dataset)
    changed = tuple(dict.fromkeys(dataset.rows.loc[dataset.rows["study"].isin(added), "analysis_id"]))
    return Verdict(label=dataset.label, synthetic=dataset.synthetic, input_sha256=dataset.sha256, citation=citation,
                   pinned=pinned, published_compared=compared, published=table, departures=departures,
                   this_run=this_run, trials_with_rows=len(studies), added_trials=added, changed_analyses=changed,
                   not_pooled=_not_pooled(dataset), copies=tuple(copy_disagreements(dataset)),
                   generic=dataset.generic)  # fmt: skip

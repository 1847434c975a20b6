"""The explorer's certainty line: the GRADE assist (:func:`helpers.stats.certainty.assess`) on the meta-analysis
of the current selection, *proposed by the assist from the data*, recomputed with every change of selection
(leave-one-out, risk-of-bias filter, estimator), with the review map's MID and the authors' judgements."""

from __future__ import annotations

import html
import re
from functools import lru_cache

import pandas as pd

from helpers.data.judgements import load_certainty_inputs
from helpers.stats.certainty import ASSIST, DOMAIN_WORDS, assess

MIN_K = 2  # as helpers.report.sof: a single trial has no body of evidence to rate across
_STRATUM = re.compile(r" \[\d+\]$")  # the explorer's label of a trial's second stratum: "Dadabayev 2020 [2]"


@lru_cache(maxsize=8)
def _inputs(review: str | None):
    return load_certainty_inputs(review)


def certainty_line(dataset, result) -> str:
    """One sentence for an :class:`helpers.explore.selection.Exploration`: the proposed certainty with its
    symbols, the domains it was downgraded for with their reasons, and the domains that could not be rated."""
    meta = getattr(result, "meta", None)
    if meta is None or meta.overall.k < MIN_K:
        return f"Certainty of the evidence: not rated (fewer than {MIN_K} studies in this selection)."
    inputs = _inputs(getattr(dataset, "review", None))
    labels = pd.Series(meta.studies["study"].astype(str).unique())
    rob = dataset.studies.set_index("study").reindex(labels.map(lambda s: _STRATUM.sub("", s)))
    rob = rob.reset_index(drop=True).assign(study=labels)
    cert = assess(meta, result.analysis or "selection", rob, inputs, inputs.mid.get(result.outcome))
    down = [f"{DOMAIN_WORDS[d.domain]} ({d.rating}{', authors' if d.by == 'authors' else ''}: {d.reason})"
            for d in cert.domains if d.downgrade]
    unrated = [DOMAIN_WORDS[d] for d in cert.unrated]
    bound = f" (at most: {', '.join(unrated)} not rated)" if unrated and cert.certainty != "very low" else ""
    partial = [DOMAIN_WORDS[d.domain] for d in cert.domains if d.partial]
    return (f"Certainty of the evidence, {ASSIST}: {cert.symbols} {cert.certainty}{bound}. "
            + ("Downgraded for " + "; ".join(down) if down else "Not downgraded")
            + (f". Rated on partial judgements: {', '.join(partial)}" if partial else "") + ".")


def certainty_html(dataset, result) -> str:
    """:func:`certainty_line` as a paragraph for the explorer's reading panel."""
    return f'<p style="max-width:62em;line-height:1.45">{html.escape(certainty_line(dataset, result))}</p>'

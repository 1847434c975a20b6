"""Certainty of the evidence and the summary-of-findings table as GRADEpro lays it out.

:func:`assess_all` runs the GRADE assist (:func:`helpers.stats.certainty.assess`) on every analysis with at least
``MIN_K`` studies; :func:`certainty_table` is the saved CSV (one column per domain, its reason beside it, then
``certainty``); :func:`sof_table` is the summary of findings (outcome; anticipated absolute effects per 1,000 with
the assumed control risk of the control arms for ratio measures; relative effect (95% CI); participants
(studies); certainty with GRADE's symbols; comments with the reasons for downgrading); :func:`sof_note` is what
is printed with it (the label, the MIDs and the authors' judgements used). Every rating is *proposed by the
assist from the data* (``certainty.ASSIST``), never the review's own.

Absolute effects (Cochrane Handbook ch. 14, 14.1.5.1; Handbook 5.1, 11.5.5): assumed control risk ACR = control
events / control participants summed over the studies that entered; risk with the intervention = ACR x RR, or
OR x ACR / (1 - ACR + OR x ACR) for odds ratios, the same for each CI limit; per 1,000, rounded half up.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from helpers.data.judgements import DOMAINS, CertaintyInputs, load_certainty_inputs
from helpers.data.tidy import Dataset
from helpers.figures.forest_text import fmt
from helpers.report import generic, plan, summary
from helpers.report.htmlparts import num
from helpers.stats.certainty import ASSIST, DOMAIN_WORDS, SYMBOLS, Certainty, assess
from helpers.stats.effects import display_scale
from helpers.stats.precision import participants, threshold_words, thresholds

MIN_K = 2  # studies that entered the analysis: a single trial has no body of evidence to rate across
STEM = "certainty"
#: Columns of the saved certainty table (also when no analysis is rated: the CSV keeps its header).
CERTAINTY_TABLE_COLUMNS = ("analysis_id", "analysis", "comparison", "outcome", "timepoint", "measure", "k",
                           "participants", "threshold", *(key for d in DOMAINS for key in (d, f"{d}_reason")),
                           "certainty", "symbols", "trace", "label", "mid_source", "judgements_source")
CERTAINTY_COLUMN = f"Certainty of the evidence (GRADE), {ASSIST}"
SOF_COLUMNS = ("Outcome", "Risk with comparator", "Risk with intervention", "Relative effect (95% CI)",
               "Participants (studies)", CERTAINTY_COLUMN, "Comments")


def corresponding_risk(acr: float, ratio: float, measure: str) -> float:
    """Risk with the intervention for an assumed control risk ``acr`` and a ratio (RR or OR) on the display
    scale (Handbook 14.1.5.1); for RR capped at 1 (the table then says "capped")."""
    if measure == "RR":
        return min(acr * ratio, 1.0)
    if measure == "OR":
        return ratio * acr / (1 - acr + ratio * acr)
    raise ValueError(f"measure must be one of RR, OR; got {measure!r}")


def per_1000(risk: float) -> int:
    """A risk as events per 1,000, rounded half up (:func:`helpers.figures.forest_text.fmt`, as RevMan)."""
    return int(fmt(risk * 1000, 0))


def _entered(ma) -> pd.DataFrame:
    return ma.studies.dropna(subset=["weight"])


def assess_all(ds: Dataset, drug: str | None = None, inputs: CertaintyInputs | None = None) -> list[tuple]:
    """``(selected, meta-analysis, Certainty)`` for every analysis of ``ds`` (restricted to ``drug``; all
    outcomes) in which at least ``MIN_K`` studies entered, with the package's own settings."""
    inputs = inputs if inputs is not None else load_certainty_inputs(ds.review)
    scoped = plan.only_drug(ds, drug)
    out = []
    for sel in generic.analyses(scoped):
        if sel.rows["study"].nunique() < MIN_K or summary.not_estimable(sel) is not None:
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ma = summary.analyse(sel)
        for w in caught:  # the engine's warnings name no analysis: say which one they are about
            text = str(w.message)
            named = text.startswith(f"analysis {sel.analysis_id}")
            warnings.warn(text if named else f"analysis {sel.analysis_id}: {text}", w.category, stacklevel=2)
        if ma.overall.k < MIN_K:
            continue
        mid = inputs.mid.get(sel.settings["outcome"])
        out.append((sel, ma, assess(ma, sel.analysis_id, ds.studies, inputs, mid)))
    return out


def _threshold(ma, inputs: CertaintyInputs, outcome) -> str:
    mid = inputs.mid.get(outcome)
    t = thresholds(ma.measure, mid)
    if t is None:
        return "null only (no MID for this outcome)"
    source = "MID, review map" if mid is not None else ("GRADE 6 rough guide" if ma.measure in ("RR", "OR")
                                                          else "0.5 SD, GRADE handbook")
    return f"{threshold_words(ma.measure, t)} ({source})"


def certainty_table(assessed: list[tuple], inputs: CertaintyInputs) -> pd.DataFrame:
    """One row per assessed analysis: its names, k, participants, the threshold used, each domain's rating and
    reason, ``certainty`` (words), its symbols, the trace of downgrades and the label ``ASSIST``."""
    rows = []
    for sel, ma, cert in assessed:
        frame = cert.to_frame().iloc[0].to_dict()
        rows.append({"analysis_id": sel.analysis_id, "analysis": sel.settings["analysis_name"],
                     "comparison": ", ".join(map(str, sel.rows["comparison"].dropna().unique())) or None,
                     "outcome": sel.settings["outcome"], "timepoint": sel.settings["timepoint"],
                     "measure": ma.measure, "k": cert.k,
                     "participants": participants(_entered(ma)),
                     "threshold": _threshold(ma, inputs, sel.settings["outcome"]),
                     **{key: frame[key] for d in DOMAINS for key in (d, f"{d}_reason")},
                     "certainty": cert.certainty, "symbols": cert.symbols, "trace": cert.trace, "label": ASSIST,
                     "mid_source": inputs.mid_source, "judgements_source": inputs.judgements_source})
    return pd.DataFrame.from_records(rows, columns=list(CERTAINTY_TABLE_COLUMNS))


def _difference_words(x: float) -> str:
    return f"{fmt(abs(x), 2)} {'lower' if x < 0 else 'higher'}" if x != 0 else "0.00"


def _effects(ma) -> tuple[str, str, str]:
    """(risk with comparator, risk with intervention, relative effect) as GRADEpro writes them."""
    res, st = ma.overall, _entered(ma)
    if ma.measure in ("RR", "OR"):
        est, lo, hi = (float(display_scale(x, ma.measure)) for x in (res.estimate, res.ci_low, res.ci_high))
        relative = f"{ma.measure} {fmt(est, 2)} ({fmt(lo, 2)} to {fmt(hi, 2)})"
        control = st[["events_c", "n_c"]].to_numpy(float) if {"events_c", "n_c"} <= set(st.columns) else np.full((1, 2), np.nan)
        if len(control) == 0 or np.isnan(control).any():  # e.g. generic inverse variance rows: no arm counts
            return (f"{summary.NOT_IN_DATA} (rows without control events)", f"{summary.NOT_IN_DATA} (no control risk)", relative)
        acr = float(control[:, 0].sum() / control[:, 1].sum())
        if acr == 0:  # no control events: a ratio says nothing per 1,000
            return "0 per 1,000 (no events in the control arms)", "not estimable (no control events)", relative
        risk = [f"{per_1000(corresponding_risk(acr, r, ma.measure))}" + (" (capped)" if acr * r > 1 and
                ma.measure == "RR" else "") for r in (est, lo, hi)]
        return f"{per_1000(acr)} per 1,000", f"{risk[0]} per 1,000 ({risk[1]} to {risk[2]})", relative
    if ma.measure in ("MD", "SMD"):
        means = st["mean_c"].dropna() if "mean_c" in st else st.iloc[0:0]  # generic inverse variance rows: none
        comparator = ("—" if ma.measure == "SMD" else f"{summary.NOT_IN_DATA} (rows without control means)"
                      if means.empty else f"control means {fmt(means.min(), 1)} to {fmt(means.max(), 1)}")
        return (comparator, f"{ma.measure} {_difference_words(res.estimate)} ({_difference_words(res.ci_low)} to "
                f"{_difference_words(res.ci_high)})", "—")
    return ("—", f"{ma.measure} {fmt(res.estimate, 3)} ({fmt(res.ci_low, 3)} to {fmt(res.ci_high, 3)})", "—")


def _comments(cert: Certainty) -> str:
    down = [f"{DOMAIN_WORDS[d.domain]} {d.rating}{' (authors)' if d.by == 'authors' else ''}: {d.reason}"
            for d in cert.domains if d.downgrade]
    return "Downgraded for " + "; ".join(down) if down else "Not downgraded"


def sof_table(assessed: list[tuple], main_only: bool = True) -> pd.DataFrame:
    """The summary of findings, one row per analysis (``main_only``: the review's subgroup analyses, which
    repeat their main analysis's studies, left out), columns ``SOF_COLUMNS``."""
    rows = []
    for sel, ma, cert in assessed:
        if main_only and set(sel.rows["subgroup_by"].dropna()) & set(plan.REVIEW_SUBGROUPS):
            continue
        comparator, intervention, relative = _effects(ma)
        rows.append({"Outcome": f"{sel.analysis_id} {sel.settings['analysis_name']}",
                     "Risk with comparator": comparator, "Risk with intervention": intervention,
                     "Relative effect (95% CI)": relative,
                     "Participants (studies)": f"{num(participants(_entered(ma)), whole=True) or summary.NOT_IN_DATA} ({cert.k})",
                     CERTAINTY_COLUMN: f"{cert.symbols} {cert.certainty.capitalize()}"
                     + (f" (at most: {len(cert.unrated)} domains not rated)" if cert.unrated and
                        cert.certainty != "very low" else ""),
                     "Comments": _comments(cert)})
    return pd.DataFrame.from_records(rows, columns=list(SOF_COLUMNS))


def sof_note(inputs: CertaintyInputs, ds: Dataset, assessed: list | None = None) -> str:
    """Markdown printed with the table: what the ratings are, the MIDs and authors' judgements used; with
    ``assessed`` empty, that no analysis has enough studies to rate."""
    if assessed is not None and not assessed:
        return (f"> **Not available in this dataset.** {ds.label} has no analysis with at least {MIN_K} studies "
                "for this selection, so there is no certainty of evidence to rate.")
    mids = "; ".join(f"{o.replace('_', ' ')} {v:g}" for o, v in inputs.mid.items()) or "none given"
    lines = [f"> **Certainty {ASSIST}**, not the review's own rating: each domain's reason is in the comments "
             f"and in the saved table. Data: {ds.label}; every analysis pooled with the package's own settings.",
             f"> MID (review map): {mids}" + (f". Source: {inputs.mid_source.rstrip('.')}" if inputs.mid_source else "") + ".",
             "> Ratio measures: thresholds RR/OR 0.75 and 1.25 (GRADE guidance 6); SMD 0.5 SD unless a MID is given.",
             ("> Authors' judgements used: " + f"{sum(len(v) for v in inputs.judgements.values())} "
              f"from {inputs.judgements_path} ({inputs.judgements_source})." if inputs.judgements else
              "> Authors' judgements: none given" + (f" ({inputs.judgements_path} holds none)" if
                                                       inputs.judgements_path else "") +
              "; indirectness is therefore not assessed."),
             "> " + ", ".join(f"{s} {w}" for w, s in SYMBOLS.items()) + ". Analyses with fewer than "
             f"{MIN_K} studies are not rated."]
    return "\n".join(lines)


def sof_view(table: pd.DataFrame):
    """:func:`sof_table` for a notebook: a Styler without the row index, with a fixed id (byte-stable HTML)."""
    if table.empty:
        return table
    return table.style.hide(axis="index").set_uuid("sof_grade").set_properties(
        subset=[CERTAINTY_COLUMN], **{"white-space": "nowrap"})


def certainty_stem(ds: Dataset, drug: str | None) -> str:
    """``certainty_<drug>`` (``certainty`` for all drugs); ``certainty_analyses`` in the generic mode."""
    return f"{STEM}_analyses" if generic.is_generic(ds) else plan.scoped(STEM, drug)


"""The generic mode of a run: the analyses of a package no review map applies to, per comparison and outcome.

A dataset read in the generic mode (:mod:`helpers.data.mapmode`; ``Dataset.generic`` says why) has no drug,
route, comparator, outcome or time point: only what the package itself says. Its analyses are then run and
drawn as RevMan groups them: one forest plot per analysis (its own subgroups, its own settings), titled as in
RevMan ("Comparison <n>: <analysis group name>" / "Outcome <n.m>: <analysis name>"), named
``forest_analysis_<n>_<m>_<first words of the analysis name>``, and one funnel plot per analysis with at least
``MIN_K_FUNNEL`` = 10 studies (``funnel_analysis_...``; the others listed as not drawn, with their k).

The notebooks call the functions below for both modes: on a mapped dataset each returns exactly what the
drug / route / outcome planning of :mod:`helpers.report.plan` and :mod:`helpers.report.summary` returns.
"""

from __future__ import annotations

import re
import textwrap

import pandas as pd

from helpers.data.tidy import Dataset
from helpers.report import plan, summary
from helpers.stats.certainty import MIN_K_PUBLICATION

#: Fewest studies for a funnel plot of a package's analysis: the Cochrane Handbook's 10 (13.3.5.4: "tests for
#: funnel plot asymmetry should be used only when there are at least 10 studies"; below that the plot cannot tell
#: asymmetry from chance). The mapped review's own plan keeps ``plan.MIN_K_FUNNEL``, each plot noting k < 10.
MIN_K_FUNNEL = MIN_K_PUBLICATION
#: Longest line of a generic figure's title (characters): a package's analysis name can run to 200 characters and
#: more (CD012891), which shrinking the font to its minimum still clipped at the figure's right edge; longer lines
#: are wrapped at words (the figures reserve one title line per line of the title).
TITLE_CHARS = 100
#: Words of the analysis name kept in a generic figure's file stem.
STEM_WORDS = 6
#: Table stems in the generic mode, by the table's kind: one table covers every analysis of the package (the
#: mapped stems name an outcome and a drug, which a generic package does not have).
GENERIC_TABLE_STEMS = {"summary_of_findings": "summary_of_findings_analyses",
                       "small_study_effects": "small_study_effects_analyses"}


def is_generic(ds: Dataset) -> bool:
    """True when ``ds`` was read in the generic mode (no review map applied)."""
    return getattr(ds, "generic", None) is not None


def analyses(ds: Dataset) -> list[summary.Selected]:
    """Every analysis of ``ds`` as a :class:`summary.Selected`, in analysis order (not-estimable ones too)."""
    table = ds.analyses()
    return [summary.Selected(aid, table.loc[aid], ds.analysis(aid)) for aid in table.index]


def selections(ds: Dataset, outcomes: tuple[str, ...], drug=None, route=None, timepoint=None) -> list:
    """The analyses a notebook pools: every analysis in the generic mode, else those of ``outcomes`` matching
    drug, route and time point (:func:`summary.select_all`)."""
    if is_generic(ds):
        return [sel for sel in analyses(ds) if summary.not_estimable(sel) is None]
    return summary.select_all(ds, outcomes, drug, route, timepoint)


def title(sel: summary.Selected) -> str:
    """RevMan's two-line title from the package's own names (a line longer than ``TITLE_CHARS`` wrapped)."""
    names = sel.rows["comparison"].dropna().unique()
    comparison = f": {names[0]}" if len(names) else " (its name is not in the data)"
    subgroups = " [subgroups: as in the package]" if sel.has_subgroups else ""
    lines = (f"Comparison {sel.analysis_id.split('.')[0]}{comparison}",
             f"Outcome {sel.analysis_id}: {sel.settings['analysis_name']}{subgroups}")
    return "\n".join(textwrap.fill(line, TITLE_CHARS, subsequent_indent="  ") for line in lines)


def stem(kind: str, sel: summary.Selected) -> str:
    """``<kind>_analysis_<n>_<m>_<first STEM_WORDS words of the analysis name>``, lower case."""
    words = re.sub(r"[^0-9a-z]+", " ", str(sel.settings["analysis_name"]).lower()).split()[:STEM_WORDS]
    return "_".join([kind, sel.stem, *words])


def forest_plan(ds: Dataset, outcomes: tuple[str, ...], drug=None, route=None, timepoint=None) -> plan.FigurePlan:
    """Generic mode: one forest plot per analysis; else :func:`plan.forest_plan` of the arguments."""
    if not is_generic(ds):
        return plan.forest_plan(ds, outcomes, drug, route, timepoint)
    specs = [plan.FigureSpec("forest", stem("forest", sel), title(sel), sel, None, subgroups=sel.has_subgroups)
             for sel in analyses(ds)]
    return plan.collect(specs, plan.MIN_K_FOREST)


def funnel_plan(ds: Dataset, outcome: str, drug=None, route=None, timepoint=None) -> plan.FigurePlan:
    """Generic mode: one funnel plot per analysis with at least ``MIN_K_FUNNEL`` studies (the others skipped,
    "not drawn: k = <k> < 10"); else :func:`plan.funnel_plan` of the arguments."""
    if not is_generic(ds):
        return plan.funnel_plan(ds, outcome, drug, route, timepoint)
    specs = [plan.FigureSpec("funnel", stem("funnel", sel), title(sel), sel, None, False) for sel in analyses(ds)]
    return plan.collect(specs, MIN_K_FUNNEL)


def bias_groups(ds: Dataset, outcome: str, drug=None, route=None, timepoint=None) -> list:
    """Generic mode: every estimable analysis as one group; else :func:`summary.bias_groups` of the arguments."""
    if not is_generic(ds):
        return summary.bias_groups(ds, outcome, drug, route, timepoint)
    return [(sel, None, sel.rows) for sel in selections(ds, ())]


def summary_of_findings(ds: Dataset, results: list) -> pd.DataFrame:
    """:func:`summary.summary_of_findings`; in the generic mode the package's comparison replaces the empty
    drug, route and time point columns."""
    sof = summary.summary_of_findings(results)
    if not is_generic(ds) or sof.empty:
        return sof
    names = {sel.analysis_id: ", ".join(map(str, sel.rows["comparison"].dropna().unique())) for sel, _ in results}
    sof = sof.drop(columns=["drug", "route", "timepoint"])
    sof.insert(1, "comparison", sof["analysis_id"].map(names))
    return sof


def table_stem(ds: Dataset, kind: str, stem_: str) -> str:
    """The stem of a table of ``kind`` (a key of ``GENERIC_TABLE_STEMS``): ``stem_`` when a review map applied,
    else the generic mode's stem for that kind."""
    if kind not in GENERIC_TABLE_STEMS:
        raise ValueError(f"kind must be one of {', '.join(GENERIC_TABLE_STEMS)}; got {kind!r}")
    return GENERIC_TABLE_STEMS[kind] if is_generic(ds) else stem_

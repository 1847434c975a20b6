"""What a run draws and executes: figure names and titles, and which notebooks run once per drug.

Planning only: :mod:`helpers.report.render` computes and draws each planned figure.

Figures a journal expects (issues 4 and 13), one file stem each, built from the tidy vocabulary so names are
stable and descriptive. The same rules serve the real review (each route its own comparison; subgroup analyses
by duration of administration, clinical condition and dose) and a package whose analyses hold several routes:

- the review's forest plot of each analysis, with the package's own subgroups:
  ``forest_<drug>_<comparator>[_<route>]_<outcome>[_<timepoint>][_crossover][_by_<dimension>]``; the route is
  left out when the analysis holds several routes (they are then its subgroups), and ``_by_<dimension>`` names
  the review's subgroup analyses (``duration``, ``condition``, ``dose``);
- for an analysis holding several routes, one plot per route (same stem with the route);
- a re-analysis the review did not do: one plot per drug x comparator x outcome x time point pooling the
  analyses of the different routes (comparisons), routes as subgroups:
  ``forest_reanalysis_<drug>_<comparator>_by_route_<outcome>[_<timepoint>]`` (drawn when at least two analyses
  of different routes combine; analyses with the same settings only; the titles say "re-analysis");
- funnel plot per drug x route of each analysis (k >= ``MIN_K_FUNNEL``; the review's subgroup analyses repeat
  their main analysis's studies and get none): ``funnel_<drug>_<comparator>_<route>_<outcome>[_<timepoint>]``
- RoB 2 per drug: ``rob_traffic_light_<drug>``, ``rob_summary_<drug>``

The time point is left out for harms reported at ``any`` time. An analysis of crossover trials entered as
paired mean differences (generic inverse variance) gets ``_crossover`` after the time point, since RevMan keeps
it apart from the parallel-group analysis of the same outcome and time point. A forest plot needs at least
``MIN_K_FOREST`` studies (one: the review draws every analysis, single trials included, and so many of its
13 comparisons have only one trial); every plot not drawn is listed in the plan's ``skipped`` with the reason. Titles read as RevMan's: "Comparison <n>:
<comparison>" then "Outcome <n.m>: <analysis name>".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, replace
from types import MappingProxyType

import pandas as pd

from helpers.stats import bias
from helpers.stats.adverse import AE_OUTCOMES  # the adverse-event notebook's (03) outcomes; defined there
from helpers.report import summary
from helpers.data.tidy import Dataset
from helpers.data.schema import DRUGS, HARMS, LIST_SEP, OUTCOME_LABELS, UNKNOWN

#: Notebooks the runner executes once per drug present in the data (``drug=<drug>``); the others run once.
PER_DRUG_NOTEBOOKS = ("01_efficacy.ipynb", "02_small_study_effects.ipynb", "03_adverse_events.ipynb")
#: Separator between a notebook's stem and its drug in execution names: ``01_efficacy--ketamine.ipynb``.
EXECUTION_SEP = "--"
#: Outcomes of the efficacy notebook (01): every outcome that is not a harm, in ``schema.OUTCOMES`` order.
EFFICACY_OUTCOMES = tuple(o for o in OUTCOME_LABELS if o not in HARMS)
#: The review's own subgroup dimensions: such an analysis repeats its main analysis split by that dimension.
REVIEW_SUBGROUPS = ("duration", "condition", "dose")
#: Comparators a re-analysis across routes may pool (another medicine differs between comparisons).
POOLABLE_COMPARATORS = ("placebo", "usual_care")
REANALYSIS_NOTE = "Re-analysis not in the review"
MIN_K_FOREST = 1  # every analysis gets its forest plot, as in the review (a single trial shows its own estimate)
MIN_K_FUNNEL = bias.MIN_K

COMPARATOR_WORDS = MappingProxyType({"placebo": "placebo", "usual_care": "usual care", "active": "active comparator",
                                     UNKNOWN: "comparator unknown"})  # fmt: skip
ROUTE_WORDS = MappingProxyType({"intravenous": "intravenous route", "oral": "oral route", "topical": "topical route",
                                "intramuscular": "intramuscular route", "other": "other routes",
                                UNKNOWN: "route unknown"})  # fmt: skip
OUTCOME_WORDS = MappingProxyType({**OUTCOME_LABELS, "pain_intensity": "pain intensity (0-100)"})
SUBGROUP_WORDS = MappingProxyType({"duration": "duration of administration", "condition": "clinical condition",
                                   "dose": "medicine dose", "route": "route", None: "as in the package"})
TIMEPOINT_WORDS = MappingProxyType({"immediate": "immediate term", "short": "short term", "medium": "medium term",
                                    "long": "long term", "any": None})  # fmt: skip


@dataclass(frozen=True)
class FigureSpec:
    """One figure to draw: its file stem, title in words, the selected analysis (rows already restricted to
    ``route`` when given), ``route`` None when the plot spans several routes, ``subgroups`` whether the plot
    shows subgroups (the package's own, or routes in a re-analysis) and ``reanalysis`` True for a pooling the
    review did not do."""

    kind: str
    stem: str
    title: str
    selected: summary.Selected
    route: str | None
    subgroups: bool = True
    reanalysis: bool = False

    @property
    def k(self) -> int:
        return int(self.selected.rows["study"].nunique())

    def facts(self) -> FigureFacts:
        """What this figure shows, recorded for the run's figure index (never parsed back from its stem)."""
        sel = self.selected
        comparators = sorted(sel.rows["comparator"].dropna().astype(str).unique())
        names = sel.rows["comparison"].dropna().unique() if "comparison" in sel.rows else []
        return FigureFacts(self.stem, self.kind, sel.drug, LIST_SEP.join(comparators) or None, self.route,
                           sel.analysis_id, str(sel.settings["outcome"]), str(sel.settings["timepoint"]),
                           str(_group_number(sel.analysis_id)), str(names[0]) if len(names) == 1 else None,
                           self.reanalysis)


@dataclass(frozen=True)
class FigureFacts:
    """What one figure of a run shows, as the planner knows it: ``drug`` and ``comparator`` (several joined
    by ``schema.LIST_SEP``, as in the tidy rows), ``route`` (None: several), ``analysis`` (the
    package's analysis id; ``a+b`` for a re-analysis), ``outcome``, ``timepoint``, ``comparison_number`` and
    ``comparison`` (the package's name, when one), ``reanalysis``. Figures that belong to no analysis (data
    overview, RoB, adverse-event breakdown) carry their drug only. Written to the manifest's ``figures``
    section by the runner; the run report groups by these, not by the file name."""

    stem: str
    kind: str
    drug: str | None = None
    comparator: str | None = None
    route: str | None = None
    analysis: str | None = None
    outcome: str | None = None
    timepoint: str | None = None
    comparison_number: str | None = None
    comparison: str | None = None
    reanalysis: bool = False

    def to_dict(self) -> dict:
        """The facts without the stem (the index's key), JSON-ready."""
        return {k: v for k, v in asdict(self).items() if k != "stem"}


@dataclass(frozen=True)
class FigurePlan:
    """Figures to draw and those not drawn (``skipped``: ``(stem, reason)`` pairs)."""

    figures: tuple[FigureSpec, ...]
    skipped: tuple[tuple[str, str], ...]

    def to_frame(self) -> pd.DataFrame:
        """One row per figure, drawn or skipped: stem, kind, k, analysis, title, status."""
        drawn = [{"stem": f.stem, "kind": f.kind, "k": f.k, "analysis_id": f.selected.analysis_id, "title": f.title,
                  "status": "drawn"} for f in self.figures]
        return pd.DataFrame.from_records(drawn + [{"stem": s, "status": reason} for s, reason in self.skipped],
                                         columns=["stem", "kind", "k", "analysis_id", "title", "status"])


def efficacy_outcomes(outcome: str | None) -> tuple[str, ...]:
    """The outcomes notebook 01 covers: ``(outcome,)`` when one is given, else ``EFFICACY_OUTCOMES``."""
    return EFFICACY_OUTCOMES if outcome is None else (outcome,)


def drugs_present(ds: Dataset) -> tuple[str, ...]:
    """Drugs with at least one analysed row in ``ds``, in ``schema.DRUGS`` order."""
    found = set(ds.rows["drug"].dropna().astype(str).str.split(LIST_SEP).explode())
    return tuple(d for d in DRUGS if d in found)


def execution_name(notebook: str, drug: str | None) -> str:
    """``01_efficacy.ipynb`` + ``ketamine`` -> ``01_efficacy--ketamine.ipynb``; no drug: the notebook name."""
    if drug is None:
        return notebook
    stem = notebook.removesuffix(".ipynb")
    return f"{stem}{EXECUTION_SEP}{drug}.ipynb"


def scoped(stem: str, drug: str | None) -> str:
    """Table stem of a per-drug execution: ``summary_of_findings`` -> ``summary_of_findings_ketamine``."""
    return stem if drug is None else f"{stem}_{drug}"


def _slug(drug_label: str) -> str:
    return drug_label.replace(LIST_SEP, "_and_")


def _comparator(sel: summary.Selected) -> str:
    values = sorted(sel.rows["comparator"].dropna().astype(str).unique())
    return "_and_".join(values) or "unknown_comparator"


def _crossover(sel: summary.Selected) -> bool:
    return sel.settings["data_type"] == "giv" and bool((sel.rows["design"] == "crossover").all())


def _routes(sel: summary.Selected) -> list[str]:
    return sorted(sel.rows["route"].dropna().astype(str).unique())


def _subgroup_by(sel: summary.Selected) -> str | None:
    values = sel.rows["subgroup_by"].dropna().unique() if "subgroup_by" in sel.rows else []
    return str(values[0]) if len(values) == 1 else None


def _group_number(analysis_id: str) -> str:
    return str(analysis_id).split(".")[0]


def _comparison_words(sel: summary.Selected) -> str:
    """The comparison's name from the package or review map, else drug versus comparator in words."""
    names = sel.rows["comparison"].dropna().unique() if "comparison" in sel.rows else []
    if len(names) == 1:
        return str(names[0])
    drug = " and ".join(d.capitalize() for d in sel.drug.split(LIST_SEP))
    comparator = " and ".join(COMPARATOR_WORDS.get(c, c) for c in _comparator(sel).split("_and_"))
    return f"{drug} versus {comparator}"


def _words(sel: summary.Selected, route: str | None, split: bool, note_subgroups: bool = True) -> str:
    """RevMan-like two-line title: "Comparison <n>: <comparison>[, <route> only]" / "Outcome <id>: <name>"."""
    only = f", {ROUTE_WORDS.get(route, route)} only" if split and route else ""
    name = str(sel.settings["analysis_name"])
    named = "subgroup" in name.lower()  # the review's names say "...: duration of administration subgroup analysis"
    subgroups = f" [subgroups: {SUBGROUP_WORDS[_subgroup_by(sel)]}]" if note_subgroups and sel.has_subgroups and not (split or named) else ""
    return (f"Comparison {_group_number(sel.analysis_id)}: {_comparison_words(sel)}{only}\n"
            f"Outcome {sel.analysis_id}: {name}{subgroups}")


def _reanalysis_words(sel: summary.Selected, ids: list[str]) -> str:
    drug = " and ".join(d.capitalize() for d in sel.drug.split(LIST_SEP))
    comparator = " and ".join(COMPARATOR_WORDS.get(c, c) for c in _comparator(sel).split("_and_"))
    time = TIMEPOINT_WORDS.get(sel.settings["timepoint"])
    return (f"{REANALYSIS_NOTE}: {drug} versus {comparator}, routes as subgroups (analyses {', '.join(ids)})\n"
            f"Outcome: {OUTCOME_WORDS.get(sel.settings['outcome'], sel.settings['outcome'])}"
            f"{', ' + time if time else ''}")


def stem_for(kind: str, sel: summary.Selected, route: str | None) -> str:
    """``<kind>_<drug>_<comparator>[_<route>]_<outcome>[_<timepoint>][_crossover][_by_<dimension>]``."""
    parts = [kind, _slug(sel.drug), _comparator(sel)]
    if route:
        parts.append(route)
    parts.append(sel.settings["outcome"])
    if TIMEPOINT_WORDS.get(sel.settings["timepoint"]):
        parts.append(sel.settings["timepoint"])
    if _crossover(sel):
        parts.append("crossover")
    by = _subgroup_by(sel)
    if by in REVIEW_SUBGROUPS and sel.has_subgroups:
        parts.append(f"by_{by}")
    return "_".join(parts)


def _unique(specs: list[FigureSpec]) -> tuple[FigureSpec, ...]:
    """Stems shared by two analyses (not expected in a RevMan package) get ``_analysis_<id>`` appended."""
    counts = Counter(s.stem for s in specs)
    return tuple(replace(s, stem=f"{s.stem}_analysis_{s.selected.stem.removeprefix('analysis_')}")
                 if counts[s.stem] > 1 else s for s in specs)


def _review_plots(sel: summary.Selected) -> list[FigureSpec]:
    """The review's plot of one analysis (its own subgroups), and one per route when it holds several."""
    routes = _routes(sel)
    if len(routes) <= 1:
        route = routes[0] if routes else None
        return [FigureSpec("forest", stem_for("forest", sel, route), _words(sel, route, False), sel, route,
                           subgroups=sel.has_subgroups)]  # fmt: skip
    specs = [FigureSpec("forest", stem_for("forest", sel, None), _words(sel, None, False), sel, None)]
    for r, rows in summary.route_groups(sel):
        part = replace(sel, rows=rows)
        specs.append(FigureSpec("forest", stem_for("forest", part, r), _words(part, r, True), part, r, subgroups=False))
    return specs


_SAME = ("outcome", "timepoint", "data_type", "measure", "method", "model")


def _reanalyses(sels: list[summary.Selected]) -> tuple[list[FigureSpec], list[tuple[str, str]]]:
    """Pool the main analyses (not the review's subgroup analyses) of one drug x comparator x outcome x time
    point across routes, routes as subgroups; only analyses with the same settings, only poolable comparators."""
    groups: dict[tuple, list[summary.Selected]] = {}
    for sel in sels:
        if _subgroup_by(sel) in REVIEW_SUBGROUPS or len(_routes(sel)) != 1:
            continue
        key = (sel.drug, _comparator(sel), sel.settings["outcome"], sel.settings["timepoint"], _crossover(sel))
        groups.setdefault(key, []).append(sel)
    specs, skipped = [], []
    for (drug, comparator, outcome, timepoint, crossover), members in groups.items():
        routes = {_routes(m)[0] for m in members}
        if len(members) < 2 or len(routes) < 2:
            continue
        ids = [m.analysis_id for m in members]
        first = members[0]
        time = f"_{timepoint}" if TIMEPOINT_WORDS.get(timepoint) else ""
        stem = f"forest_reanalysis_{_slug(drug)}_{comparator}_by_route_{outcome}{time}{'_crossover' if crossover else ''}"
        settings = {tuple(m.settings[c] for c in _SAME) for m in members}
        if comparator not in POOLABLE_COMPARATORS:
            skipped.append((stem, f"not drawn: {comparator!r} comparators are not pooled across comparisons (analyses {', '.join(ids)})"))
            continue
        if len(settings) > 1:
            skipped.append((stem, f"not drawn: analyses {', '.join(ids)} differ in data type, measure or method"))
            continue
        rows = pd.concat([m.rows for m in members], ignore_index=True)
        rows["subgroup"] = [ROUTE_WORDS.get(r, r).removesuffix(" route").capitalize() for r in rows["route"]]
        settings_row = first.settings.copy()
        settings_row["analysis_name"] = f"{REANALYSIS_NOTE} (analyses {', '.join(ids)})"
        combined = summary.Selected("+".join(ids), settings_row, rows)
        specs.append(FigureSpec("forest", stem, _reanalysis_words(combined, ids), combined, None, reanalysis=True))
    return specs, skipped


def forest_plan(ds: Dataset, outcomes: tuple[str, ...], drug: str | None = None, route: str | None = None,
                timepoint: str | None = None, min_k: int = MIN_K_FOREST, reanalysis: bool = True) -> FigurePlan:
    """Forest plots of every selected analysis of ``outcomes``: the review's plot of each analysis (its own
    subgroups), one per route when an analysis holds several, and (``reanalysis``, unless ``route`` is given)
    the re-analyses across routes; each drawn when it has at least ``min_k`` studies."""
    specs, skipped = [], []
    for outcome in outcomes:
        sels = list(summary.select(ds, outcome, drug, route, timepoint, estimable_only=False))
        for sel in sels:
            specs += _review_plots(sel)
        if reanalysis and route is None:
            more, why = _reanalyses(sels)
            specs += more
            skipped += why
    plan_ = collect(specs, min_k)
    return FigurePlan(plan_.figures, plan_.skipped + tuple(skipped))


def funnel_plan(ds: Dataset, outcome: str, drug: str | None = None, route: str | None = None,
                timepoint: str | None = None, min_k: int = MIN_K_FUNNEL) -> FigurePlan:
    """Funnel plots per drug x route of every selected analysis with at least ``min_k`` studies (below 10 the
    plot itself notes the low power); the review's subgroup analyses (same studies as their main analysis) get
    none."""
    specs = []
    for sel in summary.select(ds, outcome, drug, route, timepoint, estimable_only=False):
        if _subgroup_by(sel) in REVIEW_SUBGROUPS:
            continue
        split = len(_routes(sel)) > 1
        for r, rows in summary.route_groups(sel):
            part = replace(sel, rows=rows)
            specs.append(FigureSpec("funnel", stem_for("funnel", part, r), _words(part, r, split, False), part, r, False))
    return collect(specs, min_k)


def collect(specs: list[FigureSpec], min_k: int) -> FigurePlan:
    """A plan of the figures with k >= ``min_k``; the others are listed as skipped."""
    figures, skipped = [], []
    for spec in specs:
        why = summary.not_estimable(spec.selected)
        if spec.k < min_k:
            skipped.append((spec.stem, f"not drawn: k = {spec.k} < {min_k}"))
        elif why:
            skipped.append((spec.stem, f"not drawn: not estimable, as in RevMan (every study: {why})"))
        else:
            figures.append(spec)
    return FigurePlan(_unique(figures), tuple(skipped))


def rob_stems(drug: str) -> tuple[str, str]:
    """``(traffic-light stem, weighted-summary stem)`` of one drug."""
    return f"rob_traffic_light_{drug}", f"rob_summary_{drug}"


def only_drug(ds: Dataset, drug: str | None) -> Dataset:
    """``ds`` with its analysed rows restricted to ``drug`` (None: unchanged), e.g. for one drug's AE breakdown."""
    if drug is None:
        return ds
    keep = ds.rows["drug"].astype(str).str.split(LIST_SEP).apply(lambda values: drug in values)
    return replace(ds, rows=ds.rows[keep].reset_index(drop=True))

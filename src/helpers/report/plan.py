"""What a run draws and executes: figure names and titles, and which notebooks run once per drug.

Figures a journal expects (issue 4), one file stem each, built from the tidy vocabulary so names are stable
and descriptive:

- forest plot per analysis with routes as subgroups: ``forest_<drug>_<comparator>_<outcome>[_<timepoint>]``
- forest plot per route of each analysis: ``forest_<drug>_<comparator>_<route>_<outcome>[_<timepoint>]``
- funnel plot per drug x route of each analysis (k >= ``MIN_K_FUNNEL``):
  ``funnel_<drug>_<comparator>_<route>_<outcome>[_<timepoint>]``
- RoB 2 per drug: ``rob_traffic_light_<drug>``, ``rob_summary_<drug>``

The time point is left out for adverse-event outcomes (``any``). An analysis of crossover trials entered as
paired mean differences (generic inverse variance) gets ``_crossover`` after the time point, since RevMan keeps
it apart from the parallel-group analysis of the same outcome and time point. A forest plot needs at least
``MIN_K_FOREST`` studies (one trial is not a meta-analysis; its numbers stay in the summary tables); every
plot not drawn is listed in the plan's ``skipped`` with the reason.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from types import MappingProxyType

import pandas as pd

from helpers.stats import bias
from helpers.report import summary
from helpers.data.dataset import Dataset
from helpers.data.schema import DRUGS, HARMS, LIST_SEP, OUTCOME_LABELS, UNKNOWN

#: Notebooks the runner executes once per drug present in the data (``drug=<drug>``); the others run once.
PER_DRUG_NOTEBOOKS = ("01_efficacy.ipynb", "02_small_study_effects.ipynb", "03_adverse_events.ipynb")
#: Separator between a notebook's stem and its drug in execution names: ``01_efficacy--ketamine.ipynb``.
EXECUTION_SEP = "--"
#: Outcomes of the adverse-event notebook (03): the harms, in ``schema.HARMS`` order.
AE_OUTCOMES = HARMS
MIN_K_FOREST = 2
MIN_K_FUNNEL = bias.MIN_K

COMPARATOR_WORDS = MappingProxyType({"placebo": "placebo", "usual_care": "usual care", "active": "active comparator",
                                     UNKNOWN: "comparator unknown"})  # fmt: skip
ROUTE_WORDS = MappingProxyType({"intravenous": "intravenous route", "oral": "oral route", "topical": "topical route",
                                "intramuscular": "intramuscular route", "other": "other routes",
                                UNKNOWN: "route unknown"})  # fmt: skip
OUTCOME_WORDS = MappingProxyType({**OUTCOME_LABELS, "pain_intensity": "pain intensity (0-100)"})
TIMEPOINT_WORDS = MappingProxyType({"immediate": "immediate term", "short": "short term", "medium": "medium term",
                                    "long": "long term", "any": None})  # fmt: skip


@dataclass(frozen=True)
class FigureSpec:
    """One figure to draw: its file stem, title in words, the selected analysis (rows already restricted to
    ``route`` when given) and ``route`` None for the plot with routes as subgroups."""

    kind: str
    stem: str
    title: str
    selected: summary.Selected
    route: str | None

    @property
    def k(self) -> int:
        return int(self.selected.rows["study"].nunique())


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


def _words(sel: summary.Selected, route: str | None) -> str:
    drug = " and ".join(d.capitalize() for d in sel.drug.split(LIST_SEP))
    comparator = " and ".join(COMPARATOR_WORDS.get(c, c) for c in _comparator(sel).split("_and_"))
    where = ROUTE_WORDS[route] if route else "all routes (subgroups)"
    outcome = OUTCOME_WORDS[sel.settings["outcome"]]
    time = TIMEPOINT_WORDS.get(sel.settings["timepoint"])
    design = ", crossover trials (paired MD)" if _crossover(sel) else ""
    return (f"{drug} versus {comparator}, {where}: {outcome}"
            f"{', ' + time if time else ''}{design} (analysis {sel.analysis_id})")


def stem_for(kind: str, sel: summary.Selected, route: str | None) -> str:
    """``<kind>_<drug>_<comparator>[_<route>]_<outcome>[_<timepoint>][_crossover]``."""
    parts = [kind, _slug(sel.drug), _comparator(sel)]
    if route:
        parts.append(route)
    parts.append(sel.settings["outcome"])
    if TIMEPOINT_WORDS.get(sel.settings["timepoint"]):
        parts.append(sel.settings["timepoint"])
    if _crossover(sel):
        parts.append("crossover")
    return "_".join(parts)


def _unique(specs: list[FigureSpec]) -> tuple[FigureSpec, ...]:
    """Stems shared by two analyses (not expected in a RevMan package) get ``_analysis_<id>`` appended."""
    counts = Counter(s.stem for s in specs)
    return tuple(replace(s, stem=f"{s.stem}_analysis_{s.selected.stem.removeprefix('analysis_')}")
                 if counts[s.stem] > 1 else s for s in specs)


def forest_plan(ds: Dataset, outcomes: tuple[str, ...], drug: str | None = None, route: str | None = None,
                timepoint: str | None = None, min_k: int = MIN_K_FOREST) -> FigurePlan:
    """Forest plots of every selected analysis of ``outcomes``: one with routes as subgroups (unless ``route`` is
    given), then one per route, each when it has at least ``min_k`` studies."""
    candidates = []
    for outcome in outcomes:
        for sel in summary.select(ds, outcome, drug, route, timepoint):
            candidates += [] if route else [(None, sel)]
            candidates += [(r, replace(sel, rows=rows)) for r, rows in summary.route_groups(sel)]
    return _collect("forest", candidates, min_k)


def funnel_plan(ds: Dataset, outcome: str, drug: str | None = None, route: str | None = None,
                timepoint: str | None = None, min_k: int = MIN_K_FUNNEL) -> FigurePlan:
    """Funnel plots per drug x route of every selected analysis with at least ``min_k`` studies (below 10 the
    plot itself notes the low power)."""
    candidates = [(r, replace(sel, rows=rows))
                  for sel in summary.select(ds, outcome, drug, route, timepoint)
                  for r, rows in summary.route_groups(sel)]
    return _collect("funnel", candidates, min_k)


def _collect(kind: str, candidates: list, min_k: int) -> FigurePlan:
    """A plan of ``kind`` figures for (route, selection) pairs: drawn when k >= ``min_k``, else skipped."""
    figures, skipped = [], []
    for r, s in candidates:
        spec = FigureSpec(kind, stem_for(kind, s, r), _words(s, r), s, r)
        if spec.k >= min_k:
            figures.append(spec)
        else:
            skipped.append((spec.stem, f"not drawn: k = {spec.k} < {min_k}"))
    return FigurePlan(_unique(figures), tuple(skipped))


def rob_stems(drug: str) -> tuple[str, str]:
    """``(traffic-light stem, weighted-summary stem)`` of one drug."""
    return f"rob_traffic_light_{drug}", f"rob_summary_{drug}"


def analyse(spec: FigureSpec, estimator: str | None = None, ci_method: str = "z"):
    """:func:`helpers.report.summary.analyse` of a figure's rows: routes as subgroups for the all-routes plot, one group
    for a single route's plot."""
    return summary.analyse(spec.selected, estimator, ci_method, subgroups=spec.route is None)


def draw(spec: FigureSpec, ds: Dataset, estimator: str | None = None, ci_method: str = "z"):
    """The Figure of ``spec``: forest plot of :func:`analyse` (``estimator``, ``ci_method``), or funnel plot as
    ``helpers.figures.funnel.funnel_plot`` draws it, titled in words; the footer names the dataset."""
    if spec.kind == "forest":
        from helpers.figures.forest import forest_plot

        return forest_plot(analyse(spec, estimator, ci_method), title=spec.title, footer=ds)
    from helpers.figures.funnel import funnel_plot

    measure = spec.selected.settings["measure"]
    es = summary.yi_vi(spec.selected.rows, measure)
    fig = funnel_plot(es["yi"], es["vi"], measure=measure, labels=es["study"], footer=ds)
    head, _, rest = spec.title.partition(": ")
    lines = [head + ":", *rest.replace(", crossover", ",\ncrossover").replace(" (analysis", "\n(analysis").split("\n")]
    _title_on_top(fig, "\n".join(lines), len(lines))
    return fig


def _title_on_top(fig, title: str, n_lines: int, line_in: float = 0.14) -> None:
    """Add ``title`` above a figure laid out in figure fractions: the figure grows by the title's height and
    every axes, text and legend keeps its distance from the bottom edge."""
    width, height = fig.get_size_inches()
    extra = line_in * n_lines + 0.08
    scale = height / (height + extra)
    anchors = [leg.get_bbox_to_anchor().transformed(fig.transFigure.inverted()) for leg in fig.legends]
    for ax in fig.axes:
        x0, y0, w, h = ax.get_position().bounds
        ax.set_position((x0, y0 * scale, w, h * scale))
    for text in fig.texts:
        x, y = text.get_position()
        text.set_y(y * scale)
    fig.set_size_inches(width, height + extra)
    for leg, box in zip(fig.legends, anchors):
        leg.set_bbox_to_anchor((box.x0, box.y0 * scale), transform=fig.transFigure)
    fig.text(0.03, 1 - 0.04 / (height + extra), title, ha="left", va="top", fontsize=7, fontweight="bold",
             linespacing=1.15, gid="title")


def only_drug(ds: Dataset, drug: str | None) -> Dataset:
    """``ds`` with its analysed rows restricted to ``drug`` (None: unchanged), e.g. for one drug's AE breakdown."""
    if drug is None:
        return ds
    keep = ds.rows["drug"].astype(str).str.split(LIST_SEP).apply(lambda values: drug in values)
    return replace(ds, rows=ds.rows[keep].reset_index(drop=True))


def expected_figures(ds: Dataset, notebook: str, drug: str | None) -> int:
    """Figures a notebook of the set draws for ``drug`` (what the runner orders executions by, longest first)."""
    if notebook == "00_data.ipynb":
        return 2 * len(drugs_present(ds))
    if notebook == "01_efficacy.ipynb":
        return len(forest_plan(ds, ("pain_intensity",), drug).figures)
    if notebook == "02_small_study_effects.ipynb":
        return len(funnel_plan(ds, "pain_intensity", drug).figures)
    if notebook == "03_adverse_events.ipynb":
        return 1 + len(forest_plan(ds, AE_OUTCOMES, drug).figures)
    return 0

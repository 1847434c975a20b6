"""The run's figure index: every figure a notebook of the set draws, with its facts (drug, comparator, route,
analysis, outcome, time point, kind), from the same plans the notebooks draw from.

The runner writes it into the manifest (``figures``: stem -> facts) before the notebooks run, orders the
executions by its counts (longest first), and the run report (:mod:`helpers.report.index`) groups figures by
these facts. No code parses a figure's file name back into what it shows: ``usual_care`` stays one comparator
and ``ketamine; magnesium`` one drug combination.
"""

from __future__ import annotations

from pathlib import Path

from helpers.data.tidy import Dataset
from helpers.report import generic, plan, summary
from helpers.report.notebook import declared_parameters

#: Kinds of the figures that belong to no analysis (notebooks 00 and 03).
OVERVIEW, ROB_TRAFFIC_LIGHT, ROB_SUMMARY, AE_BREAKDOWN = "overview", "rob_traffic_light", "rob_summary", "ae_breakdown"
OVERVIEW_STEM = "data_overview"
AE_BREAKDOWN_STEM = "adverse_events_breakdown"
#: Notebook parameters the plans read (the others change numbers, not which figures are drawn).
PLAN_PARAMETERS = ("drug", "route", "outcome", "timepoint")


def notebook_figures(ds: Dataset, notebook: Path | str, parameters: dict | None = None) -> tuple[plan.FigureFacts, ...]:
    """The figures ``notebook`` (a path of the set; only its name decides what is drawn, its parameters cell
    the defaults) draws on ``ds`` with ``parameters`` (given values over the notebook's defaults), in drawing
    order, each with its facts. A notebook that draws none (04, 05, or one outside the set) gives ()."""
    path = Path(notebook)
    values = {**(declared_parameters(path) if path.is_file() else {}), **(parameters or {})}
    drug, route, outcome, timepoint = (values.get(k) for k in PLAN_PARAMETERS)
    name = path.name
    if name == "00_data.ipynb":
        rob = [plan.FigureFacts(stem, kind, drug=d) for d in plan.drugs_present(ds)
               for stem, kind in zip(plan.rob_stems(d), (ROB_TRAFFIC_LIGHT, ROB_SUMMARY))]
        return (plan.FigureFacts(OVERVIEW_STEM, OVERVIEW), *rob)
    if name == "01_efficacy.ipynb":
        return _facts(generic.forest_plan(ds, plan.efficacy_outcomes(outcome), drug, route, timepoint))
    if name == "02_small_study_effects.ipynb":
        return _facts(generic.funnel_plan(ds, outcome, drug, route, timepoint))
    if name == "03_adverse_events.ipynb":
        breakdown = (plan.FigureFacts(plan.scoped(AE_BREAKDOWN_STEM, drug), AE_BREAKDOWN, drug=drug),)
        return (breakdown if summary.available(ds, plan.AE_OUTCOMES, drug) else ()) + _facts(
            plan.forest_plan(ds, plan.AE_OUTCOMES, drug, route))
    return ()


def _facts(figure_plan: plan.FigurePlan) -> tuple[plan.FigureFacts, ...]:
    return tuple(spec.facts() for spec in figure_plan.figures)


def expected_figures(ds: Dataset, notebook: Path | str, parameters: dict | None = None) -> int:
    """How many figures ``notebook`` draws (what the runner orders executions by, longest first)."""
    return len(notebook_figures(ds, notebook, parameters))


def figure_index(figures: list[plan.FigureFacts]) -> dict[str, dict]:
    """``{stem: facts}`` (sorted by stem) of the figures of a run, as written to the manifest."""
    return {f.stem: f.to_dict() for f in sorted(figures, key=lambda f: f.stem)}

"""Data overview (notebook 00): trials and participants by drug, route, design and year, drawn with seaborn.

Takes the per-study table of :func:`helpers.report.summary.study_overview` (one row per study x drug x route: a
trial of two drugs or routes counts under each, as in ``summary.counts``) and draws four small multiples:
trials by drug (bars split by route), participants by drug (split by route), trials by design (split by drug)
and trials by publication year (5-year bins, stacked by drug). Nothing random is drawn (no bootstrap error bars,
no jitter), so ``style.save_figure`` writes the same bytes for the same table.
"""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from helpers.figures import style

OVERVIEW_COLUMNS = ("study", "drug", "route", "design", "year", "participants", "participants_from")
NOT_REPORTED = "not reported"
YEAR_BIN = 5  # years per bar of the year panel


def _palette(values: list[str]) -> dict[str, str]:
    return {v: style.PALETTE[i % len(style.PALETTE)] for i, v in enumerate(values)}


def overview_plot(table: pd.DataFrame, *, drugs: tuple[str, ...], routes: tuple[str, ...], footer=None) -> Figure:
    """Four panels from ``table`` (columns ``OVERVIEW_COLUMNS``); ``drugs`` and ``routes`` give the display
    order (values absent from the table are left out). ``footer``: a Dataset or text naming the data."""
    missing = [c for c in OVERVIEW_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"overview table lacks column(s) {', '.join(missing)}")
    if table.empty:
        raise ValueError("overview table is empty: no study to draw")
    t = table.copy()
    t["design"] = t["design"].fillna(NOT_REPORTED)
    t["route"] = t["route"].fillna(NOT_REPORTED)
    drug_order = [d for d in drugs if d in set(t["drug"])] + sorted(set(t["drug"]) - set(drugs))
    route_order = [r for r in (*routes, NOT_REPORTED) if r in set(t["route"])]
    route_colours = _palette(route_order)
    drug_colours = _palette(drug_order)
    t["drug"] = pd.Categorical(t["drug"], drug_order, ordered=True)
    t["route"] = pd.Categorical(t["route"], route_order, ordered=True)
    per_route = t.drop_duplicates(["study", "drug", "route"])
    source = "; ".join(sorted(t["participants_from"].dropna().unique()))
    with style.figure_style():
        fig = Figure(figsize=style.figsize("double", 14.0))
        axes = fig.subplots(2, 2)
        fig.subplots_adjust(left=0.17, right=0.98, top=0.95, bottom=0.2, hspace=0.75, wspace=0.5)
        a, b, c, d = axes.ravel()
        bars = dict(y="drug", hue="route", hue_order=route_order, palette=route_colours, multiple="stack",
                    discrete=True, shrink=0.7, edgecolor="white", linewidth=0.4, alpha=1.0)
        sns.histplot(data=per_route, ax=a, **bars)
        a.set(title="Trials by drug and route", xlabel="trials", ylabel="")
        sns.histplot(data=per_route, weights="participants", ax=b, legend=False, **bars)
        b.set(title="Participants by drug and route", xlabel=f"participants ({source})", ylabel="")
        designs = t.drop_duplicates(["study", "drug"]).groupby(["design", "drug"], as_index=False, observed=True)["study"].nunique()
        design_order = [x for x in ("parallel", "crossover", NOT_REPORTED) if x in set(designs["design"])]
        sns.barplot(data=designs, x="design", y="study", hue="drug", order=design_order, hue_order=drug_order,
                    palette=drug_colours, errorbar=None, saturation=1.0, ax=c)
        c.set(title="Trials by design", xlabel="", ylabel="trials")
        years = t.drop_duplicates(["study", "drug"]).dropna(subset=["year"])
        if len(years):
            lo = int(years["year"].min()) // YEAR_BIN * YEAR_BIN
            hi = int(years["year"].max()) // YEAR_BIN * YEAR_BIN + YEAR_BIN
            sns.histplot(data=years, x="year", hue="drug", hue_order=[x for x in drug_order if x in set(years["drug"])],
                         palette=drug_colours, multiple="stack", bins=list(range(lo, hi + 1, YEAR_BIN)), ax=d,
                         legend=False, edgecolor="white", linewidth=0.4, alpha=1.0)
        d.set(title=f"Trials by year ({YEAR_BIN}-year bins)", xlabel="study year", ylabel="trials")
        for ax in (a, c):  # legends under their panel, never over the bars
            if ax.get_legend() is not None:
                sns.move_legend(ax, "upper center", bbox_to_anchor=(0.5, -0.28), ncol=3, frameon=False, title=None,
                                fontsize=6.5)
        style.draw_footer(fig, style.resolve_footer(footer))
    return fig

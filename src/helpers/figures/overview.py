"""Data overview (notebook 00): trials and participants by drug, route, design and year, drawn with seaborn.

Takes the per-study table of :func:`helpers.report.summary.study_overview` (one row per study x drug x route: a
trial of two drugs or routes counts under each, as in ``summary.counts``) and draws four small multiples:
trials by drug, participants by drug, trials by design and trials by publication year (5-year bins), every
bar split by route: one colour means one route in every panel. Where the data record no design (the real
review's bare data rows), the design panel says so instead of a bar of "not reported"; where no analysis is
mapped to a drug (the generic mode), the drug panels give the trial and participant totals instead of one bar of
"unmapped", and no panel names a route the data do not have. Nothing random is drawn (no bootstrap error bars,
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


def _say(ax, text: str) -> None:
    """A panel that states what the data do not record instead of drawing a bar of it."""
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=7, color="#444444")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.spines[["left", "bottom"]].set_visible(False)


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
    # one meaning per colour across the figure (the route), and the same colour for a route in every dataset
    route_colours = {r: c for r, c in _palette([*routes, NOT_REPORTED]).items() if r in route_order}
    t["drug"] = pd.Categorical(t["drug"], drug_order, ordered=True)
    t["route"] = pd.Categorical(t["route"], route_order, ordered=True)
    per_route = t.drop_duplicates(["study", "drug", "route"])
    source = "; ".join(sorted(t["participants_from"].dropna().unique()))
    with style.figure_style():
        fig = Figure(figsize=style.figsize("double", 14.0))
        axes = fig.subplots(2, 2)
        fig.subplots_adjust(left=0.17, right=0.98, top=0.95, bottom=0.2, hspace=0.5, wspace=0.5)
        a, b, c, d = axes.ravel()
        by_route = " and route" if route_order != [NOT_REPORTED] else ""  # no route in the data: none named
        bars = dict(hue="route", hue_order=route_order, palette=route_colours, multiple="stack", discrete=True,
                    shrink=0.7, edgecolor="white", linewidth=0.4, alpha=1.0)
        if set(drugs) & set(t["drug"]):
            sns.histplot(data=per_route, y="drug", ax=a, **bars)
            a.set(title="Trials by drug and route", xlabel="trials", ylabel="")
            sns.histplot(data=per_route, y="drug", weights="participants", ax=b, legend=False, **bars)
            b.set(title="Participants by drug and route", xlabel=f"participants ({source})", ylabel="")
        else:  # no analysis mapped to a drug (the generic mode): the totals, never one bar of "unmapped"
            studies = t.drop_duplicates("study")
            people = studies["participants"].sum(min_count=1)
            _say(a, f"Drug not in the data\n({studies['study'].nunique()} trials, none mapped to a drug)")
            _say(b, "Participants not in the data" if pd.isna(people) else
                 f"{int(people):,} participants in all\n({source}; no drug to split them by)")
            a.set(title="Trials by drug and route", xlabel="", ylabel="")
            b.set(title="Participants by drug and route", xlabel="", ylabel="")
        trials = t.drop_duplicates(["study", "route"])
        known = trials[trials["design"] != NOT_REPORTED]
        if len(known):
            order = [x for x in ("parallel", "crossover", NOT_REPORTED) if x in set(trials["design"])]
            trials = trials.assign(design=pd.Categorical(trials["design"], order, ordered=True))
            sns.histplot(data=trials, x="design", ax=c, legend=False, **bars)
        else:  # no design in the data: say so, never a bar of "not reported"
            _say(c, f"Design not recorded in the data rows\n(none of the {t['study'].nunique()} trials)")
        c.set(title=f"Trials by design{by_route}", xlabel="", ylabel="trials" if len(known) else "")
        years = trials.dropna(subset=["year"])
        if len(years):
            lo = int(years["year"].min()) // YEAR_BIN * YEAR_BIN
            hi = int(years["year"].max()) // YEAR_BIN * YEAR_BIN + YEAR_BIN
            sns.histplot(data=years, x="year", bins=list(range(lo, hi + 1, YEAR_BIN)), ax=d, legend=False,
                         **(bars | {"discrete": False, "shrink": 1.0}))
        d.set(title=f"Trials by year ({YEAR_BIN}-year bins){by_route}", xlabel="study year", ylabel="trials")
        legend = a.get_legend()
        if legend is not None:  # one legend for every panel, under them all, never over the bars
            handles, labels = legend.legend_handles, [text.get_text() for text in legend.get_texts()]
            legend.remove()
            fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.06), ncol=len(labels),
                       frameon=False, title="route (the same colours in every panel)", fontsize=6.5,
                       title_fontsize=6.5)
        style.draw_footer(fig, style.resolve_footer(footer))
    return fig

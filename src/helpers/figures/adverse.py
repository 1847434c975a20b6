"""Adverse-event breakdown figure: seaborn small multiples of the psychotomimetic family vs nausea vs vomiting, with
the other harms beside them, by drug and route (each comparison one row), drawn from a
:class:`helpers.stats.adverse.AEBreakdown`. One column per family (``helpers.stats.adverse.FAMILIES``); top row:
crude event proportions per arm (filled circle experimental, open square control, joined by a line), bottom row:
Mantel-Haenszel RR [95% CI] on a log axis; within a panel each outcome of the family has its colour and its own
line inside the comparison's band. The breakdown's table holds every number drawn; nothing random is drawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator

from helpers.figures import style
import seaborn as sns

from helpers.data.schema import OUTCOME_LABELS
from helpers.stats.adverse import FAMILIES, AEBreakdown

ROUTE_SHORT = {"intravenous": "IV", "oral": "oral", "topical": "topical", "intramuscular": "IM", "other": "other",
               "unknown": "route unknown"}  # fmt: skip
BAND_IN = 0.09  # inches per outcome line inside a comparison's band


def ae_breakdown_plot(breakdown: AEBreakdown, *, footer: Any = None) -> Figure:
    """Draw ``breakdown`` (:func:`helpers.stats.adverse.ae_breakdown`) as small multiples and return the Figure.

    ``footer``: a string or a ``Dataset``; None names the breakdown's own dataset (``Data: <label>``, plus the
    SYNTHETIC DATA note when synthetic). Artists carry gids ``prop_e:<outcome>``, ``prop_c:<outcome>``,
    ``rr:<outcome>``.
    """
    if not isinstance(breakdown, AEBreakdown):
        raise TypeError("ae_breakdown_plot draws a helpers.stats.adverse.AEBreakdown (ae_breakdown(dataset)); "
                        f"got {type(breakdown).__name__}")
    text = (style.footer_text(label=breakdown.label, synthetic=breakdown.synthetic) if footer is None
            else style.resolve_footer(footer))
    return _draw(breakdown.table, text)


def _label(drug, route, comparator, several: bool) -> str:
    text = f"{drug}, {ROUTE_SHORT.get(route, route)}"
    return text + (f" vs {str(comparator).replace('_', ' ')}" if several else "")


def _draw(table: pd.DataFrame, footer: str) -> Figure:
    keys = ["drug", "route", "comparator"]
    groups = [tuple(g) for g in table[keys].drop_duplicates().sort_values(keys).itertuples(index=False)]
    several = table["comparator"].nunique() > 1
    labels = [_label(*g, several) for g in groups]
    ypos = {g: i for i, g in enumerate(groups)}
    families = [f for f in FAMILIES if f in set(table["family"])]
    lines = max(len([o for o in FAMILIES[f] if o in set(table["outcome"])]) for f in families)
    n = len(labels)
    panel_h = max(1.0, n * (BAND_IN * lines + 0.12) + 0.2)  # inches
    top_in, gap_in = 0.45, 0.6
    bottom_in = 0.55 + 0.11 * lines + 0.3  # x label, one legend line per outcome, footer
    fig_h = top_in + 2 * panel_h + gap_in + bottom_in
    with style.figure_style():
        fig = Figure(figsize=(style.WIDTH_CM["double"] * style.CM, fig_h))
        axes = fig.subplots(2, len(families), sharey=True, squeeze=False)
        fig.subplots_adjust(left=0.24, right=0.98, top=1 - top_in / fig_h, bottom=bottom_in / fig_h,
                            hspace=gap_in / panel_h, wspace=0.12)
        finite_ci = table[["rr_ci_low", "rr_ci_high"]].to_numpy(dtype=float)
        finite_ci = finite_ci[np.isfinite(finite_ci) & (finite_ci > 0)]
        lo = min(0.1, finite_ci.min() / 1.3) if finite_ci.size else 0.1
        hi = max(10.0, finite_ci.max() * 1.3) if finite_ci.size else 10.0
        for j, family in enumerate(families):
            present = [o for o in FAMILIES[family] if o in set(table["outcome"])]
            colours = {o: style.PALETTE[i % len(style.PALETTE)] for i, o in enumerate(present)}
            step = 0.8 / max(len(present), 1)
            top, bottom = axes[0, j], axes[1, j]
            top.set_title(family, fontsize=8, fontweight="bold")
            for i, outcome in enumerate(present):
                sub = table[table["outcome"] == outcome]
                y = np.array([ypos[tuple(g)] for g in sub[keys].itertuples(index=False)], dtype=float)
                y = y + (i - (len(present) - 1) / 2) * step
                colour = colours[outcome]
                top.hlines(y, sub["prop_c"], sub["prop_e"], color=colour, lw=0.6, zorder=2)
                sns.scatterplot(x=sub["prop_e"].to_numpy(float), y=y, ax=top, s=16, marker="o", color=colour,
                                edgecolor=colour, zorder=3, legend=False)
                top.collections[-1].set_gid(f"prop_e:{outcome}")
                top.collections[-1].set_clip_on(False)  # a proportion of 0 sits on the axis: draw it in full
                sns.scatterplot(x=sub["prop_c"].to_numpy(float), y=y, ax=top, s=14, marker="s", facecolor="white",
                                edgecolor=colour, linewidth=0.8, zorder=3, legend=False)
                top.collections[-1].set_gid(f"prop_c:{outcome}")
                top.collections[-1].set_clip_on(False)
                est = sub["rr"].to_numpy(dtype=float)
                err = np.vstack([est - sub["rr_ci_low"], sub["rr_ci_high"] - est])
                bottom.errorbar(est, y, xerr=err, fmt="none", ecolor=colour, elinewidth=0.8, capsize=0, zorder=2)
                sns.scatterplot(x=est, y=y, ax=bottom, s=14, marker="D", color=colour, edgecolor=colour, zorder=3,
                                legend=False)
                bottom.collections[-1].set_gid(f"rr:{outcome}")
                for yy, k, e in zip(y, sub["k"], est, strict=True):
                    bottom.annotate(f"k={k}" if np.isfinite(e) else f"k={k}, RR n.e.", xy=(1, yy),
                                    xycoords=("axes fraction", "data"), xytext=(-2, 0), textcoords="offset points",
                                    ha="right", va="center", fontsize=5, color="#444444")
            filled = {ypos[tuple(g)] for g in table.loc[table["family"] == family, keys].itertuples(index=False)}
            for b in (b for b in range(n) if b not in filled):  # an empty panel row says so
                for ax in (top, bottom):
                    ax.text(0.5, b, "no data", transform=ax.get_yaxis_transform(), ha="center", va="center",
                            fontsize=5.5, color="#777777", style="italic", gid="no-data")
            pmax = np.nanmax(table.loc[table["family"] == family, ["prop_e", "prop_c"]].to_numpy(dtype=float), initial=0.0)
            top.set_xlim(0, min(1.0, max(0.1, np.ceil(pmax * 1.15 * 10) / 10)))
            top.xaxis.set_major_locator(MaxNLocator(nbins=3, prune="upper"))  # no label clash with the next panel
            top.set_xlabel("Event proportion")
            bottom.set_xscale("log")
            bottom.set_xlim(lo, hi)
            bottom.axvline(1, color="#777777", lw=0.6, zorder=0)
            bottom.set_xlabel("Risk ratio (M-H), log")
            bottom.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0,)))
            bottom.xaxis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
            bottom.xaxis.set_major_formatter(FuncFormatter(lambda t, _: f"{t:g}"))
            for ax in (top, bottom):
                for b in range(n - 1):
                    ax.axhline(b + 0.5, color="#dddddd", lw=0.5, zorder=0)
                ax.set_ylim(n - 0.5, -0.5)
                ax.set_yticks(range(n), labels)
                ax.set_ylabel("")
            handles = [Line2D([], [], color=colours[o], marker="D", ms=3.5, lw=0, label=OUTCOME_LABELS[o])
                       for o in present]
            bottom.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.45 / panel_h),
                          frameon=False, fontsize=5.5, handletextpad=0.2, borderaxespad=0)
        arms = [Line2D([], [], color="#444444", marker="o", lw=0, ms=4, label="Experimental"),
                Line2D([], [], color="#444444", marker="s", markerfacecolor="white", lw=0, ms=4, label="Control")]
        fig.legend(handles=arms, loc="upper left", ncol=1, frameon=False, fontsize=6.5, handletextpad=0.2,
                   bbox_to_anchor=(0.01, 1 - 0.05 / fig_h))
        style.draw_footer(fig, footer)
    return fig

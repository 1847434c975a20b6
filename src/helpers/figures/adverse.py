"""Adverse-event breakdown figure: small multiples of psychotomimetic effects vs nausea vs vomiting by drug and
route, drawn from a :class:`helpers.stats.adverse.AEBreakdown` (top row: crude event proportions per arm, bottom
row: Mantel-Haenszel RR [95% CI] on a log axis; one column per outcome). The breakdown's table holds every number
drawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator

from helpers.figures import style
from helpers.stats.adverse import AE_OUTCOMES, AEBreakdown

OUTCOME_TITLES = {"psychotomimetic": "Psychotomimetic effects", "nausea": "Nausea", "vomiting": "Vomiting"}


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


def _draw(table: pd.DataFrame, footer: str) -> Figure:
    keys = ["drug", "route", "comparator"]
    groups = [tuple(g) for g in table[keys].drop_duplicates().sort_values(keys).itertuples(index=False)]
    several = table["comparator"].nunique() > 1
    labels = [f"{d}, {r}" + (f" vs {c.replace('_', ' ')}" if several else "") for d, r, c in groups]
    ypos = {g: i for i, g in enumerate(groups)}
    n = len(labels)
    panel_h = max(1.0, 0.16 * n + 0.35)  # inches
    with style.figure_style():
        fig = Figure(figsize=(style.WIDTH_CM["double"] * style.CM, 2 * panel_h + 1.25))
        axes = fig.subplots(2, len(AE_OUTCOMES), sharey=True, squeeze=False)
        fig.subplots_adjust(left=0.2, right=0.98, top=1 - 0.35 / (2 * panel_h + 1.25),
                            bottom=0.75 / (2 * panel_h + 1.25), hspace=0.55, wspace=0.25)
        finite_ci = table[["rr_ci_low", "rr_ci_high"]].to_numpy(dtype=float)
        finite_ci = finite_ci[np.isfinite(finite_ci) & (finite_ci > 0)]
        lo = min(0.1, finite_ci.min() / 1.3) if finite_ci.size else 0.1
        hi = max(10.0, finite_ci.max() * 1.3) if finite_ci.size else 10.0
        for j, outcome in enumerate(AE_OUTCOMES):
            sub = table[table["outcome"] == outcome]
            y = np.array([ypos[tuple(g)] for g in sub[keys].itertuples(index=False)], dtype=float)
            top, bottom = axes[0, j], axes[1, j]
            top.set_title(OUTCOME_TITLES[outcome], fontsize=8, fontweight="bold")
            top.scatter(sub["prop_e"], y - 0.12, s=14, marker="o", color=style.OKABE_ITO["vermillion"],
                        label="Experimental", zorder=3, gid=f"prop_e:{outcome}")
            top.scatter(sub["prop_c"], y + 0.12, s=14, marker="s", color=style.OKABE_ITO["blue"],
                        label="Control", zorder=3, gid=f"prop_c:{outcome}")
            pmax = np.nanmax(sub[["prop_e", "prop_c"]].to_numpy(dtype=float), initial=0.0)
            top.set_xlim(0, min(1.0, max(0.1, np.ceil(pmax * 1.25 * 10) / 10)))
            top.xaxis.set_major_locator(MaxNLocator(nbins=3))
            top.set_xlabel("Event proportion")
            est = sub["rr"].to_numpy(dtype=float)
            err = np.vstack([est - sub["rr_ci_low"], sub["rr_ci_high"] - est])
            bottom.errorbar(est, y, xerr=err, fmt="D", ms=3.5, color="black", ecolor="black", elinewidth=0.8,
                            capsize=0, gid=f"rr:{outcome}")
            bottom.set_xscale("log")
            bottom.set_xlim(lo, hi)
            bottom.axvline(1, color="#777777", lw=0.6, zorder=0)
            bottom.set_xlabel("Risk ratio (M-H), log scale")
            for yy, k, e in zip(y, sub["k"], est, strict=True):
                top.annotate(f"k={k}" if np.isfinite(e) else f"k={k}, RR n.e.", xy=(1, yy),
                             xycoords=("axes fraction", "data"), xytext=(-2, 0), textcoords="offset points",
                             ha="right", va="center", fontsize=5.5, color="#444444")
            bottom.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0,)))
            bottom.xaxis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
            bottom.xaxis.set_major_formatter(FuncFormatter(lambda t, _: f"{t:g}"))
            for ax in (top, bottom):
                ax.grid(axis="y", color="#eeeeee", lw=0.5)
                ax.set_ylim(n - 0.5, -0.5)
                ax.set_yticks(range(n), labels)
        handles, names = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, names, loc="lower right", ncol=2, frameon=False, fontsize=6.5, handletextpad=0.2,
                   bbox_to_anchor=(0.99, 0.0))
        style.draw_footer(fig, footer)
    return fig

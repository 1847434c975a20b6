"""Adverse-event breakdown figure: seaborn small multiples of the psychotomimetic family vs nausea vs vomiting, with
the other harms beside them, by drug and route (each comparison one row), drawn from a
:class:`helpers.stats.adverse.AEBreakdown`. One column per family (``helpers.stats.adverse.FAMILIES``); top row:
crude event proportions per arm (filled circle experimental, open square control, joined by a line), bottom row:
the pooled ratio [95% CI] on a log axis, each pooled with the settings the breakdown's table names (its analysis'
own); the axis label names the measure, method and model most rows share (``*`` when not all), and a row pooled
otherwise is marked ``*`` beside its ``k`` and a note at the top names those settings. A risk difference has no place on a ratio axis: its row
says "RD, in the table" instead. Within a panel each outcome of the family has its colour and its own line inside
the comparison's band. The breakdown's table holds every number drawn; nothing random is drawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

from helpers.figures import style
import seaborn as sns

from helpers.core.checks import RATIO_MEASURES
from helpers.data.schema import OUTCOME_LABELS
from helpers.figures.forest_text import METHOD_LABELS
from helpers.stats.adverse import FAMILIES, AEBreakdown

ROUTE_SHORT = {"intravenous": "IV", "oral": "oral", "topical": "topical", "intramuscular": "IM", "other": "other",
               "unknown": "route unknown"}  # fmt: skip
BAND_IN = 0.09  # inches per outcome line inside a comparison's band
WSPACE = 0.3  # space between panels (fraction of a panel's width): room for both end labels of the ratio axes
LABEL_PT = 5.0  # the "k=..." labels beside the pooled estimates


def _text_pt(text: str) -> float:
    """Width of ``text`` at ``LABEL_PT`` in points (DejaVu Sans)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    return TextToPath().get_text_width_height_descent(text, FontProperties(family="DejaVu Sans", size=LABEL_PT),
                                                       ismath=False)[0]


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


def _decades(lo: float, hi: float) -> list[float]:
    """Major ticks of the ratio axis: powers of ten inside [lo, hi] that include 1, every second one when the axis
    spans more than three decades (a narrow panel has room for three labels)."""
    first, last = int(np.ceil(np.log10(lo) - 1e-9)), int(np.floor(np.log10(hi) + 1e-9))
    step = 1 if last - first <= 3 else 2
    return [10.0**k for k in range(first, last + 1) if k % step == 0]


def _how(row) -> tuple:
    return (row.measure, row.method, row.model)


def _axis_label(table: pd.DataFrame) -> tuple[str, tuple | None]:
    """The ratio axis label and the (measure, method, model) it names: the one most rows share (None: no row)."""
    hows = [_how(r) for r in table.itertuples(index=False) if r.measure in RATIO_MEASURES]
    if not hows:
        return "Ratio, log", None
    common = max(dict.fromkeys(hows), key=hows.count)
    measure, method, model = common
    marked = "*" if len(set(hows)) > 1 else ""
    return f"{measure} ({METHOD_LABELS[method]}, {model}){marked}, log", common


def _on_axis(row) -> bool:
    """True when the row's pooled ratio is drawn (a finite ratio estimate)."""
    return row.measure in RATIO_MEASURES and bool(np.isfinite(row.estimate))


def _marker_text(row, common) -> str:
    """The text beside a row's pooled estimate: k, and how it was pooled when not as the axis says."""
    text = f"k={row.k}"
    if row.measure not in RATIO_MEASURES:
        return f"{text}, {row.measure}, in the table"
    if _how(row) != common:
        text += "*"
    return text + ("" if np.isfinite(row.estimate) else f", {row.measure} n.e.")


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
                            hspace=gap_in / panel_h, wspace=WSPACE)
        ratio = table["measure"].isin(RATIO_MEASURES).to_numpy()
        axis_label, common = _axis_label(table)
        finite_ci = table.loc[ratio, ["ci_low", "ci_high"]].to_numpy(dtype=float)
        finite_ci = finite_ci[np.isfinite(finite_ci) & (finite_ci > 0)]
        lo = 10.0 ** np.floor(np.log10(min(0.1, finite_ci.min())) + 1e-9) if finite_ci.size else 0.1
        hi = 10.0 ** np.ceil(np.log10(max(10.0, finite_ci.max())) - 1e-9) if finite_ci.size else 10.0
        texts = [_marker_text(r, common) for r in table.itertuples(index=False)]
        drawn = [t for t, r in zip(texts, table.itertuples(index=False)) if _on_axis(r)] or ["k=1"]
        panel_pt = (0.98 - 0.24) * fig.get_size_inches()[0] * 72 / (len(families) + WSPACE * (len(families) - 1))
        room = min(0.4, (max(_text_pt(t) for t in drawn) + 4) / panel_pt)  # the k labels' column, right of hi
        right = hi * (hi / lo) ** (room / (1 - room))
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
                on_axis = sub["measure"].isin(RATIO_MEASURES).to_numpy()
                est = np.where(on_axis, sub["estimate"].to_numpy(dtype=float), np.nan)
                err = np.vstack([est - sub["ci_low"], sub["ci_high"] - est])
                bottom.errorbar(est, y, xerr=err, fmt="none", ecolor=colour, elinewidth=0.8, capsize=0, zorder=2)
                sns.scatterplot(x=est, y=y, ax=bottom, s=14, marker="D", color=colour, edgecolor=colour, zorder=3,
                                legend=False)
                bottom.collections[-1].set_gid(f"rr:{outcome}")
                for yy, row in zip(y, sub.itertuples(index=False), strict=True):
                    # in the column right of hi; a row without a marker says why where the marker would be
                    x, dx, ha = (hi, 3, "left") if _on_axis(row) else (np.sqrt(lo * hi), 0, "center")
                    bottom.annotate(_marker_text(row, common), xy=(x, yy), xytext=(dx, 0), textcoords="offset points",
                                    ha=ha, va="center", fontsize=LABEL_PT, color="#444444", gid="k-label")
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
            bottom.set_xlim(lo, right)
            bottom.axvline(1, color="#777777", lw=0.6, zorder=0)
            bottom.axvline(hi, color="#dddddd", lw=0.5, zorder=0)  # the axis ends here; the k labels follow
            bottom.set_xlabel(axis_label)
            bottom.xaxis.set_major_locator(FixedLocator(_decades(lo, hi)))
            bottom.xaxis.set_minor_locator(FixedLocator([m * 10.0**e for e in range(int(np.log10(lo)), int(np.log10(hi)))
                                                         for m in (2.0, 5.0)]))
            bottom.xaxis.set_major_formatter(FuncFormatter(lambda t, _: f"{t:g}"))  # every decade, 'hi' included
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
        others = sorted({_how(r) for r in table.itertuples(index=False) if r.measure in RATIO_MEASURES} - {common})
        notes = ["k: studies pooled"]
        if any(" n.e." in t for t in texts):
            notes.append("n.e.: not estimable (no study with events in either arm, as RevMan)")
        if others:  # rows pooled otherwise than the axis label says: name their settings (the table says which)
            notes.append("* pooled with its analysis' own settings: "
                         + "; ".join(f"{m}, {METHOD_LABELS[meth]}, {mod}" for m, meth, mod in others)
                         + " (table: settings)")
        fig.text(0.98, 1 - 0.05 / fig_h, "\n".join(notes), ha="right", va="top", fontsize=5.5, color="#444444",
                 gid="settings-note")
        style.draw_footer(fig, footer)
    return fig

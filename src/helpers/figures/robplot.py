"""Risk-of-bias figures for RoB 2 (Sterne et al. 2019, BMJ 366:l4898; Cochrane Handbook ch. 8), in the layout of
robvis (McGuinness & Higgins 2021, Res Synth Methods 12:55): a traffic-light plot (study x domain) and a
summary plot (per domain, the share of studies - or of the analysis weight - judged Low, Some concerns, High).
Both draw a result of :mod:`helpers.stats.riskofbias` (``rob_judgements``, ``rob_proportions``).

Judgements carry a symbol as well as a colour (+, -, x), so the plots read in grey scale and for colour-blind
readers. A missing judgement is drawn as "?" (No information) and counted as such, never dropped.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from helpers.data.schema import ROB_COLUMNS
from helpers.figures import style
from helpers.stats.riskofbias import CATEGORIES, NO_INFO, RobJudgements, RobProportions

DOMAIN_LABELS = MappingProxyType(
    {
        "rob_d1": "D1 Randomisation process",
        "rob_d2": "D2 Deviations from intended interventions",
        "rob_d3": "D3 Missing outcome data",
        "rob_d4": "D4 Measurement of the outcome",
        "rob_d5": "D5 Selection of the reported result",
        "rob_overall": "Overall risk of bias",
    }
)
COLOURS = MappingProxyType(
    {
        "Low": style.OKABE_ITO["bluish_green"],
        "Some concerns": style.OKABE_ITO["yellow"],
        "High": style.OKABE_ITO["vermillion"],
        NO_INFO: "#bbbbbb",
    }
)
SYMBOLS = MappingProxyType({"Low": "+", "Some concerns": "-", "High": "x", NO_INFO: "?"})


def _check_result(name: str, value: Any, kind: type, call: str) -> None:
    if not isinstance(value, kind):
        raise TypeError(f"{name} must be a {kind.__name__} (helpers.stats.riskofbias.{call}); "
                        f"got {type(value).__name__}")


def rob_traffic_light(judged: RobJudgements, *, footer: Any = None) -> Figure:
    """Traffic-light plot of :func:`helpers.stats.riskofbias.rob_judgements`: one row per study (input order), one
    column per RoB 2 domain plus Overall, titled with the result's drug. Each cell is a circle coloured and marked
    by the judgement (gid 'rob:<study>:<domain>').
    """
    _check_result("judged", judged, RobJudgements, "rob_judgements(studies, drug)")
    table, drug = judged.table, judged.drug
    n = len(table)
    footer_text = style.resolve_footer(footer)
    width_pt = style.WIDTH_CM["single"] * style.CM * 72 * 1.4
    row_pt, head_pt, foot_pt = 11.0, 30.0, 62.0 if footer_text else 52.0
    height_pt = head_pt + n * row_pt + foot_pt
    with style.figure_style():
        fig = Figure(figsize=(width_pt / 72, height_pt / 72))
        ax = fig.add_axes((0.42, foot_pt / height_pt, 0.55, n * row_pt / height_pt))
        cols = list(ROB_COLUMNS)
        for j, col in enumerate(cols):
            for i, (study, value) in enumerate(table[col].items()):
                ax.scatter(j, i, s=70, color=COLOURS[value], edgecolor="black", lw=0.3, gid=f"rob:{study}:{col}")
                ax.text(j, i, SYMBOLS[value], ha="center", va="center", fontsize=6.5, fontweight="bold")
        ax.set_xlim(-0.6, len(cols) - 0.4)
        ax.set_ylim(n - 0.5, -0.5)
        ax.set_yticks(range(n), list(table.index), fontsize=6.5)
        ax.xaxis.tick_top()
        ax.set_xticks(range(len(cols)), ["D1", "D2", "D3", "D4", "D5", "Overall"], fontsize=7)
        ax.tick_params(length=0)
        for side in ax.spines.values():
            side.set_visible(False)
        ax.axvline(len(cols) - 1.5, color="#999999", lw=0.5)
        title = "Risk of bias (RoB 2)" + (f": {drug}" if drug else "")
        fig.text(0.02, 1 - 4 / height_pt, title, fontsize=8, fontweight="bold", va="top")
        key = "\n".join(f"D{j + 1}: {DOMAIN_LABELS[k].split(' ', 1)[1]}" for j, k in enumerate(cols[:5]))
        fig.text(0.02, (foot_pt - 8) / height_pt, key, fontsize=5.5, va="top", color="#333333", linespacing=1.25)
        handles = [Patch(facecolor=COLOURS[c], edgecolor="black", lw=0.3, label=f"{SYMBOLS[c]}  {c}")
                   for c in CATEGORIES]
        fig.legend(handles=handles, loc="upper right", ncol=1, frameon=False, fontsize=6, labelspacing=0.25,
                   bbox_to_anchor=(0.99, (foot_pt - 4) / height_pt))
        style.draw_footer(fig, footer_text)
    return fig


def rob_summary(proportions: RobProportions, *, footer: Any = None) -> Figure:
    """Summary plot of :func:`helpers.stats.riskofbias.rob_proportions`: per domain a horizontal bar stacked Low /
    Some concerns / High / No information, in percent of studies or of weight, as the result says (its numbers are
    drawn; gids 'rob_bar:<domain>:<c>')."""
    _check_result("proportions", proportions, RobProportions, "rob_proportions(studies, weights, drug)")
    shares, drug = proportions.shares, proportions.drug
    footer_text = style.resolve_footer(footer)
    with style.figure_style():
        fig = Figure(figsize=style.figsize("double", 6.0 if footer_text else 5.5))
        ax = fig.add_axes((0.36, 0.34 if footer_text else 0.3, 0.6, 0.56))
        for i, domain in enumerate(ROB_COLUMNS):
            left = 0.0
            for c in CATEGORIES:
                share = shares.loc[domain, c]
                if share > 0:
                    ax.barh(i, share, left=left, color=COLOURS[c], edgecolor="black", lw=0.3, height=0.7,
                            gid=f"rob_bar:{domain}:{c}")
                    if share >= 6:
                        ax.text(left + share / 2, i, f"{share:.0f}%", ha="center", va="center", fontsize=6)
                left += share
        ax.set_ylim(len(ROB_COLUMNS) - 0.5, -0.5)
        ax.set_yticks(range(len(ROB_COLUMNS)), [DOMAIN_LABELS[d] for d in ROB_COLUMNS])
        ax.get_yticklabels()[-1].set_fontweight("bold")
        ax.set_xlim(0, 100)
        basis = "of weight" if proportions.weighted else "of studies"
        ax.set_xlabel(f"Percent {basis}")
        title = "Risk of bias (RoB 2) summary" + (f": {drug}" if drug else "")
        ax.set_title(title, loc="left", fontsize=8.5, fontweight="bold")
        handles = [Patch(facecolor=COLOURS[c], edgecolor="black", lw=0.3, label=c) for c in CATEGORIES]
        fig.legend(handles=handles, loc="lower center", ncol=4, frameon=False, fontsize=7,
                   bbox_to_anchor=(0.6, 0.08 if footer_text else 0.02))
        style.draw_footer(fig, footer_text)
    return fig

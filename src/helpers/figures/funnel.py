"""Contour-enhanced funnel plot (Peters et al. 2008, J Clin Epidemiol 61:991; Sterne et al. 2011, BMJ 343:d4002).

Effect on the x axis (ratio measures on a log axis, labelled in ratio units), standard error on the y axis
inverted (0 at the top). Shaded regions mark where a study's two-sided Wald test against the null (0, or 1 for
ratios) has p < 0.01, 0.01-0.05 and 0.05-0.10: ``|yi| > z(1 - alpha/2) * se``. Dashed pseudo 95% limits are
``theta_FE ± 1.96 * se`` around the inverse-variance fixed-effect estimate. Egger line: the fitted
``yi = b0 + b1 * se`` of ``helpers.stats.bias.egger``; trim-and-fill studies (``helpers.stats.bias.trim_and_fill``)
as open markers; all come computed in a :class:`helpers.stats.smallstudy.SmallStudyEffects`. With k < 10 the
figure says so: tests for asymmetry then have low power (Cochrane Handbook 13.3.5.4).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator
from scipy import stats

from helpers.figures import style
from helpers.stats.smallstudy import SmallStudyEffects

MIN_K_TESTS = 10
LOW_POWER_NOTE = "Fewer than 10 studies: tests for funnel asymmetry have low power"
#: Fill colours from the outermost (smallest p) inwards; greys read in print and for colour-blind readers.
CONTOUR_GREYS = ("#d9d9d9", "#a6a6a6", "#737373")


def _check_contours(contours: Any) -> tuple[float, ...]:
    try:
        levels = tuple(sorted(float(c) for c in contours))
    except (TypeError, ValueError):
        raise ValueError(f"contours must be significance levels between 0 and 1; got {contours!r}") from None
    if not levels or len(levels) > len(CONTOUR_GREYS) or not all(0 < c < 1 for c in levels):
        raise ValueError(
            f"contours must be 1 to {len(CONTOUR_GREYS)} significance levels between 0 and 1; got {contours!r}"
        )
    return levels


def funnel_plot(result: SmallStudyEffects, *, contours=(0.01, 0.05, 0.10), footer: Any = None) -> Figure:
    """Draw a contour-enhanced funnel plot of ``result`` (:func:`helpers.stats.smallstudy.small_study_effects`: the
    studies on the analysis scale, the fixed-effect estimate, Egger's test and trim and fill); return the Figure.

    Nothing is computed here but the drawing: the Egger line and the filled studies are drawn when ``result`` holds
    them; its ``notes`` (e.g. too few studies for the tests) are printed under the plot. Artists carry gids:
    'studies', 'filled_studies', 'egger_line', 'pseudo_ci', 'fixed_effect', 'low_power_note'.
    """
    if not isinstance(result, SmallStudyEffects):
        raise TypeError("funnel_plot draws a helpers.stats.smallstudy.SmallStudyEffects "
                        f"(small_study_effects(yi, vi, measure=...)); got {type(result).__name__}")
    levels = _check_contours(contours)
    footer_text = style.resolve_footer(footer)
    y, v, k, measure = result.yi, result.vi, result.k, result.measure
    se = np.sqrt(v)
    log = result.log_scale
    show = np.exp if log else (lambda x: x)
    fe, egger_res, trim_res = result.fixed_effect, result.egger, result.trim_fill
    notes = list(result.notes)

    filled_se = np.sqrt(trim_res.filled["vi"].to_numpy()) if trim_res is not None else np.empty(0)
    se_max = 1.08 * float(max(se.max(), filled_se.max() if filled_se.size else 0.0))
    grid = np.linspace(0.0, se_max, 200)
    zs = [stats.norm.isf(a / 2) for a in levels]  # sorted small alpha -> large z
    all_y = np.concatenate([y, trim_res.filled["yi"].to_numpy() if trim_res is not None else np.empty(0)])
    half = 1.1 * max(float(np.abs(all_y).max()), zs[0] * se_max, abs(fe.estimate) + 1.96 * se_max)

    lines = [f"k = {k}; fixed-effect estimate {show(fe.estimate):.2f}"]
    if egger_res is not None:
        lines.append(f"Egger: bias {egger_res.bias:.2f}, t = {egger_res.t:.2f}, df = {egger_res.df}, "
                     f"p = {egger_res.p:.3f}")
    if trim_res is not None:
        lines.append(f"Trim and fill ({trim_res.estimator}): {trim_res.k0} filled on the {trim_res.side}; adjusted "
                     f"{show(trim_res.estimate):.2f} [{show(trim_res.ci_low):.2f}, {show(trim_res.ci_high):.2f}]")
    lines += notes
    # vertical layout in points, top-down: note, axes, tick labels + x label, legend, text lines, footer
    note_pt = 22.0 if k < MIN_K_TESTS else 6.0
    axes_pt, xlab_pt, legend_pt, line_pt = 160.0, 30.0, 40.0, 9.0
    foot_pt = 12.0 if footer_text else 3.0
    height = note_pt + axes_pt + xlab_pt + legend_pt + line_pt * len(lines) + foot_pt
    width = style.WIDTH_CM["single"] * style.CM * 72

    with style.figure_style():
        fig = Figure(figsize=(width / 72, height / 72))
        ax = fig.add_axes((0.15, 1 - (note_pt + axes_pt) / height, 0.8, axes_pt / height))
        # contour regions: everything beyond the smallest alpha first, then each band inwards, innermost white
        ax.fill_between([show(-half), show(half)], [0, 0], [se_max, se_max], color=CONTOUR_GREYS[0], lw=0,
                        zorder=0)
        legend = [Patch(color=CONTOUR_GREYS[0], label=f"p < {levels[0]:g}")]
        for i, z in enumerate(zs):
            colour = CONTOUR_GREYS[i + 1] if i + 1 < len(zs) else "white"
            ax.fill_betweenx(grid, show(-z * grid), show(z * grid), color=colour, lw=0, zorder=0)
            if i + 1 < len(zs):
                legend.append(Patch(color=colour, label=f"{levels[i]:g} < p < {levels[i + 1]:g}"))
        legend.append(Patch(facecolor="white", edgecolor="#999999", lw=0.5, label=f"p > {levels[-1]:g}"))
        ax.plot(show(fe.estimate - 1.96 * grid), grid, ls="--", color="black", lw=0.7, gid="pseudo_ci",
                label="Pseudo 95% limits")
        ax.plot(show(fe.estimate + 1.96 * grid), grid, ls="--", color="black", lw=0.7, gid="pseudo_ci")
        ax.axvline(show(fe.estimate), color="black", lw=0.8, gid="fixed_effect")
        ax.scatter(show(y), se, s=14, color=style.STUDY_COLOUR, edgecolor="black", lw=0.3, zorder=3,
                   gid="studies", label="Studies")
        if egger_res is not None:
            ax.plot(show(egger_res.limit_estimate + egger_res.bias * grid), grid, color=style.WARNING_COLOUR,
                    lw=1.0, gid="egger_line", label="Egger regression")
        if trim_res is not None and trim_res.k0:
            ax.scatter(show(trim_res.filled["yi"].to_numpy()), filled_se, s=14, facecolor="white",
                       edgecolor=style.STUDY_COLOUR, lw=0.9, zorder=3, gid="filled_studies",
                       label="Filled (trim and fill)")
        ax.set_ylim(se_max, 0)
        if log:
            ax.set_xscale("log")
            ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            ax.xaxis.set_minor_locator(NullLocator())
            ax.xaxis.set_major_formatter(FuncFormatter(lambda t, _: f"{t:g}"))
        ax.set_xlim(show(-half), show(half))
        ax.set_ylabel("Standard error")
        ax.set_xlabel(f"{measure} (log scale)" if log else measure)
        handles, _ = ax.get_legend_handles_labels()
        fig.legend(handles=legend + handles, loc="upper center", ncol=2, frameon=False, fontsize=6,
                   bbox_to_anchor=(0.5, 1 - (note_pt + axes_pt + xlab_pt) / height), handlelength=1.6,
                   columnspacing=1.0, labelspacing=0.3)
        top = note_pt + axes_pt + xlab_pt + legend_pt
        for i, line in enumerate(lines):
            fig.text(0.03, 1 - (top + i * line_pt) / height, line, fontsize=6, ha="left", va="top")
        if k < MIN_K_TESTS:
            fig.text(0.5, 1 - 3 / height, LOW_POWER_NOTE.replace(": ", ":\n"), ha="center", va="top", fontsize=6.5,
                     fontweight="bold", color=style.WARNING_COLOUR, gid="low_power_note", linespacing=1.1)
        style.draw_footer(fig, footer_text)
    return fig

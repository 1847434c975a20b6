"""Forest plots in the layout of RevMan (Cochrane Review Manager) for one ``MetaAnalysis``.

What comes from the declared dependency ``forestplot`` (0.4.1) and what is ours:

- ``forestplot.graph_utils.draw_ci`` draws the study confidence-interval whiskers (and switches the axis to log10
  for ratio measures) and ``forestplot.graph_utils.draw_est_markers`` draws the study squares, with one marker size
  per row. We call them on our own row frame in top-down order, so forestplot's own row reversal (done by its
  top-level ``forestplot()`` preprocessing, which we do not use) cannot mis-assign sizes.
- Ours (forestplot has no such features): the text table (study, arm data, weight %, "estimate [95% CI]"), square
  areas proportional to the weight, diamonds per subgroup and overall, RevMan's heterogeneity / overall-effect /
  subgroup-difference lines, the prediction-interval bar, arrows where an interval runs past the axis, the
  "Favours ..." labels, the x-axis limits and ticks, and the footer.

forestplot changes global state when imported (``np.seterr(all="ignore")``, ``warnings.filterwarnings("ignore")``,
``rcParams["font.monospace"]``); ``_import_forestplot`` is the only place it is imported and restores all three.
Its ``load_data()`` downloads from the internet and is never called.

The text (number formats, RevMan's wording, the printed rows) is :mod:`helpers.figures.forest_text`.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon
from matplotlib.textpath import TextToPath
from matplotlib.ticker import FixedLocator, NullLocator

from helpers.core import checks
from helpers.figures import style
from helpers.figures.forest_text import (MEASURE_LABELS, METHOD_LABELS, MODEL_LABELS, build_rows, settings_text,
                                         table_columns)


def _import_forestplot():
    """Import forestplot's drawing helpers with its global side effects undone (the one place it is imported)."""
    with np.errstate(), warnings.catch_warnings(), matplotlib.rc_context():
        from forestplot import graph_utils
    return graph_utils


_fp = _import_forestplot()

#: Candidate symmetric x ranges (the first that holds every interval is used), as RevMan offers them.
RATIO_RANGES = ((0.5, 2), (0.2, 5), (0.1, 10), (0.05, 20), (0.01, 100), (0.001, 1000))
RATIO_TICKS = {
    0.5: (0.5, 0.7, 1, 1.5, 2),
    0.2: (0.2, 0.5, 1, 2, 5),
    0.1: (0.1, 0.2, 0.5, 1, 2, 5, 10),
    0.05: (0.05, 0.2, 1, 5, 20),
    0.01: (0.01, 0.1, 1, 10, 100),
    0.001: (0.001, 0.1, 1, 10, 1000),
}
DIFF_LIMITS = (0.5, 1, 2, 4, 5, 10, 20, 50, 100, 200, 500, 1000)

FONT_SIZE = 7.0
ROW_PT = 11.0  # row pitch in points
COL_PAD_PT = 9.0
MIN_PLOT_PT = 150.0
MAX_SQUARE_PT2 = 64.0  # marker area (points²) of the heaviest study
MIN_SQUARE_PT2 = 2.5
_MEASURER = TextToPath()


# ---------------------------------------------------------------------------------------------------- text
def _text_width(text: str, bold: bool = False, size: float = FONT_SIZE) -> float:
    prop = FontProperties(family="DejaVu Sans", size=size, weight="bold" if bold else "normal")
    return _MEASURER.get_text_width_height_descent(text, prop, ismath=False)[0] if text else 0.0


# ---------------------------------------------------------------------------------------------------- axis
def _auto_xlim(ma: Any, rows: list[dict]) -> tuple[float, float]:
    values = []
    for r in rows:
        for key in ("lo", "hi"):
            if key in r:
                values.append(r[key])
        if "diamond" in r:
            values += [r["diamond"][1], r["diamond"][2]]
    values = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    if ma.log_scale:
        values = values[values > 0]
        for lo, hi in RATIO_RANGES:
            if values.size == 0 or (values.min() >= lo and values.max() <= hi):
                return (lo, hi)
        return RATIO_RANGES[-1]
    span = float(np.abs(values).max()) if values.size else 1.0
    limit = next((d for d in DIFF_LIMITS if span <= d), 10 ** math.ceil(math.log10(span)))
    return (-limit, limit)


def _check_xlim(xlim: Any, log_scale: bool) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in xlim)
    except (TypeError, ValueError):
        raise ValueError(f"xlim must be a pair of numbers (low, high); got {xlim!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"xlim must be finite with low < high; got {xlim!r}")
    if log_scale and lo <= 0:
        raise ValueError(f"xlim must be positive for a ratio measure (log axis); got {xlim!r}")
    return lo, hi


def _ticks(xlim: tuple[float, float], log_scale: bool) -> list[float]:
    lo, hi = xlim
    if log_scale:
        if lo in RATIO_TICKS and math.isclose(hi, 1 / lo):
            return list(RATIO_TICKS[lo])
        return [t for t in (10.0**e for e in range(-4, 5)) if lo <= t <= hi] or [lo, hi]
    if math.isclose(lo, -hi):
        return [lo, lo / 2, 0.0, hi / 2, hi]
    return list(np.linspace(lo, hi, 5))


def _tick_label(t: float) -> str:
    return f"{t:g}"


# ---------------------------------------------------------------------------------------------------- figure
_NEEDED = ("measure", "method", "model", "log_scale", "studies", "excluded", "overall", "subgroups", "subgroup_test",
           "display")


def _check_meta(ma: Any) -> None:
    """Refuse anything that is not shaped like a helpers.stats.meta.MetaAnalysis."""
    if not all(hasattr(ma, n) for n in _NEEDED):
        raise TypeError(f"ma must be a helpers.stats.meta.MetaAnalysis; got {type(ma).__name__}")


def forest_plot(
    ma: Any,
    *,
    title: str | None = None,
    favours: tuple[str, str] = ("Favours experimental", "Favours control"),
    prediction_interval: bool = False,
    footer: Any = None,
    xlim: tuple[float, float] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Draw a RevMan-style forest plot of ``ma`` (a ``helpers.stats.meta.MetaAnalysis``) and return the Figure.

    Rows: one per study (arm data, weight %, estimate [95% CI], square of area proportional to the weight, whisker
    for the CI, an arrow where it runs past ``xlim``), per subgroup a diamond with its heterogeneity and
    overall-effect lines, then the overall diamond, heterogeneity, overall effect and test for subgroup differences.
    Ratio measures (``ma.log_scale``) get a log10 axis with the null line at 1, differences a linear axis at 0.
    The diamond spans the pooled CI (Cochrane Handbook 10.10.5); with ``prediction_interval=True`` a bar shows the
    prediction interval of ``ma.overall`` (Higgins, Thompson & Spiegelhalter 2009, J R Stat Soc A 172:137).

    ``footer``: a string or a ``Dataset`` (its label and, when synthetic, the SYNTHETIC DATA note).
    ``ax``: draw inside that axes' area of its figure (the axes itself is hidden) instead of a new figure.
    Artists carry gids for inspection: 'study_markers', 'diamond:overall', 'diamond:<subgroup>',
    'ci_arrow', 'prediction_interval'.
    """
    _check_meta(ma)
    if len(ma.studies) == 0:
        raise ValueError("ma has no studies that entered the analysis: nothing to draw")
    if not (isinstance(favours, tuple | list) and len(favours) == 2 and all(isinstance(f, str) for f in favours)):
        raise ValueError(f"favours must be a pair of strings (left, right); got {favours!r}")
    checks.check_choice("ma.method", ma.method, METHOD_LABELS)
    checks.check_choice("ma.model", ma.model, MODEL_LABELS)
    footer_text = style.resolve_footer(footer)

    cols = table_columns(ma)
    rows = build_rows(ma, cols, prediction_interval)
    xlim = _check_xlim(xlim, ma.log_scale) if xlim is not None else _auto_xlim(ma, rows)
    with style.figure_style():
        return _draw(ma, rows, cols, xlim, title, favours, footer_text, ax)


def _layout(rows: list[dict], cols: list, ma: Any) -> tuple[list[tuple[str, float, str]], float]:
    """Column (key, right-or-left x in points, alignment) and the table width in points."""
    keys = [("study", "Study or Subgroup", "left")] + [(k, h, "right") for k, h, _ in cols]
    keys += [("weight", "Weight", "right"), ("ci", _ci_header(ma)[1], "right")]
    spec, x = [], 0.0
    for key, header, align in keys:
        width = max(
            [_text_width(header, bold=True)]
            + [_text_width(r["cells"].get(key, ""), r["bold"]) for r in rows if not r.get("span")]
        )
        if key == "ci":
            width = max(width, _text_width(_ci_header(ma)[0], bold=True))
        spec.append((key, x if align == "left" else x + width, align))
        x += width + COL_PAD_PT
    span = max(_text_width(r["cells"]["study"]) for r in rows if r.get("span"))
    return spec, max(x, span + COL_PAD_PT)


def _ci_header(ma: Any) -> tuple[str, str]:
    measure = "Peto Odds Ratio" if ma.method == "Peto" else MEASURE_LABELS.get(ma.measure, ma.measure)
    return measure, settings_text(ma)


def _draw(ma, rows, cols, xlim, title, favours, footer_text, ax) -> Figure:
    spec, table_pt = _layout(rows, cols, ma)
    n = len(rows)
    last = max(i for i, r in enumerate(rows) if "diamond" in r or r["kind"] == "pi")  # last row with a drawing
    header_pt, axis_pt = 2.6 * ROW_PT, 38.0
    top_pt = 6.0 + 11.0 * (title.count("\n") + 1) if title else 4.0  # 11 pt per line of 8.5 pt text
    foot_pt = 14.0 if footer_text else 4.0
    body_pt = max(n * ROW_PT, (last + 1) * ROW_PT + axis_pt)  # the x axis sits beside the closing text rows
    plot_pt = max(MIN_PLOT_PT, 2 * max(_text_width(f) for f in favours) + 16)  # room for both "Favours ..." labels
    width_pt = max(style.WIDTH_CM["double"] * style.CM * 72, table_pt + plot_pt + 16)
    height_pt = top_pt + header_pt + body_pt + foot_pt
    if ax is None:
        fig = Figure(figsize=(width_pt / 72, height_pt / 72))
        fx0, fy0, fw, fh = 0.0, 0.0, 1.0, 1.0
    else:
        fig = ax.figure
        box = ax.get_position()
        fx0, fy0, fw, fh = box.x0, box.y0, box.width, box.height
        ax.set_axis_off()

    def fx(pt: float) -> float:
        return fx0 + fw * pt / width_pt

    def fy(pt: float) -> float:
        return fy0 + fh * pt / height_pt

    left_pt = 8.0
    plot_left = left_pt + table_pt
    plot_w = width_pt - plot_left - 10.0
    top = height_pt - top_pt
    y_top = -2.6  # two header rows sit above row 0
    table_h = header_pt + n * ROW_PT
    plot_h = header_pt + (last + 1) * ROW_PT
    table_ax = fig.add_axes((fx(left_pt), fy(top - table_h), fx(table_pt) - fx(0), fy(table_h) - fy(0)))
    plot_ax = fig.add_axes((fx(plot_left), fy(top - plot_h), fx(plot_w) - fx(0), fy(plot_h) - fy(0)))
    table_ax.set_ylim(n - 0.5, y_top)
    plot_ax.set_ylim(last + 0.5, y_top)
    table_ax.set_xlim(0, table_pt)
    table_ax.set_axis_off()

    _draw_table(table_ax, rows, cols, spec, ma)
    _draw_plot(plot_ax, rows, ma, xlim, favours, last)
    if title:
        style.fit_width(fig, fig.text(fx(left_pt), fy(height_pt - 3), title, ha="left", va="top", fontsize=8.5,
                                      fontweight="bold"))
    style.draw_footer(fig, footer_text)
    return fig


def _draw_table(ax: Axes, rows: list[dict], cols: list, spec: list, ma: Any) -> None:
    xs = {key: (x, align) for key, x, align in spec}
    headers = {"study": "Study or Subgroup", "weight": "Weight", "ci": _ci_header(ma)[1]}
    headers |= {k: h for k, h, _ in cols}
    for key, (x, align) in xs.items():
        ax.text(x, -1.2, headers[key], ha=align, va="center", fontsize=FONT_SIZE, fontweight="bold")
    ax.text(xs["ci"][0], -2.2, _ci_header(ma)[0], ha="right", va="center", fontsize=FONT_SIZE, fontweight="bold")
    for group in ("Experimental", "Control"):
        members = [xs[k][0] for k, _, g in cols if g == group]
        if members:
            first_left = min(members) - max(_text_width(headers[k], True) for k, _, g in cols if g == group)
            ax.text((first_left + max(members)) / 2, -2.2, group, ha="center", va="center", fontsize=FONT_SIZE,
                    fontweight="bold")
    ax.axhline(-0.6, color="black", lw=0.6)
    for i, r in enumerate(rows):
        for key, text in r["cells"].items():
            if not text:
                continue
            x, align = (0.0, "left") if r.get("span") else xs[key]
            ax.text(x, i, text, ha=align, va="center", fontsize=FONT_SIZE, fontweight="bold" if r["bold"] else "normal")


def _draw_plot(ax: Axes, rows: list[dict], ma: Any, xlim: tuple[float, float], favours: tuple[str, str],
               last: int) -> None:
    null = 1.0 if ma.log_scale else 0.0
    study_idx = [i for i, r in enumerate(rows) if r["kind"] == "study"]
    frame = pd.DataFrame(
        {
            "row": [float(i) for i in study_idx],
            "estimate": [rows[i]["est"] for i in study_idx],
            "ci_low": [rows[i]["lo"] for i in study_idx],
            "ci_high": [rows[i]["hi"] for i in study_idx],
        }
    )
    weights = np.array([rows[i]["weight"] for i in study_idx], dtype=float)
    wmax = np.nanmax(weights) if weights.size and np.nanmax(weights) > 0 else 1.0
    sizes = np.maximum(MAX_SQUARE_PT2 * np.nan_to_num(weights) / wmax, MIN_SQUARE_PT2)
    with warnings.catch_warnings():
        # forestplot's draw_ci hands matplotlib a list of one-element Series when an analysis has one study, and
        # pandas >= 2.1 warns about the float() matplotlib calls on each: forestplot's internals, not our data
        # (the whisker drawn is the same); scoped to this message and this call only.
        warnings.filterwarnings("ignore", message="Calling float on a single element Series", category=FutureWarning)
        _fp.draw_ci(frame, "estimate", "row", "ci_low", "ci_high", ma.log_scale, ax, lw=0.8, linecolor="black")
    before = len(ax.collections)
    _fp.draw_est_markers(frame, "estimate", "row", ax, marker="s", markersize=sizes,
                         markercolor=style.STUDY_COLOUR, markeralpha=1.0)
    for coll in ax.collections[before:]:
        coll.set_gid("study_markers")
        coll.set_zorder(3)
    if ma.log_scale:
        ax.set_xscale("log")
    ax.set_xlim(*xlim)

    for i, r in enumerate(rows):
        if "diamond" in r:
            est, lo, hi = r["diamond"]
            gid = "diamond:overall" if r["label"].startswith("Total") else f"diamond:{_subgroup_of(rows, i)}"
            ax.add_patch(Polygon([(lo, i), (est, i - 0.38), (hi, i), (est, i + 0.38)], closed=True,
                                 facecolor=style.POOLED_COLOUR, edgecolor=style.POOLED_COLOUR, lw=0.5, gid=gid))
        if r["kind"] == "pi":
            ax.add_line(Line2D([r["lo"], r["hi"]], [i, i], color=style.OKABE_ITO["vermillion"], lw=2.2,
                               solid_capstyle="butt", gid="prediction_interval"))
        lo = r["diamond"][1] if "diamond" in r else r.get("lo")
        hi = r["diamond"][2] if "diamond" in r else r.get("hi")
        if lo is not None:
            _arrows(ax, i, lo, hi, xlim, ma.log_scale)

    ax.vlines(null, -0.5, last + 0.5, color="black", lw=0.6, zorder=1)
    ax.axhline(-0.6, color="black", lw=0.6)
    ci_header = _ci_header(ma)
    mid = math.sqrt(xlim[0] * xlim[1]) if ma.log_scale else (xlim[0] + xlim[1]) / 2
    ax.text(mid, -2.2, ci_header[0], ha="center", va="center", fontsize=FONT_SIZE, fontweight="bold")
    ax.text(mid, -1.2, ci_header[1], ha="center", va="center", fontsize=FONT_SIZE, fontweight="bold")

    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_linewidth(0.6)
    ax.yaxis.set_visible(False)
    ticks = _ticks(xlim, ma.log_scale)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([_tick_label(t) for t in ticks], fontsize=FONT_SIZE)
    trans = ax.get_xaxis_transform()
    ax.annotate(favours[0], xy=(null, 0), xycoords=trans, xytext=(-4, -17), textcoords="offset points",
                ha="right", va="top", fontsize=FONT_SIZE)
    ax.annotate(favours[1], xy=(null, 0), xycoords=trans, xytext=(4, -17), textcoords="offset points",
                ha="left", va="top", fontsize=FONT_SIZE)


def _subgroup_of(rows: list[dict], index: int) -> str:
    """Name of the subgroup whose subtotal row is ``index`` (the nearest bold header above it)."""
    for r in reversed(rows[:index]):
        if r["kind"] == "text" and r["bold"]:
            return r["cells"]["study"]
    return ""


def _arrows(ax: Axes, y: float, lo: float, hi: float, xlim: tuple[float, float], log_scale: bool) -> None:
    """Arrow heads at the axis edge for an interval that runs past it (RevMan's convention)."""
    for edge, beyond in ((xlim[0], lo < xlim[0]), (xlim[1], hi > xlim[1])):
        if not beyond:
            continue
        if log_scale:
            inner = edge * (1.15 if edge == xlim[0] else 1 / 1.15)
        else:
            inner = edge + (0.04 if edge == xlim[0] else -0.04) * (xlim[1] - xlim[0])
        ax.annotate("", xy=(edge, y), xytext=(inner, y), annotation_clip=False, gid="ci_arrow",
                    arrowprops=dict(arrowstyle="-|>", lw=0.8, color="black", mutation_scale=6, shrinkA=0,
                                    shrinkB=0))

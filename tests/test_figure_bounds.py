"""Figure titles never clip (issue 10 point 7): every visible text artist lies inside the figure bounds, for
the planned forest plots with the longest titles of the default package (two were cut at the right edge)."""

from __future__ import annotations

import warnings

import matplotlib
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from helpers.data.dataset import load_dataset
from helpers.figures import style
from helpers.report import plan, render


def outside(fig) -> list[str]:
    """Texts of ``fig`` whose drawn extent leaves the figure (1 px tolerance)."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    bad = []
    for text in fig.findobj(matplotlib.text.Text):
        if text.get_visible() and text.get_text().strip():
            box = text.get_window_extent(renderer)
            if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1:
                bad.append(text.get_text()[:50])
    return bad


@pytest.fixture(scope="module")
def longest_titles():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset()
        specs = plan.forest_plan(ds, ("pain_intensity",), "ketamine").figures
    longest = sorted(specs, key=lambda s: -max(len(line) for line in s.title.split("\n")))[:3]
    return ds, longest


def test_forest_titles_stay_inside_the_figure(longest_titles):
    ds, specs = longest_titles
    for spec in specs:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig = render.draw(spec, ds)
        assert outside(fig) == [], spec.stem


def test_fit_width_shrinks_only_what_overflows():
    fig = Figure(figsize=(2, 1))
    short = fig.text(0.05, 0.9, "short", fontsize=8)
    long = fig.text(0.05, 0.5, "a title far too long for a two-inch-wide figure, cut at the edge", fontsize=8)
    style.fit_width(fig, short)
    style.fit_width(fig, long)
    assert short.get_fontsize() == 8 and 5.0 <= long.get_fontsize() < 8


def test_one_subgroup_draws_its_total_once():
    import dataclasses

    from helpers.figures.forest_text import build_rows, table_columns
    from helpers.report import summary

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset()
        sel = next(s for s in summary.select(ds, "pain_intensity", "ketamine") if s.has_subgroups)
        first = sel.rows["subgroup"].dropna().iloc[0]
        one = dataclasses.replace(sel, rows=sel.rows[sel.rows["subgroup"] == first])
        ma = summary.analyse(one)
    assert len(ma.subgroups) == 1
    pooled = [r["cells"]["study"] for r in build_rows(ma, table_columns(ma), False) if r["kind"] == "pooled"]
    assert pooled == ["Total (95% CI)"]
    both = summary.analyse(sel)
    assert len(both.subgroups) > 1
    labels = [r["cells"]["study"] for r in build_rows(both, table_columns(both), False) if r["kind"] == "pooled"]
    assert labels.count("Subtotal (95% CI)") == len(both.subgroups) and labels[-1] == "Total (95% CI)"

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


def test_ae_markers_at_zero_unclipped_and_empty_rows_say_no_data():
    import dataclasses

    from helpers.figures.adverse import ae_breakdown_plot
    from helpers.stats.adverse import ae_breakdown

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ae = ae_breakdown(plan.only_drug(load_dataset(), "ketamine"), comparator=None)
    table = ae.table
    keys = ["drug", "route", "comparator"]
    family = table["family"].iloc[0]
    group = tuple(table.loc[table["family"] == family, keys].iloc[0])
    # leave one (family, row) empty: drop that family's rows of the first group; put one proportion at 0
    keep = ~((table["family"] == family) & (table[keys].apply(tuple, axis=1) == group))
    cut = table[keep].copy()
    cut.loc[cut.index[0], "prop_c"] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = ae_breakdown_plot(dataclasses.replace(ae, table=cut.reset_index(drop=True)))
    no_data = [t for t in fig.findobj(matplotlib.text.Text) if t.get_gid() == "no-data"]
    groups = set(cut[keys].apply(tuple, axis=1))
    empty = [(f, g) for f in set(cut["family"]) for g in groups
             if g not in set(cut.loc[cut["family"] == f, keys].apply(tuple, axis=1))]
    assert empty  # at least one empty panel row
    assert len(no_data) == 2 * len(empty) and all(t.get_text() == "no data" for t in no_data)  # top and bottom
    props = [c for ax in fig.axes for c in ax.collections if str(c.get_gid()).startswith("prop_")]
    assert props and not any(c.get_clip_on() for c in props)

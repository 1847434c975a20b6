"""Issue 17 part B: figures as a reader sees them on the real rows: no clipped footer, the AE breakdown's ratio
axes keep their end labels and its k labels stay off the intervals, one colour per meaning in the data
overview, byte-identical output run to run."""

from __future__ import annotations

import hashlib
import warnings

import matplotlib.colors as mcolors
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection

from helpers.data.dataset import load_dataset
from helpers.data.schema import DRUGS, ROUTES
from helpers.figures import style
from helpers.figures.adverse import ae_breakdown_plot
from helpers.figures.overview import overview_plot
from helpers.report import plan, render, summary
from helpers.stats.adverse import ae_breakdown


@pytest.fixture(scope="module")
def real(real_rows):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dataset(real_rows)


def _inside(fig) -> list[str]:
    """Texts of ``fig`` that run past its right or bottom edge (what a saved PNG would cut off)."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # lay out legends and tick labels as saving does
    renderer = canvas.get_renderer()
    unseen = {id(tick.label1) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)  # ticks outside the view: not drawn
              for tick in axis.get_major_ticks() + axis.get_minor_ticks()
              if not min(axis.get_view_interval()) <= tick.get_loc() <= max(axis.get_view_interval())}
    out = []
    for text in fig.findobj(lambda a: hasattr(a, "get_window_extent") and hasattr(a, "get_text")):
        if not text.get_text() or not text.get_visible() or id(text) in unseen:
            continue
        box = text.get_window_extent(renderer)
        if box.x1 > fig.bbox.width + 0.5 or box.y0 < -0.5:
            out.append(text.get_text())
    return out


def _funnel(ds):
    spec = next(s for s in plan.funnel_plan(ds, "pain_intensity", "ketamine").figures)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return render.draw(spec, ds)


def test_funnel_footer_is_never_clipped_on_the_real_rows(real):
    """The funnel PNGs read '...mahmood789' (the footer ran past the right edge of a one-column figure)."""
    fig = _funnel(real)
    footer = next(t for t in fig.texts if t.get_gid() == "footer")
    assert footer.get_text().replace("\n", " ") == style.footer_text(real)  # whole, wrapped if it must be
    assert _inside(fig) == []


def test_a_long_footer_wraps_and_the_figure_grows_below():
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2.0, 2.0))
    ax = fig.add_axes((0.1, 0.2, 0.8, 0.7))
    style.draw_footer(fig, "Data: " + ", ".join(f"a rather long provenance part {i}" for i in range(4)))
    assert fig.get_size_inches()[1] > 2.0 and _inside(fig) == []
    assert ax.get_position().height * fig.get_size_inches()[1] == pytest.approx(0.7 * 2.0)  # the plot keeps its size


def _ae(ds):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ae_breakdown_plot(ae_breakdown(plan.only_drug(ds, "ketamine"), comparator=None))


def test_ae_breakdown_ratio_axes_keep_their_end_label_and_k_labels_stay_off_the_intervals(real):
    fig = _ae(real)
    FigureCanvasAgg(fig).draw()
    ratio_axes = [ax for ax in fig.axes if ax.get_xscale() == "log"]
    assert len(ratio_axes) == 4
    for ax in ratio_axes:  # every panel labels its top decade (the first three lost their "100")
        labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
        assert labels[-1] == "100", labels
    renderer = fig.canvas.get_renderer()
    for ax in ratio_axes:
        ends = [x for c in ax.collections if isinstance(c, LineCollection) for seg in c.get_segments()
                for x in np.asarray(seg).reshape(-1, 2)[:, 0] if np.isfinite(x)]
        assert max(ends) <= max(t for t in ax.get_xticks() if t <= ax.get_xlim()[1]) * (1 + 1e-9)
        right_px = ax.transData.transform((max(ends), 0))[0]
        for text in ax.texts:
            if text.get_gid() == "k-label" and "n.e." not in text.get_text():
                assert text.get_window_extent(renderer).x0 >= right_px, text.get_text()  # right of every interval
    note = next(t for t in fig.texts if t.get_gid() == "settings-note").get_text()
    assert "n.e.: not estimable" in note  # "RR n.e." is explained on the figure


def _bar_colours(ax) -> set[str]:
    return {mcolors.to_hex(p.get_facecolor()) for p in ax.patches if p.get_height() > 0 and p.get_width() > 0}


@pytest.mark.parametrize("which", ["real", "synthetic"])
def test_overview_has_one_colour_per_meaning(which, real_rows):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset(real_rows if which == "real" else None)
    fig = overview_plot(summary.study_overview(ds), drugs=DRUGS, routes=ROUTES, footer=ds)
    (legend,) = fig.legends  # one legend for the figure: routes
    routes = {t.get_text(): mcolors.to_hex(h.get_facecolor()) for t, h in zip(legend.get_texts(),
                                                                                legend.legend_handles)}
    assert set(routes) <= {*ROUTES, "not reported"} and not set(routes) & set(DRUGS)
    for ax in fig.axes:  # every bar in every panel is a route's colour (blue was IV, then ketamine)
        assert _bar_colours(ax) <= set(routes.values()), ax.get_title()
    if which == "real":  # no design in the data rows: said, not drawn as a bar of "not reported"
        design = next(ax for ax in fig.axes if ax.get_title().startswith("Trials by design"))
        assert not design.patches and any("Design not recorded in the data rows" in t.get_text() for t in design.texts)


def test_figures_are_byte_identical_run_to_run(real, tmp_path):
    digests = []
    for run in ("a", "b"):
        written = {}
        for stem, fig in (("funnel", _funnel(real)), ("ae", _ae(real)),
                          ("overview", overview_plot(summary.study_overview(real), drugs=DRUGS, routes=ROUTES,
                                                     footer=real))):
            written |= {f"{stem}.{k}": v for k, v in style.save_figure(fig, tmp_path / run, stem).items()}
        digests.append({k: hashlib.sha256(p.read_bytes()).hexdigest() for k, p in written.items()})
    assert digests[0] == digests[1] and len(digests[0]) == 9

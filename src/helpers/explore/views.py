"""What the explorer shows, as HTML snippets and PNGs (no widgets): the banner naming the data, the pooled number
with the lines under it, the explanation against the review, the forest, funnel and adverse-event figures.

Every snippet carries a stable CSS class (``nmda-pooled``, ``nmda-explain``, ...) and the pooled number its
full-precision values in ``data-*`` attributes, for the browser test and for tools.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import replace

import numpy as np

from helpers.explore.reading import CI_WORDS, ESTIMATOR_WORDS, result_lines
from helpers.explore.review import review_name
from helpers.explore.selection import DATA_FIELDS, Exploration
from helpers.figures.forest_text import MEASURE_LABELS, METHOD_LABELS, MODEL_LABELS, fmt

FIGURE_DPI = 110  # screen resolution for the live figures (files for print come from the figures notebook)
#: How to open the real review, shown on the synthetic default.
REAL_HINT = "make explore-real (python -m helpers.explore real)"


def png_bytes(fig, dpi: int = FIGURE_DPI) -> bytes:
    """PNG of a Matplotlib figure without date/software metadata (same figure -> same bytes); closes it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def image_html(png: bytes, alt: str) -> str:
    """An ``<img>`` holding the PNG as a data URI (its ``src`` changes exactly when the bytes change)."""
    data = base64.b64encode(png).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" '
            'style="max-width:100%;height:auto">')


def _column_header(result: Exploration) -> str:
    """RevMan's column header of the pooled result: "Mean Difference IV, Random, 95% CI"."""
    ma = result.meta
    ci = "95% CI" if ma.ci_method == "z" else "95% CI (HKSJ)"
    return (f"{MEASURE_LABELS.get(result.measure, result.measure)} {METHOD_LABELS.get(ma.method, ma.method)}, "
            f"{MODEL_LABELS.get(ma.model, ma.model)}, {ci}")


def pooled_html(result: Exploration, published: str = "") -> str:
    """The pooled number as RevMan prints it, its column header, studies and heterogeneity, then the lines under
    the result (:func:`helpers.explore.reading.result_lines`). The full-precision estimate sits in ``data-estimate``
    and the chosen data fields in ``data-<field>``."""
    het = "" if not np.isfinite(result.i2) else f"; I² = {fmt(result.i2, 0)}%"
    tau = f"; tau² = {fmt(result.tau2, 2)}" if result.meta.model == "random" and np.isfinite(result.tau2) else ""
    chosen = " ".join(f'data-{name}="{html.escape(str(getattr(result, name) or ""))}"' for name in DATA_FIELDS)
    analysis = (f'<div class="nmda-analysis-title" style="font-weight:bold">Analysis {html.escape(result.analysis)}: '
                f'{html.escape(result.analysis_name)}</div>') if result.analysis else ""
    lines = "".join(f'<div class="nmda-line">{html.escape(line)}</div>' for line in result_lines(result, published))
    return (f'<div class="nmda-pooled" {chosen} data-analysis="{html.escape(result.analysis or "")}" '
            f'data-measure="{result.measure}" data-estimate="{result.estimate!r}" data-ci-low="{result.ci_low!r}" '
            f'data-ci-high="{result.ci_high!r}" data-k="{result.k}">{analysis}'
            f'<span class="nmda-headline" style="font-size:1.4em;font-weight:bold">{html.escape(result.headline)}'
            f'</span> <span style="color:#555">{html.escape(_column_header(result))}</span><br>'
            f'{result.k} {"study" if result.k == 1 else "studies"}, {result.participants} participants'
            f'{het}{tau} &middot; {ESTIMATOR_WORDS[result.tau2_method]}, {CI_WORDS[result.ci_method]}'
            f'<div class="nmda-lines" style="margin-top:4px">{lines}</div></div>')


def explanation_html(lines, synthetic: bool = False) -> str:
    """The explanation against the review (:func:`helpers.explore.explain.explain`) as a short list; on synthetic
    data the "review" is the synthetic package's own analysis, and the heading says so."""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    whose = "the synthetic package's own analysis (made-up data)" if synthetic else "the review"
    return (f'<div class="nmda-explanation" style="max-width:62em;background:#f4f7fb;border-left:4px solid #0072B2;'
            f'padding:4px 10px;margin:6px 0"><b>How this differs from {whose}</b><ul style="margin:4px 0">'
            f'{items}</ul></div>')


def notes_html(dataset) -> str:
    """The dataset's recorded warnings (``dataset.warnings``: mapping gaps, repeated studies, ...) folded under
    one line, so a reader sees that there are notes without a wall of console warnings; empty when none."""
    notes = tuple(dataset.warnings)
    if not notes:
        return ""
    items = "".join(f"<li>{html.escape(str(n))}</li>" for n in notes)
    return (f'<details class="nmda-data-notes"><summary>{len(notes)} data note{"s" if len(notes) != 1 else ""} '
            f'(how the data were read)</summary><ul>{items}</ul></details>')


def banner_html(dataset) -> str:
    """Red synthetic-data banner when ``dataset.synthetic`` (with the command that opens the real review);
    otherwise the review's name (:func:`helpers.explore.review.review_name`) and the data; then the dataset's
    notes, folded (:func:`notes_html`)."""
    label = html.escape(str(dataset.label))
    if dataset.synthetic:
        return ('<div class="nmda-synthetic" style="background:#D55E00;color:white;font-weight:bold;'
                f'padding:6px 10px;border-radius:4px">{label}: these studies are made up to show the tools. '
                'Do not use these numbers as evidence.</div>'
                f'<div class="nmda-real-hint">The real review\'s data: {html.escape(REAL_HINT)}</div>'
                + notes_html(dataset))
    name = html.escape(review_name(dataset))
    data = "" if name == label else f'<div class="nmda-dataset">Data: {label}</div>'
    return (f'<div class="nmda-review" style="font-size:1.2em;font-weight:bold">{name}</div>{data}'
            + notes_html(dataset))


def forest_png(result: Exploration, dataset) -> bytes:
    """The forest plot of ``result.meta`` as PNG, RevMan's layout (helpers.figures.forest), titled with the
    analysis."""
    from helpers.figures.forest import forest_plot

    title = f"Analysis {result.analysis}: {result.analysis_name}" if result.analysis else result.headline
    return png_bytes(forest_plot(result.meta, title=title, footer=dataset))


def funnel_png(result: Exploration, dataset) -> bytes:
    """The funnel plot of ``result.meta``'s studies as PNG (helpers.stats.smallstudy -> helpers.figures.funnel);
    trim and fill pools with the estimator in use, as every other number of the view."""
    from helpers.figures.funnel import funnel_plot
    from helpers.stats.smallstudy import small_study_effects

    studies = result.meta.studies
    return png_bytes(funnel_plot(small_study_effects(studies["yi"], studies["vi"], measure=result.measure,
                                                     labels=studies["study"], tau2_method=result.tau2_method),
                                 footer=dataset))


def adverse_html(dataset, result: Exploration, tau2_method: str | None, ci: str) -> str:
    """The adverse-event breakdown of notebook 03 for the comparison of ``result`` (its drug, route and
    comparator): the psychotomimetic family beside nausea and vomiting and the other harms
    (helpers.stats.adverse.ae_breakdown -> helpers.figures.adverse), pooled with ``tau2_method`` (None: each
    analysis' own settings, as the review) and ``ci``; a sentence instead when the comparison has no harm rows."""
    from helpers.figures.adverse import ae_breakdown_plot
    from helpers.stats.adverse import AE_OUTCOMES, ae_breakdown

    rows = dataset.rows
    if dataset.generic is not None:  # no analysis is mapped to a drug or an adverse-event outcome
        return ('<p class="nmda-ae-none">Not available for these data: the breakdown needs analyses mapped to drug, '
                'route and adverse-event outcome (a review map), and these data are read in the generic mode. '
                'Each analysis, adverse events included, is in the Analysis list with its forest plot.</p>')
    keep = np.ones(len(rows), dtype=bool)
    for name in ("drug", "route", "comparator"):
        keep &= (rows[name] == getattr(result, name)).to_numpy()
    keep &= rows["outcome"].isin(AE_OUTCOMES).to_numpy()
    what = f"{result.drug} ({result.route}) versus {result.comparator}"
    if not keep.any():
        return (f'<p class="nmda-ae-none">No adverse-event analysis for {html.escape(what)} in these data '
                f'(outcomes looked for: {", ".join(AE_OUTCOMES)}).</p>')
    part = replace(dataset, rows=rows[keep].reset_index(drop=True))
    breakdown = ae_breakdown(part, tau2_method=tau2_method, ci_method=ci if tau2_method is not None else "z",
                             comparator=None)
    how = "each analysis' own settings (the review's)" if tau2_method is None else \
        f"{ESTIMATOR_WORDS[tau2_method]}, {CI_WORDS[ci]}"
    return (f'<p>Adverse events of {html.escape(what)}, as in notebook 03: crude proportions per arm (top) and '
            f'pooled risk ratios (bottom), pooled with {html.escape(how)}.</p>'
            + image_html(png_bytes(ae_breakdown_plot(breakdown, footer=dataset)),
                         f"Adverse events: {what}"))

"""Interactive explorer app: ipywidgets and HTML around the pure functions of :mod:`helpers.explore.selection`.

:class:`ExplorerApp` only wires ipywidgets to :func:`~helpers.explore.selection.options`,
:func:`~helpers.explore.selection.select_rows` and :func:`~helpers.explore.selection.explore`, and renders the
result (HTML snippets, forest and funnel PNGs); ``notebooks/explore.ipynb`` displays it.
"""

from __future__ import annotations

import base64
import html
import io
import warnings
from collections.abc import Mapping
from dataclasses import replace

import numpy as np

from helpers.core.checks import CI_METHODS, TAU2_METHODS
from helpers.explore.reading import CI_WORDS, ESTIMATOR_WORDS
from helpers.data.schema import OUTCOME_LABELS
from helpers.explore.selection import (DATA_FIELDS, ROB_FILTERS, ROB_LABELS, Exploration, Selection,
                                       comparison_names, explore, first_selection, options, select_rows)

NO_CHOICE = "(none)"  # leave-one-out: keep every study

#: Where the explorer opens when these values exist in the data (else the first value of each field).
START = {"drug": "ketamine", "comparator": "placebo", "route": "intravenous", "outcome": "pain_intensity",
         "timepoint": "short"}
FIELD_LABELS = {"drug": "Drug", "comparator": "Compared with", "route": "Route", "outcome": "Outcome",
                "timepoint": "Time point"}
ESTIMATOR_BUTTONS = {"FE": "Fixed effect", "DL": "DerSimonian-Laird", "REML": "REML", "PM": "Paule-Mandel"}
CI_BUTTONS = {"z": "Wald (z)", "hksj": "HKSJ"}
#: Dropdown labels for the tidy vocabulary (values stay the tidy codes); anything else shows as itself.
DISPLAY = {**OUTCOME_LABELS, "usual_care": "usual care", "active": "another medicine (active comparator)",
           "unknown": "unknown (no source found)", "short": "short term", "medium": "medium term",
           "long": "long term", "any": "any time", "immediate": "immediate term"}
FIGURE_DPI = 110  # screen resolution for the live figures (files for print come from the figures notebook)


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


def pooled_html(result: Exploration) -> str:
    """The pooled numbers; the full-precision estimate sits in ``data-estimate`` for tests and tools."""
    het = "" if not np.isfinite(result.i2) else f"; I² = {result.i2:.0f}%"
    tau = f"; tau² = {result.tau2:.3g}" if result.estimator != "FE" and np.isfinite(result.tau2) else ""
    chosen = " ".join(f'data-{name}="{html.escape(getattr(result, name))}"' for name in DATA_FIELDS)
    return (f'<div class="nmda-pooled" {chosen} data-measure="{result.measure}" data-estimate="{result.estimate!r}" '
            f'data-ci-low="{result.ci_low!r}" data-ci-high="{result.ci_high!r}" data-k="{result.k}">'
            f'<span style="font-size:1.3em;font-weight:bold">{html.escape(result.headline)}</span><br>'
            f'{result.k} {"study" if result.k == 1 else "studies"}, {result.participants} participants'
            f'{het}{tau} &middot; {ESTIMATOR_WORDS[result.estimator]}, {CI_WORDS[result.ci_method]}</div>')


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
    """Red synthetic-data banner when ``dataset.synthetic``; otherwise a quiet line naming the dataset; then the
    dataset's notes, folded (:func:`notes_html`)."""
    label = html.escape(str(dataset.label))
    if dataset.synthetic:
        return ('<div class="nmda-synthetic" style="background:#D55E00;color:white;font-weight:bold;'
                f'padding:6px 10px;border-radius:4px">{label}: these studies are made up to show the tools. '
                'Do not use these numbers as evidence.</div>' + notes_html(dataset))
    return f'<div class="nmda-dataset">Data: {label}</div>' + notes_html(dataset)


def forest_png(result: Exploration, dataset) -> bytes:
    """The forest plot of ``result.meta`` as PNG (helpers.figures.forest)."""
    from helpers.figures.forest import forest_plot

    return png_bytes(forest_plot(result.meta, title=result.headline, footer=dataset))


def funnel_png(result: Exploration, dataset) -> bytes:
    """The funnel plot of ``result.meta``'s studies as PNG (helpers.stats.smallstudy -> helpers.figures.funnel);
    trim and fill pools with the estimator the user picked, as every other number of the view."""
    from helpers.figures.funnel import funnel_plot
    from helpers.stats.smallstudy import small_study_effects

    studies = result.meta.studies
    return png_bytes(funnel_plot(small_study_effects(studies["yi"], studies["vi"], measure=result.measure,
                                                     labels=studies["study"], estimator=result.estimator),
                                 footer=dataset))


def _labelled(values, names: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """Dropdown (label, value) pairs; ``names`` adds each value's comparison name (route dropdown)."""
    names = names or {}
    return [(f"{DISPLAY.get(v, v)}: {names[v]}" if v in names else DISPLAY.get(v, v), v) for v in values]


def _field_options(rows, name: str, above: Mapping[str, str]) -> list[tuple[str, str]]:
    """The labelled options of field ``name`` given the fields ``above`` it; routes carry the comparison names."""
    names = comparison_names(rows, **above) if name == "route" else None
    return _labelled(options(rows, **above), names)


class ExplorerApp:
    """ipywidgets front end: controls -> :func:`explore` -> numbers, reading and figures, updated on each change.

    Every output widget carries a stable CSS class (``nmda-pooled-estimate``, ``nmda-forest``, ...) used by the
    browser test. ``app.widget`` is what the notebook displays; ``app.result`` the last :class:`Exploration`.
    """

    def __init__(self, dataset=None, start: Mapping[str, str] | None = None):
        import ipywidgets as w

        if dataset is None:
            from helpers.data.dataset import load_dataset

            with warnings.catch_warnings():  # recorded in dataset.warnings and shown folded by banner_html
                warnings.simplefilter("ignore")
                dataset = load_dataset()
        self.dataset = dataset
        self.result: Exploration | None = None
        self.error: str | None = None
        self._busy = False
        rows = dataset.rows
        chosen = first_selection(rows, **{**START, **(start or {})})
        self.fields = {}
        for i, name in enumerate(DATA_FIELDS):
            above = {n: chosen[n] for n in DATA_FIELDS[:i]}
            self.fields[name] = w.Dropdown(description=FIELD_LABELS[name], value=chosen[name],
                                           options=_field_options(rows, name, above))
        self.estimator = w.ToggleButtons(description="Estimator", value="REML",
                                         options=[(ESTIMATOR_BUTTONS[e], e) for e in TAU2_METHODS])
        self.ci = w.ToggleButtons(description="CI", options=[(CI_BUTTONS[c], c) for c in CI_METHODS], value="z")
        self.leave_out = w.Dropdown(description="Leave out", options=[(NO_CHOICE, "")], value="")
        self.rob = w.Dropdown(description="Risk of bias", options=[(ROB_LABELS[r], r) for r in ROB_FILTERS],
                              value="all")
        self.banner, self.pooled, self.reading, self.status = (w.HTML() for _ in range(4))
        self.forest, self.funnel = w.HTML(), w.HTML()
        controls = {**self.fields, "estimator": self.estimator, "ci": self.ci, "leave-out": self.leave_out,
                    "rob": self.rob}
        for name, widget in controls.items():
            widget.add_class(f"nmda-{name}")
            widget.style.description_width = "110px"
            widget.observe(self._on_change, names="value")
        for name in ("banner", "pooled", "reading", "status", "forest", "funnel"):
            getattr(self, name).add_class(f"nmda-{name}")
        self.pooled.add_class("nmda-pooled-estimate")
        self.banner.value = banner_html(dataset)
        left = w.VBox(list(self.fields.values()) + [self.leave_out, self.rob])
        right = w.VBox([self.estimator, self.ci])
        self.widget = w.VBox([self.banner, w.HBox([left, right]), self.pooled, self.reading, self.status,
                              self.forest, self.funnel])
        self._refresh_leave_out()
        self.refresh()

    def selection(self) -> Selection:
        """The current choices as a :class:`Selection`."""
        data = {name: widget.value for name, widget in self.fields.items()}
        return Selection(**data, estimator=self.estimator.value, ci=self.ci.value,
                         leave_out=self.leave_out.value or None, rob=self.rob.value)

    def _refresh_options(self, changed: str) -> None:
        """Re-list the fields below ``changed``, keeping each value when it is still available."""
        rows = self.dataset.rows
        chosen = {n: self.fields[n].value for n in DATA_FIELDS[: DATA_FIELDS.index(changed) + 1]}
        for name in DATA_FIELDS[DATA_FIELDS.index(changed) + 1:]:
            allowed = options(rows, **chosen)
            keep = self.fields[name].value
            self.fields[name].options = _field_options(rows, name, chosen)
            self.fields[name].value = keep if keep in allowed else allowed[0]
            chosen[name] = self.fields[name].value

    def _refresh_leave_out(self) -> None:
        sel = self.selection()
        studies = select_rows(self.dataset, replace(sel, leave_out=None, rob="all")).candidates
        keep = self.leave_out.value
        self.leave_out.options = [(NO_CHOICE, "")] + [(s, s) for s in studies]
        self.leave_out.value = keep if keep in studies else ""

    def _on_change(self, change) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            name = next((n for n, wdg in self.fields.items() if wdg is change["owner"]), None)
            if change["owner"] is self.estimator:  # the engine pools fixed-effect models with a Wald CI only
                if self.estimator.value == "FE":
                    self.ci.value = "z"
                self.ci.disabled = self.estimator.value == "FE"
            if name is not None:
                self._refresh_options(name)
                self._refresh_leave_out()
        finally:
            self._busy = False
        self.refresh()

    def refresh(self) -> None:
        """Recompute and redraw everything for the current choices (errors are shown, not raised)."""
        try:
            with warnings.catch_warnings(record=True) as caught:  # shown in the status line below
                warnings.simplefilter("always")
                result = explore(self.dataset, self.selection())
                forest, funnel = forest_png(result, self.dataset), funnel_png(result, self.dataset)
        except ValueError as exc:
            self.result, self.error = None, str(exc)
            self.pooled.value = self.reading.value = self.forest.value = self.funnel.value = ""
            self.status.value = f'<div style="color:#D55E00"><b>Cannot pool this choice:</b> {html.escape(str(exc))}</div>'
            return
        self.result, self.error = result, None
        self.pooled.value = pooled_html(result)
        self.reading.value = f'<p style="max-width:60em;line-height:1.45">{html.escape(result.text)}</p>'
        notes = [f"{s}: {r}" for s, r in result.excluded] + list(result.warnings)
        notes = list(dict.fromkeys(notes + [str(w.message) for w in caught if issubclass(w.category, UserWarning)]))
        self.status.value = ("<details><summary>Excluded studies and warnings "
                             f"({len(notes)})</summary><ul>{''.join(f'<li>{html.escape(n)}</li>' for n in notes)}"
                             "</ul></details>") if notes else ""
        what = f"{result.drug} versus {result.comparator}, {result.outcome}, {result.timepoint}"
        self.forest.value = image_html(forest, f"Forest plot: {what}. {result.headline}")
        self.funnel.value = image_html(funnel, f"Funnel plot: {what}")

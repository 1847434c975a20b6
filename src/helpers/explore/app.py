"""Interactive explorer app: ipywidgets around the pure functions of :mod:`helpers.explore.selection`,
:mod:`~helpers.explore.review` and :mod:`~helpers.explore.explain`, shown with :mod:`~helpers.explore.views`.

The explorer opens where the review stands: its first analysis (CD015373: 1.1, intravenous ketamine versus
placebo, pain intensity, immediate term) with the review's own settings, the published result beside the
recomputed one. The choices follow the review: drug, then comparison group, then analysis (with its subgroups);
then the estimator, the CI method, a study to leave out and a risk-of-bias filter. Each change is explained
against the review's own result. A second tab shows the adverse events of the comparison (notebook 03's
breakdown). ``notebooks/explore.ipynb`` displays ``app.widget``.
"""

from __future__ import annotations

import html
import warnings

from helpers.core.checks import CI_METHODS, TAU2_METHODS
from helpers.explore.explain import explain
from helpers.explore.grade import certainty_html
from helpers.explore.review import (analyses_in, comparison_groups, drugs_in_order, first_analysis,
                                    published_line)
from helpers.explore.selection import ROB_FILTERS, ROB_LABELS, Exploration, Selection, explore, for_analysis
from helpers.explore.views import (adverse_html, banner_html, explanation_html, forest_png, funnel_png,
                                   image_html, pooled_html)
from helpers.stats.settings import review_estimator

NO_CHOICE = "(none)"  # leave-one-out: keep every study
ALL_DRUGS = "all drugs"
ESTIMATOR_BUTTONS = {"FE": "Fixed effect", "DL": "DerSimonian-Laird", "REML": "REML", "PM": "Paule-Mandel"}
CI_BUTTONS = {"z": "Wald (z)", "hksj": "HKSJ"}
TABS = ("Forest and funnel", "Adverse events")
FUNNEL_MIN_K = 3  # fewer studies: no funnel plot, a sentence instead
KEEP_FIGURES = 32  # drawn figures kept for choices made again


def load_quietly(path=None):
    """:func:`helpers.data.dataset.load_dataset` as the notebooks read it: analyses whose settings are not in the
    data (bare data rows) get the ones read off RevMan's per-study values (:func:`helpers.stats.infer.settle`,
    evidence in ``dataset.settings_evidence``); its warnings recorded in ``dataset.warnings`` only (the banner
    shows them folded) rather than printed on the page."""
    from helpers.data.dataset import load_dataset
    from helpers.stats.infer import settle

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return settle(load_dataset(path))


def from_environment() -> ExplorerApp:
    """The app for the data named by the environment variable ``NMDA_EXPLORE_DATA``
    (:data:`helpers.explore.server.DATA_ENV`, set by ``python -m helpers.explore real`` / ``--data``), else for
    the synthetic default."""
    import os

    from helpers.explore.server import DATA_ENV

    return ExplorerApp(load_quietly(os.environ.get(DATA_ENV) or None))


class ExplorerApp:
    """ipywidgets front end: controls -> :func:`explore` and :func:`explain` -> numbers, words and figures.

    ``dataset``: a :class:`helpers.data.tidy.Dataset` (None: the synthetic default); ``start``: the analysis to
    open at (default: the first analysis of the first comparison with at least two studies, "1.1" for CD015373).
    Every output widget carries a stable CSS class (``nmda-pooled-estimate``, ``nmda-explain``, ``nmda-forest``,
    ...). ``app.widget`` is what the notebook displays; ``app.result`` the last :class:`Exploration`.
    """

    def __init__(self, dataset=None, start: str | None = None):
        import ipywidgets as w

        self.dataset = dataset = load_quietly() if dataset is None else dataset
        self.result: Exploration | None = None
        self.error: str | None = None
        self.explanation: tuple[str, ...] = ()
        self._busy, self._reviews, self._adverse_key, self._figures = False, {}, None, {}
        rows = dataset.rows
        groups = comparison_groups(rows)
        start = start if start is not None else first_analysis(rows, next(iter(groups)))
        drugs = drugs_in_order(rows)
        self.drug = w.Dropdown(description="Drug", options=[(ALL_DRUGS, "")] + [(d, d) for d in drugs], value="")
        self.comparison = w.Dropdown(description="Comparison")
        self.analysis = w.Dropdown(description="Analysis")
        self._list_comparisons(start.split(".")[0])
        self._list_analyses(start)
        self.estimator = w.ToggleButtons(description="Estimator", options=[(ESTIMATOR_BUTTONS[e], e) for e in TAU2_METHODS])
        self.ci = w.ToggleButtons(description="CI", options=[(CI_BUTTONS[c], c) for c in CI_METHODS])
        self.reset = w.Button(description="Back to the review's settings", icon="undo")
        self.leave_out = w.Dropdown(description="Leave out", options=[(NO_CHOICE, "")], value="")
        self.rob = w.Dropdown(description="Risk of bias", options=[(ROB_LABELS[r], r) for r in ROB_FILTERS],
                              value="all")
        self.banner, self.pooled, self.explain, self.reading, self.status = (w.HTML() for _ in range(5))
        self.forest, self.funnel, self.adverse = w.HTML(), w.HTML(), w.HTML()
        self.tabs = w.Tab(children=[w.VBox([self.reading, self.status, self.forest, self.funnel]),
                                    w.VBox([self.adverse])])
        for i, title in enumerate(TABS):
            self.tabs.set_title(i, title)
        controls = {"drug": self.drug, "comparison": self.comparison, "analysis": self.analysis,
                    "estimator": self.estimator, "ci": self.ci, "leave-out": self.leave_out, "rob": self.rob}
        for name, widget in controls.items():
            widget.add_class(f"nmda-{name}")
            widget.style.description_width = "90px"
            widget.observe(self._on_change, names="value")
        for widget in (self.comparison, self.analysis):
            widget.layout.width = "46em"
        self.reset.layout.width = "20em"
        for widget in (self.leave_out, self.rob):
            widget.layout.width = "28em"
        self.tabs.layout.width = "100%"
        for name in ("banner", "pooled", "explain", "reading", "status", "forest", "funnel", "adverse", "reset",
                     "tabs"):
            getattr(self, name).add_class(f"nmda-{name}")
        self.pooled.add_class("nmda-pooled-estimate")
        self.reset.on_click(lambda _: self._to_review_settings())
        self.tabs.observe(lambda _: self._draw_adverse(), names="selected_index")
        self.banner.value = banner_html(dataset)
        left = w.VBox([self.drug, self.comparison, self.analysis, self.leave_out, self.rob])
        right = w.VBox([self.estimator, self.ci, self.reset])
        self.widget = w.VBox([self.banner, w.HBox([left, right]), self.pooled, self.explain, self.tabs])
        self._to_review_settings(refresh=False)
        self._refresh_leave_out()
        self.refresh()

    # ------------------------------------------------------------------------------------------ choices

    def _list_comparisons(self, keep: str | None = None) -> None:
        groups = comparison_groups(self.dataset.rows, self.drug.value)
        self.comparison.options = [(f"{g}  {name}", g) for g, name in groups.items()]
        self.comparison.value = keep if keep in groups else next(iter(groups))

    def _list_analyses(self, keep: str | None = None) -> None:
        rows = self.dataset.rows
        named = analyses_in(rows, self.comparison.value)
        k = rows[rows["analysis_id"].isin(named)].groupby("analysis_id")["study"].nunique()
        self.analysis.options = [(f"{a}  {name}  ({k[a]} {'study' if k[a] == 1 else 'studies'})", a)
                                 for a, name in named.items()]
        self.analysis.value = keep if keep in named else first_analysis(rows, self.comparison.value)

    def review_settings(self) -> tuple[str, str]:
        """(tau2_method, CI method) of the review's analysis now selected
        (:func:`helpers.stats.settings.review_estimator`)."""
        return review_estimator(self.dataset.analysis(self.analysis.value))

    def _to_review_settings(self, refresh: bool = True) -> None:
        tau2_method, ci = self.review_settings()
        self._busy = True
        try:
            self.estimator.value, self.ci.value, self.leave_out.value, self.rob.value = tau2_method, ci, "", "all"
            self.ci.disabled = tau2_method == "FE"
        finally:
            self._busy = False
        if refresh:
            self.refresh()

    def selection(self) -> Selection:
        """The current choices as a :class:`Selection`; an estimator or CI method equal to the review's is the
        review's setting (None), so the review's own method (e.g. Mantel-Haenszel) is kept."""
        tau2_method, ci = self.review_settings()
        return for_analysis(self.dataset, self.analysis.value,
                            tau2_method=None if self.estimator.value == tau2_method else self.estimator.value,
                            ci=None if self.ci.value == ci else self.ci.value,
                            leave_out=self.leave_out.value or None, rob=self.rob.value)

    def _refresh_leave_out(self) -> None:
        from helpers.explore.selection import select_rows

        studies = select_rows(self.dataset, for_analysis(self.dataset, self.analysis.value)).candidates
        keep = self.leave_out.value
        self.leave_out.options = [(NO_CHOICE, "")] + [(s, s) for s in studies]
        self.leave_out.value = keep if keep in studies else ""

    def _on_change(self, change) -> None:
        if self._busy:
            return
        self._busy = True
        owner = change["owner"]
        try:
            if owner is self.drug:
                self._list_comparisons(self.comparison.value)
            if owner in (self.drug, self.comparison):
                self._list_analyses()
            if owner in (self.drug, self.comparison, self.analysis):
                self._refresh_leave_out()
            if owner is self.estimator:  # the engine pools fixed-effect models with a Wald CI only
                if self.estimator.value == "FE":
                    self.ci.value = "z"
                self.ci.disabled = self.estimator.value == "FE"
        finally:
            self._busy = False
        self.refresh()

    # ------------------------------------------------------------------------------------------ drawing

    def _review(self, analysis_id: str) -> Exploration:
        """The review's own result for ``analysis_id`` (its settings, every study), computed once."""
        if analysis_id not in self._reviews:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._reviews[analysis_id] = explore(self.dataset, for_analysis(self.dataset, analysis_id))
        return self._reviews[analysis_id]

    def refresh(self) -> None:
        """Recompute and redraw for the current choices: the pooled number first, then the explanation and the
        figures (errors are shown, not raised)."""
        sel = self.selection()
        try:
            with warnings.catch_warnings(record=True) as caught:  # shown in the status line below
                warnings.simplefilter("always")
                review = self._review(sel.analysis)
                result = explore(self.dataset, sel)
                lines = explain(self.dataset, sel, review)
        except ValueError as exc:
            self.result, self.error, self.explanation = None, str(exc), ()
            for name in ("pooled", "explain", "reading", "forest", "funnel", "adverse"):
                getattr(self, name).value = ""
            self.status.value = (f'<div style="color:#D55E00"><b>Cannot pool this choice:</b> '
                                 f'{html.escape(str(exc))}</div>')
            return
        self.result, self.error, self.explanation = result, None, lines
        self.pooled.value = pooled_html(result, published_line(self.dataset, sel.analysis, review.meta))
        self.explain.value = explanation_html(lines, bool(self.dataset.synthetic))
        self.reading.value = (f'<p style="max-width:62em;line-height:1.45">{html.escape(result.text)}</p>'
                              + certainty_html(self.dataset, result))
        notes = [f"{s}: {r}" for s, r in result.excluded] + list(result.warnings)
        notes = list(dict.fromkeys(notes + [str(w.message) for w in caught if issubclass(w.category, UserWarning)]))
        self.status.value = ("<details><summary>Excluded studies and warnings "
                             f"({len(notes)})</summary><ul>{''.join(f'<li>{html.escape(n)}</li>' for n in notes)}"
                             "</ul></details>") if notes else ""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # recorded above or in the figures' own notes
            self.forest.value = self._figure(("forest", sel), lambda: image_html(
                forest_png(result, self.dataset), f"Forest plot: analysis {result.analysis}. {result.headline}"))
            # the funnel shows the studies and trim and fill with the estimator: the CI method does not change it
            self.funnel.value = self._figure(("funnel", sel.analysis, result.excluded, result.tau2_method), lambda: (
                image_html(funnel_png(result, self.dataset), f"Funnel plot: analysis {result.analysis}")
                if result.k >= FUNNEL_MIN_K else
                f"<p>No funnel plot: {result.k} {'study' if result.k == 1 else 'studies'} "
                f"(a funnel plot needs at least {FUNNEL_MIN_K}).</p>"))
        self._adverse_key = None
        self._draw_adverse()

    def _figure(self, key, draw) -> str:
        """A drawn figure's HTML, kept for the last :data:`KEEP_FIGURES` choices (going back to a choice, or a
        change that leaves a figure as it was, does not draw it again; the same choice gives the same bytes)."""
        if key not in self._figures:
            self._figures[key] = draw()
            while len(self._figures) > KEEP_FIGURES:
                self._figures.pop(next(iter(self._figures)))
        return self._figures[key]

    def _draw_adverse(self) -> None:
        """The adverse-event tab, drawn only while it is shown (and again only when the comparison or the
        settings change)."""
        if self.result is None or self.tabs.selected_index != 1:
            return
        sel = self.selection()
        # a CI method needs an estimator to go with it: the review's, when only the CI method was changed
        tau2_method = sel.tau2_method or (self.review_settings()[0] if sel.ci is not None else None)
        key = (self.result.drug, self.result.route, self.result.comparator, tau2_method, sel.ci)
        if self._adverse_key == key:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the breakdown's notes are in its table
            self.adverse.value = adverse_html(self.dataset, self.result, tau2_method, sel.ci or "z")
        self._adverse_key = key

"""Drawing what :mod:`helpers.report.plan` planned: the statistics behind each planned figure
(:func:`helpers.report.summary.analyse` of ``spec.selected`` for a forest plot, :func:`small_study` for a funnel
plot) and the titled Figure (:func:`draw`)."""

from __future__ import annotations

import textwrap

from helpers.data import schema
from helpers.data.tidy import Dataset
from helpers.figures import style
from helpers.report import summary
from helpers.report.plan import FigureSpec
from helpers.stats.effects import usable_effects
from helpers.stats.settings import review_estimator
from helpers.stats.smallstudy import SmallStudyEffects, small_study_effects

FUNNEL_TITLE_CHARS = 58  # a funnel plot is one column wide: its title wraps at this many characters
#: How a comparator reads in a "Favours ..." label.
COMPARATOR_WORDS = {"placebo": "placebo", "usual_care": "usual care", "active": "active comparator"}
GENERIC_FAVOURS = ("Favours experimental", "Favours control")


def favours(sel: summary.Selected) -> tuple[str, str]:
    """The forest plot's (left, right) labels: "Favours <drug>" on the side where the drug is better, by the
    outcome's direction (``schema.LOWER_IS_BETTER`` / ``HIGHER_IS_BETTER``; left favours the experimental arm
    when lower is better, as RevMan), "Favours <comparator>" on the other. The generic labels when the drug,
    the comparator or the outcome's direction is not known from the review map (or is more than one)."""
    outcomes = set(sel.rows["outcome"].dropna())
    comparators = set(sel.rows["comparator"].dropna()) if "comparator" in sel.rows else set()
    drug = sel.drug
    if (drug not in schema.DRUGS or len(comparators) != 1 or next(iter(comparators)) not in COMPARATOR_WORDS
            or len(outcomes) != 1):
        return GENERIC_FAVOURS
    pair = (f"Favours {drug}", f"Favours {COMPARATOR_WORDS[next(iter(comparators))]}")
    outcome = next(iter(outcomes))
    if outcome in schema.LOWER_IS_BETTER:
        return pair
    if outcome in schema.HIGHER_IS_BETTER:
        return pair[::-1]
    return GENERIC_FAVOURS


def small_study(spec: FigureSpec, tau2_method: str | None = None) -> SmallStudyEffects:
    """:func:`helpers.stats.smallstudy.small_study_effects` of a funnel figure's rows (study effects of the
    analysis' measure, :func:`helpers.stats.effects.usable_effects`): what its funnel plot draws. Trim and fill pools
    with ``tau2_method`` (None: the analysis' own tau² estimator, :func:`helpers.stats.settings.review_estimator`), as
    the small-study table of the same view."""
    measure = spec.selected.settings["measure"]
    es = usable_effects(spec.selected.rows, measure)
    return small_study_effects(es["yi"], es["vi"], measure=measure, labels=es["study"],
                               tau2_method=tau2_method or review_estimator(spec.selected.rows)[0])


def draw(spec: FigureSpec, ds: Dataset, tau2_method: str | None = None, ci_method: str = "z"):
    """The Figure of ``spec``: forest plot of :func:`helpers.report.summary.analyse` of its rows (``tau2_method``,
    ``ci_method``; with subgroups when ``spec.subgroups``: the package's own, routes in a re-analysis, one group
    for a single route cut out of an analysis), or funnel plot of
    :func:`small_study` (trim and fill with ``tau2_method``), titled in words; the footer names the dataset."""
    if spec.kind == "forest":
        from helpers.figures.forest import forest_plot

        ma = summary.analyse(spec.selected, tau2_method, ci_method, subgroups=spec.subgroups)
        return forest_plot(ma, title=spec.title, favours=favours(spec.selected), footer=ds)
    from helpers.figures.funnel import funnel_plot

    fig = funnel_plot(small_study(spec, tau2_method), footer=ds)
    title = "\n".join(textwrap.fill(line, FUNNEL_TITLE_CHARS) for line in spec.title.split("\n"))
    _title_on_top(fig, title, title.count("\n") + 1)
    return fig


def _title_on_top(fig, title: str, n_lines: int, line_in: float = 0.14) -> None:
    """Add ``title`` above a figure laid out in figure fractions: the figure grows by the title's height and
    every axes, text and legend keeps its distance from the bottom edge."""
    height = fig.get_size_inches()[1]
    extra = line_in * n_lines + 0.08
    style.grow(fig, top_in=extra)
    style.fit_width(fig, fig.text(0.03, 1 - 0.04 / (height + extra), title, ha="left", va="top", fontsize=7,
                                  fontweight="bold", linespacing=1.15, gid="title"))

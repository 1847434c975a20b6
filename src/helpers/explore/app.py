"""Interactive explorer: choose a comparison, an estimator and a sensitivity filter; see the pooled result.

Pure functions carry the logic, so everything is testable without a browser:

- :func:`options` - the values each control may take, given the choices above it (read from the data);
- :func:`select_rows` - the tidy rows for a :class:`Selection`, with every excluded study recorded;
- :func:`explore` - selection -> :class:`helpers.stats.meta.MetaAnalysis` -> :class:`Exploration` (numbers + text);
- :func:`plain_language` - the one-paragraph reading of a pooled result.

:class:`ExplorerApp` only wires ipywidgets to these functions (``notebooks/explore.ipynb`` displays it).

Estimators map onto the engine as ``FE`` -> ``model="fixed"``; ``DL``/``REML``/``PM`` -> ``model="random"``
with that tau² estimator; pooling is inverse variance throughout (``method="IV"``), because REML and PM are
defined for inverse-variance weights only (Viechtbauer 2005, *J Educ Behav Stat* 30:261). The review's own
Mantel-Haenszel analyses are reproduced by the concordance notebook, not here.
"""

from __future__ import annotations

import base64
import html
import io
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from helpers.core.checks import CI_METHODS, RATIO_MEASURES, TAU2_METHODS, check_choice
from helpers.core.results import ResultMixin

#: Risk-of-bias filters (on RoB 2 overall judgement).
ROB_FILTERS = ("all", "exclude_high", "low_only")
ROB_LABELS = {"all": "all studies", "exclude_high": "exclude high risk of bias", "low_only": "low risk of bias only"}
#: Selection fields that narrow the data, in the order the dropdowns depend on one another.
#: Comparator is included: pooling placebo- and active-controlled trials together would mix two questions.
DATA_FIELDS = ("drug", "comparator", "route", "outcome", "timepoint")
#: Minimal important differences on the analysis scale. MD: 10 points on a 0-100 pain scale
#: (Dworkin et al. 2008, *J Pain* 9:105, IMMPACT; Cochrane PaPaS convention); SMD: 0.5 SD
#: (Norman, Sloan & Wyrwich 2003, *Med Care* 41:582).
MID = {"MD": 10.0, "SMD": 0.5}
MID_WORDS = {"MD": "10 points on a 0-100 pain scale", "SMD": "0.5 standard deviations"}
#: Fewer studies than this draws a caveat (random-effects tau² is poorly estimated; Cochrane Handbook 10.10.4).
FEW_STUDIES = 5
#: I² above this draws a heterogeneity caveat (Cochrane Handbook 10.10.2: 50-90% "may represent substantial").
I2_SUBSTANTIAL = 50.0
NO_CHOICE = "(none)"  # leave-one-out: keep every study
NO_ROB = "no overall risk-of-bias judgement"  # exclusion reason of a study without rob_overall (RoB filter on)


@dataclass(frozen=True)
class Selection:
    """What the user chose. ``leave_out`` is a study label or None; ``rob`` one of :data:`ROB_FILTERS`."""

    drug: str
    comparator: str
    route: str
    outcome: str
    timepoint: str
    estimator: str = "REML"
    ci: str = "z"
    leave_out: str | None = None
    rob: str = "all"

    def __post_init__(self):
        check_choice("estimator", self.estimator, TAU2_METHODS)
        check_choice("ci", self.ci, CI_METHODS)
        check_choice("rob", self.rob, ROB_FILTERS)


def options(rows: pd.DataFrame, **chosen: str) -> tuple[str, ...]:
    """Sorted values of the next field in :data:`DATA_FIELDS` present in ``rows`` given the ``chosen`` ones.

    ``options(rows)`` lists drugs; ``options(rows, drug="ketamine")`` the comparators with ketamine data; and so on.
    """
    unknown = set(chosen) - set(DATA_FIELDS)
    if unknown:
        raise ValueError(f"options() takes only {', '.join(DATA_FIELDS)}; got {', '.join(sorted(unknown))}")
    fields = DATA_FIELDS[: len(chosen)]
    if set(chosen) != set(fields):
        raise ValueError(f"options() needs the fields in order {', '.join(DATA_FIELDS)}; got {', '.join(chosen)}")
    if len(fields) == len(DATA_FIELDS):
        raise ValueError(f"all of {', '.join(DATA_FIELDS)} are chosen: nothing left to list")
    mask = np.ones(len(rows), dtype=bool)
    for name in fields:
        mask &= (rows[name] == chosen[name]).to_numpy()
    return tuple(sorted(rows.loc[mask, DATA_FIELDS[len(fields)]].dropna().unique()))


def first_selection(rows: pd.DataFrame, **fixed: str) -> dict[str, str]:
    """Fill the :data:`DATA_FIELDS` in order: keep a ``fixed`` value when it is available, else the first."""
    chosen: dict[str, str] = {}
    for name in DATA_FIELDS:
        allowed = options(rows, **chosen)
        if not allowed:
            raise ValueError(f"no data for {name} given {chosen}")
        chosen[name] = fixed[name] if fixed.get(name) in allowed else allowed[0]
    return chosen


@dataclass(frozen=True)
class RowSelection:
    """Rows that enter the analysis, plus each excluded study and why (never dropped silently)."""

    rows: pd.DataFrame
    candidates: tuple[str, ...]  # studies matching drug/route/outcome/time point before any filter
    excluded: tuple[tuple[str, str], ...]  # (study, reason)


def _rob_by_study(studies: pd.DataFrame) -> Mapping[str, str]:
    return dict(zip(studies["study"], studies["rob_overall"]))


def select_rows(dataset, selection: Selection) -> RowSelection:
    """Rows of ``dataset.rows`` for ``selection``: match the four data fields, then the RoB filter, then leave-out.

    RoB filter on the RoB 2 overall judgement (Sterne et al. 2019, *BMJ* 366:l4898): ``exclude_high`` drops
    ``High``; ``low_only`` keeps ``Low``. A study without a judgement is excluded by either filter, with a warning.
    """
    rows = dataset.rows
    mask = np.ones(len(rows), dtype=bool)
    for name in DATA_FIELDS:
        mask &= (rows[name] == getattr(selection, name)).to_numpy()
    picked = rows.loc[mask]
    candidates = tuple(dict.fromkeys(picked["study"]))
    if selection.leave_out is not None and selection.leave_out not in candidates:
        raise ValueError(f"leave_out must be one of the selected studies ({', '.join(candidates)}); "
                         f"got {selection.leave_out!r}")
    rob = _rob_by_study(dataset.studies)
    excluded: list[tuple[str, str]] = []
    keep = []
    for study in candidates:
        judgement = rob.get(study)
        if selection.rob != "all" and (judgement is None or pd.isna(judgement)):
            excluded.append((study, NO_ROB))
            warnings.warn(f"study {study!r} has no rob_overall: excluded by the risk-of-bias filter", stacklevel=2)
        elif selection.rob == "exclude_high" and judgement == "High":
            excluded.append((study, "high risk of bias"))
        elif selection.rob == "low_only" and judgement != "Low":
            excluded.append((study, f"risk of bias {judgement!s}, not Low"))
        elif study == selection.leave_out:
            excluded.append((study, "left out (sensitivity analysis)"))
        else:
            keep.append(study)
    return RowSelection(picked[picked["study"].isin(keep)], candidates, tuple(excluded))


# ---------------------------------------------------------------------------------------------- analysis


def engine_arguments(estimator: str, ci: str) -> dict[str, str]:
    """Keyword arguments for :func:`helpers.stats.meta.meta_analysis` for an estimator and CI method.

    >>> engine_arguments("PM", "hksj")
    {'method': 'IV', 'model': 'random', 'tau2_method': 'PM', 'ci': 'hksj'}
    """
    check_choice("estimator", estimator, TAU2_METHODS)
    check_choice("ci", ci, CI_METHODS)
    if estimator == "FE":
        return {"method": "IV", "model": "fixed", "tau2_method": "DL", "ci": ci}
    return {"method": "IV", "model": "random", "tau2_method": estimator, "ci": ci}


def _one(rows: pd.DataFrame, column: str, what: str) -> str:
    values = tuple(dict.fromkeys(rows[column].dropna()))
    if len(values) != 1:
        raise ValueError(f"the selected rows must share one {what}; found {column} = {', '.join(map(str, values))}")
    return str(values[0])


def control_risk(rows: pd.DataFrame) -> float:
    """Pooled control-group risk sum(events_c) / sum(n_c) over the rows (NaN without dichotomous counts).

    Used as the assumed control risk for absolute effects (Cochrane Handbook v6.4, 14.1.5.1).
    """
    if "events_c" not in rows or rows["events_c"].isna().all():
        return float("nan")
    ok = rows["events_c"].notna() & rows["n_c"].notna()
    return float(rows.loc[ok, "events_c"].sum() / rows.loc[ok, "n_c"].sum())


# ---------------------------------------------------------------------------------------------- reading

OUTCOME_WORDS = {
    "pain_intensity": "pain intensity",
    "any_adverse_event": "any adverse event",
    "psychotomimetic": "psychotomimetic adverse events (e.g. hallucinations, dissociation)",
    "nausea": "nausea",
    "vomiting": "vomiting",
    "withdrawal_ae": "withdrawal because of adverse events",
}
TIMEPOINT_WORDS = {"immediate": "immediately after treatment", "short": "at short-term follow-up",
                   "medium": "at medium-term follow-up", "long": "at long-term follow-up", "any": "at any time"}
ESTIMATOR_WORDS = {"FE": "fixed effect", "DL": "random effects, DerSimonian-Laird",
                   "REML": "random effects, REML", "PM": "random effects, Paule-Mandel"}
CI_WORDS = {"z": "Wald CI", "hksj": "Hartung-Knapp-Sidik-Jonkman CI"}


def per_100(measure: str, value: float, risk: float) -> float:
    """Extra events per 100 treated for an effect ``value`` (analysis scale) at control risk ``risk``.

    RR: 100 r (RR - 1); OR: 100 (OR r / (1 - r + OR r) - r); RD: 100 RD
    (Cochrane Handbook v6.4, 14.1.5.1; Deeks 2002, *Stat Med* 21:1575).
    """
    check_choice("measure", measure, ("RR", "OR", "RD"))
    if measure == "RD":
        return 100.0 * value
    if not 0 <= risk <= 1:
        raise ValueError(f"control risk must be between 0 and 1; got {risk!r}")
    ratio = float(np.exp(value))
    treated = risk * ratio if measure == "RR" else ratio * risk / (1 - risk + ratio * risk)
    return 100.0 * (treated - risk)


def per_100_text(x: float) -> str:
    """Events per 100 to two significant figures, no exponent: 12.3 -> "12", 0.456 -> "0.46", -4 -> "-4"."""
    return f"{float(f'{x:.2g}'):g}"


def format_effect(measure: str, estimate: float, ci_low: float, ci_high: float) -> str:
    """``"RR 0.71 (95% CI 0.55 to 0.92)"``: ratios back-transformed, MD to 1 decimal, others to 2."""
    scale = np.exp if measure in RATIO_MEASURES else float
    digits = 1 if measure == "MD" else 2
    est, lo, hi = (float(scale(x)) for x in (estimate, ci_low, ci_high))
    return f"{measure} {est:.{digits}f} (95% CI {lo:.{digits}f} to {hi:.{digits}f})"


def _size_sentence(measure, estimate, ci_low, ci_high, outcome, drug, risk) -> str:
    if measure in ("MD", "SMD"):
        unit = "points" if measure == "MD" else "standard deviations"
        digits = 1 if measure == "MD" else 2
        word = "lower" if estimate < 0 else "higher"
        what = "pain" if outcome == "pain_intensity" else OUTCOME_WORDS.get(outcome, outcome)
        text = f"On average {what} was {abs(estimate):.{digits}f} {unit} {word} with {drug} than with control"
        mid = MID[measure]
        if abs(estimate) >= mid:
            text += f", at least the minimal important difference of {MID_WORDS[measure]}."
        else:
            text += (f", less than the minimal important difference of {MID_WORDS[measure]}: "
                     "most patients would probably not notice a difference this small.")
        if ci_low < -mid < ci_high or ci_low < mid < ci_high:
            text += " The confidence interval includes both unimportant and important effects."
        return text
    what = OUTCOME_WORDS.get(outcome, outcome)
    if measure != "RD" and not (np.isfinite(risk) and risk > 0):
        why = "No control-group events" if risk == 0 else "No control-group risk is available"
        return f"{why}, so {what} cannot be expressed per 100 people from the {measure}."
    d, lo, hi = (per_100(measure, x, risk) for x in (estimate, ci_low, ci_high))
    word = "more" if d > 0 else "fewer"
    signed = [("+" if x > 0 else "") + per_100_text(x) for x in (lo, hi)]
    text = (f"For {what}, that is about {per_100_text(abs(d))} {word} people per 100 with {drug} "
            f"(95% CI {signed[0]} to {signed[1]} per 100)")
    if measure != "RD":
        text += f", if {per_100_text(100 * risk)} in 100 have it with control"
    return text + "."


def plain_language(*, measure: str, estimate: float, ci_low: float, ci_high: float, k: int, i2: float,
                   outcome: str, drug: str, route: str, timepoint: str, estimator: str, ci: str,
                   participants: int | None = None, control_risk: float = float("nan"), n_high_rob: int = 0,
                   synthetic: bool = False) -> str:
    """One paragraph for a student: what was found, how big it is against a yardstick, and why to be careful.

    Size: MD/SMD against :data:`MID`; RR/OR/RD as events per 100 at the control risk (:func:`per_100`).
    Caveats (Cochrane Handbook v6.4 ch. 14, GRADE): fewer than :data:`FEW_STUDIES` studies; 95% CI containing
    no effect; I² > :data:`I2_SUBSTANTIAL`%; studies at high risk of bias; synthetic data.
    All effect arguments are on the analysis scale (log for RR and OR).
    """
    people = f", {participants} participants" if participants is not None else ""
    head = (f"{k} {'study' if k == 1 else 'studies'}{people}: {drug} ({route}) compared with control, "
            f"{OUTCOME_WORDS.get(outcome, outcome)} {TIMEPOINT_WORDS.get(timepoint, timepoint)}, "
            f"{format_effect(measure, estimate, ci_low, ci_high)}; {ESTIMATOR_WORDS[estimator]}, {CI_WORDS[ci]}.")
    size = _size_sentence(measure, estimate, ci_low, ci_high, outcome, drug, control_risk)
    crosses = ci_low <= 0 <= ci_high
    caveats = []
    if synthetic:
        caveats.append("SYNTHETIC DATA - these are made-up studies, not evidence")
    if k < FEW_STUDIES:
        caveats.append("a single study" if k == 1 else f"only {k} studies")
    if crosses:
        caveats.append("the 95% CI includes no effect, so no difference is also compatible with the data")
    if np.isfinite(i2) and i2 > I2_SUBSTANTIAL:
        caveats.append(f"substantial heterogeneity (I² = {i2:.0f}%): the studies disagree")
    if n_high_rob:
        caveats.append(f"{n_high_rob} of {k} studies at high risk of bias")
    tail = ("Reasons for caution: " + "; ".join(caveats) + "." if caveats
            else "None of these simple checks raised a caveat; certainty still needs a full GRADE assessment.")
    return " ".join((head, size, tail))


# ---------------------------------------------------------------------------------------------- explore


@dataclass(frozen=True, repr=False)
class Exploration(ResultMixin):
    """The explorer's result for one :class:`Selection`: pooled numbers (analysis scale), text and provenance.

    ``excluded`` lists (study, reason) for every study removed by the RoB filter or the leave-out choice;
    ``warnings`` holds those of the data selection and of the engine (non-convergence, truncation, ...).
    """

    drug: str
    comparator: str
    route: str
    outcome: str
    timepoint: str
    estimator: str
    ci_method: str
    rob_filter: str
    leave_out: str | None
    measure: str
    k: int
    participants: int
    estimate: float
    ci_low: float
    ci_high: float
    tau2: float
    i2: float
    control_risk: float
    n_high_rob: int
    synthetic: bool
    label: str
    text: str
    excluded: tuple[tuple[str, str], ...] = ()
    warnings: tuple[str, ...] = ()
    meta: object = field(default=None, repr=False, compare=False)

    @property
    def headline(self) -> str:
        """``"RR 2.10 (95% CI 1.40 to 3.15)"`` on the display scale."""
        return format_effect(self.measure, self.estimate, self.ci_low, self.ci_high)


def explore(dataset, selection: Selection) -> Exploration:
    """Run the engine on the rows chosen by ``selection`` and read the result in plain language.

    ``dataset`` is a :class:`helpers.data.dataset.Dataset` (needs ``rows``, ``studies``, ``synthetic``, ``label``).
    Raises ValueError when no study is left after the filters (the message says which filter removed which).
    """
    from helpers.stats.meta import meta_analysis  # engine core; imported here so the reading code stays light

    picked = select_rows(dataset, selection)
    if picked.rows.empty:
        why = "; ".join(f"{s}: {r}" for s, r in picked.excluded) or "no rows match"
        raise ValueError(f"no study left for {selection.drug} vs {selection.comparator}, {selection.route}, "
                         f"{selection.outcome}, {selection.timepoint} ({why})")
    dupes = picked.rows["study"][picked.rows["study"].duplicated()].unique()
    if len(dupes):
        raise ValueError(f"studies appear in more than one selected row (would be counted twice): "
                         f"{', '.join(map(str, dupes))}")
    measure = _one(picked.rows, "measure", "effect measure")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        meta = meta_analysis(picked.rows.reset_index(drop=True), measure,
                             **engine_arguments(selection.estimator, selection.ci))
    for w in caught:  # re-emit: the caller sees them, and they are recorded below
        warnings.warn(w.message, w.category, stacklevel=2)
    pooled = meta.overall
    rob = _rob_by_study(dataset.studies)
    entered = list(dict.fromkeys(meta.studies["study"]))
    n_high = sum(rob.get(s) == "High" for s in entered)
    entered_rows = picked.rows[picked.rows["study"].isin(entered)]
    participants = int(np.nansum(entered_rows[["n_e", "n_c"]].to_numpy(dtype=float)))
    risk = control_risk(entered_rows) if measure in ("RR", "OR") else float("nan")
    text = plain_language(measure=measure, estimate=pooled.estimate, ci_low=pooled.ci_low, ci_high=pooled.ci_high,
                          k=pooled.k, i2=pooled.i2, outcome=selection.outcome, drug=selection.drug,
                          route=selection.route, timepoint=selection.timepoint, estimator=selection.estimator,
                          ci=selection.ci, participants=participants, control_risk=risk, n_high_rob=n_high,
                          synthetic=bool(dataset.synthetic))
    notes = tuple(f"{s} excluded: {r}" for s, r in picked.excluded if r == NO_ROB)
    notes += tuple(str(w.message) for w in caught) + tuple(pooled.warnings)
    return Exploration(
        drug=selection.drug, comparator=selection.comparator, route=selection.route, outcome=selection.outcome,
        timepoint=selection.timepoint, estimator=selection.estimator, ci_method=selection.ci,
        rob_filter=selection.rob, leave_out=selection.leave_out, measure=measure, k=int(pooled.k),
        participants=participants, estimate=float(pooled.estimate), ci_low=float(pooled.ci_low),
        ci_high=float(pooled.ci_high), tau2=float(pooled.tau2), i2=float(pooled.i2), control_risk=risk,
        n_high_rob=int(n_high), synthetic=bool(dataset.synthetic), label=str(dataset.label), text=text,
        excluded=picked.excluded, warnings=tuple(dict.fromkeys(notes)), meta=meta)


# ---------------------------------------------------------------------------------------------- app

#: Where the explorer opens when these values exist in the data (else the first value of each field).
START = {"drug": "ketamine", "comparator": "placebo", "route": "intravenous", "outcome": "pain_intensity",
         "timepoint": "short"}
FIELD_LABELS = {"drug": "Drug", "comparator": "Compared with", "route": "Route", "outcome": "Outcome",
                "timepoint": "Time point"}
ESTIMATOR_BUTTONS = {"FE": "Fixed effect", "DL": "DerSimonian-Laird", "REML": "REML", "PM": "Paule-Mandel"}
CI_BUTTONS = {"z": "Wald (z)", "hksj": "HKSJ"}
#: Dropdown labels for the tidy vocabulary (values stay the tidy codes); anything else shows as itself.
DISPLAY = {"usual_care": "usual care", "active": "active comparator", "pain_intensity": "pain intensity",
           "any_adverse_event": "any adverse event", "psychotomimetic": "psychotomimetic events",
           "withdrawal_ae": "withdrawal (adverse events)", "short": "short term", "medium": "medium term",
           "long": "long term", "any": "any time"}
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


def banner_html(dataset) -> str:
    """Red synthetic-data banner when ``dataset.synthetic``; otherwise a quiet line naming the dataset."""
    label = html.escape(str(dataset.label))
    if dataset.synthetic:
        return ('<div class="nmda-synthetic" style="background:#D55E00;color:white;font-weight:bold;'
                f'padding:6px 10px;border-radius:4px">{label}: these studies are made up to show the tools. '
                'Do not use these numbers as evidence.</div>')
    return f'<div class="nmda-dataset">Data: {label}</div>'


def forest_png(result: Exploration, dataset) -> bytes:
    """The forest plot of ``result.meta`` as PNG (helpers.figures.forest)."""
    from helpers.figures.forest import forest_plot

    return png_bytes(forest_plot(result.meta, title=result.headline, footer=dataset))


def funnel_png(result: Exploration, dataset) -> bytes:
    """The funnel plot of ``result.meta`` as PNG (helpers.figures.funnel)."""
    from helpers.figures.funnel import funnel_plot

    studies = result.meta.studies
    return png_bytes(funnel_plot(studies["yi"], studies["vi"], measure=result.measure, labels=studies["study"],
                                 footer=dataset))


def _labelled(values) -> list[tuple[str, str]]:
    return [(DISPLAY.get(v, v), v) for v in values]


class ExplorerApp:
    """ipywidgets front end: controls -> :func:`explore` -> numbers, reading and figures, updated on each change.

    Every output widget carries a stable CSS class (``nmda-pooled-estimate``, ``nmda-forest``, ...) used by the
    browser test. ``app.widget`` is what the notebook displays; ``app.result`` the last :class:`Exploration`.
    """

    def __init__(self, dataset=None, start: Mapping[str, str] | None = None):
        import ipywidgets as w

        if dataset is None:
            from helpers.data.dataset import load_dataset

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
                                           options=_labelled(options(rows, **above)))
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
            self.fields[name].options = _labelled(allowed)
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

"""Tables the notebooks show: dataset counts, the analyses to run, summary of findings, bias and sensitivity.

Every function takes a :class:`helpers.data.tidy.Dataset` (or rows of one) and returns a DataFrame; the notebooks
only call these and display or save the result. Selection uses the tidy vocabulary (``helpers.data.schema``):
``None`` for drug, route or time point means "all".

Participants of an analysis are the sum of ``n_e + n_c`` over its rows (as RevMan's totals; a crossover trial
analysed as paired data counts its participants in both arms, as RevMan does).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from helpers.stats import bias
from helpers.stats import effects
from helpers.core.checks import CI_METHODS, MetaWarning, check_choice
from helpers.data.provenance import review_citation
from helpers.data.reviewmap import ReviewMapError
from helpers.data.tidy import Dataset, analysis_groups
from helpers.figures.forest_text import estimate_text
from helpers.stats.meta import meta_analysis
from helpers.stats.precision import participants
from helpers.stats.settings import analysis_arguments, estimator_arguments, review_estimator
from helpers.data.schema import DESIGNS, DRUGS, LIST_SEP, OUTCOMES, ROUTES, TIMEPOINTS

UNMAPPED = "unmapped"  # the drug of an analysis whose rows name none (the generic mode)

COUNT_BY = ("drug", "route", "design")
#: How a value the data do not record reads in the counts tables (never 0, never "not reported").
NOT_RECORDED = "not recorded in the data rows"
NOT_IN_ROWS = "not in the data rows"
#: The columns of a FLAGGED analysis' settings evidence (helpers.stats.infer.COLUMNS) notebook 05 shows: the
#: closest candidate and how far it is from RevMan's per-study values.
FLAGGED_COLUMNS = ["analysis_id", "analysis_name", "status", "measure", "method", "model", "tau2_method",
                   "max_diff_estimate", "max_diff_ci", "max_diff_weight", "note"]
NOT_IN_DATA = "not in the data"  # a value the package does not carry (never shown as 0, k = 0 or NaN)
CHARACTERISTICS = ("study", "year", "drug", "route", "comparator", "design", "condition", "n_randomised",
                   "rob_overall")  # fmt: skip
#: Smallest number of studies for funnel-plot tests to be run (Cochrane Handbook 13.3.5.4 advises >= 10 for
#: them to be informative; below that they are still shown, flagged ``low_power``).
MIN_K_BIAS = bias.MIN_K
LOW_POWER_K = 10


def dataset_banner(ds: Dataset) -> str:
    """Markdown banner: a loud warning for synthetic data, else the package name and short hash, and in the
    generic mode (``Dataset.generic``) that no review map applied, and why."""
    if ds.synthetic:
        return (f"> **{ds.label}.** These numbers come from a seeded synthetic package shaped like the review "
                "(67 trials, 2,309 participants); they demonstrate the pipeline and are not evidence. "
                "Run with `--data` on the real data package to re-run the review.")
    banner = f"> Data: **{ds.label}** (SHA-256 `{ds.sha256[:12]}`)."
    if getattr(ds, "generic", None):  # helpers.data.mapmode: no review map applied
        banner += (f"\n>\n> **Generic mode: no review map applied** ({ds.generic}). The analyses are run per "
                   "comparison and outcome as RevMan groups them, with the package's own names and settings; "
                   "sections that need a drug, route or outcome of the review say they are not available.")
    return banner


def available(ds: Dataset, outcomes: tuple[str, ...], drug: str | None = None) -> bool:
    """True when ``ds`` has at least one row with an outcome in ``outcomes`` (for ``drug``; None: any drug)."""
    rows = ds.rows[ds.rows["outcome"].isin(outcomes)]
    if drug is not None:
        rows = rows[rows["drug"].astype(str).str.split(LIST_SEP).apply(lambda values: drug in values)]
    return not rows.empty


def not_available(what: str, ds: Dataset, drug: str | None = None, below: tuple[str, ...] = ()) -> str:
    """Markdown section for a part of a notebook the data cannot feed: what is missing, in which dataset;
    ``below``: the headings of the later sections that need the same data (said here once, left empty there)."""
    scope = f" for {drug}" if drug is not None else ""
    also = f", nor do the sections below that need it ({'; '.join(below)})" if below else ""
    return (f"> **Not available in this dataset.** {ds.label} has no {what}{scope}, so this section has nothing "
            f"to show{also}. Nothing failed: the other sections are computed as usual.")


def study_characteristics(ds: Dataset) -> pd.DataFrame:
    """One row per trial: the columns in ``CHARACTERISTICS`` (those present), sorted by study label."""
    cols = [c for c in CHARACTERISTICS if c in ds.studies.columns]
    return ds.studies[cols].sort_values("study").reset_index(drop=True)


def counts(ds: Dataset, by: str) -> pd.DataFrame:
    """Trials and participants (randomised) per value of ``by`` (one of ``COUNT_BY``), plus a total row.

    A trial with several drugs or routes (values joined by ``"; "``) counts once under each, so the rows can
    add up to more than the total, which counts every trial once. Missing is never zero: a value the data do
    not record is grouped as ``NOT_RECORDED``, and participants read ``NOT_IN_ROWS`` when no trial of the row
    gives its number randomised, or "N (known for m of n trials)" when only some do.
    """
    check_choice("by", by, COUNT_BY)
    allowed = {"drug": DRUGS, "route": ROUTES, "design": DESIGNS}[by]
    st = ds.studies[["study", by, "n_randomised"]].copy()
    st[by] = st[by].fillna(NOT_RECORDED).astype(str).str.split(LIST_SEP)
    st = st.explode(by)
    order = [v for v in (*allowed, NOT_RECORDED) if v in set(st[by])]
    records = [{by: value, **_trials_and_participants(st[st[by] == value])} for value in order]
    records.append({by: "all trials", **_trials_and_participants(ds.studies)})
    return pd.DataFrame.from_records(records, columns=[by, "trials", "participants"])


def _trials_and_participants(studies: pd.DataFrame) -> dict:
    trials = studies.drop_duplicates("study")
    known = trials["n_randomised"].dropna()
    if known.empty:
        participants = NOT_IN_ROWS
    elif len(known) < len(trials):
        participants = f"{int(known.sum())} (known for {len(known)} of {len(trials)} trials)"
    else:
        participants = int(known.sum())
    return {"trials": len(trials), "participants": participants}


def trial_coverage(ds: Dataset) -> str:
    """Markdown: how many trials the review included (its review map's ``shape: trials``), how many of them
    have data rows here, and that the others have none (they are in no table or figure). Without a review
    map (or without the number there), the trials listed by the data."""
    with_rows, listed = ds.rows["study"].nunique(), ds.studies["study"].nunique()
    included, source = listed, "listed in the data"
    if ds.review and not getattr(ds, "generic", None):
        try:
            citation = review_citation(str(ds.review).lower())
        except ReviewMapError:
            citation = None
        if citation is not None and citation.trials:
            included, source = citation.trials, f"the review map `{citation.map}`"
    rest = included - with_rows
    text = (f"**Trials with data.** The review included **{included}** trials ({source}); **{with_rows}** of them "
            f"have data rows in this dataset ({ds.label})")
    if rest > 0:
        text += (f"; the other **{rest}** have none, so their results are in no table or figure below"
                 + (f" (the package describes {listed - with_rows} of them without data)." if listed > with_rows
                    else " and the data hold nothing about them."))
    return text + ("" if rest > 0 else ".")


def study_overview(ds: Dataset) -> pd.DataFrame:
    """One row per study x drug x route (a trial of two drugs or routes counts under each) for the data overview:
    ``helpers.figures.overview.OVERVIEW_COLUMNS``. ``participants`` is the study's ``n_randomised``; where the study
    information gives none (the bare data rows), the largest ``n_e + n_c`` of its data rows, and
    ``participants_from`` says which ("randomised" or "largest analysis")."""
    st = ds.studies.set_index("study")
    analysed = (ds.rows["n_e"].fillna(0) + ds.rows["n_c"].fillna(0)).groupby(ds.rows["study"]).max()
    records = []
    for study, row in st.iterrows():
        randomised = row.get("n_randomised")
        known = randomised is not None and not pd.isna(randomised)
        participants = float(randomised) if known else float(analysed.get(study, np.nan))
        for drug in str(row["drug"]).split(LIST_SEP) if isinstance(row["drug"], str) else [UNMAPPED]:
            for route in str(row["route"]).split(LIST_SEP) if isinstance(row["route"], str) else [None]:
                records.append({"study": study, "drug": drug, "route": route, "design": row.get("design"),
                                "year": row.get("year"), "participants": participants,
                                "participants_from": "randomised" if known else "largest analysis"})
    return pd.DataFrame.from_records(records, columns=["study", "drug", "route", "design", "year", "participants",
                                                       "participants_from"])


@dataclass(frozen=True)
class Selected:
    """One analysis of the package after selection: its id, settings row and tidy rows."""

    analysis_id: str
    settings: pd.Series
    rows: pd.DataFrame

    @property
    def drug(self) -> str:
        return LIST_SEP.join(sorted(self.rows["drug"].dropna().unique())) or UNMAPPED

    @property
    def has_subgroups(self) -> bool:
        return bool(self.rows["subgroup"].notna().any())

    @property
    def stem(self) -> str:
        """File stem for figures/tables of this analysis, e.g. ``analysis_1_2``."""
        return "analysis_" + self.analysis_id.replace(".", "_")


def select(ds: Dataset, outcome: str, drug: str | None = None, route: str | None = None,
           timepoint: str | None = None, estimable_only: bool = True) -> Iterator[Selected]:
    """The analyses of ``outcome`` whose rows match drug, route and time point (None = all), in analysis
    order; rows of other routes are dropped from an analysis when ``route`` is given.

    An analysis no study can enter (RevMan's "Not estimable": :func:`not_estimable`) is left out with a
    warning; ``estimable_only=False`` yields it too, for callers that list it (the figure plan)."""
    check_choice("outcome", outcome, OUTCOMES)
    for name, value, allowed in (("drug", drug, DRUGS), ("route", route, ROUTES), ("timepoint", timepoint, TIMEPOINTS)):
        if value is not None:
            check_choice(name, value, allowed)
    rows = ds.rows
    keep = rows["outcome"] == outcome
    for name, value in (("drug", drug), ("route", route), ("timepoint", timepoint)):
        if value is not None:
            keep &= rows[name] == value
    groups = analysis_groups(rows[keep])  # the matching rows of each analysis, in package order
    analyses = ds.analyses()
    for aid in analyses.index:
        if aid in groups:
            sel = Selected(aid, analyses.loc[aid], groups[aid].reset_index(drop=True))
            reason = not_estimable(sel) if estimable_only else None
            if reason is not None:
                warnings.warn(f"analysis {aid} ({sel.settings['analysis_name']}): not estimable, as in RevMan "
                              f"(every study: {reason}); no pooled result or plot", MetaWarning, stacklevel=2)
                continue
            yield sel



def select_all(ds: Dataset, outcomes: tuple[str, ...], drug: str | None = None, route: str | None = None,
               timepoint: str | None = None) -> list[Selected]:
    """:func:`select` of each of ``outcomes`` in turn (estimable analyses only, the others warned)."""
    return [sel for outcome in outcomes for sel in select(ds, outcome, drug, route, timepoint)]

def not_estimable(sel: Selected) -> str | None:
    """Why no study of ``sel`` can enter its analysis (e.g. no events in either arm for RR/OR), else None."""
    rows, kwargs, _ = analysis_arguments(sel.rows)  # e.g. swapped events change what can enter
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetaWarning)
        es = effects.effect_sizes(rows, kwargs["measure"], study="study")
    reasons = es["excluded_reason"]
    return str(reasons.iloc[0]) if len(reasons) and reasons.notna().all() else None


def analyse(sel: Selected, tau2_method: str | None = None, ci_method: str = "z", subgroups: bool = True):
    """``meta_analysis`` of one selected analysis with subgroups as in the package (``subgroups=False``: one
    group, e.g. for the rows of a single route).

    ``tau2_method`` None: the package's own settings, every one of them (statistical method, model, heterogeneity
    estimator, CI method, level, swapped events, Applicability; :func:`helpers.stats.settings.analysis_arguments`,
    a setting the engine cannot honour is warned), as the review did; ``ci_method`` is then the package's.
    ``FE``/``DL``/``REML``/``PM``: inverse-variance pooling with that tau² estimator and ``ci_method``, the same
    meaning as in the explorer (:func:`helpers.stats.settings.estimator_arguments`): "DL" is inverse-variance
    DerSimonian-Laird everywhere, never the package's Mantel-Haenszel DL.
    """
    check_choice("ci_method", ci_method, CI_METHODS)
    subgroup = "subgroup" if subgroups and sel.has_subgroups else None
    if tau2_method is None:
        rows, kwargs, notes = analysis_arguments(sel.rows)
        for note in notes:
            warnings.warn(f"analysis {sel.analysis_id}: {note}", MetaWarning, stacklevel=2)
        return meta_analysis(rows, **(kwargs | {"subgroup": subgroup}))
    return meta_analysis(sel.rows, measure=sel.settings["measure"], **estimator_arguments(tau2_method, ci_method),
                         subgroup=subgroup, study="study")



def analyse_all(selections, tau2_method: str | None = None, ci_method: str = "z") -> list[tuple[Selected, object]]:
    """:func:`analyse` of every selection (estimable ones, as :func:`select_all` or
    :func:`helpers.report.generic.selections` give them), in order: the ``(selection, MetaAnalysis)`` pairs
    :func:`summary_of_findings` tabulates. ``tau2_method`` and ``ci_method`` as in :func:`analyse`."""
    return [(sel, analyse(sel, tau2_method, ci_method)) for sel in selections]

def _pool_row(sel: Selected, ma, subgroup, res, rows: pd.DataFrame) -> dict:
    show = ma.display
    return {
        "analysis_id": sel.analysis_id, "analysis": sel.settings["analysis_name"], "drug": sel.drug,
        "route": LIST_SEP.join(sorted(rows["route"].dropna().unique())) or None,
        "subgroup": subgroup, "timepoint": sel.settings["timepoint"], "measure": sel.settings["measure"],
        "model": res.model, "k": res.k, "participants": participants(rows),
        "estimate": float(show(res.estimate)), "ci_low": float(show(res.ci_low)), "ci_high": float(show(res.ci_high)),
        "p": res.p, "i2": res.i2, "tau2": res.tau2, "warnings": len(res.warnings),
    }  # fmt: skip


def summary_of_findings(results: list[tuple[Selected, object]]) -> pd.DataFrame:
    """One row per analysis and subgroup (route): k, participants, pooled estimate and CI on the display scale
    (ratios for RR/OR), P, I² (%), tau². Certainty of evidence (GRADE) is a judgement and is not computed."""
    records = []
    for sel, ma in results:
        if sel.has_subgroups:
            for name, res in ma.subgroups:
                records.append(_pool_row(sel, ma, name, res, sel.rows[sel.rows["subgroup"] == name]))
        records.append(_pool_row(sel, ma, "all" if sel.has_subgroups else None, ma.overall, sel.rows))
    return pd.DataFrame.from_records(records)


def findings_view(sof: pd.DataFrame):
    """:func:`summary_of_findings` as a reader reads it: the estimate and its 95% CI in one column (two
    decimals, RevMan's rounding and words: ``forest_text.estimate_text``), studies and participants as integers, I² in %; the engine's columns (model, P, tau², warnings)
    stay in the saved CSV. A blank subgroup is the analysis without subgroups. A pandas Styler without the row
    index, with a fixed id (its HTML is byte-stable)."""
    def number(x, fmt: str) -> str:
        return "" if pd.isna(x) else format(x, fmt)

    if sof.empty:  # nothing pooled: the notebook says what is not available
        return sof

    text = {label: sof[name].fillna(NOT_IN_DATA if name == "comparison" else "") for name, label in (("comparison", "comparison"), ("route", "route"),
                                                             ("subgroup", "subgroup"), ("timepoint", "time point"))
            if name in sof}  # the generic mode has a comparison and no route or time point
    return pd.DataFrame({
        "analysis": sof["analysis_id"], "name": sof["analysis"], **text, "measure": sof["measure"],
        "studies": [number(k, ".0f") for k in sof["k"]], "participants": [NOT_IN_DATA if pd.isna(n) else format(n, ".0f") for n in sof["participants"]],
        "estimate [95% CI]": [estimate_text(e, lo, hi) for e, lo, hi in zip(sof["estimate"], sof["ci_low"],
                                                                             sof["ci_high"])],
        "I² (%)": [number(i2, ".0f") for i2 in sof["i2"]],
    }).style.hide(axis="index").set_uuid("findings").set_properties(subset=["estimate [95% CI]"],
                                                                      **{"white-space": "nowrap"})


def groups(sel: Selected) -> Iterator[tuple[str | None, pd.DataFrame]]:
    """``(route or None, rows)`` of an analysis: one group per route when it has several, else all rows."""
    routes = sorted(sel.rows["route"].dropna().unique())
    if len(routes) <= 1:
        yield (routes[0] if routes else None), sel.rows
    else:
        yield from route_groups(sel)


def route_groups(sel: Selected) -> Iterator[tuple[str, pd.DataFrame]]:
    """``(route, rows)`` of an analysis, one per route present (sorted), even when there is only one. Rows
    without a route (not mapped by the review map) belong to no group: a recorded warning names them."""
    missing = sel.rows["route"].isna()
    if missing.any():
        warnings.warn(f"analysis {sel.analysis_id}: {int(missing.sum())} row(s) without a route left out of the "
                      f"per-route groups (studies {', '.join(map(str, sel.rows.loc[missing, 'study']))})",
                      MetaWarning, stacklevel=2)
    for r in sorted(sel.rows["route"].dropna().unique()):
        yield r, sel.rows[sel.rows["route"] == r].reset_index(drop=True)


def bias_groups(ds: Dataset, outcome: str, drug: str | None = None, route: str | None = None,
                timepoint: str | None = None, min_k: int = 1) -> list[tuple[Selected, str | None, pd.DataFrame]]:
    """Every drug x route group (within each selected analysis) with at least ``min_k`` study rows."""
    return [(sel, r, rows) for sel in select(ds, outcome, drug, route, timepoint) for r, rows in groups(sel)
            if len(rows) >= min_k]


def small_study_table(bias_sets: list[tuple[Selected, str | None, pd.DataFrame]], tau2_method: str | None = None):
    """:func:`small_study_tests` of every group from :func:`bias_groups`, one row each."""
    return pd.DataFrame.from_records([small_study_tests(sel, r, rows, tau2_method) for sel, r, rows in bias_sets])


def small_study_tests(sel: Selected, route: str | None, rows: pd.DataFrame, tau2_method: str | None = None) -> dict:
    """Egger, Begg and trim and fill (``tau2_method`` for the pooled fits; None: the analysis' own, as
    :func:`helpers.stats.settings.review_estimator`) of one drug x route group.

    Groups with fewer than ``MIN_K_BIAS`` studies are reported with k and NaN tests (and warned about)."""
    measure = sel.settings["measure"]
    es = effects.usable_effects(rows, measure)
    out = {"analysis_id": sel.analysis_id, "drug": sel.drug, "route": route, "timepoint": sel.settings["timepoint"],
           "measure": measure, "k": len(es), "low_power": len(es) < LOW_POWER_K}  # fmt: skip
    if len(es) < MIN_K_BIAS:
        warnings.warn(f"analysis {sel.analysis_id} ({sel.drug}, {route}): k = {len(es)} < {MIN_K_BIAS}: "
                      "funnel-plot tests not run", MetaWarning, stacklevel=2)
        return out | {"tests": "not run (k < 3)"}
    eg = bias.egger(es["yi"], es["vi"], labels=es["study"])
    bg = bias.begg(es["yi"], es["vi"], labels=es["study"])
    tf = bias.trim_and_fill(es["yi"], es["vi"], tau2_method=tau2_method or review_estimator(sel.rows)[0],
                            labels=es["study"])
    return out | {
        "tests": "run", "egger_bias": eg.bias, "egger_p": eg.p, "begg_p": bg.p, "trimfill_k0": tf.k0,
        "trimfill_side": tf.side, "adjusted_estimate": float(effects.display_scale(tf.estimate, measure)),
        "adjusted_ci_low": float(effects.display_scale(tf.ci_low, measure)),
        "adjusted_ci_high": float(effects.display_scale(tf.ci_high, measure)),
    }  # fmt: skip


def concordance_overview(table: pd.DataFrame) -> pd.DataFrame:
    """Counts of compared quantities per level (overall, subgroup, study) and status (``concordance.STATUSES``)."""
    from helpers.stats.concordance import STATUSES

    counts = table.groupby(["level", "status"]).size().unstack(fill_value=0)
    return counts.reindex(columns=[s for s in STATUSES], fill_value=0)


def largest_differences(table: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` compared quantities with the largest ``abs_diff / tol`` (how close to failing they are)."""
    ratio = pd.to_numeric(table["abs_diff"], errors="coerce") / pd.to_numeric(table["tol"], errors="coerce")
    return table.assign(diff_over_tol=ratio.astype(float)).nlargest(n, "diff_over_tol")

"""Concordance: the package's published RevMan estimates against our recomputation.

For every analysis of a :class:`~helpers.data.tidy.Dataset`, :func:`concordance` re-runs
:func:`helpers.stats.meta.meta_analysis` with the analysis' own settings (effect measure, statistical method
MH/IV/Peto, analysis model, subgroups, heterogeneity estimator, CI method, level, swapped events, Applicability:
:mod:`helpers.stats.settings`) and compares, level
by level (overall, subgroup, study), the quantities RevMan prints: estimate and CI (display scale: ratios
for RR/OR), study and subgroup weight (%), heterogeneity Chi², df, P, I², tau², the test of the overall effect
Z and P, and the test for subgroup differences. RevMan prints |Z|, so Z is compared in absolute value.

Tolerance (``tol=None``): RevMan's precision. RevMan Web writes every number with six decimals and drops
trailing zeros (the shared sample: 0.896866, 39.67458 = 39.674580, 0.00101 = 0.001010; the 169 per-study means,
CIs and weights of the real CD015373 rows are all exact at six decimals, from 196.880319 (nine significant
digits) to 0.006426 (four)). Exports of older reviews round to six significant digits instead (the issue's
28/28 vs 29/29 row: RR 1 [0.935159, 1.06934], where the exact upper limit is 1.0693373).
:func:`revman_precision` tells the two apart from a package's published values: more than six significant
digits happen only with six decimals (``"decimals"``), more than six decimals only with significant digits
(``"significant"``); a package with neither is judged at the looser (``"significant"``). A value is then
judged within half a unit in the sixth decimal (5e-7) or in its sixth significant digit
(:func:`revman_tolerance`); a published ``0`` is 0 +- 5e-7 in both (it was +-0.5 when the tolerance came from
the printed digits). ``tol=<float>`` uses one absolute tolerance for every quantity instead. Comparisons allow
for binary floating point (a few ulps) on top of the tolerance.

Status per compared quantity: ``ok`` (within tolerance), ``mismatch``, ``not published`` (RevMan did not compute
it: all-zero estimates in the package, or a value RevMan leaves empty, e.g. tau² of a fixed-effect analysis;
``within_tol`` and ``tol`` are then blank: there is nothing to judge) or ``not recomputed`` (published but our
analysis has no such value, e.g. a study we excluded) - the last counts as a failure in ``all_ok``.
``note`` says, for every row of an analysis, which package setting the engine could not honour (never a silent
substitute; see :mod:`helpers.stats.settings`), empty when every setting was honoured.
``not estimable`` (a study row neither RevMan nor we can estimate, e.g. no events in either arm for RR/OR) is
agreement. Study rows are matched by position within the analysis, so a trial entered as two strata (two
rows, one name) is compared row by row.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from helpers.core.checks import InputError, check_choice
from helpers.data.tidy import Dataset, iter_analyses, row_positions
from helpers.stats.effects import effect_sizes
from helpers.stats.meta import meta_analysis
from helpers.stats.settings import analysis_arguments

QUANTITIES = ("estimate", "ci_low", "ci_high", "weight", "tau2", "q", "df", "q_p", "i2", "z", "p",
              "subgroup_q", "subgroup_df", "subgroup_p", "subgroup_i2")  # fmt: skip
STATUSES = ("ok", "mismatch", "not published", "not recomputed", "not estimable")
COLUMNS = ("level", "analysis_id", "subgroup", "study", "quantity", "published", "recomputed", "abs_diff", "tol",
           "within_tol", "status", "note")  # fmt: skip
PRINTED_DIGITS = 6  # RevMan: six decimals (RevMan Web) or six significant digits (older exports)
REVMAN_TOLERANCE = 0.5 * 10.0**-PRINTED_DIGITS
PRECISIONS = ("decimals", "significant")


def _shortest(value: float) -> str:
    """``value`` as written, without binary noise a stored copy may carry (0.562278 kept as 0.5622780000000001
    in an R data file): the shortest form at 15 significant digits."""
    return repr(float(f"{float(value):.15g}"))


def printed_tolerance(value: float) -> float:
    """Half a unit in the last digit of the shortest decimal representation of ``value``."""
    if not np.isfinite(value):
        return np.nan
    exponent = Decimal(_shortest(value)).normalize().as_tuple().exponent
    return 0.5 * 10.0 ** min(int(exponent), 0) if isinstance(exponent, int) else np.nan


def _digits(value: float) -> tuple[int, int]:
    """(significant digits, decimals) of the shortest decimal representation of ``value``."""
    _, digits, exponent = Decimal(_shortest(value)).normalize().as_tuple()
    return len(digits), max(-int(exponent), 0)


def revman_precision(values) -> str:
    """``"decimals"`` (RevMan Web: six decimals) or ``"significant"`` (six significant digits) for the published
    numbers of one package: see the module docstring."""
    finite = [float(v) for v in values if v is not None and np.isfinite(v) and v != 0]
    if any(_digits(v)[0] > PRINTED_DIGITS for v in finite):
        return "decimals"
    return "significant"


def revman_tolerance(value: float, precision: str = "decimals") -> float:
    """Half a unit in RevMan's sixth decimal (5e-7), or in the sixth significant digit of ``value``
    (``precision="significant"``); never looser than half a unit in the last digit printed."""
    check_choice("precision", precision, PRECISIONS)
    if not np.isfinite(value):
        return np.nan
    if precision == "decimals" or value == 0:
        return min(REVMAN_TOLERANCE, printed_tolerance(value))
    exponent = int(np.floor(np.log10(abs(value)))) - (PRINTED_DIGITS - 1)
    return min(0.5 * 10.0**exponent, printed_tolerance(value))


WEIGHT_BASES = ("overall", "subgroup")


def weight_basis(weights, subgroups) -> str:
    """What RevMan's printed study weights of one analysis are a percentage of: ``overall`` (the overall total,
    the default) or ``subgroup`` (each subgroup's weights sum to 100: the analysis shows subgroup totals only,
    "Overall estimates" off). Weights RevMan did not print (all 0 or empty: no totals at all) are NaN already
    (:mod:`helpers.data.tidying`). A subgroup name whose weights sum to 200 (300, ...) is that many subgroups
    under one name (the export carries no subgroup number: CD012186 1.2 prints RADIANCE 2019 and SUNBEAM 2019
    at 100 % each under one name); the weights are still per subgroup."""
    w = pd.Series(np.asarray(weights, dtype=float))
    g = pd.Series(np.asarray(subgroups, dtype=object)).fillna("")
    if w.notna().sum() == 0 or g.nunique() < 2 or abs(w.sum() - 100) < 0.05:
        return "overall"
    sums = w.groupby(g.to_numpy(), sort=False).sum(min_count=1).dropna()
    copies = (sums / 100).round()
    return "subgroup" if len(sums) and bool(((copies >= 1) & (sums.sub(100 * copies).abs() < 0.05)).all()) \
        else "overall"


def printed_weights(ma, basis: str, in_subgroup=None) -> np.ndarray:
    """Study weights of ``ma`` (a :class:`~helpers.stats.meta.MetaAnalysis`, one per row of ``ma.studies``) as
    RevMan prints them under ``basis`` (:func:`weight_basis`): percent of the overall pooling, or percent of the
    study's own subgroup pooling (its own tau² under random effects). ``in_subgroup``: rows that enter their
    subgroup (Applicability not OVERALL_ONLY); default all."""
    check_choice("basis", basis, WEIGHT_BASES)
    st = ma.studies
    if basis == "overall":
        return st["weight"].to_numpy(dtype=float)
    inside = np.ones(len(st), dtype=bool) if in_subgroup is None else np.asarray(in_subgroup, dtype=bool)
    out = np.full(len(st), np.nan)
    for label, res in ma.subgroups:
        pos = np.flatnonzero((st["subgroup"] == label).to_numpy() & inside)
        entered = np.setdiff1d(np.arange(len(pos)), np.asarray(res.excluded, dtype=int))
        out[pos[entered]] = res.weights
    return out


def judge(published: float, recomputed: float, tol: float | None = None,
          precision: str = "decimals") -> tuple[bool | None, str]:
    """(within_tol, status) of one value: |published - recomputed| <= tolerance (``revman_tolerance`` when
    ``tol`` is None), allowing a few ulps of binary rounding; (None, "not published") when nothing was
    published, (False, "not recomputed") when the engine has no value."""
    if pd.isna(published):
        return None, "not published"
    if pd.isna(recomputed):
        return False, "not recomputed"
    t = revman_tolerance(published, precision) if tol is None else tol
    ok = bool(abs(published - recomputed) <= t + 8 * np.finfo(float).eps * max(abs(published), abs(recomputed), 1.0))
    return ok, "ok" if ok else "mismatch"


def _pool_values(ma, res, scale: bool) -> dict:
    """Published-comparable values of a PoolResult (display scale, |Z|)."""
    disp = ma.display if scale else (lambda x: x)
    return {"estimate": float(disp(res.estimate)), "ci_low": float(disp(res.ci_low)),
            "ci_high": float(disp(res.ci_high)), "tau2": res.tau2, "q": res.q, "df": res.df, "q_p": res.q_p,
            "i2": res.i2, "z": abs(res.z), "p": res.p}  # fmt: skip


def in_subgroup_rows(table: pd.DataFrame, positions) -> np.ndarray:
    """Rows (at ``positions`` of ``table``) that enter their subgroup's pooling: Applicability not OVERALL_ONLY."""
    where = table["applicability"] if "applicability" in table else pd.Series(None, index=table.index)
    return (where.to_numpy()[np.asarray(positions, dtype=int)] != "OVERALL_ONLY")


def _recompute(rows: pd.DataFrame, published_weights=None) -> tuple[dict, str, object]:
    """({(level, subgroup, study): {quantity: value}}, note, MetaAnalysis or None) for one analysis, with the
    package's own settings
    (:func:`helpers.stats.settings.analysis_arguments`); the note lists the settings not honoured. Study rows
    are keyed ``("study", None, position in the analysis)`` (a trial entered as two strata has two rows with
    one name); a row that cannot enter (e.g. no events in either arm for RR/OR) has NaN values, and when no
    row can enter only those are returned."""
    rows, kwargs, notes = analysis_arguments(rows)
    table = rows.reset_index(drop=True)
    # a row's key: its name and position (a trial entered as two strata has two rows with one name), so a
    # warning names the study ("study 'Lynch 2005 (row 2)' not entered"), never a bare number
    labels = [f"{name} (row {i + 1})" for i, name in enumerate(table["study"].astype(str))]
    table = table.assign(_row=labels)
    position = {label: i for i, label in enumerate(labels)}
    out = {("study", None, i): dict.fromkeys(("estimate", "ci_low", "ci_high", "weight"), np.nan)
           for i in range(len(table))}  # fmt: skip
    try:
        ma = meta_analysis(table, **{**kwargs, "study": "_row"})
    except InputError:
        entered = effect_sizes(table, kwargs["measure"], study="_row")["excluded_reason"].isna()
        if kwargs["method"] == "Peto" or entered.any():
            raise
        return out, "; ".join(notes), None  # no row can enter: compared row by row with RevMan's empty cells
    overall = _pool_values(ma, ma.overall, True)
    if ma.subgroup_test is not None:
        t = ma.subgroup_test
        overall.update(subgroup_q=t.q, subgroup_df=t.df, subgroup_p=t.p, subgroup_i2=t.i2)
    out[("overall", None, None)] = overall
    for name, res in ma.subgroups:
        vals = _pool_values(ma, res, True)
        vals["weight"] = ma.subgroup_weight(name)
        out[("subgroup", name, None)] = vals
    st = ma.studies
    rows_at = [position[label] for label in st["study"]]
    basis = weight_basis(published_weights, table["subgroup"]) if published_weights is not None else "overall"
    weight = printed_weights(ma, basis, in_subgroup_rows(table, rows_at))
    for est, low, high, i, w in zip(st["estimate"].tolist(), st["ci_low"].tolist(), st["ci_high"].tolist(),
                                    rows_at, weight):
        out[("study", None, i)] = {"estimate": est, "ci_low": low, "ci_high": high, "weight": w}
    return out, "; ".join([*notes] + (["study weights printed per subgroup"] if basis == "subgroup" else [])), ma


def concordance(dataset: Dataset, tol: float | None = None, *, fits: dict | None = None) -> pd.DataFrame:
    """Published versus recomputed, one row per (level, analysis, subgroup, study, quantity); see module doc.

    ``fits``: a dict that receives each analysis' :class:`~helpers.stats.meta.MetaAnalysis` (None when no row
    can enter), for a caller that needs the pooled results too, so that nothing is fitted twice."""
    if tol is not None and not (np.isfinite(tol) and tol >= 0):
        raise ValueError(f"tol must be None (printed precision) or a finite number >= 0; got {tol!r}")
    pub = dataset.published
    precision = revman_precision(pub[[q for q in QUANTITIES if q not in ("df", "subgroup_df")]].to_numpy().ravel())
    records = []
    at = row_positions(pub["analysis_id"])  # the published rows of each analysis, in table order
    column = {c: pub[c].tolist() for c in ("level", "subgroup", "study", "weight", *QUANTITIES)}
    for aid, _, rows in iter_analyses(dataset):
        mine_at = at.get(aid, [])
        study_weights = [column["weight"][i] for i in mine_at if column["level"][i] == "study"]
        recomputed, note, ma = _recompute(rows, np.asarray(study_weights, dtype=float))
        if fits is not None:
            fits[aid] = ma
        position = 0  # published study rows are in the analysis' row order
        for i in mine_at:
            level, sg, study = column["level"][i], column["subgroup"][i], column["study"][i]
            sg = sg if isinstance(sg, str) else None
            study = study if isinstance(study, str) else None
            if level == "study":
                ours, position = recomputed.get(("study", None, position), {}), position + 1
            else:
                ours = recomputed.get((level, sg, study), {})
            for q in QUANTITIES:
                published = column[q][i]
                mine = ours.get(q, np.nan)
                mine = np.nan if mine is None else float(mine)
                if pd.isna(published) and q not in ours:
                    continue  # a quantity neither side has at this level
                judged, status = judge(published, mine, tol, precision)
                if level == "study" and pd.isna(published) and pd.isna(mine):
                    judged, status = True, "not estimable"
                t = np.nan if pd.isna(published) else (revman_tolerance(published, precision) if tol is None else tol)
                diff = abs(published - mine) if not (pd.isna(published) or pd.isna(mine)) else np.nan
                records.append((level, aid, sg, study, q, published, mine, diff, t, judged, status, note))
    table = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    table.attrs["precision"] = precision
    return table


SELF_CONSISTENCY = (
    "**What this check is: a self-consistency check, NOT a check against RevMan.** The \"published\" numbers in "
    "this synthetic package were computed by this same engine when the package was generated "
    "(`helpers.synthetic`). Agreement below shows only that the engine reads back, from the package format, what "
    "it wrote; it says nothing about whether the engine agrees with RevMan. The check against RevMan's own "
    "numbers is this notebook run on a real Cochrane data package (`--data`), and the tests against the shared "
    "RevMan sample and metafor (`tests/`).")
AGAINST_REVMAN = (
    "**What this check is: a check against RevMan's own numbers.** Every published value below was computed and "
    "written by RevMan (Cochrane's software) in the data package {label}; the engine recomputes each from the "
    "package's arm data with the analysis' own settings and is judged at RevMan's printed precision ({precision}).")
PRECISION_WORDS = {"decimals": "half a unit in the sixth decimal", "significant": "half a unit in the sixth "
                   "significant digit"}  # fmt: skip


def describe_check(dataset: Dataset, table: pd.DataFrame | None = None) -> str:
    """Markdown sentence saying what kind of check the concordance of ``dataset`` is: against RevMan's own
    numbers (a real package) or a self-consistency check (the synthetic package, whose published numbers the
    engine wrote). Decided by ``dataset.synthetic``, so no notebook can word it the other way."""
    if dataset.synthetic:
        return SELF_CONSISTENCY
    precision = table.attrs.get("precision", "decimals") if table is not None else "decimals"
    return AGAINST_REVMAN.format(label=f"**{dataset.label}**", precision=PRECISION_WORDS[precision])


def all_ok(table: pd.DataFrame) -> bool:
    """True when nothing published is a mismatch or missing from the recomputation."""
    return not table["status"].isin(("mismatch", "not recomputed")).any()

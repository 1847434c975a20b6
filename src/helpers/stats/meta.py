"""The RevMan-style analysis of one table: study rows, subgroup and overall pooled results, subgroup test.

``meta_analysis`` computes study effects (:func:`helpers.stats.effects.effect_sizes`, or Peto's O - E and V), pools
them with the chosen statistical method and analysis model (:mod:`helpers.stats.pooling`) overall and per subgroup,
and tests subgroup differences (:mod:`helpers.stats.subgroups`). Combinations, as RevMan offers them:
IV + fixed (tau² method FE), IV + random (``tau2_method``, DL by default as RevMan), MH + fixed, MH + random
(DerSimonian-Laird on the MH-based Q), Peto + fixed (odds ratio only).
Study CIs are y_i ± z sqrt(v_i), shown on the display scale (exponentiated for RR and OR).
"""

from __future__ import annotations

import warnings as _warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from helpers.core.checks import (CI_METHODS, DICHOTOMOUS_MEASURES, MEASURES, METHODS, MODELS, RATIO_MEASURES,
                            TAU2_METHODS, InputError, MetaWarning, check_choice, check_level, dichotomous_arrays,
                            source_prefix)
from helpers.stats.effects import CONTINUOUS_COLUMNS, DICHOTOMOUS_COLUMNS, GIV_COLUMNS, display_scale, effect_sizes
from helpers.stats.pooling import PETO_NO_VARIANCE, PoolResult, _resolve_pi, mantel_haenszel, peto, peto_effects, pool
from helpers.stats.presets import REVMAN, Preset
from helpers.data.schema import APPLICABILITY
from helpers.core.results import ResultMixin
from helpers.stats.subgroups import SubgroupTest, subgroup_test

POOLED_COLUMNS = ("estimate", "ci_low", "ci_high", "weight", "k", "tau2", "q", "df", "q_p", "i2", "z", "p")


@dataclass(frozen=True, repr=False, eq=False)
class MetaAnalysis(ResultMixin):
    """One analysis. ``overall`` and ``subgroups`` are on the analysis scale (log for RR/OR/Peto); ``studies``
    carries per-study estimate and CI on the display scale and the weight as % of the overall total."""

    measure: str
    method: str
    model: str
    tau2_method: str
    ci_method: str
    log_scale: bool
    preset: str
    studies: pd.DataFrame
    excluded: pd.DataFrame
    overall: PoolResult
    subgroups: tuple[tuple[str, PoolResult], ...]
    subgroup_test: SubgroupTest | None
    warnings: tuple[str, ...]

    def display(self, x):
        """Back-transform from the analysis scale: exp for ratio measures, identity otherwise."""
        return display_scale(x, self.measure)

    def subgroup_weight(self, label) -> float:
        """Percent of the overall weight carried by the studies of subgroup ``label`` (RevMan's subtotal weight)."""
        return float(self.studies.loc[self.studies["subgroup"] == label, "weight"].sum())

    def _pooled_row(self, level: str, label, res: PoolResult, weight: float) -> dict:
        d = self.display
        return {"level": level, "subgroup": label, "study": None, "estimate": float(d(res.estimate)),
                "ci_low": float(d(res.ci_low)), "ci_high": float(d(res.ci_high)), "weight": weight, "k": res.k,
                "tau2": res.tau2, "q": res.q, "df": res.df, "q_p": res.q_p, "i2": res.i2, "z": res.z, "p": res.p}

    def to_frame(self) -> pd.DataFrame:
        """Tidy rows: one per study (level "study"), per subgroup and the overall result (display scale)."""
        rows = [{"level": "study", "subgroup": r.subgroup, "study": r.study, "estimate": r.estimate,
                 "ci_low": r.ci_low, "ci_high": r.ci_high, "weight": r.weight}
                for r in self.studies.itertuples(index=False)]
        for label, res in self.subgroups:
            rows.append(self._pooled_row("subgroup", label, res, self.subgroup_weight(label)))
        rows.append(self._pooled_row("overall", None, self.overall, 100.0))
        return pd.DataFrame(rows, columns=["level", "subgroup", "study", *POOLED_COLUMNS])

    def _lines(self, res: PoolResult) -> list[str]:
        d = self.display
        tau = f"Tau² = {res.tau2:.4f}; " if res.model == "random" else ""
        return [f"  {self.measure} {d(res.estimate):.4f} [{d(res.ci_low):.4f}, {d(res.ci_high):.4f}] (k = {res.k})",
                f"  Heterogeneity: {tau}Chi² = {res.q:.2f}, df = {res.df} (P = {res.q_p:.2g}); I² = {res.i2:.0f}%",
                f"  Test for overall effect: Z = {abs(res.z):.2f} (P = {res.p:.2g})"]

    def summary(self) -> str:
        """Printable RevMan-like text: overall, each subgroup, subgroup test, warnings."""
        head = (f"{self.measure}, {self.method}, {self.model} effect"
                + (f" (tau²: {self.tau2_method}, CI: {self.ci_method})" if self.model == "random" else "")
                + f"; preset {self.preset}")
        out = [head]
        for label, res in self.subgroups:
            out += [f"Subgroup {label}:", *self._lines(res)]
        out += ["Overall:", *self._lines(self.overall)]
        if self.subgroup_test is not None:
            out.append(self.subgroup_test.summary())
        if len(self.excluded):
            out.append(f"Not entered: {len(self.excluded)} row(s) (see .excluded)")
        out += [f"warning: {w}" for w in self.warnings]
        return "\n".join(out)


def _check_combination(measure, method, model, ci):
    if method == "MH" and measure not in DICHOTOMOUS_MEASURES:
        raise ValueError(f"method 'MH' needs measure one of {', '.join(DICHOTOMOUS_MEASURES)}; got {measure!r}")
    if method == "Peto" and (measure != "OR" or model != "fixed"):
        raise ValueError(f"method 'Peto' is the fixed-effect odds ratio: needs measure 'OR' and model 'fixed'; "
                         f"got measure {measure!r}, model {model!r}")
    if model == "fixed" and ci != "z":
        raise ValueError(f"ci {ci!r} needs model 'random'; fixed-effect analyses use ci 'z'")


def _giv_rows(table: pd.DataFrame) -> np.ndarray:
    """Rows given as an estimate and its SE (generic inverse variance, or O-E and variance converted)."""
    if not all(c in table.columns for c in GIV_COLUMNS):
        return np.zeros(len(table), dtype=bool)
    return table["giv_estimate"].notna().to_numpy()


def _study_effects(table, measure, method, preset, study, source) -> pd.DataFrame:
    if method != "Peto" or _giv_rows(table).all():  # Peto O-E rows: yi = (O-E)/V, vi = 1/V given
        with _warnings.catch_warnings():  # exclusions are reported once, by meta_analysis
            _warnings.simplefilter("ignore", MetaWarning)
            return effect_sizes(table, measure, preset, study=study, source=source)
    labels = table[study].astype(str).tolist()
    a, n1, c, n2 = dichotomous_arrays(*(table[col].to_numpy() for col in DICHOTOMOUS_COLUMNS), labels=labels,
                                      index=table.index.to_numpy(), source=source)
    yi, vi, _, v = peto_effects(a, n1, c, n2)
    out = table.copy()
    out["yi"], out["vi"] = yi, vi
    out["excluded_reason"] = np.where((v == 0) & preset.drop_double_zero, PETO_NO_VARIANCE, None)
    return out


def _pool_rows(es: pd.DataFrame, measure, method, model, tau2_method, ci, pi, preset, level, labels):
    if method == "Peto" and _giv_rows(es).all():
        # O-E and variance rows: sum(O-E)/sum V with SE 1/sqrt(sum V) is the IV fixed-effect pool of
        # y_i = (O-E)_i/V_i with v_i = 1/V_i (weights V_i; Q = sum (O-E)²/V - (sum O-E)²/sum V)
        return pool(es["yi"], es["vi"], tau2_method="FE", ci=ci, pi=pi, preset=preset, level=level, labels=labels)
    if method == "IV":
        return pool(es["yi"], es["vi"], tau2_method="FE" if model == "fixed" else tau2_method, ci=ci, pi=pi,
                    preset=preset, level=level, labels=labels)
    arms = [es[col].to_numpy() for col in DICHOTOMOUS_COLUMNS]
    if method == "MH":
        return mantel_haenszel(*arms, measure, model, preset, ci=ci, pi=pi, level=level, labels=labels)
    return peto(*arms, preset, level=level, labels=labels)


def _entered_weights(res: PoolResult, n: int) -> np.ndarray:
    """Weights (percent) aligned with the n rows passed to the pooling function; NaN for rows it left out."""
    out = np.full(n, np.nan)
    out[np.setdiff1d(np.arange(n), np.asarray(res.excluded, dtype=int))] = res.weights
    return out


def _overall_weights(res: PoolResult, in_overall: np.ndarray) -> np.ndarray:
    """Overall weights (percent) for every kept row; NaN for rows outside the overall pooling."""
    out = np.full(len(in_overall), np.nan)
    out[in_overall] = _entered_weights(res, int(in_overall.sum()))
    return out


def meta_analysis(table: pd.DataFrame, measure: str, method: str = "IV", model: str = "fixed",
                  tau2_method: str = "DL", ci: str = "z", pi: str | None = None, subgroup: str | None = None,
                  study: str = "study", preset: Preset = REVMAN, *, level: float = 0.95,
                  applicability: str | None = None, source: str | None = None) -> MetaAnalysis:
    """Analyse one table as RevMan does (see the module docstring for the method/model combinations).

    table: one row per study with ``study`` labels and arm columns (``events_e, n_e, events_c, n_c`` or
    ``mean_e, sd_e, n_e, mean_c, sd_c, n_c``; IV analyses also take ``giv_estimate, giv_se`` rows).
    subgroup: column whose values split the studies; subgroups keep their order of first appearance.
    Rows that cannot enter (e.g. double zero for RR/OR under REVMAN) are listed in ``excluded`` with a reason,
    recorded in ``warnings`` and warned.
    applicability: column with RevMan's "Applicability" (``APPLICABILITY``): ``SUBGROUP_ONLY`` rows enter their
    subgroup's pooling only (no overall weight), ``OVERALL_ONLY`` rows the overall pooling only; each such row
    is a recorded warning. None = every row counts in both.

    Study rows: y_i ± z_(1-alpha/2) sqrt(v_i); weights are the pooling weights in percent of the overall total
    (MH/Peto weights for fixed MH/Peto, 1/(v_i + tau²) for random). Pooled results and the subgroup test follow
    :func:`helpers.stats.pooling.pool`, :func:`~helpers.stats.pooling.mantel_haenszel`, :func:`~helpers.stats.pooling.peto` and
    :func:`helpers.stats.subgroups.subgroup_test` (Deeks & Higgins 2010, RevMan statistical methods; Cochrane
    Handbook ch. 10, Deeks, Higgins & Altman 2023).
    """
    check_choice("measure", measure, MEASURES)
    check_choice("method", method, METHODS)
    check_choice("model", model, MODELS)
    check_choice("tau2_method", tau2_method, TAU2_METHODS)
    check_choice("ci", ci, CI_METHODS)
    pi = _resolve_pi(pi, preset)
    level = check_level(level)
    _check_combination(measure, method, model, ci)
    if model == "random" and method == "IV" and tau2_method == "FE":
        raise ValueError("tau2_method 'FE' contradicts model 'random'; use model 'fixed' or one of "
                         f"{', '.join(m for m in TAU2_METHODS if m != 'FE')}")
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame; got {type(table).__name__}")
    prefix = source_prefix(source)
    for col, role in ((study, "study"), (subgroup, "subgroup")):
        if col is not None and col not in table.columns:
            raise InputError(f"{prefix}{role} column {col!r} not in table "
                             f"(columns: {', '.join(map(str, table.columns))})")
    if len(table) == 0:
        raise InputError(f"{prefix}table has no rows")
    giv = _giv_rows(table)
    if giv.any() and method != "IV" and not (method == "Peto" and giv.all()):
        bad = int(np.flatnonzero(giv if method != "Peto" else ~giv)[0])
        raise InputError(f"{prefix}row {bad} (study {str(table[study].iloc[bad])!r}): generic inverse-variance rows "
                         f"(giv_estimate) need method 'IV' (or 'Peto' when every row is O-E and variance); "
                         f"got method {method!r}")
    groups = None
    if subgroup is not None:
        # a row counted in the overall pooling only (RevMan's OVERALL_ONLY) belongs to no subgroup: the export
        # leaves its Subgroup empty (e.g. a multi-arm trial's arms pooled for the overall line)
        overall_only = (table[applicability].astype(object).eq("OVERALL_ONLY").to_numpy() if applicability
                        is not None else np.zeros(len(table), dtype=bool))
        missing = np.flatnonzero(table[subgroup].isna().to_numpy() & ~overall_only)
        if missing.size:
            raise InputError(f"{prefix}field {subgroup!r} is empty in row {int(missing[0])} "
                             f"(study {str(table[study].iloc[missing[0]])!r}); every row needs a subgroup "
                             "unless its Applicability is OVERALL_ONLY")
        groups = np.array([None if pd.isna(g) else str(g) for g in table[subgroup]], dtype=object)

    es = _study_effects(table.reset_index(drop=True), measure, method, preset, study, source)
    notes: list[str] = []
    entered = es["excluded_reason"].isna().to_numpy()
    for i in np.flatnonzero(~entered):
        notes.append(f"study {str(es[study].iloc[i])!r} not entered: {es['excluded_reason'].iloc[i]}")  # no repr
        _warnings.warn(f"{prefix}{notes[-1]}", MetaWarning, stacklevel=2)
    if not entered.any():
        raise InputError(f"{prefix}no study can enter the {measure} analysis (all {len(es)} rows excluded)")
    kept = es[entered].reset_index(drop=True)
    kept_groups = groups[entered] if groups is not None else None
    in_overall = np.ones(len(kept), dtype=bool)
    in_subgroup = np.ones(len(kept), dtype=bool)
    if applicability is not None:
        where = kept[applicability].fillna(APPLICABILITY[0]).astype(str)
        bad = np.flatnonzero(~where.isin(APPLICABILITY).to_numpy())
        if bad.size:
            raise InputError(f"{prefix}row {int(bad[0])} (study {kept[study].iloc[bad[0]]!r}): field {applicability!r} "
                             f"is {where.iloc[bad[0]]!r}; allowed: {', '.join(APPLICABILITY)}")
        in_overall, in_subgroup = (where != "SUBGROUP_ONLY").to_numpy(), (where != "OVERALL_ONLY").to_numpy()
        for i in np.flatnonzero(~(in_overall & in_subgroup)):
            notes.append(f"study {kept[study].iloc[i]!r}: Applicability {where.iloc[i]}: "
                         + ("counts in its subgroup only, not in the overall pooling" if not in_overall[i]
                            else "counts in the overall pooling only, not in its subgroup"))
            _warnings.warn(f"{prefix}{notes[-1]}", MetaWarning, stacklevel=2)
    args = (measure, method, model, tau2_method, ci, pi, preset, level)
    overall_rows = kept[in_overall].reset_index(drop=True)
    overall = _pool_rows(overall_rows, *args, overall_rows[study].astype(str).tolist())
    notes += list(overall.warnings)

    results: list[tuple[str, PoolResult]] = []
    if groups is not None:
        for label in dict.fromkeys(g for g in groups if g is not None):
            rows = (kept_groups == label) & in_subgroup
            if not rows.any():
                notes.append(f"subgroup {label!r}: no study entered; left out of the subgroup test")
                _warnings.warn(f"{prefix}{notes[-1]}", MetaWarning, stacklevel=2)
                continue
            sub = kept[rows].reset_index(drop=True)
            res = _pool_rows(sub, *args, sub[study].astype(str).tolist())
            results.append((label, res))
            notes += [f"subgroup {label!r}: {w}" for w in res.warnings]
    test = None
    usable = [(lab, r) for lab, r in results if np.isfinite(r.se) and r.se > 0]
    for lab, r in results:
        if (lab, r) not in usable:
            notes.append(f"subgroup {lab!r}: standard error {r.se:g} (not a positive number); left out of the "
                         "test for subgroup differences")
            _warnings.warn(f"{prefix}{notes[-1]}", MetaWarning, stacklevel=2)
    if len(results) >= 2 and len(usable) < 2:
        notes.append(f"test for subgroup differences not computed: {len(usable)} of {len(results)} subgroups "
                     "have a usable standard error")
        _warnings.warn(f"{prefix}{notes[-1]}", MetaWarning, stacklevel=2)
    if len(usable) >= 2:
        test = subgroup_test([r.estimate for _, r in usable], [r.se for _, r in usable], model=model,
                             labels=[lab for lab, _ in usable])

    z = stats.norm.ppf((1 + level) / 2)
    def disp(x):
        return display_scale(x, measure)

    half = z * np.sqrt(kept["vi"].to_numpy())
    studies = pd.DataFrame({
        "study": kept[study].to_numpy(), "subgroup": kept_groups if kept_groups is not None else None,
        "yi": kept["yi"].to_numpy(), "vi": kept["vi"].to_numpy(), "estimate": disp(kept["yi"].to_numpy()),
        "ci_low": disp(kept["yi"].to_numpy() - half), "ci_high": disp(kept["yi"].to_numpy() + half),
        "weight": _overall_weights(overall, in_overall)})
    arm_cols = [c for c in dict.fromkeys((*DICHOTOMOUS_COLUMNS, *CONTINUOUS_COLUMNS, *GIV_COLUMNS))
                if c in kept.columns and c not in studies.columns]  # n_e/n_c are in both arm lists
    studies = pd.concat([studies, kept[arm_cols]], axis=1)
    excluded = es.loc[~entered, [c for c in es.columns if c not in ("yi", "vi", "excluded_reason")]].copy()
    excluded["reason"] = es.loc[~entered, "excluded_reason"]
    return MetaAnalysis(
        measure=measure, method=method, model=model, tau2_method=tau2_method if model == "random" else "FE",
        ci_method=ci, log_scale=measure in RATIO_MEASURES, preset=preset.name, studies=studies,
        excluded=excluded.reset_index(drop=True), overall=overall, subgroups=tuple(results), subgroup_test=test,
        warnings=tuple(notes))

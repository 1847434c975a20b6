"""Analysis settings read off RevMan's own per-study numbers, for data rows that carry no settings.

A bare data-rows export (:mod:`helpers.data.datarows`) gives, per study row, RevMan's ``Mean`` (the study's
effect estimate), ``CI start``/``CI end`` and ``Weight`` (%), but not the effect measure, statistical method
or analysis model used. :func:`infer_settings` re-runs every candidate RevMan offers for the row's data type
(``CANDIDATES``: dichotomous RR/OR/RD x MH/IV x fixed/random and Peto OR; continuous MD/SMD x IV x
fixed/random; generic inverse variance any measure x IV x fixed/random) with
:func:`helpers.stats.meta.meta_analysis` and compares each study's estimate, CI and weight with RevMan's at
RevMan's precision (:func:`helpers.stats.concordance.revman_precision` and ``revman_tolerance``, as the
concordance judges). Rows RevMan left empty ("not
estimable") must be left out by the candidate too.

What the per-study numbers can tell apart: the measure from the estimates; the method and the model only
through the weights, and only when an analysis has two or more estimable studies (MH and IV weights differ,
and random-effects weights differ from fixed-effect ones only when tau² > 0). When several candidates
reproduce every row, the one chosen is the method and model that every analysis of the same data type whose
values single out one setting agrees on (:func:`review_pattern`: the review's own choice, shown with the
analyses it rests on); failing that, ``PREFERENCE`` (random before fixed, MH before IV: RevMan's defaults for
a new analysis). The result says which of measure/method/model the analysis' own values identified. An
analysis that no candidate reproduces, or that has no estimable row, is flagged (``status``), never
defaulted silently.

The tau² estimator (``tau2_method``): RevMan Web pools inverse-variance random effects with DerSimonian-Laird,
REML or Paule-Mandel, and the weights 1/(v_i + tau²) tell which. DL is tried first with every candidate; only an
analysis no candidate reproduces has its inverse-variance random-effects candidates refitted with REML, then PM
(:func:`other_estimators`). When the weights of some analyses single out one such estimator, the review's other
inverse-variance random-effects analyses that it reproduces too take it (:func:`review_estimator`: DL and it
agree on their values, e.g. tau² = 0); one whose weights only DL reproduces keeps DL. The note says which.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from helpers.core.checks import DataWarning
from helpers.core.results import ResultMixin
from helpers.data.datarows import analysis_data_types
from helpers.data.tidy import Dataset
from helpers.stats.candidates import CANDIDATES, LEVELS, batch_fits, only_needed
from helpers.stats.concordance import (in_subgroup_rows, printed_weights, revman_precision, revman_tolerance,
                                       weight_basis)
from helpers.stats.meta import meta_analysis
from helpers.stats.settings import RANDOM_TAU2, swap_events

STATUSES = ("reproduced", "reproduced; method/model not identified", "not reproduced", "no estimable row")
QUANTITIES = ("estimate", "ci", "weight")
COLUMNS = ("analysis_id", "analysis_name", "data_type", "rows", "estimable", "measure", "method", "model",
           "tau2_method", "swap_events", "ci_level",
           "status",
           "identified", "reproducing", "max_diff_estimate", "max_diff_ci", "max_diff_weight", "note")  # fmt: skip
PREFERENCE = {"model": ("random", "fixed"), "method": ("MH", "IV", "Peto")}
#: tau² estimators tried after DerSimonian-Laird for inverse-variance random effects (RevMan Web's choices)
OTHER_TAU2 = tuple(m for m in RANDOM_TAU2 if m != "DL")


def _fit(rows: pd.DataFrame, setting: tuple, precision: str, level: float = 0.95, tau2_method: str = "DL") -> dict:
    """Largest |ours - RevMan's| per quantity and whether every row is within its printed precision; when the
    estimates fit but the CIs do not at 95 %, the other study CI levels RevMan offers (``LEVELS``) are tried.
    ``tau2_method``: the tau² estimator of a random-effects setting (its weights 1/(v_i + tau²) depend on it)."""
    measure, method, model = setting
    table = rows.reset_index(drop=True).assign(_row=np.arange(len(rows)))
    has_sg = table["subgroup"].notna().any()
    applicability = "applicability" if "applicability" in table and table["applicability"].notna().any() else None
    ours = pd.DataFrame(np.nan, index=table.index, columns=["estimate", "ci_low", "ci_high", "weight"])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ma = meta_analysis(table, measure=measure, method=method, model=model, study="_row", level=level,
                               subgroup="subgroup" if has_sg else None, applicability=applicability,
                               tau2_method=tau2_method)  # fmt: skip
        st = ma.studies.set_index("study")
        ours.loc[st.index.astype(int), ["estimate", "ci_low", "ci_high"]] = st[
            ["estimate", "ci_low", "ci_high"]].to_numpy()  # fmt: skip
        positions = st.index.astype(int)
        basis = weight_basis(table["weight"], table["subgroup"])
        ours.loc[positions, "weight"] = printed_weights(ma, basis, in_subgroup_rows(table, positions))
        ours.loc[table["weight"].isna() & table["estimate"].notna(), "weight"] = np.nan  # RevMan printed none
    except ValueError:  # no row can enter under this setting: every study value is empty
        pass
    ok, diffs, off = {}, {}, {}
    for q, cols in (("estimate", ("estimate",)), ("ci", ("ci_low", "ci_high")), ("weight", ("weight",))):
        pub = table[list(cols)].to_numpy(dtype=float).ravel()
        mine = ours[list(cols)].to_numpy(dtype=float).ravel()
        both = ~np.isnan(pub) & ~np.isnan(mine)
        same_gaps = bool((np.isnan(pub) == np.isnan(mine)).all())
        d = np.abs(pub[both] - mine[both])
        tol = np.array([revman_tolerance(v, precision) for v in pub[both]])
        tol += 8 * np.finfo(float).eps * np.maximum(np.abs(pub[both]), 1.0)  # binary rounding, as concordance.judge
        ok[q] = same_gaps and bool((d <= tol).all())
        diffs[q] = (float(d.max()) if d.size else 0.0) if same_gaps else np.inf
        off[q] = int((d > tol).sum())
    if ok["estimate"] and not ok["ci"] and level == LEVELS[0]:
        for other in LEVELS[1:]:
            fit = _fit(rows, setting, precision, other, tau2_method)
            if fit["estimates_ok"]:
                return fit
    return {"ok": all(ok.values()), "estimates_ok": ok["estimate"] and ok["ci"], "level": level,
            "tau2_method": tau2_method, "weights_off": off["weight"], **diffs}


def _rank(setting: tuple, pattern: tuple | None = None) -> tuple:
    """Sort key: the review's own identified (method, model) first, then ``PREFERENCE``."""
    return (0 if pattern is None or setting[1:] == pattern else 1, PREFERENCE["model"].index(setting[2]),
            PREFERENCE["method"].index(setting[1]))  # fmt: skip


def _fits(rows: pd.DataFrame, data_type: str, precision: str) -> dict:
    """``{setting: fit}`` for every candidate of the data type; {} when RevMan printed no study estimate."""
    rows = only_needed(rows, data_type)  # only the cells the data type uses count (the others may be 0.0 placeholders)
    if rows["estimate"].notna().sum() == 0:
        return {}
    out = {}
    for setting in CANDIDATES[data_type]:
        # a study's estimate and CI depend on the measure (and Peto) only: when the first setting of a measure
        # misses them, the others of that measure miss them too (their weights are not looked at)
        same = next((s for s in out if s[0] == setting[0] and (s[1] == "Peto") == (setting[1] == "Peto")), None)
        if same is not None and not out[same]["estimates_ok"]:
            out[setting] = {**out[same], "weight": np.inf, "ok": False}
        else:
            out[setting] = _fit(rows, setting, precision)
    return out



def other_estimators(rows: pd.DataFrame, data_type: str, precision: str, fits: dict) -> dict:
    """``fits`` with each inverse-variance random-effects candidate whose study estimates and CIs fit refitted
    with the other tau² estimators RevMan Web offers (``OTHER_TAU2``: REML, PM; Viechtbauer 2005), the first
    whose weights reproduce RevMan's replacing the DerSimonian-Laird fit. For an analysis no candidate
    reproduces only (the common case pays nothing): RevMan Web pools by inverse variance with REML or PM when
    the review says so, and the weights 1/(v_i + tau²) tell which (CD016064 1.1: DL tau² 0.122, REML 0.154)."""
    rows = only_needed(rows, data_type)
    out = dict(fits)
    for setting, fit in fits.items():
        if setting[1:] != ("IV", "random") or not fit["estimates_ok"]:
            continue
        for tau2_method in OTHER_TAU2:
            other = _fit(rows, setting, precision, fit["level"], tau2_method)
            if other["ok"]:
                out[setting] = other
                break
    return out


def review_estimator(fits: dict, parts: dict, types: dict, precision: str) -> None:
    """When the weights of some analyses single out one tau² estimator other than DL (:func:`other_estimators`),
    the review's: every other inverse-variance random-effects fit that reproduces RevMan's values with DL is
    refitted with it and takes it when it reproduces them too (``fits`` updated in place; ``by_review`` names
    the analyses it rests on). Analyses whose weights DL alone reproduces keep DL."""
    found = {aid: f.get("tau2_method") for aid, fs in fits.items() for f in fs.values()
             if f["ok"] and f.get("tau2_method", "DL") != "DL"}  # fmt: skip
    if len(set(found.values())) != 1:
        return
    tau2_method = next(iter(found.values()))
    for aid, fs in fits.items():
        for setting, fit in list(fs.items()):
            if aid in found or setting[1:] != ("IV", "random") or not fit["ok"]:
                continue
            other = _fit(only_needed(parts[aid], types[aid]), setting, precision, fit["level"], tau2_method)
            if other["ok"]:
                fs[setting] = {**other, "by_review": sorted(set(found))}


def review_pattern(fits: dict, types: dict) -> dict:
    """``{data type: ((method, model), [analysis ids])}`` where every analysis of that type whose per-study
    values single out one setting agrees on its method and model (the review's own choice)."""
    seen: dict = {}
    for aid, f in fits.items():
        good = [s for s, v in f.items() if v["ok"]]
        if len(good) == 1:
            seen.setdefault(types[aid], {}).setdefault(good[0][1:], []).append(aid)
    return {t: next(iter(d.items())) for t, d in seen.items() if len(d) == 1}


def _tau2_of(setting: tuple, fit: dict) -> str:
    """The tau² estimator of a fit ("" for a fixed-effect setting; DL unless another reproduced the weights)."""
    return fit.get("tau2_method", "DL") if setting[2] == "random" else ""


def _record(aid: str, rows: pd.DataFrame, data_type: str, fits: dict, pattern) -> dict:
    """One evidence record (``COLUMNS``) for one analysis."""
    base = {"analysis_id": aid, "analysis_name": rows["analysis_name"].iloc[0], "data_type": data_type,
            "rows": len(rows), "estimable": int(rows["estimate"].notna().sum())}  # fmt: skip
    empty = {"identified": "", "reproducing": "", "max_diff_estimate": np.nan, "max_diff_ci": np.nan,
             "max_diff_weight": np.nan}  # fmt: skip
    if not fits:
        return {**base, **empty, "measure": None, "method": None, "model": None, "tau2_method": None,
                "swap_events": False,
                "ci_level": np.nan, "status": STATUSES[3],
                "note": "RevMan printed no study estimate: the settings cannot be read off this analysis"}  # fmt: skip
    good = sorted((s for s, f in fits.items() if f["ok"]), key=lambda s: _rank(s, pattern and pattern[0]))
    if not good:
        # closest: estimates and CIs first, then the fewest weights off (a weight RevMan computed otherwise, e.g.
        # two subgroups under one name, must not hide that every other weight fits), then the largest difference
        best = min(fits, key=lambda s: (fits[s]["estimate"], fits[s]["ci"], fits[s]["weights_off"],
                                        fits[s]["weight"], _rank(s)))
        f = fits[best]
        return {**base, **empty, "measure": best[0], "method": best[1], "model": best[2],
                "tau2_method": _tau2_of(best, f), "swap_events": False, "ci_level": f.get("level", LEVELS[0]), "status": STATUSES[2],
                "max_diff_estimate": f["estimate"], "max_diff_ci": f["ci"], "max_diff_weight": f["weight"],
                "note": "no candidate reproduces every row at the printed precision; the closest is shown"}  # fmt: skip
    chosen = good[0]
    identified = [name for i, name in enumerate(("measure", "method", "model")) if len({s[i] for s in good}) == 1]
    f = fits[chosen]
    status, note = STATUSES[0], ""
    if len(identified) < 3:
        status = STATUSES[1]
        if pattern is not None and chosen[1:] == pattern[0]:
            note = (f"{len(good)} settings reproduce every row; method/model {'/'.join(pattern[0])} as identified "
                    f"in every {data_type} analysis that tells them apart ({', '.join(pattern[1])})")  # fmt: skip
        else:
            note = f"{len(good)} settings reproduce every row; chosen by PREFERENCE (random > fixed, MH > IV)"
    if f.get("by_review"):
        note = "; ".join(filter(None, [note, f"tau² {f['tau2_method']} (DL reproduces these values too): the "
                                             f"review's estimator, identified in {', '.join(f['by_review'])}"]))
    elif _tau2_of(chosen, f) not in ("DL", ""):
        note = "; ".join(filter(None, [note, f"weights reproduced with tau² {f['tau2_method']}, not DL"]))
    if f.get("swap_events"):
        note = "; ".join(filter(None, [note, "reproduced with events and non-events swapped (RevMan's 'Swap event "
                                             "and non-event'); as entered, no candidate reproduces the estimates"]))
    return {**base, "measure": chosen[0], "method": chosen[1], "model": chosen[2],
            "tau2_method": _tau2_of(chosen, f), "swap_events": bool(f.get("swap_events")), "ci_level": f["level"], "status": status,
            "identified": ", ".join(identified), "reproducing": "; ".join("/".join(s) for s in good),
            "max_diff_estimate": f["estimate"], "max_diff_ci": f["ci"], "max_diff_weight": f["weight"],
            "note": note}  # fmt: skip


@dataclass(frozen=True, repr=False)
class SettingsInference(ResultMixin):
    """Per analysis: the chosen settings and the evidence (``table``, one row per analysis, ``COLUMNS``)."""

    source: str
    n_analyses: int
    n_reproduced: int
    n_not_identified: int
    n_not_reproduced: int
    n_no_estimable_row: int
    table: pd.DataFrame = field(compare=False)

    @classmethod
    def from_table(cls, table: pd.DataFrame, source: str) -> "SettingsInference":
        """The result whose evidence table (``COLUMNS``) is ``table``; the counts are read off its statuses."""
        st = table["status"]
        return cls(source=source, n_analyses=len(table), n_reproduced=int(st.isin(STATUSES[:2]).sum()),
                   n_not_identified=int((st == STATUSES[1]).sum()), n_not_reproduced=int((st == STATUSES[2]).sum()),
                   n_no_estimable_row=int((st == STATUSES[3]).sum()), table=table)  # fmt: skip

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def flagged(self) -> pd.DataFrame:
        """Analyses whose settings the per-study values do not settle (not reproduced or no estimable row)."""
        return self.table[self.table["status"].isin(STATUSES[2:])]

    def settings(self) -> dict:
        """``{analysis_id: {"measure", "method", "model"}}`` of the reproduced analyses (review map form)."""
        ok = self.table[self.table["status"].isin(STATUSES[:2])]
        return {r.analysis_id: {"measure": r.measure, "method": r.method, "model": r.model}
                for r in ok.itertuples(index=False)}  # fmt: skip

    def summary(self) -> str:
        lines = [f"Settings inferred from RevMan's per-study values ({self.source}): {self.n_analyses} analyses; "
                 f"{self.n_reproduced} reproduced at the printed precision ({self.n_not_identified} of them with "
                 f"method or model not identified by the data), {self.n_not_reproduced} not reproduced, "
                 f"{self.n_no_estimable_row} without an estimable row"]  # fmt: skip
        for r in self.flagged().itertuples(index=False):
            lines.append(f"  FLAGGED {r.analysis_id} {r.analysis_name}: {r.status}; {r.note}")
        return "\n".join(lines)


def infer_settings(rows: pd.DataFrame, source: str = "<data rows>", *, batched: bool = True) -> SettingsInference:
    """Infer measure, method and model of every analysis from RevMan's per-study values.

    ``rows``: tidy-named data rows with RevMan's ``estimate``, ``ci_low``, ``ci_high`` and ``weight`` (as
    :func:`helpers.data.dataset.read_rows_table` returns them for a ``.rda`` or ``*-data-rows.csv``).
    ``batched``: every candidate's study values for all analyses at once (:func:`helpers.stats.candidates.
    batch_fits`; analyses it cannot stand for are fitted one by one); False: each analysis and candidate through
    :func:`helpers.stats.meta.meta_analysis` (the reference the batched path is tested against)."""
    rows = rows.copy()
    rows["analysis_id"] = [f"{int(g)}.{int(n)}" for g, n in zip(rows["analysis_group"], rows["analysis_number"])]
    if "data_type" in rows:  # tidy rows (study_values): O-E data already on the log Peto OR scale, as giv
        types = dict(zip(rows["analysis_id"], rows["data_type"]))
    else:
        types = analysis_data_types(rows, source)
        oe = rows["analysis_id"].map(types).eq("oe")
        rows.loc[oe, "giv_estimate"] = rows.loc[oe, "oe"] / rows.loc[oe, "oe_variance"]  # (O-E)/V, SE 1/sqrt(V)
        rows.loc[oe, "giv_se"] = 1.0 / np.sqrt(rows.loc[oe, "oe_variance"])
        types = {a: "giv" if t == "oe" else t for a, t in types.items()}
    parts = {aid: rows[rows["analysis_id"] == aid] for aid in types}
    precision = revman_precision(rows[["estimate", "ci_low", "ci_high", "weight"]].to_numpy(dtype=float).ravel())
    fits = {}
    if batched:
        for dtype in dict.fromkeys(types.values()):
            got, irregular = batch_fits(rows[rows["analysis_id"].map(types).eq(dtype)], dtype, precision)
            fits.update(got)
            fits.update({aid: _fits(parts[aid], dtype, precision) for aid in irregular})
    fits = {aid: fits[aid] if aid in fits else _fits(parts[aid], dtype, precision) for aid, dtype in types.items()}
    for aid, f in fits.items():
        if f and not any(fit["ok"] for fit in f.values()):
            fits[aid] = other_estimators(parts[aid], types[aid], precision, f)
        if f and types[aid] == "dichotomous" and not any(fit["ok"] for fit in fits[aid].values()):
            swapped = _fits(swap_events(parts[aid]), "dichotomous", precision)
            if any(fit["ok"] for fit in swapped.values()):
                fits[aid] = {s: {**fit, "swap_events": True} for s, fit in swapped.items()}
    review_estimator(fits, parts, types, precision)
    pattern = review_pattern(fits, types)
    records = [_record(aid, parts[aid], dtype, fits[aid], pattern.get(dtype)) for aid, dtype in types.items()]
    table = pd.DataFrame.from_records(records, columns=list(COLUMNS))
    order = sorted(table.index, key=lambda i: tuple(int(x) for x in table.at[i, "analysis_id"].split(".")))
    return SettingsInference.from_table(table.loc[order].reset_index(drop=True), source)


def study_values(dataset: Dataset) -> pd.DataFrame:
    """The dataset's tidy rows with RevMan's own per-study ``estimate``, ``ci_low``, ``ci_high`` and ``weight``
    (``Dataset.published``, level ``study``: one row per data row, in the same order)."""
    pub = dataset.published[dataset.published["level"] == "study"].reset_index(drop=True)
    rows = dataset.rows.reset_index(drop=True)
    if len(pub) != len(rows) or not (pub["analysis_id"].eq(rows["analysis_id"]).all()
                                     and pub["study"].eq(rows["study"]).all()):  # fmt: skip
        raise ValueError(f"{dataset.label}: the published study rows do not line up with the data rows")
    out = rows.copy()
    for col in ("estimate", "ci_low", "ci_high", "weight"):
        out[col] = pub[col].to_numpy(dtype=float)
    return out


def settle(dataset: Dataset) -> Dataset:
    """``dataset`` with measure, method, model (and the study CI level) of every analysis whose settings are not
    in the data read off RevMan's per-study values (:func:`infer_settings`); the evidence is
    ``Dataset.settings_evidence``. A dataset whose analyses all carry settings is returned as it is.

    Flagged analyses are never defaulted silently: one that no candidate reproduces keeps the closest candidate
    and a warning says so (its concordance shows the mismatch); one without any study RevMan estimated cannot
    tell its settings and is left out, said in ``Dataset.warnings``."""
    unset = dataset.rows["measure"].isna()
    if not unset.any():
        return dataset
    values = study_values(dataset)
    todo = values[unset.to_numpy()]
    result = infer_settings(todo, dataset.label)
    table = result.table.set_index("analysis_id")
    rows = dataset.rows.copy()
    notes = [f"{dataset.label}: settings of {result.n_analyses} analyses read off RevMan's per-study values: "
             f"{result.n_reproduced} reproduced, {result.n_not_reproduced} not reproduced (closest candidate used, "
             f"flagged), {result.n_no_estimable_row} without any estimated study (left out)"]  # fmt: skip
    for aid, rec in table.iterrows():
        sel = rows["analysis_id"] == aid
        if rec["status"] == STATUSES[3]:
            continue
        rows.loc[sel, ["measure", "method", "model"]] = [rec["measure"], rec["method"], rec["model"]]
        if rec["tau2_method"] not in ("DL", "", None):
            rows.loc[sel, "tau2_method"] = rec["tau2_method"]
        if rec["swap_events"]:
            rows.loc[sel, "swap_events"] = 1
        if rec["ci_level"] != LEVELS[0]:
            rows.loc[sel, "ci_level"] = rec["ci_level"]
        if rec["status"] == STATUSES[2]:
            notes.append(f"{dataset.label}: analysis {aid}: no candidate reproduces RevMan's per-study values "
                         f"(closest {rec['measure']}/{rec['method']}/{rec['model']}); FLAGGED")  # fmt: skip
    gone = set(table.index[table["status"] == STATUSES[3]])
    keep = ~rows["analysis_id"].isin(gone)
    pub = dataset.published
    pub = pub[~(pub["analysis_id"].isin(gone))].reset_index(drop=True)
    for note in notes:
        warnings.warn(note, DataWarning, stacklevel=2)
    return replace(dataset, rows=rows[keep].reset_index(drop=True), published=pub,
                   warnings=(*dataset.warnings, *notes), settings_evidence=result.to_frame())

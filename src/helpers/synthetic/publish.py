"""The synthetic package's tables: arm-level data first, then RevMan's published columns filled in.

:func:`arm_tables` lays the trials and the generated rows out as the tables the reader returns (a
:class:`~helpers.data.datapackage.RawPackage`, estimates empty). :func:`fill_estimates` then computes what
RevMan would print (study weight, estimate and CI; subgroup and overall estimates, heterogeneity, Z, P, the
test for subgroup differences) by the same path as any recomputation: :func:`helpers.data.tidying.from_package`
reads the arm-level tables into tidy rows and :func:`helpers.stats.meta.meta_analysis` pools each analysis with
its own settings (DerSimonian-Laird tau², as :mod:`helpers.stats.concordance` does). The concordance of this
package is therefore a self-consistency check of the engine, not a check against RevMan.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core.checks import InputError
from helpers.data.datapackage import RawPackage
from helpers.data.writer import tidy_columns
from helpers.data.tidy import iter_analyses
from helpers.data.tidying import from_package
from helpers.stats.meta import meta_analysis
from helpers.synthetic.trials import ROB_DOMAINS, ROB_LEVELS

SYNTHETIC_NOTE = "SYNTHETIC - not real trial data"
DATA_TYPE_LABELS = {"continuous": "Continuous", "dichotomous": "Dichotomous"}
MEASURE_LABELS = {"MD": "Mean Difference", "SMD": "Standardized Mean Difference", "RR": "Risk Ratio",
                  "OR": "Odds Ratio", "RD": "Risk Difference"}  # fmt: skip
MODEL_LABELS = {"random": "Random effects", "fixed": "Fixed effect"}
ESTIMATES = ("weight", "estimate", "ci_low", "ci_high")
POOLED = ("estimate", "ci_low", "ci_high", "tau2", "q", "df", "q_p", "i2", "z", "p")


def _id(package_id: str, kind: str, text: str) -> str:
    """A stable RevMan-like numeric id (18 digits) derived from the package id and ``text``."""
    digest = hashlib.sha256(f"{package_id}/{kind}/{text}".encode()).hexdigest()
    return f"{kind}:{int(digest[:15], 16) % 10**18:018d}"


def _frame(records: list[dict], key: str | None = None) -> pd.DataFrame:
    """A table as the reader returns it: index = CSV line, columns in the Cochrane order of ``key``."""
    frame = pd.DataFrame(records, index=pd.Index(range(2, len(records) + 2), name="line"))
    return frame if key is None else frame.reindex(columns=tidy_columns(key))


def _study_tables(trials: list, outcomes: dict, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    info, rob, ris = [], [], []
    for t in sorted(trials, key=lambda t: t.label):
        n_e, n_c = t.arms
        allocation = "1:1 parallel groups" if t.design == "parallel" else "crossover; first period analysed"
        info.append({
            "study": t.label, "year": float(t.year), "data_source": "PUB",
            "char_methods": f"design: {t.design}; randomised: {t.n}; allocation: {allocation}",
            "char_participants": f"condition: {t.condition}; n_randomised: {t.n}; n_experimental: {n_e}; "
                                 f"n_control: {n_c}; adults: yes",
            "char_interventions": f"drug: {t.drug}; route: {t.route}; comparator: {t.comparator}; comparator_detail: "
                                  f"{t.comparator_detail}; duration: {t.duration}; dose: {t.dose}",
            "char_outcomes": "outcomes: " + (" / ".join(outcomes.get(t.label, ())) or "none in the analyses"),
            "char_notes": f"{SYNTHETIC_NOTE}; generator: helpers.synthetic; seed: {seed}",
        })  # fmt: skip
        row = {"study": t.label}
        for domain, level in zip(ROB_DOMAINS, t.rob):
            row[f"Domain (judgement): {domain}"] = ROB_LEVELS[level]
            row[f"Domain (support): {domain}"] = f"{SYNTHETIC_NOTE}: judgement drawn at random"
        rob.append(row)
        ris.append(f"TY  - JOUR\nNS  - {t.label}\nTI  - {SYNTHETIC_NOTE}\nPY  - {t.year}\nER  - \n\n")
    return _frame(info, "study_information"), _frame(rob), "".join(ris)


def _totals(data_type: str, values: list[dict]) -> dict:
    n_e, n_c = sum(v["n_e"] for v in values), sum(v["n_c"] for v in values)
    if data_type == "dichotomous":
        return {"events_e": sum(v["events_e"] for v in values), "n_e": n_e,
                "events_c": sum(v["events_c"] for v in values), "n_c": n_c}  # fmt: skip
    return {"events_e": None, "n_e": n_e, "events_c": None, "n_c": n_c}


def arm_tables(package_id: str, name: str, trials: list, analyses: list, seed: int) -> RawPackage:
    """The package with arm-level data only. ``analyses``: (AnalysisShape, [(subgroup, trial, footnote, values)])."""
    data_rows, settings, subgroups, outcomes = [], [], [], {}
    for a, entries in analyses:
        for sg, trial, footnote, v in entries:
            placeholders = {"giv_estimate": 0.0, "giv_se": 0.0, "mean_e": 0.0, "sd_e": 0.0, "events_e": 0.0,
                            "mean_c": 0.0, "sd_c": 0.0, "events_c": 0.0, "oe": 0.0, "oe_variance": 0.0}  # fmt: skip
            data_rows.append({
                "analysis_group": a.group, "analysis_number": a.number, "analysis_name": a.name, "subgroup": sg,
                "applicability": "SUBGROUP_AND_OVERALL", "study": trial.label, "year": float(trial.year),
                **placeholders, **v, **dict.fromkeys(ESTIMATES, np.nan), "footnotes": footnote,
            })  # fmt: skip
            keys = outcomes.setdefault(trial.label, [])
            if a.outcome and a.outcome not in keys:
                keys.append(a.outcome)
        values = [v for *_, v in entries]
        settings.append({
            "analysis_group": a.group, "analysis_number": a.number, "analysis_name": a.name,
            "comparison": a.comparison, "data_source": "Custom input", "data_source_eligibility": None,
            "data_type_label": DATA_TYPE_LABELS[a.data_type], "log_scale": a.data_type == "dichotomous",
            "outcome_label": None, "intervention_grouping": None, "experimental_intervention": a.drug.capitalize(),
            "control_intervention": a.comparison.split(" versus ", 1)[-1].capitalize(),
            "subgroup_by": a.subgroup_by.capitalize() if a.subgroup_by else None, "filter_criteria": None,
            "label_e": f"Favours {a.drug}", "label_c": "Favours control", "method_label": a.method,
            "measure_label": MEASURE_LABELS[a.measure], "unit": None, "model_label": MODEL_LABELS[a.model],
            "show_subgroups": True, "show_overall": True, "show_subgroup_test": True, "swap_events": False,
            "study_ci": "95%", "estimate_ci": "95%", **_totals(a.data_type, values),
            **dict.fromkeys(POOLED, np.nan), "subgroup_q": np.nan, "subgroup_df": np.nan, "subgroup_p": np.nan,
            "subgroup_i2": np.nan, "id": _id(package_id, "analysis", a.analysis_id),
        })  # fmt: skip
        names = list(dict.fromkeys(sg for sg, *_ in entries if sg is not None))
        for number, sg in enumerate(names, start=1):
            part = [v for s, _, _, v in entries if s == sg]
            subgroups.append({
                "analysis_group": a.group, "analysis_number": a.number, "subgroup": sg, "subgroup_number": number,
                **_totals(a.data_type, part), "weight": np.nan, **dict.fromkeys(POOLED, np.nan),
                "id": _id(package_id, "subgroup", f"{a.analysis_id}/{sg}"),
            })  # fmt: skip
    info, rob, ris = _study_tables(trials, outcomes, seed)
    files = {key: f"{name}!{key}" for key in ("settings", "data_rows", "study_information", "subgroups",
                                               "risk_of_bias")}  # fmt: skip
    return RawPackage(name=name, package_id=package_id, source=Path(name), settings=_frame(settings, "settings"),
                      data_rows=_frame(data_rows, "data_rows"), study_information=info,
                      subgroups=_frame(subgroups, "subgroups"),
                      risk_of_bias=rob, included=ris, files=files)  # fmt: skip


def _display(ma, res) -> dict:
    d = ma.display
    return {"estimate": float(d(res.estimate)), "ci_low": float(d(res.ci_low)), "ci_high": float(d(res.ci_high)),
            "tau2": res.tau2, "q": res.q, "df": res.df, "q_p": res.q_p, "i2": res.i2, "z": abs(res.z), "p": res.p}


def fill_estimates(raw: RawPackage) -> tuple[RawPackage, tuple[str, ...]]:
    """Fill RevMan's published columns by recomputation (module docstring); return the notes of the engine.

    A study that cannot enter (double zero) gets weight, estimate and CI ``0``, as RevMan prints it.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = from_package(raw, review=None)
    data_rows, settings, subgroups = raw.data_rows.copy(), raw.settings.copy(), raw.subgroups.copy()
    aids = [f"{int(g)}.{int(n)}" for g, n in zip(data_rows["analysis_group"], data_rows["analysis_number"])]
    notes = []
    for aid, s, rows in iter_analyses(ds):
        has_sg = rows["subgroup"].notna().any()
        lines = [line for line, a in zip(data_rows.index, aids) if a == aid]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # recorded in ma.warnings, returned as notes
            try:
                ma = meta_analysis(rows, s["measure"], method=s["method"], model=s["model"], tau2_method="DL",
                                   subgroup="subgroup" if has_sg else None, study="study")  # fmt: skip
            except InputError as exc:  # no study estimable (all double zero): RevMan prints zeros, no totals
                notes.append(f"analysis {aid} {s['analysis_name']}: not estimable: {exc}")
                data_rows.loc[lines, list(ESTIMATES)] = 0.0
                continue
        notes += [f"analysis {aid} {s['analysis_name']}: {w}" for w in ma.warnings]
        entered = ma.studies.reset_index(drop=True)
        j = 0
        for line, r in zip(lines, rows.itertuples(index=False)):
            hit = j < len(entered) and entered.at[j, "study"] == r.study and entered.at[j, "n_e"] == r.n_e
            values = [entered.at[j, c] for c in ESTIMATES] if hit else [0.0] * 4
            data_rows.loc[line, list(ESTIMATES)] = values
            j += hit
        mask = [f"{int(g)}.{int(n)}" == aid for g, n in zip(settings["analysis_group"], settings["analysis_number"])]
        line = settings.index[np.flatnonzero(mask)[0]]
        for key, value in _display(ma, ma.overall).items():
            settings.at[line, key] = value
        if ma.subgroup_test is not None:
            t = ma.subgroup_test
            settings.loc[line, ["subgroup_q", "subgroup_df", "subgroup_p", "subgroup_i2"]] = [t.q, t.df, t.p, t.i2]
        for name, res in ma.subgroups:
            sel = [f"{int(g)}.{int(n)}" == aid and sg == name for g, n, sg in
                   zip(subgroups["analysis_group"], subgroups["analysis_number"], subgroups["subgroup"])]  # fmt: skip
            sline = subgroups.index[np.flatnonzero(sel)[0]]
            subgroups.at[sline, "weight"] = ma.subgroup_weight(name)
            for key, value in _display(ma, res).items():
                subgroups.at[sline, key] = value
    return replace(raw, data_rows=data_rows, settings=settings, subgroups=subgroups), tuple(notes)


"""Tidying rules: a :class:`helpers.data.datapackage.RawPackage` to a validated :class:`helpers.data.tidy.Dataset`
(:func:`from_package`; :func:`helpers.data.dataset.load_dataset` is the one call from a path).

Tidying rules (each documented in data/README.md):

- analysis settings: RevMan labels become codes (``DATA_TYPES``, ``MEASURE_CODES``, ``METHOD_CODES``,
  ``MODEL_CODES``); "Peto Odds Ratio" is measure ``OR`` with method ``Peto``; an unknown label is an error
  naming the file, line and column;
- placeholders: columns that do not apply to a row's data type (``NOT_APPLICABLE``) become NaN; a non-zero
  value dropped this way is warned about and recorded in ``Dataset.warnings``;
- "O-E and variance" rows become giv rows: log Peto OR = (O-E)/V, SE = 1/sqrt(V) (Yusuf et al. 1985);
- study characteristics are read from the study information (``Char: ...`` columns) with the patterns in
  ``STUDY_PATTERNS``; drug/route/comparator of a study are the values of its rows (joined by ``"; "``), or,
  for a study with no data rows, the ``drug:``/``route:``/``comparator:`` keys of its 'Char: Interventions';
- RoB 2 judgements are matched to domains by the words in their column names (``ROB_DOMAINS``);
- published estimates (overall, subgroup, study) go to ``Dataset.published`` on the display scale; a row
  whose estimate and CI are all zero was not computed by RevMan: status ``not published``, values NaN;
- ``synthetic`` is True when a study's notes contain "SYNTHETIC"; the label then is ``SYNTHETIC_LABEL``.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core import paths
from helpers.core.checks import DataWarning
from helpers.core.errors import DataError
from helpers.data.datapackage import PackageError, RawPackage
from helpers.data.mapmode import DEFAULT_MODE, map_rows
from helpers.data.schema import LIST_SEP, ROB_COLUMNS, ROWS_COLUMNS, STUDIES_COLUMNS, validate_rows, validate_studies
from helpers.data.tidy import Dataset, PUBLISHED_COLUMNS

SYNTHETIC_LABEL = "SYNTHETIC DATA - not evidence"
DATA_TYPES = {"dichotomous": "dichotomous", "continuous": "continuous", "contrast level": "giv",
              "generic inverse variance": "giv", "o-e and variance": "giv"}  # fmt: skip
MEASURE_CODES = {"odds ratio": "OR", "peto odds ratio": "OR", "risk ratio": "RR", "risk difference": "RD",
                 "mean difference": "MD", "standardized mean difference": "SMD", "std. mean difference": "SMD",
                 "standardised mean difference": "SMD"}  # fmt: skip
METHOD_CODES = {"mh": "MH", "mantel-haenszel": "MH", "iv": "IV", "inverse variance": "IV", "peto": "Peto",
                "exp_o_e_var": "Peto"}  # fmt: skip
MODEL_CODES = {"fixed effect": "fixed", "fixed-effect": "fixed", "fixed": "fixed", "random effects": "random",
               "random effect": "random", "random-effects": "random", "random": "random"}  # fmt: skip
TAU2_CODES = {"dl": "DL", "dersimonian-laird": "DL", "dersimonian and laird": "DL", "reml": "REML",
              "restricted maximum likelihood": "REML", "restricted maximum-likelihood": "REML", "pm": "PM",
              "paule-mandel": "PM", "paule and mandel": "PM"}  # fmt: skip
CI_CODES = {"wald": "z", "wald-type": "z", "z": "z", "normal": "z", "hksj": "hksj", "hartung-knapp-sidik-jonkman": "hksj",
            "hartung-knapp": "hksj", "knapp-hartung": "hksj"}  # fmt: skip
SETTING_COLUMNS = ("tau2_method", "ci_method", "ci_level", "prediction_interval", "swap_events")
ARM_COLUMNS = ("events_e", "n_e", "events_c", "n_c", "mean_e", "sd_e", "mean_c", "sd_c", "giv_estimate", "giv_se")
NOT_APPLICABLE = {
    "dichotomous": ("mean_e", "sd_e", "mean_c", "sd_c", "giv_estimate", "giv_se"),
    "continuous": ("events_e", "events_c", "giv_estimate", "giv_se"),
    "giv": ("events_e", "events_c", "mean_e", "sd_e", "mean_c", "sd_c"),
}
# study characteristic -> (study-information column, regex or {value: regex}); case-insensitive
STUDY_PATTERNS = {
    "design": ("char_methods", {"crossover": r"cross-?over", "parallel": r"parallel"}),
    "n_randomised": ("char_participants", r"(?:randomi[sz]ed\D{0,20}?(\d+)|(\d+)\s+(?:participants\s+)?randomi[sz]ed|\bn\s*=\s*(\d+))"),
    "condition": ("char_participants", r"condition:\s*([^;.\n]+)"),
}  # fmt: skip
ROB_DOMAINS = {"rob_d1": "randomi", "rob_d2": "deviations", "rob_d3": "missing outcome", "rob_d4": "measurement",
               "rob_d5": "selection of the reported", "rob_overall": "overall"}  # fmt: skip
ROB_VALUES = {"low": "Low", "low risk": "Low", "some concerns": "Some concerns", "high": "High", "high risk": "High"}


def _code(table: dict, value, file: str, line, column: str, empty_ok: bool = False) -> str | None:
    if empty_ok and (value is None or (isinstance(value, float) and np.isnan(value))):
        return None
    key = str(value).strip().lower()
    if key not in table:
        raise PackageError(
            f"{file}: line {line}: column {column!r}: unknown value {value!r}; known: {', '.join(sorted(table))}"
        )
    return table[key]


def _level(value, file: str, line) -> float:
    """'95%' (or 0.95, 95) -> 0.95; empty -> NaN."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or str(value).strip() == "":
        return np.nan
    text = str(value).strip().rstrip("%").strip()
    try:
        x = float(text)
    except ValueError:
        raise PackageError(f"{file}: line {line}: column 'CI/PI level': {value!r} is not a level like 95%") from None
    x = x / 100 if x > 1 else x
    if not 0 < x < 1:
        raise PackageError(f"{file}: line {line}: column 'CI/PI level': {value!r} is not between 0% and 100%")
    return x


def _analysis_ids(table: pd.DataFrame) -> list[str]:
    """RevMan analysis ids ``"group.number"`` (e.g. ``"1.1"``) of a package table's rows."""
    return [f"{int(g)}.{int(n)}" for g, n in zip(table["analysis_group"], table["analysis_number"])]


def _settings(raw: RawPackage) -> pd.DataFrame:
    s = raw.settings.copy()
    file = raw.files["settings"]
    s["analysis_id"] = _analysis_ids(s)
    s["data_type"] = [_code(DATA_TYPES, v, file, i, "Data type") for i, v in s["data_type_label"].items()]
    s["oe_data"] = s["data_type_label"].str.lower().eq("o-e and variance")
    # measure, method and model are empty for bare data rows without a review map (not in the data)
    s["measure"] = [_code(MEASURE_CODES, v, file, i, "Effect measure", True) for i, v in s["measure_label"].items()]
    s["method"] = [_code(METHOD_CODES, v, file, i, "Statistical method", True) for i, v in s["method_label"].items()]
    s.loc[s["measure_label"].str.lower().eq("peto odds ratio").fillna(False).astype(bool), "method"] = "Peto"
    s["model"] = [_code(MODEL_CODES, v, file, i, "Analysis model", True) for i, v in s["model_label"].items()]
    # settings RevMan Web added in 2025; a label the engine does not know is kept as written, so that the
    # concordance table can say it was not honoured (helpers.stats.settings)
    for col, label, codes in (("tau2_method", "tau2_method_label", TAU2_CODES), ("ci_method", "ci_method_label", CI_CODES)):
        values = s[label] if label in s else pd.Series(None, index=s.index, dtype=object)
        s[col] = [codes.get(str(v).strip().lower(), str(v).strip()) if isinstance(v, str) and v.strip() else None
                  for v in values]
    level = next((s[c] for c in ("ci_level", "estimate_ci") if c in s), pd.Series(None, index=s.index, dtype=object))
    s["ci_level"] = [_level(v, file, i) for i, v in level.items()]
    for col in ("prediction_interval", "swap_events"):
        s[col] = s[col].map(lambda v: np.nan if pd.isna(v) else float(bool(v))) if col in s else np.nan
    dup = s["analysis_id"].duplicated()
    if dup.any():
        raise PackageError(f"{file}: line {dup.idxmax()}: analysis {s.loc[dup.idxmax(), 'analysis_id']} repeated")
    return s


def _tidy_rows(raw: RawPackage, settings: pd.DataFrame, notes: list) -> pd.DataFrame:
    file = raw.files["data_rows"]
    d = raw.data_rows.copy()
    d["analysis_id"] = _analysis_ids(d)
    known = settings.set_index("analysis_id")
    unknown = ~d["analysis_id"].isin(known.index)
    if unknown.any():
        line = unknown.idxmax()
        raise PackageError(f"{file}: line {line}: analysis {d.at[line, 'analysis_id']} has no settings row")
    for col in ("comparison", "data_type", "measure", "method", "model", "oe_data", "analysis_name", *SETTING_COLUMNS):
        d[col] = d["analysis_id"].map(known[col])
    for col in ("giv_estimate", "giv_se", "oe", "oe_variance"):
        if col not in d:
            d[col] = np.nan
    oe = d["oe_data"].astype(bool)  # the analysis' data type; the row's own O-E value is column "oe"
    d.loc[oe, "giv_estimate"] = d.loc[oe, "oe"] / d.loc[oe, "oe_variance"]  # (O-E)/V: log Peto OR
    d.loc[oe, "giv_se"] = 1.0 / np.sqrt(d.loc[oe, "oe_variance"])
    unit = d.index.name or "line"
    for dtype, cols in NOT_APPLICABLE.items():
        sel = d["data_type"] == dtype
        for col in cols:
            dropped = d.index[sel & d[col].notna() & (d[col] != 0)]
            if len(dropped):  # one note per column and type (the export fills GIV SE in thousands of arm rows)
                first, more = dropped[0], dropped[1:]
                also = f" (and {len(more)} more: {unit} {', '.join(map(str, more[:5]))}{', ...' if len(more) > 5 else ''})"
                notes.append(f"{file}: {unit} {first}: column {col}: value {d.at[first, col]:g} does not apply to "
                             f"{dtype} data; set to NaN{also if len(more) else ''}")  # fmt: skip
            d.loc[sel, col] = np.nan
    giv = d["data_type"] == "giv"
    for col in ("n_e", "n_c"):  # RevMan writes 0 when a giv row has no arm size
        d.loc[giv & (d[col] == 0), col] = np.nan
    return d


def _parse_study_info(info: pd.DataFrame, notes: list, file: str) -> pd.DataFrame:
    out = pd.DataFrame({"study": info["study"], "year": info.get("year", np.nan)}, index=info.index)
    for target, (column, pattern) in STUDY_PATTERNS.items():
        text = info[column] if column in info else pd.Series(None, index=info.index, dtype=object)
        values = []
        for line, t in text.items():
            value = None
            if isinstance(t, str):
                if isinstance(pattern, dict):
                    hits = [v for v, rx in pattern.items() if re.search(rx, t, re.I | re.A)]
                    value = hits[0] if len(hits) == 1 else None
                else:
                    m = re.search(pattern, t, re.I | re.A)  # ASCII digits only: int() of them never fails
                    value = next((g for g in m.groups() if g), None) if m else None
            values.append(value)
        out[target] = values
        missing = out.index[out[target].isna()]
        if len(missing):
            notes.append(f"{file}: {target} not found in column {column!r} for {len(missing)} stud(ies) "
                         f"(lines {', '.join(map(str, missing[:10]))}{'...' if len(missing) > 10 else ''}); left NaN")  # fmt: skip
    out["n_randomised"] = pd.to_numeric(out["n_randomised"]).astype(float)
    out["condition"] = out["condition"].map(lambda v: v.strip() if isinstance(v, str) else v)
    out["notes"] = info["char_notes"] if "char_notes" in info else None
    out["synthetic"] = out["notes"].fillna("").str.contains("SYNTHETIC", case=True).astype(bool)
    return out


def _rob(raw: RawPackage, notes: list) -> pd.DataFrame:
    rob = raw.risk_of_bias
    cols = {}
    for column in rob.columns:
        if not column.lower().startswith("domain (judgement)"):
            continue
        name = column.split(":", 1)[-1].lower()
        hits = [k for k, word in ROB_DOMAINS.items() if word in name]
        if len(hits) == 1 and hits[0] not in cols:
            cols[hits[0]] = column
    if rob.empty:
        return pd.DataFrame(columns=["study", *ROB_COLUMNS])
    if len(cols) < len(ROB_DOMAINS):
        notes.append(f"{raw.files.get('risk_of_bias')}: not a RoB 2 table (no column for "
                     f"{', '.join(k for k in ROB_DOMAINS if k not in cols)}); RoB columns left NaN")  # fmt: skip
    out = pd.DataFrame({"study": rob["study"]})
    for key in ROB_COLUMNS:
        values = rob[cols[key]] if key in cols else pd.Series(None, index=rob.index, dtype=object)
        out[key] = values.map(lambda v: ROB_VALUES.get(str(v).strip().lower(), v) if isinstance(v, str) else v)
    dup = out["study"].duplicated()
    if dup.any():
        notes.append(f"{raw.files.get('risk_of_bias')}: several rows for {sorted(set(out.loc[dup, 'study']))}; "
                     "the first is used")  # fmt: skip
    return out[~dup]


def _published(raw: RawPackage, settings: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    metric = ["weight", "estimate", "ci_low", "ci_high", "tau2", "q", "df", "q_p", "i2", "z", "p",
              "subgroup_q", "subgroup_df", "subgroup_p", "subgroup_i2"]  # fmt: skip
    parts = []
    parts.append(settings.assign(level="overall", subgroup=None, study=None))
    if not raw.subgroups.empty:
        sg = raw.subgroups.copy()
        sg["analysis_id"] = _analysis_ids(sg)
        parts.append(sg.assign(level="subgroup", study=None))
    parts.append(rows.assign(level="study"))
    pub = pd.concat([p.reindex(columns=["level", "analysis_id", "subgroup", "study", *metric]) for p in parts],
                    ignore_index=True)
    # study weights all 0 (or empty) in an analysis: RevMan pooled nothing (no totals shown), so printed no weight
    study = pub["level"].eq("study")
    unweighted = pub.loc[study, "weight"].fillna(0).eq(0).groupby(pub.loc[study, "analysis_id"]).transform("all")
    pub.loc[unweighted.index[unweighted], "weight"] = np.nan
    zero = pub[["estimate", "ci_low", "ci_high"]].fillna(0).eq(0).all(axis=1)
    pub["status"] = np.where(zero, "not published", "published")
    pub.loc[zero, metric] = np.nan
    return pub.reindex(columns=list(PUBLISHED_COLUMNS)).reset_index(drop=True)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    if path.is_file():
        h.update(path.read_bytes())
    else:
        for p in sorted(q for q in path.rglob("*") if q.is_file()):
            h.update(p.relative_to(path).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def _declared(info: pd.DataFrame, key: str) -> pd.Series:
    """``<key>: <value>`` from 'Char: Interventions' (for studies without data rows; NaN where absent)."""
    text = info["char_interventions"] if "char_interventions" in info else pd.Series(None, index=info.index)
    return text.astype(object).str.extract(rf"(?:^|;)\s*{key}:\s*([A-Za-z_]+)", expand=False)


def _join(values: pd.Series) -> str | None:
    vals = sorted({v for v in values if isinstance(v, str)})
    return LIST_SEP.join(vals) if vals else None


def _check_study_information(info: pd.DataFrame, file: str) -> None:
    """Each study has exactly one study-information row (a repeated label is ambiguous, so refused)."""
    empty = info["study"].isna()
    if empty.any():
        raise PackageError(f"{file}: line {empty.idxmax()}: column 'Study': empty study label")
    dup = info["study"].duplicated(keep=False)
    if dup.any():
        study = info.loc[dup, "study"].iloc[0]
        lines = list(info.index[info["study"] == study])
        same = info.loc[lines].drop_duplicates().shape[0] == 1
        raise DataError(f"{'exact duplicate lines' if same else 'repeated study label'} (lines "
                        f"{', '.join(map(str, lines))}); each study has one study-information row",
                        file=file, line=lines[1], column="Study", study=study)  # fmt: skip


def _check_repeated_rows(raw: RawPackage, d: pd.DataFrame, notes: list) -> None:
    """Refuse an exact duplicate data row (unless RevMan weighted both in its own export); record a study entered
    more than once in one analysis (column ``entry`` numbers its rows).

    Real reviews enter strata or arms of one trial as separate rows (CD015373 holds Dadabayev 2020 twice per
    analysis, with and without PTSD), so a repeated label with different data is kept and warned about; a row
    equal to another in every field is a copy-paste error and would count the same participants twice.
    """
    file = raw.files["data_rows"]
    fields = raw.data_rows.astype(str)  # NaN == NaN here: every field as read
    dup = fields.duplicated()
    weight = pd.to_numeric(d["weight"], errors="coerce").fillna(0) if "weight" in d else pd.Series(0.0, index=d.index)
    pooled = (weight > 0) & raw.exported_rows  # the Cochrane Library's export holds what RevMan pooled
    for line in d.index[dup]:
        first = fields.index[(fields == fields.loc[line]).all(axis=1)][0]
        if not pooled[line]:
            raise DataError(f"exact duplicate of line {first} (every field equal): the same participants would be "
                            f"counted twice in analysis {d.at[line, 'analysis_id']}; delete one of them",
                            file=file, line=line, study=d.at[line, "study"])  # fmt: skip
        notes.append(f"{file}: analysis {d.at[line, 'analysis_id']}: line {line} (study {d.at[line, 'study']!r}) "
                     f"repeats line {first} in every field and RevMan gave both a weight: kept twice, as RevMan "
                     "pooled it")  # fmt: skip
    counts = d.groupby(["analysis_id", "study"], sort=False).size()
    for (aid, study), n in counts[counts > 1].items():
        lines = d.index[(d["analysis_id"] == aid) & (d["study"] == study)]
        notes.append(f"{file}: analysis {aid}: study {study!r} has {n} rows with different data (lines "
                     f"{', '.join(map(str, lines))}); kept as separate entries (strata or arms of one trial)")
    d["entry"] = d.groupby(["analysis_id", "study"], sort=False).cumcount() + 1


def from_package(raw: RawPackage, review: str | Path | None = DEFAULT_MODE) -> Dataset:
    """Build a validated :class:`Dataset` from a :class:`RawPackage` (see the module docstring); ``review``:
    the review map or mode (:mod:`helpers.data.mapmode`: ``auto``, ``none`` = None, a map name or YAML path)."""
    notes: list[str] = list(raw.notes)
    settings = _settings(raw)
    unset = settings.loc[settings["measure"].isna(), "analysis_id"].tolist()
    if unset:
        notes.append(f"{raw.files['settings']}: measure, method and model of {len(unset)} analyses are not in the "
                     f"data: helpers.stats.infer.settle reads them off RevMan's per-study values")  # fmt: skip
    d = _tidy_rows(raw, settings, notes)
    _check_repeated_rows(raw, d, notes)
    info_file = raw.files["study_information"]
    _check_study_information(raw.study_information, info_file)
    info = _parse_study_info(raw.study_information, notes, info_file)
    missing = sorted(set(d["study"]) - set(info["study"]))
    if missing:
        raise PackageError(f"{info_file}: studies in the data rows have no study information: {missing}")
    mapped = map_rows(d, raw.name, review)
    d = mapped.rows
    notes.extend(mapped.notes)
    per_study = info.set_index("study")
    d["condition"] = d["study"].map(per_study["condition"])
    d["design"] = d["study"].map(per_study["design"])
    rows = validate_rows(d.reindex(columns=list(ROWS_COLUMNS)), source=raw.files["data_rows"])
    by = rows.groupby("study")
    studies = info.copy()
    for col in ("drug", "route", "comparator"):
        joined = studies["study"].map(by[col].agg(_join))  # where() not fillna(): no pandas downcasting warning
        studies[col] = joined.where(joined.notna(), _declared(raw.study_information, col))
    studies = studies.merge(_rob(raw, notes), on="study", how="left")
    studies.index = info.index
    studies = validate_studies(studies.reindex(columns=list(STUDIES_COLUMNS)), source=info_file)
    synthetic = bool(studies["synthetic"].any())
    for note in notes:
        warnings.warn(note, DataWarning, stacklevel=3)
    return Dataset(
        label=SYNTHETIC_LABEL if synthetic else raw.name,
        synthetic=synthetic,
        review=mapped.review,
        source=paths.display(raw.source),
        sha256=_sha256(raw.source),
        rows=rows.reset_index(drop=True),
        studies=studies.reset_index(drop=True),
        published=_published(raw, settings, d),
        warnings=tuple(notes),
        generic=mapped.generic,
    )

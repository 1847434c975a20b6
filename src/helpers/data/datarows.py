"""Bare data rows (``*-data-rows.csv``, or the same table in another container) as a :class:`RawPackage`.

The Cochrane Library exports each review's analysis data as one table of data rows (one row per study x
analysis [x subgroup]) with RevMan's own per-study estimate (``Mean``), ``CI start``/``CI end`` and ``Weight``,
but without the overall-estimates-and-settings file. Newer exports add ``Subgroup number`` and the RoB 2
judgement/support columns (``HEADERS`` lists every known header). This module turns such a table into the
:class:`~helpers.data.datapackage.RawPackage` the rest of the pipeline reads:

- data type, per analysis, from the cells and RevMan's own ``Mean`` (:func:`row_evidence`,
  :func:`analysis_data_types`): the real export fills 0.0 placeholders in unused cells and, in arm rows,
  ``GIV SE`` with ``Variance`` = GIV SE², so only what a type needs decides, and RevMan's estimate tells GIV
  rows from arm rows; the type most estimated rows show wins; an estimated row that does not fit is an error.
  Rows RevMan shows as not estimable that hold no usable data (N or SD 0) are left out, and said.
- the effect measure, statistical method and model are not in the table: they come from the review map's
  ``analysis_settings`` (``data/reviews/<review>.yaml``) when the file is that review; otherwise they are left
  empty ("not in the data") and :func:`helpers.stats.infer.settle` reads them off RevMan's per-study values
  with the evidence. Nothing is defaulted.
- study information: study and year from the rows; risk of bias (RoB 2) from the judgement columns, one
  row per distinct judgement set of a study (RoB 2 judges results, so a study can differ between outcomes;
  :mod:`helpers.data.tidying` then keeps the first and records that it did).
- one trial may appear twice in an analysis (strata entered separately); both rows are kept, in order.

Format reference: Cochrane RevMan knowledge base, "Data package specification" (2023), data-rows file.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from helpers.core import paths
from helpers.core.errors import FetchError
from helpers.data.datapackage import COLUMNS, PackageError, RawPackage, parse_csv
from helpers.data.reviewmap import ReviewMapError, load_review_map

ROB2_DOMAINS = (
    "Bias arising from the randomization process",
    "Bias due to deviations from intended interventions",
    "Bias due to missing outcome data",
    "Bias in measurement of the outcome",
    "Bias in selection of the reported result",
    "Overall bias",
)
HEADERS = (*COLUMNS["data_rows"], "Subgroup number",
           *(f"{d} ({part})" for d in ROB2_DOMAINS for part in ("judgement", "support")))  # fmt: skip
ROWS_SUFFIX = "-data-rows.csv"
DATA_TYPE_LABELS = {"oe": "O-E and variance", "giv": "Generic inverse variance", "continuous": "Continuous",
                    "dichotomous": "Dichotomous"}  # fmt: skip
# settings codes (as written in the review map) -> the RevMan labels helpers.data.tidying reads
MEASURE_LABELS = {"MD": "Mean difference", "SMD": "Std. mean difference", "RR": "Risk ratio", "OR": "Odds ratio",
                  "RD": "Risk difference"}  # fmt: skip  (Peto odds ratio: measure OR, method Peto)
METHOD_LABELS = {"IV": "IV", "MH": "MH", "Peto": "Peto"}
MODEL_LABELS = {"fixed": "Fixed-effect", "random": "Random-effects"}
SETTINGS_KEY = "analysis_settings"
#: data types in the order that breaks a tie between them (arm data before GIV and O-E)
TYPE_ORDER = ("continuous", "dichotomous", "giv", "oe")


def _num(rows: pd.DataFrame, col: str) -> pd.Series:
    return pd.to_numeric(rows[col], errors="coerce").astype(float) if col in rows else pd.Series(np.nan, index=rows.index)


def _matches(published: pd.Series, value: pd.Series) -> pd.Series:
    """RevMan's per-study ``Mean`` equals ``value`` at its printed precision (six decimals or significant digits)."""
    return (published - value).abs() <= 5e-6 * np.maximum(1.0, value.abs())


def row_evidence(rows: pd.DataFrame) -> pd.DataFrame:
    """Per row, which data type its cells hold (one boolean column per type; several can be True).

    The real export fills cells a row's type does not use: 0.0 placeholders everywhere, and, in dichotomous and
    continuous rows, ``GIV SE`` (the SE of the study's estimate) with ``Variance`` = GIV SE². So: O-E when the
    O-E cell is non-zero and Variance > 0; generic inverse variance when GIV SE > 0 and RevMan's ``Mean`` is
    the GIV Mean (or its exponential, ratio measures) or empty; continuous when an SD is > 0; dichotomous when
    the case counts are given with an N > 0 and no SD or mean is (all-zero counts are data, no events, unless
    the row holds GIV data: then they are placeholders, as the N of a GIV row often is)."""
    mean = _num(rows, "estimate")
    oe, var, giv, giv_se = (_num(rows, c) for c in ("oe", "oe_variance", "giv_estimate", "giv_se"))
    sd = (_num(rows, "sd_e") > 0) | (_num(rows, "sd_c") > 0)
    means = (_num(rows, "mean_e").fillna(0) != 0) | (_num(rows, "mean_c").fillna(0) != 0)
    n = (_num(rows, "n_e") > 0) | (_num(rows, "n_c") > 0)
    cases = _num(rows, "events_e").notna() | _num(rows, "events_c").notna()
    with np.errstate(all="ignore"):
        giv_mean = mean.isna() | _matches(mean, giv.fillna(0)) | _matches(mean, np.exp(giv.fillna(0)))
    shows_giv = (giv_se > 0) & giv_mean
    events = (_num(rows, "events_e").fillna(0) > 0) | (_num(rows, "events_c").fillna(0) > 0)
    return pd.DataFrame({
        "continuous": sd, "dichotomous": cases & n & ~sd & ~means & (events | ~shows_giv),
        "giv": shows_giv, "oe": (oe.fillna(0) != 0) & (var > 0),
    })  # fmt: skip


def row_data_type(rows: pd.DataFrame, file: str = "<data rows>") -> pd.Series:
    """The data type each row's cells show (``TYPE_ORDER``: the first whose cells it holds) or None."""
    ev = row_evidence(rows)
    first = ev[list(TYPE_ORDER)].idxmax(axis=1)
    return first.where(ev.any(axis=1), None).astype(object)


def analysis_data_types(rows: pd.DataFrame, file: str) -> dict[str, str]:
    """``{analysis_id: data type}``: the type the most rows RevMan estimated hold (all rows when it estimated
    none; ties in ``TYPE_ORDER``: arm data before GIV and O-E). A row RevMan estimated that neither shows nor
    holds (:func:`_holds_data`) the analysis' type is an error naming the rows; an analysis no row of which holds any data type is left out
    (:func:`empty_analyses`)."""
    ev = row_evidence(rows)
    estimable = _num(rows, "estimate").notna()
    holds_all = {t: _holds_data(rows, t) for t in TYPE_ORDER}  # row-wise: once, not per analysis
    unit = rows.index.name or "line"
    out = {}
    for aid, idx in rows.groupby("analysis_id", sort=False).groups.items():
        counted = ev.loc[idx][estimable[idx]] if estimable[idx].any() else ev.loc[idx]
        score = counted.sum()
        if score.max() == 0:
            continue
        dtype = max(TYPE_ORDER, key=lambda t: (score[t], -TYPE_ORDER.index(t)))
        holds = holds_all[dtype]
        odd = [i for i in idx if estimable[i] and not ev.at[i, dtype] and not holds[i]]
        if odd:
            types = row_data_type(rows.loc[idx], file)
            detail = "; ".join(f"{rows.at[i, 'study']} ({types[i] or 'no data'}, {unit} {i})" for i in idx)
            raise PackageError(f"{file}: analysis {aid}: rows of different data types: {detail}")
        out[aid] = dtype
    return out


def empty_analyses(rows: pd.DataFrame, types: dict) -> list[str]:
    """Analyses none of whose rows holds data of any type (RevMan estimated nothing either)."""
    return [a for a in dict.fromkeys(rows["analysis_id"]) if a not in types]


def review_settings(review) -> tuple[dict, Path]:
    """``({analysis_id: {"measure", "method", "model"}}, yaml path)`` from the review map's analysis_settings."""
    path = load_review_map(review).path
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    table = doc.get(SETTINGS_KEY) or {}
    out = {}
    for aid, spec in table.items():
        if not isinstance(spec, dict):
            raise PackageError(f"{path}: {SETTINGS_KEY}.{aid}: expected a mapping with measure, method, model")
        for key, allowed in (("measure", MEASURE_LABELS), ("method", METHOD_LABELS), ("model", MODEL_LABELS)):
            if spec.get(key) not in allowed:
                raise PackageError(f"{path}: {SETTINGS_KEY}.{aid}.{key}: {spec.get(key)!r} is not one of "
                                   f"{', '.join(allowed)}")  # fmt: skip
        out[str(aid)] = spec
    return out, path


def _settings(rows: pd.DataFrame, types: dict, review) -> tuple[pd.DataFrame, str]:
    """One settings row per analysis: its data type, and measure, method and model from the review map's
    ``analysis_settings`` where it has them; else left empty ("not in the data": :mod:`helpers.stats.infer`
    reads them off RevMan's per-study values)."""
    first = rows.drop_duplicates("analysis_id").set_index("analysis_id")
    known, where = {}, "not in the data (bare data rows)"
    if review is not None:
        known, path = review_settings(review)
        where = f"{path} ({SETTINGS_KEY})"
    records = []
    for aid, dtype in types.items():
        spec = known.get(aid, {})
        records.append({
            "analysis_group": first.at[aid, "analysis_group"], "analysis_number": first.at[aid, "analysis_number"],
            "analysis_name": first.at[aid, "analysis_name"], "comparison": None,
            "data_type_label": DATA_TYPE_LABELS[dtype], "measure_label": MEASURE_LABELS.get(spec.get("measure")),
            "method_label": METHOD_LABELS.get(spec.get("method")), "model_label": MODEL_LABELS.get(spec.get("model")),
        })  # fmt: skip
    settings = pd.DataFrame.from_records(records, columns=["analysis_group", "analysis_number", "analysis_name",
                                                           "comparison", "data_type_label", "measure_label",
                                                           "method_label", "model_label"])  # fmt: skip
    settings.index = pd.RangeIndex(1, len(settings) + 1, name="line")
    return settings, where


def _holds_data(rows: pd.DataFrame, dtype: str) -> pd.Series:
    """Rows whose cells hold usable data of type ``dtype`` (what RevMan needs to estimate the study)."""
    pos = lambda c: _num(rows, c) > 0  # noqa: E731
    if dtype == "dichotomous":
        ev = [_num(rows, c) for c in ("events_e", "events_c")]
        return pos("n_e") & pos("n_c") & ev[0].notna() & ev[1].notna() & (ev[0] <= _num(rows, "n_e")) & \
            (ev[1] <= _num(rows, "n_c"))
    if dtype == "continuous":
        return pos("n_e") & pos("n_c") & pos("sd_e") & pos("sd_c") & _num(rows, "mean_e").notna() & \
            _num(rows, "mean_c").notna()
    if dtype == "giv":
        return pos("giv_se") & _num(rows, "giv_estimate").notna()
    return pos("oe_variance") & _num(rows, "oe").notna()


def _without_empty_rows(rows: pd.DataFrame, types: dict, file: str) -> tuple[pd.DataFrame, list[str]]:
    """Leave out (and say so) what RevMan shows as "not estimable" and holds no usable data: rows with an empty
    ``Mean`` whose cells lack what their analysis' data type needs (e.g. N = 0, SD = 0), and analyses with no
    data at all."""
    unit = rows.index.name or "line"
    notes = [f"{file}: analysis {a}: no row holds counts, means/SDs, GIV or O-E data and RevMan estimated "
             f"none; left out" for a in empty_analyses(rows, types)]  # fmt: skip
    keep = rows["analysis_id"].isin(list(types))
    unestimated = _num(rows, "estimate").isna()
    holds = {t: _holds_data(rows, t) for t in dict.fromkeys(types.values())}  # row-wise: once per data type
    for aid, dtype in types.items():
        sel = rows["analysis_id"] == aid
        empty = sel & unestimated & ~holds[dtype]
        if empty.any():
            who = ", ".join(f"{rows.at[i, 'study']} ({unit} {i})" for i in rows.index[empty])
            notes.append(f"{file}: analysis {aid}: {who}: not estimable in RevMan and no usable {dtype} data "
                         "(e.g. N or SD 0); left out of the analysis")  # fmt: skip
            keep &= ~empty
    return rows[keep], notes


#: a RoB 2 judgement cell the export may hold that is no judgement (the authors marked the domain not applicable)
NOT_JUDGED = "Not applicable"


def _risk_of_bias(rows: pd.DataFrame, file: str) -> tuple[pd.DataFrame, list[str]]:
    """(RoB 2 judgements per study, notes); a ``NOT_JUDGED`` cell is left empty (no judgement) and said."""
    judgement = {d: re.sub(r"[^0-9a-z]+", "_", f"{d} (judgement)".lower()).strip("_") for d in ROB2_DOMAINS}
    present = [d for d, c in judgement.items() if c in rows]
    if not present:
        return pd.DataFrame(columns=["study"]), []
    table = rows[["study", *(judgement[d] for d in present)]].drop_duplicates()
    marked = table.iloc[:, 1:].eq(NOT_JUDGED)
    notes = [f"{file}: {unit} {i} (study {table.at[i, 'study']!r}): RoB 2 {d.lower()}: {NOT_JUDGED!r}: no "
             "judgement, left empty"
             for i in table.index[marked.any(axis=1)] for d in present if marked.at[i, judgement[d]]
             for unit in [rows.index.name or "line"]]  # fmt: skip
    table = table.mask(marked.reindex(columns=table.columns, fill_value=False))
    table = table[table.iloc[:, 1:].notna().any(axis=1)].drop_duplicates()
    return table.rename(columns={judgement[d]: f"Domain (judgement): {d}" for d in present}), notes


def _pinned_label(source: Path, review) -> str | None:
    """The review map's ``source: label`` when ``source`` is the pinned file (same SHA-256), so every figure and
    table names the review, the data rows and the pinned commit; a file of the pinned file's name whose bytes
    differ is ``derived from <review> data rows, modified (SHA-256 ...)`` (helpers.data.provenance); else None
    (the file's own name is used)."""
    from helpers.data.fetch import review_source  # fetch imports the review map too; keep this light
    from helpers.data.provenance import derived_label, review_citation

    try:
        pinned = review_source(review)
    except (FetchError, ReviewMapError):
        return None
    if not pinned.label or not source.is_file():
        return None
    digest = paths.sha256_file(source)
    if digest == pinned.sha256:
        return pinned.label
    if source.name == pinned.file:
        try:
            return derived_label(review_citation(review), digest)
        except ReviewMapError:
            return None
    return None


def package_from_rows(rows: pd.DataFrame, source: Path, file: str, review="cd015373") -> RawPackage:
    """A :class:`RawPackage` from tidy-named data rows (``parse_csv(..., "data_rows")`` output); see module doc."""
    rows = rows.copy()
    rows["analysis_id"] = [f"{int(g)}.{int(n)}" for g, n in zip(rows["analysis_group"], rows["analysis_number"])]
    types = analysis_data_types(rows, file)
    rows, notes = _without_empty_rows(rows, types, file)
    settings, settings_file = _settings(rows, {a: t for a, t in types.items() if a in set(rows["analysis_id"])},
                                        review)
    info = rows.drop_duplicates("study")[["study", "year"]].reset_index(drop=True)
    info.index = pd.RangeIndex(1, len(info) + 1, name="line")
    name = _pinned_label(source, review)
    for suffix in (ROWS_SUFFIX, ".rda", ".rdata", ".csv") if name is None else ():
        if source.name.lower().endswith(suffix):
            name = source.name[: -len(suffix)]
            break
    name = name or source.name
    risk_of_bias, rob_notes = _risk_of_bias(rows, file)
    return RawPackage(
        name=name, package_id=name, source=source, settings=settings,
        data_rows=rows.drop(columns="analysis_id"), study_information=info,
        subgroups=pd.DataFrame(columns=["analysis_group", "analysis_number", "subgroup"]),
        risk_of_bias=risk_of_bias, included="", notes=(*notes, *rob_notes), exported_rows=True,
        files={"settings": settings_file, "data_rows": file, "study_information": file, "risk_of_bias": file},
    )  # fmt: skip


def is_rows_file(path: Path) -> bool:
    """True for a bare data-rows CSV (``*-data-rows.csv``)."""
    return path.is_file() and path.name.lower().endswith(ROWS_SUFFIX)


def read_data_rows(path: Path | str, review="cd015373") -> RawPackage:
    """Read a bare ``*-data-rows.csv`` (Cochrane headers) into a :class:`RawPackage` (see module doc)."""
    source = Path(path)
    if not source.is_file():
        raise PackageError(f"{source}: no such file")
    rows = parse_csv(source.read_bytes(), paths.display(source), "data_rows")
    return package_from_rows(rows, source, paths.display(source), review)

"""Bare data rows (``*-data-rows.csv``, or the same table in another container) as a :class:`RawPackage`.

The Cochrane Library exports each review's analysis data as one table of data rows (one row per study x
analysis [x subgroup]) with RevMan's own per-study estimate (``Mean``), ``CI start``/``CI end`` and ``Weight``,
but without the overall-estimates-and-settings file. Newer exports add ``Subgroup number`` and the RoB 2
judgement/support columns (``HEADERS`` lists every known header). This module turns such a table into the
:class:`~helpers.data.datapackage.RawPackage` the rest of the pipeline reads:

- data type, per analysis, from the cells themselves (``row_data_type``): O-E and variance when
  ``Variance`` > 0; generic inverse variance when ``GIV SE`` > 0; continuous when an SD is > 0; else
  dichotomous when the case counts are given. Cells that do not apply to a row's type are NaN in some rows and
  0.0 placeholders in others (e.g. Dadabayev 2020 in CD015373 analyses 2.1 and 2.2), so only the cells the type
  uses decide. A row that shows no type takes its analysis' type; an analysis whose rows disagree is an error.
- the effect measure, statistical method and model are not in the table: they come from the review map's
  ``analysis_settings`` (``data/reviews/<review>.yaml``), which records the settings that reproduce RevMan's
  per-study values (:mod:`helpers.stats.infer` finds them and shows the evidence). An analysis without
  settings there is an error listing them; nothing is defaulted.
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
INFER_HINT = "python -m helpers.stats.infer <file> prints the settings that reproduce RevMan's per-study values"


def _positive(values) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").fillna(0) > 0


def row_data_type(rows: pd.DataFrame, file: str = "<data rows>") -> pd.Series:
    """The data type each row's cells show (``oe``, ``giv``, ``continuous``, ``dichotomous``) or None.

    Only cells a type uses decide: Variance > 0 (O-E), GIV SE > 0, an SD > 0 (continuous); failing those,
    case counts present (dichotomous; all-zero counts are data: no events). Several at once is an error."""
    col = lambda c: rows[c] if c in rows else pd.Series(np.nan, index=rows.index)  # noqa: E731
    kinds = pd.DataFrame({
        "oe": _positive(col("oe_variance")), "giv": _positive(col("giv_se")),
        "continuous": _positive(col("sd_e")) | _positive(col("sd_c")),
    })  # fmt: skip
    several = kinds.sum(axis=1) > 1
    if several.any():
        line = several.idxmax()
        raise PackageError(f"{file}: {rows.index.name or 'line'} {line}: study {rows.at[line, 'study']!r}: cells of several data types are filled "
                           f"({', '.join(k for k in kinds if kinds.at[line, k])}); which one applies is unclear")  # fmt: skip
    out = kinds.idxmax(axis=1).where(kinds.any(axis=1), None)
    cases = col("events_e").notna() | col("events_c").notna()
    return out.where(out.notna(), pd.Series(np.where(cases, "dichotomous", None), index=rows.index)).astype(object)


def analysis_data_types(rows: pd.DataFrame, file: str) -> dict[str, str]:
    """``{analysis_id: data type}``; rows showing no type take their analysis' type (see module doc)."""
    types = row_data_type(rows, file)
    unit = rows.index.name or "line"
    out = {}
    for aid, idx in rows.groupby("analysis_id", sort=False).groups.items():
        seen = {t for t in types[idx] if t is not None}
        if len(seen) > 1:
            detail = "; ".join(f"{rows.at[i, 'study']} ({types[i]}, {unit} {i})" for i in idx if types[i] is not None)
            raise PackageError(f"{file}: analysis {aid}: rows of different data types: {detail}")
        if not seen:
            raise PackageError(f"{file}: analysis {aid}: no row holds counts, means/SDs, GIV or O-E data "
                               f"({unit} {', '.join(map(str, idx))})")  # fmt: skip
        out[aid] = seen.pop()
    return out


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


def _settings(rows: pd.DataFrame, file: str, review) -> tuple[pd.DataFrame, str]:
    types = analysis_data_types(rows, file)
    first = rows.drop_duplicates("analysis_id").set_index("analysis_id")
    if review is None:
        raise PackageError(f"{file}: bare data rows carry no analysis settings (effect measure, method, model) "
                           f"and no review map was given to take them from; {INFER_HINT}")  # fmt: skip
    known, path = review_settings(review)
    missing = [a for a in types if a not in known]
    if missing:
        raise PackageError(f"{file}: no analysis settings for analysis {', '.join(missing)} in {path} "
                           f"({SETTINGS_KEY}); {INFER_HINT}")  # fmt: skip
    records = []
    for aid, dtype in types.items():
        spec = known[aid]
        records.append({
            "analysis_group": first.at[aid, "analysis_group"], "analysis_number": first.at[aid, "analysis_number"],
            "analysis_name": first.at[aid, "analysis_name"], "comparison": None,
            "data_type_label": DATA_TYPE_LABELS[dtype], "measure_label": MEASURE_LABELS[spec["measure"]],
            "method_label": METHOD_LABELS[spec["method"]], "model_label": MODEL_LABELS[spec["model"]],
        })  # fmt: skip
    settings = pd.DataFrame.from_records(records)
    settings.index = pd.RangeIndex(1, len(settings) + 1, name="line")
    return settings, f"{path} ({SETTINGS_KEY})"


def _risk_of_bias(rows: pd.DataFrame) -> pd.DataFrame:
    judgement = {d: re.sub(r"[^0-9a-z]+", "_", f"{d} (judgement)".lower()).strip("_") for d in ROB2_DOMAINS}
    present = [d for d, c in judgement.items() if c in rows]
    if not present:
        return pd.DataFrame(columns=["study"])
    table = rows[["study", *(judgement[d] for d in present)]]
    table = table[table.iloc[:, 1:].notna().any(axis=1)].drop_duplicates()
    return table.rename(columns={judgement[d]: f"Domain (judgement): {d}" for d in present})


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
    settings, settings_file = _settings(rows, file, review)
    info = rows.drop_duplicates("study")[["study", "year"]].reset_index(drop=True)
    info.index = pd.RangeIndex(1, len(info) + 1, name="line")
    name = _pinned_label(source, review)
    for suffix in (ROWS_SUFFIX, ".rda", ".rdata", ".csv") if name is None else ():
        if source.name.lower().endswith(suffix):
            name = source.name[: -len(suffix)]
            break
    name = name or source.name
    return RawPackage(
        name=name, package_id=name, source=source, settings=settings,
        data_rows=rows.drop(columns="analysis_id"), study_information=info,
        subgroups=pd.DataFrame(columns=["analysis_group", "analysis_number", "subgroup"]),
        risk_of_bias=_risk_of_bias(rows), included="",
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

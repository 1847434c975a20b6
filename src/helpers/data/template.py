"""One's own data: the tidy CSV template (``data/templates/nmda-template.csv``), one row per study x analysis.

A user fills a spreadsheet with the columns of ``TEMPLATE_COLUMNS`` and saves it as CSV; :func:`read_template`
turns it into a :class:`~helpers.data.dataset.Dataset`, accepted as the single CSV file or as a folder holding
exactly one such CSV. Every problem of the file (missing columns, unknown values, impossible numbers) is
reported at once, as one :class:`~helpers.data.schema.ValidationError` naming file, line and column.

Derived, not typed by the user: ``analysis_id`` ("group.number": the comparison's rank and the analysis' rank
within it, in order of first appearance), ``method`` (MH for dichotomous, IV for continuous data, unless the
optional ``method`` column says otherwise; Cochrane Handbook v6.4 10.4), ``model`` (``random`` unless given),
and the studies table (one row per study: year, design, condition and RoB overall from its rows; drug, route
and comparator joined).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from helpers.core import paths
from helpers.data.datapackage import PackageError
from helpers.data.schema import LIST_SEP, ROB_LEVELS, ROWS_COLUMNS, STUDIES_COLUMNS, ValidationError, validate_rows, validate_studies

#: Columns of the template: (name, required, meaning). Optional columns may be left out entirely.
TEMPLATE_COLUMNS = (
    ("study", True, "study label, e.g. 'Smith 2014'"),
    ("year", False, "publication year"),
    ("comparison", True, "what is compared, e.g. 'Ketamine versus placebo' (one forest-plot group)"),
    ("analysis_name", True, "the outcome as you name it, e.g. 'Pain intensity, short term'"),
    ("outcome", True, "one of the outcome codes (see data/README.md), e.g. pain_intensity, nausea"),
    ("timepoint", False, "immediate, short, medium, long or any"),
    ("drug", True, "ketamine, memantine, dextromethorphan, amantadine or magnesium"),
    ("route", False, "intravenous, oral, topical, intramuscular or other"),
    ("comparator", False, "placebo, usual_care or active"),
    ("design", False, "parallel or crossover"),
    ("condition", False, "chronic pain condition"),
    ("data_type", True, "dichotomous (events / participants) or continuous (mean, SD, participants)"),
    ("measure", True, "RR, OR or RD for dichotomous; MD or SMD for continuous"),
    ("events_e", False, "events, drug arm (dichotomous)"),
    ("n_e", True, "participants analysed, drug arm"),
    ("events_c", False, "events, control arm (dichotomous)"),
    ("n_c", True, "participants analysed, control arm"),
    ("mean_e", False, "mean, drug arm (continuous)"),
    ("sd_e", False, "standard deviation, drug arm (continuous)"),
    ("mean_c", False, "mean, control arm (continuous)"),
    ("sd_c", False, "standard deviation, control arm (continuous)"),
    ("rob_overall", False, "RoB 2 overall judgement: Low, Some concerns or High"),
    ("method", False, "IV, MH or Peto (default: MH for dichotomous, IV for continuous)"),
    ("model", False, "fixed or random (default random)"),
)
TEMPLATE = paths.PROJECT_ROOT / "data" / "templates" / "nmda-template.csv"
DEFAULT_METHOD = {"dichotomous": "MH", "continuous": "IV", "giv": "IV"}
TEXT = {"study", "comparison", "analysis_name", "outcome", "timepoint", "drug", "route", "comparator", "design",
        "condition", "data_type", "measure", "rob_overall", "method", "model"}  # fmt: skip


def is_template(path: Path) -> bool:
    """True for a ``.csv`` whose header has the template's required columns (or a folder holding one)."""
    path = Path(path)
    if path.is_dir():
        return len(_template_files(path)) == 1
    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    with open(path, encoding="utf-8-sig", errors="replace") as f:
        header = {h.strip() for h in f.readline().strip().split(",")}
    return all(name in header for name, required, _ in TEMPLATE_COLUMNS if required)


def _template_files(folder: Path) -> list[Path]:
    return [p for p in sorted(folder.glob("*.csv")) if is_template(p)]


def read_template(path: Path | str):
    """The :class:`~helpers.data.dataset.Dataset` of a filled template (a CSV file or a folder with one)."""
    from helpers.data.tidy import PUBLISHED_COLUMNS, Dataset

    path = Path(path)
    if path.is_dir():
        found = _template_files(path)
        if len(found) != 1:
            raise PackageError(f"{path}: a template folder holds exactly one CSV with the columns of "
                               f"data/templates/nmda-template.csv; found {len(found)}")
        path = found[0]
    raw = pd.read_csv(path, dtype={c: object for c in TEXT}, keep_default_na=False, na_values=[""],
                      encoding="utf-8-sig", skipinitialspace=True)
    raw.columns = [str(c).strip() for c in raw.columns]
    raw.index = pd.RangeIndex(2, len(raw) + 2, name="line")
    problems = [(1, name, "required column missing") for name, required, _ in TEMPLATE_COLUMNS
                if required and name not in raw]  # fmt: skip
    known = {name for name, _, _ in TEMPLATE_COLUMNS}
    problems += [(1, name, f"unknown column; the template's columns are {', '.join(sorted(known))}")
                 for name in raw.columns if name not in known]
    if problems:
        raise ValidationError(str(path), problems)
    rob = raw["rob_overall"] if "rob_overall" in raw else pd.Series(dtype=object)
    problems = [(line, "rob_overall", f"{value!r}: must be one of {', '.join(ROB_LEVELS)}")
                for line, value in rob.items() if value is not None and value == value and value not in ROB_LEVELS]
    studies_of = dict(zip(raw.index, raw["study"]))
    try:
        rows = validate_rows(_rows(raw), source=str(path))  # every problem at once; rows are the file's lines
    except ValidationError as err:
        raise ValidationError(str(path), sorted(err.problems + problems, key=lambda p: (p[0], p[1])),
                              studies_of) from None
    if problems:
        raise ValidationError(str(path), problems, studies_of)
    studies = validate_studies(_studies(rows, raw), source=str(path))
    return Dataset(label=path.stem, synthetic=False, review=None, source=path.name,
                   sha256=hashlib.sha256(path.read_bytes()).hexdigest(), rows=rows.reset_index(drop=True),
                   studies=studies.reset_index(drop=True), published=pd.DataFrame(columns=list(PUBLISHED_COLUMNS)))


def _rank(values: pd.Series) -> pd.Series:
    order = {v: i + 1 for i, v in enumerate(dict.fromkeys(values))}
    return values.map(order)


def _rows(raw: pd.DataFrame) -> pd.DataFrame:
    d = raw.copy()
    for col in TEXT & set(d):
        d[col] = d[col].map(lambda v: v.strip() if isinstance(v, str) else v)
    d["data_type"] = d["data_type"].str.lower()
    d["analysis_group"] = _rank(d["comparison"].fillna("")).astype(float)
    number = d.groupby("analysis_group", sort=False)["analysis_name"].transform(lambda s: _rank(s.fillna("")))
    d["analysis_number"] = number.astype(float)
    d["analysis_id"] = [f"{int(g)}.{int(n)}" for g, n in zip(d["analysis_group"], d["analysis_number"])]
    if "method" not in d:
        d["method"] = None
    d["method"] = d["method"].fillna(d["data_type"].map(DEFAULT_METHOD))
    if "model" not in d:
        d["model"] = None
    d["model"] = d["model"].fillna("random")
    if "timepoint" not in d:
        d["timepoint"] = None
    return d.reindex(columns=list(ROWS_COLUMNS))


def _join(values: pd.Series):
    found = sorted({v for v in values.dropna().astype(str)})
    return LIST_SEP.join(found) if found else None


def _studies(rows: pd.DataFrame, raw: pd.DataFrame) -> pd.DataFrame:
    by = rows.groupby("study", sort=False)
    studies = pd.DataFrame({"study": list(by.groups)})
    first = by.first()
    for col in ("year", "design", "condition"):
        studies[col] = studies["study"].map(first[col])
    for col in ("drug", "route", "comparator"):
        studies[col] = studies["study"].map(by[col].agg(_join))
    if "rob_overall" in raw:
        studies["rob_overall"] = studies["study"].map(raw.groupby("study", sort=False)["rob_overall"].first())
    studies["synthetic"] = False
    studies.index = pd.RangeIndex(1, len(studies) + 1, name="study number")
    return studies.reindex(columns=list(STUDIES_COLUMNS))

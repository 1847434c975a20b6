"""Reading a Cochrane data package (version 1, RevMan Web "Download data") into raw tables.

Accepted inputs: the outer zip (``<name>/<id>-files/<id>-data.zip`` inside), the inner data zip, or an
unpacked folder holding either the CSV files or the inner data zip. Files are found by suffix, with any
prefix (RevMan uses a numeric id). Zips are read in memory through :mod:`helpers.data.archive`.

Every CSV is decoded as UTF-8 (a byte-order mark is removed) and parsed with the ``csv`` module, so quoted
commas and quoted line breaks are handled; each table's index is the 1-based line number where the record
starts in its file (the header is line 1), and every error names the file, that line and the column.
``#N/A`` and empty cells become NaN; numeric columns are parsed to float and must be finite (``inf`` and
``nan`` are refused), analysis and subgroup numbers whole (``WHOLE_NUMBERS``); ``true``/``false`` to bool; a study
year's disambiguating letter (``2005a``) is dropped: the year is 2005.
Column names are mapped to tidy names (``COLUMNS``); unknown columns are kept under a slug of their name
(``"Char: Drug"`` -> ``char_drug``). Placeholders (``0.0`` in columns that do not apply to a row's data
type) are left as read here; :mod:`helpers.data.tidying` turns them into NaN.

Format reference: Cochrane RevMan knowledge base, "Data package specification" (2023).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core import paths
from helpers.core.errors import DataError
from helpers.data.archive import ArchiveError, read_zip

NA_STRINGS = ("", "#N/A", "NA", "N/A")

# file key -> (suffix, required)
FILES = {
    "settings": ("-overall-estimates-and-settings.csv", True),
    "data_rows": ("-data-rows.csv", True),
    "study_information": ("-study-information.csv", True),
    "subgroups": ("-subgroup-estimates.csv", False),
    "risk_of_bias": ("-risk-of-bias.csv", False),
    "included": ("-included.ris", False),
}
DATA_ZIP_SUFFIX = "-data.zip"

_COMMON = {
    "Analysis group": "analysis_group",
    "Analysis number": "analysis_number",
    "Analysis name": "analysis_name",
    "Subgroup": "subgroup",
    "Experimental cases": "events_e",
    "Experimental N": "n_e",
    "Control cases": "events_c",
    "Control N": "n_c",
    "Weight": "weight",
    "Mean": "estimate",
    "CI start": "ci_low",
    "CI end": "ci_high",
    "Heterogeneity Tau²": "tau2",
    "Heterogeneity Chi²": "q",
    "Heterogeneity df": "df",
    "Heterogeneity P": "q_p",
    "Heterogeneity I²": "i2",
    "Effect Z": "z",
    "Effect P": "p",
    "ID": "id",
}
# tidy column names per file; the value lists which are numeric / boolean
COLUMNS = {
    "settings": {
        **_COMMON,
        "Analysis group name": "comparison",
        "Data source": "data_source",
        "Data source eligibility": "data_source_eligibility",
        "Data type": "data_type_label",
        "Log-scale data": "log_scale",
        "Outcome": "outcome_label",
        "Intervention grouping": "intervention_grouping",
        "Experimental intervention": "experimental_intervention",
        "Control intervention": "control_intervention",
        "Subgroup by": "subgroup_by",
        "Filter criteria": "filter_criteria",
        "Experimental group label": "label_e",
        "Control group label": "label_c",
        "Statistical method": "method_label",
        "Effect measure": "measure_label",
        "Unit of effect measure": "unit",
        "Analysis model": "model_label",
        "Heterogeneity estimator": "tau2_method_label",
        "CI method": "ci_method_label",
        "CI/PI level": "ci_level",
        "Prediction interval": "prediction_interval",
        "Subgroup estimates": "show_subgroups",
        "Overall estimates": "show_overall",
        "Test for subgroup differences": "show_subgroup_test",
        "Swap event and non-event": "swap_events",
        "Study CI": "study_ci",
        "Estimate CI": "estimate_ci",
        "Subgroup Chi²": "subgroup_q",
        "Subgroup df": "subgroup_df",
        "Subgroup P": "subgroup_p",
        "Subgroup I²": "subgroup_i2",
    },
    "data_rows": {
        **_COMMON,
        "Applicability": "applicability",
        "Study": "study",
        "Study year": "year",
        "GIV Mean": "giv_estimate",
        "GIV SE": "giv_se",
        "Experimental mean": "mean_e",
        "Experimental SD": "sd_e",
        "Control mean": "mean_c",
        "Control SD": "sd_c",
        "O-E": "oe",
        "Variance": "oe_variance",
        "Footnotes": "footnotes",
    },
    "subgroups": {**_COMMON, "Subgroup number": "subgroup_number"},
    "study_information": {"Study": "study", "Year": "year", "Data source": "data_source"},
    "risk_of_bias": {"Study": "study"},
}
NUMERIC = {
    "analysis_group", "analysis_number", "subgroup_number", "events_e", "n_e", "events_c", "n_c", "weight",
    "estimate", "ci_low", "ci_high", "tau2", "q", "df", "q_p", "i2", "z", "p", "year", "giv_estimate", "giv_se",
    "mean_e", "sd_e", "mean_c", "sd_c", "oe", "oe_variance", "subgroup_q", "subgroup_df", "subgroup_p",
    "subgroup_i2",
}  # fmt: skip
# analysis and subgroup numbers: whole numbers 1..MAX_NUMBER (1.5 is refused, never filed under 1.1)
WHOLE_NUMBERS = {"analysis_group", "analysis_number", "subgroup_number"}
MAX_NUMBER = 100_000
BOOLEAN = {"log_scale", "show_subgroups", "show_overall", "show_subgroup_test", "swap_events", "prediction_interval"}
REQUIRED_COLUMNS = {
    "settings": ("analysis_group", "analysis_number", "analysis_name", "comparison", "data_type_label",
                 "method_label", "measure_label", "model_label"),
    "data_rows": ("analysis_group", "analysis_number", "subgroup", "study", "events_e", "n_e", "events_c", "n_c",
                  "mean_e", "sd_e", "mean_c", "sd_c"),
    "study_information": ("study",),
    "subgroups": ("analysis_group", "analysis_number", "subgroup"),
    "risk_of_bias": ("study",),
}  # fmt: skip


class PackageError(DataError):
    """A data package could not be read; the message names the file, the line and the column."""


@dataclass(frozen=True)
class RawPackage:
    """The tables of one data package, column names mapped to tidy names, index = CSV line number.

    ``files`` maps each table to the file it came from (``archive!member`` for zips).
    """

    name: str
    package_id: str
    source: Path
    settings: pd.DataFrame = field(repr=False)
    data_rows: pd.DataFrame = field(repr=False)
    study_information: pd.DataFrame = field(repr=False)
    subgroups: pd.DataFrame = field(repr=False)
    risk_of_bias: pd.DataFrame = field(repr=False)
    included: str = field(repr=False)
    files: dict = field(repr=False)
    #: what the reader left out or changed, in words (recorded in ``Dataset.warnings``)
    notes: tuple = field(default=(), repr=False)
    #: True for bare data rows as the Cochrane Library exports them (what RevMan pooled, not a package to edit)
    exported_rows: bool = field(default=False, repr=False)

    def __repr__(self) -> str:
        return (
            f"RawPackage(name={self.name!r}, package_id={self.package_id!r}, source={str(self.source)!r}, "
            f"analyses={len(self.settings)}, data_rows={len(self.data_rows)}, "
            f"studies={len(self.study_information)})"
        )


def slug(name: str) -> str:
    """Tidy name for an unknown column: lower case, runs of non-alphanumerics -> ``_``."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower().replace("²", "2")).strip("_")


def _tidy_name(key: str, column: str) -> str:
    mapping = COLUMNS.get(key, {})
    if column in mapping:
        return mapping[column]
    if key == "risk_of_bias":
        return column  # domain columns are interpreted by helpers.data.tidying
    return slug(column)


def parse_csv(data: bytes, file: str, key: str) -> pd.DataFrame:
    """Parse one package CSV into a DataFrame of tidy columns; index = 1-based line number in the file."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PackageError(f"{file}: not valid UTF-8 (byte {exc.start}): {exc.reason}") from exc
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise PackageError(f"{file}: empty file (no header line)") from None
    except csv.Error as exc:  # e.g. a header cell over csv.field_size_limit() characters
        raise PackageError(f"{file}: line 1: {exc}") from exc
    header = [h.strip() for h in header]
    records, lines = [], []
    line = reader.line_num + 1
    try:
        for rec in reader:
            if rec and any(cell.strip() for cell in rec):
                if len(rec) != len(header):
                    raise PackageError(
                        f"{file}: line {line}: {len(rec)} fields but the header has {len(header)} "
                        "(unquoted comma?)"
                    )
                records.append(rec)
                lines.append(line)
            line = reader.line_num + 1
    except csv.Error as exc:
        raise PackageError(f"{file}: line {reader.line_num}: {exc}") from exc
    return tidy_table(pd.DataFrame(records, columns=header, index=lines, dtype=object), file, key)


def tidy_table(cells: pd.DataFrame, file: str, key: str, unit: str = "line") -> pd.DataFrame:
    """Map a table of text cells under the package's own headers to tidy columns and parse its values.

    ``cells`` holds strings (or None) under the Cochrane headers; its index numbers the records in ``unit``
    (``"line"`` for a CSV, ``"row"`` for an R data frame), and every error names the file, that record and the
    column. Shared by :func:`parse_csv` and the readers of bare data rows (:mod:`helpers.data.datarows`).
    """
    header = [str(h).strip() for h in cells.columns]
    columns = [_tidy_name(key, h) for h in header]
    dup = sorted({c for c in columns if columns.count(c) > 1})
    if dup:
        raise PackageError(f"{file}: {unit} 1: duplicate column(s) {dup}" if unit == "line" else
                           f"{file}: duplicate column(s) {dup}")  # fmt: skip
    frame = pd.DataFrame(cells.to_numpy(dtype=object), columns=columns,
                         index=pd.Index(list(cells.index), name=unit), dtype=object)  # fmt: skip
    missing = [c for c in REQUIRED_COLUMNS.get(key, ()) if c not in frame.columns]
    if missing:
        wanted = {v: k for k, v in COLUMNS.get(key, {}).items()}
        where = f"{file}: line 1" if unit == "line" else file
        raise PackageError(
            f"{where}: missing required column(s) " + ", ".join(f"{wanted.get(c, c)!r}" for c in missing)
        )
    text = year_text(frame["year"]) if "year" in frame.columns and key == "data_rows" else None
    for col in frame.columns:
        frame[col] = _convert(frame[col], file, col, header[columns.index(col)], unit, frame.get("study"))
    if text is not None:
        frame["year_text"] = text.map(lambda v: v.strip() if isinstance(v, str) else v)
    return frame


YEAR = re.compile(r"(?<!\d)(1[5-9]\d\d|20\d\d)(?:\.0+)?(?!\d)")


def _year_of(text) -> str | None:
    """The year in a study-year cell: ``"2005a"`` -> 2005, ``"1989 Oct"`` -> 1989, ``"(accessed on 1 February
    2015)"`` -> 2015 (the last four-digit year); None when the cell holds none (the text is kept, ``year_text``)."""
    found = YEAR.findall(str(text))
    return found[-1] if found else None


def year_text(values: pd.Series) -> pd.Series:
    """The study-year cells that are not a plain year (``"1989 Oct"``), as written; None elsewhere."""
    plain = values.map(lambda v: v is None or bool(re.fullmatch(r"\s*(\d{4}[a-z]?|\d{4}\.0+)?\s*", str(v))))
    return values.where(~plain, None).astype(object)


def _convert(values: pd.Series, file: str, col: str, header: str, unit: str = "line",
             studies: pd.Series | None = None) -> pd.Series:
    """Parse one column; a bad cell is a PackageError naming file, line, column and the row's study (if any)."""

    def at(line) -> str:
        study = studies.get(line) if studies is not None else None
        study = study.strip() if isinstance(study, str) else ""
        return f"{file}: {unit} {line}: column {header!r}: " + (f"study {study!r}: " if study else "")

    stripped = values.map(lambda v: v.strip() if isinstance(v, str) else v)
    missing = stripped.isin(NA_STRINGS)
    if col == "year":  # "2005a"/"2005b" tell apart two reports of one year; text ("1989 Oct") keeps its year
        stripped = stripped.where(missing, stripped.map(_year_of))
        missing = stripped.isna() | missing
    if col in NUMERIC:
        out = pd.to_numeric(stripped.where(~missing), errors="coerce").astype(float)
        for bad, what in ((out.isna() & ~missing, "a number"), (np.isinf(out), "a finite number")):
            if bad.any():
                line = bad.idxmax()
                raise PackageError(
                    f"{at(line)}{stripped[line]!r} is not {what}"
                    + (f" ({int(bad.sum())} such cells)" if bad.sum() > 1 else "")
                )
        if col in WHOLE_NUMBERS:
            whole = (out % 1 == 0) & (out >= 1) & (out <= MAX_NUMBER)
            bad = (missing & (col != "subgroup_number")) | (~missing & ~whole)
            if bad.any():
                line = bad.idxmax()
                raise PackageError(f"{at(line)}{stripped[line]!r} is not a whole "
                                   f"number from 1 to {MAX_NUMBER}")  # fmt: skip
        return out
    if col in BOOLEAN:
        lowered = stripped.str.lower()
        bad = ~lowered.isin(("true", "false")) & ~missing
        if bad.any():
            line = bad.idxmax()
            raise PackageError(f"{at(line)}{stripped[line]!r} is not true/false")
        return lowered.map({"true": True, "false": False}).where(~missing, None).astype(object)
    return stripped.where(~missing, None).astype(object)


def _find(members: dict[str, bytes], where: str) -> dict[str, str]:
    """Pick the package files out of ``{name: bytes}`` by suffix; return ``{key: member name}``."""
    found: dict[str, str] = {}
    for key, (suffix, required) in FILES.items():
        hits = sorted(n for n in members if n.lower().endswith(suffix) and not n.split("/")[-1].startswith("._"))
        if len(hits) > 1:
            raise PackageError(f"{where}: more than one file ending in {suffix!r}: {hits}")
        if hits:
            found[key] = hits[0]
        elif required:
            raise PackageError(
                f"{where}: required file '*{suffix}' not found "
                f"(required: {', '.join('*' + s for s, r in FILES.values() if r)})"
            )
    return found


def _members(path: Path) -> tuple[dict[str, bytes], str]:
    """Return the members of the innermost data container at ``path`` and the prefix naming a member."""
    label = paths.display(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and not p.is_symlink())
        csvs = {p.relative_to(path).as_posix(): p for p in files if p.suffix.lower() in (".csv", ".ris")}
        if any(n.endswith(suffix) for n in csvs for suffix, _ in FILES.values()):
            return {n: p.read_bytes() for n, p in csvs.items()}, f"{label}/"
        zips = [p for p in files if p.name.endswith(DATA_ZIP_SUFFIX)]
        if len(zips) == 1:
            inner = paths.display(zips[0])
            return read_zip(zips[0], label=inner), f"{inner}!"
        raise PackageError(f"{label}: folder holds neither the package CSV files nor one '*{DATA_ZIP_SUFFIX}'")
    members = read_zip(path, label=label)
    if any(n.endswith(suffix) for n in members for suffix, _ in FILES.values()):
        return members, f"{label}!"
    inner = [n for n in members if n.endswith(DATA_ZIP_SUFFIX)]
    if len(inner) != 1:
        raise PackageError(
            f"{label}: expected the package CSV files or exactly one '*{DATA_ZIP_SUFFIX}' inside; found {inner}"
        )
    nested = f"{label}!{inner[0]}"
    return read_zip(members[inner[0]], label=nested, depth=2), f"{nested}!"


def read_package(path: Path | str) -> RawPackage:
    """Read a Cochrane data package (outer zip, inner data zip or folder) into a :class:`RawPackage`."""
    source = Path(path)
    if not source.exists():
        raise PackageError(f"{source}: no such file or folder")
    try:
        members, where = _members(source)
    except ArchiveError as exc:
        raise PackageError(str(exc)) from exc
    found = _find(members, where)
    files = {key: f"{where}{member}" for key, member in found.items()}
    tables = {}
    for key in ("settings", "data_rows", "study_information", "subgroups", "risk_of_bias"):
        if key in found:
            tables[key] = parse_csv(members[found[key]], files[key], key)
        else:
            tables[key] = pd.DataFrame(columns=list(REQUIRED_COLUMNS[key]), index=pd.Index([], name="line"))
    included = members[found["included"]].decode("utf-8-sig", errors="replace") if "included" in found else ""
    package_id = found["data_rows"].split("/")[-1][: -len(FILES["data_rows"][0])]
    name = source.name[:-4] if source.suffix.lower() == ".zip" else source.name
    if name.endswith("-data"):
        name = name[: -len("-data")]
    return RawPackage(
        name=name,
        package_id=package_id,
        source=source,
        included=included,
        files=files,
        **tables,
    )

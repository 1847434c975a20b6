"""Writing a Cochrane data package (version 1): the inverse of :mod:`helpers.data.datapackage`.

The writer takes the same tables the reader returns (a :class:`~helpers.data.datapackage.RawPackage`: tidy
column names, one DataFrame per file) and writes them back in the Cochrane format, so
``read_package(write_folder(package_files(raw), out))`` gives ``raw``'s tables again (tested both ways in
``tests/test_writer.py``). Column headers are the reader's mapping read backwards (``COLUMNS`` and the
``slug`` of the headers in ``HEADERS``); columns are written in the table's order.

Format (as in the RevMan Web sample package Fleiss1993):

* every CSV starts with a UTF-8 byte-order mark; line endings LF for data rows and settings, CRLF for
  subgroup estimates, study information and risk of bias (``NEWLINES``);
* entered arm values (``ENTERED``: means, SDs, GIV estimate and SE, O-E, variance) are written as entered,
  Python's shortest round-trip text (``52.3``, ``0.0``); counts (``COUNTS``) as integers; every other
  number as RevMan computes it: up to six decimals, trailing zeros dropped (``0.68076``);
* a missing value is an empty cell, except ``Data source eligibility``, which RevMan writes as ``#N/A``;
* ``true``/``false`` for booleans.

The zip forms are deterministic (sorted entries, fixed timestamp and permissions, deflate level 9): the inner
data zip, and the outer zip the Cochrane Library serves (``<name>/<id>-files/<id>-data.zip``).

Reference: Cochrane RevMan knowledge base, "Data package specification" (version 1).
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
from pathlib import Path

import pandas as pd

from helpers.core import paths
from helpers.data.datapackage import FILES, NUMERIC, _tidy_name

BOM = "\ufeff"
ZIP_DATE = (2025, 1, 1, 0, 0, 0)
FOLDERS = {"settings": "analysis-data", "data_rows": "analysis-data", "subgroups": "analysis-data",
           "study_information": "study-data", "risk_of_bias": "study-data", "included": "study-data"}  # fmt: skip
NEWLINES = {"settings": "\n", "data_rows": "\n", "subgroups": "\r\n", "study_information": "\r\n",
            "risk_of_bias": "\r\n"}  # fmt: skip
# Cochrane headers in the sample's order (version 1); the reader's tidy names map back to these
HEADERS = {
    "data_rows": (
        "Analysis group", "Analysis number", "Analysis name", "Subgroup", "Applicability", "Study", "Study year",
        "GIV Mean", "GIV SE", "Experimental mean", "Experimental SD", "Experimental cases", "Experimental N",
        "Control mean", "Control SD", "Control cases", "Control N", "O-E", "Variance", "Weight", "Mean",
        "CI start", "CI end", "Footnotes",
    ),
    "settings": (
        "Analysis group", "Analysis number", "Analysis name", "Analysis group name", "Data source",
        "Data source eligibility", "Data type", "Log-scale data", "Outcome", "Intervention grouping",
        "Experimental intervention", "Control intervention", "Subgroup by", "Filter criteria",
        "Experimental group label", "Control group label", "Statistical method", "Effect measure",
        "Unit of effect measure", "Analysis model", "Subgroup estimates", "Overall estimates",
        "Test for subgroup differences", "Swap event and non-event", "Study CI", "Estimate CI",
        "Experimental cases", "Experimental N", "Control cases", "Control N", "Mean", "CI start", "CI end",
        "Heterogeneity Tau²", "Heterogeneity Chi²", "Heterogeneity df", "Heterogeneity P", "Heterogeneity I²",
        "Effect Z", "Effect P", "Subgroup Chi²", "Subgroup df", "Subgroup P", "Subgroup I²", "ID",
    ),
    "subgroups": (
        "Analysis group", "Analysis number", "Subgroup", "Subgroup number", "Experimental cases",
        "Experimental N", "Control cases", "Control N", "Weight", "Mean", "CI start", "CI end",
        "Heterogeneity Tau²", "Heterogeneity Chi²", "Heterogeneity df", "Heterogeneity P", "Heterogeneity I²",
        "Effect Z", "Effect P", "ID",
    ),
    "study_information": ("Study", "Year", "Data source", "Char: Methods", "Char: Participants",
                          "Char: Interventions", "Char: Outcomes", "Char: Notes"),
    "risk_of_bias": ("Study",),  # then "Domain (judgement|support): <domain>" columns, kept as read
}  # fmt: skip
ENTERED = {"giv_estimate", "giv_se", "mean_e", "sd_e", "mean_c", "sd_c", "oe", "oe_variance"}
COUNTS = {"analysis_group", "analysis_number", "subgroup_number", "events_e", "n_e", "events_c", "n_c", "year",
          "df", "subgroup_df"}  # fmt: skip
NA_TEXT = {"data_source_eligibility": "#N/A"}
TABLES = ("settings", "data_rows", "subgroups", "study_information", "risk_of_bias")


class WriterError(ValueError):
    """A table cannot be written as a data package; the message names the table, the row and the column."""


def format_computed(x) -> str:
    """A computed number as RevMan prints it: up to 6 decimals, trailing zeros dropped; NaN/None -> empty."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    text = f"{float(x):.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _cell(key: str, column: str, value, line) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NA_TEXT.get(column, "")
    if isinstance(value, bool):
        return "true" if value else "false"
    if column not in NUMERIC:
        return str(value)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise WriterError(f"{key}: row {line}: column {column!r}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise WriterError(f"{key}: row {line}: column {column!r}: {value!r} is not a finite number")
    if column in COUNTS and number.is_integer():
        return str(int(number))
    if column in ENTERED:
        return repr(number)
    return format_computed(number)


def tidy_columns(key: str) -> list[str]:
    """The reader's tidy names of ``HEADERS[key]``, in the Cochrane column order (write tables in this order)."""
    return [_tidy_name(key, h) for h in HEADERS[key]]


def _header(key: str, columns) -> list[str]:
    """Cochrane header of each tidy column (risk-of-bias columns are kept as read)."""
    back = {_tidy_name(key, h): h for h in HEADERS.get(key, ())}
    out = []
    for col in columns:
        if col in back:
            out.append(back[col])
        elif key == "risk_of_bias":
            out.append(str(col))
        else:
            known = ", ".join(back)
            raise WriterError(f"{key}: column {col!r} has no Cochrane header; known columns: {known}")
    return out


def table_bytes(key: str, table: pd.DataFrame) -> bytes:
    """One package CSV: BOM, the Cochrane header, one record per row (see the module docstring)."""
    if key not in NEWLINES:
        raise WriterError(f"unknown table {key!r}; allowed: {', '.join(NEWLINES)}")
    table, year_text = _split_year_text(key, table)
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator=NEWLINES[key])
    out.writerow(_header(key, table.columns))
    for i, (line, rec) in enumerate(zip(table.index, table.itertuples(index=False))):
        cells = [_cell(key, col, value, line) for col, value in zip(table.columns, rec)]
        if year_text is not None and isinstance(year_text[i], str) and "year" in table.columns:
            cells[list(table.columns).index("year")] = year_text[i]
        out.writerow(cells)
    return (BOM + buf.getvalue()).encode("utf-8")


def _split_year_text(key: str, table: pd.DataFrame) -> tuple[pd.DataFrame, list | None]:
    """The reader keeps a study year that is not a plain year ("1989 Oct") as written in ``year_text``, beside
    the parsed ``year``: the package's "Study year" cell is that text again (None where the year is plain)."""
    if key != "data_rows" or "year_text" not in table.columns:
        return table, None
    return table.drop(columns="year_text"), list(table["year_text"])


def package_files(raw) -> dict[str, bytes]:
    """``{relative path: bytes}`` of an unpacked package from a RawPackage-like object.

    ``raw`` needs ``package_id``, the five tables (``TABLES``; an empty subgroups or risk-of-bias table is
    still written, with its header) and ``included`` (the .ris text).
    """
    pid = raw.package_id
    files = {}
    for key in TABLES:
        files[f"{pid}-{FOLDERS[key]}/{pid}{FILES[key][0]}"] = table_bytes(key, getattr(raw, key))
    files[f"{pid}-{FOLDERS['included']}/{pid}{FILES['included'][0]}"] = (BOM + raw.included).encode("utf-8")
    return dict(sorted(files.items()))


def write_folder(files: dict[str, bytes], out: Path | str, *, allow_raw: bool = False) -> Path:
    """Write ``files`` (relative path -> bytes) into folder ``out``.

    Refuses ``data/raw/`` unless ``allow_raw=True``: only ``make synthetic`` regenerates the committed copy.
    """
    target = Path(out)
    if paths.is_under_raw(target):
        if not allow_raw:
            raise PermissionError(f"refusing to write under data/raw/ without allow_raw=True (--allow-raw): {target}")
        target.mkdir(parents=True, exist_ok=True)
    else:
        target = paths.ensure_writable_dir(target)
    for rel, data in sorted(files.items()):
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    return target


def zip_bytes(entries: list[tuple[str, bytes | None]]) -> bytes:
    """Deterministic zip: given order, fixed timestamp, fixed permissions, deflate level 9 (None = folder)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.create_system = 3
            if data is None:
                info.external_attr = (0o40755 << 16) | 0x10
                zf.writestr(info, b"")
            else:
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buf.getvalue()


def write_zip(files: dict[str, bytes], out_zip: Path | str, name: str, package_id: str) -> Path:
    """Write the package as the Cochrane Library serves it: ``<name>/<id>-files/<id>-data.zip`` in a zip."""
    out_zip = Path(out_zip)
    paths.ensure_writable_dir(out_zip.parent)
    inner = zip_bytes(sorted(files.items()))
    outer = zip_bytes([
        (f"{name}/", None),
        (f"{name}/{package_id}-files/", None),
        (f"{name}/{package_id}-files/{package_id}-data.zip", inner),
    ])  # fmt: skip
    out_zip.write_bytes(outer)
    return out_zip

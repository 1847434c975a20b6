"""Data rows in the R data file form (``.rda``/``.RData``), as R data packages of Cochrane reviews ship them.

The file holds one data frame of data rows whose column names are R's ``make.names`` of the Cochrane headers
(``"CI start"`` -> ``CI.start``, ``"O-E"`` -> ``O.E``, ``"Bias arising from the randomization process
(judgement)"`` -> ``Bias.arising.from.the.randomization.process..judgement.``). :func:`read_rda_rows` maps the
names back through :func:`make_names` of every known header (:data:`helpers.data.datarows.HEADERS`), writes
each cell as text the way a CSV export would (numbers with ``repr``, so no digit is lost; R's NA as empty) and
hands the table to the same parser as the CSV files, so both forms give identical tables and errors name
the file, the R row (1-based) and the column. Columns with no Cochrane header (e.g. ``review_url``) are kept
under a slug of their name.

Reader: the ``rdata`` package (pure Python, MIT; Ramos-Carreño & Torrecilla, https://github.com/vnmabus/rdata),
which parses R's serialization format (R Internals, "Serialization formats") without R.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.data.datapackage import PackageError, RawPackage, tidy_table
from helpers.data.datarows import HEADERS, package_from_rows

SUFFIXES = (".rda", ".rdata")


def make_names(name: str) -> str:
    """R's ``make.names``: every character other than a letter, digit, ``.`` or ``_`` becomes ``.``; a name
    not starting with a letter (or a dot not followed by a digit) gets an ``X`` prefix."""
    out = re.sub(r"[^0-9A-Za-z._]", ".", name)
    if not re.match(r"[A-Za-z]|\.(?![0-9])", out):
        out = "X" + out
    return out


BACK = {make_names(h): h for h in HEADERS}


def is_rda(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in SUFFIXES


def _text(values: pd.Series) -> pd.Series:
    """Cells as a CSV export writes them: floats by repr (shortest exact), NA as empty."""
    if pd.api.types.is_float_dtype(values.dtype) or pd.api.types.is_integer_dtype(values.dtype):
        floats = values.astype("Float64")
        return pd.Series(["" if pd.isna(v) else repr(float(v)) for v in floats], index=values.index, dtype=object)
    return pd.Series(["" if pd.isna(v) else str(v) for v in values], index=values.index, dtype=object)


def read_rda_frame(path: Path | str) -> tuple[str, pd.DataFrame]:
    """``(object name, data frame)`` of the one data frame in an R data file; errors name the file."""
    import rdata

    source = Path(path)
    if not source.is_file():
        raise PackageError(f"{source}: no such file")
    try:
        objects = rdata.read_rda(source)
    except Exception as exc:  # the parser raises many types for a corrupt or foreign file
        raise PackageError(f"{source}: not a readable R data file ({type(exc).__name__}: {exc})") from exc
    frames = {k: v for k, v in objects.items() if isinstance(v, pd.DataFrame)}
    if len(frames) != 1:
        raise PackageError(f"{source}: expected exactly one data frame, found {len(frames)} "
                           f"({', '.join(sorted(frames)) or 'none'}; objects: {', '.join(sorted(objects))})")  # fmt: skip
    return next(iter(frames.items()))


def read_rda_rows(path: Path | str) -> tuple[pd.DataFrame, str]:
    """The data rows of an R data file as tidy columns (index = R row, 1-based) and the label naming them."""
    name, frame = read_rda_frame(path)
    file = f"{path}!{name}"
    cells = pd.DataFrame({BACK.get(str(c), str(c)): _text(frame[c]) for c in frame.columns})
    cells.index = pd.RangeIndex(1, len(cells) + 1)
    if cells.columns.duplicated().any():
        raise PackageError(f"{file}: columns map to the same Cochrane header: "
                           f"{sorted(set(cells.columns[cells.columns.duplicated()]))}")  # fmt: skip
    return tidy_table(cells, file, "data_rows", unit="row"), file


def read_rda(path: Path | str, review="cd015373") -> RawPackage:
    """Read an R data file of data rows into a :class:`RawPackage` (settings from the review map; see
    :mod:`helpers.data.datarows`)."""
    rows, file = read_rda_rows(path)
    return package_from_rows(rows, Path(path), file, review)

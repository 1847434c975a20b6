"""One call from any input to a validated :class:`helpers.data.tidy.Dataset`: :func:`load_dataset`.

A Cochrane data package (zip or folder; :mod:`helpers.data.datapackage`), bare data rows (``.rda`` or
``*-data-rows.csv``; :mod:`helpers.data.rdata`, :mod:`helpers.data.datarows`) or a tidy folder
(:func:`helpers.data.tidy.read_tidy`). The tidying rules are in :mod:`helpers.data.tidying`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from helpers.core import paths
from helpers.data.datapackage import PackageError, parse_csv, read_package
from helpers.data.mapmode import DEFAULT_MODE, settings_review
from helpers.data.datarows import ROWS_SUFFIX, is_rows_file, read_data_rows
from helpers.data.rdata import SUFFIXES as RDA_SUFFIXES, is_rda, read_rda, read_rda_rows
from helpers.data.template import is_template, read_template
from helpers.data.tidy import Dataset, read_tidy
from helpers.data.tidying import from_package

DEFAULT_PACKAGE = paths.DATA_RAW / "synthetic-cd015373"


def load_dataset(path: Path | str | None = None, review: str | Path | None = DEFAULT_MODE) -> Dataset:
    """Load a review's data in one call.

    ``path``: a Cochrane data package (outer zip, inner data zip or unpacked folder), bare data rows (an R data
    file ``.rda`` or a ``*-data-rows.csv``; settings from the review map, see :mod:`helpers.data.datarows`) or
    a tidy folder written by :func:`write_tidy`, or one's own data in the CSV template
    (``data/templates/nmda-template.csv``, :mod:`helpers.data.template`; the file or a folder with it); None = the default synthetic package ``data/raw/synthetic-cd015373`` (folder or
    ``.zip``). ``review``: ``auto`` (the default review map when it applies to the package, else the generic
    mode), ``none`` or None (the generic mode: drug, route, comparator, outcome and time point left empty, the
    package's own names kept), a review map in ``data/reviews/`` or a YAML path (:mod:`helpers.data.mapmode`).
    """
    if path is None:
        candidates = [DEFAULT_PACKAGE, DEFAULT_PACKAGE.with_suffix(".zip")]
        path = next((p for p in candidates if p.exists()), None)
        if path is None:
            raise FileNotFoundError(
                f"default synthetic package not found at {candidates[0]} (or .zip); generate it with "
                "`.venv/bin/python -m helpers.synthetic --out data/raw --allow-raw`"
            )
    path = Path(path)
    if path.is_dir() and (path / "dataset.json").is_file():
        return read_tidy(path)
    if is_rda(path):
        return from_package(read_rda(path, review=settings_review(review, path.name)), review=review)
    if is_rows_file(path):
        return from_package(read_data_rows(path, review=settings_review(review, path.name)), review=review)
    if is_template(path):
        return read_template(path)
    return from_package(read_package(path), review=review)


def read_rows_table(path: Path | str) -> tuple[pd.DataFrame, str]:
    """The bare data rows of an R data file or a ``*-data-rows.csv`` (tidy names, RevMan's per-study values
    included) and the label naming them; for :mod:`helpers.stats.infer`, which needs no settings."""
    path = Path(path)
    if not path.exists():
        raise PackageError(f"{path}: no such file")
    if is_rda(path):
        return read_rda_rows(path)
    if is_rows_file(path):
        return parse_csv(path.read_bytes(), paths.display(path), "data_rows"), paths.display(path)
    raise PackageError(f"{path}: not an R data file ({', '.join(RDA_SUFFIXES)}) or a '*{ROWS_SUFFIX}' file")

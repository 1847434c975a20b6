"""The tidy dataset and its CSV folder: :class:`Dataset` (``rows``, one per study x analysis x subgroup;
``studies``; ``published``), :func:`iter_analyses`, and :func:`write_tidy` / :func:`read_tidy` (rows.csv,
studies.csv, published.csv, dataset.json; byte-identical for the same dataset, every table validated on read).

Provenance follows the bytes: ``dataset.json`` records the SHA-256 of the three tables as written
(``tables_sha256``, :func:`tables_sha256`); a folder whose tables were edited since (a row appended by hand) is
read with the label ``derived from <label>, modified (SHA-256 <its tables' hash>)`` and that hash as its
``sha256`` (``derived from CD015373.pub2 data rows, ...`` for the review's pinned rows,
:func:`helpers.data.provenance.derived_label`), never the label and hash of the data it was written from.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from helpers.core import paths
from helpers.core.results import ResultMixin
from helpers.data.datapackage import PackageError
from helpers.data.schema import DATA_DICTIONARY, ROWS_COLUMNS, STUDIES_COLUMNS, validate_rows, validate_studies

TIDY_FILES = ("rows.csv", "studies.csv", "published.csv", "dataset.json")
TIDY_FORMAT = "nmda-review tidy v1"
PUBLISHED_COLUMNS = ("level", "analysis_id", "subgroup", "study", "status", "weight", "estimate", "ci_low",
                     "ci_high", "tau2", "q", "df", "q_p", "i2", "z", "p", "subgroup_q", "subgroup_df",
                     "subgroup_p", "subgroup_i2")  # fmt: skip


@dataclass(frozen=True, repr=False)
class Dataset(ResultMixin):
    """Validated tidy tables of one review package (see data/README.md for every column)."""

    label: str
    synthetic: bool
    review: str | None
    source: str
    sha256: str
    rows: pd.DataFrame = field(compare=False)
    studies: pd.DataFrame = field(compare=False)
    published: pd.DataFrame = field(compare=False)
    warnings: tuple = ()
    #: None: the analyses are mapped to drug, route, outcome... (a review map, or one's own template); else the
    #: generic mode was used (helpers.data.mapmode) and this says why
    generic: str | None = None
    #: bare data rows without settings: per analysis, the settings read off RevMan's per-study values and the
    #: evidence (helpers.stats.infer.settle); None when the data carry their settings
    settings_evidence: pd.DataFrame | None = field(default=None, compare=False)

    def __repr__(self) -> str:
        return (
            f"Dataset({self.label!r}: {self.studies.shape[0]} studies, {self.rows['analysis_id'].nunique()} "
            f"analyses, {len(self.rows)} rows; review={self.review!r}, sha256={self.sha256[:12]}..., "
            f"warnings={len(self.warnings)}{', generic mode' if self.generic else ''})"
        )

    def to_frame(self) -> pd.DataFrame:
        return self.analyses()

    def summary(self) -> str:
        lines = [repr(self), f"source: {self.source}"]
        for aid, a in self.analyses().iterrows():
            lines.append(f"  {aid}  {a.analysis_name} ({a.measure}, {a.method}, {a.model}; k={a.k})")
        return "\n".join(lines + [f"  warning: {w}" for w in self.warnings])

    def analyses(self) -> pd.DataFrame:
        """One row per analysis: settings, number of studies ``k`` and whether it has subgroups."""
        keys = ["analysis_id", "analysis_name", "comparison", "data_type", "measure", "method", "model",
                "outcome", "timepoint"]  # fmt: skip
        g = self.rows.groupby("analysis_id", sort=False, dropna=False)
        out = g[keys[1:]].first()
        out["k"] = g["study"].nunique()
        out["has_subgroups"] = g["subgroup"].count() > 0  # any subgroup filled
        order = sorted(out.index, key=lambda a: tuple(int(x) for x in a.split(".")))
        return out.loc[order]

    def analysis(self, analysis_id: str) -> pd.DataFrame:
        """The tidy rows of one analysis (``"1.1"``), in package order."""
        sel = self.rows[self.rows["analysis_id"] == str(analysis_id)]
        if sel.empty:
            known = ", ".join(self.analyses().index)
            raise KeyError(f"analysis {analysis_id!r} not in {self.label}; known: {known}")
        return sel.reset_index(drop=True)


def iter_analyses(dataset: Dataset):
    """Yield ``(analysis_id, settings row, tidy rows)`` for every analysis, in analysis-number order."""
    groups = analysis_groups(dataset.rows)
    for aid, settings in dataset.analyses().iterrows():
        yield aid, settings, groups[aid].reset_index(drop=True)


def analysis_groups(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``rows`` split by ``analysis_id`` in one pass (each part in package order, its index kept): what
    ``rows[rows["analysis_id"] == aid]`` gives for every ``aid`` at once, without scanning the rows per analysis."""
    return dict(tuple(rows.groupby("analysis_id", sort=False)))


def row_positions(values: pd.Series) -> dict:
    """{value: [positions of the rows holding it]}, rows in table order; one pass over the column."""
    out: dict = {}
    for i, value in enumerate(values.tolist()):
        out.setdefault(value, []).append(i)
    return out


def _csv_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _tables_digest(contents: list[bytes]) -> str:
    digest = hashlib.sha256()
    for name, data in zip(TIDY_FILES, contents):
        digest.update(f"{name}\0{len(data)}\0".encode() + data)
    return digest.hexdigest()


def tables_sha256(dataset: Dataset) -> str:
    """SHA-256 of the tables :func:`write_tidy` writes for ``dataset`` (rows.csv, studies.csv, published.csv:
    each file's name, length and bytes in that order); what ``dataset.json`` records as ``tables_sha256``."""
    return _tables_digest([_csv_bytes(t) for t in (dataset.rows, dataset.studies, dataset.published)])


def write_tidy(dataset: Dataset, folder: Path | str) -> Path:
    """Write rows.csv, studies.csv, published.csv and dataset.json; byte-identical for the same dataset."""
    out = paths.ensure_writable_dir(folder)
    contents = [_csv_bytes(t) for t in (dataset.rows, dataset.studies, dataset.published)]
    for name, data in zip(TIDY_FILES, contents):
        (out / name).write_bytes(data)
    meta = {"format": TIDY_FORMAT, "label": dataset.label, "synthetic": dataset.synthetic,
            "review": dataset.review, "source": dataset.source, "sha256": dataset.sha256,
            "warnings": list(dataset.warnings), "generic": dataset.generic,
            "tables_sha256": _tables_digest(contents)}  # fmt: skip
    (out / "dataset.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return out


def _read_csv(path: Path, columns: tuple, text: set) -> pd.DataFrame:
    if not path.is_file():
        raise PackageError(f"{path}: missing (a tidy folder holds {', '.join(TIDY_FILES)})")
    dtypes = {c: object for c in text}
    try:
        df = pd.read_csv(path, dtype=dtypes, keep_default_na=False, na_values=[""], encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PackageError(f"{path}: not valid UTF-8 (byte {exc.start}): {exc.reason}") from exc
    except pd.errors.EmptyDataError:
        raise PackageError(f"{path}: empty file (no header line)") from None
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:  # ragged rows, bad quoting, a bad dtype
        raise PackageError(f"{path}: not a readable CSV table: {' '.join(str(exc).split())}") from exc
    df.index = pd.RangeIndex(2, len(df) + 2, name="line")
    df = df.astype({c: object for c in text if c in df}).where(df.notna(), None) if text else df
    missing = [c for c in columns if c not in df]
    if missing:
        raise PackageError(f"{path}: line 1: missing column(s) {missing}")
    return df[list(columns) + [c for c in df.columns if c not in columns]]  # column order of the file is free


TIDY_META = {"format": str, "label": str, "synthetic": bool, "review": (str, type(None)), "source": str,
             "sha256": str, "warnings": list}  # dataset.json: key -> type(s) it must hold


def _read_meta(path: Path) -> dict:
    """dataset.json of a tidy folder: a JSON object with every TIDY_META key of the right type."""
    if not path.is_file():
        raise PackageError(f"{path}: missing (a tidy folder holds {', '.join(TIDY_FILES)})")
    try:
        meta = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PackageError(f"{path}: not valid UTF-8 (byte {exc.start}): {exc.reason}") from exc
    except (json.JSONDecodeError, RecursionError) as exc:
        raise PackageError(f"{path}: not valid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise PackageError(f"{path}: expected a JSON object with keys {', '.join(TIDY_META)}; got a "
                           f"{type(meta).__name__}")  # fmt: skip
    if meta.get("format") != TIDY_FORMAT:
        raise PackageError(f"{path}: format {meta.get('format')!r} is not {TIDY_FORMAT!r}")
    for key, kind in TIDY_META.items():
        if key not in meta:
            raise PackageError(f"{path}: key {key!r} missing (needs {', '.join(TIDY_META)})")
        if not isinstance(meta[key], kind):
            raise PackageError(f"{path}: key {key!r}: {meta[key]!r} is not of the expected type")
    if not isinstance(meta.get("generic"), (str, type(None))):  # optional: older tidy folders lack it
        raise PackageError(f"{path}: key 'generic': {meta['generic']!r} is not of the expected type")
    if not all(isinstance(w, str) for w in meta["warnings"]):
        raise PackageError(f"{path}: key 'warnings': expected a list of strings")
    return meta


def read_tidy(folder: Path | str) -> Dataset:
    """Read a folder written by :func:`write_tidy`, validating both tables (errors name file, line, column)."""
    folder = Path(folder)
    meta = _read_meta(folder / "dataset.json")

    def text_cols(table):
        return {c.name for c in DATA_DICTIONARY[table] if c.kind == "str"}

    rows = _read_csv(folder / "rows.csv", ROWS_COLUMNS, text_cols("rows"))
    studies = _read_csv(folder / "studies.csv", STUDIES_COLUMNS, text_cols("studies"))
    published = _read_csv(folder / "published.csv", PUBLISHED_COLUMNS,
                          {"level", "analysis_id", "subgroup", "study", "status"})  # fmt: skip
    rows = validate_rows(rows, source=str(folder / "rows.csv"))
    studies = validate_studies(studies, source=str(folder / "studies.csv"))
    label, sha256 = _provenance(folder, meta)
    return Dataset(
        label=label, synthetic=bool(meta["synthetic"]), review=meta["review"], source=meta["source"],
        sha256=sha256, rows=rows.reset_index(drop=True), studies=studies.reset_index(drop=True),
        published=published.reset_index(drop=True), warnings=tuple(meta.get("warnings", ())),
        generic=meta.get("generic"),
    )  # fmt: skip


def _provenance(folder: Path, meta: dict) -> tuple[str, str]:
    """(label, sha256) of a tidy folder: as recorded while its tables are the bytes written (or the folder
    predates ``tables_sha256``), else the derived label and the tables' own hash (see the module docstring)."""
    recorded = meta.get("tables_sha256")
    if not isinstance(recorded, str):
        return meta["label"], meta["sha256"]
    now = _tables_digest([(folder / name).read_bytes() for name in TIDY_FILES[:3]])
    if now == recorded:
        return meta["label"], meta["sha256"]
    from helpers.data.provenance import derived_label, pinned_citation  # the review map is read only here

    citation = pinned_citation(meta["review"], meta["sha256"])
    return derived_label(citation if citation is not None else meta["label"], now), now

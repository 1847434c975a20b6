"""Studies added to a review's data rows (``--add-rows FILE``), and the review's subgroup copies kept in step.

A review repeats an analysis once per subgroup dimension: in CD015373.pub2, 1.2 ("Pain intensity (continuous),
immediate-term follow-up: duration of administration subgroup analysis") holds 1.1's rows split by duration of
administration. :func:`subgroup_copies` finds these copies from the data alone: a copy is an analysis whose rows
carry a subgroup dimension (``subgroup_by``, set by the review map) and whose name is its main analysis' name
followed by ``": ..."``, in the same analysis group.

:func:`add_rows` reads a CSV of extra rows (one per study and main analysis; format in data/README.md, "Adding
studies to the real review") and adds each row to its analysis and to every subgroup copy of it, in the
subgroup its column for that dimension names (``duration``, ``condition``, ``dose``, ``route``). The result is a
new :class:`~helpers.data.tidy.Dataset` whose label and SHA-256 follow its bytes
(:func:`helpers.data.provenance.derived_label`), never the label of the data it was derived from.

:func:`copy_disagreements` lists every copy whose studies or arm data differ from its main analysis (a row added
by hand to 1.1 only; or as published: CD015373.pub2's 1.10 leaves out Lumanauw 2019 of 1.9).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core import paths
from helpers.data.datapackage import PackageError
from helpers.data.provenance import derived_label, pinned_citation
from helpers.data.schema import ValidationError, validate_rows, validate_studies
from helpers.data.tidy import Dataset, tables_sha256

#: Arm data of a row, by data type (what an extra row must give).
ARM_COLUMNS = {"dichotomous": ("events_e", "n_e", "events_c", "n_c"),
               "continuous": ("mean_e", "sd_e", "n_e", "mean_c", "sd_c", "n_c")}  # fmt: skip
#: Columns an extra-rows CSV may hold besides the arm data and the subgroup dimensions.
STUDY_COLUMNS = ("analysis_id", "study", "year", "design", "condition", "rob_overall")
#: Settings copied from the analysis a row joins.
ANALYSIS_COLUMNS = ("analysis_group", "analysis_number", "analysis_name", "comparison", "outcome", "timepoint",
                    "drug", "route", "comparator", "data_type", "measure", "method", "model", "tau2_method",
                    "ci_method", "ci_level", "prediction_interval", "swap_events")  # fmt: skip
#: ``notes`` of a study added by :func:`add_rows` begin so (then the file name).
ADDED_NOTE = "added from "
ALL_ARMS = tuple(dict.fromkeys(ARM_COLUMNS["dichotomous"] + ARM_COLUMNS["continuous"]))


def subgroup_copies(dataset: Dataset) -> dict[str, tuple[str, str]]:
    """``{copy analysis id: (main analysis id, subgroup dimension)}`` of every subgroup copy (module doc)."""
    rows = dataset.rows
    names = {(str(g), str(n)): aid for aid, g, n in
             rows[["analysis_id", "analysis_group", "analysis_name"]].drop_duplicates("analysis_id").itertuples(index=False)}
    out = {}
    for aid, group in rows[rows["subgroup_by"].notna()].groupby("analysis_id", sort=False):
        main_name = str(group["analysis_name"].iloc[0]).rsplit(": ", 1)[0]
        main = names.get((str(group["analysis_group"].iloc[0]), main_name))
        if main is not None and main != aid:
            out[aid] = (main, str(group["subgroup_by"].iloc[0]))
    return dict(sorted(out.items(), key=lambda kv: tuple(int(x) for x in kv[0].split("."))))


def _entries(rows: pd.DataFrame) -> list[tuple]:
    """The (study, arm data) of each row, sorted: what a copy must share with its main analysis."""
    values = rows[["study", *ALL_ARMS]].astype(object).where(rows[["study", *ALL_ARMS]].notna(), None)
    return sorted(tuple(r) for r in values.itertuples(index=False))


def copy_disagreements(dataset: Dataset) -> list[str]:
    """One sentence per subgroup copy whose studies or arm data differ from its main analysis (module doc)."""
    out = []
    for copy, (main, by) in subgroup_copies(dataset).items():
        mine, theirs = _entries(dataset.analysis(copy)), _entries(dataset.analysis(main))
        if mine == theirs:
            continue
        left_out = sorted({e[0] for e in theirs if e not in mine})
        extra = sorted({e[0] for e in mine if e not in theirs})
        parts = ([f"leaves out {', '.join(left_out)} of {main}"] if left_out else []) + \
                ([f"holds {', '.join(extra)} not in {main}"] if extra else [])
        out.append(f"{copy} (the {by} subgroup copy of {main}) {' and '.join(parts)}")
    return out


def added_studies(dataset: Dataset) -> tuple[str, ...]:
    """The studies :func:`add_rows` added to ``dataset`` (their ``notes`` say so), sorted."""
    notes = dataset.studies.set_index("study")["notes"].dropna()
    return tuple(sorted(s for s, n in notes.items() if str(n).startswith(ADDED_NOTE)))


def read_extra_rows(path: Path | str, dataset: Dataset) -> pd.DataFrame:
    """The extra rows of ``path`` checked against ``dataset`` (index = the file's line numbers); every problem
    is listed at once as ``<file>: row <line> (study '<s>'): column <c>: <problem>``."""
    path = Path(path)
    if not path.is_file():
        raise PackageError(f"{path}: no such file (--add-rows)")
    try:
        raw = pd.read_csv(path, dtype=object, keep_default_na=False, na_values=[""], encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise PackageError(f"{path}: not a readable CSV table: {' '.join(str(exc).split())}") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    raw.index = pd.RangeIndex(2, len(raw) + 2, name="line")
    copies = subgroup_copies(dataset)
    dims = sorted({by for _, by in copies.values()})
    known = set(STUDY_COLUMNS) | set(ALL_ARMS) | set(dims)
    problems = [(1, c, "required column missing") for c in ("analysis_id", "study", "n_e", "n_c") if c not in raw]
    problems += [(1, c, f"unknown column; allowed: {', '.join(sorted(known))}") for c in raw.columns if c not in known]
    if problems or raw.empty:
        raise ValidationError(str(path), problems or [(1, "-", "no rows to add")])
    analyses = dataset.analyses()
    for line, r in raw.iterrows():
        aid = str(r["analysis_id"]).strip() if r["analysis_id"] is not None else ""
        if aid in copies:
            problems.append((line, "analysis_id", f"{aid} is the {copies[aid][1]} subgroup copy of {copies[aid][0]}: "
                             f"give {copies[aid][0]} (the row is added to every copy of it)"))
            continue
        if aid not in analyses.index:
            problems.append((line, "analysis_id", f"{aid!r} is not an analysis of {dataset.label}"))
            continue
        if not r["study"]:
            problems.append((line, "study", "empty study label"))
        elif (dataset.analysis(aid)["study"] == r["study"]).any():
            problems.append((line, "study", f"already in analysis {aid}; give the added study its own label"))
        need = ARM_COLUMNS.get(analyses.loc[aid, "data_type"], ())
        problems += [(line, c, f"needed for {analyses.loc[aid, 'data_type']} analysis {aid}") for c in need
                     if c not in raw or r.get(c) is None]
        for copy, (main, by) in copies.items():
            if main == aid and (by not in raw or r.get(by) is None):
                known_sub = sorted(dataset.analysis(copy)["subgroup"].dropna().unique())
                problems.append((line, by, f"{copy} repeats {aid} by {by}: name the row's {by} subgroup "
                                 f"(as published: {'; '.join(known_sub)})"))
    if problems:
        raise ValidationError(str(path), problems, dict(zip(raw.index, raw["study"])))
    return raw


def _new_row(template: pd.Series, extra: pd.Series, subgroup=None, by=None) -> dict:
    row = {c: template[c] for c in ANALYSIS_COLUMNS if c in template}
    row |= {"analysis_id": template["analysis_id"], "subgroup": subgroup, "subgroup_by": by,
            "study": extra["study"], "year": extra.get("year"), "condition": extra.get("condition"),
            "design": extra.get("design"), "applicability": "SUBGROUP_AND_OVERALL"}  # fmt: skip
    return row | {c: extra.get(c) for c in ARM_COLUMNS[template["data_type"]]}


def _numeric(table: pd.DataFrame) -> pd.DataFrame:
    """Arm data and year as numbers; text that is not a number is left for validate_rows to name."""
    out = table.copy()
    for col in ALL_ARMS + ("year",):
        numbers = pd.to_numeric(out[col], errors="coerce")
        out[col] = numbers.where(numbers.notna() | out[col].isna(), out[col])
    return out


def add_rows(dataset: Dataset, path: Path | str) -> tuple[Dataset, list[str]]:
    """``dataset`` with the rows of ``path`` added to their analyses and every subgroup copy (module doc), and
    one line per added row saying where it went (``'New 2024' added to 1.1, 1.2 (duration: ≤1 day)``)."""
    extra = read_extra_rows(path, dataset)
    copies = subgroup_copies(dataset)
    new, main_rows, added = [], {}, []
    for line, r in extra.iterrows():
        aid = str(r["analysis_id"]).strip()
        main_rows[line] = _new_row(dataset.analysis(aid).iloc[0], r)
        new.append(main_rows[line])
        where = [aid]
        for copy, (main, by) in copies.items():
            if main == aid:
                new.append(_new_row(dataset.analysis(copy).iloc[0], r, r[by], by))
                where.append(f"{copy} ({by}: {r[by]})")
        added.append(f"{r['study']!r} added to {', '.join(where)}")
    checked = pd.DataFrame.from_records(list(main_rows.values()), index=pd.Index(list(main_rows), name="line"))
    validate_rows(_numeric(checked.reindex(columns=dataset.rows.columns)), source=str(path))  # rows = file lines
    table = _numeric(pd.DataFrame.from_records(new).reindex(columns=dataset.rows.columns))
    rows = validate_rows(pd.concat([dataset.rows, table], ignore_index=True), source=str(path))
    studies = dataset.studies
    fresh = [s for s in dict.fromkeys(extra["study"]) if s not in set(studies["study"])]
    if fresh:
        first = extra.drop_duplicates("study").set_index("study")
        info = rows[rows["study"].isin(fresh)].groupby("study", sort=False)
        records = [{"study": s, "year": pd.to_numeric(first.loc[s].get("year"), errors="coerce"),
                    "drug": info.get_group(s)["drug"].iloc[0], "route": info.get_group(s)["route"].iloc[0],
                    "comparator": info.get_group(s)["comparator"].iloc[0], "condition": first.loc[s].get("condition"),
                    "design": first.loc[s].get("design"), "n_randomised": np.nan,
                    "notes": f"{ADDED_NOTE}{Path(path).name}", "synthetic": dataset.synthetic,
                    "rob_overall": first.loc[s].get("rob_overall")} for s in fresh]  # fmt: skip
        studies = validate_studies(pd.concat([studies, pd.DataFrame.from_records(records)], ignore_index=True)
                                   .reindex(columns=studies.columns), source=str(path))  # fmt: skip
    note = f"{len(extra)} row(s) added from {paths.display(Path(path))}: " + "; ".join(added)
    out = dataclasses.replace(dataset, rows=rows, studies=studies.reset_index(drop=True),
                              warnings=(*dataset.warnings, note))
    sha = tables_sha256(out)
    origin = pinned_citation(dataset.review, dataset.sha256) or dataset.label
    return dataclasses.replace(out, label=derived_label(origin, sha), sha256=sha,
                               source=f"{dataset.source} + {paths.display(Path(path))}"), added

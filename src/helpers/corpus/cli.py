"""``python -m helpers.corpus FOLDER --out DIR [--jobs N]``: every review file of a folder, pooled and checked.

Writes ``DIR/reviews/<review>.csv`` (one row per analysis: :data:`helpers.corpus.review.ANALYSIS_COLUMNS`) and
``DIR/summary.csv`` (one row per file: :data:`helpers.corpus.review.SUMMARY_COLUMNS`), prints one line per
refused file and a short summary. ``DIR`` must be new, empty or a previous corpus output (``summary.csv`` and
``reviews/`` holding only CSV files): anything else is refused before a file is read, so nothing else is ever
overwritten. Files are processed ``--jobs`` at a time (one process each); the output is the same for any ``--jobs``.
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from helpers.core import paths
from helpers.core.errors import OneLineArgumentParser, RunFolderError, cli_main
from helpers.corpus.review import SUMMARY_COLUMNS, pool_review

SUMMARY = "summary.csv"
REVIEWS = "reviews"
PATTERNS = ("*.rda", "*.RData", "*-data-rows.csv", "*.zip")  # what load_dataset reads from a file


def review_files(folder: Path | str) -> list[Path]:
    """The review files of ``folder`` (``PATTERNS``), sorted by name; an error when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RunFolderError(f"FOLDER {folder}: is not a folder")
    files = sorted({p for pattern in PATTERNS for p in folder.glob(pattern) if p.is_file()}, key=lambda p: p.name)
    if not files:
        raise RunFolderError(f"FOLDER {folder}: holds no review file ({', '.join(PATTERNS)})")
    return files


def check_out(out: Path | str) -> Path:
    """``out`` as an absolute folder when it is new, empty or a previous corpus output; RunFolderError otherwise."""
    target = Path(out).expanduser()
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise RunFolderError(f"--out {out}: is a file or a symbolic link; give a folder - nothing was written")
    if paths.is_under_raw(target):
        raise RunFolderError(f"--out {out}: is under data/raw/, which code never writes")
    if target.is_dir() and any(target.iterdir()):
        names = {p.name for p in target.iterdir()}
        reviews = target / REVIEWS
        previous = SUMMARY in names and names <= {SUMMARY, REVIEWS} and (
            not reviews.exists() or all(p.is_file() and p.suffix == ".csv" for p in reviews.iterdir()))
        if not previous:
            raise RunFolderError(f"--out {out}: the folder is not empty and is not a corpus output ({SUMMARY} and "
                                 f"{REVIEWS}/ only); choose an empty or new folder - nothing was written")
    return target.resolve()


def _csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n", float_format="%.10g")


def map_files(function, files: list[Path], jobs: int = 1) -> list:
    """``[function(f) for f in files]``, in file order, with ``jobs`` processes when ``jobs`` > 1 (``function``
    defined at module level, so that it can be sent to them); chunks of about an eighth of a job's share."""
    if jobs <= 1:
        return [function(f) for f in files]
    with ProcessPoolExecutor(max_workers=min(jobs, len(files))) as pool:
        return list(pool.map(function, files, chunksize=max(1, len(files) // (8 * jobs))))


def run_corpus(folder: Path | str, out: Path | str, jobs: int = 1) -> pd.DataFrame:
    """Pool every review of ``folder`` into ``out`` (see the module docstring); return the summary table."""
    files = review_files(folder)
    target = check_out(out)
    results = map_files(pool_review, files, jobs)
    reviews = target / REVIEWS
    reviews.mkdir(parents=True, exist_ok=True)
    for old in reviews.glob("*.csv"):  # a previous corpus output's tables (checked above: CSV files only)
        old.unlink()
    for row, table in results:
        if table is not None:
            _csv(table, reviews / f"{row['review']}.csv")
    summary = pd.DataFrame.from_records([row for row, _ in results]).reindex(columns=list(SUMMARY_COLUMNS))
    _csv(summary, target / SUMMARY)
    return summary


def summary_lines(summary: pd.DataFrame) -> list[str]:
    """One line per file not loaded (review: reason), then the totals."""
    lines = [f"{r.status} {r.review}: {r.reason}" for r in summary.itertuples() if r.status != "loaded"]
    loaded = summary[summary["status"] == "loaded"]
    compared, ok = loaded["study_values_compared"].sum(), loaded["study_values_reproduced"].sum()
    share = f" ({100 * ok / compared:.2f} %)" if compared else ""
    lines.append(f"{len(loaded)}/{len(summary)} files loaded, {len(summary) - len(loaded)} not; "
                 f"{int(loaded['analyses_pooled'].sum())}/{int(loaded['analyses'].sum())} analyses pooled, "
                 f"{int(loaded['settings_flagged'].sum())} with settings no candidate reproduces (flagged); "
                 f"RevMan's per-study values reproduced: {int(ok)}/{int(compared)}{share}")
    return lines


@cli_main
def main(argv: list[str] | None = None) -> int:
    p = OneLineArgumentParser(prog="python -m helpers.corpus", description=__doc__.splitlines()[0])
    p.add_argument("folder", type=Path, help="folder of review files (.rda, *-data-rows.csv, .zip)")
    p.add_argument("--out", type=Path, required=True, help="output folder (new, empty or a previous corpus output)")
    p.add_argument("--jobs", type=int, default=1, help=f"processes (default 1; this machine: {os.cpu_count()})")
    args = p.parse_args(argv)
    if args.jobs < 1:
        p.error(f"--jobs must be at least 1; got {args.jobs}")
    summary = run_corpus(args.folder, args.out, args.jobs)
    print("\n".join(summary_lines(summary)))
    print(f"tables: {Path(args.out) / REVIEWS}/<review>.csv; summary: {Path(args.out) / SUMMARY}")
    return 0

"""Corpus mode: every review of the Pairwise70 folder loaded, settled, pooled and checked; metafor alike on its analyses.

Run: ``.venv/bin/python benchmarks/corpus.py [--quick] [--json PATH] [--folder DIR] [--jobs N]`` (a script, not a
test; ``--quick``: ``QUICK_FILES`` files of small size, the first tenth's largest by bytes, one process). Default folder:
``../shared/fixtures/pairwise70/data`` (400 real reviews; the issue's aim: the whole folder in under 2 minutes on
2 cores). Two measurements:

- the corpus run itself (:func:`helpers.corpus.cli.run_corpus`: read, settings inference, pooling every analysis
  with its inferred settings, the concordance with RevMan's per-study values, the CSVs written), wall time with
  ``--jobs`` processes; no peer does this whole job, so no peer is timed;
- like for like with metafor: the same analyses' ``yi``/``vi`` (every analysis with two or more estimable
  studies, effect sizes with its inferred measure; read off the same files as the corpus run reads them, with
  ``--jobs`` processes, before timing), pooled REML + HKSJ at the same tolerance and ``CORPUS_REPEATS`` passes, the engine in one :func:`helpers.stats.batch.pool_batch` call and as a loop of ``pool``, metafor as
  a loop of ``rma`` in one R process: the timing code of ``benchmarks/engine.py`` (``run_small``,
  ``run_metafor``), reused, so the rules are the same.
"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd
from _common import Report, Row, emit, parser
from engine import REML_TOL, run_metafor, run_small

from helpers.core import paths
from helpers.core.checks import InputError
from helpers.corpus.cli import map_files, review_files, run_corpus
from helpers.data.dataset import load_dataset
from helpers.data.tidy import iter_analyses
from helpers.run.manifest import portable_path
from helpers.stats.effects import effect_sizes
from helpers.stats.infer import settle
from helpers.stats.settings import analysis_arguments

FOLDER = paths.SHARED / "fixtures" / "pairwise70" / "data"
QUICK_FILES = 3
#: Timed passes over the corpus' analyses, engine and metafor alike (metafor's loop of rma over the ~8,700
#: analyses with k >= 2 takes about a minute a pass here, so fewer than benchmarks/engine.py's REPEATS).
CORPUS_REPEATS = 1


def file_yi_vi(path: Path) -> list[pd.DataFrame]:
    """``group, yi, vi`` of every analysis of one file with at least two estimable studies (none if refused)."""
    frames = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = settle(load_dataset(path))
        except Exception:  # refused files are the corpus run's business, counted there
            return frames
        for aid, _, rows in iter_analyses(ds):
            rows, kwargs, _ = analysis_arguments(rows)
            try:
                es = effect_sizes(rows.reset_index(drop=True), kwargs["measure"])
            except (InputError, ValueError):
                continue
            es = es[es["yi"].notna() & es["vi"].notna()]
            if len(es) >= 2:
                frames.append(pd.DataFrame({"group": f"{path.name}/{aid}", "yi": es["yi"], "vi": es["vi"]}))
    return frames


def analyses_yi_vi(files: list[Path], jobs: int = 1) -> pd.DataFrame:
    """Long columns ``group, yi, vi``: every analysis of ``files`` with at least two estimable studies, the
    files read as the corpus run reads them (:func:`file_yi_vi`), ``jobs`` processes at a time; groups numbered
    in file order whatever ``jobs``."""
    parts = map_files(file_yi_vi, files, jobs)
    frame = pd.concat([f for part in parts for f in part], ignore_index=True)
    frame["group"] = pd.factorize(frame["group"])[0]
    return frame


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--folder", type=Path, default=FOLDER, help="folder of review files (default: Pairwise70)")
    p.add_argument("--jobs", type=int, default=None, help="processes for the corpus run (default: 1 quick, 2 full)")
    p.add_argument("--out", type=Path, default=None, help="keep the corpus output there (default: a temporary folder)")
    args = p.parse_args(argv)
    if not args.folder.is_dir():
        print(f"error: corpus folder {args.folder} not found (the shared fixture pairwise70); nothing measured",
              file=sys.stderr)
        return 2
    files = review_files(args.folder)
    if args.quick:  # seconds, not minutes: small files, yet with analyses of two studies or more
        by_size = sorted(files, key=lambda f: (f.stat().st_size, f.name))
        files = sorted(by_size[len(by_size) // 10 - QUICK_FILES:len(by_size) // 10] or by_size[:QUICK_FILES])
    jobs = args.jobs or (1 if args.quick else 2)
    repeats = CORPUS_REPEATS
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        for f in files:
            (folder / f.name).symlink_to(f.resolve())
        start = time.perf_counter()
        summary = run_corpus(folder, args.out or Path(tmp) / "out", jobs)
        corpus_s = time.perf_counter() - start
    loaded = summary[summary["status"] == "loaded"]
    compared, ok = int(loaded["study_values_compared"].sum()), int(loaded["study_values_reproduced"].sum())
    start = time.perf_counter()
    small = analyses_yi_vi(files, jobs)
    read_s = time.perf_counter() - start
    n = int(small["group"].nunique())
    batch_s, loop_s, not_converged = run_small(small, repeats)
    r = run_metafor({"small": small}, repeats)
    peer = f"metafor {r[1]}" if r else "metafor (Rscript not available)"
    metafor_s = r[0]["small"] if r else float("nan")
    report = Report("corpus.py", rows=[
        Row(f"corpus mode, {len(files)} review files, --jobs {jobs}", corpus_s, "", float("nan"),
            "400 files < 120 s on 2 cores"),
        Row(f"the corpus' {n} analyses (k >= 2), REML + HKSJ, pool_batch", batch_s, peer, metafor_s,
            "faster than metafor"),
        Row(f"the corpus' {n} analyses (k >= 2), REML + HKSJ, loop of pool", loop_s, peer, metafor_s,
            "(reference: the per-analysis path)"),
    ], notes=[
        f"corpus: {portable_path(args.folder)} ({len(files)} files): {len(loaded)} loaded, {len(summary) - len(loaded)} not; "
        f"{int(loaded['analyses'].sum())} analyses; RevMan's per-study values reproduced {ok}/{compared}",
        f"corpus mode: read + settings inference + pooling + concordance + CSVs, wall time with {jobs} process(es)",
        f"like for like: the same {n} analyses' yi/vi ({len(small)} study rows; read off the same files as the "
        f"corpus run reads them, {jobs} process(es), {read_s:.0f} s, not timed), REML "
        f"tolerance {REML_TOL:g}, best of {repeats} pass(es) both sides; REML did not converge in {not_converged}; "
        "metafor as a loop "
        "of rma in one R process (benchmarks/engine.py's timing code)",
    ])
    emit(report, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Seeded generator of the synthetic default dataset, in the real review's shape, as a Cochrane data package.

The package has the shape of Ferraro et al. 2025 (CD015373.pub2) as its review map records it (``shape:`` in
``data/reviews/cd015373.yaml``, written by ``scripts/review_shape.py``): the same 13 comparisons (drug x route x
comparator), the same 95 analyses with their data types, settings, subgroup analyses (duration of
administration, clinical condition, dose) and the same number of trials per analysis, plus the trials with
no data rows, so 67 trials and 2,309 participants. Every value is generated: it is NOT evidence. Every study
label starts ``SYN-`` and every study's notes say ``SYNTHETIC - not real trial data``.

Method (docs/synthetic-data.md): trials are drawn by :mod:`helpers.synthetic.trials`, arm-level values by
:mod:`helpers.synthetic.values` from one ``numpy.random.Generator(PCG64(seed))`` in a fixed order (analyses in
order, rows in order; a subgroup analysis reuses the rows of the analysis it splits); three intravenous
ketamine analyses are calibrated to the published results; the published columns are filled by
:func:`helpers.synthetic.publish.fill_estimates` (recomputation with :mod:`helpers.stats.meta`) and the package
is written by :mod:`helpers.data.writer`.

Regenerate the committed copy: ``make synthetic`` (the only command that writes data/raw/).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from helpers.core.checks import DataWarning
from helpers.core.errors import OneLineArgumentParser, cli_main
from helpers.core.results import ResultMixin
from helpers.data import writer
from helpers.synthetic import values
from helpers.synthetic.publish import SYNTHETIC_NOTE, arm_tables, fill_estimates
from helpers.synthetic.shape import load_shape
from helpers.synthetic.trials import DRUG_CODES, draw_trials

SEED = 20251
PACKAGE_ID = "000000000000000001"
PACKAGE_NAME = "synthetic-cd015373"
REVIEW = "cd015373"
CALIBRATION_TARGETS = values.CALIBRATION_TARGETS
CALIBRATION_TOLERANCE = values.CALIBRATION_TOLERANCE
ZIP_DATE = writer.ZIP_DATE
__all__ = ["SEED", "PACKAGE_ID", "PACKAGE_NAME", "SYNTHETIC_NOTE", "SyntheticPackage", "generate", "write_package",
           "write_package_zip", "main"]  # fmt: skip


@dataclass(frozen=True, repr=False)
class SyntheticPackage(ResultMixin):
    """The generated package: file bytes keyed by relative path, counts, calibration and warnings."""

    seed: int
    package_id: str
    n_studies: int
    n_participants: int
    n_ketamine: int
    n_analyses: int
    n_with_data: int
    files: tuple = field(repr=False)  # ((relative path, bytes), ...) sorted by path
    calibration: tuple = field(repr=False)  # values.Calibration, ...
    warnings: tuple = ()

    def calibration_table(self) -> str:
        """Markdown table of the calibration (pasted into docs/synthetic-data.md by ``--report``)."""
        lines = ["| analysis | k | published | synthetic | estimate error | CI width error |",
                 "|---|---|---|---|---|---|"]  # fmt: skip
        for c in self.calibration:
            lines.append(
                f"| {c.analysis} | {c.k} | {c.target:.2f} ({c.target_ci_low:.2f} to {c.target_ci_high:.2f}) | "
                f"{c.estimate:.2f} ({c.ci_low:.2f} to {c.ci_high:.2f}) | {100 * c.estimate_error:.1f}% | "
                f"{100 * c.width_error:.1f}% |"
            )
        return "\n".join(lines)


def _analyses(shape, trials, rng, calibrations):
    """(AnalysisShape, [(subgroup, trial, footnote, values)]) per analysis, in the shape's order."""
    by_slot = {t.slot: t for t in trials if t.slot is not None}
    cache: dict[tuple, tuple] = {}  # (slot, stratum, group, base name) -> (draw, values)
    out = []
    for a in shape.analyses:
        seen: dict[str, int] = {}
        keys = []
        for _, slot in a.rows:
            seen[slot] = seen.get(slot, 0) + 1
            keys.append((slot, seen[slot], a.group, a.base))
        fresh = [k for k in keys if k not in cache]
        draws = {k: values.draw(rng) for k in fresh}
        if fresh:
            new_trials = [by_slot[k[0]] for k in fresh]
            shift = None
            if a.analysis_id in values.CALIBRATION_TARGETS:
                if len(fresh) != len(keys):
                    raise ValueError(f"calibrated analysis {a.analysis_id} must be the first with its rows")
                shift, record = values.calibrate(a, new_trials, [draws[k] for k in fresh])
                calibrations.append(record)
            for k, v in zip(fresh, values.rows(a, new_trials, [draws[k] for k in fresh], shift)):
                cache[k] = v
        strata = {slot: n for slot, n in seen.items() if n > 1}
        entries = []
        for (sg, slot), k in zip(a.rows, keys):
            t = by_slot[slot]
            notes = []
            if slot in strata:
                notes.append(f"Stratum {k[1]} of {strata[slot]}, entered separately (synthetic)")
            if t.design == "crossover":
                notes.append("First period of a crossover trial (synthetic)")
            entries.append((sg, t, ". ".join(notes) + "." if notes else None, cache[k]))
        out.append((a, entries))
    return out


def generate(seed: int = SEED) -> SyntheticPackage:
    """Generate the synthetic package in memory (file bytes), deterministically from ``seed``.

    Warnings the engine raises while filling the published estimates (zero cells, double-zero studies,
    single-study subgroups) are re-issued once each with ``warnings.warn`` and kept in ``.warnings``.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    shape = load_shape(REVIEW)
    rng = np.random.Generator(np.random.PCG64(int(seed)))
    trials = draw_trials(rng, shape)
    calibrations: list = []
    analyses = _analyses(shape, trials, rng, calibrations)
    raw, notes = fill_estimates(arm_tables(PACKAGE_ID, PACKAGE_NAME, trials, analyses, int(seed)))
    for note in notes:
        warnings.warn(note, DataWarning, stacklevel=2)
    return SyntheticPackage(
        seed=int(seed),
        package_id=PACKAGE_ID,
        n_studies=len(trials),
        n_participants=sum(t.n for t in trials),
        n_ketamine=sum(t.drug == "ketamine" for t in trials),
        n_analyses=len(analyses),
        n_with_data=sum(t.slot is not None for t in trials),
        files=tuple(sorted(writer.package_files(raw).items())),
        calibration=tuple(calibrations),
        warnings=tuple(notes),
    )


def write_package(out: Path | str, seed: int = SEED, *, allow_raw: bool = False,
                  package: SyntheticPackage | None = None) -> Path:
    """Write the unpacked package (``<id>-study-data/``, ``<id>-analysis-data/``) into folder ``out``.

    Refuses ``data/raw/`` unless ``allow_raw=True`` (``make synthetic``, the one-off regeneration).
    """
    package = generate(seed) if package is None else package
    return writer.write_folder(dict(package.files), out, allow_raw=allow_raw)


def write_package_zip(out_zip: Path | str, seed: int = SEED, *, package: SyntheticPackage | None = None) -> Path:
    """Write the package as the Cochrane Library serves it: ``<name>/<id>-files/<id>-data.zip`` in a zip."""
    package = generate(seed) if package is None else package
    return writer.write_zip(dict(package.files), out_zip, PACKAGE_NAME, PACKAGE_ID)


@cli_main
def main(argv: list[str] | None = None) -> int:
    parser = OneLineArgumentParser(prog="python -m helpers.synthetic", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder to write the unpacked package into")
    parser.add_argument("--zip", type=Path, help="also write the zip-inside-zip package to this file")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--allow-raw", action="store_true", help="allow --out under data/raw/ (make synthetic)")
    parser.add_argument("--report", action="store_true", help="print counts and the calibration table (markdown)")
    args = parser.parse_args(argv)
    if args.out is None and args.zip is None and not args.report:
        parser.error("give --out DIR, --zip FILE and/or --report")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kept in package.warnings
        package = generate(args.seed)
    if args.out is not None:
        print(write_package(args.out, args.seed, allow_raw=args.allow_raw, package=package))
    if args.zip is not None:
        print(write_package_zip(args.zip, args.seed, package=package))
    if args.report:
        print(f"studies: {package.n_studies} ({package.n_with_data} with data rows); participants: "
              f"{package.n_participants}; ketamine trials: {package.n_ketamine}; analyses: {package.n_analyses}\n")
        print(package.calibration_table())
    return 0

"""Wall time of the full notebook run against its floor (N kernel starts in sequence).

The floor is what papermill needs just to start and stop a kernel once per execution of the plan (the
per-drug notebooks run once per drug, ``helpers.run.runner.plan_executions``), one after another: executing an
empty notebook N times. The full run is ``helpers.run.runner.run_set`` over the set with
``--jobs`` processes. Aim: full run within 3x the floor on the 2-core reference machine.

    python benchmarks/run.py [--jobs 2] [--repeat 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import papermill as pm

from helpers.run import runner


def kernel_floor(n: int, kernel: str, workdir: Path) -> float:
    """Seconds to execute an empty notebook ``n`` times in sequence (kernel start + stop each time)."""
    empty = nbformat.v4.new_notebook()
    empty.cells = [nbformat.v4.new_code_cell("pass")]
    source = workdir / "empty.ipynb"
    nbformat.write(empty, source)
    start = time.perf_counter()
    for i in range(n):
        pm.execute_notebook(str(source), str(workdir / f"empty-{i}.ipynb"), kernel_name=kernel, progress_bar=False)
    return time.perf_counter() - start


def full_run(jobs: int, workdir: Path) -> tuple[float, int]:
    """(seconds, number of executions) of the default run set."""
    start = time.perf_counter()
    result = runner.run_set(workdir / "run", jobs=jobs)
    return time.perf_counter() - start, len(result.outcomes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="repetitions; the median is reported")
    args = parser.parse_args(argv)
    floors, fulls = [], []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory(prefix="nmda-bench-") as tmp:
            seconds, n = full_run(args.jobs, Path(tmp))  # n: the executions of the plan, as run
            fulls.append(seconds)
            floors.append(kernel_floor(n, runner.KERNEL_NAME, Path(tmp)))
    floor, full = statistics.median(floors), statistics.median(fulls)
    print(f"floor ({n} kernel starts in sequence, {floor / n:.2f} s each): {floor:6.1f} s")
    print(f"full run (--jobs {args.jobs}):            {full:6.1f} s")
    print(f"ratio full/floor:                  {full / floor:6.2f}  (aim <= 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What every benchmark script shares: the ``--quick`` / ``--json`` options and the one table they print.

A benchmark script is any ``benchmarks/*.py`` whose name does not start with ``_`` (:func:`scripts`). Each takes
``--quick`` (a small size that runs in seconds: ``tests/test_benchmarks.py`` runs it in ``make test``, so a script
that breaks fails the suite) and ``--json PATH`` (its rows, for ``benchmarks/_all.py``, which ``make benchmark``
runs to print one table for all of them). A row says what was measured, our seconds, the peer measured in the
same run (metafor, or the floor a run cannot go below) and its seconds, the ratio ours/peer and the aim.
Speed is measured here, never asserted in timed tests.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Scripts ``make benchmark`` leaves to their own target (they run the test suite itself).
SEPARATE = {"test_suite.py": "make benchmark-tests"}
COLUMNS = ("measured", "ours_s", "peer", "peer_s", "ratio", "aim")


def scripts() -> list[Path]:
    """Every benchmark script: ``benchmarks/*.py`` not starting with ``_``, sorted."""
    return sorted(p for p in HERE.glob("*.py") if not p.name.startswith("_"))


@dataclass(frozen=True)
class Row:
    """One measurement: ``ours_s`` seconds against the peer's ``peer_s`` (NaN when the peer was not timed)."""

    measured: str
    ours_s: float
    peer: str = ""
    peer_s: float = math.nan
    aim: str = ""

    @property
    def ratio(self) -> float:
        return self.ours_s / self.peer_s if self.peer_s and math.isfinite(self.peer_s) else math.nan


@dataclass
class Report:
    """A script's rows, the full run's stages (name -> seconds) and free-text notes (settings, machine, load)."""

    script: str
    rows: list[Row] = field(default_factory=list)
    stages: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"script": self.script, "rows": [asdict(r) | {"ratio": r.ratio} for r in self.rows],
                "stages": self.stages, "notes": self.notes}


def parser(description: str) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark script takes."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="small size, a few seconds (what make test runs)")
    p.add_argument("--json", type=Path, help="also write the rows to this JSON file (benchmarks/_all.py)")
    return p


def machine() -> str:
    """The machine and its load, said with every table (timings mean little without it)."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"machine: {os.cpu_count()} cores, load average {load} (1, 5, 15 min) at the end of the run"


def number(x: float, digits: int = 3) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:.2g}" if 0 < abs(x) < 10 ** -digits else f"{x:.{digits}f}"  # 0.00042, not 0.00


def format_table(rows: list[Row]) -> str:
    """The table: measured | ours (s) | peer | peer (s) | ours/peer | aim."""
    cells = [("measured", "ours (s)", "peer", "peer (s)", "ours/peer", "aim")]
    cells += [(r.measured, number(r.ours_s), r.peer or "-", number(r.peer_s), number(r.ratio, 2), r.aim or "-")
              for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(c.ljust(w) if i in (0, 2, 5) else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths)))
             for line in cells]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def format_stages(stages: dict[str, float]) -> str:
    total = sum(stages.values())
    return "\n".join(f"  {name:<46} {seconds:8.1f} s  {100 * seconds / total:5.1f} %"
                     for name, seconds in stages.items()) if total else "  (no stages)"


def emit(report: Report, args: argparse.Namespace) -> None:
    """Print the report (table, stages, notes) and write it to ``args.json`` when given."""
    report.notes.append(machine())
    print(format_table(report.rows))
    if report.stages:
        print("stages of the full run (seconds summed over executions):")
        print(format_stages(report.stages))
    for note in report.notes:
        print(f"  {note}")
    if args.json is not None:
        args.json.write_text(json.dumps(report.to_json(), indent=1, allow_nan=True))

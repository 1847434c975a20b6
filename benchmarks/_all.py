"""`make benchmark`: run every benchmark script (benchmarks/_common.scripts) and print one table.

    python benchmarks/_all.py [--quick] [--json PATH] [--readme README.md]

Each script runs in its own process with ``--json``; its rows, the full run's stages and the notes are gathered
into one table. Scripts that run the test suite itself (``_common.SEPARATE``) have their own make target.
``--json``: everything gathered, in one file. ``--readme``: the measurement written into that Markdown file
between ``README_START`` and ``README_END`` (the README's Performance section: ``make benchmark README=1``),
with the date and the machine's load at the start and the end, so the numbers are updated by re-running it.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from _common import Row, format_stages, format_table, machine, parser, scripts, SEPARATE, number

README_START = "<!-- benchmark table: written by `python benchmarks/_all.py --readme README.md`; edit there -->"
README_END = "<!-- benchmark table: end -->"


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def markdown(reports: list[dict], rows: list[Row], *, when: str, load_start: str, load_end: str) -> str:
    """The measurement as Markdown: the machine and its load, the table, the full run's stages, the notes."""
    lines = [f"Measured {when} on {os.cpu_count()} cores; load average (1, 5, 15 min) {load_start} at the start, "
             f"{load_end} at the end (other work on the machine inflates every wall time); scripts: "
             + ", ".join(rep["script"] for rep in reports) + ".", "",
             "| measured | ours (s) | peer | peer (s) | ours/peer | aim |", "|---|---:|---|---:|---:|---|"]
    lines += [f"| {r.measured} | {number(r.ours_s)} | {r.peer or '-'} | {number(r.peer_s)} | {number(r.ratio, 2)} | "
              f"{r.aim or '-'} |" for r in rows]
    for rep in reports:
        if rep["stages"]:
            total = sum(rep["stages"].values())
            lines += ["", f"Stages of the full run ({rep['script']}; seconds summed over executions):", "",
                      "| stage | seconds | share |", "|---|---:|---:|"]
            lines += [f"| {name} | {sec:.1f} | {100 * sec / total:.1f} % |" for name, sec in rep["stages"].items()]
    notes = [f"{rep['script']}: {note}" for rep in reports for note in rep["notes"] if not note.startswith("machine:")]
    if notes:
        lines += ["", *(f"- {note}" for note in notes)]
    return "\n".join(lines)


def write_readme(path: Path, text: str) -> None:
    """Replace what lies between ``README_START`` and ``README_END`` in ``path`` by ``text``."""
    content = path.read_text(encoding="utf-8")
    if content.count(README_START) != 1 or content.count(README_END) != 1:
        raise SystemExit(f"{path}: needs the lines {README_START!r} and {README_END!r} once each")
    head, rest = content.split(README_START)
    tail = rest.split(README_END)[1]
    path.write_text(f"{head}{README_START}\n{text}\n{README_END}{tail}", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--readme", type=Path, help="write the measurement into this Markdown file's marked section")
    args = p.parse_args(argv)
    when, load_start = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), _load()
    reports, failed = [], []
    with tempfile.TemporaryDirectory(prefix="nmda-bench-") as tmp:
        for script in scripts():
            if script.name in SEPARATE:
                continue
            out = Path(tmp) / f"{script.stem}.json"
            cmd = [sys.executable, str(script), "--json", str(out)] + (["--quick"] if args.quick else [])
            print(f"running {script.name}{' --quick' if args.quick else ''} ...", flush=True)
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0 or not out.is_file():
                failed.append(f"{script.name} failed (exit {done.returncode}): {done.stderr.strip()[-800:]}")
                continue
            reports.append(json.loads(out.read_text()))
    rows = [Row(**{k: (math.nan if v is None else v) for k, v in r.items() if k != "ratio"})
            for rep in reports for r in rep["rows"]]
    print()
    print(format_table(rows))
    for rep in reports:
        if rep["stages"]:
            print(f"stages of the full run ({rep['script']}; seconds summed over executions):")
            print(format_stages(rep["stages"]))
    for rep in reports:
        for note in rep["notes"]:
            if not note.startswith("machine:"):
                print(f"  {rep['script']}: {note}")
    print(f"  {machine()}")
    for name, target in SEPARATE.items():
        print(f"  {name}: not run here (it runs the test suite): {target}")
    for message in failed:
        print(f"FAILED {message}", file=sys.stderr)
    if args.json is not None:
        args.json.write_text(json.dumps({"when": when, "load_start": load_start, "load_end": _load(),
                                         "reports": reports, "failed": failed}, indent=1, allow_nan=True))
    if args.readme is not None and not failed:
        write_readme(args.readme, markdown(reports, rows, when=when, load_start=load_start, load_end=_load()))
        print(f"  the measurement is written into {args.readme}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

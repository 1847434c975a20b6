"""`make benchmark`: run every benchmark script (benchmarks/_common.scripts) and print one table.

    python benchmarks/_all.py [--quick]

Each script runs in its own process with ``--json``; its rows, the full run's stages and the notes are gathered
into one table. Scripts that run the test suite itself (``_common.SEPARATE``) have their own make target.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import Row, format_stages, format_table, machine, parser, scripts, SEPARATE


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
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
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

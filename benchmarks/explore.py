"""Explorer redraw time: one control change -> recompute (helpers.stats.meta) + re-render forest and funnel PNGs.

Python side only (what a Voila kernel does per change; the browser then swaps two images). Target: < 1 s.

    .venv/bin/python benchmarks/explore.py [--repeat 3] [--quick] [--json PATH]

``--quick``: the first three changes, one pass (what make test runs).
"""

from __future__ import annotations

import statistics
import time
import warnings

from _common import Report, Row, emit, parser

from helpers.data.dataset import load_dataset
from helpers.explore.app import ExplorerApp

#: (control, value) changes applied in order on the default (synthetic) dataset.
CHANGES = (
    ("estimator", "DL"), ("estimator", "PM"), ("ci", "hksj"), ("estimator", "FE"), ("estimator", "REML"),
    ("drug", "memantine"), ("drug", "dextromethorphan"), ("drug", "ketamine"), ("outcome", "any_adverse_event"),
    ("rob", "exclude_high"), ("rob", "all"), ("outcome", "pain_intensity"),
)


def _widget(app: ExplorerApp, name: str):
    return app.fields[name] if name in app.fields else getattr(app, name)


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, help="passes over the list of changes (default 3)")
    args = p.parse_args(argv)
    changes, repeat = (CHANGES[:3], 1) if args.quick else (CHANGES, args.repeat)
    warnings.simplefilter("ignore")  # the app records warnings in its status line
    t0 = time.perf_counter()
    app = ExplorerApp(load_dataset())
    startup = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        for name, value in changes:
            widget = _widget(app, name)
            allowed = [v if not isinstance(v, tuple) else v[1] for v in widget.options]
            if value not in allowed or widget.value == value:
                continue
            start = time.perf_counter()
            widget.value = value
            times.append(time.perf_counter() - start)
            if app.error:
                print(f"  {name}={value}: {app.error}")
    emit(Report("explore.py", rows=[
        Row("explorer start-up (load dataset + first draw)", startup),
        Row(f"explorer: one control change, median of {len(times)}", statistics.median(times), aim="< 1 s"),
        Row(f"explorer: one control change, max of {len(times)}", max(times), aim="< 1 s"),
    ]), args)


if __name__ == "__main__":
    main()

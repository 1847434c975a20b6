"""Explorer speed, like for like on the synthetic default and the review's own data rows: the same selection and
the same changes on both (the review's analysis 1.1 first, then estimator, CI, RoB filter, analyses, the
adverse-event tab, another comparison).

Python side (what the Voila kernel does): the imports, once (so that both datasets are timed without them); load
the data; build the app up to its first pooled number (the
review's analysis 1.1 with the review's settings, the explanation, forest and funnel drawn); then one control
change after another (recompute, explain against the review, redraw). Aims: first number < 5 s, each redraw < 1 s.
Voila pre-heats the kernel (helpers.explore.server), so the load and the first number are done before a page is
opened; ``--browser`` times the page as a student sees it (Voila + Debian's chromium): server start to first
number (cold), and a later page load to first number (the pre-heated kernel). The real rows' rows name the
synthetic time of the same measurement as their peer.

    .venv/bin/python benchmarks/explore.py [--real FILE] [--repeat 2] [--browser] [--quick] [--json PATH]

``--quick``: the synthetic data, three changes, one pass (what make test runs).
"""

from __future__ import annotations

import importlib
import statistics
import time
import warnings
from pathlib import Path

from _common import Report, Row, emit, parser

from helpers.core import paths
from helpers.explore import server
from helpers.explore.app import ExplorerApp, load_quietly

#: (control, value) changes applied in order, the same on every dataset (the review's structure: 1.x, 7.x).
CHANGES = (
    ("estimator", "REML"), ("ci", "hksj"), ("estimator", "PM"), ("estimator", "FE"), ("estimator", "DL"),
    ("ci", "z"), ("rob", "d1_low"), ("rob", "all"), ("analysis", "1.4"), ("analysis", "1.9"), ("tabs", 1),
    ("comparison", "7"), ("tabs", 0), ("comparison", "1"),
)
QUICK_CHANGES = (("estimator", "REML"), ("ci", "hksj"), ("analysis", "1.4"))
FIRST_AIM, REDRAW_AIM = "< 5 s", "< 1 s"
#: What a kernel imports on its first draw, timed on their own so that neither dataset is charged with them.
WARM_IMPORTS = ("helpers.stats.meta", "helpers.figures.forest", "helpers.figures.funnel", "helpers.figures.adverse")


def _set(app: ExplorerApp, name: str, value) -> bool:
    """Apply one change through the widget, as a click does; False when the value is not offered or already set."""
    if name == "tabs":
        if app.tabs.selected_index == value:
            return False
        app.tabs.selected_index = value
        return True
    widget = getattr(app, name)
    allowed = [v[1] if isinstance(v, tuple) else v for v in widget.options]
    if value not in allowed or widget.value == value:
        return False
    widget.value = value
    return True


def python_side(path: Path | None, changes, repeat: int, notes: list[str]) -> dict:
    """Seconds to load, to the first pooled number, and per change, for the data at ``path`` (None: synthetic)."""
    t0 = time.perf_counter()
    dataset = load_quietly(path)
    t1 = time.perf_counter()
    app = ExplorerApp(dataset)
    t2 = time.perf_counter()
    if app.result is None:
        raise RuntimeError(f"no first number on {dataset.label}: {app.error}")
    notes.append(f"{dataset.label}: first number {app.result.headline} (analysis {app.result.analysis})")
    times = []
    for _ in range(repeat):
        for name, value in changes:
            start = time.perf_counter()
            if _set(app, name, value):
                times.append(time.perf_counter() - start)
                if app.error:
                    notes.append(f"{dataset.label}: {name}={value}: {app.error}")
    return {"load": t1 - t0, "first": t2 - t1, "redraws": times}


def browser_side(path: Path | None) -> tuple[float, float]:
    """(cold, warm) seconds to the first pooled number on the page, Voila + chromium."""
    from playwright.sync_api import sync_playwright

    selector = ".nmda-pooled-estimate [data-estimate]"
    t0 = time.perf_counter()
    process, url = server.start(data=path)
    try:
        server.wait_until_ready(url + server.READY_PATH, timeout=120, process=process)
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                          args=["--no-sandbox", "--headless", "--disable-gpu"])
            page = chromium.new_page()
            page.goto(url, timeout=300_000)
            page.wait_for_selector(selector, timeout=300_000)
            cold = time.perf_counter() - t0
            page.close()
            time.sleep(max(30.0, cold))  # let Voila pre-heat the next kernel (as long as the first took), as
            # between two students; a page opened earlier waits for that kernel
            page = chromium.new_page()
            t1 = time.perf_counter()
            page.goto(url, timeout=300_000)
            page.wait_for_selector(selector, timeout=300_000)
            warm = time.perf_counter() - t1
            chromium.close()
    finally:
        server.stop(process)
    return cold, warm


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--real", type=Path, default=paths.SHARED_REAL_ROWS,
                   help="the review's data rows (.rda; default: the ../shared fixture, when present)")
    p.add_argument("--repeat", type=int, default=2, help="passes over the list of changes (default 2)")
    p.add_argument("--browser", action="store_true", help="also time page loads in chromium (Voila)")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")  # the app records warnings in its status line
    changes, repeat = (QUICK_CHANGES, 1) if args.quick else (CHANGES, args.repeat)
    report = Report("explore.py")
    datasets = {"synthetic": None}
    if not args.quick and args.real.exists():
        datasets["real rows"] = args.real
    elif not args.quick:
        report.notes.append(f"real rows not found at {args.real}: synthetic only")
    t0 = time.perf_counter()
    for module in WARM_IMPORTS:
        importlib.import_module(module)

    report.rows.append(Row("explorer: imports (engine, figures), once per kernel", time.perf_counter() - t0))
    seen: dict[str, float] = {}
    for name, path in datasets.items():
        r = python_side(path, changes, repeat, report.notes)
        measured = {
            "load the data": (r["load"], ""),
            "first pooled number (app built, figures drawn)": (r["first"], FIRST_AIM + " (before the page: pre-heated)"),
            f"one change, median of {len(r['redraws'])}": (statistics.median(r["redraws"]), REDRAW_AIM),
            f"one change, max of {len(r['redraws'])}": (max(r["redraws"]), REDRAW_AIM),
        }
        if args.browser:
            cold, warm = browser_side(path)
            measured["page: server start to first number (cold)"] = (cold, "")
            measured["page: load to first number (pre-heated kernel)"] = (warm, FIRST_AIM)
        for what, (seconds, aim) in measured.items():
            peer = "synthetic, same selection" if name != "synthetic" and what in seen else ""
            report.rows.append(Row(f"explorer {name}: {what}", seconds, peer, seen.get(what, float("nan"))
                                   if peer else float("nan"), aim))
            seen.setdefault(what, seconds)
    report.notes.append(f"changes, in order: {', '.join(f'{n}={v}' for n, v in changes)}")
    emit(report, args)


if __name__ == "__main__":
    main()

"""Notebook runner: execute the notebook set with papermill into a run folder, write a manifest, verify a run.

Usage::

    python -m helpers.run [--out DIR] [--jobs N] [--data PATH] [--add-rows FILE] [--review-map MAP] [--notebooks NB ...]
                          [-p NAME=VALUE ...]
    python -m helpers.run verify RUN_DIR        # re-execute with the manifest's parameters, compare every output
    python -m helpers.run refresh-notebooks     # re-execute notebooks/0*.ipynb in place (outputs for nbval)
    python -m helpers.run real [--from FILE] [--add-rows FILE] [--review-map MAP] [-p NAME=VALUE ...]
                                                # fetch the real review's pinned data rows, run the set on them

The console script ``nmda-run`` is :func:`main`. What a run does: :mod:`helpers.run.runner`.

Errors are printed as one line on stderr (``error: ...``) with exit code 2 (1 when a notebook failed); no
traceback for any input (:func:`helpers.core.errors.cli_main`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from helpers.core import paths
from helpers.core.errors import OneLineArgumentParser, ParameterError, cli_main
from helpers.data.fetch import fetch, review_source
from helpers.report.params import allowed_text, help_text
from helpers.run.execute import KERNEL_NAME
from helpers.run.runner import SETTABLE_PARAMETERS, run_set
from helpers.run import manifest as mf
from helpers.run.verify import refresh_notebooks, run_to_verify, verify, verify_quick


def parse_param(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` -> (name, value), VALUE read as a YAML scalar (``null``, numbers, strings)."""
    if "=" not in text:
        raise ValueError(f"parameter '{text}' is not NAME=VALUE")
    name, raw = text.split("=", 1)
    name = name.strip()
    if name not in SETTABLE_PARAMETERS:
        raise ValueError(f"unknown parameter '{name}'; allowed: {', '.join(SETTABLE_PARAMETERS)} "
                         "(use --data/--out for the others)")
    try:
        return name, yaml.safe_load(raw)
    except yaml.YAMLError as exc:  # e.g. a !!python/object tag, refused by safe_load
        raise ParameterError(f"parameter {name!r}: value {raw!r} is not a YAML scalar: "
                             f"{' '.join(str(exc).split())}") from exc


#: --help: the subcommands and the allowed value of every -p parameter (from helpers.report.params.CHOICES).
_EPILOG = "\n".join([
    "subcommands (first argument; without one: run):",
    "  run                 execute the notebook set (the options above)",
    "  verify [RUN_DIR]    re-execute the run recorded in RUN_DIR/manifest.json and compare every output",
    "                      (without RUN_DIR: the only run under runs/, else the runs are listed)",
    "  verify --quick RUN_DIR  compare every output file with the manifest (seconds; re-executes nothing)",
    "  real [--from FILE]  fetch the real review's pinned data rows and run the set on them (same -p, --review-map,",
    "                      --add-rows, --jobs options as run)",
    "  refresh-notebooks   re-execute notebooks/0*.ipynb in place (committed outputs)",
    "each subcommand has its own --help.",
    "",
    "-p NAME=VALUE, allowed values (case-insensitive; null = all / the package's own settings):",
    help_text(),
])  # fmt: skip

REAL_RUN = "cd015373-real"  # run folder of `real` under runs/


def _parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(prog="python -m helpers.run", description=__doc__.split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG)
    parser.add_argument("--out", type=Path, default=paths.RUNS / "default", help="run folder (default runs/default)")
    parser.add_argument("--data", type=Path, default=None, help="data package to analyse (default: synthetic data/raw)")
    _run_options(parser)
    parser.add_argument("--notebooks", nargs="+", type=Path, default=None,
                        help="notebooks to run: paths or names of the set, e.g. 00_data (default: the set)")
    return parser


def _run_options(parser: argparse.ArgumentParser) -> None:
    """The options a run and ``real`` share: jobs, review map, -p parameters, added rows, kernel, progress."""
    parser.add_argument("--jobs", type=int, default=1, help="notebooks executed in parallel (default 1)")
    parser.add_argument("--add-rows", type=Path, default=None, metavar="FILE",
                        help="a CSV of extra study rows added to their analyses and every subgroup copy of them "
                             "(format: data/README.md, 'Adding studies to the real review'); the run is then "
                             "labelled 'derived from ..., modified' and compared with the published results")
    parser.add_argument("--review-map", default=None, metavar="MAP",
                        help=f"how analyses map to drug, route and outcome: {allowed_text('review_map')} (default "
                             "auto: the review map when it applies to the data, else the generic mode, per comparison "
                             "and outcome as the package groups them; none: the generic mode); same as -p review_map=MAP")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                        help=f"notebook parameter, passed to every notebook that declares it (one that does not is warned "
                             f"and recorded in the manifest); NAME one of {', '.join(SETTABLE_PARAMETERS)}")
    parser.add_argument("--kernel", default=KERNEL_NAME, help=f"Jupyter kernel name (default {KERNEL_NAME})")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _run_parameters(args: argparse.Namespace) -> dict:
    """The -p parameters of ``args`` with --review-map folded in (given once)."""
    params = dict(parse_param(p) for p in args.param)
    if args.review_map is not None:
        if "review_map" in params:
            raise ParameterError("review_map given twice (--review-map and -p review_map=...); give it once")
        params["review_map"] = args.review_map
    return params


def _real(argv: list[str]) -> int:
    """``real``: fetch the real review's pinned data rows (or check ``--from FILE``), then run the set on them."""
    sub = OneLineArgumentParser(prog="python -m helpers.run real",
                  description="Fetch the real CD015373.pub2 data rows (pinned in data/reviews/cd015373.yaml, "
                              "SHA-256 checked, cached in data/external/) and run every notebook on them.")  # fmt: skip
    sub.add_argument("--from", dest="local", type=Path, default=None, metavar="FILE",
                     help="use this local copy of the pinned file instead of downloading it (checked the same way)")
    sub.add_argument("--out", type=Path, default=paths.RUNS / REAL_RUN, help=f"run folder (default runs/{REAL_RUN})")
    sub.add_argument("--fetch-only", action="store_true", help="fetch and check the file, run nothing")
    _run_options(sub)
    args = sub.parse_args(argv)
    params = _run_parameters(args)  # checked before anything is fetched
    source = review_source("cd015373")
    path = fetch(source, local=args.local)
    print(f"data rows: {path} (SHA-256 {source.sha256[:12]}... as pinned; from {source.url})")
    if args.fetch_only:
        return 0
    result = run_set(args.out, data_path=path, parameters=params, jobs=args.jobs, kernel_name=args.kernel,
                     progress=not args.no_progress, add_rows=args.add_rows)  # fmt: skip
    print(result.summary())
    return 0


@cli_main
def main(argv: list[str] | None = None) -> int:
    """Console entry point (``nmda-run``); returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["verify"]:
        sub = OneLineArgumentParser(prog="python -m helpers.run verify")
        sub.add_argument("run_dir", type=Path, nargs="?", default=None,
                         help="the run folder (default: the only run under runs/; else the runs are listed)")
        sub.add_argument("--quick", action="store_true",
                         help="only compare the files with the manifest (seconds); the default re-executes everything")
        sub.add_argument("--jobs", type=int, default=1, help="notebooks executed in parallel (default 1)")
        sub.add_argument("--no-progress", action="store_true", help="hide the progress bar")
        args = sub.parse_args(argv[1:])
        args.run_dir = run_to_verify(args.run_dir)
        print(f"verifying {mf.portable_path(args.run_dir) or args.run_dir}")
        if args.quick:
            result = verify_quick(args.run_dir)
        else:
            result = verify(args.run_dir, jobs=args.jobs, progress=not args.no_progress)
        print(result.summary())
        return 0 if result.ok else 1
    if argv[:1] == ["real"]:
        return _real(argv[1:])
    if argv[:1] == ["refresh-notebooks"]:
        sub = OneLineArgumentParser(prog="python -m helpers.run refresh-notebooks")
        sub.add_argument("notebooks", nargs="*", type=Path)
        args = sub.parse_args(argv[1:])
        done = refresh_notebooks(args.notebooks or None)
        print("re-executed in place: " + ", ".join(p.name for p in done))
        return 0
    args = _parser().parse_args(argv[1:] if argv[:1] == ["run"] else argv)
    params = _run_parameters(args)
    default_set = args.notebooks is None
    plain = default_set and args.data is None and not params and args.add_rows is None
    result = run_set(
        args.out, notebooks=args.notebooks, data_path=args.data, parameters=params, jobs=args.jobs,
        kernel_name=args.kernel, progress=not args.no_progress, add_rows=args.add_rows,
        publish_figures=paths.FIGURES if plain else None,
    )
    print(result.summary())
    return 0

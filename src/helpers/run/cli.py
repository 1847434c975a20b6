"""Notebook runner: execute the notebook set with papermill into a run folder, write a manifest, verify a run.

Usage::

    python -m helpers.run [--out DIR] [--jobs N] [--data PATH] [--notebooks NB ...] [-p NAME=VALUE ...]
    python -m helpers.run verify RUN_DIR        # re-execute with the manifest's parameters, compare every output
    python -m helpers.run refresh-notebooks     # re-execute notebooks/0*.ipynb in place (outputs for nbval)

The console script ``nmda-run`` is :func:`main`. What a run does: :mod:`helpers.run.runner`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from helpers.core import paths
from helpers.run.execute import KERNEL_NAME
from helpers.run.runner import SETTABLE_PARAMETERS, NotebookFailure, run_set
from helpers.run.verify import refresh_notebooks, verify


def parse_param(text: str) -> tuple[str, object]:
    """``NAME=VALUE`` -> (name, value), VALUE read as a YAML scalar (``null``, numbers, strings)."""
    if "=" not in text:
        raise ValueError(f"parameter '{text}' is not NAME=VALUE")
    name, raw = text.split("=", 1)
    name = name.strip()
    if name not in SETTABLE_PARAMETERS:
        raise ValueError(f"unknown parameter '{name}'; allowed: {', '.join(SETTABLE_PARAMETERS)} "
                         "(use --data/--out for the others)")
    return name, yaml.safe_load(raw)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m helpers.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=paths.RUNS / "default", help="run folder (default runs/default)")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks executed in parallel (default 1)")
    parser.add_argument("--data", type=Path, default=None, help="data package to analyse (default: synthetic data/raw)")
    parser.add_argument("--notebooks", nargs="+", type=Path, default=None, help="notebooks to run (default: the set)")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                        help=f"notebook parameter for every notebook; NAME one of {', '.join(SETTABLE_PARAMETERS)}")
    parser.add_argument("--kernel", default=KERNEL_NAME, help=f"Jupyter kernel name (default {KERNEL_NAME})")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Console entry point (``nmda-run``); returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["verify"]:
            sub = argparse.ArgumentParser(prog="python -m helpers.run verify")
            sub.add_argument("run_dir", type=Path)
            sub.add_argument("--jobs", type=int, default=1, help="notebooks executed in parallel (default 1)")
            sub.add_argument("--no-progress", action="store_true", help="hide the progress bar")
            args = sub.parse_args(argv[1:])
            result = verify(args.run_dir, jobs=args.jobs, progress=not args.no_progress)
            print(result.summary())
            return 0 if result.ok else 1
        if argv[:1] == ["refresh-notebooks"]:
            sub = argparse.ArgumentParser(prog="python -m helpers.run refresh-notebooks")
            sub.add_argument("notebooks", nargs="*", type=Path)
            args = sub.parse_args(argv[1:])
            done = refresh_notebooks(args.notebooks or None)
            print("re-executed in place: " + ", ".join(p.name for p in done))
            return 0
        args = _parser().parse_args(argv[1:] if argv[:1] == ["run"] else argv)
        params = dict(parse_param(p) for p in args.param)
        default_set = args.notebooks is None
        result = run_set(
            args.out, notebooks=args.notebooks, data_path=args.data, parameters=params, jobs=args.jobs,
            kernel_name=args.kernel, progress=not args.no_progress,
            publish_figures=paths.FIGURES if default_set and args.data is None and not params else None,
        )
        print(result.summary())
        return 0
    except NotebookFailure as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, FileNotFoundError, RuntimeError, PermissionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

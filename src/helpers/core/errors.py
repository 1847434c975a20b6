"""The project's one error hierarchy.

Every problem the project reports on purpose is an :class:`NmdaError`; the command-line tools catch it, print
its message in one line and exit non-zero (see :func:`one_line`). Anything else escaping is a bug.

::

    NmdaError                      base; never raised itself
    ├── DataError (ValueError)     bad input data: file, line, column, study where known
    │     (subclasses elsewhere: checks.InputError, archive.ArchiveError, datapackage.PackageError,
    │      schema.ValidationError, reviewmap.ReviewMapError)
    ├── ParameterError (ValueError)  a run/notebook parameter or command-line argument is not allowed
    ├── RunFolderError             an output folder cannot be used safely (nothing was written or removed)
    └── FetchError                 a download failed or gave something other than what was asked for

Every command line's ``main`` is wrapped by :func:`cli_main`: no traceback for any input.

``DataError`` and ``ParameterError`` subclass :class:`ValueError` so callers that caught ``ValueError``
before the hierarchy existed keep working.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import traceback
import warnings


class NmdaError(Exception):
    """Base of every error the project raises on purpose; the message is complete and readable on its own.

    ``exit_code`` is what a command line returns for it (:func:`cli_main`).
    """

    exit_code = 2


def location(file=None, line=None, column=None, study=None) -> str:
    """``"rows.csv: line 3: column n_e: study 'Smith 2001'"``: the known parts of a place in the input."""
    parts = []
    if file not in (None, ""):
        parts.append(str(file))
    if line is not None:
        parts.append(f"line {line}")
    if column not in (None, ""):
        parts.append(f"column {column}")
    if study not in (None, ""):
        parts.append(f"study {study!r}")
    return ": ".join(parts)


class DataError(NmdaError, ValueError):
    """Bad input data.

    ``DataError(detail, file=..., line=..., column=..., study=...)`` builds the message
    ``"<file>: line <n>: column <c>: study '<s>': <detail>"`` from the parts that are known; the parts stay
    available as attributes for callers that want them (e.g. to highlight a cell).
    """

    def __init__(self, detail: str, *, file=None, line=None, column=None, study=None):
        self.detail = detail
        self.file, self.line, self.column, self.study = file, line, column, study
        where = location(file, line, column, study)
        super().__init__(f"{where}: {detail}" if where else detail)


class ParameterError(NmdaError, ValueError):
    """A parameter or command-line argument is not allowed; the message lists the allowed values."""


class RunFolderError(NmdaError):
    """An output folder cannot be used safely; raised before anything is written, moved or removed."""


class FetchError(NmdaError):
    """A download failed (network, HTTP status, size, checksum); the message names the URL."""


def one_line(exc: BaseException) -> str:
    """The error's message on one line (multi-line messages joined with ``"; "``), prefixed ``error:``."""
    text = "; ".join(s.strip() for s in str(exc).splitlines() if s.strip()) or type(exc).__name__
    return f"error: {text}"


def cli_main(main):
    """Wrap a command line's ``main(argv) -> int`` so that no input ends in a traceback.

    The project's errors, and ``ValueError``/``OSError``/``RuntimeError`` (bad paths, a missing kernel), are
    printed on one line to stderr and return their ``exit_code`` (2); any other exception is a bug: one line
    with its type, exit code 3, and the traceback when the environment variable ``NMDA_TRACEBACK`` is set.
    A warning is one line too, ``warning: <message>`` (not Python's file, line number and source line).
    """

    @functools.wraps(main)
    def wrapper(argv: list[str] | None = None) -> int:
        saved = warnings.formatwarning
        warnings.formatwarning = _one_line_warning
        try:
            return main(argv)
        except NmdaError as exc:
            print(one_line(exc), file=sys.stderr)
            return exc.exit_code
        except (ValueError, OSError, RuntimeError) as exc:
            print(one_line(exc), file=sys.stderr)
            return 2
        except Exception as exc:
            if os.environ.get("NMDA_TRACEBACK"):
                traceback.print_exc()
            print(f"error: unexpected {type(exc).__name__} (a bug; NMDA_TRACEBACK=1 shows where): "
                  f"{one_line(exc).removeprefix('error: ')}", file=sys.stderr)
            return 3
        finally:
            warnings.formatwarning = saved

    return wrapper


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"warning: {message}\n"


class OneLineArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose usage errors are one line (``error: prog: message``), exit code 2."""

    def error(self, message):
        self.exit(2, f"error: {self.prog}: {message} (see --help)\n")

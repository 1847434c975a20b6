"""The project's error hierarchy (helpers.core.errors): one base, located data errors, one-line messages."""

from __future__ import annotations

import pytest

from helpers.core.checks import InputError
from helpers.core.errors import DataError, FetchError, NmdaError, ParameterError, RunFolderError, location, one_line
from helpers.data.archive import ArchiveError
from helpers.data.datapackage import PackageError
from helpers.data.reviewmap import ReviewMapError
from helpers.data.schema import ValidationError


def test_data_error_message_names_every_known_part():
    err = DataError("events (3000) exceed n_e (2267)", file="rows.csv", line=2, column="events_e", study="Smith 2001")
    assert str(err) == "rows.csv: line 2: column events_e: study 'Smith 2001': events (3000) exceed n_e (2267)"
    assert (err.file, err.line, err.column, err.study, err.detail) == (
        "rows.csv", 2, "events_e", "Smith 2001", "events (3000) exceed n_e (2267)")


def test_data_error_leaves_out_unknown_parts():
    assert str(DataError("not valid UTF-8", file="a.csv")) == "a.csv: not valid UTF-8"
    assert str(DataError("plain")) == "plain"
    assert location(line=0, column="n_e") == "line 0: column n_e"


@pytest.mark.parametrize("cls", [InputError, ArchiveError, PackageError, ReviewMapError, DataError, ParameterError])
def test_existing_value_error_callers_keep_working(cls):
    assert issubclass(cls, NmdaError) and issubclass(cls, ValueError)


def test_every_reader_error_is_a_data_error():
    for cls in (InputError, ArchiveError, PackageError, ReviewMapError, ValidationError):
        assert issubclass(cls, DataError), cls


def test_run_folder_and_fetch_errors_are_project_errors_but_not_value_errors():
    for cls in (RunFolderError, FetchError):
        assert issubclass(cls, NmdaError) and not issubclass(cls, ValueError)


def test_validation_error_keeps_problems_and_is_a_data_error():
    err = ValidationError("rows.csv", [(2, "n_e", "value is missing")])
    assert isinstance(err, DataError) and err.problems == [(2, "n_e", "value is missing")]


def test_one_line_joins_a_multi_line_message():
    err = ValidationError("rows.csv", [(2, "n_e", "value is missing"), (3, "sd_c", "SD must be > 0; got 0")])
    text = one_line(err)
    assert "\n" not in text
    assert text == ("error: rows.csv: 2 problem(s) found; rows.csv: row 2: column n_e: value is missing; "
                    "rows.csv: row 3: column sd_c: SD must be > 0; got 0")


def test_cli_main_prints_one_line_and_returns_the_exit_code(capsys, monkeypatch):
    from helpers.core.errors import OneLineArgumentParser, cli_main

    def fails_with(exc):
        return cli_main(lambda argv: (_ for _ in ()).throw(exc))

    monkeypatch.delenv("NMDA_TRACEBACK", raising=False)
    assert fails_with(DataError("bad cell", file="a.csv", line=3, column="n_e", study="S"))([]) == 2
    assert capsys.readouterr().err == "error: a.csv: line 3: column n_e: study 'S': bad cell\n"
    assert fails_with(FileNotFoundError("no such file: x"))([]) == 2
    assert capsys.readouterr().err == "error: no such file: x\n"
    assert fails_with(KeyError("oops"))([]) == 3
    assert capsys.readouterr().err == "error: unexpected KeyError (a bug; NMDA_TRACEBACK=1 shows where): 'oops'\n"

    parser = OneLineArgumentParser(prog="tool")
    parser.add_argument("--n", type=int)
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["--n", "x"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == "error: tool: argument --n: invalid int value: 'x' (see --help)\n"


def test_cli_main_prints_a_warning_on_one_line(capsys):
    """A command line's warning (e.g. the runner's '-p outcome=... is ignored by ...') is one line on stderr,
    without Python's file, line number and source line."""
    import sys
    import warnings

    from helpers.core.errors import cli_main

    def main(argv):
        warnings.warn("-p outcome=nausea is ignored by 00_data.ipynb (no such parameter in its parameters cell)",
                      stacklevel=2)
        return 0

    saved = warnings.formatwarning
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = lambda message, category, filename, lineno, file=None, line=None: sys.stderr.write(
            warnings.formatwarning(message, category, filename, lineno, line))  # Python's own, not pytest's recorder
        assert cli_main(main)([]) == 0
    assert capsys.readouterr().err == ("warning: -p outcome=nausea is ignored by 00_data.ipynb (no such parameter "
                                       "in its parameters cell)\n")
    assert warnings.formatwarning is saved

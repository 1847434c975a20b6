"""Issue 12 point 1: a run folder that cannot destroy anything (helpers.run.folder, runner.run_set, the CLI).

Notebook execution is replaced by a fake that writes what a notebook would (executed copy, one figure), so
these tests check the folder handling in well under a second each; tests/test_run.py executes real notebooks.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pytest

from fixtures.packages.build import ROWS, ROWS_HEADER, package_files, write_folder, write_outer_zip
from helpers.core import paths
from helpers.core.errors import DataError, ParameterError, RunFolderError
from helpers.run import cli, folder, runner
from helpers.run.execute import NotebookOutcome

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
NB = FIXTURES / "fixture_table.ipynb"


def _fake_execute(fail=False, interrupt=False, figure=b"png-1"):
    def execute_tasks(tasks, jobs, progress):
        out = []
        for task in tasks:
            if interrupt:
                raise KeyboardInterrupt
            run = Path(task["parameters"]["out_dir"])
            Path(task["output"]).write_bytes(Path(task["source"]).read_bytes())
            Path(task["html"]).write_text("<html></html>", encoding="utf-8")
            (run / "figures" / "fig.png").write_bytes(figure)
            out.append(NotebookOutcome(task["name"], not fail, 0.01,
                                       f"{task['name']} failed in cell 1 (0-based)" if fail else ""))
        return out

    return execute_tasks


@pytest.fixture()
def fake(monkeypatch):
    def use(**kwargs):
        monkeypatch.setattr(runner, "execute_tasks", _fake_execute(**kwargs))

    use()
    return use


def snapshot(root: Path) -> dict:
    """Every entry under ``root`` (and beside it, for the parent) with file bytes: what 'unchanged' means."""
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else "dir")
            for p in sorted(root.rglob("*"))}


def _unrelated(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "thesis.docx").write_bytes(b"years of work")
    (folder / "figures").mkdir()
    (folder / "figures" / "README.md").write_text("keep me", encoding="utf-8")
    (folder / "notebooks").mkdir()
    (folder / "notebooks" / "00_data.ipynb").write_text("{}", encoding="utf-8")
    (folder / "index.html").write_text("<p>mine</p>", encoding="utf-8")
    return folder


# --- refused targets: nothing written ------------------------------------------------------------------------


def test_folder_with_unrelated_files_is_refused_and_left_in_place(fake, tmp_path):
    target = _unrelated(tmp_path / "mine")
    before = snapshot(tmp_path)
    with pytest.raises(RunFolderError, match=r"not empty and is not a run folder .*thesis.docx"):
        runner.run_set(target, notebooks=[NB])
    assert snapshot(tmp_path) == before


def test_clone_like_folder_is_refused(fake, tmp_path):
    clone = _unrelated(tmp_path / "clone")
    (clone / "src" / "helpers").mkdir(parents=True)
    (clone / "src" / "helpers" / "__init__.py").write_text("", encoding="utf-8")
    before = snapshot(tmp_path)
    assert cli.main(["--out", str(clone), "--notebooks", str(NB), "--no-progress"]) == 2
    assert snapshot(tmp_path) == before


def test_file_target_is_refused(fake, tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("precious", encoding="utf-8")
    with pytest.raises(RunFolderError, match=r"out.txt: is a file, not a folder"):
        runner.run_set(target, notebooks=[NB])
    assert snapshot(tmp_path) == {"out.txt": b"precious"}


def test_run_folder_with_a_user_file_added_is_not_replaced(fake, tmp_path):
    run = runner.run_set(tmp_path / "run", notebooks=[NB]).run_dir
    (run / "notes.txt").write_text("my notes", encoding="utf-8")
    before = snapshot(tmp_path)
    with pytest.raises(RunFolderError, match=r"other entries: notes.txt"):
        runner.run_set(run, notebooks=[NB])
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("where", ["/", "notebooks", "notebooks/sub", "src", "src/helpers/x", "data/raw",
                                   "data/raw/new"])
def test_protected_targets_refused_before_anything_is_written(where):
    target = Path("/") if where == "/" else paths.PROJECT_ROOT / where
    with pytest.raises(RunFolderError, match=r"filesystem root|inside the project's (notebooks|src|data/raw)/"):
        folder.check_target(target)
    assert where == "/" or not (paths.PROJECT_ROOT / "data/raw/new").exists()


def test_symlink_target_refused(fake, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(RunFolderError, match=r"link: is a symbolic link"):
        runner.run_set(tmp_path / "link", notebooks=[NB])
    assert list(real.iterdir()) == []


def test_bad_input_or_parameters_refused_before_anything_is_written(fake, tmp_path):
    bad = write_folder(tmp_path / "pkg", package_files(data_rows=ROWS_HEADER + ROWS + ROWS.splitlines()[0] + "\n"))
    before = snapshot(tmp_path)
    with pytest.raises(DataError, match=r"exact duplicate of line 2"):
        runner.run_set(tmp_path / "out", notebooks=[NB], data_path=bad)
    with pytest.raises(ValueError, match=r"parameters not settable here: colour"):
        runner.run_set(tmp_path / "out", notebooks=[NB], parameters={"colour": "red"})
    assert snapshot(tmp_path) == before


# --- replacing and keeping runs ------------------------------------------------------------------------------


def test_success_replaces_a_previous_run_and_leaves_nothing_beside_it(fake, tmp_path):
    first = runner.run_set(tmp_path / "run", notebooks=[NB])
    assert first.run_dir == (tmp_path / "run").resolve() and first.ok
    fake(figure=b"png-2")
    second = runner.run_set(tmp_path / "run", notebooks=[NB])
    assert (tmp_path / "run" / "figures" / "fig.png").read_bytes() == b"png-2"
    assert second.outputs != first.outputs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no staging or previous folder left


def test_empty_existing_folder_is_used(fake, tmp_path):
    (tmp_path / "empty").mkdir()
    assert runner.run_set(tmp_path / "empty", notebooks=[NB]).ok
    assert (tmp_path / "empty" / "manifest.json").is_file()


def test_failed_run_leaves_the_previous_run_intact(fake, tmp_path):
    runner.run_set(tmp_path / "run", notebooks=[NB])
    before = snapshot(tmp_path / "run")
    fake(fail=True, figure=b"broken")
    with pytest.raises(runner.NotebookFailure) as info:
        runner.run_set(tmp_path / "run", notebooks=[NB])
    assert snapshot(tmp_path / "run") == before
    message = str(info.value)
    assert "fixture_table.ipynb failed in cell 1" in message
    assert f"the previous run in {(tmp_path / 'run').resolve()} is unchanged" in message
    staged = [p for p in tmp_path.iterdir() if p.name.startswith(".run.staging-")]
    assert len(staged) == 1 and f"kept in {staged[0]}" in message
    assert (staged[0] / "figures" / "fig.png").read_bytes() == b"broken"


def test_failed_first_run_lands_in_the_target(fake, tmp_path):
    fake(fail=True)
    with pytest.raises(runner.NotebookFailure, match=r"kept in .*/new: notebooks/fixture_table.ipynb"):
        runner.run_set(tmp_path / "new", notebooks=[NB])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new"]
    assert (tmp_path / "new" / "notebooks" / "fixture_table.ipynb").is_file()


def test_interrupted_run_removes_its_staging_folder_and_keeps_the_previous(fake, tmp_path):
    runner.run_set(tmp_path / "run", notebooks=[NB])
    before = snapshot(tmp_path)
    fake(interrupt=True)
    with pytest.raises(KeyboardInterrupt):
        runner.run_set(tmp_path / "run", notebooks=[NB])
    assert snapshot(tmp_path) == before


# --- command line: one line, non-zero, no traceback ----------------------------------------------------------


def _cli(capsys, *args):
    code = cli.main([*args, "--notebooks", str(NB), "--no-progress"])
    out = capsys.readouterr()
    return code, out.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--data", "{tmp}/missing.zip"], r"error: --data: no such file or folder: .*missing.zip"),
        (["--data", "{tmp}/folder"], r"error: .*folder: folder holds neither the package CSV files"),
        (["--data", "{tmp}/file.txt"], r"error: .*file.txt: not a zip archive"),
        (["--data", "{tmp}/dup"], r"error: .*data-rows.csv: line 7: study 'Alpha 2001': exact duplicate of line 2"),
        (["--out", "{tmp}/file.txt"], r"error: --out .*file.txt: is a file, not a folder"),
        (["--out", "/"], r"error: --out /: is the filesystem root"),
        (["-p", "colour=red"], r"error: unknown parameter 'colour'; allowed: drug, route"),
        (["-p", "drug=!!python/object/apply:os.system [echo]"], r"error: parameter 'drug': value .* is not a YAML"),
        (["-p", "nonsense"], r"error: parameter 'nonsense' is not NAME=VALUE"),
        (["--jobs", "x"], r"error: python -m helpers.run: argument --jobs: invalid int value: 'x' \(see --help\)"),
    ],
)
def test_cli_errors_are_one_line_without_traceback(fake, tmp_path, capsys, args, message):
    (tmp_path / "folder").mkdir()
    (tmp_path / "file.txt").write_text("not a package", encoding="utf-8")
    write_folder(tmp_path / "dup", package_files(data_rows=ROWS_HEADER + ROWS + ROWS.splitlines()[0] + "\n"))
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if "--out" not in args:
        args += ["--out", str(tmp_path / "out")]
    before = snapshot(tmp_path)
    with pytest.raises(SystemExit) if "--jobs" in args else contextlib.nullcontext():
        code, err = _cli(capsys, *args)
    if "--jobs" in args:
        err = capsys.readouterr().err
        code = 2
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert re.match(message, err), err
    assert snapshot(tmp_path) == before  # nothing written for a refused run


def test_cli_data_given_as_symlink_to_a_package(fake, tmp_path, capsys):
    package = write_outer_zip(tmp_path / "Tiny.zip", package_files())
    (tmp_path / "link.zip").symlink_to(package)
    code, err = _cli(capsys, "--out", str(tmp_path / "out"), "--data", str(tmp_path / "link.zip"))
    assert code == 0, err
    assert (tmp_path / "out" / "manifest.json").is_file()


def test_cli_unexpected_exception_is_one_line_exit_3(monkeypatch, capsys, tmp_path):
    def boom(*args, **kwargs):
        raise TypeError("something the project did not foresee")

    monkeypatch.setattr(cli, "run_set", boom)
    monkeypatch.delenv("NMDA_TRACEBACK", raising=False)
    code, err = _cli(capsys, "--out", str(tmp_path / "out"))
    assert code == 3 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: unexpected TypeError (a bug; NMDA_TRACEBACK=1 shows where): something")


def test_parse_param_tag_is_a_parameter_error():
    with pytest.raises(ParameterError, match=r"parameter 'drug': value"):
        cli.parse_param("drug=!!python/object/apply:os.system [echo]")
    assert os.sep == "/"  # the symlink and root cases above assume POSIX paths

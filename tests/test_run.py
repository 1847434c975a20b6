"""Runner mechanics on tiny fixture notebooks (tests/fixtures/notebooks), plus one slow run of the real set."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

from fixtures.offline import remote_references
from fixtures.packages.build import package_files, write_outer_zip
from helpers.core import paths
from helpers.core.errors import RunFolderError
from helpers.run import cli, runner
from helpers.run import manifest as mf
from helpers.run.verify import recorded_executions, refresh_notebooks, verify

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
FIGURE_NB = FIXTURES / "fixture_figure.ipynb"
TABLE_NB = FIXTURES / "fixture_table.ipynb"
FAILING_NB = FIXTURES / "fixture_failing.ipynb"
OK_SET = [FIGURE_NB, TABLE_NB]


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> runner.RunResult:
    return runner.run_set(tmp_path_factory.mktemp("run") / "a", notebooks=OK_SET, jobs=2)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_run_folder_layout_and_manifest_hashes(good_run):
    run = good_run.run_dir
    assert good_run.ok and [o.notebook for o in good_run.outcomes] == ["fixture_figure.ipynb", "fixture_table.ipynb"]
    for rel in ["notebooks/fixture_figure.ipynb", "notebooks/fixture_table.ipynb", "html/fixture_figure.html",
                "html/fixture_table.html", "index.html", "manifest.json", "run-log.json"]:
        assert (run / rel).is_file(), rel
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["outputs"] == {
        "figures/fixture_line.png": _sha(run / "figures" / "fixture_line.png"),
        "tables/fixture_table.csv": _sha(run / "tables" / "fixture_table.csv"),
    }
    assert manifest["kernel"] == "nmda-review-py3"
    assert [e["notebook"] for e in manifest["notebooks"]] == [
        "tests/fixtures/notebooks/fixture_figure.ipynb", "tests/fixtures/notebooks/fixture_table.ipynb"]
    assert manifest["input"]["path"] is None and manifest["input"]["hashed"] == "data/raw"
    assert manifest["packages"]["papermill"] == __import__("papermill").__version__
    assert manifest["python"].count(".") == 2
    text = (run / "manifest.json").read_text()
    assert str(run) not in text and "started" not in text  # no absolute run path, no timestamps
    log = json.loads((run / "run-log.json").read_text())
    assert log["wall_seconds"] > 0 and set(log["notebook_seconds"]) == {"fixture_figure.ipynb", "fixture_table.ipynb"}
    index = (run / "index.html").read_text()
    assert 'href="html/fixture_figure.html"' in index and 'href="figures/fixture_line.png"' in index
    assert "SYNTHETIC DATA - not evidence" in index  # the default package is synthetic
    executed = nbformat.read(run / "notebooks" / "fixture_table.ipynb", as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)


def test_two_runs_give_identical_hashes_and_manifest(good_run, tmp_path):
    second = runner.run_set(tmp_path / "b", notebooks=OK_SET, jobs=1)
    assert second.outputs == good_run.outputs and len(second.outputs) == 2
    assert (tmp_path / "b" / "manifest.json").read_bytes() == (good_run.run_dir / "manifest.json").read_bytes()
    pages = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.html"))
    assert [str(p) for p in pages] == ["html/fixture_figure.html", "html/fixture_table.html", "index.html"]
    for page in pages:  # the reader's pages are byte-stable too, though no manifest hashes them
        assert (tmp_path / "b" / page).read_bytes() == (good_run.run_dir / page).read_bytes(), page


def test_parameters_reach_the_notebooks_and_the_manifest(tmp_path):
    data = write_outer_zip(tmp_path / "package.zip", package_files())  # the input is loaded before the run
    result = runner.run_set(tmp_path / "p", notebooks=[TABLE_NB], data_path=data, parameters={"estimator": "DL"})
    assert "DL" in (result.run_dir / "tables" / "fixture_table.csv").read_text()
    manifest = mf.read_manifest(result.run_dir)
    recorded = manifest["notebooks"][0]["parameters"]["data_path"]
    assert recorded == os.path.relpath(data.resolve(), paths.PROJECT_ROOT.resolve())  # no machine path
    assert mf.resolve_portable(recorded).resolve() == data.resolve()
    assert manifest["input"]["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()


def test_failing_notebook_names_notebook_and_cell_and_keeps_partial(tmp_path):
    with pytest.raises(runner.NotebookFailure) as info:
        runner.run_set(tmp_path / "f", notebooks=[FAILING_NB, TABLE_NB], jobs=2)
    message = str(info.value)
    assert "fixture_failing.ipynb failed in cell 4 (0-based)" in message
    assert '`raise ValueError("fixture failure on purpose")`' in message
    assert "ValueError: fixture failure on purpose" in message
    partial = nbformat.read(tmp_path / "f" / "notebooks" / "fixture_failing.ipynb", as_version=4)
    assert any(o.get("output_type") == "error" for c in partial.cells for o in c.get("outputs", []))
    assert (tmp_path / "f" / "tables" / "fixture_table.csv").is_file()  # the other notebook still ran
    manifest = mf.read_manifest(tmp_path / "f")
    assert [e["status"] for e in manifest["notebooks"]] == ["failed", "ok"]


def test_cli_failure_exit_code_and_message(tmp_path, capsys):
    code = cli.main(["--out", str(tmp_path / "c"), "--no-progress", "--notebooks", str(FAILING_NB)])
    assert code == 1
    assert "fixture_failing.ipynb failed in cell 4" in capsys.readouterr().err


def test_verify_passes_then_names_a_modified_figure(good_run, tmp_path, capsys):
    run = tmp_path / "copy"
    shutil.copytree(good_run.run_dir, run)
    assert verify(run).ok
    with open(run / "figures" / "fixture_line.png", "ab") as handle:
        handle.write(b"\0")
    result = verify(run)
    assert not result.ok
    assert [d.output for d in result.differences] == ["figures/fixture_line.png"]
    assert cli.main(["verify", str(run)]) == 1
    assert "figures/fixture_line.png: differs" in capsys.readouterr().out


def test_verify_names_a_deleted_table(good_run, tmp_path):
    run = tmp_path / "copy"
    shutil.copytree(good_run.run_dir, run)
    (run / "tables" / "fixture_table.csv").unlink()
    result = verify(run)
    assert [d.describe() for d in result.differences][0].startswith("tables/fixture_table.csv: missing")


def test_stale_outputs_are_cleared_and_figures_published(good_run, tmp_path):
    run = tmp_path / "s"
    shutil.copytree(good_run.run_dir, run)
    (run / "figures" / "stale.png").write_bytes(b"old")
    result = runner.run_set(run, notebooks=[FIGURE_NB], publish_figures=tmp_path / "published")
    assert list(result.outputs) == ["figures/fixture_line.png"]
    assert _sha(tmp_path / "published" / "fixture_line.png") == result.outputs["figures/fixture_line.png"]


def test_argument_errors_list_allowed_values(tmp_path):
    with pytest.raises(ValueError, match="allowed: drug, route, outcome, timepoint, estimator, ci_method"):
        runner.run_set(tmp_path / "x", notebooks=OK_SET, parameters={"colour": "red"})
    with pytest.raises(ValueError, match="unknown parameter 'out_dir'"):
        cli.parse_param("out_dir=/tmp")
    assert cli.parse_param("estimator=DL") == ("estimator", "DL")
    assert cli.parse_param("drug=null") == ("drug", None)
    with pytest.raises(ValueError, match="jobs must be a positive integer"):
        runner.run_set(tmp_path / "x", notebooks=OK_SET, jobs=0)
    with pytest.raises(FileNotFoundError, match="missing.ipynb"):
        runner.run_set(tmp_path / "x", notebooks=[FIXTURES / "missing.ipynb"])
    with pytest.raises(RuntimeError, match="ipykernel install --sys-prefix --name no-such-kernel"):
        runner.run_set(tmp_path / "x", notebooks=OK_SET, kernel_name="no-such-kernel")
    with pytest.raises(RunFolderError, match="inside the project's data/raw/"):
        runner.run_set(paths.DATA_RAW / "out", notebooks=OK_SET)
    with pytest.raises(FileNotFoundError, match="no manifest.json"):
        verify(tmp_path)


def test_refresh_notebooks_executes_in_place_without_volatile_metadata(tmp_path):
    copy = tmp_path / "fixture_table.ipynb"
    shutil.copyfile(TABLE_NB, copy)
    refresh_notebooks([copy])
    nb = nbformat.read(copy, as_version=4)
    last = nb.cells[-1]
    assert last.outputs and "ketamine" in last.outputs[0]["data"]["text/plain"]
    assert all("execution" not in c.metadata for c in nb.cells)
    assert "papermill" not in nb.metadata


def test_inputs_beside_the_project_are_recorded_relative_to_it():
    # a package in ../shared was recorded (manifest, run report's "data" row) as this machine's absolute path
    beside = paths.PROJECT_ROOT.parent / "shared" / "fixtures" / "package.zip"
    assert mf.portable_path(beside) == "../shared/fixtures/package.zip"
    assert mf.portable_path(paths.DATA_RAW / "x") == "data/raw/x"
    assert mf.resolve_portable("../shared/fixtures/package.zip").resolve() == beside.resolve()


def test_data_through_a_link_is_recorded_as_given(tmp_path):
    # make real FROM=../shared/... on a clone whose ../shared is a link recorded ../../../work/shared/...
    (tmp_path / "real").mkdir()
    package = write_outer_zip(tmp_path / "real" / "package.zip", package_files())
    (tmp_path / "link").symlink_to(tmp_path / "real")
    result = runner.run_set(tmp_path / "r", notebooks=[TABLE_NB], data_path=tmp_path / "link" / "package.zip")
    given = os.path.relpath(tmp_path / "link" / "package.zip", paths.PROJECT_ROOT)
    manifest = mf.read_manifest(result.run_dir)
    assert manifest["input"]["path"] == given and manifest["notebooks"][0]["parameters"]["data_path"] == given
    assert manifest["input"]["sha256"] == hashlib.sha256(package.read_bytes()).hexdigest()


def test_sha256_path_of_folder_depends_on_names_and_contents(tmp_path):
    (tmp_path / "a.txt").write_text("1")
    first = mf.sha256_path(tmp_path)
    (tmp_path / "a.txt").rename(tmp_path / "b.txt")
    assert mf.sha256_path(tmp_path) != first
    assert mf.sha256_path(tmp_path / "b.txt") == hashlib.sha256(b"1").hexdigest()


def test_plan_runs_per_drug_notebooks_once_per_drug():
    nbs = [paths.NOTEBOOKS / n for n in ("00_data.ipynb", "01_efficacy.ipynb", "05_concordance.ipynb")]
    plan = runner.plan_executions(nbs, {"estimator": "DL"}, ("ketamine", "magnesium"))
    assert [e.name for e in plan] == ["00_data.ipynb", "01_efficacy--ketamine.ipynb", "01_efficacy--magnesium.ipynb",
                                      "05_concordance.ipynb"]
    # each notebook receives the parameters it declares: 00 and 05 use no estimator
    assert plan[2].parameters == {"estimator": "DL", "drug": "magnesium"} and plan[0].parameters == {}
    only = runner.plan_executions(nbs, {"drug": "memantine"}, ("memantine",))
    assert [e.name for e in only] == ["00_data.ipynb", "01_efficacy.ipynb", "05_concordance.ipynb"]
    manifest = {"notebooks": [{"execution": "01_efficacy--ketamine.ipynb", "notebook": "notebooks/01_efficacy.ipynb",
                               "parameters": {"drug": "ketamine", "data_path": None, "estimator": None}}]}
    (execution,), data = recorded_executions(manifest)
    assert execution == runner.Execution(paths.NOTEBOOKS / "01_efficacy.ipynb", "01_efficacy--ketamine.ipynb",
                                         {"drug": "ketamine", "estimator": None}) and data is None


def test_a_parameter_a_notebook_does_not_declare_is_warned_and_recorded(tmp_path):
    """The fixture notebooks declare no review_map: -p review_map=none reaches none of them, is warned in one
    line naming them and recorded in the manifest; the executed notebook holds only what it declares."""
    nbs = [paths.NOTEBOOKS / n for n in runner.NOTEBOOK_SET]
    assert runner.ignored_parameters(nbs, {"outcome": "nausea", "estimator": "DL", "route": "oral"}) == {
        "outcome": ["00_data.ipynb", "03_adverse_events.ipynb", "05_concordance.ipynb"],
        "estimator": ["00_data.ipynb", "05_concordance.ipynb"],
        "route": ["00_data.ipynb", "05_concordance.ipynb"]}
    with pytest.warns(UserWarning) as seen:
        result = runner.run_set(tmp_path / "i", notebooks=[TABLE_NB, FIGURE_NB], parameters={"review_map": "none"})
    lines = [str(w.message) for w in seen if "ignored" in str(w.message)]
    assert lines == ["-p review_map=none is ignored by fixture_table.ipynb, fixture_figure.ipynb (no such "
                     "parameter in their parameters cell)"]
    manifest = mf.read_manifest(result.run_dir)
    assert manifest["ignored_parameters"] == {"review_map": ["fixture_table.ipynb", "fixture_figure.ipynb"]}
    assert all("review_map" not in e["parameters"] for e in manifest["notebooks"])
    executed = nbformat.read(result.run_dir / "notebooks" / "fixture_table.ipynb", as_version=4)
    injected = next(c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "data_path = " in injected.source and "review_map" not in injected.source


@pytest.mark.slow
def test_real_notebook_set_runs_and_verifies(tmp_path):
    missing = [nb for nb in runner.default_notebooks() if not nb.is_file()]
    if missing:
        pytest.fail(f"notebooks missing from the set: {', '.join(nb.name for nb in missing)}")
    result = runner.run_set(tmp_path / "real", jobs=2)
    assert result.ok
    names = [o.notebook for o in result.outcomes]
    drugs = ("ketamine", "memantine", "dextromethorphan", "amantadine", "magnesium")
    assert names == ["00_data.ipynb", *(f"{nb}--{d}.ipynb" for nb in ("01_efficacy", "02_small_study_effects",
                                                                      "03_adverse_events") for d in drugs),
                     "04_sensitivity.ipynb", "05_concordance.ipynb"]
    for name in names:
        page = result.run_dir / "html" / name.replace(".ipynb", ".html")
        assert remote_references(page.read_text(encoding="utf-8")) == [], page.name
    manifest = mf.read_manifest(result.run_dir)
    entry = next(e for e in manifest["notebooks"] if e["execution"] == "02_small_study_effects--magnesium.ipynb")
    assert entry["notebook"] == "notebooks/02_small_study_effects.ipynb" and entry["parameters"]["drug"] == "magnesium"
    figures = {k for k in result.outputs if k.startswith("figures/")}
    for stem in ["forest_reanalysis_ketamine_placebo_by_route_pain_intensity_immediate",
                 "forest_ketamine_placebo_intravenous_pain_intensity_immediate",
                 "forest_memantine_placebo_oral_nausea", "funnel_ketamine_placebo_intravenous_pain_intensity_short",
                 "adverse_events_breakdown_ketamine",
                 *(f"rob_{kind}_{d}" for kind in ("traffic_light", "summary") for d in drugs)]:
        assert {f"figures/{stem}.{ext}" for ext in ("png", "svg", "pdf")} <= figures, stem
    assert "tables/summary_of_findings_efficacy_ketamine.csv" in result.outputs
    assert {f"tables/certainty_{d}.csv" for d in drugs} <= set(result.outputs)  # hashed in the manifest
    assert verify(result.run_dir, jobs=2).ok


def test_verify_notes_a_changed_input_package(tmp_path):
    data = write_outer_zip(tmp_path / "package.zip", package_files())
    run = runner.run_set(tmp_path / "v", notebooks=[TABLE_NB], data_path=data).run_dir
    data.write_bytes(data.read_bytes() + b"\0")
    result = verify(run)
    assert result.ok  # the fixture does not read the package, so its outputs still match
    assert len(result.notes) == 1 and "changed since the run" in result.notes[0]


def test_parameters_are_checked_before_any_kernel_starts(tmp_path):
    # a kernel that does not exist: the parameter error must come first, from the same check as the notebooks
    from helpers.core.errors import ParameterError

    with pytest.raises(ParameterError, match="estimator must be one of FE, DL, REML, PM or null; got 'FOO'"):
        runner.run_set(tmp_path / "r", notebooks=[TABLE_NB], parameters={"estimator": "FOO"}, kernel_name="nope")
    assert not (tmp_path / "r").exists()


def test_bare_notebook_names_mean_the_committed_set():
    assert runner.check_notebooks(["00_data.ipynb", "05_concordance"]) == [
        paths.NOTEBOOKS / "00_data.ipynb", paths.NOTEBOOKS / "05_concordance.ipynb"]
    with pytest.raises(FileNotFoundError, match="or a name of the set: 00_data.ipynb, 01_efficacy.ipynb"):
        runner.check_notebooks(["00_daat"])


def test_help_lists_subcommands_and_allowed_values(capsys):
    from helpers.run import cli

    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for word in ("verify [RUN_DIR]", "refresh-notebooks", "real [--from FILE]", "estimator: FE, DL, REML, PM or null",
                 "ci_method: z, hksj"):
        assert word in out


def test_every_page_of_a_run_loads_nothing_from_the_network(good_run):
    pages = sorted(good_run.run_dir.rglob("*.html"))
    assert len(pages) == 3
    for page in pages:
        assert remote_references(page.read_text(encoding="utf-8")) == [], page.name


def test_executed_notebooks_and_html_carry_no_machine_path(good_run):
    run = good_run.run_dir
    for path in [*(run / "notebooks").glob("*.ipynb"), *(run / "html").glob("*.html")]:
        text = path.read_text(encoding="utf-8")
        assert str(run) not in text and str(paths.PROJECT_ROOT) not in text, path.name
    page = (run / "html" / "fixture_table.html").read_text(encoding="utf-8")
    assert 'href="../notebooks/fixture_table.ipynb"' in page


def test_verify_quick_compares_files_with_the_manifest_without_executing(good_run, tmp_path, capsys, monkeypatch):
    from helpers.run import verify as verify_module

    run = tmp_path / "copy"
    shutil.copytree(good_run.run_dir, run)
    monkeypatch.setattr(verify_module, "run_plan", lambda *a, **k: pytest.fail("--quick must not execute"))
    assert cli.main(["verify", "--quick", str(run)]) == 0
    assert "verify --quick passed: 2 outputs" in capsys.readouterr().out
    with open(run / "tables" / "fixture_table.csv", "ab") as handle:
        handle.write(b"tampered\n")
    (run / "figures" / "extra.png").write_bytes(b"new")
    result = verify_module.verify_quick(run)
    assert sorted(d.output for d in result.differences) == ["figures/extra.png", "tables/fixture_table.csv"]
    assert cli.main(["verify", "--quick", str(run)]) == 1

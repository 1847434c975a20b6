"""Friendly commands for the real review (issue 17 part A points 2 and 4): ``helpers.run real`` takes the plain
run's -p, --review-map and --add-rows options; ``make real`` passes them through; ``verify`` finds the run it is
asked about or says which runs exist; a page whose settings are not the review's says so above its parameters.
Nothing here executes a notebook: the run itself is replaced by a recorder.
"""

from __future__ import annotations

import json
import os
import subprocess
import warnings

import pytest

from helpers.core import paths
from helpers.report.notebook import declared_parameters, parameters
from helpers.run import cli, runner

EXTRA = ("analysis_id,study,year,mean_e,sd_e,n_e,mean_c,sd_c,n_c,duration\n"
         "1.1,Hypothetical 2026,2026,40,25,30,55,25,30,≤1 day\n")


@pytest.fixture()
def recorded(monkeypatch, tmp_path):
    """``run_set`` replaced by a recorder of its arguments; the fetch cache in a temporary folder."""
    calls = []

    class Done:
        def summary(self):
            return "recorded"

    monkeypatch.setattr(cli, "run_set", lambda out, **kwargs: calls.append((out, kwargs)) or Done())
    monkeypatch.setattr(paths, "DATA_EXTERNAL", tmp_path / "external")
    return calls


def test_real_takes_the_plain_runs_parameters_review_map_and_added_rows(real_rows, recorded, tmp_path):
    extra = tmp_path / "extra.csv"
    extra.write_text(EXTRA, encoding="utf-8")
    argv = ["real", "--from", str(real_rows), "-p", "estimator=REML", "-p", "ci_method=hksj", "--review-map",
            "cd015373", "--add-rows", str(extra), "--out", str(tmp_path / "out"), "--jobs", "2"]
    assert cli.main(argv) == 0
    (out, kwargs), = recorded
    assert out == tmp_path / "out" and kwargs["data_path"] == real_rows and kwargs["jobs"] == 2
    assert kwargs["parameters"] == {"estimator": "REML", "ci_method": "hksj", "review_map": "cd015373"}
    assert kwargs["add_rows"] == extra


def test_real_refuses_an_unknown_parameter_before_fetching(recorded, capsys):
    assert cli.main(["real", "-p", "estimater=REML"]) == 2
    assert "unknown parameter 'estimater'" in capsys.readouterr().err and recorded == []


def test_make_passes_parameters_and_finds_the_run_to_verify():
    def dry(*args):
        # Under `make test` the sub-make inherits MAKELEVEL/MAKEFLAGS and would print "Leaving directory" last.
        env = {k: v for k, v in os.environ.items() if k not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
        done = subprocess.run(["make", "-n", "--no-print-directory", *args], cwd=paths.PROJECT_ROOT,
                              capture_output=True, text=True, env=env)  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.strip().splitlines()[-1]

    assert dry("real", "FROM=x.rda", 'P=-p estimator=REML -p ci_method=hksj', "ADD_ROWS=extra.csv").endswith(
        'real --jobs 2 --from "x.rda" --add-rows "extra.csv"  -p estimator=REML -p ci_method=hksj')
    assert dry("verify").endswith("helpers.run verify  --jobs 2")  # no runs/default guessed
    assert dry("verify", "OUT=runs/cd015373-real").endswith('verify "runs/cd015373-real" --jobs 2')


def _run_folder(root, name):
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"notebooks": [], "outputs": {}, "kernel": "k",
                                                      "input": {"hashed": None, "sha256": "0" * 64}}))
    return folder


def test_verify_finds_the_only_run_or_lists_the_runs(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(paths, "RUNS", tmp_path / "runs")
    assert cli.main(["verify", "--quick"]) == 2
    assert "no run folder under runs/ yet: `make run` or `make real` first" in capsys.readouterr().err
    real = _run_folder(tmp_path / "runs", "cd015373-real")
    assert cli.main(["verify", "--quick"]) == 0  # after only `make real`: that run, not runs/default
    assert "cd015373-real" in capsys.readouterr().out.splitlines()[0]
    assert cli.main(["verify", "--quick", str(tmp_path / "runs" / "default")]) == 2
    err = capsys.readouterr().err
    assert "default: not a run folder (no manifest.json); runs: " in err and "cd015373-real" in err
    _run_folder(tmp_path / "runs", "default")
    assert cli.main(["verify", "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: which run? runs: ") and "make verify OUT=" in err and str(real.name) in err


def test_added_rows_become_a_tidy_folder_the_notebooks_read(real_rows, monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "DATA_PROCESSED", tmp_path / "processed")
    extra = tmp_path / "extra.csv"
    extra.write_text(EXTRA, encoding="utf-8")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        folder = runner.with_added_rows(real_rows, extra)
    assert folder.parent == tmp_path / "processed" and folder.name.startswith("cd015373-added-")
    meta = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
    assert meta["label"].startswith("derived from CD015373.pub2 data rows, modified (SHA-256 ")
    assert meta["sha256"][:12] in folder.name and "943cda91e235" not in meta["label"]
    assert any("'Hypothetical 2026' added to 1.1, 1.2 (duration: ≤1 day)" in str(w.message) for w in seen)


def test_a_page_whose_settings_are_not_the_reviews_says_so_above_its_parameters():
    own = parameters(estimator=None)._repr_markdown_()
    assert own.startswith("**Parameters:**") and "not the review's" not in own
    page = parameters(estimator="REML", ci_method="hksj")._repr_markdown_()
    assert page.startswith("> **These settings are not the review's.**")
    assert "> - estimator=REML" in page and "> - ci_method=hksj (the review: Wald z)" in page
    assert page.index("not the review's") < page.index("**Parameters:**")


def check_departure_run(run, added: bool) -> None:
    """What a real run with -p estimator=REML -p ci_method=hksj (and the example added rows) must show."""
    index = (run / "index.html").read_text(encoding="utf-8")
    head = index[:index.index("<h2>What was run")]
    assert head.index('<div class="departure">') < head.index("<h2>Verdict")
    assert "estimator=REML" in head and "ci_method=hksj (the review: Wald z)" in head
    assert "engine vs RevMan, the package&#x27;s settings</th><td><strong>held</strong>" in head
    assert "this run vs the published results</th><td><strong>differs</strong> for 3 of 3" in head
    assert "Reproduced:" not in head
    pages = sorted((run / "html").glob("*.html"))
    assert len(pages) == 18
    for page in pages:
        text = page.read_text(encoding="utf-8")
        # a page whose notebook declares neither estimator nor ci_method (00 data, 05 concordance) computes nothing
        # they change: it carries no settings banner (the runner warned the -p values were ignored there)
        declared = declared_parameters(paths.NOTEBOOKS / f"{page.stem.split('--')[0]}.ipynb")
        uses_settings = bool({"estimator", "ci_method"} & set(declared))
        assert ("These settings are not the review" in text) == uses_settings, page.name
        if added:
            assert "derived from CD015373.pub2 data rows, modified (SHA-256" in text, page.name
    ignored = json.loads((run / "manifest.json").read_text(encoding="utf-8"))["ignored_parameters"]
    assert ignored == {"ci_method": ["00_data.ipynb", "02_small_study_effects.ipynb", "05_concordance.ipynb"],
                       "estimator": ["00_data.ipynb", "05_concordance.ipynb"]}
    if added:
        assert "does NOT match the pinned one" in head and "added in this run: Hypothetical 2026" in head
        for svg in (run / "figures").glob("*.svg"):
            text = svg.read_text(encoding="utf-8")
            # a narrow figure (a funnel) wraps its footer at ", " onto two lines (figures.style.draw_footer)
            assert "derived from CD015373.pub2 data rows," in text and "modified (SHA-256" in text, svg.name
            assert "943cda91e235" not in text, svg.name


@pytest.mark.slow
def test_real_run_with_settings_and_rows_of_ones_own_is_a_named_departure(real_rows, tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "DATA_EXTERNAL", tmp_path / "external")
    monkeypatch.setattr(paths, "DATA_PROCESSED", tmp_path / "processed")
    out = tmp_path / "real"
    argv = ["real", "--from", str(real_rows), "--out", str(out), "--jobs", "2", "--no-progress",
            "--add-rows", str(paths.DATA / "templates" / "cd015373-extra-rows.csv"),
            "-p", "estimator=REML", "-p", "ci_method=hksj"]
    assert cli.main(argv) == 0
    check_departure_run(out, added=True)

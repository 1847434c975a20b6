"""Unmapped packages (issue 10 point 6): the generic mode, chosen automatically when the review map does not
apply (the shared Fleiss 1993 package maps to no drug of CD015373) or explicitly (``review_map=none``), runs
and draws the analyses per comparison and outcome as RevMan groups them, labelled from the package."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest

from helpers.core import paths
from helpers.core.errors import ParameterError
from helpers.data import mapmode
from helpers.data.dataset import load_dataset
from helpers.data.tidy import read_tidy, write_tidy
from helpers.report import figindex, generic, plan
from helpers.report.index import render_index
from helpers.run import cli, runner
from test_any_dataset import run_cells

FLEISS_TITLE = "Comparison 1: Examples from Fleiss (1993)\nOutcome 1.1: Aspirin for Preventing Death after Myocardial Infarction"
FLEISS_STEMS = ["forest_analysis_1_1_aspirin_for_preventing_death_after_myocardial",
                "forest_analysis_1_2_mental_health_treatment_versus_control"]  # fmt: skip


@pytest.fixture(scope="module")
def fleiss(shared_sample):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load_dataset(shared_sample)
    return ds, [str(w.message) for w in caught]


def test_auto_reads_an_unmapped_package_generically_labelled_from_the_package(fleiss):
    ds, caught = fleiss
    assert ds.review == "Fleiss1993" and ds.label == "Fleiss1993"  # was review='CD015373'
    assert ds.generic == ("review_map=auto: no analysis of the package maps to a drug of the default review map "
                          "(NMDA receptor antagonists)")
    assert any(m.startswith("generic mode: review_map=auto") for m in caught)  # warned, and recorded:
    assert any(w.startswith("generic mode: review_map=auto") for w in ds.warnings)
    assert ds.rows[["drug", "route", "comparator", "outcome", "timepoint"]].isna().all().all()  # never guessed
    assert set(ds.rows["comparison"]) == {"Examples from Fleiss (1993)"}
    assert "generic mode" in repr(ds) and "CD015373" not in repr(ds)


def test_explicit_modes(shared_sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        none = load_dataset(shared_sample, review="none")
        forced = load_dataset(shared_sample, review="CD015373")
        default_auto, default_forced = load_dataset(), load_dataset(review="cd015373")
    assert none.generic == "chosen explicitly (review_map=none)" and none.review == "Fleiss1993"
    assert forced.generic is None and forced.review == "CD015373"  # the map forced: as before this change
    assert default_auto.generic is None and default_auto.review == "CD015373"
    pd.testing.assert_frame_equal(default_auto.rows, default_forced.rows)  # auto keeps the review's mapping


def test_a_package_naming_another_review_is_not_mapped():
    mapped = pd.DataFrame({"drug": ["ketamine"]})
    assert mapmode.map_applies(mapped, "CD015373-dataPackage", "CD015373") is None
    assert mapmode.map_applies(mapped, "synthetic-cd015373", "CD015373") is None
    why = mapmode.map_applies(mapped, "CD012345-dataPackage", "CD015373")
    assert why.startswith("the package names review CD012345, not CD015373")


def test_review_map_values_are_checked_with_the_allowed_values(tmp_path):
    assert mapmode.check_review_map("AUTO") == "auto" and mapmode.check_review_map(None) == "none"
    assert mapmode.check_review_map("CD015373") == "cd015373"
    yaml_path = paths.REVIEWS / "cd015373.yaml"
    assert mapmode.check_review_map(str(yaml_path)) == str(yaml_path.resolve())
    with pytest.raises(ParameterError, match=r"^review_map must be one of auto, none, cd015373 or a path to a "
                                             r"review map \.yaml; got 'nmda'$"):
        mapmode.check_review_map("nmda")


def test_invalid_review_map_is_one_line_before_any_kernel(tmp_path, capsys):
    with pytest.raises(ParameterError, match="review_map must be one of auto, none, cd015373"):
        runner.run_set(tmp_path / "r", parameters={"review_map": "bogus"}, kernel_name="no-such-kernel")
    assert not (tmp_path / "r").exists()
    assert cli.main(["--review-map", "bogus", "--out", str(tmp_path / "c"), "--kernel", "no-such-kernel"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: review_map must be one of auto, none, cd015373")


def test_generic_plan_one_forest_plot_per_analysis_with_revman_titles(fleiss):
    ds, _ = fleiss
    forest = generic.forest_plan(ds, plan.EFFICACY_OUTCOMES)
    assert [f.stem for f in forest.figures] == FLEISS_STEMS and forest.skipped == ()
    assert forest.figures[0].title == FLEISS_TITLE
    assert [f.k for f in forest.figures] == [7, 5]
    funnel = generic.funnel_plan(ds, "pain_intensity")  # k 7 and 5 < 10 (Handbook 13.3.5.4): said, not drawn
    assert funnel.figures == () and funnel.skipped == tuple((s.replace("forest", "funnel"), f"not drawn: k = {k} < 10")
                                                            for s, k in zip(FLEISS_STEMS, (7, 5)))


def test_mapped_dataset_plans_as_before():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset()
        assert [f.stem for f in generic.forest_plan(ds, plan.EFFICACY_OUTCOMES, "ketamine").figures] == [
            f.stem for f in plan.forest_plan(ds, plan.EFFICACY_OUTCOMES, "ketamine").figures]
        assert generic.table_stem(ds, "summary_of_findings", "summary_of_findings_efficacy") == \
            "summary_of_findings_efficacy"


def test_tidy_folder_keeps_the_generic_mode(fleiss, tmp_path):
    ds, _ = fleiss
    back = read_tidy(write_tidy(ds, tmp_path / "tidy"))
    assert back.generic == ds.generic and back.review == "Fleiss1993"
    meta = json.loads((tmp_path / "tidy" / "dataset.json").read_text())
    del meta["generic"]  # a tidy folder written before this change
    (tmp_path / "tidy" / "dataset.json").write_text(json.dumps(meta))
    assert read_tidy(tmp_path / "tidy").generic is None


def test_notebook_01_draws_and_pools_every_fleiss_analysis_with_the_package_settings(fleiss, tmp_path, monkeypatch):
    shown = run_cells("01_efficacy", paths.SHARED_SAMPLE_PACKAGE, tmp_path, monkeypatch)
    assert any("**Generic mode: no review map applied** (review_map=auto: no analysis" in s for s in shown)
    for stem in FLEISS_STEMS:
        assert (tmp_path / "figures" / f"{stem}.png").is_file(), stem
    sof = pd.read_csv(tmp_path / "tables" / "summary_of_findings_analyses.csv", dtype={"analysis_id": str})
    assert list(sof["comparison"]) == ["Examples from Fleiss (1993)"] * 2 and "drug" not in sof
    row = sof.set_index("analysis_id").loc["1.1"]
    # RevMan's own result in the package: MH fixed OR 0.896866 [0.840514, 0.956995]
    assert (row["model"], row["k"], row["participants"]) == ("fixed", 7, 28003)
    assert [round(row[c], 6) for c in ("estimate", "ci_low", "ci_high")] == [0.896866, 0.840514, 0.956995]


def test_notebook_02_names_its_table_for_every_analysis_not_an_outcome(fleiss, tmp_path, monkeypatch):
    # the generic run's table was small_study_effects_pain_intensity.csv although no outcome is mapped
    run_cells("02_small_study_effects", paths.SHARED_SAMPLE_PACKAGE, tmp_path, monkeypatch)
    assert [p.name for p in (tmp_path / "tables").glob("small_study_effects*.csv")] == [
        "small_study_effects_analyses.csv"]
    with pytest.raises(ValueError, match="kind must be one of summary_of_findings, small_study_effects"):
        generic.table_stem(fleiss[0], "forest", "x")


def test_notebook_05_lists_no_other_reviews_results(fleiss, tmp_path, monkeypatch, capsys):
    run_cells("05_concordance", paths.SHARED_SAMPLE_PACKAGE, tmp_path, monkeypatch)
    # before: CD015373's three abstract results, each "not compared", in a run on another package
    assert pd.read_csv(tmp_path / "tables" / "published_results.csv").empty
    assert "Fleiss1993: no published results to compare: the generic mode applies no review map" in capsys.readouterr().out
    concordance = pd.read_csv(tmp_path / "tables" / "concordance.csv")
    assert len(concordance) > 0 and set(concordance["status"]) <= {"ok", "not published", "not estimable"}


def test_run_report_says_generic_mode_and_groups_figures_by_comparison(tmp_path, fleiss):
    facts = figindex.notebook_figures(fleiss[0], paths.NOTEBOOKS / "01_efficacy.ipynb")
    assert [f.stem for f in facts] == FLEISS_STEMS
    assert {(f.comparison_number, f.comparison) for f in facts} == {("1", "Examples from Fleiss (1993)")}
    (tmp_path / "manifest.json").write_text(json.dumps({"figures": figindex.figure_index(list(facts))}))
    outputs = {f"figures/{s}.png": "0" for s in FLEISS_STEMS}
    why = "review_map=auto: no analysis of the package maps to a drug"
    page = render_index(tmp_path, [], outputs, "Fleiss1993.zip", None, (), why)
    assert "<strong>Generic mode: no review map applied.</strong> Why: review_map=auto: no analysis" in page
    assert "<th>review map</th><td>none applied: <strong>generic mode</strong>" in page
    assert "<h3>Comparison 1: Examples from Fleiss (1993) (2)</h3>" in page
    assert "Generic mode" not in render_index(tmp_path, [], outputs, "x", None, ())


def test_forcing_the_map_keeps_the_per_drug_skip(tmp_path, shared_sample):
    with pytest.warns(UserWarning, match=r"not executed: 01_efficacy\.ipynb .* no analysis .* mapped to a drug"):
        result = runner.run_set(tmp_path / "run", notebooks=[paths.NOTEBOOKS / "01_efficacy.ipynb"],
                                data_path=shared_sample, parameters={"review_map": "cd015373"}, progress=False)
    assert result.ok and result.outcomes == ()


@pytest.mark.slow
def test_fleiss_run_is_generic_labelled_and_drawn_per_analysis(tmp_path, shared_sample):
    with pytest.warns(UserWarning, match="generic mode: review_map=auto"):
        result = runner.run_set(tmp_path / "fleiss", data_path=shared_sample, jobs=2)
    assert result.ok
    assert [o.notebook for o in result.outcomes] == [
        "00_data.ipynb", "01_efficacy.ipynb", "02_small_study_effects.ipynb", "03_adverse_events.ipynb",
        "04_sensitivity.ipynb", "05_concordance.ipynb"]  # every notebook, the per-drug ones once
    for stem in FLEISS_STEMS:
        assert f"figures/{stem}.png" in result.outputs  # its funnel not drawn: k < 10
        assert f"figures/{stem.replace('forest', 'funnel')}.png" not in result.outputs
    manifest = json.loads((result.run_dir / "manifest.json").read_text())
    assert manifest["generic_mode"].startswith("review_map=auto: no analysis of the package maps to a drug")
    index = (result.run_dir / "index.html").read_text()
    assert "Generic mode: no review map applied." in index and "Comparison 1: Examples from Fleiss (1993)" in index
    html01 = (result.run_dir / "html" / "01_efficacy.html").read_text()
    assert "Generic mode: no review map applied" in html01
    for rel in ("index.html", *result.outputs):
        if rel.endswith((".csv", ".html", ".svg")):
            assert "CD015373" not in (result.run_dir / rel).read_text(encoding="utf-8"), rel

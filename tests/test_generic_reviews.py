"""The generic mode on real Cochrane reviews of ../shared/fixtures/pairwise70 (issue 19), fast: the functions
that were wrong on a review the project was not written for, each read from the real file (skips outside CI,
fails on CI when the folder is absent). The end-to-end runs are in tests/test_corpus_run.py (slow).

- CD015124_pub2: generic inverse variance rows only (ratio measure, no arm counts, one row with n_e = 1 and no
  n_c): the summary of findings' risk per 1,000 crashed (ValueError: int('NA')) and participants read 0 or 1.
"""

from __future__ import annotations

import math
import re
import warnings

import pandas as pd
import pytest

from helpers.data.dataset import load_dataset
from helpers.data.judgements import load_certainty_inputs
from helpers.report import generic, index, render, sof, summary, verdict_html
from helpers.report.generic import analyses
from helpers.stats.infer import settle
from helpers.stats.precision import participants


def _load(pairwise70, review: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return settle(load_dataset(pairwise70 / f"{review}_data.rda"))


@pytest.fixture(scope="module")
def giv_only(pairwise70):
    return _load(pairwise70, "CD015124_pub2")


def test_participants_are_not_in_the_data_when_a_row_lacks_an_arm_size(giv_only):
    rows = giv_only.analysis("1.1")
    assert rows["n_e"].notna().sum() == 1 and rows["n_c"].isna().all()  # the export's one n_e = 1
    assert math.isnan(participants(rows))  # was 1: a sum over the rows that carry an arm size
    dich = giv_only.rows.assign(n_e=10.0, n_c=12.0).head(3)
    assert participants(dich) == 66.0


def test_summary_of_findings_of_giv_ratio_rows_says_not_in_the_data(giv_only):
    inputs = load_certainty_inputs(giv_only.review)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assessed = sof.assess_all(giv_only, None, inputs)
    assert {ma.measure for _, ma, _ in assessed} == {"RR"} and len(assessed) == 5
    table = sof.sof_table(assessed)  # was: ValueError: invalid literal for int() with base 10: 'NA'
    assert (table["Risk with comparator"] == f"{summary.NOT_IN_DATA} (rows without control events)").all()
    assert (table["Risk with intervention"] == f"{summary.NOT_IN_DATA} (no control risk)").all()
    assert table["Relative effect (95% CI)"].str.match(r"RR \d\.\d\d \(\d\.\d\d to \d\.\d\d\)").all()
    assert table["Participants (studies)"].str.startswith(f"{summary.NOT_IN_DATA} (").all()  # was "0 (4)"
    cert = sof.certainty_table(assessed, inputs)
    assert cert["participants"].isna().all()
    assert cert["imprecision_reason"].str.contains("participants not in the data").all()


def test_findings_table_shows_missing_participants_and_comparison_in_words(giv_only):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = summary.analyse_all([a for a in analyses(giv_only) if summary.not_estimable(a) is None])
    frame = summary.summary_of_findings(results)
    assert frame["participants"].isna().all()  # was 0 or 1
    shown = summary.findings_view(frame.assign(comparison=None)).data
    assert (shown["participants"] == summary.NOT_IN_DATA).all() and (shown["comparison"] == summary.NOT_IN_DATA).all()


def test_run_report_says_not_in_the_data_for_an_empty_comparison_and_participants(giv_only, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = summary.analyse_all([a for a in analyses(giv_only) if summary.not_estimable(a) is None])
    (tmp_path / "tables").mkdir()
    generic.summary_of_findings(giv_only, results).to_csv(tmp_path / "tables" / "summary_of_findings_analyses.csv",
                                                           index=False)
    html = index.summary_of_findings(tmp_path)
    assert "<td>nan</td>" not in html  # was: the export names no comparison, the page said nan on every row
    assert "The comparisons' names are not in the data" in html and "<th>comparison</th>" not in html
    first = html.split("<tbody>")[1].split("</tr>")[0]
    assert first.startswith("<tr><td>1.1</td>") and first.count(summary.NOT_IN_DATA) == 1  # participants


def test_footer_of_a_tall_forest_plot_stays_below_its_last_text_row(pairwise70):
    """CD012186_pub2 1.1: 89 studies in 38 subgroups, a figure ~3,700 pt tall; the footer ("Data: ...") sat at
    0.5 % of the height (18 pt), on top of "Test for subgroup differences" (14 pt reserved for it)."""
    ds = _load(pairwise70, "CD012186_pub2")
    spec = next(s for s in generic.forest_plan(ds, ()).figures if s.selected.analysis_id == "1.1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = render.draw(spec, ds)
    renderer = fig.canvas.get_renderer()
    footer = next(t for t in fig.texts if t.get_gid() == "footer")
    assert fig.get_size_inches()[1] * 72 > 3000 and footer.get_text() == "Data: CD012186_pub2_data"
    assert spec.title.startswith("Comparison 1 (its name is not in the data)\nOutcome 1.1: SAEs")  # the export has none
    texts = [t for ax in fig.axes for t in ax.texts if t.get_text().strip()]
    last = min(texts, key=lambda t: t.get_window_extent(renderer).y0)
    assert last.get_text().startswith("Test for subgroup differences")
    assert footer.get_window_extent(renderer).y1 < last.get_window_extent(renderer).y0  # was: overlapping


def test_flagged_settings_are_named_in_the_manifest_and_the_run_report(pairwise70, tmp_path):
    """CD012186_pub2: 1.2's weights are reproduced by no candidate (FLAGGED in notebook 05); the run report said
    "parameters: the package's own RevMan settings" (the export carries none) and named no flagged analysis."""
    ds = _load(pairwise70, "CD012186_pub2")
    (tmp_path / "tables").mkdir()
    ds.settings_evidence.to_csv(tmp_path / "tables" / "settings_evidence.csv", index=False)
    facts = verdict_html.inferred_settings(tmp_path)
    assert facts["analyses"] == 2 and facts["reproduced"] == 1 and list(facts["flagged"]) == ["1.2"]
    assert facts["flagged"]["1.2"].startswith("Withdrawals due to AEs: not reproduced (closest RR/MH/random; "
                                              "largest difference: estimate ")
    words = verdict_html.inferred_settings_words(facts)
    assert words.startswith("not in the data: each analysis' measure, method and model read off RevMan's "
                            "per-study values; 1 of 2 analyses reproduced; FLAGGED (1, ")
    assert words.endswith("(evidence: tables/settings_evidence.csv, notebook 05)")
    manifest = {"input": {"sha256": "0" * 64}, "inferred_settings": facts}
    page = index.what_was_run(manifest, "CD012186_pub2_data", [], generic="review_map=auto")
    assert "the package&#x27;s own RevMan settings" not in page
    # the parameters row points to the verdict's evidence once instead of repeating it (it did, in full)
    assert ("<th>parameters</th><td>each analysis&#x27; settings as read off RevMan&#x27;s per-study values (the "
            "verdict&#x27;s analysis settings row)</td>") in page and "FLAGGED" not in page
    assert verdict_html.inferred_settings(tmp_path / "elsewhere") is None  # a package with its own settings


def test_notebook_05_words_the_concordance_and_shows_the_flagged_settings(pairwise70, tmp_path, monkeypatch, capsys):
    """05 on CD012186_pub2: the headline check was printed as "836 published quantities compared; all within
    tolerance: False", and the generic mode showed an empty published-results table under a cd015373 paragraph."""
    from test_any_dataset import run_cells

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_cells("05_concordance", pairwise70 / "CD012186_pub2_data.rda", tmp_path, monkeypatch)
    out = capsys.readouterr().out
    assert "published quantities compared" not in out
    assert re.search(r"Concordance did NOT hold: \d+ of \d+ values RevMan printed were NOT reproduced", out)
    assert "no published results to compare" in out
    assert "FLAGGED 1.2 Withdrawals due to AEs: not reproduced" in out
    flagged = pd.read_csv(tmp_path / "tables" / "settings_evidence.csv", dtype={"analysis_id": str})
    assert set(summary.FLAGGED_COLUMNS) <= set(flagged.columns)  # the columns the notebook shows


def test_forest_rows_show_applicability_as_revman_pools_it(pairwise70):
    """CD011535_pub7 6.4: CIMPACT 2018 is split into two SUBGROUP_ONLY rows (Certolizumab, Etanercept: in their
    subgroups, not the total) and one OVERALL_ONLY row (the total only). The plot printed 'NA%' as their weight,
    left the OVERALL_ONLY row out of sight and counted CIMPACT's participants three times in the total."""
    from helpers.figures import forest_text

    ds = _load(pairwise70, "CD011535_pub7")
    sel = next(a for a in analyses(ds) if a.analysis_id == "6.4")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ma = summary.analyse(sel)
    rows = forest_text.build_rows(ma, forest_text.table_columns(ma), False)
    cells = [r["cells"] for r in rows]
    assert not any("NA" in str(v) for c in cells for v in c.values())
    cimpact = [(i, c["weight"]) for i, c in enumerate(cells) if c.get("study") == "CIMPACT 2018"]
    assert [w for _, w in cimpact] == [forest_text.SUBGROUP_ONLY, forest_text.SUBGROUP_ONLY, "2.7%"]
    heading = cimpact[-1][0] - 1
    assert cells[heading] == {"study": forest_text.OVERALL_ONLY} and rows[heading]["bold"]
    total = next(c for c in cells if c.get("study") == "Total (95% CI)")
    entered = ma.studies[ma.studies["weight"].notna()]
    assert total["n_e"] == f"{entered['n_e'].sum():.0f}" and total["n_e"] != f"{ma.studies['n_e'].sum():.0f}"


def test_verdict_names_the_analyses_revman_estimated_no_study_of(pairwise70, tmp_path):
    """CD015160_pub2: RevMan estimated no study of 1.4, 1.7, 2.1 and 4.1 (all 'not estimable'): no setting can be
    read off them and they are left out of the settled data, so the verdict said "not pooled: none"."""
    from helpers.report.verdict import run_verdict

    ds = _load(pairwise70, "CD015160_pub2")
    (tmp_path / "tables").mkdir()
    ds.settings_evidence.to_csv(tmp_path / "tables" / "settings_evidence.csv", index=False)
    facts = verdict_html.inferred_settings(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        html = verdict_html.verdict_html(run_verdict(ds), None, "CD015160_pub2_data.rda", settings=facts)
    row = html.split("<th>not pooled</th><td>")[1].split("</td>")[0]
    assert row.startswith("4 analyses of which RevMan estimated no study (no settings to read off, nothing pooled): "
                          "1.4 Clinical recurrence or reoperation for recurrence within 30 days of repair; 1.7 ")
    assert "none: every analysis" not in row and "<th>analysis settings</th>" in html


def test_summary_of_findings_of_giv_mean_differences_has_no_control_means(pairwise70):
    """CD008063_pub3: generic inverse variance MD rows carry no arm means; the table said 'control means NA to
    NA' (and numpy warned 'All-NaN axis encountered')."""
    ds = _load(pairwise70, "CD008063_pub3")
    inputs = load_certainty_inputs(ds.review)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assessed = sof.assess_all(ds, None, inputs)
        table = sof.sof_table(assessed)
    assert {ma.measure for _, ma, _ in assessed} == {"MD"} and len(table) > 3
    assert (table["Risk with comparator"] == f"{summary.NOT_IN_DATA} (rows without control means)").all()
    assert not [w for w in caught if "All-NaN" in str(w.message)]


def test_sensitivity_runs_every_analysis_of_a_package_in_the_generic_mode(giv_only):
    """Notebook 04 on any real review said "has no pain_intensity analysis" and showed nothing: the generic mode
    has no outcome map, so the sensitivity analyses now cover every estimable analysis with at least 3 studies."""
    from helpers.report import sensitivity

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tables = sensitivity.sensitivity_tables(giv_only, "pain_intensity")
    assert sorted(tables["estimators"]["analysis_id"].unique()) == ["1.1", "2.1", "3.1", "4.1", "5.1"]
    assert len(tables["leave_one_out"]) > 0 and len(tables["subsets"]) == 15



def test_sensitivity_leaves_out_analyses_with_fewer_studies_that_can_enter(pairwise70):
    """CD015160_pub2 1.2: four rows, one estimable (the others no events): notebook 04 failed with "leave_one_out
    needs at least 2 studies; got 1" (rows were counted, not the studies that can enter)."""
    from helpers.report import sensitivity

    ds = _load(pairwise70, "CD015160_pub2")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tables = sensitivity.sensitivity_tables(ds, "pain_intensity")
    assert sorted(tables["estimators"]["analysis_id"].unique()) == ["3.1", "6.1"]
    assert not [w for w in caught if "not computed" in str(w.message)]


def test_a_long_analysis_name_is_wrapped_in_the_title_not_clipped(pairwise70):
    """CD012891_pub2 1.3: a 213-character analysis name; its title ran past the forest plot's right edge even at
    the smallest font ("... tamoxifen: number of ooc")."""
    ds = _load(pairwise70, "CD012891_pub2")
    spec = next(s for s in generic.forest_plan(ds, ()).figures if s.selected.analysis_id == "1.3")
    assert all(len(line) <= generic.TITLE_CHARS for line in spec.title.split("\n")) and spec.title.count("\n") >= 2
    assert spec.title.replace("\n  ", " ").endswith("number of oocytes retrieved after ovarian stimulation")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = render.draw(spec, ds)
    renderer = fig.canvas.get_renderer()
    title = next(t for t in fig.texts if t.get_text() == spec.title)
    assert title.get_window_extent(renderer).x1 <= fig.bbox.width and title.get_fontsize() > 5.0  # not shrunk away


def test_notebook_00_says_once_what_the_export_does_not_record(pairwise70, tmp_path, monkeypatch):
    """00 on CD012891_pub2: three count tables of one 'not recorded in the data rows' line each (drug, route,
    design) were shown; now one line says so, and the tables are still saved."""
    from test_any_dataset import run_cells

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shown = run_cells("00_data", pairwise70 / "CD012891_pub2_data.rda", tmp_path, monkeypatch)
    lines = [s for s in shown if "Not in the data:" in s]
    assert lines == ["> **Not in the data:** the drug, route, design of the 20 trials (not recorded in the data "
                     "rows), so there is no count by drug or route or design."]
    assert all((tmp_path / "tables" / f"counts_by_{by}.csv").is_file() for by in summary.COUNT_BY)

"""The explorer on the review's own data rows (CD015373.pub2, ../shared fixture), without a browser: it opens at
the review's analysis 1.1 with the review's settings and the published result beside it, offers the review's
13 comparison groups and their analyses, explains every change against the review with computed numbers
(REML + HKSJ checked against metafor run live), says when a risk-of-bias filter cannot be applied, shows the
adverse events of the comparison, and its command line fetches and checks the data as `helpers.run real` does.

Published values: the review's abstract (data/reviews/cd015373.yaml, published_results): 1.1 MD -15.79
(-32.09 to 0.51), 1.4 MD -5.32 (-15.51 to 4.87), 1.9 RR 3.26 (1.05 to 10.09).
"""

from __future__ import annotations

import subprocess
import warnings

import pytest
from scipy import stats

from helpers.core import paths
from helpers.core.errors import FetchError, ParameterError
from helpers.data.fetch import review_source
from helpers.explore import review as rv
from helpers.explore import selection as ex
from helpers.explore import server as srv
from helpers.explore.app import ExplorerApp, load_quietly
from helpers.explore.explain import explain
from helpers.stats.meta import meta_analysis


@pytest.fixture(scope="module")
def real(real_rows):
    return load_quietly(real_rows)  # the data notes are in real.warnings, shown folded by the app


@pytest.fixture(scope="module")
def app(real):
    return ExplorerApp(real)  # the engine's notes go to the app's status line


def test_opens_at_the_review_analysis_with_its_settings_and_published_result(app):
    assert app.analysis.value == "1.1" and app.estimator.value == "DL" and app.ci.value == "z"
    assert app.result.headline == "MD -15.79 [-32.09, 0.51]"
    assert "published: MD -15.79 [-32.09, 0.51], reproduced with the review's settings" in app.pooled.value.replace(
        "&#x27;", "'")
    assert "DerSimonian-Laird, RevMan default: not in the data" in app.result.settings  # said, not implied
    assert app.explanation == ("This is the review's analysis 1.1 with the review's settings and every study: "
                               "MD -15.79 [-32.09, 0.51].",)
    assert "Cochrane review CD015373.pub2: Ketamine and other NMDA receptor antagonists for chronic pain" in \
        app.banner.value
    assert "SYNTHETIC" not in app.banner.value and "nmda-synthetic" not in app.banner.value


def test_choices_follow_the_review_structure(real):
    groups = rv.comparison_groups(real.rows)
    assert len(groups) == 13 and groups["1"] == "Ketamine (intravenous) versus placebo"
    assert groups["9"] == "Amantadine (route unknown) versus comparator unknown"
    analyses = rv.analyses_in(real.rows, "1")
    assert list(analyses)[:4] == ["1.1", "1.2", "1.3", "1.4"] and len(analyses) == 23
    assert analyses["1.9"] == "Adverse events (total)"
    assert list(rv.comparison_groups(real.rows, "memantine")) == ["7"]
    assert rv.first_analysis(real.rows, "7") == "7.2"  # 7.1 holds one study: nothing to pool or vary
    subgroups = ex.explore(real, ex.for_analysis(real, "1.5"))
    assert [g for g, _ in subgroups.meta.subgroups] == ["Peripheral neuropathic pain", "Fibromyalgia",
                                                        "Complex regional pain syndrome"]


@pytest.mark.parametrize("analysis, printed", [("1.4", "MD -5.32 [-15.51, 4.87]"), ("1.9", "RR 3.26 [1.05, 10.09]")])
def test_every_printed_result_is_reproduced_and_said_so(real, analysis, printed):
    result = ex.explore(real, ex.for_analysis(real, analysis))
    assert result.headline == printed
    line = rv.published_line(real, analysis, result.meta)
    assert line.startswith(f"published: {printed}, reproduced with the review's settings")


def test_an_analysis_without_a_printed_result_says_so(real):
    result = ex.explore(real, ex.for_analysis(real, "1.2"))
    assert rv.published_line(real, "1.2", result.meta) == (
        "published: the review prints no pooled result for 1.2 in its abstract (it prints 1.1, 1.4, 1.9); the "
        "recomputation uses the review's settings")


def test_reml_hksj_is_explained_with_the_numbers_metafor_gives(real, rscript):
    rows = real.analysis("1.1")
    yi = (rows["mean_e"] - rows["mean_c"]).to_numpy(float)
    vi = (rows["sd_e"] ** 2 / rows["n_e"] + rows["sd_c"] ** 2 / rows["n_c"]).to_numpy(float)
    as_r = {name: ",".join(repr(float(x)) for x in values) for name, values in (("yi", yi), ("vi", vi))}
    script = (f"library(metafor); r <- rma(yi=c({as_r['yi']}), vi=c({as_r['vi']}), "
              "method='REML', test='knha', control=list(tol=1e-12, maxiter=1000)); "
              "cat(sprintf('%.10f %.10f %.10f %.10f', r$tau2, r$b, r$ci.lb, r$ci.ub))")
    tau2, b, lo, hi = map(float, subprocess.run([rscript, "-e", script], capture_output=True, text=True,
                                                check=True, timeout=120).stdout.split())
    sel = ex.for_analysis(real, "1.1", tau2_method="REML", ci="hksj")
    result = ex.explore(real, sel)
    assert (result.tau2, result.estimate, result.ci_low, result.ci_high) == pytest.approx((tau2, b, lo, hi), abs=1e-6)
    lines = explain(real, sel)
    wald = ex.explore(real, ex.for_analysis(real, "1.1", tau2_method="REML", ci="z"))
    ratio = stats.t.ppf(0.975, 2) * result.meta.overall.se / (stats.norm.ppf(0.975) * wald.meta.overall.se)
    assert lines[0].startswith(f"The REML estimator (an iterative restricted maximum-likelihood estimate) gives tau² "
                               f"= {tau2:.2f}; the DerSimonian-Laird estimator gives 142.38. A smaller tau²")
    assert "t distribution with k - 1 = 2 df (quantile 4.30 instead of the normal 1.96)" in lines[1]
    assert f"the interval is {ratio:.2f} times as wide as the Wald interval" in lines[1]
    assert f"{hi - lo:.2f} wide instead of {wald.ci_high - wald.ci_low:.2f}" in lines[1]
    assert lines[2] == (f"Against the review's analysis: MD {b:.2f} [{lo:.2f}, {hi:.2f}] here, MD -15.79 "
                        "[-32.09, 0.51] with the review's settings and studies; both include no effect.")


def test_leaving_a_study_out_names_its_weight_and_effect(real):
    lines = explain(real, ex.for_analysis(real, "1.1", leave_out="Sigtermans 2009"))
    rows = real.analysis("1.1")
    rest = rows[rows["study"] != "Sigtermans 2009"]
    mine = meta_analysis(rest, "MD", method="IV", model="random", tau2_method="DL").overall
    assert lines[0].startswith("Without Sigtermans 2009 (left out (sensitivity analysis); weight 36.1% in the "
                               "review's analysis, its own MD -27.70 [-41.43, -13.97]): 3 -> 2 studies. The "
                               f"estimate moves from -15.79 to {mine.estimate:.2f}")
    assert "closer to no effect" in lines[0] and f"tau² goes from 142.38 to {mine.tau2:.2f}" in lines[0]


def test_a_rob_filter_without_judgements_is_not_applied_and_says_so(real):
    with pytest.warns(Warning, match="cannot be applied"):
        result = ex.explore(real, ex.for_analysis(real, "1.1", rob="exclude_high"))
    assert result.k == 3  # not k = 0
    assert result.rob_note == (
        "the filter 'exclude high risk of bias (overall)' cannot be applied: 3 of 3 studies have no overall "
        "risk-of-bias judgement in the data (Lumanauw 2019, Noppers 2011a, Sigtermans 2009); the data judge D1 for "
        "3 of 3. Every study is kept.")
    d1 = ex.explore(real, ex.for_analysis(real, "1.4", rob="d1_low"))
    assert d1.k == 3 and d1.excluded == (("Schwartzman 2009", "randomization (D1) Some concerns, not Low"),)
    assert explain(real, ex.for_analysis(real, "1.1", rob="d1_low"))[0] == (
        "Risk of bias: the filter 'low risk from randomization (D1) only' removes no study here: every study of 1.1 "
        "passes it.")  # all three are Low in D1: said, not left to look like the review's own analysis


def test_adverse_events_of_the_comparison_one_click_away(real):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = ExplorerApp(real)
        app.tabs.selected_index = 1
    assert "Adverse events of ketamine (intravenous) versus placebo" in app.adverse.value
    assert "data:image/png;base64," in app.adverse.value


def test_command_line_fetches_and_checks_like_helpers_run_real(real_rows, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(paths, "DATA_EXTERNAL", tmp_path / "external")  # fetch keeps a checked --from copy there
    ns = type("Args", (), {"what": "real", "local": real_rows, "data": None})  # what main() parses
    assert srv.data_path(ns) == real_rows and "as pinned" in capsys.readouterr().out
    assert (tmp_path / "external" / real_rows.name).read_bytes() == real_rows.read_bytes()  # the same cache as run
    bad = tmp_path / "CD015373_pub2_data.rda"
    bad.write_bytes(real_rows.read_bytes()[:-1] + b"x")
    with pytest.raises(FetchError, match="SHA-256 .* does not match the pinned"):
        srv.data_path(type("Args", (), {"what": "real", "local": bad, "data": None}))
    with pytest.raises(ParameterError, match="--from goes with 'real'"):
        srv.data_path(type("Args", (), {"what": None, "local": bad, "data": None}))
    assert srv.main(["real", "--from", str(bad), "--no-browser"]) == 2  # one line, no traceback, no server
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not match the pinned" in err


def test_data_reaches_the_notebook_through_the_environment(real_rows, monkeypatch):
    from helpers.explore import app as ui

    monkeypatch.setenv(srv.DATA_ENV, str(real_rows))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        shown = ui.from_environment()
    assert shown.dataset.sha256 == review_source("cd015373").sha256 and not shown.dataset.synthetic

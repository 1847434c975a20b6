"""The review's published pooled results (CD015373.pub2 abstract) against the recomputation, to the printed digits."""

from __future__ import annotations

import dataclasses
import warnings

import pytest

from helpers.data.dataset import load_dataset
from helpers.stats.published import published_concordance, review_published, rounded


def _load(path=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dataset(path)


@pytest.fixture(scope="module")
def real(real_rows):
    return _load(real_rows)


def test_the_three_published_results_reproduce(real):
    res = published_concordance(real)
    assert (res.compared, res.n_results, res.n_reproduced) == (True, 3, 3)
    t = res.to_frame().set_index("analysis_id")
    assert t.loc["1.1", "recomputed"] == "MD -15.79 (-32.09 to 0.51)" == t.loc["1.1", "published"]
    assert t.loc["1.4", "recomputed"] == "MD -5.32 (-15.51 to 4.87)"
    assert t.loc["1.9", "recomputed"] == "RR 3.26 (1.05 to 10.09)"
    assert list(t["status"]) == ["reproduced"] * 3 and list(t["detail"]) == [""] * 3
    assert "3 of 3 published results reproduced" in res.summary()


def test_a_different_model_does_not_reproduce_them(real):
    rows = real.rows.copy()
    rows.loc[rows["analysis_id"].isin(["1.1", "1.9"]), "model"] = "fixed"
    t = published_concordance(dataclasses.replace(real, rows=rows)).to_frame().set_index("analysis_id")
    assert t.loc["1.1", "status"] == "differs" and t.loc["1.1", "detail"] == (
        "estimate -16.33 vs -15.79; ci_low -25.26 vs -32.09; ci_high -7.39 vs 0.51")  # fixed-effect IV, checked by hand
    assert t.loc["1.9", "status"] == "differs" and t.loc["1.4", "status"] == "reproduced"


def test_other_data_are_not_compared():
    res = published_concordance(_load())  # the synthetic default
    assert not res.compared and res.n_reproduced == 0
    assert set(res.to_frame()["status"]) == {"not compared"} and set(res.to_frame()["recomputed"]) == {""}
    assert "not the review's pinned data rows" in res.summary()


def test_review_map_keeps_them_with_their_source():
    entries, source, sha = review_published("cd015373")
    assert [e["analysis"] for e in entries] == ["1.1", "1.4", "1.9"]
    assert "CD015373.pub2" in source and sha.startswith("943cda91e235")


def test_rounded_to_the_printed_digits():
    assert rounded(-15.785, 2) == "-15.79" and rounded(0.505, 2) == "0.51"
    assert rounded(-0.004, 2) == "0.00" and rounded(10.094999, 2) == "10.09"


def test_not_estimable_analyses_are_left_out_of_the_notebook_selections_with_a_warning(real):
    from helpers.core.checks import MetaWarning
    from helpers.report import summary

    with pytest.warns(MetaWarning, match=r"analysis 1\.19 \(Serious adverse events\): not estimable, as in RevMan "
                                         r"\(every study: no events in either arm"):
        chosen = [s.analysis_id for s in summary.select(real, "serious_adverse_event", "ketamine")]
    assert "1.19" not in chosen and "2.2" not in chosen
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        psy = [s.analysis_id for s in summary.select(real, "psychotomimetic", "ketamine")]
    assert "1.12" in psy  # one of three studies is double zero; the other two enter

"""The explorer on any Cochrane review's bare data rows (../shared/fixtures/pairwise70): the data are read as the
notebooks read them (settings read off RevMan's per-study values, :func:`helpers.stats.infer.settle`), the pooled
result equals the notebooks' (:func:`helpers.report.summary.analyse`), the settings' evidence is shown with it,
and the reading names the analysis instead of a drug, route and outcome the data do not have.

Before: ``ExplorerApp`` on CD008973 showed only "measure must be one of MD, SMD, RR, OR, RD; got None" (the
explorer loaded the rows without their settings), and the reading said "the drug () compared with control, ,".
"""

from __future__ import annotations

import dataclasses
import re
import warnings

import pytest

from helpers.explore.app import ExplorerApp, load_quietly
from helpers.explore.review import settings_evidence_words
from helpers.explore.selection import explore, for_analysis
from helpers.report.summary import Selected, analyse

PHIMOSIS = "CD008973_pub3_data.rda"  # 8 analyses, dichotomous and continuous, settings not in the data
MD_REVIEW = "CD004372_pub3_data.rda"  # two MD analyses


@pytest.fixture(scope="module")
def phimosis(pairwise70):
    return load_quietly(pairwise70 / PHIMOSIS)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub("<[^>]+>", " ", html)).replace("&#x27;", "'")


def test_opens_with_the_settings_read_off_revman_values_and_their_evidence(phimosis):
    assert phimosis.settings_evidence is not None and phimosis.rows["measure"].notna().all()
    app = ExplorerApp(phimosis)
    assert app.error is None and app.analysis.value == "1.1"
    rows = phimosis.analysis("1.1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ma = analyse(Selected("1.1", phimosis.analyses().loc["1.1"], rows))
    assert app.result.measure == "RR" and app.result.k == ma.overall.k == 10
    assert app.result.estimate == pytest.approx(ma.overall.estimate, abs=1e-12)
    assert app.result.headline == "RR 2.73 [1.79, 4.16]"
    pooled = _text(app.pooled.value)
    assert ("published: the data rows carry RevMan's per-study values, no pooled result to compare with; settings "
            "read off them: RR, Mantel-Haenszel, random effects reproduces the estimate, CI and weight of the 10 "
            "studies RevMan estimated") in pooled


def test_reading_names_the_analysis_not_an_empty_drug_or_outcome(phimosis):
    result = explore(phimosis, for_analysis(phimosis, "1.1"))
    assert result.text.startswith("10 studies, 834 participants: Complete resolution of phimosis, the intervention "
                                  "compared with control, RR 2.73 [1.79, 4.16]")
    assert "For Complete resolution of phimosis, that is about 44 more people per 100 with the intervention" in \
        result.text
    assert "()" not in result.text and ", ," not in result.text and "the drug" not in result.text


def test_md_of_an_unnamed_outcome_is_not_judged_against_the_pain_yardstick(pairwise70):
    ds = load_quietly(pairwise70 / MD_REVIEW)
    result = explore(ds, for_analysis(ds, "1.1"))
    assert result.measure == "MD"
    assert "in the outcome's own units; the data give no minimal important difference" in result.text
    assert "pain" not in result.text


def test_flagged_settings_are_said_with_the_closest_candidate_and_its_differences(phimosis):
    ev = phimosis.settings_evidence.copy()
    ev.loc[ev["analysis_id"] == "1.1", ["status", "max_diff_weight"]] = ["not reproduced", 0.31]
    line = settings_evidence_words(dataclasses.replace(phimosis, settings_evidence=ev), "1.1")
    assert line.startswith("settings read off them: FLAGGED, no candidate setting reproduces the 10 studies RevMan "
                           "estimated; the closest, RR, Mantel-Haenszel, random effects, is used (largest "
                           "differences: estimate ")
    assert line.endswith("weight 0.31)")
    assert settings_evidence_words(phimosis, "9.9") is None


def test_adverse_tab_says_not_available_in_one_sentence_without_empty_names(phimosis):
    app = ExplorerApp(phimosis)
    app.tabs.selected_index = 1
    text = _text(app.adverse.value).strip()
    assert text.startswith("Not available for these data: the breakdown needs analyses mapped to drug, route and "
                           "adverse-event outcome (a review map)")
    assert "()" not in text and text.count(".") == 2

"""Concordance on the real review's data rows (CD015373.pub2): every study row against RevMan's own values."""

from __future__ import annotations

import warnings

import pytest

from helpers.data.dataset import load_dataset
from helpers.stats.concordance import all_ok, concordance

NOT_ESTIMABLE = [("1.12", "Schwartzman 2009"), ("1.19", "Pickering 2020"), ("1.23", "Noppers 2011a"),
                 ("10.3", "Voogd 2010"), ("2.2", "Dadabayev 2020"), ("2.2", "Dadabayev 2020"),
                 ("5.6", "Lynch 2005")]  # fmt: skip  (no events in either arm: RevMan prints no RR either)


@pytest.fixture(scope="module")
def table(real_rows):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return concordance(load_dataset(real_rows))


def test_every_study_row_reproduced(table):
    study = table[table["level"] == "study"]
    assert len(study) == 176 * 4  # estimate, CI start, CI end, weight of every row of the 95 analyses
    assert study["analysis_id"].nunique() == 95
    assert study["status"].value_counts().to_dict() == {"ok": 169 * 4, "not estimable": 7 * 4}
    gaps = study[(study["status"] == "not estimable") & (study["quantity"] == "estimate")]
    assert sorted(zip(gaps["analysis_id"], gaps["study"])) == sorted(NOT_ESTIMABLE)
    assert (study.loc[study["status"] == "ok", "abs_diff"] <= 5e-7).all()
    assert all_ok(table)


def test_two_strata_of_one_trial_compared_row_by_row(table):
    dad = table[(table["analysis_id"] == "2.1") & (table["quantity"] == "weight") & (table["level"] == "study")]
    assert dad["published"].tolist() == [64.220156, 35.779844]
    assert dad["recomputed"].tolist() == pytest.approx([64.220156, 35.779844], abs=5e-7)
    est = table[(table["analysis_id"] == "2.1") & (table["quantity"] == "estimate") & (table["level"] == "study")]
    assert est["recomputed"].tolist() == pytest.approx([-4.9, -4.66])

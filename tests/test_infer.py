"""Settings read off RevMan's per-study values (helpers.stats.infer; the file, YAML and command line:
helpers.run.settings) on the real review's data rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from helpers.core import paths
from helpers.data.dataset import read_rows_table
from helpers.data.rdata import BACK, read_rda_frame
from helpers.run.settings import main, settings_evidence
from helpers.stats.infer import STATUSES, infer_settings

NO_ESTIMABLE_ROW = ["1.19", "2.2", "5.6", "10.3"]  # every study: no events in either arm


@pytest.fixture(scope="module")
def inferred(real_rows):
    rows, label = read_rows_table(real_rows)
    return infer_settings(rows, label)


def test_counts(inferred):
    assert (inferred.n_analyses, inferred.n_reproduced, inferred.n_not_reproduced, inferred.n_no_estimable_row) \
        == (95, 91, 0, 4)
    assert inferred.n_not_identified == 75  # one study, or tau² = 0: the weights cannot tell method/model apart
    assert inferred.flagged()["analysis_id"].tolist() == NO_ESTIMABLE_ROW
    assert set(inferred.flagged()["status"]) == {STATUSES[3]}


def test_identified_settings(inferred):
    t = inferred.to_frame().set_index("analysis_id")
    # only IV random-effects weights reproduce RevMan's weights in 1.9 (MH and fixed do not)
    assert t.loc["1.9", ["measure", "method", "model", "status", "reproducing"]].tolist() == \
        ["RR", "IV", "random", "reproduced", "RR/IV/random"]
    assert t.loc["7.19", "measure"] == "SMD" and t.loc["7.19", "identified"] == "measure, method, model"
    # 1.10: three settings reproduce every row; IV/random is what the dichotomous analyses that tell them apart show
    assert t.loc["1.10", "reproducing"] == "RR/IV/random; RR/MH/random; RR/IV/fixed"
    assert "(1.9, 1.11, 7.14, 7.23)" in t.loc["1.10", "note"]
    ok = t[t["status"].isin(STATUSES[:2])]
    assert (ok[["max_diff_estimate", "max_diff_ci", "max_diff_weight"]] <= 5e-7).all().all()
    assert ok.groupby(["measure", "method", "model"]).size().to_dict() == {
        ("MD", "IV", "random"): 33, ("RR", "IV", "random"): 56, ("SMD", "IV", "random"): 2}


def test_review_map_holds_the_inferred_settings(inferred):
    doc = yaml.safe_load((paths.REVIEWS / "cd015373.yaml").read_text(encoding="utf-8"))
    written = {k: v for k, v in doc["analysis_settings"].items() if k not in NO_ESTIMABLE_ROW}
    assert written == inferred.settings()
    assert {doc["analysis_settings"][a]["measure"] for a in NO_ESTIMABLE_ROW} == {"RR"}


def test_a_value_no_setting_reproduces_is_flagged(real_rows):
    rows, label = read_rows_table(real_rows)
    rows = rows[(rows["analysis_group"] == 1) & (rows["analysis_number"] == 1)].copy()
    rows.loc[1, "weight"] = 40.0  # RevMan printed 34.134428 for Lumanauw 2019 in 1.1
    t = infer_settings(rows, label).to_frame().set_index("analysis_id")
    assert t.loc["1.1", "status"] == "not reproduced"
    assert t.loc["1.1", "max_diff_weight"] > 1


def test_cli_prints_summary_and_block(real_rows, tmp_path, capsys):
    _, frame = read_rda_frame(real_rows)
    frame = frame[frame["Analysis.group"] == 2].rename(columns=lambda c: BACK.get(c, c))
    csv = tmp_path / "group2-data-rows.csv"
    frame.to_csv(csv, index=False)
    assert main([str(csv)]) == 0
    out = capsys.readouterr().out
    assert "3 analyses; 2 reproduced" in out and "FLAGGED 2.2" in out
    assert '"2.1": {measure: MD, method: IV, model: random}  # identified: measure, method' in out
    assert "  # 2.2: FLAGGED no estimable row" in out
    assert main([str(tmp_path / "missing.rda")]) == 2
    assert "missing.rda: no such file" in capsys.readouterr().err


def test_settings_evidence_only_for_bare_rows(real_rows, shared_sample, inferred):
    assert settings_evidence(None) is None  # the default package carries its settings
    assert settings_evidence(shared_sample) is None
    assert settings_evidence(real_rows).n_reproduced == inferred.n_reproduced == 91


def test_settings_evidence_of_a_loaded_dataset_reads_no_file_again(real_rows, inferred, monkeypatch):
    """Notebook 05 passes the dataset it loaded (the review map's settings, so not settled): the evidence comes
    from its rows, the same table as from the file, named by the dataset's label (no machine path); the file
    was read a second time before."""
    import warnings

    from helpers.data.dataset import load_dataset
    from helpers.run import settings
    from helpers.stats.infer import settle

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = settle(load_dataset(real_rows))
    assert ds.settings_evidence is None  # the review map carries the settings: settle had nothing to read off
    monkeypatch.setattr(settings, "read_rows_table", lambda path: pytest.fail(f"{path} read a second time"))
    evidence = settings_evidence(real_rows, ds)
    pd.testing.assert_frame_equal(evidence.to_frame(), inferred.to_frame())
    assert evidence.source == ds.label and str(real_rows) not in evidence.summary()


DIFFS = ["max_diff_estimate", "max_diff_ci", "max_diff_weight"]


def _one_by_one_agrees(rows, label):
    """The batched inference (the default) and the one-by-one fits through meta_analysis give the same table:
    every choice, status, level and note equal; the largest differences equal up to summation order."""
    batched = infer_settings(rows, label).to_frame()
    reference = infer_settings(rows, label, batched=False).to_frame()
    pd.testing.assert_frame_equal(batched.drop(columns=DIFFS), reference.drop(columns=DIFFS))
    assert np.allclose(batched[DIFFS].to_numpy(float), reference[DIFFS].to_numpy(float), rtol=1e-6, atol=1e-12,
                       equal_nan=True)
    return batched


def test_batched_candidates_agree_with_one_by_one_fits(real_rows, pairwise70):
    """CD015373 (95 analyses, dichotomous and continuous, per-subgroup copies), CD000219 (weights printed per
    subgroup), CD013284 (GIV rows with placeholder counts)."""
    table = _one_by_one_agrees(*read_rows_table(real_rows))
    assert table["status"].isin(STATUSES[:2]).sum() == 91
    for name in ("CD000219_pub5_data.rda", "CD013284_pub2_data.rda"):
        _one_by_one_agrees(*read_rows_table(pairwise70 / name))


@pytest.mark.slow
def test_batched_candidates_agree_with_applicability(pairwise70):
    """CD011535 (95 analyses: Applicability SUBGROUP_ONLY/OVERALL_ONLY, MH random, an overall-only row without
    subgroup, continuous and dichotomous); slow: ~45 s of one-by-one fits."""
    table = _one_by_one_agrees(*read_rows_table(pairwise70 / "CD011535_pub7_data.rda"))
    assert len(table) == 95

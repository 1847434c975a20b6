"""The tau² estimator of a RevMan Web review read off its per-study weights (helpers.stats.infer.other_estimators
and review_estimator): random-effects weights 1/(v_i + tau²) tell DerSimonian-Laird, REML and Paule-Mandel apart."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.data.dataset import load_dataset, read_rows_table
from helpers.stats.concordance import concordance
from helpers.stats.infer import STATUSES, infer_settings, settle
from helpers.stats.meta import meta_analysis

YI = np.array([-0.62, 0.05, -0.41, 0.33, -1.10, -0.20])
SE = np.array([0.21, 0.18, 0.35, 0.27, 0.40, 0.15])


def _giv_rows(tau2_method: str) -> pd.DataFrame:
    """One generic-inverse-variance analysis (log RR) whose printed weights (six decimals, as RevMan writes them)
    come from an inverse-variance random-effects fit with ``tau2_method``."""
    rows = pd.DataFrame({"analysis_group": 1, "analysis_number": 1, "analysis_name": "synthetic", "data_type": "giv",
                         "subgroup": None, "study": [f"S{i}" for i in range(len(YI))], "giv_estimate": YI,
                         "giv_se": SE, "n_e": np.nan, "n_c": np.nan})  # fmt: skip
    ma = meta_analysis(rows.assign(study=range(len(YI))), measure="RR", method="IV", model="random",
                       tau2_method=tau2_method, study="study")  # fmt: skip
    z = 1.959963984540054
    return rows.assign(estimate=np.round(np.exp(YI), 6), ci_low=np.round(np.exp(YI - z * SE), 6),
                       ci_high=np.round(np.exp(YI + z * SE), 6), weight=np.round(ma.overall.weights, 6))


@pytest.mark.parametrize("tau2_method", ["DL", "REML", "PM"])
def test_weights_tell_the_estimator(tau2_method):
    """Each estimator's printed weights are reproduced by that estimator only (tau² here: DL 0.1055,
    REML 0.1298, PM 0.1563), and the table says which."""
    table = infer_settings(_giv_rows(tau2_method), "synthetic").to_frame()
    rec = table.iloc[0]
    assert rec["status"] in STATUSES[:2] and (rec["method"], rec["model"]) == ("IV", "random")
    assert rec["tau2_method"] == tau2_method
    assert ("not DL" in rec["note"]) == (tau2_method != "DL")


def test_reml_review_cd016064(pairwise70):
    """CD016064 1.1 (GIV, 12 studies): RevMan's weights are REML's (tau² 0.154; DL's 0.122 misses every weight by
    up to 0.4 percentage points); before: 'not reproduced'."""
    rows, label = read_rows_table(pairwise70 / "CD016064_data.rda")
    table = infer_settings(rows, label).to_frame().set_index("analysis_id")
    assert table.at["1.1", "status"] in STATUSES[:2]
    assert (table.at["1.1", "model"], table.at["1.1", "tau2_method"]) == ("random", "REML")
    assert "REML, not DL" in table.at["1.1", "note"]


def test_reml_review_reproduced_by_the_concordance(pairwise70):
    """CD015824 (RevMan Web, REML): 1.9, 2.1, 2.8 (RR), 3.4, 3.5 (MD) single REML out; the analyses whose values
    DL reproduces too (1.7, 2.7, 3.7) take the review's REML; every study value of the review is then reproduced
    by the concordance (before: 17 weights not)."""
    ds = settle(load_dataset(pairwise70 / "CD015824_pub2_data.rda"))
    ev = ds.settings_evidence.set_index("analysis_id")
    for aid in ("1.9", "2.1", "2.8", "3.4", "3.5"):
        assert ev.at[aid, "tau2_method"] == "REML" and ev.at[aid, "status"] == STATUSES[0], aid
    for aid in ("1.7", "2.7", "3.7"):
        assert ev.at[aid, "tau2_method"] == "REML" and "the review's estimator" in ev.at[aid, "note"], aid
    assert set(ds.rows.loc[ds.rows["analysis_id"] == "3.4", "tau2_method"]) == {"REML"}
    study = concordance(ds).query("level == 'study'")
    assert len(study) > 0 and study["within_tol"].all()

"""What RevMan's printed weights are a percentage of when one subgroup name holds two subgroups
(helpers.stats.concordance.weight_basis), and the closest candidate of an analysis no candidate reproduces."""

from __future__ import annotations

from helpers.data.dataset import load_dataset
from helpers.stats.concordance import concordance, weight_basis
from helpers.stats.infer import STATUSES, settle


def test_weight_basis_same_name_subgroups():
    """Per-subgroup weights (each subgroup sums to 100); a name holding two one-study subgroups sums to 200."""
    groups = ["A", "A", "B", "C", "C"]
    assert weight_basis([40.0, 60.0, 100.0, 100.0, 100.0], groups) == "subgroup"
    assert weight_basis([40.0, 60.0, 100.0, 30.0, 100.0], groups) == "overall"  # 130: not whole subgroups
    assert weight_basis([10.0, 20.0, 30.0, 15.0, 25.0], groups) == "overall"  # sums to 100 in all


def test_cd012186_same_name_subgroups(pairwise70):
    """CD012186 1.2 (RR, 111 rows, 105 estimable, weights per subgroup): RADIANCE 2019 and SUNBEAM
    2019 print 100 % each under one subgroup name (two subgroups the export cannot tell apart). Before, the
    weights were judged against the overall pooling (and the closest candidate was MH fixed): 0 of 105 weights
    reproduced; now MH random (DL on the MH Q) reproduces all but those two."""
    ds = settle(load_dataset(pairwise70 / "CD012186_pub2_data.rda"))
    rec = ds.settings_evidence.set_index("analysis_id").loc["1.2"]
    assert rec["status"] == STATUSES[2]  # two weights no candidate reproduces: flagged, not hidden
    assert (rec["measure"], rec["method"], rec["model"]) == ("RR", "MH", "random")
    table = concordance(ds).query("level == 'study' and analysis_id == '1.2' and quantity == 'weight'")
    off = table[~table["within_tol"].astype(bool)]
    assert len(table) == 111 and sorted(off["study"]) == ["RADIANCE 2019", "SUNBEAM 2019"]

"""RoB 2 plots: each cell shows the study's judgement; bars equal the (weighted) shares."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.figures import robplot

ARTIFACTS = Path(__file__).parent / "artifacts"


def _studies():
    return pd.DataFrame({
        "study": ["Alpha 2001", "Beta 2005", "Gamma 2010", "Delta 2012"],
        "drug": ["ketamine", "ketamine; magnesium", "memantine", "ketamine"],
        "rob_d1": ["Low", "Some concerns", "High", "Low"],
        "rob_d2": ["Low", "Low", "Low", None],
        "rob_d3": ["High", "Low", "Some concerns", "Low"],
        "rob_d4": ["Low", "Low", "Low", "Low"],
        "rob_d5": ["Some concerns", "Some concerns", "Low", "Low"],
        "rob_overall": ["High", "Some concerns", "High", "Some concerns"],
    })


def _by_gid(fig, prefix):
    return {a.get_gid(): a for a in fig.findobj() if (getattr(a, "get_gid", lambda: None)() or "").startswith(prefix)}


def test_traffic_light_cells_and_drug_filter():
    fig = robplot.rob_traffic_light(_studies(), footer="Data: unit test")
    cells = _by_gid(fig, "rob:")
    assert len(cells) == 4 * 6
    colour = cells["rob:Gamma 2010:rob_d1"].get_facecolor()[0]
    np.testing.assert_allclose(colour[:3], np.array([0xD5, 0x5E, 0x00]) / 255)  # High = vermillion
    missing = cells["rob:Delta 2012:rob_d2"].get_facecolor()[0]
    np.testing.assert_allclose(missing[:3], np.array([0xBB, 0xBB, 0xBB]) / 255)  # no information, kept
    ARTIFACTS.mkdir(exist_ok=True)
    fig.savefig(ARTIFACTS / "rob_traffic_light.png", dpi=250)
    ket = _by_gid(robplot.rob_traffic_light(_studies(), drug="ketamine"), "rob:")
    assert {g.split(":")[1] for g in ket} == {"Alpha 2001", "Beta 2005", "Delta 2012"}


def test_summary_shares_unweighted_and_weighted():
    shares = robplot.rob_proportions(_studies())
    assert shares.loc["rob_overall"].tolist() == [0.0, 50.0, 50.0, 0.0]
    assert shares.loc["rob_d2", "No information"] == 25.0
    weights = {"Alpha 2001": 10.0, "Beta 2005": 20.0, "Gamma 2010": 30.0, "Delta 2012": 40.0}
    w = robplot.rob_proportions(_studies(), weights=weights)
    assert w.loc["rob_d1"].tolist() == pytest.approx([50.0, 20.0, 30.0, 0.0])
    fig = robplot.rob_summary(_studies(), weights=weights, footer="Data: unit test")
    bars = _by_gid(fig, "rob_bar:")
    assert bars["rob_bar:rob_d1:Low"].get_width() == pytest.approx(50.0)
    assert bars["rob_bar:rob_d1:High"].get_x() == pytest.approx(70.0)
    assert "rob_bar:rob_d4:High" not in bars  # zero share draws nothing
    ARTIFACTS.mkdir(exist_ok=True)
    fig.savefig(ARTIFACTS / "rob_summary.png", dpi=250)


def test_bad_input_names_row_and_field():
    bad = _studies()
    bad.loc[2, "rob_d3"] = "Unclear"
    with pytest.raises(ValueError, match=r"row 2 \(study 'Gamma 2010'\), field rob_d3: 'Unclear' .* allowed: Low, "
                                         r"Some concerns, High"):
        robplot.rob_traffic_light(bad)
    with pytest.raises(ValueError, match="drug must be one of ketamine, memantine"):
        robplot.rob_summary(_studies(), drug="aspirin")
    with pytest.raises(ValueError, match="no studies of 'amantadine'"):
        robplot.rob_summary(_studies(), drug="amantadine")
    with pytest.raises(ValueError, match="weights lacks study"):
        robplot.rob_summary(_studies(), weights={"Alpha 2001": 1.0})
    with pytest.raises(ValueError, match="finite and >= 0; study 'Beta 2005'"):
        robplot.rob_proportions(_studies(), weights={"Alpha 2001": 1, "Beta 2005": -1, "Gamma 2010": 1,
                                                     "Delta 2012": 1})

"""RoB 2 plots: each cell shows the study's judgement; bars equal the (weighted) shares."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.figures import robplot
from helpers.stats.riskofbias import rob_judgements, rob_proportions

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
    fig = robplot.rob_traffic_light(rob_judgements(_studies()), footer="Data: unit test")
    cells = _by_gid(fig, "rob:")
    assert len(cells) == 4 * 6
    colour = cells["rob:Gamma 2010:rob_d1"].get_facecolor()[0]
    np.testing.assert_allclose(colour[:3], np.array([0xD5, 0x5E, 0x00]) / 255)  # High = vermillion
    missing = cells["rob:Delta 2012:rob_d2"].get_facecolor()[0]
    np.testing.assert_allclose(missing[:3], np.array([0xBB, 0xBB, 0xBB]) / 255)  # no information, kept
    ARTIFACTS.mkdir(exist_ok=True)
    fig.savefig(ARTIFACTS / "rob_traffic_light.png", dpi=250)
    ket = _by_gid(robplot.rob_traffic_light(rob_judgements(_studies(), drug="ketamine")), "rob:")
    assert {g.split(":")[1] for g in ket} == {"Alpha 2001", "Beta 2005", "Delta 2012"}


def test_summary_shares_unweighted_and_weighted():
    shares = rob_proportions(_studies()).shares
    assert shares.loc["rob_overall"].tolist() == [0.0, 50.0, 50.0, 0.0]
    assert shares.loc["rob_d2", "No information"] == 25.0
    weights = {"Alpha 2001": 10.0, "Beta 2005": 20.0, "Gamma 2010": 30.0, "Delta 2012": 40.0}
    w = rob_proportions(_studies(), weights=weights).shares
    assert w.loc["rob_d1"].tolist() == pytest.approx([50.0, 20.0, 30.0, 0.0])
    fig = robplot.rob_summary(rob_proportions(_studies(), weights=weights), footer="Data: unit test")
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
        rob_judgements(bad)
    with pytest.raises(ValueError, match="drug must be one of ketamine, memantine"):
        rob_proportions(_studies(), drug="aspirin")
    with pytest.raises(ValueError, match="no studies of 'amantadine'"):
        rob_judgements(_studies(), drug="amantadine")
    with pytest.raises(ValueError, match="weights lacks study"):
        rob_proportions(_studies(), weights={"Alpha 2001": 1.0})
    with pytest.raises(ValueError, match="finite and >= 0; study 'Beta 2005'"):
        rob_proportions(_studies(), weights={"Alpha 2001": 1, "Beta 2005": -1, "Gamma 2010": 1, "Delta 2012": 1})


def test_figures_take_the_stats_results_not_the_studies_table():
    """The plots draw results of helpers.stats.riskofbias (a figure takes a result, never a raw table)."""
    with pytest.raises(TypeError, match=r"judged must be a RobJudgements \(helpers.stats.riskofbias.rob_judgements"):
        robplot.rob_traffic_light(_studies())
    with pytest.raises(TypeError, match=r"proportions must be a RobProportions"):
        robplot.rob_summary(_studies())
    props = rob_proportions(_studies(), drug="ketamine")
    assert (props.k, props.drug, props.weighted) == (3, "ketamine", False)
    assert props.shares.sum(axis=1).tolist() == pytest.approx([100.0] * 6)

"""helpers.stats.subgroups: RevMan's test for subgroup differences (BCG by allocation, metafor 3.8.1 fits per
subgroup then Cochran's Q of the subgroup estimates; metafor's own moderator test QM agrees for FE)."""

from __future__ import annotations

import numpy as np
import pytest

from helpers.stats.subgroups import SubgroupTest, subgroup_test

# per-subgroup fixed-effect estimates of BCG log RR (random, alternate, systematic allocation)
FE_EST = [-0.294536663614776, -0.718555367634601, -0.413328379603451]
FE_SE = [0.0546177938139501, 0.0780067766160431, 0.0952846101388717]


def test_fixed_effect_subgroups_match_metafor_qm():
    t = subgroup_test(FE_EST, FE_SE)
    assert t.q == pytest.approx(19.8653698196656, rel=1e-10)
    assert t.df == 2 and t.model == "fixed"
    assert t.p == pytest.approx(4.8561238362813e-05, rel=1e-8)
    assert t.i2 == pytest.approx(89.9322287067613, rel=1e-10)


def test_random_effects_subgroups():
    t = subgroup_test([-1.00416135399824, -0.540792961849345, -0.439346579998001],
                      [0.362106798741009, 0.281601613103888, 0.31333791363803], model="random")
    assert t.q == pytest.approx(1.53676887206275, rel=1e-10)
    assert t.p == pytest.approx(0.463761700109843, rel=1e-9)
    assert t.i2 == 0.0  # Q < df: I² truncated at 0


def test_formula_by_hand():
    est, se = np.array([0.0, 1.0]), np.array([1.0, 1.0])
    t = subgroup_test(est, se)
    assert t.q == pytest.approx(0.5) and t.df == 1 and t.i2 == 0.0
    t = subgroup_test([0.0, 3.0], [1.0, 1.0])
    assert t.q == pytest.approx(4.5) and t.i2 == pytest.approx(100 * 3.5 / 4.5)


def test_bad_input():
    with pytest.raises(ValueError, match="at least 2 subgroups; got 1"):
        subgroup_test([0.1], [0.2])
    with pytest.raises(ValueError, match=r"field 'ses' must be > 0: row 1 \(study 'b'\)"):
        subgroup_test([0.1, 0.2], [0.2, 0.0], labels=["a", "b"])
    with pytest.raises(ValueError, match="model must be one of fixed, random; got 'REML'"):
        subgroup_test([0.1, 0.2], [0.2, 0.1], model="REML")


def test_result_text():
    t = subgroup_test(FE_EST, FE_SE)
    assert isinstance(t, SubgroupTest)
    assert t.summary() == "Test for subgroup differences (fixed effect): Chi² = 19.87, df = 2 (P = 4.9e-05), I² = 89.9%"
    assert "q=19.87" in repr(t) and t.to_frame().loc[0, "df"] == 2

"""helpers.stats.bias: Egger, Begg and trim and fill. Agreement with metafor is in test_reference_metafor.py; here the
algebra, edge cases and error messages."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from helpers.stats import bias
from helpers.core.checks import InputError
from helpers.stats.pooling import pool

# A symmetric funnel: pairs mu ± d with equal variances.
MU = 0.3
D = np.array([0.05, 0.1, 0.2, 0.3, 0.45])
V = np.array([0.01, 0.02, 0.05, 0.1, 0.2])
SYM_Y = np.concatenate([MU - D, MU + D])
SYM_V = np.concatenate([V, V])


def test_egger_symmetric_funnel_has_no_bias():
    res = bias.egger(SYM_Y, SYM_V)
    assert abs(res.bias) < 1e-12 and abs(res.t) < 1e-10 and res.p == pytest.approx(1.0)
    assert res.limit_estimate == pytest.approx(MU) and res.df == 8 and res.k == 10


def test_egger_equals_the_standard_normal_deviate_regression():
    """Egger 1997: OLS of yi/sei on 1/sei; its intercept is the bias, its slope the limit estimate."""
    rng = np.random.default_rng(1)
    v = rng.uniform(0.01, 0.3, 12)
    y = 0.2 + 1.5 * np.sqrt(v) + rng.normal(0, 0.1, 12)
    res = bias.egger(y, v)
    slope, intercept = np.polyfit(1 / np.sqrt(v), y / np.sqrt(v), 1)
    assert res.bias == pytest.approx(intercept, rel=1e-10)
    assert res.limit_estimate == pytest.approx(slope, rel=1e-10)
    assert res.limit_ci_low < res.limit_estimate < res.limit_ci_high


def test_begg_exact_p_for_a_perfect_ranking():
    """k = 4, ranks of the deviates follow vi exactly: tau = 1, exact two-sided p = 2/4! = 1/12."""
    v = np.array([0.01, 0.02, 0.04, 0.08])
    y = np.array([0.0, 0.5, 1.5, 3.0])
    res = bias.begg(y, v)
    assert res.exact and res.tau == pytest.approx(1.0) and res.p == pytest.approx(1 / 12)


def test_begg_uses_normal_approximation_with_ties():
    res = bias.begg(SYM_Y, SYM_V)  # variances tied in pairs
    assert not res.exact and 0 < res.p <= 1


@pytest.mark.parametrize("fn", [bias.egger, bias.begg, bias.trim_and_fill])
def test_too_few_studies(fn):
    with pytest.raises(ValueError, match="at least 3 studies; got 2"):
        fn([0.1, 0.2], [0.1, 0.1])


@pytest.mark.parametrize("fn", [bias.egger, bias.begg, bias.trim_and_fill])
def test_bad_variance_names_row_and_study(fn):
    with pytest.raises(InputError, match=r"'vi'.*row 1 \(study 'B'\)"):
        fn([0.1, 0.2, 0.3], [0.1, -0.1, 0.1], labels=["A", "B", "C"])


def test_trim_and_fill_symmetric_funnel_fills_nothing():
    res = bias.trim_and_fill(SYM_Y, SYM_V, tau2_method="FE")
    assert res.k0 == 0 and res.filled.empty and res.converged
    assert res.estimate == pytest.approx(pool(SYM_Y, SYM_V, tau2_method="FE").estimate)


def test_trim_and_fill_restores_a_truncated_funnel():
    """Drop the 3 most negative studies of a symmetric funnel: the missing ones are on the left, and the filled
    studies are mirror images about the trimmed estimate with the same variances."""
    keep = np.argsort(SYM_Y)[3:]
    y, v = SYM_Y[keep], SYM_V[keep]
    res = bias.trim_and_fill(y, v, tau2_method="FE")
    assert res.side == "left" and res.k0 >= 1
    assert res.estimate < pool(y, v, tau2_method="FE").estimate  # pulled back towards MU
    mirrored = np.sort(y)[y.size - res.k0:]  # the k0 largest, in ascending order as metafor lists them
    centre = (res.filled["yi"].to_numpy() + mirrored) / 2
    assert np.allclose(centre, centre[0]) and set(res.filled["vi"]) <= set(v)
    assert res.k == y.size + res.k0 and list(res.filled.columns) == ["study", "yi", "vi"]


def test_trim_and_fill_right_side_is_the_mirror_image():
    keep = np.argsort(SYM_Y)[3:]
    left = bias.trim_and_fill(SYM_Y[keep], SYM_V[keep], tau2_method="FE")
    right = bias.trim_and_fill(-SYM_Y[keep], SYM_V[keep], tau2_method="FE")
    assert right.side == "right" and right.k0 == left.k0
    assert right.estimate == pytest.approx(-left.estimate) and right.se == pytest.approx(left.se)


def test_trim_and_fill_r0_reports_p_of_k0():
    keep = np.argsort(SYM_Y)[3:]
    res = bias.trim_and_fill(SYM_Y[keep], SYM_V[keep], estimator="R0", side="left", tau2_method="FE")
    assert res.p_k0 == pytest.approx(0.5 ** (res.k0 + 1))
    assert math.isnan(bias.trim_and_fill(SYM_Y, SYM_V).p_k0)  # L0 has no such p


@pytest.mark.parametrize("kwargs, message", [
    ({"estimator": "Q0"}, "estimator must be one of L0, R0; got 'Q0'"),
    ({"side": "up"}, "side must be one of left, right; got 'up'"),
    ({"tau2_method": "HS"}, "tau2_method must be one of FE, DL, REML, PM; got 'HS'"),
])
def test_trim_and_fill_argument_checks(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bias.trim_and_fill(SYM_Y, SYM_V, **kwargs)


def test_trim_and_fill_records_pool_warnings():
    """DL on homogeneous filled data truncates tau² at 0: warned by pool and kept in the result."""
    y = np.array([0.10, 0.12, 0.11, 0.30, 0.35])
    v = np.array([0.04, 0.05, 0.06, 0.3, 0.4])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = bias.trim_and_fill(y, v, tau2_method="DL")
    assert any("truncated" in w for w in res.warnings)
    assert any("truncated" in str(w.message) for w in caught)


def test_results_print_and_tabulate():
    res = bias.trim_and_fill(SYM_Y, SYM_V)
    assert "k0=0" in repr(res) and "Trim and fill (L0" in res.summary()
    assert res.to_frame().loc[0, "k0"] == 0
    assert "bias=" in repr(bias.egger(SYM_Y, SYM_V)) and "tau" in bias.begg(SYM_Y, SYM_V).summary()

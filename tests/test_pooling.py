"""helpers.stats.pooling against published numbers: metafor on the BCG trials (../shared/reference/metafor-bcg.md,
printed to 4 decimals, so abs tolerance 5e-5) and metafor 3.8.1 values for HKSJ, zero cells and k = 2
(tests/reference/metafor_reference.json, quoted here to the digits used)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.core.checks import InputError, MetaWarning
from helpers.stats.pooling import PoolResult, mantel_haenszel, peto, pool
from helpers.stats.presets import METAFOR, REVMAN

P4 = 5e-5  # half a unit in the 4th decimal


@pytest.fixture(scope="module")
def bcg():
    d = pd.read_csv(Path(__file__).parent / "data" / "bcg.csv")
    a, c = d.tpos.to_numpy(float), d.cpos.to_numpy(float)
    n1, n2 = a + d.tneg.to_numpy(float), c + d.cneg.to_numpy(float)
    yi = np.log((a / n1) / (c / n2))
    vi = 1 / a - 1 / n1 + 1 / c - 1 / n2
    return dict(a=a, n1=n1, c=c, n2=n2, yi=yi, vi=vi, labels=d.author.tolist())


def test_bcg_fixed_effect(bcg):
    r = pool(bcg["yi"], bcg["vi"], tau2_method="FE")
    assert r.estimate == pytest.approx(-0.4303, abs=P4)
    assert r.se == pytest.approx(0.0405, abs=P4)
    assert (r.ci_low, r.ci_high) == pytest.approx((-0.5097, -0.3509), abs=P4)
    assert r.q == pytest.approx(152.2330, abs=P4)
    assert r.df == 12 and r.k == 13 and r.tau2 == 0.0 and r.model == "fixed"
    assert np.isnan(r.pi_low) and np.isnan(r.pi_high)  # no prediction interval for a fixed-effect model
    assert sum(r.weights) == pytest.approx(100.0)
    assert r.weights[0] == pytest.approx(0.503754802568308, rel=1e-10)  # metafor weights(), input order


def test_bcg_reml(bcg):
    r = pool(bcg["yi"], bcg["vi"], tau2_method="REML", preset=METAFOR)  # metafor's printed example
    assert r.estimate == pytest.approx(-0.7145, abs=P4)
    assert r.se == pytest.approx(0.1798, abs=P4)
    assert (r.ci_low, r.ci_high) == pytest.approx((-1.0669, -0.3622), abs=P4)
    assert r.tau2 == pytest.approx(0.3132, abs=P4)
    assert r.tau2_se == pytest.approx(0.1664, abs=P4)
    assert (r.tau2_ci_low, r.tau2_ci_high) == pytest.approx((0.1197, 1.1115), abs=P4)
    assert r.z == pytest.approx(-3.9744, abs=P4)
    assert r.h2 == pytest.approx(12.86, abs=5e-3)
    assert r.i2 == pytest.approx(92.22, abs=5e-3)  # METAFOR preset: I² from tau²
    assert r.converged and 0 < r.iterations < 100 and not r.tau2_truncated and r.warnings == ()
    assert np.exp([r.estimate, r.ci_low, r.ci_high]) == pytest.approx([0.49, 0.34, 0.70], abs=5e-3)


def test_bcg_reml_exact_digits(bcg):
    # metafor 3.8.1 with threshold 1e-12 (tests/reference/metafor_reference.json, rma/bcg/RR/REML/z)
    r = pool(bcg["yi"], bcg["vi"], tau2_method="REML")
    assert r.tau2 == pytest.approx(0.313243258136486, rel=1e-9)
    assert r.estimate == pytest.approx(-0.71453234215814, rel=1e-9)
    assert r.tau2_se == pytest.approx(0.166425752836973, rel=1e-8)


def test_bcg_dl_and_pm(bcg):
    dl = pool(bcg["yi"], bcg["vi"], tau2_method="DL")
    assert (dl.estimate, dl.se, dl.tau2) == pytest.approx((-0.7141, 0.1787, 0.3088), abs=P4)
    assert dl.tau2_se == pytest.approx(0.229869992511026, rel=1e-9)  # metafor's DL SE
    pm = pool(bcg["yi"], bcg["vi"], tau2_method="PM")
    assert (pm.estimate, pm.se, pm.tau2) == pytest.approx((-0.7150, 0.1809, 0.3181), abs=P4)
    assert np.isnan(pm.tau2_se)  # not computed for PM (documented)


def test_i2_from_q_versus_tau2(bcg):
    assert pool(bcg["yi"], bcg["vi"], preset=REVMAN).i2 == pytest.approx(92.12, abs=5e-3)
    assert pool(bcg["yi"], bcg["vi"], preset=METAFOR).i2 == pytest.approx(92.22, abs=5e-3)
    assert pool(bcg["yi"], bcg["vi"], preset=REVMAN).h2 == pytest.approx(152.2330 / 12, rel=1e-6)
    assert pool(bcg["yi"], bcg["vi"]).i2 == pytest.approx(92.12, abs=5e-3)  # REVMAN is the default


def test_prediction_interval_z_and_t(bcg):
    rz = pool(bcg["yi"], bcg["vi"], pi="z")
    assert np.exp([rz.pi_low, rz.pi_high]) == pytest.approx([0.15, 1.55], abs=5e-3)
    assert rz.pi_method == "z"
    rt = pool(bcg["yi"], bcg["vi"], pi="t")  # Handbook: t with k - 2 = 11 df, wider than z
    from scipy import stats
    half = stats.t.ppf(0.975, 11) * np.sqrt(rt.tau2 + rt.se**2)
    assert (rt.pi_low, rt.pi_high) == pytest.approx((rt.estimate - half, rt.estimate + half), rel=1e-12)
    assert rt.pi_low < rz.pi_low and rt.pi_high > rz.pi_high
    assert pool(bcg["yi"], bcg["vi"], pi=None, preset=METAFOR).pi_method == "z"
    assert pool(bcg["yi"], bcg["vi"], pi=None, preset=REVMAN).pi_method == "t"


def test_hksj_matches_metafor_knha(bcg):
    r = pool(bcg["yi"], bcg["vi"], tau2_method="REML", ci="hksj")
    assert r.se == pytest.approx(0.180791744092848, rel=1e-8)
    assert (r.ci_low, r.ci_high) == pytest.approx((-1.10844371368555, -0.320620970630728), rel=1e-8)
    assert r.z == pytest.approx(-3.95223988652481, rel=1e-8)
    assert r.p == pytest.approx(0.0019200150960573, rel=1e-7)
    assert r.ci_method == "hksj"


def test_mantel_haenszel_bcg(bcg):
    args = (bcg["a"], bcg["n1"], bcg["c"], bcg["n2"])
    rr = mantel_haenszel(*args, "RR")
    assert np.exp([rr.estimate, rr.ci_low, rr.ci_high]) == pytest.approx([0.6353, 0.5881, 0.6862], abs=P4)
    assert rr.tau2_method == "FE" and rr.model == "fixed" and rr.k == 13
    assert np.exp(mantel_haenszel(*args, "OR").estimate) == pytest.approx(0.6229, abs=P4)
    assert np.exp(peto(*args).estimate) == pytest.approx(0.6222, abs=P4)


def test_revman_random_effects_for_dichotomous_uses_mh_q(bcg):
    r = mantel_haenszel(bcg["a"], bcg["n1"], bcg["c"], bcg["n2"], "RR", model="random")
    assert r.tau2 == pytest.approx(0.3095, abs=P4)
    iv = pool(bcg["yi"], bcg["vi"], tau2_method="DL")
    assert iv.tau2 == pytest.approx(0.3088, abs=P4)  # the IV-Q version differs by definition
    w = 1 / (bcg["vi"] + r.tau2)
    assert r.estimate == pytest.approx(np.sum(w * bcg["yi"]) / np.sum(w), rel=1e-12)
    assert r.weights == pytest.approx(tuple(100 * w / w.sum()), rel=1e-12)


# made-up tables with zero cells (tests/reference/metafor_reference.json datasets zero_arm, double_zero)
ZERO_ARM = dict(events_e=[0, 5, 9, 3], n_e=[30, 40, 60, 25], events_c=[4, 11, 15, 6], n_c=[31, 42, 58, 24])
DOUBLE_ZERO = dict(events_e=[0, 5, 9, 3, 2], n_e=[30, 40, 60, 25, 20], events_c=[0, 11, 15, 6, 5],
                   n_c=[31, 42, 58, 24, 22])


def _mh_rr_by_hand(a, n1, c, n2, add):
    num = den = 0.0
    for ai, n1i, ci, n2i in zip(a, n1, c, n2):
        if add and 0 in (ai, n1i - ai, ci, n2i - ci):
            ai, ci, n1i, n2i = ai + add, ci + add, n1i + 2 * add, n2i + 2 * add
        num += ai * n2i / (n1i + n2i)
        den += ci * n1i / (n1i + n2i)
    return np.log(num / den)


def test_zero_arm_mh_per_preset():
    mf = mantel_haenszel(*ZERO_ARM.values(), "RR", preset=METAFOR)
    assert mf.estimate == pytest.approx(-0.756909884747859, rel=1e-10)  # metafor rma.mh: no correction in MH sums
    assert mf.se == pytest.approx(0.269463312282892, rel=1e-10)
    assert mf.estimate == pytest.approx(_mh_rr_by_hand(*ZERO_ARM.values(), 0), rel=1e-12)
    rm = mantel_haenszel(*ZERO_ARM.values(), "RR", preset=REVMAN)  # RevMan: 0.5 added to the zero-cell study
    assert rm.estimate == pytest.approx(_mh_rr_by_hand(*ZERO_ARM.values(), 0.5), rel=1e-12)
    assert rm.estimate != pytest.approx(mf.estimate, rel=1e-3)
    assert rm.k == mf.k == 4 and rm.excluded == ()


def test_double_zero_per_preset():
    with pytest.warns(MetaWarning, match="row 0 excluded: no events in either arm"):
        rm = mantel_haenszel(*DOUBLE_ZERO.values(), "OR", preset=REVMAN)
    assert rm.k == 4 and rm.excluded == (0,) and len(rm.weights) == 4
    assert any("double zero" in w for w in rm.warnings)
    mf = mantel_haenszel(*DOUBLE_ZERO.values(), "RR", preset=METAFOR)
    assert mf.k == 5 and mf.weights[0] == 0.0 and mf.excluded == ()
    assert mf.estimate == pytest.approx(-0.662787212067002, rel=1e-10)
    assert mf.q == pytest.approx(0.174801146842715, rel=1e-9) and mf.df == 3  # metafor's Q leaves it out
    assert mf.q_p == pytest.approx(0.981550920413244, rel=1e-9)
    rd = mantel_haenszel(*DOUBLE_ZERO.values(), "RD", preset=REVMAN)  # kept for RD
    assert rd.k == 5 and rd.excluded == ()
    rd_mf = mantel_haenszel(*DOUBLE_ZERO.values(), "RD", preset=METAFOR)  # Sato variance as rma.mh
    assert rd_mf.estimate == pytest.approx(-0.101578302640433, rel=1e-10)
    assert rd_mf.se == pytest.approx(0.0378354449347443, rel=1e-10)
    pm = peto(*DOUBLE_ZERO.values(), preset=METAFOR)
    assert pm.estimate == pytest.approx(-0.780814225022805, rel=1e-10)
    assert pm.weights[0] == 0.0 and pm.q_p == pytest.approx(0.990103227231582, rel=1e-9)
    with pytest.warns(MetaWarning):
        assert peto(*DOUBLE_ZERO.values(), preset=REVMAN).excluded == (0,)


def test_peto_zero_arm_matches_metafor():
    r = peto(*ZERO_ARM.values())
    assert (r.estimate, r.se, r.q) == pytest.approx((-0.877702383071449, 0.302885539988784, 1.57409530458074),
                                                    rel=1e-10)
    assert r.weights == pytest.approx((8.71292459772658, 29.8825432512008, 44.2105118885014, 17.1940202625713),
                                      rel=1e-10)


def test_one_study():
    with pytest.warns(MetaWarning, match="only one study"):
        r = pool([0.3], [0.04], tau2_method="REML")
    assert r.estimate == 0.3 and r.se == pytest.approx(0.2) and r.k == 1 and r.df == 0
    assert all(np.isnan(x) for x in (r.q, r.q_p, r.i2, r.h2, r.tau2, r.pi_low, r.tau2_ci_low))
    assert r.weights == (100.0,) and "only one study" in r.warnings[0]
    with pytest.warns(MetaWarning):
        assert pool([0.3], [0.04], tau2_method="FE").tau2 == 0.0
    with pytest.warns(MetaWarning):
        one = mantel_haenszel([3], [10], [5], [10], "OR")
    assert one.k == 1 and np.isnan(one.q)


def test_two_studies_match_metafor():
    # metafor rma/two_studies/RR/DL/z: tau² truncated at 0, Q-profile upper bound 34.97
    a, n1, c, n2 = np.array([12, 20.]), np.array([50, 80.]), np.array([20, 25.]), np.array([50, 78.])
    yi, vi = np.log(a / n1 / (c / n2)), 1 / a - 1 / n1 + 1 / c - 1 / n2
    with pytest.warns(MetaWarning, match="truncated to 0"):
        r = pool(yi, vi, tau2_method="DL")
    assert r.tau2 == 0.0 and r.tau2_truncated and any("truncated" in w for w in r.warnings)
    assert r.estimate == pytest.approx(-0.355855088648479, rel=1e-10)
    assert r.tau2_ci_high == pytest.approx(34.966901288969, rel=1e-6)
    assert np.isnan(r.pi_low)  # t with k - 2 = 0 df: undefined
    assert np.isfinite(pool(yi, vi, tau2_method="REML", pi="z").pi_low)


@pytest.mark.parametrize("method", ["DL", "REML", "PM"])
def test_identical_effects_give_tau2_exactly_zero(method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetaWarning)
        r = pool([0.4] * 5, [0.01, 0.04, 0.09, 0.02, 0.2], tau2_method=method)
    assert r.tau2 == 0.0
    assert r.i2 == 0.0 and r.q == pytest.approx(0.0, abs=1e-20)
    assert r.estimate == pytest.approx(0.4, rel=1e-14)
    assert r.se == pytest.approx(0.0723364233255618, rel=1e-12)  # metafor rma/identical


@pytest.mark.parametrize("scale", [1e-4, 1.0, 1e4])
def test_tiny_and_huge_variances(scale):
    yi = np.array([0.12, 0.3, -0.25, 1.1, 0.05, 2.5]) * scale
    vi = np.array([1e-8, 4e-6, 0.5, 2.0, 1e-4, 1e8]) * scale**2
    r = pool(yi, vi, tau2_method="REML")
    assert r.converged and np.isfinite([r.estimate, r.se, r.tau2, r.i2]).all()
    ref = pool(yi / scale, vi / scale**2, tau2_method="REML")
    assert r.tau2 == pytest.approx(ref.tau2 * scale**2, rel=1e-6)  # equivariant under rescaling
    assert r.estimate == pytest.approx(ref.estimate * scale, rel=1e-6)
    assert sum(r.weights) == pytest.approx(100.0) and r.weights[5] < 1e-6


def test_reml_non_convergence_is_warned_and_recorded(bcg):
    with pytest.warns(MetaWarning, match="REML did not converge in 1 iterations"):
        r = pool(bcg["yi"], bcg["vi"], tau2_method="REML", maxiter=1)
    assert not r.converged and r.iterations == 1 and "did not converge" in r.warnings[0]


def test_arguments_checked(bcg):
    y, v = bcg["yi"], bcg["vi"]
    with pytest.raises(ValueError, match="tau2_method must be one of FE, DL, REML, PM; got 'ML'"):
        pool(y, v, tau2_method="ML")
    with pytest.raises(ValueError, match="ci must be one of z, hksj; got 'kh'"):
        pool(y, v, ci="kh")
    with pytest.raises(ValueError, match="pi must be one of t, z"):
        pool(y, v, pi="normal")
    with pytest.raises(ValueError, match="measure must be one of RR, OR, RD; got 'SMD'"):
        mantel_haenszel([1], [2], [1], [2], "SMD")
    with pytest.raises(ValueError, match="model must be one of fixed, random"):
        mantel_haenszel([1], [2], [1], [2], "OR", model="mixed")
    with pytest.raises(ValueError, match="needs model='random'"):
        mantel_haenszel([1], [2], [1], [2], "OR", ci="hksj")
    with pytest.raises(InputError, match="field 'vi' must be > 0: row 2"):
        pool([1, 2, 3], [1, 1, 0])
    with pytest.raises(InputError, match=r"field 'events_e' must not exceed n_e.*row 0 \(study 'X'\)"):
        mantel_haenszel([5], [4], [1], [4], "RR", labels=["X"])


def test_result_is_frozen_and_readable(bcg):
    r = pool(bcg["yi"], bcg["vi"])
    assert isinstance(r, PoolResult)
    with pytest.raises(AttributeError):
        r.estimate = 0
    text = repr(r)
    assert text.startswith("PoolResult(\n") and "tau2=0.3132" in text and "weights=<13 values>" in text
    frame = r.to_frame()
    assert frame.shape[0] == 1 and frame.loc[0, "tau2"] == r.tau2 and "weights" not in frame.columns
    s = r.summary()
    assert "tau^2 = 0.3132 (SE = 0.1664), 95% CI [0.1197, 1.1115]" in s and "Q(df = 12) = 152.2330" in s


def test_hksj_edge_cases():
    # one study: metafor 3.8.1 rma(yi=1.609, vi=2.246, method="REML", test="knha") says 'Setting argument
    # test="z" since k=1' and gives CI [-1.32833152900366, 4.54633152900366], p 0.282992392686232 (RevMan
    # likewise shows a single study's own CI); the CI was NaN before
    with pytest.warns(MetaWarning, match="HKSJ needs at least two studies: the Wald"):
        one = pool([1.609], [2.246], tau2_method="REML", ci="hksj")
    assert (one.ci_low, one.ci_high, one.p) == pytest.approx((-1.32833152900366, 4.54633152900366,
                                                               0.282992392686232), abs=1e-12)
    assert one.ci_method == "z"
    same = pool([0.4] * 3, [0.01, 0.02, 0.03], tau2_method="REML", ci="hksj")  # no spread: SE exactly 0
    assert same.se == 0.0 and same.z == np.inf and same.p == 0.0 and same.ci_low == same.ci_high == 0.4

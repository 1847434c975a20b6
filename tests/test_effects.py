"""helpers.stats.effects: study effects per measure and preset, zero cells, GIV pass-through, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.core.checks import InputError, MetaWarning
from helpers.stats.effects import dichotomous_effects, effect_sizes
from helpers.stats.presets import METAFOR, REVMAN


def bcg_table():
    from pathlib import Path
    d = pd.read_csv(Path(__file__).parent / "data" / "bcg.csv")
    return pd.DataFrame({"study": d.author, "events_e": d.tpos, "n_e": d.tpos + d.tneg,
                         "events_c": d.cpos, "n_c": d.cpos + d.cneg})


def test_bcg_log_rr_as_metafor_escalc():
    es = effect_sizes(bcg_table(), "RR")
    assert es.loc[0, "yi"] == pytest.approx(-0.8893, abs=5e-5)  # metafor escalc docs / test suite
    assert es.loc[0, "vi"] == pytest.approx(0.3256, abs=5e-5)
    assert es["excluded_reason"].isna().all()
    assert list(es.columns[:5]) == ["study", "events_e", "n_e", "events_c", "n_c"]


def test_returns_copy_and_keeps_input():
    t = bcg_table()
    before = t.copy()
    out = effect_sizes(t, "OR")
    pd.testing.assert_frame_equal(t, before)
    assert out is not t and "yi" not in t.columns


# dat.normand1999 first two rows (Edinburgh, Orpington-Mild)
NORMAND = pd.DataFrame({"study": ["Edinburgh", "Orpington-Mild"], "mean_e": [55, 27], "sd_e": [47, 7],
                        "n_e": [155, 31], "mean_c": [75, 29], "sd_c": [64, 4], "n_c": [156, 32]})


def test_md_and_metafor_smd():
    md = effect_sizes(NORMAND, "MD")
    assert md["yi"].tolist() == [-20, -2]
    assert md["vi"].to_numpy() == pytest.approx([40.5080231596361, 2.08064516129032], rel=1e-12)
    smd = effect_sizes(NORMAND, "SMD", METAFOR)  # exact Hedges J, metafor escalc values
    assert smd["yi"].to_numpy() == pytest.approx([-0.355169640940107, -0.347940022739099], rel=1e-12)
    assert smd["vi"].to_numpy() == pytest.approx([0.0130646755415297, 0.0644688760988567], rel=1e-12)


def test_revman_smd_hand_computed():
    # Fleiss 1993 'Davis': 5.0 (4.7) n=13 vs 6.5 (3.8) n=13. Pooled SD 4.273757, d = -0.350979,
    # J = 1 - 3/(4*26 - 9), g = -0.339896, SE² = 26/169 + g²/(2 (26 - 3.94)) = 0.156465
    t = pd.DataFrame({"study": ["Davis"], "mean_e": [5.0], "sd_e": [4.7], "n_e": [13], "mean_c": [6.5],
                      "sd_c": [3.8], "n_c": [13]})
    es = effect_sizes(t, "SMD")
    assert es.loc[0, "yi"] == pytest.approx(-0.339896, abs=5e-7)
    assert es.loc[0, "vi"] == pytest.approx(0.156465, abs=5e-7)
    exact = effect_sizes(t, "SMD", METAFOR).loc[0, "yi"]
    assert exact != es.loc[0, "yi"] and exact == pytest.approx(es.loc[0, "yi"], rel=2e-3)


ZEROS = pd.DataFrame({"study": ["A", "B", "C"], "events_e": [0, 0, 5], "n_e": [30, 30, 40],
                      "events_c": [4, 0, 11], "n_c": [31, 31, 42]})


def test_zero_in_one_arm_gets_half_added():
    es = effect_sizes(ZEROS.iloc[[0, 2]], "OR")
    assert es["yi"].iloc[0] == pytest.approx(np.log(0.5 * 27.5 / (30.5 * 4.5)), rel=1e-12)
    assert es["vi"].iloc[0] == pytest.approx(1 / 0.5 + 1 / 30.5 + 1 / 4.5 + 1 / 27.5, rel=1e-12)
    assert es["yi"].iloc[1] == pytest.approx(np.log(5 * 31 / (35 * 11)), rel=1e-12)  # no zero: untouched


def test_double_zero_per_preset():
    with pytest.warns(MetaWarning, match="study 'B' excluded from RR: no events in either arm"):
        es = effect_sizes(ZEROS, "RR", REVMAN)
    assert np.isnan(es.loc[1, "yi"]) and np.isnan(es.loc[1, "vi"])
    assert "double zero" in es.loc[1, "excluded_reason"]
    assert es["excluded_reason"].isna().tolist() == [True, False, True]
    rd = effect_sizes(ZEROS, "RD", REVMAN)  # kept for RD
    assert rd["excluded_reason"].isna().all() and rd.loc[1, "yi"] == 0.0  # RevMan: raw counts, 0/30 - 0/31
    assert rd.loc[1, "vi"] == pytest.approx(0.5 * 30.5 / 31**3 + 0.5 * 31.5 / 32**3, rel=1e-12)  # 0.5 in vi only
    assert effect_sizes(ZEROS, "RD", METAFOR).loc[1, "yi"] == pytest.approx(0.5 / 31 - 0.5 / 32)
    mf = effect_sizes(ZEROS, "RR", METAFOR)  # drop00 = FALSE: enters with the correction
    assert mf["excluded_reason"].isna().all()
    assert mf.loc[1, "yi"] == pytest.approx(np.log((0.5 / 31) / (0.5 / 32)), rel=1e-12)


def test_giv_rows_pass_through():
    t = pd.DataFrame({"study": ["par", "cross"], "mean_e": [5.0, np.nan], "sd_e": [2.0, np.nan],
                      "n_e": [20, np.nan], "mean_c": [6.0, np.nan], "sd_c": [2.0, np.nan], "n_c": [20, np.nan],
                      "giv_estimate": [np.nan, -0.8], "giv_se": [np.nan, 0.3]})
    es = effect_sizes(t, "MD")
    assert es["yi"].tolist() == pytest.approx([-1.0, -0.8])
    assert es["vi"].tolist() == pytest.approx([0.4, 0.09])


def test_bad_input_names_source_row_and_field():
    t = NORMAND.copy()
    t.loc[1, "sd_c"] = 0
    with pytest.raises(InputError, match=r"^rows.csv: field 'sd_c' must be > 0: row 1 \(study 'Orpington-Mild'\)"):
        effect_sizes(t, "SMD", source="rows.csv")
    t = ZEROS.copy()
    t.loc[2, "events_c"] = 50
    with pytest.raises(InputError, match=r"field 'events_c' must not exceed n_c.*row 2 \(study 'C'\)"):
        effect_sizes(t, "OR")
    with pytest.raises(InputError, match="measure SMD needs columns mean_e, sd_e, n_e, mean_c, sd_c, n_c; "
                                         "missing mean_e, sd_e, mean_c, sd_c"):
        effect_sizes(ZEROS, "SMD")
    t = pd.DataFrame({"study": ["x"], "giv_estimate": [0.1], "giv_se": [0.0]})
    with pytest.raises(InputError, match=r"field 'giv_se' must be > 0: row 0 \(study 'x'\)"):
        effect_sizes(t, "MD")
    with pytest.raises(ValueError, match="measure must be one of MD, SMD, RR, OR, RD; got 'HR'"):
        effect_sizes(ZEROS, "HR")
    with pytest.raises(TypeError, match="DataFrame"):
        effect_sizes(ZEROS.to_dict(), "RR")


def _one(a, n1, c, n2, measure, preset):
    yi, vi, reasons = dichotomous_effects(*(np.array([x], dtype=float) for x in (a, n1, c, n2)), measure, preset)
    return yi[0], vi[0], reasons[0]


def _ci(yi, vi, exp=False):
    half = 1.959963984540054 * np.sqrt(vi)
    out = np.array([yi, yi - half, yi + half])
    return np.exp(out) if exp else out


def test_revman_zero_cell_risk_difference_from_raw_counts():
    """(a) RevMan: 2/38 vs 0/39 -> RD 0.052632 [-0.031599, 0.136862]; 0.5 only in the variance."""
    yi, vi, _ = _one(2, 38, 0, 39, "RD", REVMAN)
    assert _ci(yi, vi) == pytest.approx([0.052632, -0.031599, 0.136862], abs=5e-7)
    yi_m, _, _ = _one(2, 38, 0, 39, "RD", METAFOR)  # metafor: corrected cells, 2.5/39 - 0.5/40
    assert yi_m == pytest.approx(2.5 / 39 - 0.5 / 40)


def test_revman_all_events_odds_ratio_not_estimable():
    """(b) RevMan: 9/9 vs 9/9 is not estimable for the OR; metafor enters it with the correction."""
    yi, vi, reason = _one(9, 9, 9, 9, "OR", REVMAN)
    assert np.isnan(yi) and np.isnan(vi) and "not estimable" in reason
    yi_m, vi_m, reason_m = _one(9, 9, 9, 9, "OR", METAFOR)
    assert reason_m is None and yi_m == pytest.approx(0.0) and vi_m == pytest.approx(2 / 9.5 + 2 / 0.5)


def test_revman_all_events_risk_ratio_is_one():
    """(c) RevMan: 28/28 vs 29/29 -> RR 1 [0.935159, 1.06934] (printed to six significant digits: the upper
    limit is judged at 5e-6); metafor: (28.5/29)/(29.5/30)."""
    yi, vi, _ = _one(28, 28, 29, 29, "RR", REVMAN)
    ci = _ci(yi, vi, exp=True)
    assert ci[:2] == pytest.approx([1.0, 0.935159], abs=5e-7) and ci[2] == pytest.approx(1.06934, abs=5e-6)
    yi_m, _, _ = _one(28, 28, 29, 29, "RR", METAFOR)
    assert yi_m == pytest.approx(np.log((28.5 / 29) / (29.5 / 30)))


def test_revman_mh_risk_difference_sums_from_raw_counts():
    from helpers.stats.pooling import mantel_haenszel

    a, n1, c, n2 = [2, 10], [38, 50], [0, 5], [39, 50]
    res = mantel_haenszel(a, n1, c, n2, "RD", preset=REVMAN)
    w = np.array([38 * 39 / 77, 50 * 50 / 100])
    assert res.estimate == pytest.approx(np.sum(w * (np.array([2 / 38, 10 / 50]) - [0, 5 / 50])) / w.sum())

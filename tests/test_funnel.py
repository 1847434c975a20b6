"""Funnel plot: contours, pseudo limits, Egger line, filled studies and the low-power note are drawn from the data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.text import Text

from helpers.figures import funnel
from helpers.stats import bias
from helpers.stats.smallstudy import small_study_effects

ARTIFACTS = Path(__file__).parent / "artifacts"


def _data(k=12, seed=3):
    rng = np.random.default_rng(seed)
    se = rng.uniform(0.1, 0.8, k)
    return 0.2 + rng.normal(0, se) + 0.9 * se, se**2


def _gid(fig, gid):
    return [a for a in fig.findobj() if getattr(a, "get_gid", lambda: None)() == gid]


def test_drawn_elements_follow_the_numbers():
    y, v = _data()
    fig = funnel.funnel_plot(small_study_effects(y, v, measure="OR"), footer="Data: unit test")
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_ylim()[0] > ax.get_ylim()[1] == 0  # SE axis inverted, 0 at the top
    studies = _gid(fig, "studies")[0]
    np.testing.assert_allclose(studies.get_offsets()[:, 0], np.exp(y))
    np.testing.assert_allclose(studies.get_offsets()[:, 1], np.sqrt(v))
    fe = np.sum(y / v) / np.sum(1 / v)
    assert _gid(fig, "fixed_effect")[0].get_xdata()[0] == pytest.approx(np.exp(fe))
    lower = _gid(fig, "pseudo_ci")[0]
    xs, ses = lower.get_xdata(), lower.get_ydata()
    np.testing.assert_allclose(np.log(xs), fe - 1.96 * ses)
    eg = bias.egger(y, v)
    line = _gid(fig, "egger_line")[0]
    np.testing.assert_allclose(np.log(line.get_xdata()), eg.limit_estimate + eg.bias * line.get_ydata())
    tf = bias.trim_and_fill(y, v)
    filled = _gid(fig, "filled_studies")
    assert tf.k0 > 0 and len(filled) == 1
    np.testing.assert_allclose(filled[0].get_offsets()[:, 0], np.exp(tf.filled["yi"]))
    assert np.all(filled[0].get_facecolor()[:, :3] == 1.0)  # open (white) markers
    assert not _gid(fig, "low_power_note")
    texts = [t.get_text() for t in fig.findobj(Text)]
    assert f"Egger: bias {eg.bias:.2f}, t = {eg.t:.2f}, df = {eg.df}, p = {eg.p:.3f}" in texts
    ARTIFACTS.mkdir(exist_ok=True)
    fig.savefig(ARTIFACTS / "funnel_or.png", dpi=250)


def test_contour_bands_are_at_the_wald_thresholds():
    y, v = _data()
    fig = funnel.funnel_plot(small_study_effects(y, v, measure="MD", egger=False, trim_fill=False))
    ax = fig.axes[0]
    assert ax.get_xscale() == "linear"
    bands = [c for c in ax.collections if c.get_gid() is None][1:4]  # after the outer p < 0.01 fill
    se_max = ax.get_ylim()[0]
    for band, z in zip(bands, (2.5758293035489004, 1.959963984540054, 1.6448536269514722), strict=True):
        verts = band.get_paths()[0].vertices
        assert verts[:, 0].max() == pytest.approx(z * se_max, rel=1e-9)
    assert not _gid(fig, "egger_line") and not _gid(fig, "filled_studies")


def test_low_power_note_below_ten_studies_and_too_few_for_tests():
    y, v = _data(k=6)
    fig = funnel.funnel_plot(small_study_effects(y, v, measure="RR"))
    note = _gid(fig, "low_power_note")
    assert len(note) == 1 and " ".join(note[0].get_text().split()) == funnel.LOW_POWER_NOTE
    with pytest.warns(UserWarning, match="need at least 3 studies; k = 2"):
        few = small_study_effects(y[:2], v[:2], measure="RR")
    assert few.egger is None and few.trim_fill is None and "need at least 3 studies" in few.notes[0]
    fig2 = funnel.funnel_plot(few)
    assert any("need at least 3 studies" in t.get_text() for t in fig2.findobj(Text))
    ARTIFACTS.mkdir(exist_ok=True)
    fig.savefig(ARTIFACTS / "funnel_rr_small.png", dpi=250)


def test_argument_checks():
    y, v = _data()
    with pytest.raises(ValueError, match="measure must be one of MD, SMD, RR, OR, RD; got 'HR'"):
        small_study_effects(y, v, measure="HR")
    with pytest.raises(ValueError, match="contours must be 1 to 3 significance levels"):
        funnel.funnel_plot(small_study_effects(y, v, measure="OR"), contours=(0.01, 1.5))
    v_bad = v.copy()
    v_bad[4] = -1
    with pytest.raises(ValueError, match="vi"):
        small_study_effects(y, v_bad, measure="OR")
    with pytest.raises(TypeError, match="SmallStudyEffects"):
        funnel.funnel_plot(y)


def test_small_study_effects_holds_what_the_funnel_draws():
    y, v = _data()
    result = small_study_effects(y, v, measure="OR", labels=[f"S{i}" for i in range(len(y))])
    assert result.k == 12 and result.log_scale and result.labels[0] == "S0"
    assert result.fixed_effect.estimate == pytest.approx(np.sum(y / v) / np.sum(1 / v), rel=1e-12)
    eg, tf = bias.egger(y, v), bias.trim_and_fill(y, v)
    assert result.egger.bias == eg.bias and result.egger.p == eg.p
    assert result.trim_fill.k0 == tf.k0 and result.trim_fill.estimate == tf.estimate
    assert result.notes == tuple(tf.warnings)
    assert "SmallStudyEffects(" in repr(result) and result.to_frame().loc[0, "k"] == 12

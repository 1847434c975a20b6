"""Forest plot: what is drawn (diamonds, squares, axis scale, text, arrows) and agreement with RevMan's own SVG."""

from __future__ import annotations

import io
import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import Polygon
from matplotlib.text import Text

from helpers.data import dataset as dataset_mod
from helpers.figures import forest, forest_text
from helpers.figures import style
from helpers.stats import meta

ARTIFACTS = Path(__file__).parent / "artifacts"


# ------------------------------------------------------------------------------------------- test inputs
def _pool(estimate, ci_low, ci_high, *, q=float("nan"), df=0, q_p=float("nan"), i2=float("nan"), tau2=0.0, z=None,
          p=None, k=1, pi_low=float("nan"), pi_high=float("nan")):
    """A PoolResult-shaped record (analysis scale) so the figure tests run from given numbers alone."""
    se = (ci_high - ci_low) / (2 * 1.959963984540054)
    z = estimate / se if z is None else z
    from scipy import stats

    p = 2 * stats.norm.sf(abs(z)) if p is None else p
    return SimpleNamespace(estimate=estimate, ci_low=ci_low, ci_high=ci_high, se=se, z=z, p=p, q=q, df=df, q_p=q_p,
                           i2=i2, tau2=tau2, k=k, pi_low=pi_low, pi_high=pi_high)


def _ma(studies, overall, *, measure="OR", method="MH", model="fixed", subgroups=(), subgroup_test=None,
        excluded=None):
    log = measure in ("RR", "OR")
    return SimpleNamespace(measure=measure, method=method, model=model, log_scale=log, studies=studies,
                           excluded=excluded if excluded is not None else pd.DataFrame(), overall=overall,
                           subgroups=tuple(subgroups), subgroup_test=subgroup_test,
                           display=(np.exp if log else (lambda x: x)))


def _read_sample(path: Path):
    """Data rows, overall estimates (analysis 1.1) and RevMan's SVG for analysis 1.1 from the nested zip."""
    with zipfile.ZipFile(path) as outer:
        names = outer.namelist()
        inner_name = next(n for n in names if n.endswith("-data.zip"))
        svg_name = next(n for n in names if n.endswith("-CMP-001.01.svg"))
        svg = outer.read(svg_name).decode("utf-8")
        with zipfile.ZipFile(io.BytesIO(outer.read(inner_name))) as inner:
            rows_name = next(n for n in inner.namelist() if n.endswith("-data-rows.csv"))
            est_name = next(n for n in inner.namelist() if n.endswith("-overall-estimates-and-settings.csv"))
            rows = pd.read_csv(io.BytesIO(inner.read(rows_name)), encoding="utf-8-sig")
            est = pd.read_csv(io.BytesIO(inner.read(est_name)), encoding="utf-8-sig")
    return rows[rows["Analysis number"] == 1], est[est["Analysis number"] == 1].iloc[0], svg


def _published_ma(path: Path):
    """Analysis 1.1 built from RevMan's own published per-study and pooled numbers (no engine involved)."""
    rows, est, _ = _read_sample(path)
    studies = pd.DataFrame({
        "study": rows["Study"].to_numpy(), "subgroup": None,
        "events_e": rows["Experimental cases"].to_numpy(), "n_e": rows["Experimental N"].to_numpy(),
        "events_c": rows["Control cases"].to_numpy(), "n_c": rows["Control N"].to_numpy(),
        "estimate": rows["Mean"].to_numpy(), "ci_low": rows["CI start"].to_numpy(),
        "ci_high": rows["CI end"].to_numpy(), "weight": rows["Weight"].to_numpy(),
    })
    studies["yi"] = np.log(studies["estimate"])
    overall = _pool(math.log(est["Mean"]), math.log(est["CI start"]), math.log(est["CI end"]),
                    q=est["Heterogeneity Chi²"], df=int(est["Heterogeneity df"]), q_p=est["Heterogeneity P"],
                    i2=est["Heterogeneity I²"], z=est["Effect Z"], p=est["Effect P"], k=len(studies))
    return _ma(studies, overall)


def _svg_texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()).strip() for t in root.iter("{http://www.w3.org/2000/svg}text")]


def _fig_texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _norm(s: str) -> str:
    return re.sub(r"\s+,", ",", s)


def _subgrouped(measure="RR", model="random"):
    studies = pd.DataFrame({
        "study": ["A", "B", "C", "D", "E"], "subgroup": ["oral", "oral", "iv", "iv", "iv"],
        "events_e": [10, 12, 5, 7, 30], "n_e": [50, 60, 40, 45, 100],
        "events_c": [5, 6, 4, 8, 20], "n_c": [50, 60, 40, 44, 100],
        "estimate": [2.0, 2.0, 1.25, 0.86, 1.5], "ci_low": [0.74, 0.8, 0.36, 0.34, 0.92],
        "ci_high": [5.4, 5.0, 4.3, 2.2, 2.44], "weight": [14.0, 16.0, 10.0, 20.0, 40.0],
    })
    studies["yi"] = np.log(studies["estimate"])
    sub1 = _pool(math.log(2.0), math.log(1.0), math.log(4.0), q=0.0, df=1, q_p=1.0, i2=0.0, k=2)
    sub2 = _pool(math.log(1.2), math.log(0.8), math.log(1.8), q=1.1, df=2, q_p=0.58, i2=0.0, tau2=0.0, k=3)
    overall = _pool(math.log(1.4), math.log(1.0), math.log(1.96), q=2.76, df=4, q_p=0.6, i2=0.0, tau2=0.1234, k=5,
                    pi_low=math.log(0.7), pi_high=math.log(2.8))
    test = SimpleNamespace(q=1.234, df=1, p=0.2666, i2=18.96)
    return _ma(studies, overall, measure=measure, method="MH", model=model,
               subgroups=[("oral", sub1), ("iv", sub2)], subgroup_test=test)


# ------------------------------------------------------------------------------------------------ tests
def test_revman_number_formats():
    assert forest_text.format_p(0.126942) == "P = 0.13"
    assert forest_text.format_p(0.00101) == "P = 0.001"
    assert forest_text.format_p(0.000234) == "P = 0.0002"
    assert forest_text.format_p(3e-7) == "P < 0.00001"
    assert forest_text.fmt(0.125, 2) == "0.13"  # half up, not half to even
    assert forest_text.fmt(62.5, 0) == "63"
    assert forest_text.fmt(-0.001, 2) == "0.00"
    pool = _pool(0.1, 0.0, 0.2, q=9.946056, df=6, q_p=0.126942, i2=39.67458, tau2=0.1249, k=7)
    assert forest_text.heterogeneity_text(pool, "random") == (
        "Heterogeneity: Tau² = 0.12; Chi² = 9.95, df = 6 (P = 0.13); I² = 40%")
    assert forest_text.heterogeneity_text(pool, "fixed") == "Heterogeneity: Chi² = 9.95, df = 6 (P = 0.13); I² = 40%"
    assert forest_text.overall_effect_text(_pool(0, -1, 1, z=-3.287633, p=0.00101)) == (
        "Test for overall effect: Z = 3.29 (P = 0.001)")
    assert forest_text.subgroup_difference_text(SimpleNamespace(q=1.234, df=1, p=0.2666, i2=18.96)) == (
        "Test for subgroup differences: Chi² = 1.23, df = 1 (P = 0.27), I² = 19.0%")
    assert forest_text.subgroup_difference_text(None) == "Test for subgroup differences: Not applicable"
    with pytest.raises(ValueError, match="model must be one of fixed, random; got 'mixed'"):
        forest_text.heterogeneity_text(pool, "mixed")


def test_diamonds_squares_log_axis_and_text():
    ma = _subgrouped()
    fig = forest.forest_plot(ma, title="Test", prediction_interval=True)
    diamonds = [p for p in fig.findobj(Polygon) if (p.get_gid() or "").startswith("diamond:")]
    assert len(diamonds) == len(ma.subgroups) + 1 == 3
    assert sorted(p.get_gid() for p in diamonds) == ["diamond:iv", "diamond:oral", "diamond:overall"]
    overall = next(p for p in diamonds if p.get_gid() == "diamond:overall").get_xy()
    assert overall[:, 0].min() == pytest.approx(1.0) and overall[:, 0].max() == pytest.approx(1.96)
    plot_ax = next(a for a in fig.axes if a.get_xscale() == "log")
    markers = [c for c in plot_ax.collections if c.get_gid() == "study_markers"]
    assert len(markers) == 1
    offsets = np.asarray(markers[0].get_offsets())
    np.testing.assert_allclose(offsets[:, 0], ma.studies["estimate"].to_numpy())
    sizes = markers[0].get_sizes()
    # area proportional to weight: heaviest (E, 40%) is 4x a 10% study (C)
    assert sizes[4] / sizes[2] == pytest.approx(4.0)
    texts = _fig_texts(fig)
    assert "Heterogeneity: Tau² = 0.12; Chi² = 2.76, df = 4 (P = 0.60); I² = 0%" in texts
    assert "Test for subgroup differences: Chi² = 1.23, df = 1 (P = 0.27), I² = 19.0%" in texts
    assert texts.count("Subtotal (95% CI)") == 2 and "Total (95% CI)" in texts
    assert "Favours experimental" in texts and "Favours control" in texts
    assert "1.40 [1.00, 1.96]" in texts and "[0.70, 2.80]" in texts
    assert [l.get_gid() for l in plot_ax.lines if l.get_gid()] == ["prediction_interval"]
    ARTIFACTS.mkdir(exist_ok=True)
    fig.savefig(ARTIFACTS / "forest_subgroups.png", dpi=200)


def test_linear_axis_for_differences_and_arrows_beyond_xlim():
    ma = _subgrouped(measure="MD", model="fixed")
    ma.studies["estimate"] = [1.0, -2.0, 0.5, 3.0, 0.0]
    ma.studies["ci_low"] = [-1.0, -9.0, -0.5, 1.0, -1.0]
    ma.studies["ci_high"] = [3.0, 1.0, 1.5, 12.0, 1.0]
    ma.overall.estimate, ma.overall.ci_low, ma.overall.ci_high = 0.5, -0.2, 1.2
    fig = forest.forest_plot(ma, xlim=(-5, 5))
    plot_ax = next(a for a in fig.axes if a.get_gid() is None and a.spines["bottom"].get_visible() and a.axison)
    assert plot_ax.get_xscale() == "linear"
    arrows = [t for t in fig.findobj() if getattr(t, "get_gid", lambda: None)() == "ci_arrow"]
    assert len(arrows) == 2  # B runs past -5, D past +5; nothing else does
    assert sorted(a.xy[0] for a in arrows) == [-5.0, 5.0]
    fig_auto = forest.forest_plot(ma)
    assert not [t for t in fig_auto.findobj() if getattr(t, "get_gid", lambda: None)() == "ci_arrow"]


def test_argument_checks():
    ma = _subgrouped()
    with pytest.raises(TypeError, match="MetaAnalysis"):
        forest.forest_plot(ma.studies)
    with pytest.raises(ValueError, match="xlim must be positive for a ratio measure"):
        forest.forest_plot(ma, xlim=(0, 10))
    with pytest.raises(ValueError, match="xlim must be finite with low < high"):
        forest.forest_plot(ma, xlim=(5, 1))
    with pytest.raises(ValueError, match="favours must be a pair of strings"):
        forest.forest_plot(ma, favours=("only one",))


def test_forestplot_import_leaves_global_state_alone():
    code = (
        "import warnings, numpy as np, matplotlib\n"
        "e = np.geterr(); f = list(warnings.filters); m = list(matplotlib.rcParams['font.monospace'])\n"
        "import helpers.figures.forest\n"
        "assert np.geterr() == e, np.geterr()\n"
        "assert warnings.filters == f\n"
        "assert matplotlib.rcParams['font.monospace'] == m\n"
        "import sys; assert 'forestplot' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_sample_analysis_1_1_matches_revman_svg(shared_sample):
    ma = _published_ma(shared_sample)
    _, _, svg = _read_sample(shared_sample)
    revman = [_norm(t) for t in _svg_texts(svg)]
    fig = forest.forest_plot(ma, title="Analysis 1.1 (RevMan's published numbers)", footer="Fleiss1993 sample")
    ours = _fig_texts(fig)
    _check_against_revman(ours, revman, ma)
    ARTIFACTS.mkdir(exist_ok=True)
    fig.savefig(ARTIFACTS / "forest_sample_1_1.png", dpi=200)


def _check_against_revman(ours: list[str], revman: list[str], ma) -> None:
    studies = list(ma.studies["study"])
    assert all(s in revman and s in ours for s in studies)
    weights = [t for t in ours if re.fullmatch(r"\d+\.\d%", t)]
    revman_weights = [t for t in revman if re.fullmatch(r"\d+\.\d%", t)]
    assert sorted(weights) == sorted(revman_weights)  # RevMan orders rows by year, we keep input order
    assert "10.2%" in weights and "72.9%" in weights and "100.0%" in weights
    cis = [t for t in ours if re.fullmatch(r"\d+\.\d\d \[\d+\.\d\d, \d+\.\d\d\]", t)]
    revman_cis = [t for t in revman if re.fullmatch(r"\d+\.\d\d \[\d+\.\d\d, \d+\.\d\d\]", t)]
    assert sorted(cis) == sorted(revman_cis) and "1.13 [0.93, 1.37]" in cis and "0.90 [0.84, 0.96]" in cis
    for line in ("Heterogeneity: Chi² = 9.95, df = 6 (P = 0.13); I² = 40%",
                 "Test for overall effect: Z = 3.29 (P = 0.001)",
                 "Test for subgroup differences: Not applicable", "Odds Ratio", "M-H, Fixed, 95% CI",
                 "Favours experimental", "Favours control", "Total (95% CI)", "Total events:"):
        assert line in revman, line
        assert line in ours, line
    for number in ("2128", "14186", "2286", "13817", "1570", "8587"):
        assert number in ours and number in revman


def test_engine_analysis_1_1_matches_revman_svg(shared_sample):
    """The same comparison, with every number computed by helpers.stats.meta from the sample's arm data."""
    data = dataset_mod.load_dataset(shared_sample, review=None)
    ma = meta.meta_analysis(data.analysis("1.1"), "OR", method="MH", model="fixed")
    _, _, svg = _read_sample(shared_sample)
    fig = forest.forest_plot(ma, footer=data)
    _check_against_revman(_fig_texts(fig), [_norm(t) for t in _svg_texts(svg)], ma)
    assert any(t.startswith("Data: ") for t in _fig_texts(fig))
    ARTIFACTS.mkdir(exist_ok=True)
    fig.savefig(ARTIFACTS / "forest_engine_1_1.png", dpi=200)


def test_synthetic_subgrouped_analysis_draws_one_diamond_per_subgroup():
    try:
        data = dataset_mod.load_dataset()
    except FileNotFoundError as err:
        pytest.skip(str(err))
    aid = next(a for a, row in data.analyses().iterrows() if row.has_subgroups and row.measure == "RR" and row.k >= 4)
    settings = data.analyses().loc[aid]
    ma = meta.meta_analysis(data.analysis(aid), settings.measure, method=settings.method, model=settings.model,
                            subgroup="subgroup")
    fig = forest.forest_plot(ma, footer=data, prediction_interval=True, title=f"Analysis {aid}")
    diamonds = [p for p in fig.findobj(Polygon) if (p.get_gid() or "").startswith("diamond:")]
    assert len(diamonds) == len(ma.subgroups) + 1 >= 3
    texts = _fig_texts(fig)
    assert any("SYNTHETIC DATA - not evidence" in t for t in texts)
    assert forest_text.subgroup_difference_text(ma.subgroup_test) in texts
    assert all(forest_text.heterogeneity_text(p, ma.model) in texts for _, p in ma.subgroups)
    ARTIFACTS.mkdir(exist_ok=True)
    fig.savefig(ARTIFACTS / "forest_synthetic_subgroups.png", dpi=200)



def test_single_study_analysis_draws_without_library_warnings():
    """A one-study analysis: forestplot's draw_ci made pandas warn (FutureWarning) into every notebook's summary."""
    import warnings

    studies = pd.DataFrame({"study": ["A"], "subgroup": [None], "events_e": [10], "n_e": [50], "events_c": [5],
                            "n_c": [50], "estimate": [2.0], "ci_low": [0.74], "ci_high": [5.4], "weight": [100.0]})
    studies["yi"] = np.log(studies["estimate"])
    ma = _ma(studies, _pool(math.log(2.0), math.log(0.74), math.log(5.4), k=1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = forest.forest_plot(ma, title="One study")
    assert [str(w.message) for w in caught] == []
    plot_ax = next(a for a in fig.axes if a.get_xscale() == "log")
    whiskers = [c for c in plot_ax.collections if c.get_gid() != "study_markers" and len(c.get_segments()) == 1]
    assert whiskers and np.allclose(np.asarray(whiskers[0].get_segments()[0])[:, 0], [0.74, 5.4])

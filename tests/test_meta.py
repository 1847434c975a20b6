"""helpers.stats.meta.meta_analysis: RevMan's own published numbers (shared Fleiss 1993 package, analysis 1.1, read
straight from the inner data-rows CSV: the importer is tested elsewhere), BCG by allocation, combinations."""

from __future__ import annotations

import io
import warnings
import zipfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.core.checks import InputError, MetaWarning
from helpers.stats.meta import MetaAnalysis, meta_analysis
from helpers.stats.presets import METAFOR


def _inner_csv(package: Path, suffix: str) -> pd.DataFrame:
    with zipfile.ZipFile(package) as outer:
        data = next(n for n in outer.namelist() if n.endswith("-data.zip"))
        with zipfile.ZipFile(io.BytesIO(outer.read(data))) as inner:
            name = next(n for n in inner.namelist() if n.endswith(suffix))
            return pd.read_csv(io.BytesIO(inner.read(name)), encoding="utf-8-sig", dtype=str)


def _tol(printed: str) -> float:
    """Half a unit in the last printed digit."""
    exponent = Decimal(printed).as_tuple().exponent
    return 0.5 * 10.0 ** exponent


def _close(value: float, printed: str) -> bool:
    return abs(value - float(printed)) <= _tol(printed) * (1 + 1e-9)


@pytest.fixture(scope="module")
def revman_1_1(shared_sample):
    rows = _inner_csv(shared_sample, "data-rows.csv")
    rows = rows[rows["Analysis number"] == "1"].reset_index(drop=True)
    overall = _inner_csv(shared_sample, "overall-estimates-and-settings.csv")
    overall = overall[overall["Analysis number"] == "1"].iloc[0]
    table = pd.DataFrame({"study": rows["Study"], "events_e": rows["Experimental cases"].astype(int),
                          "n_e": rows["Experimental N"].astype(int), "events_c": rows["Control cases"].astype(int),
                          "n_c": rows["Control N"].astype(int)})
    return table, rows, overall


def test_revman_sample_overall(revman_1_1):
    table, _, published = revman_1_1
    assert (published["Statistical method"], published["Effect measure"], published["Analysis model"]) == (
        "MH", "Odds Ratio", "Fixed effect")
    m = meta_analysis(table, "OR", method="MH", model="fixed")
    o = m.overall
    assert _close(m.display(o.estimate), published["Mean"])  # 0.896866
    assert _close(m.display(o.ci_low), published["CI start"])  # 0.840514
    assert _close(m.display(o.ci_high), published["CI end"])  # 0.956995
    assert _close(o.q, published["Heterogeneity Chi²"])  # 9.946056
    assert o.df == int(published["Heterogeneity df"]) == 6
    assert _close(o.q_p, published["Heterogeneity P"])  # 0.126942
    assert _close(o.i2, published["Heterogeneity I²"])  # 39.67458
    assert _close(abs(o.z), published["Effect Z"])  # 3.287633
    assert _close(o.p, published["Effect P"])  # 0.00101
    assert published["Mean"] == "0.896866" and published["Heterogeneity Chi²"] == "9.946056"


def test_revman_sample_every_study_row(revman_1_1):
    table, rows, _ = revman_1_1
    s = meta_analysis(table, "OR", method="MH").studies
    assert s["study"].tolist() == rows["Study"].tolist()
    for i, r in rows.iterrows():
        for ours, theirs in (("weight", "Weight"), ("estimate", "Mean"), ("ci_low", "CI start"),
                             ("ci_high", "CI end")):
            assert _close(s.loc[i, ours], r[theirs]), (r["Study"], ours, s.loc[i, ours], r[theirs])
    assert rows.loc[0, "Study"] == "AMIS" and rows.loc[0, "Weight"] == "10.153491"
    assert s["weight"].sum() == pytest.approx(100.0)


@pytest.fixture(scope="module")
def bcg():
    d = pd.read_csv(Path(__file__).parent / "data" / "bcg.csv")
    alloc = ["random"] * 4 + ["alternate"] * 2 + ["random"] * 3 + ["systematic"] * 4  # dat.bcg$alloc
    return pd.DataFrame({"study": d.author + " " + d.year.astype(str), "events_e": d.tpos,
                         "n_e": d.tpos + d.tneg, "events_c": d.cpos, "n_c": d.cpos + d.cneg, "alloc": alloc})


def test_bcg_subgroups_fixed_and_random(bcg):
    fe = meta_analysis(bcg, "RR", subgroup="alloc")
    assert [label for label, _ in fe.subgroups] == ["random", "alternate", "systematic"]
    assert [r.k for _, r in fe.subgroups] == [7, 2, 4]
    assert fe.subgroups[0][1].estimate == pytest.approx(-0.294536663614776, rel=1e-10)
    assert fe.subgroup_test.q == pytest.approx(19.8653698196656, rel=1e-10)  # metafor QM for FE
    assert fe.subgroup_test.model == "fixed"
    assert fe.overall.estimate == pytest.approx(-0.4303, abs=5e-5)
    re = meta_analysis(bcg, "RR", model="random", tau2_method="DL", subgroup="alloc")
    assert [r.tau2 for _, r in re.subgroups] == pytest.approx([0.763062754370953, 0.132577039878093,
                                                               0.284970681807463], rel=1e-9)
    assert re.subgroup_test.q == pytest.approx(1.53676887206275, rel=1e-9)
    assert re.subgroup_test.p == pytest.approx(0.463761700109843, rel=1e-9)
    assert re.studies["weight"].sum() == pytest.approx(100.0)  # % of the overall total


def test_combinations(bcg):
    assert meta_analysis(bcg, "RR", model="random", tau2_method="REML").overall.tau2 == pytest.approx(0.3132, abs=5e-5)
    mh_re = meta_analysis(bcg, "RR", method="MH", model="random")
    assert mh_re.overall.tau2 == pytest.approx(0.3095, abs=5e-5) and mh_re.tau2_method == "DL"
    assert np.exp(meta_analysis(bcg, "OR", method="Peto").overall.estimate) == pytest.approx(0.6222, abs=5e-5)
    assert np.exp(meta_analysis(bcg, "OR", method="MH").overall.estimate) == pytest.approx(0.6229, abs=5e-5)
    hk = meta_analysis(bcg, "RR", model="random", tau2_method="REML", ci="hksj")
    assert hk.overall.se == pytest.approx(0.180791744092848, rel=1e-8)
    rd = meta_analysis(bcg, "RD")
    assert not rd.log_scale and rd.display(0.25) == 0.25
    assert meta_analysis(bcg, "RR").log_scale and meta_analysis(bcg, "RR").tau2_method == "FE"


def test_bad_combinations_and_arguments(bcg):
    with pytest.raises(ValueError, match="method 'Peto' is the fixed-effect odds ratio"):
        meta_analysis(bcg, "RR", method="Peto")
    with pytest.raises(ValueError, match="method 'MH' needs measure one of RR, OR, RD; got 'MD'"):
        meta_analysis(bcg, "MD", method="MH")
    with pytest.raises(ValueError, match="ci 'hksj' needs model 'random'"):
        meta_analysis(bcg, "RR", ci="hksj")
    with pytest.raises(ValueError, match="tau2_method 'FE' contradicts model 'random'"):
        meta_analysis(bcg, "RR", model="random", tau2_method="FE")
    with pytest.raises(ValueError, match="model must be one of fixed, random; got 'mixed'"):
        meta_analysis(bcg, "RR", model="mixed")
    with pytest.raises(InputError, match="subgroup column 'drug' not in table"):
        meta_analysis(bcg, "RR", subgroup="drug")
    t = bcg.copy()
    t.loc[3, "alloc"] = None
    with pytest.raises(InputError, match=r"field 'alloc' is empty in row 3 \(study 'Hart & Sutherland 1977'\)"):
        meta_analysis(t, "RR", subgroup="alloc")
    t = bcg.copy()
    t.loc[5, "n_c"] = 0
    with pytest.raises(InputError, match=r"^bcg.csv: field 'n_c' must be > 0: row 5 \(study 'Stein & Aronson 1953'\)"):
        meta_analysis(t, "RR", source="bcg.csv")


DOUBLE = pd.DataFrame({"study": ["A", "B", "C", "D"], "grp": ["x", "x", "y", "y"], "events_e": [0, 5, 9, 3],
                       "n_e": [30, 40, 60, 25], "events_c": [0, 11, 15, 6], "n_c": [31, 42, 58, 24]})


def test_excluded_rows_are_listed_warned_and_recorded():
    with pytest.warns(MetaWarning, match="study 'A' not entered: no events in either arm"):
        m = meta_analysis(DOUBLE, "RR", method="MH", subgroup="grp")
    assert m.excluded["study"].tolist() == ["A"] and "double zero" in m.excluded.loc[0, "reason"]
    assert m.studies["study"].tolist() == ["B", "C", "D"] and m.overall.k == 3
    assert any("'A' not entered" in w for w in m.warnings)
    assert m.studies["weight"].sum() == pytest.approx(100.0)
    assert m.subgroups[0][1].k == 1 and m.subgroup_test.df == 1
    mf = meta_analysis(DOUBLE, "RR", method="MH", preset=METAFOR)  # metafor keeps it, with MH weight 0
    assert len(mf.excluded) == 0 and mf.studies.loc[0, "weight"] == 0.0


def test_all_rows_excluded_is_an_error():
    with pytest.raises(InputError, match="no study can enter the OR analysis"), warnings.catch_warnings():
        warnings.simplefilter("ignore", MetaWarning)
        meta_analysis(DOUBLE.iloc[[0]], "OR")


def test_giv_rows_need_iv():
    t = pd.DataFrame({"study": ["a", "b"], "events_e": [1, np.nan], "n_e": [10, np.nan], "events_c": [2, np.nan],
                      "n_c": [10, np.nan], "giv_estimate": [np.nan, -0.3], "giv_se": [np.nan, 0.2]})
    assert meta_analysis(t, "OR").studies["yi"].iloc[1] == -0.3
    with pytest.raises(InputError, match=r"row 1 \(study 'b'\): generic inverse-variance rows"):
        meta_analysis(t, "OR", method="MH")


def test_frames_and_text(bcg):
    m = meta_analysis(bcg, "RR", model="random", subgroup="alloc")
    assert isinstance(m, MetaAnalysis)
    f = m.to_frame()
    assert f["level"].tolist() == ["study"] * 13 + ["subgroup"] * 3 + ["overall"]
    assert f.iloc[-1]["estimate"] == pytest.approx(np.exp(m.overall.estimate))
    assert f.loc[f.level == "subgroup", "weight"].sum() == pytest.approx(100.0)
    assert list(m.studies.columns[:8]) == ["study", "subgroup", "yi", "vi", "estimate", "ci_low", "ci_high",
                                           "weight"]
    assert {"events_e", "n_e", "events_c", "n_c"} <= set(m.studies.columns)
    assert not m.studies.columns.duplicated().any()
    text = m.summary()
    assert "Subgroup alternate:" in text and "Test for subgroup differences (random effect): Chi² = 1.54" in text
    assert "studies=<DataFrame 13 rows" in repr(m)
    with pytest.raises(AttributeError):
        m.measure = "OR"
    plain = meta_analysis(bcg, "RR")
    assert plain.subgroups == () and plain.subgroup_test is None and plain.studies["subgroup"].isna().all()


def test_fleiss_mental_health_smd_matches_r_meta():
    # Analysis 1.2 of the shared package (RevMan left it uncomputed). R package meta, which follows RevMan's
    # Hedges' g (approximate J and variance), prints for metacont(..., data = Fleiss93cont, sm = "SMD"):
    # studies -0.3399 [-1.1152; 0.4354] 11.54 ... and fixed effect -0.3434 [-0.6068; -0.08], z -2.555,
    # p 0.0106, Q 3.68 (df 4, p 0.4515), I² 0%.
    t = pd.DataFrame({"study": ["Davis", "Florell", "Gruen", "Hart", "Wilson"],
                      "mean_e": [5.0, 4.9, 22.5, 12.5, 6.5], "sd_e": [4.7, 1.71, 3.44, 1.47, 0.76],
                      "n_e": [13, 30, 35, 20, 8], "mean_c": [6.5, 6.1, 24.9, 12.3, 7.38],
                      "sd_c": [3.8, 2.3, 10.65, 1.66, 1.41], "n_c": [13, 50, 35, 20, 8]})
    m = meta_analysis(t, "SMD")
    s = m.studies
    assert s["estimate"].to_numpy() == pytest.approx([-0.3399, -0.5659, -0.2999, 0.1250, -0.7346], abs=5e-5)
    assert s["ci_low"].to_numpy() == pytest.approx([-1.1152, -1.0274, -0.7712, -0.4954, -1.7575], abs=5e-5)
    assert s["ci_high"].to_numpy() == pytest.approx([0.4354, -0.1044, 0.1714, 0.7455, 0.2883], abs=5e-5)
    assert s["weight"].to_numpy() == pytest.approx([11.54, 32.58, 31.23, 18.02, 6.63], abs=5e-3)
    o = m.overall
    assert (o.estimate, o.ci_low, o.ci_high) == pytest.approx((-0.3434, -0.6068, -0.0800), abs=5e-5)
    assert (o.z, o.p, o.q_p) == pytest.approx((-2.555, 0.0106, 0.4515), abs=5e-4)
    assert o.q == pytest.approx(3.68, abs=5e-3) and o.df == 4 and o.i2 == 0.0


def test_subgroup_without_standard_error_is_a_recorded_warning():
    """A subgroup whose HKSJ standard error is not a positive number (two identical estimates: no spread, SE 0)
    is left out of the test for subgroup differences with a recorded warning, never silently. A subgroup of one
    study enters with its Wald SE (HKSJ needs two studies; metafor sets test="z" when k = 1)."""
    t = pd.DataFrame({"study": ["a", "b", "c", "d", "e", "f"], "g": ["x", "x", "y", "y", "z", "z"],
                      "giv_estimate": [0.1, 0.3, -0.2, 0.0, 0.5, 0.5], "giv_se": [0.2, 0.3, 0.25, 0.2, 0.4, 0.3]})
    with pytest.warns(MetaWarning, match="subgroup 'z': standard error 0"):
        m = meta_analysis(t, "MD", model="random", ci="hksj", subgroup="g")
    assert m.subgroup_test is not None and m.subgroup_test.df == 1
    assert any("'z': standard error 0 (not a positive number); left out of the test" in w for w in m.warnings)
    one = meta_analysis(t.iloc[:5], "MD", model="random", ci="hksj", subgroup="g")
    assert one.subgroup_test.df == 2 and dict(one.subgroups)["z"].se == pytest.approx(0.4)


def test_applicability_subgroup_only_and_overall_only():
    """RevMan's Applicability: a SUBGROUP_ONLY row pools in its subgroup only, an OVERALL_ONLY row in the overall
    only; both are recorded warnings."""
    t = pd.DataFrame({"study": ["a", "b", "c", "d", "e"], "g": ["x", "x", "x", "y", "y"],
                      "giv_estimate": [0.1, 0.3, 0.9, -0.2, 0.0], "giv_se": [0.2, 0.3, 0.25, 0.2, 0.4],
                      "where": ["SUBGROUP_AND_OVERALL", "SUBGROUP_AND_OVERALL", "SUBGROUP_ONLY", "OVERALL_ONLY",
                                None]})
    with pytest.warns(MetaWarning, match="Applicability SUBGROUP_ONLY"):
        m = meta_analysis(t, "MD", subgroup="g", applicability="where")
    overall = meta_analysis(t.drop(index=2), "MD")
    assert m.overall.estimate == pytest.approx(overall.overall.estimate, rel=1e-12) and m.overall.k == 4
    sub = dict(m.subgroups)
    assert sub["x"].k == 3 and sub["y"].k == 1
    assert sub["y"].estimate == pytest.approx(0.0) and sub["x"].estimate == pytest.approx(
        meta_analysis(t.iloc[:3], "MD").overall.estimate, rel=1e-12)
    assert np.isnan(m.studies.set_index("study").loc["c", "weight"])
    assert sum("Applicability" in w for w in m.warnings) == 2
    with pytest.raises(InputError, match="field 'where' is 'BOTH'; allowed: SUBGROUP_AND_OVERALL"):
        meta_analysis(t.assign(where="BOTH"), "MD", applicability="where")

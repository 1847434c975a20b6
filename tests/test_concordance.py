"""helpers.stats.concordance: RevMan's published numbers are reproduced at their printed precision."""

from __future__ import annotations

import warnings

import pytest

from helpers.core import paths
from helpers.stats.concordance import (all_ok, concordance, judge, printed_tolerance, revman_precision,
                                       revman_tolerance)
from helpers.data.dataset import load_dataset


@pytest.fixture(scope="module")
def fleiss(shared_sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return concordance(load_dataset(shared_sample, review=None))


def test_printed_tolerance():
    assert printed_tolerance(0.896866) == pytest.approx(5e-7)
    assert printed_tolerance(39.67458) == pytest.approx(5e-6)
    assert printed_tolerance(6.0) == 0.5


def test_revman_tolerance_is_half_a_unit_in_the_sixth_decimal():
    """RevMan writes six decimals and drops trailing zeros: 39.67458 is 39.674580, 0 is 0.000000."""
    for value in (0.896866, 39.67458, 6.0, 0.0, 196.880319, 100.0):
        assert revman_tolerance(value) == pytest.approx(5e-7)
    assert revman_tolerance(1.5e-9) == pytest.approx(5e-11)  # more digits printed than six decimals


def test_six_significant_digits_where_revman_rounds_them():
    """Older exports round to six significant digits (28/28 vs 29/29: RR CI upper 1.06934 for 1.0693373)."""
    assert revman_tolerance(1.06934, "significant") == pytest.approx(5e-6)
    assert revman_tolerance(0.935159, "significant") == pytest.approx(5e-7)
    assert revman_tolerance(196.880, "significant") == pytest.approx(5e-4)
    assert revman_tolerance(0.0, "significant") == pytest.approx(5e-7)
    assert judge(1.06934, 1.0693373, precision="significant") == (True, "ok")
    assert judge(1.06934, 1.0693373) == (False, "mismatch")
    assert revman_precision([0.896866, 39.67458, 0.0]) == "decimals"  # 7 significant digits: six decimals
    assert revman_precision([1.06934, 0.935159, 1.0]) == "significant"


def test_shared_sample_precision_is_six_decimals(fleiss):
    assert fleiss.attrs["precision"] == "decimals"
    judged = fleiss[fleiss["status"] != "not published"]
    assert (judged["tol"] <= 5e-7).all()


def test_published_zero_i2_against_recomputed_39_is_a_mismatch(shared_sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset(shared_sample, review=None)
    pub = ds.published
    overall = (pub["level"] == "overall") & (pub["analysis_id"] == "1.1")
    pub.loc[overall, "i2"] = 0.0  # published "0"; recomputed I² is 39.67458
    table = concordance(ds)
    row = table.query("level == 'overall' and analysis_id == '1.1' and quantity == 'i2'").iloc[0]
    assert row["status"] == "mismatch" and row["within_tol"] == False  # noqa: E712
    assert row["tol"] == pytest.approx(5e-7)


def test_tau2_published_zero_recomputed_point_three_fails():
    """A package that prints Tau² = 0 where the data give 0.3 must not pass (it did at +-0.5 from the digits)."""
    assert judge(0.0, 0.3) == (False, "mismatch")
    assert judge(0.0, 4e-7) == (True, "ok") and judge(0.0, 6e-7) == (False, "mismatch")
    assert judge(1.0, 1.0000004) == (True, "ok") and judge(10.0, 10.4) == (False, "mismatch")
    assert judge(float("nan"), 0.3) == (None, "not published")
    assert judge(0.0, float("nan")) == (False, "not recomputed")


def test_nothing_published_is_not_judged(fleiss):
    blank = fleiss[fleiss["status"] == "not published"]
    assert len(blank) > 0 and blank["within_tol"].isna().all() and blank["tol"].isna().all()


def test_shared_sample_overall_reproduced(fleiss):
    o = fleiss.query("level == 'overall' and analysis_id == '1.1'").set_index("quantity")
    assert o.loc["estimate", "recomputed"] == pytest.approx(0.896866, abs=5e-7)
    assert o.loc["ci_low", "recomputed"] == pytest.approx(0.840514, abs=5e-7)
    assert o.loc["ci_high", "recomputed"] == pytest.approx(0.956995, abs=5e-7)
    assert o.loc["q", "recomputed"] == pytest.approx(9.946056, abs=5e-7) and o.loc["df", "recomputed"] == 6
    assert o.loc["i2", "recomputed"] == pytest.approx(39.67458, abs=5e-6)
    assert o.loc["z", "recomputed"] == pytest.approx(3.287633, abs=5e-7)
    assert (o.drop(index="tau2")["status"] == "ok").all() and o.loc["tau2", "status"] == "not published"


def test_shared_sample_every_study_row(fleiss):
    studies = fleiss.query("level == 'study' and analysis_id == '1.1'")
    assert studies["study"].nunique() == 7 and len(studies) == 28
    assert (studies["status"] == "ok").all()
    amis = studies[studies["study"] == "AMIS"].set_index("quantity")["recomputed"]
    assert amis["weight"] == pytest.approx(10.153491, abs=5e-7)
    assert amis["estimate"] == pytest.approx(1.132736, abs=5e-7)


def test_all_zero_analysis_is_not_published_not_mismatch(fleiss):
    a12 = fleiss[fleiss["analysis_id"] == "1.2"]
    assert len(a12) > 0 and (a12["status"] == "not published").all()
    assert all_ok(fleiss)


def test_mismatch_detected(shared_sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset(shared_sample, review=None)
    ds.published.loc[(ds.published["level"] == "overall") & (ds.published["analysis_id"] == "1.1"), "estimate"] = 0.8975
    table = concordance(ds)
    bad = table[table["status"] == "mismatch"]
    assert list(bad["quantity"]) == ["estimate"] and not all_ok(table)
    assert concordance(ds, tol=1e-3)["status"].isin(["ok", "not published"]).all()


def test_tol_checked():
    with pytest.raises(ValueError, match="tol must be None"):
        concordance(None, tol=-1)


def test_synthetic_package_round_trips_through_the_engine():
    """The committed synthetic package's estimates were computed by this engine (helpers.synthetic.publish): reading
    it back and recomputing gives the same numbers (a round trip of reader and engine, not a comparison with
    RevMan: test_concordance's Fleiss tests and test_real_concordance are those)."""
    table = concordance(load_dataset())
    assert all_ok(table), table[table["status"].isin(["mismatch", "not recomputed"])].head(20).to_string()
    assert (table["status"] == "ok").sum() > 1000


def test_oe_and_variance_rows_pooled_as_revman(tmp_path):
    """O-E and variance rows become the Peto log OR (O-E)/V with variance 1/V and reproduce the per-study and
    pooled values written in the fixture (metafor escalc "PETO"/rma.peto, tests/reference/oe_fixture.R)."""
    from tests.fixtures.packages.build import oe_package_files, write_folder

    ds = load_dataset(write_folder(tmp_path, oe_package_files()), review=None)
    rows = ds.analysis("1.1")
    assert rows["giv_estimate"].tolist() == pytest.approx([0.573171 / 0.729741, 0.0, 1.069124 / 2.395375])
    assert rows["giv_se"].tolist() == pytest.approx([0.729741**-0.5, 1.83908**-0.5, 2.395375**-0.5])
    table = concordance(ds)
    studies = table[table["level"] == "study"]
    assert len(studies) == 12 and (studies["status"] == "ok").all()
    overall = table[table["level"] == "overall"].set_index("quantity")
    assert overall.loc["estimate", "recomputed"] == pytest.approx(1.39212, abs=5e-7)
    assert overall.loc["q", "recomputed"] == pytest.approx(0.384057, abs=5e-7)
    assert overall.loc[["estimate", "ci_low", "ci_high", "q", "df", "q_p", "i2", "z", "p"], "status"].eq("ok").all()
    assert all_ok(table)


def _settings_dataset(tmp_path, **replace):
    from tests.fixtures.packages.build import settings_package_files, write_folder

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dataset(write_folder(tmp_path, settings_package_files(**replace)), review=None)


def test_package_settings_honoured(tmp_path):
    """REML + HKSJ + 90% (analysis 1.1) and 'Swap event and non-event' (1.2) reproduce metafor's values for
    those settings (tests/reference/settings_fixture.R); with DL/Wald/95% or unswapped counts they would not."""
    table = concordance(_settings_dataset(tmp_path))
    judged = table[table["status"] != "not published"]
    assert set(judged["analysis_id"]) == {"1.1", "1.2"} and (judged["status"] == "ok").all(), judged.to_string()
    a11 = table.query("level == 'overall' and analysis_id == '1.1'").set_index("quantity")
    assert a11.loc["tau2", "recomputed"] == pytest.approx(15.416996, abs=5e-7)
    assert a11.loc["ci_low", "recomputed"] == pytest.approx(-12.126923, abs=5e-7)
    assert (table["note"] == "").all()


def test_setting_not_honoured_is_a_visible_note(tmp_path):
    from tests.fixtures.packages.build import SETTINGS_SETTINGS

    ds = _settings_dataset(tmp_path, settings=SETTINGS_SETTINGS.replace(",REML,", ",Sidik-Jonkman,"))
    table = concordance(ds)
    notes = table.loc[table["analysis_id"] == "1.1", "note"]
    assert (notes == "heterogeneity estimator 'Sidik-Jonkman' not available (engine: DL, REML, PM); "
                     "recomputed with DL").all()
    assert (table.loc[table["analysis_id"] == "1.2", "note"] == "").all()


def test_check_kind_is_decided_by_the_dataset(fleiss, shared_sample):
    """Notebook 05 prints describe_check: a real package is a check against RevMan's own numbers, the synthetic
    package a self-consistency check (its published numbers were written by the engine)."""
    import dataclasses
    import json

    from helpers.stats.concordance import describe_check

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        real = load_dataset(shared_sample, review=None)
    text = describe_check(real, fleiss)
    assert "a check against RevMan's own numbers" in text and "self-consistency" not in text
    assert "sixth decimal" in text and real.label in text
    synthetic = describe_check(dataclasses.replace(real, synthetic=True))
    assert "self-consistency check, NOT a check against RevMan" in synthetic
    assert "a check against RevMan's own numbers" not in synthetic
    nb = json.loads((paths.PROJECT_ROOT / "notebooks" / "05_concordance.ipynb").read_text(encoding="utf-8"))
    code = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "describe_check(ds, table)" in code

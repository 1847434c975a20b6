"""helpers.stats.concordance: RevMan's published numbers are reproduced at their printed precision."""

from __future__ import annotations

import warnings

import pytest

from helpers.core import paths
from helpers.stats.concordance import all_ok, concordance, printed_tolerance
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


@pytest.mark.skipif(not any(paths.DATA_RAW.glob("synthetic-cd015373*")), reason="synthetic package not generated")
def test_default_synthetic_package_concordant():
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

"""helpers.stats.sensitivity: leave-one-out and cumulative meta-analysis. metafor agreement: test_reference_metafor.py."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from helpers.stats import sensitivity
from helpers.core.checks import InputError
from helpers.stats.pooling import pool

Y = np.array([-0.89, -1.59, -1.35, -1.44, -0.22, -0.79, -1.62, 0.01, -0.47, -1.37, -0.34, 0.45, -0.02])
V = np.array([0.33, 0.19, 0.42, 0.02, 0.05, 0.01, 0.22, 0.004, 0.06, 0.07, 0.01, 0.53, 0.07])
LABELS = [f"T{i}" for i in range(Y.size)]
FIELDS = ("estimate", "se", "ci_low", "ci_high", "tau2", "q", "i2", "p")


@pytest.mark.parametrize("kwargs", [{"tau2_method": "DL"}, {"tau2_method": "REML", "ci": "hksj"}, {"tau2_method": "FE"}])
def test_leave_one_out_row_i_is_the_pool_without_study_i(kwargs):
    frame = sensitivity.leave_one_out(Y, V, labels=LABELS, **kwargs).to_frame()
    assert list(frame["omitted"]) == LABELS and (frame["k"] == Y.size - 1).all()
    for i in (0, 5, 12):
        mask = np.arange(Y.size) != i
        ref = pool(Y[mask], V[mask], **kwargs)
        assert [frame.loc[i, f] for f in FIELDS] == pytest.approx([getattr(ref, f) for f in FIELDS], nan_ok=True)


def test_cumulative_follows_the_order_keys_and_ends_with_the_full_analysis():
    years = np.array([1948, 1949, 1960, 1977, 1973, 1953, 1973, 1980, 1968, 1961, 1974, 1969, 1976])
    res = sensitivity.cumulative(Y, V, order=years, labels=LABELS, tau2_method="DL")
    frame = res.to_frame()
    expected_order = [LABELS[i] for i in np.argsort(years, kind="stable")]
    assert list(frame["added"]) == expected_order and list(frame["k"]) == list(range(1, Y.size + 1))
    assert frame["added"].tolist().index("T4") < frame["added"].tolist().index("T6")  # tie 1973 keeps input order
    full = pool(Y, V, tau2_method="DL")
    assert frame.iloc[-1]["estimate"] == pytest.approx(full.estimate) and frame.iloc[-1]["tau2"] == pytest.approx(full.tau2)
    first = frame.iloc[0]
    assert first["estimate"] == pytest.approx(Y[0]) and np.isnan(first["q"])  # one study: no heterogeneity


def test_cumulative_default_is_input_order():
    frame = sensitivity.cumulative(Y, V, tau2_method="FE").to_frame()
    assert frame["added"].tolist() == [f"Study {i + 1}" for i in range(Y.size)]
    assert frame.loc[1, "estimate"] == pytest.approx(np.average(Y[:2], weights=1 / V[:2]))


def test_leave_one_out_needs_two_studies_and_two_is_fine():
    with pytest.raises(ValueError, match="at least 2 studies; got 1"):
        sensitivity.leave_one_out([0.1], [0.1])
    frame = sensitivity.leave_one_out([0.1, 0.5], [0.1, 0.2], tau2_method="FE").to_frame()
    assert frame["estimate"].tolist() == pytest.approx([0.5, 0.1])


def test_bad_input_names_row_field_and_study():
    with pytest.raises(InputError, match=r"'yi'.*row 2 \(study 'T2'\)"):
        sensitivity.leave_one_out(np.where(np.arange(13) == 2, np.nan, Y), V, labels=LABELS)
    with pytest.raises(InputError, match=r"one sort key per study \(13\)"):
        sensitivity.cumulative(Y, V, order=[1, 2, 3])
    with pytest.raises(InputError, match=r"row 4 \(study 'T4'\) has a non-finite sort key"):
        sensitivity.cumulative(Y, V, order=np.where(np.arange(13) == 4, np.nan, 1.0), labels=LABELS)
    with pytest.raises(ValueError, match="tau2_method must be one of FE, DL, REML, PM"):
        sensitivity.leave_one_out(Y, V, tau2_method="EB")


def test_warnings_of_each_fit_are_prefixed_recorded_and_warned():
    y = np.array([0.10, 0.12, 0.11, 0.90])
    v = np.array([0.04, 0.05, 0.06, 0.05])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = sensitivity.leave_one_out(y, v, labels=["a", "b", "c", "d"], tau2_method="DL")
    assert any(w.startswith("without d: ") and "truncated" in w for w in res.warnings)
    assert any(str(w.message).startswith("without d: ") for w in caught)


def test_result_prints():
    res = sensitivity.leave_one_out(Y, V, labels=LABELS, tau2_method="DL")
    assert "Leave-one-out meta-analysis of 13 studies" in res.summary() and "T12" in res.summary()
    assert "kind='leave_one_out'" in repr(res) and "<13 values>" in repr(res)

"""helpers.stats.batch.pool_batch: many analyses at once give pool's numbers (random analyses) and metafor's
(every rma entry of tests/reference/metafor_reference.json, all analyses of one method and test in one call)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from helpers.core.checks import CI_METHODS, TAU2_METHODS, InputError, MetaWarning
from helpers.stats.batch import BATCH_FIELDS, pool_batch
from helpers.stats.pooling import pool
from helpers.stats.presets import METAFOR, REVMAN
from test_reference_metafor import ONE_STUDY_NAN, REF, TOLERANCE, yi_vi

#: Closed forms agree to rounding. REML and PM: both sides stop within tol x tau² of the root (tau² to 1e-10
#: relative); what is derived from tau² (z, p, I², ...) then agrees to 1e-9.
CLOSED = (1e-12, 1e-14)
ITERATED_TAU2 = (1e-10, 1e-14)
ITERATED = (1e-9, 1e-13)


def random_analyses(n: int = 150, seed: int = 20261203):
    """Long arrays of ``n`` analyses of 1-14 studies with variances over four orders of magnitude, heterogeneity
    from none to large, plus edge cases: identical effects, a tiny and a huge variance, two studies."""
    rng = np.random.default_rng(seed)
    k = rng.integers(1, 15, n)
    group = np.repeat(np.arange(n), k)
    v = rng.uniform(0.005, 0.5, group.size) * np.exp(rng.normal(0, 1.2, n))[group]
    y = rng.normal(0, 0.5, n)[group] + rng.normal(0, np.sqrt(v + rng.choice([0, 0.02, 0.3], n)[group]))
    y = np.concatenate([y, [0.3, 0.3, 0.3], [1.0, -1.0], [0.1, 0.5, 0.2]])
    v = np.concatenate([v, [0.1, 0.2, 0.05], [0.01, 0.02], [1e-6, 1e3, 0.5]])
    group = np.concatenate([group, [n] * 3, [n + 1] * 2, [n + 2] * 3])
    return y, v, group


Y, V, GROUP = random_analyses()


def _assert_close(name, got, want, tol, where):
    got, want = np.asarray(got, float), np.asarray(want, float)
    bad = ~np.isclose(got, want, rtol=tol[0], atol=tol[1], equal_nan=True)
    assert not bad.any(), (f"{where} {name}: {int(bad.sum())} analyses differ, e.g. analysis {np.flatnonzero(bad)[0]}: "
                           f"batch {got[bad][0]!r}, pool {want[bad][0]!r}")


@pytest.mark.parametrize("method", TAU2_METHODS)
@pytest.mark.parametrize("ci", CI_METHODS)
def test_batch_equals_pool_on_random_analyses(method, ci):
    preset = REVMAN if ci == "z" else METAFOR  # the preset decides I² only: both are covered for every method
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetaWarning)
        batch = pool_batch(Y, V, GROUP, method, ci, preset)
        fits = [pool(Y[GROUP == g], V[GROUP == g], tau2_method=method, ci=ci, preset=preset) for g in batch.group]
    assert batch.group.tolist() == sorted(set(GROUP.tolist()))
    iterated = method in ("REML", "PM")
    for name in BATCH_FIELDS:
        want = [getattr(f, name) for f in fits]
        if name == "tau2_se" and method in ("FE", "PM"):
            assert np.isnan(getattr(batch, name)).all()
            continue
        if name in ("k", "df", "converged", "tau2_truncated", "iterations"):
            assert getattr(batch, name).tolist() == want, name
            continue
        tol = CLOSED if not iterated else ITERATED_TAU2 if name == "tau2" else ITERATED
        if name == "i2":  # percent
            tol = (tol[0], tol[1] * 100)
        _assert_close(name, getattr(batch, name), want, tol, f"{method}/{ci}")
    assert all(f.model == batch.model for f in fits)


def test_batch_equals_pool_when_reml_does_not_converge():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetaWarning)
        batch = pool_batch(Y, V, GROUP, "REML", maxiter=2)
        fits = [pool(Y[GROUP == g], V[GROUP == g], tau2_method="REML", maxiter=2) for g in batch.group]
    assert (~batch.converged).sum() > 10  # the case is exercised
    assert batch.converged.tolist() == [f.converged for f in fits]
    _assert_close("tau2", batch.tau2, [f.tau2 for f in fits], ITERATED_TAU2, "REML maxiter=2")
    assert any("did not converge in 2 iterations" in w for w in batch.warnings)


def _rma_entries():
    by_fit: dict[tuple[str, str], list[dict]] = {}
    for entry in REF["entries"]:
        family, name, measure, method, test = (entry["id"].split("/") + [None] * 4)[:5]
        if family == "rma":
            by_fit.setdefault((method, test), []).append(entry)
    return by_fit


RMA = _rma_entries()


@pytest.mark.parametrize("method,test", sorted(RMA), ids=lambda x: str(x))
def test_batch_matches_metafor_reference(method, test):
    """Every rma entry of the metafor 3.8.1 reference (bcg, hine1989, normand1999, hackshaw1998 and the edge
    cases) for one method and test, as one batch (the METAFOR preset: I² from tau²)."""
    entries = RMA[(method, test)]
    parts = [yi_vi(REF, *e["id"].split("/")[1:3]) for e in entries]
    group = np.concatenate([np.full(len(y), i) for i, (y, _) in enumerate(parts)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MetaWarning)
        batch = pool_batch(np.concatenate([y for y, _ in parts]), np.concatenate([v for _, v in parts]), group,
                           method, "hksj" if test == "knha" else "z", METAFOR)
    rtol, atol = TOLERANCE[method]
    checked = 0
    for i, entry in enumerate(entries):
        for name, expected in entry["result"].items():
            if name not in BATCH_FIELDS or expected is None or (name == "tau2_se" and method != "REML"):
                continue
            if batch.k[i] == 1 and name in ONE_STUDY_NAN:
                continue
            got = getattr(batch, name)[i]
            assert np.isclose(got, expected, rtol=rtol, atol=atol), f"{entry['id']} {name}: {got} vs {expected}"
            checked += 1
    assert checked >= 8 * len(entries)


def test_batch_records_and_warns_what_pool_warns():
    y = np.array([0.1, 0.1, 0.2, 0.5, -0.4, 0.3])
    v = np.array([0.1, 0.1, 0.1, 0.01, 0.01, 0.2])
    group = np.array(["b", "b", "b", "a", "a", "c"])  # b: no heterogeneity (DL < 0), c: one study
    with pytest.warns(MetaWarning) as caught:
        batch = pool_batch(y, v, group, "DL", "hksj")
    assert batch.group.tolist() == ["a", "b", "c"] and batch.k.tolist() == [2, 3, 1]
    assert batch.tau2_truncated.tolist() == [False, True, False]
    assert np.isnan(batch.tau2[2]) and batch.estimate[2] == 0.3
    one = pool([0.3], [0.2], tau2_method="DL", ci="hksj")  # one study under HKSJ: the Wald CI, as pool and metafor
    assert (batch.se[2], batch.ci_low[2], batch.ci_high[2], batch.p[2]) == pytest.approx(
        (one.se, one.ci_low, one.ci_high, one.p), rel=1e-12) and one.se == pytest.approx(0.2**0.5)
    assert batch.warnings == (
        "1 analyses with one study: heterogeneity (tau², Q, I²) is not estimable (c)",
        "1 analyses with a DerSimonian-Laird tau² estimate < 0 truncated to 0 (b)",
        "1 analyses with one study: HKSJ needs at least two, the Wald (z) CI and p (c)")
    assert [str(w.message) for w in caught] == list(batch.warnings)
    frame = batch.to_frame()
    assert frame.columns.tolist() == ["group", *BATCH_FIELDS] and len(frame) == 3
    assert "Random-effects models for 3 analyses (k = 1-3; tau² estimator: DL; CI: hksj)" in batch.summary()


@pytest.mark.parametrize("args,message", [
    (([0.1, 0.2], [0.1, 0.1], [1]), "group has 1 values for 2 rows of yi and vi: one analysis id per row"),
    (([0.1, 0.2], [0.1, 0.1], [1, None]), "group: analysis id missing in row 1"),
    (([0.1, 0.2], [0.1, -0.1], [1, 1]), "vi"),
])
def test_batch_input_errors_are_one_line(args, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")) as info:
        pool_batch(*args)
    assert "\n" not in str(info.value)


def test_batch_method_is_checked_against_the_constant():
    with pytest.raises(ValueError, match="FE, DL, REML, PM"):
        pool_batch([0.1], [0.1], [0], "ML")

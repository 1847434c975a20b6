"""The engine against metafor: every entry of tests/reference/metafor_reference.json (metafor 3.8.1).

(a) ``test_engine_matches_metafor`` compares the engine to the committed JSON (always runs).
(b) ``test_live_*`` rerun tests/reference/metafor_reference.R into a temporary folder (skipped without Rscript and
    metafor) and check that the output equals the committed JSON and that the engine agrees with it too.

Conventions: the METAFOR preset (escalc add = 1/2 to="only0", drop00 = FALSE; I² from tau²; normal-quantile
prediction interval); ``test="knha"`` is ``ci="hksj"`` and its ``predict`` is ``pi="knha"``; ``pi_t_*`` is the
Handbook's interval (Wald SE, t on k - 2 df) computed from metafor's fit for either test. Tolerances: see
``TOLERANCE``.
"""

from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.stats import bias
from helpers.stats import sensitivity
from helpers.stats.effects import effect_sizes
from helpers.stats.pooling import mantel_haenszel, peto, pool
from helpers.stats.presets import METAFOR

REFERENCE = Path(__file__).parent / "reference"
SCRIPT = REFERENCE / "metafor_reference.R"
FIXTURE = REFERENCE / "metafor_reference.json"

# (rtol, atol). Closed-form results agree to rounding. The reference runs metafor's iterations to convergence
# (control threshold/tol 1e-12; metafor's defaults stop REML at a tau² change of 1e-5 and PM / Q-profile at an
# absolute tol of 1.2e-4, which moved bcg RD PM tau² by 2 %); the engine stops REML at 1e-10.
EXACT = (1e-9, 1e-12)
ITERATIVE = (1e-7, 1e-10)
TOLERANCE = {"FE": EXACT, "DL": EXACT, "REML": ITERATIVE, "PM": ITERATIVE}
TAU2_CI = ITERATIVE
# Fields metafor reports where the engine, by contract, does not: SE of tau² (engine: REML only), and
# heterogeneity of a single study (metafor Q = 0, I² = 0, H² = 1; engine NaN, "heterogeneity NaN for one study").
ONE_STUDY_NAN = ("q", "q_p", "i2", "h2", "tau2")


def load(path: Path = FIXTURE) -> dict:
    return json.loads(path.read_text())


REF = load()


def table(doc: dict, name: str) -> pd.DataFrame:
    return pd.DataFrame(doc["datasets"][name]["table"])


def yi_vi(doc: dict, name: str, measure: str) -> tuple[np.ndarray, np.ndarray]:
    """The effects metafor analysed: escalc's output, or the dataset's own yi/vi for generic sets."""
    if measure == "GEN":
        t = table(doc, name)
        return t["yi"].to_numpy(float), t["vi"].to_numpy(float)
    res = next(e for e in doc["entries"] if e["id"] == f"escalc/{name}/{measure}")["result"]
    return np.asarray(res["yi"], float), np.asarray(res["vi"], float)


def arms(doc: dict, name: str):
    t = table(doc, name)
    return t["events_e"], t["n_e"], t["events_c"], t["n_c"]


POOL_FIELDS = ("estimate", "se", "ci_low", "ci_high", "z", "p", "tau2", "tau2_se", "q", "df", "q_p", "i2", "h2", "k",
               "pi_low", "pi_high", "tau2_ci_low", "tau2_ci_high", "weights")


def _fields(obj, names) -> dict:
    return {n: getattr(obj, n) for n in names if hasattr(obj, n)}


def engine(entry: dict, doc: dict) -> tuple[dict, tuple[float, float]]:
    """The engine's numbers for one reference entry, and the tolerance that applies."""
    family, name, *rest = entry["id"].split("/")
    res = entry["result"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # exclusions/truncations are tested where they are raised
        if family == "escalc":
            out = effect_sizes(table(doc, name), rest[0], preset=METAFOR)
            return {"yi": out["yi"].to_numpy(), "vi": out["vi"].to_numpy()}, EXACT
        if family == "rma":
            measure, method, test = rest
            y, v = yi_vi(doc, name, measure)
            ci = "hksj" if test == "knha" else "z"
            pi = "knha" if test == "knha" else "z"  # predict(fit): the knha fit's own interval (t, k - 1 df)
            fit = pool(y, v, tau2_method=method, ci=ci, pi=pi, preset=METAFOR)
            got = _fields(fit, POOL_FIELDS)
            if method != "REML":
                got.pop("tau2_se")
            handbook = pool(y, v, tau2_method=method, ci=ci, pi="t", preset=METAFOR)  # whatever the CI method
            got["pi_t_low"], got["pi_t_high"] = handbook.pi_low, handbook.pi_high
            return got, TOLERANCE[method]
        if family == "rma.mh":
            fit = mantel_haenszel(*arms(doc, name), rest[0], preset=METAFOR)
            return _fields(fit, POOL_FIELDS), EXACT
        if family == "rma.peto":
            return _fields(peto(*arms(doc, name), preset=METAFOR), POOL_FIELDS), EXACT
        y, v = yi_vi(doc, name, rest[0])
        if family == "regtest":
            return _fields(bias.egger(y, v), res), EXACT
        if family == "ranktest":
            return _fields(bias.begg(y, v), res), EXACT
        if family == "trimfill":
            method, estimator = rest[1], rest[2]
            tf = bias.trim_and_fill(y, v, estimator=estimator, tau2_method=method, preset=METAFOR)
            got = _fields(tf.pooled, POOL_FIELDS) | _fields(tf, ("k0", "se_k0", "side", "estimate"))
            got["filled_yi"], got["filled_vi"] = tf.filled["yi"].to_numpy(), tf.filled["vi"].to_numpy()
            for n in ("pi_low", "pi_high", "tau2_ci_low", "tau2_ci_high", "weights"):
                got.pop(n, None)
            return got, TOLERANCE[method]
        if family in ("leave1out", "cumul"):
            method = rest[1]
            if family == "leave1out":
                out = sensitivity.leave_one_out(y, v, tau2_method=method, pi="z", preset=METAFOR)
            else:
                out = sensitivity.cumulative(y, v, order=res["order"], tau2_method=method, pi="z", preset=METAFOR)
            frame = out.to_frame()
            got = {c: frame[c].to_numpy(float) for c in frame.columns if c in res and len(res[c])}
            if family == "cumul":  # the first cumulative fit is one study
                for c in (c for c in ONE_STUDY_NAN if c in got):
                    got[c][0] = res[c][0] if np.isnan(got[c][0]) else np.inf
            return got, TOLERANCE[method]
        if family == "subgroups":
            from helpers.stats.subgroups import subgroup_test

            test = subgroup_test(np.asarray(res["group_estimate"]), np.asarray(res["group_se"]))
            return _fields(test, ("q", "df", "p", "i2")) | {"q_p": test.p}, EXACT
    raise AssertionError(f"no engine mapping for reference entry {entry['id']!r}")


def compare(entry: dict, doc: dict) -> list[str]:
    """Messages for every field where the engine and metafor disagree beyond the tolerance."""
    got, (rtol, atol) = engine(entry, doc)
    problems = []
    for field, expected in entry["result"].items():
        if field not in got or isinstance(expected, str) and field != "side":
            continue
        actual = got[field]
        if field == "z" and expected is None and entry["result"].get("se") == 0:
            continue  # identical effects with knha: metafor's SE is exactly 0 and z = 0/0; the engine's SE is ~1e-17
        if field == "side":
            if actual != expected:
                problems.append(f"side: engine {actual!r}, metafor {expected!r}")
            continue
        e = np.atleast_1d(np.asarray(expected, dtype=float))
        a = np.atleast_1d(np.asarray(actual, dtype=float))
        tol = TAU2_CI if field.startswith("tau2_ci") else (rtol, atol)
        if e.shape != a.shape or not np.allclose(a, e, rtol=tol[0], atol=tol[1], equal_nan=True):
            problems.append(f"{field}: engine {a.tolist()}, metafor {e.tolist()}")
    return problems


def _id(entry: dict) -> str:
    return entry["id"]


def test_fixture_records_its_source():
    src = REF["source"]
    assert src["tool"] == "metafor" and src["metafor_version"] == "3.8.1"
    assert src["r_version"].startswith("R version 4.")
    assert all(e["call"] and e["dataset"] in REF["datasets"] for e in REF["entries"])
    families = {e["id"].split("/")[0] for e in REF["entries"]}
    assert families == {"escalc", "rma", "rma.mh", "rma.peto", "regtest", "ranktest", "trimfill", "leave1out",
                        "cumul", "subgroups"}


@pytest.mark.parametrize("entry", REF["entries"], ids=_id)
def test_engine_matches_metafor(entry):
    problems = compare(entry, REF)
    assert not problems, f"{entry['id']} ({entry['call']}):\n  " + "\n  ".join(problems)


def test_handbook_prediction_interval_ignores_the_ci_method():
    """Under HKSJ the Handbook's interval keeps the Wald SE (R meta < 5.2 used the HKSJ SE: a bug by its
    changelog); metafor's knha variant is the explicit ``pi="knha"``. BCG RR, REML: metafor numbers."""
    y, v = yi_vi(REF, "bcg", "RR")
    ref = {e["id"]: e["result"] for e in REF["entries"]}
    z, knha = ref["rma/bcg/RR/REML/z"], ref["rma/bcg/RR/REML/knha"]
    for ci in ("z", "hksj"):
        fit = pool(y, v, tau2_method="REML", ci=ci, pi="t")
        assert (fit.pi_low, fit.pi_high) == pytest.approx((z["pi_t_low"], z["pi_t_high"]), rel=1e-7)
    assert (knha["pi_t_low"], knha["pi_t_high"]) == pytest.approx((z["pi_t_low"], z["pi_t_high"]), rel=1e-9)
    fit = pool(y, v, tau2_method="REML", ci="hksj", pi="knha")
    assert (fit.pi_low, fit.pi_high) == pytest.approx((knha["pi_low"], knha["pi_high"]), rel=1e-7)
    with pytest.raises(ValueError, match="pi 'knha' .* needs ci 'hksj'"):
        pool(y, v, tau2_method="REML", ci="z", pi="knha")


def test_known_values_are_the_published_ones():
    """Spot checks a reader can verify in metafor's documentation (dat.bcg, REML; Viechtbauer 2010, JSS)."""
    y, v = yi_vi(REF, "bcg", "RR")
    fit = pool(y, v, tau2_method="REML", pi="z", preset=METAFOR)
    assert round(fit.estimate, 4) == -0.7145 and round(fit.tau2, 4) == 0.3132 and round(fit.i2, 2) == 92.22
    tf = bias.trim_and_fill(*yi_vi(REF, "hackshaw1998", "GEN"), tau2_method="FE")
    assert (tf.k0, tf.side) == (7, "left") and round(tf.estimate, 4) == 0.1556


@pytest.fixture(scope="module")
def live_reference(rscript, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("metafor") / "metafor_reference.json"
    proc = subprocess.run([rscript, str(SCRIPT), str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return load(out)


def _assert_same(a, b, where: str) -> None:
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{where}: keys differ"
        for key in a:
            _assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, (int, float)) and not isinstance(a, bool) and a is not None:
        assert isinstance(b, (int, float)) and np.isclose(a, b, rtol=1e-12, atol=0), f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.mark.live
def test_live_script_reproduces_committed_fixture(live_reference):
    fresh, committed = dict(live_reference), dict(REF)
    if fresh["source"]["metafor_version"] != committed["source"]["metafor_version"]:
        pytest.fail(f"metafor {fresh['source']['metafor_version']} differs from the fixture's "
                    f"{committed['source']['metafor_version']}: regenerate (tests/reference/README.md)")
    fresh.pop("source"), committed.pop("source")
    _assert_same(fresh, committed, "json")


@pytest.mark.live
def test_live_engine_matches_fresh_metafor(live_reference):
    failures = {e["id"]: compare(e, live_reference) for e in live_reference["entries"]}
    failures = {k: v for k, v in failures.items() if v}
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items())

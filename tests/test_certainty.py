"""The GRADE assist (helpers.stats.certainty, helpers.stats.precision, helpers.data.judgements, helpers.report.sof):
each rule against the worked examples and rule statements in tests/reference/grade_examples.json (source and quote
each), the optimal information size against base R (tests/reference/grade_ois.json), and on the real rows."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.data.judgements import DOMAINS, CertaintyInputs, JudgementsError, load_certainty_inputs
from helpers.report import sof
from helpers.stats import certainty, precision
from helpers.stats.meta import meta_analysis

REF = Path(__file__).parent / "reference"
EXAMPLES = json.loads((REF / "grade_examples.json").read_text(encoding="utf-8"))
OIS_R = json.loads((REF / "grade_ois.json").read_text(encoding="utf-8"))


def _dichotomous(events_e, n_e, events_c, n_c, measure="RR"):
    k = len(events_e)
    table = pd.DataFrame({"study": [f"S{i}" for i in range(k)], "events_e": events_e, "n_e": n_e,
                          "events_c": events_c, "n_c": n_c})
    return meta_analysis(table, measure, model="random")


def _continuous(mean_e, mean_c, sd=10.0, n=50):
    k = len(mean_e)
    table = pd.DataFrame({"study": [f"S{i}" for i in range(k)], "mean_e": mean_e, "sd_e": sd, "n_e": n,
                          "mean_c": mean_c, "sd_c": sd, "n_c": n})
    return meta_analysis(table, "MD", model="random")


# -- absolute effects (Handbook 11.5.5) -----------------------------------------------------------------------

@pytest.mark.parametrize("case", EXAMPLES["absolute_effects"]["cases"])
def test_per_1000_reproduces_the_handbook_example(case):
    risk = sof.corresponding_risk(case["control_risk"], case["ratio"], case["measure"])
    assert sof.per_1000(case["control_risk"]) == case["per_1000_control"]
    assert sof.per_1000(risk) == case["per_1000_intervention"]


def test_odds_ratio_corresponding_risk_by_the_handbook_formula():
    # OR 1 changes nothing; OR x ACR / (1 - ACR + OR x ACR) by hand for OR 2, ACR 0.2: 0.4 / 1.2
    assert sof.corresponding_risk(0.2, 1.0, "OR") == pytest.approx(0.2)
    assert sof.corresponding_risk(0.2, 2.0, "OR") == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="RR, OR"):
        sof.corresponding_risk(0.2, 2.0, "MD")


def test_sof_row_per_1000_from_the_control_arms():
    """Assumed control risk from the control arms (20/200 = 100 per 1,000); risk with the intervention
    ACR x RR at the estimate and both CI limits, checked by hand from the pooled RR."""
    ma = _dichotomous([20, 20], [100, 100], [10, 10], [100, 100])
    comparator, intervention, relative = sof._effects(ma)
    rr, lo, hi = (math.exp(x) for x in (ma.overall.estimate, ma.overall.ci_low, ma.overall.ci_high))
    assert rr == pytest.approx(2.0)
    assert comparator == "100 per 1,000"
    assert intervention == f"200 per 1,000 ({round(100 * lo)} to {round(100 * hi)})"
    assert relative == f"RR 2.00 ({lo:.2f} to {hi:.2f})"


def test_no_control_events_is_not_shown_as_zero_per_1000():
    ma = _dichotomous([3, 2], [20, 20], [0, 0], [20, 20])
    _, intervention, _ = sof._effects(ma)
    assert intervention == "not estimable (no control events)"


# -- optimal information size ---------------------------------------------------------------------------------

@pytest.mark.parametrize("case", OIS_R["dichotomous"])
def test_ois_dichotomous_equals_r_power_prop_test(case):
    assert precision.optimal_information_size(case["control_risk"], case["rrr"]) / 2 == pytest.approx(
        case["n_per_arm"], rel=1e-9)


@pytest.mark.parametrize("case", OIS_R["continuous"])
def test_ois_continuous_equals_r_power_t_test(case):
    assert precision.optimal_information_size_continuous(case["mid"], case["sd"]) / 2 == pytest.approx(
        case["n_per_arm"], rel=1e-8)


def test_ois_matches_grade_6_figure():
    ex = EXAMPLES["optimal_information_size"]
    ois = precision.optimal_information_size(ex["control_risk"], ex["rrr"])
    assert round(ois, -int(math.log10(ex["rounded_to"]))) == ex["approximately"]


def test_ois_refuses_a_control_risk_outside_0_1():
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        precision.optimal_information_size(0.0)


# -- imprecision ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", EXAMPLES["imprecision_ci"]["cases"])
def test_imprecision_reproduces_the_grade_6_stroke_example(case):
    ex = EXAMPLES["imprecision_ci"]
    rating, _ = precision.ci_rating(ex["measure"], ex["ci_low"], ex["ci_high"], (-case["threshold"], case["threshold"]))
    assert rating == case["rating"]


@pytest.mark.parametrize("case", EXAMPLES["imprecision_ratio"]["cases"])
def test_imprecision_ratio_thresholds_of_grade_6(case):
    t = precision.thresholds("RR", None)
    assert np.exp(t) == pytest.approx((0.75, 1.25))
    rating, words = precision.ci_rating("RR", math.log(case["ci_low"]), math.log(case["ci_high"]), t)
    assert rating == case["rating"]
    assert f"{case['ci_low']:.2f} to {case['ci_high']:.2f}" in words


def test_imprecision_without_a_mid_rates_against_the_null_and_says_so():
    rating, words = precision.ci_rating("MD", -3.0, 1.0, precision.thresholds("MD", None))
    assert rating == "serious" and "null only" in words
    assert precision.thresholds("SMD", None) == (-precision.SMD_MID, precision.SMD_MID)


def test_imprecision_below_the_ois_is_serious_even_with_a_clear_ci():
    """GRADE 6: precision is adequate only when the CI excludes no effect and the OIS is met."""
    ma = _dichotomous([30, 32], [60, 60], [10, 11], [60, 60])  # RR about 3, 240 participants, control risk 17.5%
    rating, reason = precision.imprecision_rating(ma, precision.thresholds("RR", None))
    ois = precision.optimal_information_size(21 / 120)
    assert rating == "serious"
    assert f"240 participants < OIS {math.ceil(ois)}" in reason


# -- risk of bias ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", EXAMPLES["risk_of_bias"]["cases"])
def test_risk_of_bias_majority_of_weight(case):
    names = [f"S{i}" for i in range(len(case["weights"]))]
    studies = pd.DataFrame({"study": names, "weight": case["weights"]})
    rob = pd.DataFrame({"study": names, "rob_overall": case["overall"]})
    got = certainty.risk_of_bias(studies, rob)
    assert got.rating == case["rating"] and not got.partial


def test_risk_of_bias_on_one_domain_is_partial_and_names_the_domains():
    studies = pd.DataFrame({"study": ["A", "B"], "weight": [70.0, 30.0]})
    rob = pd.DataFrame({"study": ["A", "B"], "rob_d1": ["Some concerns", "Low"], "rob_overall": [None, None]})
    got = certainty.risk_of_bias(studies, rob)
    assert got.rating == "serious" and got.partial
    assert "judged on D1 only (D2, D3, D4, D5, overall not in the data)" in got.reason
    assert "70% of the weight" in got.reason


def test_risk_of_bias_without_judgements_is_not_assessed():
    studies = pd.DataFrame({"study": ["A"], "weight": [100.0]})
    assert certainty.risk_of_bias(studies, pd.DataFrame({"study": ["A"]})).rating == certainty.NOT_ASSESSED


def test_the_assist_never_proposes_very_serious_risk_of_bias():
    studies = pd.DataFrame({"study": ["A", "B"], "weight": [50.0, 50.0]})
    rob = pd.DataFrame({"study": ["A", "B"], "rob_overall": ["High", "High"]})
    assert certainty.risk_of_bias(studies, rob).rating == "serious"


# -- inconsistency --------------------------------------------------------------------------------------------

def test_inconsistency_bands_are_the_handbooks():
    ex = EXAMPLES["inconsistency_bands"]
    assert (certainty.I2_SUBSTANTIAL, certainty.I2_CONSIDERABLE) == (ex["substantial_from"], ex["considerable_from"])


@pytest.mark.parametrize("case", EXAMPLES["inconsistency"]["cases"], ids=lambda c: c["rating"] + ": " + c["why"])
def test_inconsistency_rule(case):
    ma = _continuous(case["mean_e"], [0] * len(case["mean_e"]), sd=case["sd"])
    got = certainty.inconsistency(ma, (-10, 10))
    assert got.rating == case["rating"], got.reason
    assert f"I² {ma.overall.i2:.0f}%" in got.reason
    both = min(case["mean_e"]) < 0 < max(case["mean_e"])
    assert ("on both sides of the null" in got.reason) == both


# -- publication bias and overall -----------------------------------------------------------------------------

def test_publication_bias_not_assessable_below_10_studies():
    k = EXAMPLES["publication_bias"]["min_k"]
    assert certainty.MIN_K_PUBLICATION == k
    ma = _continuous([-10] * (k - 1), [0] * (k - 1))
    assert certainty.publication_bias(ma).rating == f"not assessable (k < {k})"


def test_publication_bias_with_10_studies_runs_egger():
    """Egger's P from helpers.stats.bias (checked against metafor there) decides at P < 0.10."""
    from helpers.stats.bias import egger

    rng = np.random.default_rng(3)
    n = rng.integers(20, 200, 10)
    table = pd.DataFrame({"study": [f"S{i}" for i in range(10)], "mean_e": rng.normal(-10, 3, 10) - 200 / n,
                          "sd_e": 10.0, "n_e": n, "mean_c": 0.0, "sd_c": 10.0, "n_c": n})
    ma = meta_analysis(table, "MD", model="random")
    p = egger(ma.studies["yi"], ma.studies["vi"]).p
    got = certainty.publication_bias(ma)
    assert got.rating == ("serious" if p < 0.10 else "no concern") and f"Egger's test P {p:.2g}" in got.reason


def test_publication_bias_with_studies_all_the_same_size_is_not_assessable():
    ma = _continuous([-10, -12, -9, -11, -8, -13, -10, -9, -12, -11], [0] * 10)
    assert certainty.publication_bias(ma).rating == "not assessable (all studies equally precise)"


@pytest.mark.parametrize("case", EXAMPLES["overall"]["cases"])
def test_overall_certainty_by_downgrading(case):
    domains = [certainty.DomainRating(d, case["downgrades"].get(d, "no concern"), "r") for d in DOMAINS]
    level, trace = certainty.overall_certainty(domains)
    assert level == case["certainty"]
    assert trace.startswith("start high (randomised trials)") and trace.count(" -") == len(case["downgrades"])


def test_authors_judgement_overrides_and_is_shown_as_theirs():
    ma = _continuous([-12, -11, -13], [0, 0, 0])
    studies = pd.DataFrame({"study": ["S0", "S1", "S2"], "rob_overall": ["Low"] * 3})
    inputs = CertaintyInputs(judgements={"1.1": {"indirectness": ("serious", "older population")}})
    got = certainty.assess(ma, "1.1", studies, inputs, mid=10)
    ind = got.domain("indirectness")
    assert (ind.rating, ind.by) == ("serious", "authors")
    assert "older population (the assist proposed: not assessed)" in ind.reason
    assert "indirectness serious (authors) -1" in got.trace
    assert got.label == certainty.ASSIST == "proposed by the assist from the data"


# -- judgements YAML ------------------------------------------------------------------------------------------

def test_judgements_yaml_errors_name_file_and_key(tmp_path):
    bad = tmp_path / "j.yaml"
    bad.write_text('source: x\njudgements:\n  "1.1":\n    indirectness: {rating: bad, reason: r}\n', encoding="utf-8")
    with pytest.raises(JudgementsError, match=r"j\.yaml: judgements\.1\.1\.indirectness\.rating: must be one of"):
        load_certainty_inputs(None, judgements=bad)
    bad.write_text('judgements:\n  "1.1":\n    indirectness: {rating: serious, reason: r}\n', encoding="utf-8")
    with pytest.raises(JudgementsError, match="source: say where the judgements come from"):
        load_certainty_inputs(None, judgements=bad)


def test_committed_review_inputs_give_the_mid_and_no_invented_judgement():
    inputs = load_certainty_inputs("CD015373")
    assert inputs.mid == {"pain_intensity": 10.0} and "IMMPACT" in inputs.mid_source
    assert inputs.judgements == {} and inputs.judgements_path == "data/reviews/judgements/cd015373.yaml"


# -- real rows ------------------------------------------------------------------------------------------------

def test_real_rows_every_analysis_with_two_studies_is_rated_with_reasons(real_rows):
    from helpers.data.dataset import load_dataset
    from helpers.report.generic import analyses
    from helpers.report.summary import not_estimable

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset(real_rows)
        inputs = load_certainty_inputs(ds.review)
        table = sof.certainty_table(sof.assess_all(ds, None, inputs), inputs)
    expected = [sel.analysis_id for sel in analyses(ds)
                if sel.rows["study"].nunique() >= 2 and not_estimable(sel) is None]
    assert list(table["analysis_id"]) == expected and len(expected) > 20
    for d in DOMAINS:
        assert table[d].notna().all() and (table[f"{d}_reason"].str.len() > 10).all(), d
    assert set(table["certainty"]) <= set(certainty.LEVELS)
    assert (table["label"] == certainty.ASSIST).all()
    row = table.set_index("analysis_id").loc["1.1"]  # the review's IV ketamine pain result, MD -15.79 (-32.09, 0.51)
    assert "95% CI -32.09 to 0.51" in row["imprecision_reason"] and row["threshold"] == "±10 (MID, review map)"
    assert "partial" in row["risk_of_bias"]


def test_unrated_domains_make_the_level_an_upper_bound():
    domains = [certainty.DomainRating(d, "no concern", "r") for d in DOMAINS[:-2]]
    domains += [certainty.DomainRating("imprecision", "serious", "r"),
                certainty.DomainRating("publication_bias", "not assessable (k < 10)", "r")]
    level, trace = certainty.overall_certainty(domains)
    assert level == "moderate" and trace.endswith("= moderate; at most moderate: publication bias not rated")

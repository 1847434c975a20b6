"""Adverse-event breakdown: the table holds the numbers drawn; RR checked against hand formulas; every row pooled
with the settings of its analysis (a row of several analyses with different settings says so)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from helpers.data import dataset as dataset_mod
from helpers.figures.adverse import ae_breakdown_plot
from helpers.stats import adverse

ARTIFACTS = Path(__file__).parent / "artifacts"


def _dataset():
    rows = []

    def add(study, outcome, drug, route, a, n1, c, n2, aid="2.1", data_type="dichotomous", comparator="placebo"):
        rows.append(dict(analysis_id=aid, study=study, outcome=outcome, drug=drug, route=route, data_type=data_type,
                         events_e=a, n_e=n1, events_c=c, n_c=n2, comparator=comparator, measure="RR", method="MH",
                         model="fixed"))

    add("K1", "psychotomimetic", "ketamine", "intravenous", 12, 40, 2, 40)
    add("K2", "psychotomimetic", "ketamine", "intravenous", 8, 30, 1, 30)
    add("K3", "psychotomimetic", "ketamine", "oral", 5, 25, 1, 25)
    add("K1", "nausea", "ketamine", "intravenous", 6, 40, 3, 40, aid="2.2")
    add("M1", "nausea", "memantine", "oral", 9, 60, 4, 58, aid="2.2")
    add("M2", "nausea", "memantine", "oral", 3, 20, 2, 21, aid="2.2")
    add("M1", "vomiting", "memantine", "oral", 2, 60, 1, 58, aid="2.3")
    add("M1", "vomiting", "memantine", "oral", 2, 60, 1, 58, aid="2.4")  # same study in a second analysis
    add("D1", "vomiting", "dextromethorphan", "oral", 0, 30, 0, 30, aid="2.3")  # double zero: RR not estimable
    add("U1", "psychotomimetic", "ketamine", "intravenous", 9, 20, 1, 20, aid="3.1", comparator="usual_care")
    add("X1", "pain_intensity", "ketamine", "oral", np.nan, 20, np.nan, 20, aid="1.1", data_type="continuous")
    return SimpleNamespace(rows=pd.DataFrame(rows), label="unit-test AE data", synthetic=True)


def test_table_numbers_and_notes():
    with pytest.warns(UserWarning) as record:
        breakdown = adverse.ae_breakdown(_dataset())
    table = breakdown.table
    assert list(table.columns) == list(adverse.TABLE_COLUMNS)
    assert list(table["outcome"].unique()) == ["psychotomimetic", "nausea", "vomiting"]  # schema.HARMS order
    assert list(table["family"].unique()) == ["Psychotomimetic family", "Nausea", "Vomiting"]
    iv = table[(table.outcome == "psychotomimetic") & (table.route == "intravenous")].iloc[0]
    assert iv["k"] == 2 and iv["prop_e"] == pytest.approx(20 / 70) and iv["prop_c"] == pytest.approx(3 / 70)
    # Mantel-Haenszel RR by hand: sum(a n_c / N) / sum(c n_e / N)
    rr_mh = (12 * 40 / 80 + 8 * 30 / 60) / (2 * 40 / 80 + 1 * 30 / 60)
    assert iv["estimate"] == pytest.approx(rr_mh, rel=1e-9)
    assert (iv["measure"], iv["method"], iv["model"]) == ("RR", "MH", "fixed")
    assert (iv["analyses"], iv["settings_from"]) == ("2.1", "2.1")
    assert iv["settings"] == "analysis 2.1's settings: RR, MH, fixed effect"
    oral = table[(table.outcome == "psychotomimetic") & (table.route == "oral")].iloc[0]
    se = math.sqrt(1 / 5 - 1 / 25 + 1 / 1 - 1 / 25)  # single study: Katz log-RR SE
    assert oral["estimate"] == pytest.approx(5.0)
    assert oral["ci_low"] == pytest.approx(math.exp(math.log(5) - 1.959963984540054 * se), rel=1e-6)
    vom = table[table.outcome == "vomiting"].set_index("drug")
    assert "first analysis used: M1 (analysis 2.4)" in vom.loc["memantine", "notes"]
    assert vom.loc["memantine", "k"] == 1 and vom.loc["memantine", "n_e"] == 60
    assert np.isnan(vom.loc["dextromethorphan", "estimate"]) and vom.loc["dextromethorphan", "notes"]
    messages = [str(w.message) for w in record]
    assert any("memantine / oral" in m and "first analysis used" in m for m in messages)
    assert any(m.startswith("vomiting / dextromethorphan / oral / placebo") for m in messages)
    assert list(breakdown.notes) == list(dict.fromkeys(messages))  # every warning kept in the result
    assert breakdown.tau2_method is None and breakdown.to_frame().equals(table)
    assert "U1" not in " ".join(table["studies"])  # usual-care comparison not pooled with placebo
    # the figure draws exactly the table's numbers
    fig = ae_breakdown_plot(breakdown)
    prop = [c for c in fig.findobj() if getattr(c, "get_gid", lambda: None)() == "prop_e:nausea"][0]
    nausea = table[table.outcome == "nausea"]
    np.testing.assert_allclose(prop.get_offsets()[:, 0], nausea["prop_e"])
    texts = [t.get_text() for t in fig.texts]
    assert any("SYNTHETIC DATA - not evidence" in t for t in texts)
    ARTIFACTS.mkdir(exist_ok=True)
    fig.savefig(ARTIFACTS / "adverse.png", dpi=200)


def test_families_strata_and_the_other_harms():
    data = _dataset()
    extra = pd.DataFrame([
        dict(analysis_id="1.13", study="H1", outcome="hallucinations", drug="ketamine", route="intravenous",
             data_type="dichotomous", events_e=4, n_e=20, events_c=1, n_c=20, comparator="placebo", measure="RR",
             method="MH", model="fixed"),
        # one trial entered as two strata in one analysis (as Dadabayev 2020): both rows count
        dict(analysis_id="1.19", study="S1", outcome="serious_adverse_event", drug="ketamine", route="intravenous",
             data_type="dichotomous", events_e=1, n_e=10, events_c=0, n_c=10, comparator="placebo", measure="RR",
             method="MH", model="fixed"),
        dict(analysis_id="1.19", study="S1", outcome="serious_adverse_event", drug="ketamine", route="intravenous",
             data_type="dichotomous", events_e=2, n_e=15, events_c=1, n_c=15, comparator="placebo", measure="RR",
             method="MH", model="fixed"),
    ])  # fmt: skip
    data.rows = pd.concat([data.rows, extra], ignore_index=True)
    with pytest.warns(UserWarning):
        breakdown = adverse.ae_breakdown(data)
    table = breakdown.table.set_index("outcome")
    assert table.loc["hallucinations", "family"] == "Psychotomimetic family"
    sae = table.loc["serious_adverse_event"]
    assert (sae["family"], sae["k"], sae["n_e"], sae["events_e"], sae["studies"]) == ("Other harms", 2, 25.0, 3.0, "S1")
    fig = ae_breakdown_plot(breakdown)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == ["Psychotomimetic family", "Nausea", "Vomiting", "Other harms"]
    rr = [c for c in fig.findobj() if getattr(c, "get_gid", lambda: None)() == "rr:hallucinations"][0]
    np.testing.assert_allclose(rr.get_offsets()[:, 0], [table.loc["hallucinations", "estimate"]])


def test_comparators_stay_apart():
    with pytest.warns(UserWarning):
        table = adverse.ae_breakdown(_dataset(), comparator=None).table
    iv = table[(table.outcome == "psychotomimetic") & (table.route == "intravenous")]
    assert sorted(iv["comparator"]) == ["placebo", "usual_care"] and iv.set_index("comparator").loc["usual_care", "k"] == 1


def test_synthetic_dataset_breakdown():
    try:
        data = dataset_mod.load_dataset()
    except FileNotFoundError as err:
        pytest.skip(str(err))
    breakdown = adverse.ae_breakdown(data)
    table, fig = breakdown.table, ae_breakdown_plot(breakdown)
    ket = table[(table.outcome == "psychotomimetic") & (table.drug == "ketamine")]
    rows = data.rows[(data.rows.outcome == "psychotomimetic") & (data.rows.drug == "ketamine")
                     & (data.rows.comparator == "placebo")]
    assert ket["k"].sum() == rows["study"].nunique() and ket["n_e"].sum() == rows["n_e"].sum()
    assert any("SYNTHETIC DATA - not evidence" in t.get_text() for t in fig.texts)
    ARTIFACTS.mkdir(exist_ok=True)
    fig.savefig(ARTIFACTS / "adverse_synthetic.png", dpi=200)


def test_argument_checks():
    with pytest.raises(ValueError, match="comparator must be one of placebo, usual_care, active, unknown; got 'sham'"):
        adverse.ae_breakdown(_dataset(), comparator="sham")
    with pytest.raises(ValueError, match="tau2_method must be one of FE, DL, REML, PM; got 'ML'"):
        adverse.ae_breakdown(_dataset(), tau2_method="ML")
    with pytest.raises(ValueError, match="ci_method must be one of z, hksj; got 't'"):
        adverse.ae_breakdown(_dataset(), ci_method="t")
    no_settings = SimpleNamespace(rows=_dataset().rows.drop(columns=["method"]), label="x", synthetic=False)
    with pytest.raises(ValueError, match=r"dataset.rows lacks column\(s\) method \(x\)"):
        adverse.ae_breakdown(no_settings)
    with pytest.raises(TypeError, match="Dataset"):
        adverse.ae_breakdown(pd.DataFrame())
    empty = SimpleNamespace(rows=_dataset().rows.iloc[-1:], label="x", synthetic=False)
    with pytest.raises(ValueError, match=r"no rows with a harm outcome \(any_adverse_event, .*, other_adverse_events\) and comparator 'placebo' in x"):
        adverse.ae_breakdown(empty)
    with pytest.raises(TypeError, match="AEBreakdown"):
        ae_breakdown_plot(_dataset().rows)


def _analysis_settings(data, aid, **settings):
    rows = data.rows.copy()
    for col, value in settings.items():
        rows.loc[rows["analysis_id"] == aid, col] = value
    data.rows = rows
    return data


def test_each_row_pooled_with_its_analysis_settings():
    from helpers.stats.meta import meta_analysis

    # psychotomimetic, ketamine IV: analysis 2.1 says IV random effects (K1, K2); nausea keeps MH fixed
    data = _analysis_settings(_dataset(), "2.1", method="IV", model="random")
    with pytest.warns(UserWarning):
        table = adverse.ae_breakdown(data).table
    iv = table[(table.outcome == "psychotomimetic") & (table.route == "intravenous")].iloc[0]
    rows = data.rows[data.rows["study"].isin(["K1", "K2"]) & (data.rows["outcome"] == "psychotomimetic")]
    own = meta_analysis(rows, "RR", method="IV", model="random")
    assert iv["estimate"] == pytest.approx(float(np.exp(own.overall.estimate)), rel=1e-12)
    assert iv["ci_high"] == pytest.approx(float(np.exp(own.overall.ci_high)), rel=1e-12)
    mh = (12 * 40 / 80 + 8 * 30 / 60) / (2 * 40 / 80 + 1 * 30 / 60)
    assert iv["estimate"] != pytest.approx(mh, rel=1e-3)  # not the Mantel-Haenszel RR any more
    assert iv["settings"] == "analysis 2.1's settings: RR, IV, random effects (DL), Wald CI"
    nausea = table[(table.outcome == "nausea") & (table.drug == "memantine")].iloc[0]
    assert (nausea["method"], nausea["model"], nausea["settings_from"]) == ("MH", "fixed", "2.2")
    # the figure names the setting most rows share and marks the others beside their k
    fig = ae_breakdown_plot(adverse.AEBreakdown(None, "z", "placebo", "x", True, table))
    assert {ax.get_xlabel() for ax in fig.axes[len(fig.axes) // 2:]} == {"RR (M-H, fixed)*, log"}
    marks = [t.get_text() for ax in fig.axes for t in ax.texts if "*" in t.get_text()]
    assert sorted(marks) == ["k=1*", "k=2*"]  # psychotomimetic, ketamine IV (2.1) and oral (2.1)
    (note,) = [t.get_text() for t in fig.texts if t.get_gid() == "settings-note"]
    assert note.splitlines()[-1] == "* pooled with its analysis' own settings: RR, IV, random (table: settings)"


def _row(table, outcome, drug):
    (row,) = [r for _, r in table.iterrows() if (r["outcome"], r["drug"]) == (outcome, drug)]
    return row


def test_a_row_of_analyses_with_different_settings_says_which_it_used():
    data = _dataset()
    extra = pd.DataFrame([dict(analysis_id="2.5", study=s, outcome="nausea", drug="memantine", route="oral",
                               data_type="dichotomous", events_e=a, n_e=30, events_c=c, n_c=30, comparator="placebo",
                               measure="OR", method="IV", model="random") for s, a, c in (("M3", 6, 2), ("M4", 5, 3))])
    data.rows = pd.concat([data.rows, extra], ignore_index=True)  # memantine nausea: 2.2 (M1, M2), 2.5 (M3, M4)
    data = _analysis_settings(data, "2.5", measure="OR")
    with pytest.warns(UserWarning, match=r"nausea / memantine / oral / placebo: rows of analyses with different "
                                         r"settings: 2.2 \(RR, MH, fixed effect; 2 row\(s\)\); 2.5 \(OR, IV, random "
                                         r"effects \(DL\), Wald CI; 2 row\(s\)\); pooled with the settings of "
                                         r"analysis 2.2, which contributes the most rows") as record:
        breakdown = adverse.ae_breakdown(data)
    row = _row(breakdown.table, "nausea", "memantine")
    assert (row["k"], row["analyses"], row["settings_from"], row["measure"]) == (4, "2.2, 2.5", "2.2", "RR")
    assert row["settings"] == "analyses 2.2, 2.5; analysis 2.2's settings: RR, MH, fixed effect"
    assert "rows of analyses with different settings" in row["notes"]
    a, n1 = np.array([9, 3, 6, 5]), np.array([60, 20, 30, 30])
    c, n2 = np.array([4, 2, 2, 3]), np.array([58, 21, 30, 30])
    assert row["estimate"] == pytest.approx((a * n2 / (n1 + n2)).sum() / (c * n1 / (n1 + n2)).sum(), rel=1e-12)
    assert any("different settings" in n for n in breakdown.notes) and len(record)
    assert "notes: " in breakdown.summary() and "different settings" in breakdown.summary()
    # one row more in the later analysis: its settings are used instead, and said so
    more = pd.DataFrame([dict(extra.iloc[0]) | dict(study="M5", measure="OR")])
    data.rows = pd.concat([data.rows, more], ignore_index=True)
    with pytest.warns(UserWarning, match="pooled with the settings of analysis 2.5, which contributes the most rows"):
        row = _row(adverse.ae_breakdown(data).table, "nausea", "memantine")
    assert (row["measure"], row["method"], row["model"], row["settings_from"]) == ("OR", "IV", "random", "2.5")


def test_an_estimator_replaces_method_and_model_and_says_so():
    from helpers.stats.meta import meta_analysis

    with pytest.warns(UserWarning):
        breakdown = adverse.ae_breakdown(_dataset(), tau2_method="REML", ci_method="hksj")
    table = breakdown.table
    iv = table[(table.outcome == "psychotomimetic") & (table.route == "intravenous")].iloc[0]
    rows = _dataset().rows.iloc[:2]
    own = meta_analysis(rows, "RR", method="IV", model="random", tau2_method="REML", ci="hksj")
    assert iv["estimate"] == pytest.approx(float(np.exp(own.overall.estimate)), rel=1e-12)
    assert iv["ci_low"] == pytest.approx(float(np.exp(own.overall.ci_low)), rel=1e-12)
    assert iv["settings_from"] == "estimator REML" and breakdown.tau2_method == "REML"
    assert iv["settings"] == ("estimator REML: RR, IV, random effects (REML), HKSJ CI "
                              "(analysis 2.1's own: RR, MH, fixed effect)")


def _own_analysis_agrees(ds):
    """Every breakdown row that holds all rows of one analysis (its drug, route and comparator) equals that
    analysis' own pooled result (helpers.report.summary.analyse, the package's settings, as its forest plot)."""
    from helpers.report import summary

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = adverse.ae_breakdown(ds, comparator=None).table
        checked = 0
        for r in table[np.isfinite(table["estimate"]) & ~table["analyses"].str.contains(",")].itertuples():
            sel = next(s for s in summary.select(ds, r.outcome, r.drug, r.route) if s.analysis_id == r.analyses)
            if len(sel.rows) != r.k or set(sel.rows["comparator"]) != {r.comparator}:
                continue
            ma = summary.analyse(sel)
            assert (r.measure, r.method, r.model) == (ma.measure, ma.method, ma.model)
            assert r.estimate == pytest.approx(float(ma.display(ma.overall.estimate)), rel=1e-12), r
            assert r.ci_low == pytest.approx(float(ma.display(ma.overall.ci_low)), rel=1e-12), r
            assert r.ci_high == pytest.approx(float(ma.display(ma.overall.ci_high)), rel=1e-12), r
            checked += 1
    return table, checked


def test_synthetic_default_rows_equal_their_analyses():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = dataset_mod.load_dataset()
    except FileNotFoundError as err:
        pytest.skip(str(err))
    table, checked = _own_analysis_agrees(data)
    assert checked >= 30
    iv = table.set_index(["outcome", "drug", "route", "comparator"]).loc[
        ("any_adverse_event", "ketamine", "intravenous", "placebo")]
    # the package's own published pooled result of analysis 1.9 (RR, IV, random effects: 3.29 [1.07, 10.07]);
    # Mantel-Haenszel random effects, which the breakdown used whatever the analysis, gave 3.29 [1.05, 10.29]
    pub = data.published[(data.published["level"] == "overall") & (data.published["analysis_id"] == "1.9")].iloc[0]
    assert (iv["analyses"], iv["settings_from"], iv["method"], iv["model"]) == ("1.9", "1.9", "IV", "random")
    assert f"{iv['estimate']:.2f} [{iv['ci_low']:.2f}, {iv['ci_high']:.2f}]" == \
        f"{pub['estimate']:.2f} [{pub['ci_low']:.2f}, {pub['ci_high']:.2f}]"


def test_real_review_iv_ketamine_adverse_events_as_published(real_rows):
    """CD015373.pub2 analysis 1.9 (IV ketamine vs placebo, adverse events total): the breakdown gives the review's
    published RR 3.26 (1.05 to 10.09), as the analysis and its forest plot; Mantel-Haenszel gave 3.43 [0.93, 12.62]."""
    from helpers.report import summary
    from helpers.stats.published import rounded

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        real = dataset_mod.load_dataset(real_rows)
        table, checked = _own_analysis_agrees(real)
        (sel,) = [s for s in summary.select(real, "any_adverse_event", "ketamine", "intravenous")
                  if s.analysis_id == "1.9"]
        ma = summary.analyse(sel)
    key = ("any_adverse_event", "ketamine", "intravenous", "placebo")
    (iv,) = [r for _, r in table.iterrows() if (r["outcome"], r["drug"], r["route"], r["comparator"]) == key]
    printed = tuple(rounded(iv[c], 2) for c in ("estimate", "ci_low", "ci_high"))
    assert printed == ("3.26", "1.05", "10.09")
    own = [float(ma.display(x)) for x in (ma.overall.estimate, ma.overall.ci_low, ma.overall.ci_high)]
    assert [iv["estimate"], iv["ci_low"], iv["ci_high"]] == pytest.approx(own, rel=1e-12)
    assert (iv["k"], iv["analyses"], iv["settings_from"]) == (4, "1.9", "1.9")
    assert iv["settings"] == "analysis 1.9's settings: RR, IV, random effects (DL), Wald CI"
    assert checked >= 35  # every other row that holds one analysis' rows equals that analysis too

"""Adverse-event breakdown: the table holds the numbers drawn; RR checked against hand formulas."""

from __future__ import annotations

import math
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
                         events_e=a, n_e=n1, events_c=c, n_c=n2, comparator=comparator))

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
        breakdown = adverse.ae_breakdown(_dataset(), model="fixed")
    table = breakdown.table
    assert list(table.columns) == list(adverse.TABLE_COLUMNS)
    assert list(table["outcome"].unique()) == ["psychotomimetic", "nausea", "vomiting"]  # schema.HARMS order
    assert list(table["family"].unique()) == ["Psychotomimetic family", "Nausea", "Vomiting"]
    iv = table[(table.outcome == "psychotomimetic") & (table.route == "intravenous")].iloc[0]
    assert iv["k"] == 2 and iv["prop_e"] == pytest.approx(20 / 70) and iv["prop_c"] == pytest.approx(3 / 70)
    # Mantel-Haenszel RR by hand: sum(a n_c / N) / sum(c n_e / N)
    rr_mh = (12 * 40 / 80 + 8 * 30 / 60) / (2 * 40 / 80 + 1 * 30 / 60)
    assert iv["rr"] == pytest.approx(rr_mh, rel=1e-9)
    oral = table[(table.outcome == "psychotomimetic") & (table.route == "oral")].iloc[0]
    se = math.sqrt(1 / 5 - 1 / 25 + 1 / 1 - 1 / 25)  # single study: Katz log-RR SE
    assert oral["rr"] == pytest.approx(5.0)
    assert oral["rr_ci_low"] == pytest.approx(math.exp(math.log(5) - 1.959963984540054 * se), rel=1e-6)
    vom = table[table.outcome == "vomiting"].set_index("drug")
    assert "first analysis used: M1 (analysis 2.4)" in vom.loc["memantine", "notes"]
    assert vom.loc["memantine", "k"] == 1 and vom.loc["memantine", "n_e"] == 60
    assert np.isnan(vom.loc["dextromethorphan", "rr"]) and vom.loc["dextromethorphan", "notes"]
    messages = [str(w.message) for w in record]
    assert any("memantine / oral" in m and "first analysis used" in m for m in messages)
    assert any(m.startswith("vomiting / dextromethorphan / oral / placebo") for m in messages)
    assert list(breakdown.notes) == list(dict.fromkeys(messages))  # every warning kept in the result
    assert breakdown.model == "fixed" and breakdown.to_frame().equals(table)
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
             data_type="dichotomous", events_e=4, n_e=20, events_c=1, n_c=20, comparator="placebo"),
        # one trial entered as two strata in one analysis (as Dadabayev 2020): both rows count
        dict(analysis_id="1.19", study="S1", outcome="serious_adverse_event", drug="ketamine", route="intravenous",
             data_type="dichotomous", events_e=1, n_e=10, events_c=0, n_c=10, comparator="placebo"),
        dict(analysis_id="1.19", study="S1", outcome="serious_adverse_event", drug="ketamine", route="intravenous",
             data_type="dichotomous", events_e=2, n_e=15, events_c=1, n_c=15, comparator="placebo"),
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
    np.testing.assert_allclose(rr.get_offsets()[:, 0], [table.loc["hallucinations", "rr"]])


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
    with pytest.raises(ValueError, match="model must be one of fixed, random; got 'mixed'"):
        adverse.ae_breakdown(_dataset(), model="mixed")
    with pytest.raises(TypeError, match="Dataset"):
        adverse.ae_breakdown(pd.DataFrame())
    empty = SimpleNamespace(rows=_dataset().rows.iloc[-1:], label="x", synthetic=False)
    with pytest.raises(ValueError, match=r"no rows with a harm outcome \(any_adverse_event, .*, other_adverse_events\) and comparator 'placebo' in x"):
        adverse.ae_breakdown(empty)
    with pytest.raises(TypeError, match="AEBreakdown"):
        ae_breakdown_plot(_dataset().rows)

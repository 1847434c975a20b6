"""The explorer's certainty line (helpers.explore.grade): the GRADE assist on the current selection, labelled as
proposed by the assist from the data, updated when the selection changes."""

from __future__ import annotations

import pytest

from helpers.explore import app as ui
from helpers.explore import selection as ex
from helpers.explore.grade import certainty_line
from helpers.stats.certainty import ASSIST, assess
from test_explore import make_dataset


@pytest.fixture(scope="module")
def ds():
    return make_dataset()


def _select(**kw):
    base = dict(drug="ketamine", comparator="placebo", route="intravenous", outcome="any_adverse_event",
                timepoint="any")
    return ex.Selection(**{**base, **kw})


def test_line_is_the_assists_rating_of_the_selection(ds):
    result = ex.explore(ds, _select(tau2_method="DL"))
    cert = assess(result.meta, "selection", ds.studies)
    line = certainty_line(ds, result)
    assert line.startswith(f"Certainty of the evidence, {ASSIST}: {cert.symbols} {cert.certainty}")
    for d in cert.domains:
        if d.downgrade:
            assert d.reason in line


def test_line_follows_the_selection(ds):
    lines = {}
    for rob in ("all", "low_only"):
        result = ex.explore(ds, _select(tau2_method="DL", rob=rob))
        cert = assess(result.meta, "selection", ds.studies)
        lines[rob] = certainty_line(ds, result)
        assert f"{cert.symbols} {cert.certainty}" in lines[rob]
        assert all(d.reason in lines[rob] for d in cert.domains if d.downgrade)
        assert ("risk of bias (" in lines[rob]) == bool(cert.domain("risk_of_bias").downgrade)
    assert lines["all"] != lines["low_only"]


def test_one_study_is_not_rated(ds):
    one = ex.explore(ds, _select(drug="ketamine", route="topical", outcome="pain_intensity", timepoint="short",
                                 tau2_method="DL"))
    assert one.k == 1 and certainty_line(ds, one) == ("Certainty of the evidence: not rated (fewer than 2 studies "
                                                      "in this selection).")


def test_app_shows_the_line_and_updates_it(ds):
    app = ui.ExplorerApp(ds)
    first = app.reading.value
    assert ASSIST in first
    app.leave_out.value = "Aronson 1948"
    assert ASSIST in app.reading.value and app.reading.value != first
    assert certainty_line(ds, app.result).split(":")[0] in app.reading.value


def test_partial_risk_of_bias_is_said(ds):
    import dataclasses

    d1_only = ds.studies.rename(columns={"rob_overall": "rob_d1"})
    result = ex.explore(ds, _select(tau2_method="DL"))
    line = certainty_line(dataclasses.replace(ds, studies=d1_only), result)
    assert line.endswith("Rated on partial judgements: risk of bias.")

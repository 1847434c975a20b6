"""Explorer logic without a browser: selection, filters, engine hand-off, plain-language reading, widgets.

Reference numbers: the BCG trials (metadat::dat.bcg) relabelled as one ketamine adverse-event comparison, with
metafor 3.8.1's results from tests/reference/metafor_reference.json; continuous numbers are checked against an
independent inverse-variance computation written out in the test.
"""

from __future__ import annotations

import json
import math
import sys
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from helpers.core.checks import MetaWarning
from helpers.data.tidy import Dataset
from helpers.explore import app as ui
from helpers.explore import reading as rd
from helpers.explore import selection as ex
from helpers.explore import server as srv

REFERENCE = json.loads((Path(__file__).parent / "reference" / "metafor_reference.json").read_text())
BCG = REFERENCE["datasets"]["bcg"]["table"]
ROB_CYCLE = ("Low", "Some concerns", "High")  # study i gets ROB_CYCLE[i % 3]: 5 Low, 4 Some concerns, 4 High


def metafor(entry_id: str) -> dict:
    return next(e["result"] for e in REFERENCE["entries"] if e["id"] == entry_id)


#: Each test comparison's analysis, as the review numbers them: (drug, route, outcome, timepoint) -> id.
ANALYSES = {("ketamine", "intravenous", "any_adverse_event", "any"): "1.1",
            ("memantine", "oral", "pain_intensity", "short"): "2.1", ("memantine", "oral", "pain_intensity", "long"): "2.2",
            ("ketamine", "topical", "pain_intensity", "short"): "3.1"}


def _row(study, drug, route, outcome, timepoint, **data):
    dtype = "dichotomous" if "events_e" in data else "continuous"
    aid = ANALYSES[(drug, route, outcome, timepoint)]
    group, number = (float(x) for x in aid.split("."))
    return {"analysis_id": aid, "analysis_group": group, "analysis_number": number, "analysis_name": outcome,
            "comparison": f"{drug} ({route}) versus placebo", "outcome": outcome, "timepoint": timepoint, "subgroup": None,
            "study": study, "drug": drug, "route": route, "comparator": "placebo", "design": "parallel",
            "data_type": dtype, "measure": "RR" if dtype == "dichotomous" else "MD",
            "method": "IV", "model": "random", **data}


PAIN = [  # memantine, oral, pain intensity (0-100), short term: (study, mean_e, sd_e, n_e, mean_c, sd_c, n_c)
    ("Pain A 2001", 40.0, 20.0, 30, 55.0, 22.0, 30),
    ("Pain B 2005", 48.0, 18.0, 50, 54.0, 19.0, 45),
    ("Pain C 2010", 50.0, 25.0, 20, 58.0, 24.0, 22),
]


def make_dataset(synthetic: bool = True) -> Dataset:
    rows = [_row(s, "ketamine", "intravenous", "any_adverse_event", "any", events_e=a, n_e=n1, events_c=c, n_c=n2)
            for s, a, n1, c, n2 in zip(BCG["study"], BCG["events_e"], BCG["n_e"], BCG["events_c"], BCG["n_c"])]
    rows += [_row(s, "memantine", "oral", "pain_intensity", "short", mean_e=me, sd_e=se, n_e=ne, mean_c=mc,
                  sd_c=sc, n_c=nc) for s, me, se, ne, mc, sc, nc in PAIN]
    rows.append(_row("Pain A 2001", "memantine", "oral", "pain_intensity", "long", mean_e=45.0, sd_e=20.0,
                     n_e=30, mean_c=50.0, sd_c=21.0, n_c=30))
    rows.append(_row("Topical 2012", "ketamine", "topical", "pain_intensity", "short", mean_e=45.0, sd_e=20.0,
                     n_e=30, mean_c=50.0, sd_c=21.0, n_c=30))
    tidy = pd.DataFrame(rows)
    labels = list(BCG["study"]) + [p[0] for p in PAIN] + ["Topical 2012"]
    studies = pd.DataFrame({"study": labels, "rob_overall": [ROB_CYCLE[i % 3] for i in range(len(labels))]})
    label = "SYNTHETIC DATA - not evidence" if synthetic else "test package (BCG relabelled)"
    return Dataset(label=label, synthetic=synthetic, review=None, source="<test>", sha256="0" * 64, rows=tidy,
                   studies=studies, published=pd.DataFrame())


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return make_dataset()


def sel(**kw) -> ex.Selection:
    base = dict(drug="ketamine", comparator="placebo", route="intravenous", outcome="any_adverse_event",
                timepoint="any")
    return ex.Selection(**{**base, **kw})


def fixed_effect(yi, vi) -> float:
    w = 1 / np.asarray(vi)
    return float(np.sum(w * np.asarray(yi)) / np.sum(w))


def bcg_log_rr(keep):
    a, n1, c, n2 = (np.array(BCG[k], dtype=float)[keep] for k in ("events_e", "n_e", "events_c", "n_c"))
    return np.log(a / n1) - np.log(c / n2), 1 / a - 1 / n1 + 1 / c - 1 / n2


# ------------------------------------------------------------------------------------------ selection


def test_selection_checks_arguments_against_the_engine_constants():
    with pytest.raises(ValueError, match="tau2_method must be one of FE, DL, REML, PM; got 'ML'"):
        sel(tau2_method="ML")
    with pytest.raises(ValueError, match="ci must be one of z, hksj"):
        sel(ci="t")
    with pytest.raises(ValueError, match="rob must be one of all, exclude_high, low_only, d1_low"):
        sel(rob="some")


# ------------------------------------------------------------------------------------------ rows


def test_select_rows_rob_filters_and_leave_out(ds):
    assert len(ex.select_rows(ds, sel()).rows) == 13
    high = ex.select_rows(ds, sel(rob="exclude_high"))
    assert len(high.rows) == 9 and len(high.excluded) == 4
    assert all(reason == "high risk of bias" for _, reason in high.excluded)
    low = ex.select_rows(ds, sel(rob="low_only"))
    assert list(low.rows["study"]) == [BCG["study"][i] for i in (0, 3, 6, 9, 12)]
    out = ex.select_rows(ds, sel(leave_out="TPT Madras 1980"))
    assert len(out.rows) == 12 and out.excluded == (("TPT Madras 1980", "left out (sensitivity analysis)"),)
    assert len(out.candidates) == 13


def test_leave_out_must_be_a_selected_study(ds):
    with pytest.raises(ValueError, match="leave_out must be one of the selected studies .*Aronson 1948"):
        ex.select_rows(ds, sel(leave_out="Pain A 2001"))


def test_a_rob_filter_the_data_cannot_support_is_not_applied_and_says_why(ds):
    studies = ds.studies.copy()
    studies.loc[0, "rob_overall"] = None
    holey = Dataset(**{**ds.__dict__, "studies": studies})
    with pytest.warns(MetaWarning, match="cannot be applied: 1 of 13 studies have no overall risk-of-bias judgement"):
        picked = ex.select_rows(holey, sel(rob="exclude_high"))
    assert picked.excluded == () and len(picked.rows) == 13  # every study kept, not judged on a missing judgement
    assert "(Aronson 1948)" in picked.rob_note and "OVERALL for 12 of 13" in picked.rob_note
    with pytest.warns(MetaWarning, match="cannot be applied"):
        result = ex.explore(holey, sel(rob="low_only", tau2_method="FE"))
    assert result.k == 13 and result.rob_note == picked.rob_note.replace("exclude high risk of bias", "low risk of bias only")


# ------------------------------------------------------------------------------------------ engine hand-off


@pytest.mark.parametrize("tau2_method, ci, ref", [
    ("FE", "z", "rma/bcg/RR/FE/z"), ("DL", "z", "rma/bcg/RR/DL/z"), ("REML", "z", "rma/bcg/RR/REML/z"),
    ("PM", "z", "rma/bcg/RR/PM/z"), ("REML", "hksj", "rma/bcg/RR/REML/knha"), ("PM", "hksj", "rma/bcg/RR/PM/knha"),
])
def test_explore_matches_metafor_for_each_estimator(ds, tau2_method, ci, ref):
    result = ex.explore(ds, sel(tau2_method=tau2_method, ci=ci))
    expected = metafor(ref)
    assert result.k == 13 and result.measure == "RR"
    for name in ("estimate", "ci_low", "ci_high", "tau2"):
        assert getattr(result, name) == pytest.approx(expected[name], abs=1e-6), name


def test_leave_one_out_changes_k_and_the_estimate(ds):
    result = ex.explore(ds, sel(tau2_method="FE", leave_out="TPT Madras 1980"))
    assert result.k == 12
    keep = np.array([s != "TPT Madras 1980" for s in BCG["study"]])
    assert result.estimate == pytest.approx(fixed_effect(*bcg_log_rr(keep)), abs=1e-12)
    assert result.estimate == pytest.approx(-0.7427, abs=5e-5)  # vs -0.4303 with all 13


def test_rob_filter_changes_the_analysis(ds):
    result = ex.explore(ds, sel(tau2_method="FE", rob="exclude_high"))
    keep = np.array([ROB_CYCLE[i % 3] != "High" for i in range(13)])
    assert result.k == 9 and result.n_high_rob == 0
    assert result.estimate == pytest.approx(fixed_effect(*bcg_log_rr(keep)), abs=1e-12)
    assert ex.explore(ds, sel(tau2_method="FE")).n_high_rob == 4


def test_continuous_pain_pools_mean_differences(ds):
    result = ex.explore(ds, sel(drug="memantine", route="oral", outcome="pain_intensity", timepoint="short",
                                tau2_method="FE"))
    yi = [me - mc for _, me, _, _, mc, _, _ in PAIN]
    vi = [se**2 / ne + sc**2 / nc for _, _, se, ne, _, sc, nc in PAIN]
    assert result.measure == "MD" and result.k == 3 and result.participants == 197
    assert result.estimate == pytest.approx(fixed_effect(yi, vi), abs=1e-12)
    assert result.estimate == pytest.approx(-8.83, abs=0.005)


def test_empty_selection_says_why(ds):
    with pytest.raises(ValueError, match="no study left .*Topical 2012: risk of bias Some concerns, not Low"):
        ex.explore(ds, sel(route="topical", outcome="pain_intensity", timepoint="short", rob="low_only"))


# ------------------------------------------------------------------------------------------ reading


def test_per_100_absolute_effects():
    assert rd.per_100("RR", math.log(2.0), 0.10) == pytest.approx(10.0)
    assert rd.per_100("RR", math.log(0.5), 0.30) == pytest.approx(-15.0)
    assert rd.per_100("OR", math.log(3.0), 0.25) == pytest.approx(100 * (0.75 / 1.5 - 0.25))  # 25 more
    assert rd.per_100("RD", -0.04, float("nan")) == pytest.approx(-4.0)
    with pytest.raises(ValueError, match="measure must be one of RR, OR, RD"):
        rd.per_100("MD", 1.0, 0.1)


def reading(**kw) -> str:
    base = dict(measure="MD", estimate=-12.0, ci_low=-16.0, ci_high=-8.0, k=12, i2=10.0, outcome="pain_intensity",
                drug="ketamine", route="intravenous", timepoint="short", tau2_method="REML", ci="z", participants=600)
    return rd.plain_language(**{**base, **kw})


def test_reading_states_direction_and_size_against_the_mid():
    big = reading()
    assert "MD -12.00 [-16.00, -8.00] (95% CI in brackets)" in big
    assert "pain was 12.0 points lower with ketamine" in big
    assert "at least the minimal important difference of 10 points on a 0-100 pain scale" in big
    assert "None of these simple checks raised a caveat" in big
    small = reading(estimate=-4.0, ci_low=-9.0, ci_high=1.0)
    assert "4.0 points lower" in small and "less than the minimal important difference" in small
    assert "the 95% CI includes no effect" in small
    worse = reading(estimate=3.0, ci_low=1.0, ci_high=5.0)
    assert "3.0 points higher with ketamine" in worse
    spans = reading(estimate=-9.0, ci_low=-14.0, ci_high=-4.0)
    assert "includes both unimportant and important effects" in spans


def test_reading_gives_events_per_100_for_risk_ratios():
    text = reading(measure="RR", estimate=math.log(2.0), ci_low=math.log(1.5), ci_high=math.log(2.5),
                   outcome="nausea", control_risk=0.10)
    assert "RR 2.00 [1.50, 2.50]" in text
    assert "about 10 more people per 100 with ketamine (95% CI +5 to +15 per 100), if 10 in 100" in text
    none = reading(measure="RR", estimate=1.5, ci_low=-1.0, ci_high=4.0, outcome="nausea", control_risk=0.0)
    assert "No control-group events, so nausea cannot be expressed per 100 people from the RR." in none


def test_reading_lists_every_caveat():
    text = reading(k=3, i2=70.0, estimate=-4.0, ci_low=-9.0, ci_high=1.0, n_high_rob=2, synthetic=True)
    for phrase in ("SYNTHETIC DATA", "only 3 studies", "includes no effect", "substantial heterogeneity (I² = 70%)",
                   "2 of 3 studies at high risk of bias"):
        assert phrase in text, phrase
    assert "a single study" in reading(k=1)


def test_explore_text_for_bcg_says_fewer_events(ds):
    result = ex.explore(ds, sel(tau2_method="REML"))
    risk = sum(BCG["events_c"]) / sum(BCG["n_c"])
    assert result.control_risk == pytest.approx(risk)
    assert "RR 0.49 [0.34, 0.70]" in result.text
    fewer = -rd.per_100("RR", result.estimate, risk)
    assert fewer == pytest.approx(0.46, abs=0.005)  # 0.91 per 100 control risk x (1 - 0.49)
    assert "about 0.46 fewer people per 100" in result.text and "if 0.91 in 100 have it" in result.text
    assert "SYNTHETIC DATA" in result.text and "4 of 13 studies at high risk of bias" in result.text
    assert "substantial heterogeneity" in result.text


def test_synthetic_banner_only_for_synthetic_data():
    assert "SYNTHETIC DATA - not evidence" in ui.banner_html(make_dataset(True))
    assert "nmda-synthetic" in ui.banner_html(make_dataset(True))
    plain = ui.banner_html(make_dataset(False))
    assert "SYNTHETIC" not in plain and "test package" in plain
    assert "SYNTHETIC" not in ex.explore(make_dataset(False), sel()).text


def test_banner_folds_the_dataset_notes_instead_of_console_warnings():
    import dataclasses

    assert "nmda-data-notes" not in ui.banner_html(make_dataset(True))  # no notes, no fold
    noted = dataclasses.replace(make_dataset(True), warnings=("analysis 2.1: study <X> has 2 rows", "route unknown"))
    banner = ui.banner_html(noted)
    assert "<summary>2 data notes" in banner and "<li>analysis 2.1: study &lt;X&gt; has 2 rows</li>" in banner


def test_result_has_repr_frame_and_summary(ds):
    result = ex.explore(ds, sel())
    assert "estimate=-0.7145" in repr(result) and "meta" not in repr(result)
    assert result.to_frame().loc[0, "k"] == 13
    assert "text" in result.summary()


# ------------------------------------------------------------------------------------------ widgets


def test_app_opens_at_the_first_analysis_with_the_review_settings(ds):
    app = ui.ExplorerApp(ds)
    assert app.analysis.value == "1.1" and app.selection().tau2_method is None and app.estimator.value == "DL"
    review = ex.explore(ds, sel(tau2_method="DL"))  # the test rows' own settings: IV, random effects, DL, Wald
    assert app.result.estimate == pytest.approx(review.estimate, abs=1e-12)
    assert app.result.estimate == pytest.approx(metafor("rma/bcg/RR/DL/z")["estimate"], abs=1e-6)
    assert f'data-estimate="{app.result.estimate!r}"' in app.pooled.value and 'data-drug="ketamine"' in app.pooled.value
    assert "This is the review's analysis 1.1" in " ".join(app.explanation)
    assert [v for _, v in app.comparison.options] == ["1", "2", "3"]
    first_forest = app.forest.value
    app.estimator.value = "FE"
    assert app.result.estimate == pytest.approx(metafor("rma/bcg/RR/FE/z")["estimate"], abs=1e-9)
    assert "fixed-effect model assumes" in " ".join(app.explanation) and app.forest.value != first_forest


def test_app_follows_the_review_structure(ds):
    app = ui.ExplorerApp(ds)
    app.drug.value = "memantine"
    assert [v for _, v in app.comparison.options] == ["2"] and app.analysis.value == "2.1"  # k = 3, poolable
    assert [v for _, v in app.analysis.options] == ["2.1", "2.2"] and app.result.measure == "MD"
    assert [v for _, v in app.leave_out.options] == ["", *(s for s in app.result.meta.studies["study"])]
    app.analysis.value = "2.2"
    assert app.result.k == 1 and "No funnel plot: 1 study" in app.funnel.value
    app.drug.value = ""  # all drugs
    assert [v for _, v in app.comparison.options] == ["1", "2", "3"]


def test_app_leave_out_and_error_display(ds):
    app = ui.ExplorerApp(ds)
    app.leave_out.value = "Aronson 1948"
    assert app.result.k == 12 and "left out" in app.status.value and "Without Aronson 1948" in " ".join(app.explanation)
    app.comparison.value = "3"
    assert app.result.k == 1
    app.rob.value = "low_only"
    assert app.result is None and "Cannot pool this choice" in app.status.value and app.forest.value == ""


def test_app_back_to_the_review_settings(ds):
    app = ui.ExplorerApp(ds)
    app.estimator.value, app.ci.value, app.rob.value = "REML", "hksj", "exclude_high"
    assert "HKSJ interval uses a t distribution with k - 1 = 8 df" in " ".join(app.explanation)  # 9 studies left
    app.reset.click()
    assert (app.estimator.value, app.ci.value, app.rob.value) == ("DL", "z", "all")
    assert "This is the review's analysis 1.1" in " ".join(app.explanation)


def test_adverse_events_tab_draws_the_breakdown_when_shown(ds):
    app = ui.ExplorerApp(ds)
    assert app.adverse.value == ""  # not drawn until the tab is opened
    app.tabs.selected_index = 1
    assert "Adverse events of ketamine (intravenous) versus placebo" in app.adverse.value
    assert "data:image/png;base64," in app.adverse.value
    app.drug.value = "memantine"  # no harm outcome in these rows
    assert "No adverse-event analysis for memantine (oral) versus placebo" in app.adverse.value


# ------------------------------------------------------------------------------------------ server


def test_server_command_and_port():
    port = srv.free_port()
    assert 1024 <= port < 65536
    cmd = srv.voila_command(port)
    assert cmd[:3] == [sys.executable, "-m", "voila"] and f"--port={port}" in cmd and "--Voila.ip=127.0.0.1" in cmd
    assert cmd[3].endswith("notebooks/explore.ipynb") and "--preheat_kernel=True" in cmd
    with pytest.raises(ValueError, match="port must be in 1..65535"):
        srv.voila_command(70000)


def test_kernel_env_writes_a_spec_for_this_python(tmp_path, monkeypatch):
    """A kernel Jupyter does not know gets a spec running this Python, put first on JUPYTER_PATH; once Jupyter
    finds it there (a real lookup, no patched function), the environment is left as it was."""
    name = f"nmda-test-{uuid.uuid4().hex[:12]}"  # registered nowhere
    env = srv.kernel_env({"PATH": "/bin"}, kernel_dir=tmp_path, name=name)
    spec = json.loads((tmp_path / "kernels" / name / "kernel.json").read_text())
    assert spec["argv"][0] == sys.executable
    assert env["JUPYTER_PATH"] == str(tmp_path)
    monkeypatch.setenv("JUPYTER_PATH", env["JUPYTER_PATH"])  # Jupyter now finds the spec just written
    assert srv.kernel_env({"PATH": "/bin"}, kernel_dir=tmp_path / "unused", name=name) == {"PATH": "/bin"}
    assert not (tmp_path / "unused").exists()


def test_notebook_uses_the_project_kernel_and_stays_thin():
    nb = json.loads(srv.NOTEBOOK.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == srv.KERNEL_NAME
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert sum(len("".join(c["source"]).splitlines()) for c in code) <= 10
    assert all(not c.get("outputs") for c in code)  # no stored outputs: the notebook is rebuilt live


def test_fixed_effect_locks_the_wald_ci(ds):
    app = ui.ExplorerApp(ds)
    assert app.result.ci_method == "z"
    app.ci.value = "hksj"
    assert app.result.ci_method == "hksj"
    app.estimator.value = "FE"
    assert app.ci.value == "z" and app.ci.disabled and app.result.tau2_method == "FE"
    app.estimator.value = "DL"
    assert not app.ci.disabled

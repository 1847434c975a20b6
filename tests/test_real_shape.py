"""The real review's rows (CD015373.pub2, ../shared fixture) through the review map, the figure plan, the AE
breakdown and the explorer: the 13 comparisons show, the published IV ketamine results come out."""

import warnings

import pytest

from helpers.data.dataset import load_dataset
from helpers.explore import selection as S
from helpers.explore.app import ExplorerApp
from helpers.report import plan
from helpers.stats.adverse import ae_breakdown

COMPARISONS = {
    "1": ("ketamine", "intravenous", "placebo"), "2": ("ketamine", "intravenous", "active"),
    "3": ("ketamine", "oral", "placebo"), "4": ("ketamine", "oral", "active"), "5": ("ketamine", "topical", "placebo"),
    "6": ("ketamine", "topical", "active"), "7": ("memantine", "oral", "placebo"),
    "8": ("dextromethorphan", "oral", "placebo"), "9": ("amantadine", "unknown", "unknown"),
    "10": ("magnesium", "intravenous", "placebo"), "11": ("magnesium", "oral", "placebo"),
    "12": ("magnesium", "oral", "active"), "13": ("magnesium", "intramuscular", "placebo"),
}  # fmt: skip


@pytest.fixture(scope="module")
def real(real_rows):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dataset(real_rows)


def test_every_row_mapped_to_its_comparison(real):
    # the pinned file (same SHA-256 as the review map's source) is named by the map's label in every figure/table
    assert real.label == "Cochrane CD015373.pub2 data rows (Ferraro 2025), mahmood789/Pairwise70 @5230e0e"
    rows = real.rows
    group = rows["analysis_id"].str.split(".").str[0]
    got = {g: tuple(sorted(set(map(tuple, r[["drug", "route", "comparator"]].to_numpy())))) for g, r in rows.groupby(group)}
    assert got == {g: (v,) for g, v in COMPARISONS.items()}
    assert rows[["outcome", "timepoint"]].notna().all().all()  # every analysis has an outcome and a time point
    assert sorted(rows.loc[rows["subgroup"].notna(), "subgroup_by"].unique()) == ["condition", "dose", "duration"]
    unknown = [w for w in real.warnings if "'unknown'" in w]
    assert unknown == [
        "review map cd015373.yaml: route is 'unknown' (no source found; not guessed) for analysis 9.1, 9.2, 9.3",
        "review map cd015373.yaml: comparator is 'unknown' (no source found; not guessed) for analysis 9.1, 9.2, 9.3",
    ]


def test_forest_plots_cover_the_13_comparisons_and_the_reanalysis(real):
    specs, skipped = [], []
    for drug in plan.drugs_present(real):
        fp = plan.forest_plan(real, plan.EFFICACY_OUTCOMES + plan.AE_OUTCOMES, drug)
        specs += fp.figures
        skipped += fp.skipped
    groups = {s.selected.analysis_id.split(".")[0] for s in specs if not s.reanalysis}
    assert groups == set(COMPARISONS)
    # every analysis of the review gets its plot, except those RevMan marks "Not estimable" (no events anywhere)
    not_estimable = [stem for stem, why in skipped if "not estimable" in why]
    assert len([s for s in specs if not s.reanalysis]) + len(not_estimable) == 95
    assert "forest_ketamine_active_intravenous_serious_adverse_event" in not_estimable  # 2.2: 0 events in both arms
    by_stem = {s.stem: s for s in specs}
    sub = by_stem["forest_ketamine_placebo_intravenous_pain_intensity_short_by_condition"]
    assert sub.selected.analysis_id == "1.5" and sub.title.startswith("Comparison 1: Ketamine (intravenous) versus placebo\n")
    re = by_stem["forest_reanalysis_ketamine_placebo_by_route_pain_intensity_short"]
    assert re.title.startswith("Re-analysis not in the review: Ketamine versus placebo, routes as subgroups "
                               "(analyses 1.4, 3.2, 5.2)")
    ma = plan_analyse(re)
    iv = dict(ma.subgroups)["Intravenous"]
    assert (round(iv.estimate, 2), round(iv.ci_low, 2), round(iv.ci_high, 2)) == (-5.32, -15.51, 4.87)  # analysis 1.4
    assert sorted(name for name, _ in ma.subgroups) == ["Intravenous", "Oral", "Topical"] and ma.overall.k == 8


def plan_analyse(spec):
    from helpers.report import summary

    return summary.analyse(spec.selected, subgroups=spec.subgroups)


def test_ae_breakdown_shows_every_comparison(real):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = ae_breakdown(real, comparator=None).table
    assert set(map(tuple, table[["drug", "route", "comparator"]].to_numpy())) == set(COMPARISONS.values())
    psy = table[table["family"] == "Psychotomimetic family"]
    assert sorted(psy["outcome"].unique()) == ["dissociative", "hallucinations", "psychotomimetic"]
    sae = table[(table["outcome"] == "serious_adverse_event") & (table["comparator"] == "active")].iloc[0]
    assert (sae["k"], sae["studies"]) == (2, "Dadabayev 2020")  # both PTSD strata count


def test_explorer_offers_the_review_comparisons_and_reproduces_the_published_results(real):
    for args, headline in ((("pain_intensity", "immediate"), "MD -15.79 [-32.09, 0.51]"),
                           (("pain_intensity", "short"), "MD -5.32 [-15.51, 4.87]"),
                           (("any_adverse_event", "any"), "RR 3.26 [1.05, 10.09]")):
        sel = S.Selection("ketamine", "placebo", "intravenous", *args, tau2_method="DL")
        assert S.explore(real, sel).headline == headline  # subgroup-analysis copies (1.5, 1.6, ...) not pooled twice
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        app = ExplorerApp(real)
    assert len(app.comparison.options) == len(COMPARISONS)  # the review's 13 comparison groups, in number order
    assert app.comparison.options[0] == ("1  Ketamine (intravenous) versus placebo", "1")

"""The review map data/reviews/cd015373.yaml on the real review's analysis names and on the synthetic package."""

import pandas as pd
import pytest

from helpers.core.checks import DataWarning
from helpers.data.reviewmap import COMPARISON_FIELDS, ReviewMapError, apply_review_map, load_review_map
from helpers.data.schema import UNKNOWN

# (analysis id, analysis name, subgroup) as in CD015373.pub2's data rows (a sample of each kind of name)
REAL = [
    ("1.1", "Pain intensity (continuous), immediate-term follow-up", None),
    ("1.2", "Pain intensity (continuous), immediate-term follow-up: duration of administration subgroup analysis", "≤1 day"),
    ("1.3", "Pain intensity (≥ 50% reduction), immediate-term follow-up", None),
    ("1.10", "Adverse events (total): clinical condition subgroup analysis", "Complex regional pain syndrome"),
    ("1.12", "Psychotomimetic effects", None),
    ("1.13", "Hallucinations", None),
    ("1.19", "Serious adverse events", None),
    ("1.21", "Health-related quality of life (Fibromyalgia Impact Questionnaire), immediate-term follow-up", None),
    ("1.23", "Tolerability", None),
    ("2.1", "Ketamine versus ketorolac: pain intensity (continuous), immediate-term follow up", None),
    ("2.3", "Ketamine versus morphine: adverse events (total)", None),
    ("3.3", "Dissociative symptoms", None),
    ("4.2", "Ketamine (oral) versus methadone: hallucinations", None),
    ("6.3", "Ketamine (topical) versus amitriptyline: pain intensity (≥30% response), short-term follow-up", None),
    ("7.5", "Pain intensity (continuous), short-term follow-up: medicine dose subgroup analysis", "Above standard dose"),
    ("7.17", "Other adverse events", None),
    ("7.18", "Disability (Pain Disability Index), short-term follow up", None),
    ("7.20", "Depressive symptoms (Hospital Anxiety and Depression Scale depression subscale), medium-term follow up", None),
    ("9.1", "Pain intensity (continuous), immediate-term follow-up", None),
    ("12.1", "Magnesium (oral) versus aspirin: tolerability", None),
    ("13.1", "Tolerability", None),
]
COLS = ["comparison", "drug", "route", "comparator", "outcome", "timepoint", "subgroup_by"]
EXPECTED = {
    "1.1": ("Ketamine (intravenous) versus placebo", "ketamine", "intravenous", "placebo", "pain_intensity", "immediate", None),
    "1.2": ("Ketamine (intravenous) versus placebo", "ketamine", "intravenous", "placebo", "pain_intensity", "immediate", "duration"),
    "1.3": ("Ketamine (intravenous) versus placebo", "ketamine", "intravenous", "placebo", "responders_50", "immediate", None),
    # the subgroup is a condition: never read as the pain outcome
    "1.10": ("Ketamine (intravenous) versus placebo", "ketamine", "intravenous", "placebo", "any_adverse_event", "any", "condition"),
    "1.12": ("Ketamine (intravenous) versus placebo", "ketamine", "intravenous", "placebo", "psychotomimetic", "any", None),
    "1.13": ("Ketamine (intravenous) versus placebo", "ketamine", "intravenous", "placebo", "hallucinations", "any", None),
    "1.19": ("Ketamine (intravenous) versus placebo", "ketamine", "intravenous", "placebo", "serious_adverse_event", "any", None),
    "1.21": ("Ketamine (intravenous) versus placebo", "ketamine", "intravenous", "placebo", "quality_of_life", "immediate", None),
    "1.23": ("Ketamine (intravenous) versus placebo", "ketamine", "intravenous", "placebo", "tolerability", "any", None),
    "2.1": ("Ketamine (intravenous) versus other medicines (ketorolac; morphine)", "ketamine", "intravenous", "active", "pain_intensity", "immediate", None),
    "2.3": ("Ketamine (intravenous) versus other medicines (ketorolac; morphine)", "ketamine", "intravenous", "active", "any_adverse_event", "any", None),
    "3.3": ("Ketamine (oral) versus placebo", "ketamine", "oral", "placebo", "dissociative", "any", None),
    "4.2": ("Ketamine (oral) versus methadone", "ketamine", "oral", "active", "hallucinations", "any", None),
    "6.3": ("Ketamine (topical) versus amitriptyline", "ketamine", "topical", "active", "responders_30", "short", None),
    "7.5": ("Memantine (oral) versus placebo", "memantine", "oral", "placebo", "pain_intensity", "short", "dose"),
    "7.17": ("Memantine (oral) versus placebo", "memantine", "oral", "placebo", "other_adverse_events", "any", None),
    "7.18": ("Memantine (oral) versus placebo", "memantine", "oral", "placebo", "disability", "short", None),
    "7.20": ("Memantine (oral) versus placebo", "memantine", "oral", "placebo", "depressive_symptoms", "medium", None),
    "9.1": ("Amantadine (route unknown) versus comparator unknown", "amantadine", UNKNOWN, UNKNOWN, "pain_intensity", "immediate", None),
    "12.1": ("Magnesium (oral) versus aspirin", "magnesium", "oral", "active", "tolerability", "any", None),
    "13.1": ("Magnesium (intramuscular) versus placebo", "magnesium", "intramuscular", "placebo", "tolerability", "any", None),
}


def _real_rows():
    return pd.DataFrame(REAL, columns=["analysis_id", "analysis_name", "subgroup"])


def test_real_analysis_names_map_to_the_review_vocabulary():
    with pytest.warns(DataWarning, match="route is 'unknown'"):
        out, notes = apply_review_map(_real_rows(), load_review_map())
    got = {a: tuple(None if pd.isna(v) else v for v in r) for a, r in zip(out["analysis_id"], out[COLS].itertuples(index=False))}
    assert got == EXPECTED
    # group 9 (Kleinboehl 2006): route and comparator have no source; kept unknown and reported, never guessed
    assert notes == (
        "review map cd015373.yaml: route is 'unknown' (no source found; not guessed) for analysis 9.1",
        "review map cd015373.yaml: comparator is 'unknown' (no source found; not guessed) for analysis 9.1",
    )


def test_the_13_comparison_groups_and_their_names_agree_with_the_keywords():
    rmap = load_review_map()
    groups = dict(rmap.comparisons)
    assert list(groups) == [str(g) for g in range(1, 14)]
    assert [(g["drug"], g["route"], g["comparator"]) for g in groups.values()] == [
        ("ketamine", "intravenous", "placebo"), ("ketamine", "intravenous", "active"), ("ketamine", "oral", "placebo"),
        ("ketamine", "oral", "active"), ("ketamine", "topical", "placebo"), ("ketamine", "topical", "active"),
        ("memantine", "oral", "placebo"), ("dextromethorphan", "oral", "placebo"), ("amantadine", UNKNOWN, UNKNOWN),
        ("magnesium", "intravenous", "placebo"), ("magnesium", "oral", "placebo"), ("magnesium", "oral", "active"),
        ("magnesium", "intramuscular", "placebo"),
    ]
    for group in groups.values():  # a package that names its comparisons this way maps the same (no analysis id)
        by_keywords = rmap.classify(comparison=group["name"], analysis_name="Nausea")
        assert {k: by_keywords[k] for k in COMPARISON_FIELDS} == {k: group[k] for k in COMPARISON_FIELDS}


def test_a_named_comparison_is_kept_and_mapped_by_keywords():
    rmap = load_review_map()  # the earlier synthetic package names group 2 "Ketamine versus usual care"
    got = rmap.classify("Ketamine versus usual care", "Pain intensity (0-100): short term", "Intravenous", "2.1")
    assert (got["comparator"], got["route"], got["subgroup_by"], "comparison" in got) == ("usual_care", "intravenous", "route", False)


def test_unmapped_subgroup_dimension_is_reported_but_not_for_rows_without_subgroups():
    rows = pd.DataFrame([("1.1", "Pain intensity (continuous), immediate-term follow-up", None),
                         ("1.2", "Pain intensity (continuous), immediate-term follow-up: sex subgroup analysis", "Women")],
                        columns=["analysis_id", "analysis_name", "subgroup"])  # fmt: skip
    with pytest.warns(UserWarning):
        out, notes = apply_review_map(rows, load_review_map())
    assert notes == ("review map cd015373.yaml: subgroup_by not mapped (left NaN) for analysis 1.2 [Women]",)
    assert out["subgroup_by"].isna().all()


@pytest.mark.parametrize(
    "entry, message",
    [
        ("{name: X, drug: ketamine, route: oral}", r"comparisons\.1: missing comparator \(write 'unknown' where no source"),
        ("{name: X, drug: ketamine, route: nasal, comparator: placebo}", r"comparisons\.1\.route: 'nasal' is not one of"),
        ("{name: '', drug: ketamine, route: oral, comparator: placebo}", r"comparisons\.1\.name: expected the comparison"),
    ],
)
def test_malformed_comparisons_name_file_and_key(tmp_path, entry, message):
    path = tmp_path / "x.yaml"
    path.write_text(f"review: X\nrules: {{}}\ncomparisons:\n  1: {entry}\n", encoding="utf-8")
    with pytest.raises(ReviewMapError, match=message):
        load_review_map(path)

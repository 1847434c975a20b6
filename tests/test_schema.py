"""helpers.data.schema: every problem of a tidy table reported at once, naming file, row and column."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from helpers.core import paths
from helpers.data.dataset import load_dataset
from helpers.data.schema import DATA_DICTIONARY, ROWS_COLUMNS, ValidationError, render_dictionary, validate_rows


def _rows() -> pd.DataFrame:
    base = dict(analysis_id="1.1", analysis_group=1.0, analysis_number=1.0, analysis_name="Nausea",
                comparison="Ketamine versus placebo", outcome="nausea", timepoint="any", subgroup=None,
                study="A 2001", year=2001.0, drug="ketamine", route="oral", comparator="placebo", condition=None,
                design="parallel", data_type="dichotomous", measure="RR", method="MH", model="random",
                events_e=5.0, n_e=20.0, events_c=2.0, n_c=20.0, mean_e=None, sd_e=None, mean_c=None, sd_c=None,
                giv_estimate=None, giv_se=None)  # fmt: skip
    cont = {**base, "study": "B 2003", "data_type": "continuous", "measure": "MD", "method": "IV",
            "events_e": None, "events_c": None, "mean_e": 40.0, "sd_e": 12.0, "mean_c": 48.0, "sd_c": 11.0}
    df = pd.DataFrame([base, cont], index=pd.Index([2, 3], name="line"))
    return df.reindex(columns=list(ROWS_COLUMNS))


def test_valid_rows_pass():
    out = validate_rows(_rows(), source="rows.csv")
    assert out["n_e"].dtype == float and len(out) == 2


def test_all_problems_reported_at_once():
    df = _rows()
    df.loc[2, "events_e"] = 25.0  # events > n
    df.loc[3, "sd_c"] = -1.0  # negative SD
    df.loc[3, "drug"] = "ketamin"  # not in the vocabulary
    df.loc[2, "n_c"] = None  # required for dichotomous
    with pytest.raises(ValidationError) as err:
        validate_rows(df, source="pkg/data-rows.csv")
    msg = str(err.value)
    assert "pkg/data-rows.csv: 4 problem(s) found" in msg
    assert "pkg/data-rows.csv: row 2 (study 'A 2001'): column events_e: events (25) exceed n_e (20)" in msg
    assert "pkg/data-rows.csv: row 3 (study 'B 2003'): column sd_c: SD must be > 0; got -1" in msg
    assert "row 3 (study 'B 2003'): column drug: 'ketamin': must be one of ketamine, memantine, dextromethorphan" in msg
    assert "pkg/data-rows.csv: row 2 (study 'A 2001'): column n_c: required for dichotomous rows but missing" in msg
    assert [p[:2] for p in err.value.problems] == [(2, "events_e"), (2, "n_c"), (3, "drug"), (3, "sd_c")]


def test_non_numeric_and_missing_column():
    df = _rows().drop(columns=["model"])
    df["n_e"] = df["n_e"].astype(object)
    df.loc[3, "n_e"] = "thirty"
    with pytest.raises(ValidationError) as err:
        validate_rows(df, source="rows.csv")
    msg = str(err.value)
    assert "rows.csv: row -: column model: required column is missing" in msg
    assert "rows.csv: row 3 (study 'B 2003'): column n_e: 'thirty' is not of type" in msg


def test_measure_must_fit_data_type():
    df = _rows()
    df.loc[3, "measure"] = "RR"
    df.loc[2, "method"] = "Peto"
    with pytest.raises(ValidationError, match=r"row 3 \(study 'B 2003'\): column measure: 'RR' does not fit continuous data; allowed: MD, SMD"):
        validate_rows(df)
    with pytest.raises(ValidationError, match=r"row 2 \(study 'A 2001'\): column method: Peto needs measure OR"):
        validate_rows(df)


def test_readme_shows_the_dictionary():
    readme = (paths.DATA / "README.md").read_text(encoding="utf-8")
    assert render_dictionary() in readme
    assert {c.name for c in DATA_DICTIONARY["rows"]} >= {"analysis_id", "drug", "giv_se", "design"}



def test_every_studies_column_describes_a_study():
    """Each column of the studies table holds a value for some study of the default package (which fills every
    study characteristic): a column copied from the rows table that only a data row can fill (``entry``,
    ``year_text``, ``footnotes`` were) would stay empty in every studies.csv."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset()
    empty = [c for c in ds.studies.columns if ds.studies[c].isna().all()]
    assert empty == []
    assert {"entry", "year_text", "footnotes"} <= set(ds.rows.columns)  # they stay in the rows table

@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("n_e", float("inf"), "must be finite; got inf"),
        ("mean_c", float("-inf"), "must be finite; got -inf"),
        ("sd_e", float("inf"), "must be finite; got inf"),
        ("giv_se", float("inf"), "must be finite; got inf"),
        ("n_e", 317.5, "a count must be a whole number; got 317.5"),
        ("events_c", 2.5, "a count must be a whole number; got 2.5"),
        ("n_c", 1e300, "more than MAX_N=10,000,000 participants; got 1e+300"),
        ("analysis_number", 1.5, "must be a whole number >= 1; got 1.5"),
        ("analysis_group", 0.0, "must be a whole number >= 1; got 0"),
    ],
)
def test_numeric_domain_checks_name_row_study_and_column(column, value, problem):
    df = _rows()
    row = 3 if column in ("mean_c", "sd_e") else 2
    study = "B 2003" if row == 3 else "A 2001"
    df.loc[row, column] = value
    with pytest.raises(ValidationError) as err:
        validate_rows(df, source="rows.csv")
    assert f"rows.csv: row {row} (study {study!r}): column {column}: {problem}" in str(err.value)


def test_exact_duplicate_row_refused_but_a_differing_repeat_accepted():
    df = _rows()
    dup = pd.concat([df, df.loc[[2]].set_axis([4])]).rename_axis("line")
    with pytest.raises(ValidationError, match=r"rows.csv: row 4 \(study 'A 2001'\): column -: exact duplicate"):
        validate_rows(dup, source="rows.csv")
    dup.loc[4, "events_e"] = 6.0  # another stratum of the same trial: different data
    assert len(validate_rows(dup, source="rows.csv")) == 3


def test_studies_counts_are_whole_and_finite():
    from helpers.data.schema import STUDIES_COLUMNS, validate_studies

    st = pd.DataFrame([{"study": "A 2001", "year": 2001.0, "n_randomised": 40.5, "synthetic": False}],
                      index=pd.Index([2], name="line")).reindex(columns=list(STUDIES_COLUMNS))
    st["synthetic"] = False
    with pytest.raises(ValidationError, match=r"row 2 \(study 'A 2001'\): column n_randomised: a count must be a "
                                              r"whole number; got 40.5"):
        validate_studies(st, source="studies.csv")
    st.loc[2, ["n_randomised", "year"]] = [40.0, float("inf")]
    with pytest.raises(ValidationError, match=r"column year: must be finite; got inf"):
        validate_studies(st, source="studies.csv")

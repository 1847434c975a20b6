"""helpers.report.sof and helpers.report.certainty_page: the summary of findings in GRADEpro's layout, the certainty
CSV and the run report's certainty section (synthetic package: labelled synthetic in the note)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from helpers.data.dataset import load_dataset
from helpers.data.judgements import DOMAINS, load_certainty_inputs
from helpers.report import sof
from helpers.report.certainty_page import certainty_section
from helpers.stats.certainty import ASSIST


@pytest.fixture(scope="module")
def assessed():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset()
        inputs = load_certainty_inputs(ds.review)
        return ds, inputs, sof.assess_all(ds, "ketamine", inputs)


def test_sof_table_has_gradepro_columns_and_every_row_names_its_evidence(assessed):
    ds, inputs, rows = assessed
    table = sof.sof_table(rows)
    assert tuple(table.columns) == sof.SOF_COLUMNS and ASSIST in sof.CERTAINTY_COLUMN
    assert len(table) > 3
    main = [sel.analysis_id for sel, _, _ in rows if not set(sel.rows["subgroup_by"].dropna()) & {"duration", "condition", "dose"}]
    assert [o.split(" ")[0] for o in table["Outcome"]] == main  # the review's subgroup analyses left out
    for text, cert in zip(table[sof.CERTAINTY_COLUMN], [c for s, _, c in rows if s.analysis_id in main]):
        assert text.startswith(f"{cert.symbols} {cert.certainty.capitalize()}")
        assert ("at most" in text) == (bool(cert.unrated) and cert.certainty != "very low")
    ratio = table[table["Relative effect (95% CI)"].str.startswith("RR")]
    assert not ratio.empty and ratio["Risk with comparator"].str.endswith("per 1,000").all()


def test_certainty_csv_has_a_column_per_domain_and_the_label(assessed):
    ds, inputs, rows = assessed
    table = sof.certainty_table(rows, inputs)
    assert tuple(table.columns) == sof.CERTAINTY_TABLE_COLUMNS
    for d in DOMAINS:
        assert d in table and f"{d}_reason" in table
    cols = table.columns.tolist()
    assert cols.index("certainty") > max(cols.index(d) for d in DOMAINS)
    assert (table["label"] == ASSIST).all() and table["mid_source"].str.contains("IMMPACT").all()


def test_note_prints_the_mid_the_judgements_and_says_synthetic(assessed):
    ds, inputs, _ = assessed
    note = sof.sof_note(inputs, ds)
    assert ASSIST in note and "pain intensity 10" in note and "IMMPACT" in note
    assert "Authors' judgements: none given (data/reviews/judgements/cd015373.yaml holds none)" in note
    assert ds.synthetic and ds.label in note and "SYNTHETIC" in note


def test_run_report_section_reads_the_certainty_tables(assessed, tmp_path):
    ds, inputs, rows = assessed
    (tmp_path / "tables").mkdir()
    assert "No certainty table in this run" in certainty_section(tmp_path)
    table = sof.certainty_table(rows, inputs)
    table.to_csv(tmp_path / "tables" / "certainty_ketamine.csv", index=False)
    page = certainty_section(tmp_path)
    assert ASSIST in page and "IMMPACT" in page and "none given; indirectness is not assessed" in page
    first = table.iloc[0]
    assert f"<td>{first['analysis_id']}</td>" in page
    assert f'title="{first["trace"]}"' in page
    assert page.count("<tr>") == len(table) + 1
    bounded = table[table["trace"].str.contains("; at most ")]
    assert page.count("(at most: some domains not rated)") == len(bounded) > 0


def test_run_report_lists_the_certainty_section_after_the_findings(tmp_path):
    from helpers.report.index import render_index

    (tmp_path / "tables").mkdir()
    page = render_index(tmp_path, [], {}, "my package")
    assert page.index("<h2>Summary of findings</h2>") < page.index("Certainty of the evidence (GRADE assist)")


def test_nothing_to_rate_is_said_not_shown_as_an_empty_table(assessed):
    ds, inputs, _ = assessed
    note = sof.sof_note(inputs, ds, [])
    assert note.startswith("> **Not available in this dataset.**") and "at least 2 studies" in note
    assert sof.sof_table([]).empty
    empty = sof.certainty_table([], inputs)
    assert empty.empty and tuple(empty.columns) == sof.CERTAINTY_TABLE_COLUMNS  # the saved CSV keeps its header


def test_engine_warnings_name_their_analysis(assessed):
    ds, inputs, _ = assessed
    with pytest.warns(Warning) as caught:
        sof.assess_all(ds, "ketamine", inputs)
    assert caught and all(str(w.message).startswith("analysis ") for w in caught)
    assert not any(str(w.message).count("analysis ") > 1 and ": analysis " in str(w.message) for w in caught)

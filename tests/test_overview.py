"""Data overview (notebook 00): the per-study table and the seaborn figure, byte-stable."""

import hashlib
import warnings

import pandas as pd
import pytest

from helpers.data.dataset import load_dataset
from helpers.data.schema import DRUGS, ROUTES
from helpers.figures.overview import OVERVIEW_COLUMNS, overview_plot
from helpers.figures.style import save_figure
from helpers.report import summary


@pytest.fixture(scope="module")
def ds():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dataset()


def test_study_overview_counts_match_the_counts_table(ds):
    table = summary.study_overview(ds)
    assert tuple(table.columns) == OVERVIEW_COLUMNS
    by_drug = table.drop_duplicates(["study", "drug"]).groupby("drug")["study"].nunique()
    counts = summary.counts(ds, "drug").set_index("drug")["trials"]
    assert {d: int(by_drug[d]) for d in by_drug.index} == {d: int(counts[d]) for d in by_drug.index}
    assert set(table["participants_from"]) == {"randomised"}  # the synthetic package gives n_randomised


def test_participants_fall_back_to_the_largest_analysis():
    rows = pd.DataFrame({"study": ["A 2001", "A 2001", "B 2002"], "n_e": [10.0, 12.0, 5.0], "n_c": [11.0, 12.0, None]})
    studies = pd.DataFrame({"study": ["A 2001", "B 2002"], "drug": ["ketamine", "memantine; ketamine"],
                            "route": ["oral", "oral"], "design": [None, "parallel"], "year": [2001.0, 2002.0],
                            "n_randomised": [None, 40.0]})  # fmt: skip

    class Stub:
        pass

    stub = Stub()
    stub.rows, stub.studies = rows, studies
    table = summary.study_overview(stub)
    assert table[["study", "drug", "participants", "participants_from"]].values.tolist() == [
        ["A 2001", "ketamine", 24.0, "largest analysis"],
        ["B 2002", "memantine", 40.0, "randomised"],
        ["B 2002", "ketamine", 40.0, "randomised"],
    ]


def test_overview_figure_is_byte_stable(ds, tmp_path):
    table = summary.study_overview(ds)
    digests = []
    for run in ("a", "b"):
        paths = save_figure(overview_plot(table, drugs=DRUGS, routes=ROUTES, footer=ds), tmp_path / run, "overview")
        digests.append({fmt: hashlib.sha256(p.read_bytes()).hexdigest() for fmt, p in paths.items()})
    assert digests[0] == digests[1] and set(digests[0]) == {"png", "svg", "pdf"}
    with pytest.raises(ValueError, match="lacks column"):
        overview_plot(table.drop(columns=["year"]), drugs=DRUGS, routes=ROUTES)


def test_generic_review_says_drug_not_in_the_data_instead_of_one_unmapped_bar(pairwise70):
    """A review read in the generic mode (no analysis mapped to a drug or route: CD006913, 50 trials) drew one bar
    labelled 'unmapped' in the drug panels and titled the year panel 'and route' over a single 'not reported'
    colour; the panels now state the totals."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset(pairwise70 / "CD006913_pub3_data.rda")
    table = summary.study_overview(ds)
    assert set(table["drug"]) == {summary.UNMAPPED}
    fig = overview_plot(table, drugs=DRUGS, routes=ROUTES, footer=ds)
    a, b, _, d = fig.axes[:4]
    assert not a.patches and not b.patches
    assert [t.get_text() for t in a.texts] == ["Drug not in the data\n(50 trials, none mapped to a drug)"]
    people = int(table.drop_duplicates("study")["participants"].sum())
    assert [t.get_text() for t in b.texts] == [f"{people:,} participants in all\n(largest analysis; no drug to "
                                               "split them by)"]
    assert d.get_title() == "Trials by year (5-year bins)" and d.patches

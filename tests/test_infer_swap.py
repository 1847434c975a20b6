"""RevMan's "Swap event and non-event" read off the per-study values (helpers.stats.infer.infer_settings)."""

from __future__ import annotations

from helpers.data.dataset import load_dataset, read_rows_table
from helpers.run.settings import settings_yaml
from helpers.stats.concordance import concordance
from helpers.stats.infer import STATUSES, infer_settings, settle


def test_swapped_events_cd012891(pairwise70):
    """CD012891 4.1: Gilani 2007 0/15 vs 5/15 is printed as RR 1.476190 [1.024371, 2.127294], the RR of the
    non-events (15/15 vs 10/15, corrected for its zero cell: (15.5/16)/(10.5/16)); as entered no candidate reproduces the estimates (before: 'not reproduced',
    23 of 24 values off). Read off the values: RR, MH, fixed with events swapped, and the concordance then
    reproduces every value of the analysis."""
    rows, label = read_rows_table(pairwise70 / "CD012891_pub2_data.rda")
    rec = infer_settings(rows, label).to_frame().set_index("analysis_id").loc["4.1"]
    assert rec["status"] == STATUSES[0] and bool(rec["swap_events"])
    assert (rec["measure"], rec["method"], rec["model"]) == ("RR", "MH", "fixed")
    assert "Swap event and non-event" in rec["note"]
    ds = settle(load_dataset(pairwise70 / "CD012891_pub2_data.rda"))
    assert set(ds.rows.loc[ds.rows["analysis_id"] == "4.1", "swap_events"]) == {1}
    table = concordance(ds).query("level == 'study' and analysis_id == '4.1'")
    assert len(table) == 24 and table["within_tol"].all()


def test_events_as_entered_are_not_swapped(pairwise70):
    """Swapping is tried only where the events as entered reproduce nothing: no other analysis of CD012891 is
    swapped."""
    rows, label = read_rows_table(pairwise70 / "CD012891_pub2_data.rda")
    table = infer_settings(rows, label).to_frame()
    others = table[table["analysis_id"] != "4.1"]
    assert len(others) > 10 and not others["swap_events"].any()


def test_review_map_block_says_what_it_cannot_hold(pairwise70):
    """The review-map block (helpers.run.settings) holds measure, method and model only: a swapped analysis says
    so in its comment rather than losing the swap silently."""
    rows, label = read_rows_table(pairwise70 / "CD012891_pub2_data.rda")
    block = settings_yaml(infer_settings(rows, label))
    line = next(x for x in block.splitlines() if x.strip().startswith('"4.1"'))
    assert "events swapped (not expressible in the review map)" in line

"""The run report's certainty section: every ``tables/certainty*.csv`` (written by notebook 01 through
:func:`helpers.report.sof.certainty_table`) as one table, each rating labelled as proposed by the assist from the
data, the reason of each domain on hover, and the MID and authors' judgements the ratings used."""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from helpers.data.judgements import DOMAINS
from helpers.report.htmlparts import num
from helpers.report.summary import NOT_IN_DATA
from helpers.stats.certainty import ASSIST, DOMAIN_WORDS, SYMBOLS

HEADING = "<h2>Certainty of the evidence (GRADE assist)</h2>"


def _cell(text, title=None) -> str:
    hover = f' title="{html.escape(str(title))}"' if title is not None and not pd.isna(title) else ""
    return f"<td{hover}>{html.escape('' if pd.isna(text) else str(text))}</td>"


def _analysis_key(aid: str) -> tuple:
    return tuple(int(x) for x in str(aid).split(".") if x.isdigit())


def certainty_section(run_dir: Path) -> str:
    """HTML of the section (a sentence saying there is none when the run wrote no certainty table)."""
    frames = []
    for path in sorted((Path(run_dir) / "tables").glob("certainty*.csv")):
        try:
            frames.append(pd.read_csv(path, dtype={"analysis_id": str}, keep_default_na=False, na_values=[""]))
        except pd.errors.EmptyDataError:
            continue
    frames = [f for f in frames if not f.empty]
    if not frames:
        return f"{HEADING}\n<p>No certainty table in this run (no analysis with at least two studies).</p>"
    table = pd.concat(frames, ignore_index=True).drop_duplicates("analysis_id")
    table = table.iloc[sorted(range(len(table)), key=lambda i: _analysis_key(table["analysis_id"].iloc[i]))]
    head = ["analysis", "name", "studies", "participants", "threshold", *(DOMAIN_WORDS[d] for d in DOMAINS),
            "certainty"]
    rows = []
    for r in table.to_dict("records"):
        cells = [_cell(r["analysis_id"]), _cell(r["analysis"]), _cell(r["k"]), _cell(num(r["participants"], whole=True) or NOT_IN_DATA),
                 _cell(r["threshold"])]
        cells += [_cell(r[d], r[f"{d}_reason"]) for d in DOMAINS]
        bound = " (at most: some domains not rated)" if "; at most " in str(r["trace"]) else ""
        cells.append(_cell(f"{SYMBOLS[r['certainty']]} {r['certainty']}{bound}", r["trace"]))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    mids = sorted({s for s in table.get("mid_source", pd.Series(dtype=object)).dropna()})
    judged = sorted({s for s in table.get("judgements_source", pd.Series(dtype=object)).dropna()})
    notes = [f"<p><strong>Every rating here is {html.escape(ASSIST)}</strong>, not the review's own: GRADE's five "
             "domains rated by the rules of <code>helpers.stats.certainty</code> (hover a rating for its reason in "
             "words and numbers; the full reasons are in the <code>tables/certainty*.csv</code> files). Analyses "
             "with fewer than two studies are not rated.</p>",
             "<p>MID used: " + (html.escape("; ".join(m.rstrip(".") for m in mids)) if mids else "none given (imprecision of MD outcomes "
                                "rated against the null only)") + ". Ratio measures: RR/OR 0.75 and 1.25 "
             "(GRADE guidance 6).</p>",
             "<p>Authors' judgements used: " + (html.escape("; ".join(judged)) + " (marked &quot;authors&quot;)"
                                                if judged else "none given; indirectness is not assessed") + ".</p>"]
    header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return (f"{HEADING}\n" + "\n".join(notes) + f"\n<table><thead><tr>{header}</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table>")

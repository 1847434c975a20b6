"""The run report page: ``index.html`` of a run folder, for an editor as much as for the analyst.

In order: what was run on what (data label, input SHA-256, git commit, parameters; no dates), a summary of
findings (the overall rows of every ``tables/summary_of_findings_*.csv``), the concordance verdict
(``tables/concordance.csv``), what was skipped or failed and why, the figures grouped by drug and comparison
with thumbnails, the tables, then the notebooks (reader's HTML and the executed ``.ipynb``).

The page is self-contained: CSS inline, no script, no external asset; thumbnails are the run's own PNGs by
relative link. It is a pure function of the run folder's manifest, tables and the arguments, so it is
byte-identical for identical runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from helpers.data.schema import DRUGS, LIST_SEP
from helpers.report.certainty_page import certainty_section
from helpers.report.htmlparts import e as _e, num as _num, table as _table
from helpers.report.summary import NOT_IN_DATA, UNMAPPED
from helpers.report.thumbnails import THUMBNAIL_DIR, write_thumbnails
from helpers.report.verdict import Verdict
from helpers.report.verdict_html import concordance_counts, concordance_words, departure_banner, verdict_html

#: Shown at the top of index.html when the run used the default (synthetic) package.
SYNTHETIC_BANNER = "SYNTHETIC DATA - not evidence: the default package is made up to show the tools."
OTHER = "other"
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:72em;padding:1em 2em;
color:#222;line-height:1.4}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em}th,td{border:1px solid #ccc;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}
.banner{background:#D55E00;color:#fff;padding:.5em;font-weight:bold}
.departure{background:#fde7e7;border-left:6px solid #b3261e;padding:.4em .8em}.departure ul{margin:.2em 0}
.verdict h2{margin-top:.4em}.review{margin:.2em 0 .5em}.review .title{font-size:1.25em;font-weight:bold}
table.facts{width:100%}table.facts>tbody>tr>th{width:12em}table.results{margin:.3em 0 0;font-size:1em}.verdict ul{margin:.2em 0;padding-left:1.2em}
.headline{font-size:1.1em;margin:.3em 0}table.results td:nth-child(2){min-width:12em}
.generic{background:#fff4ce;border-left:6px solid #E69F00;padding:.5em .8em}
.ok{color:#1a7f37;font-weight:bold}.fail{color:#b3261e;font-weight:bold}
.grid{display:flex;flex-wrap:wrap;gap:.8em}.fig{width:15em;font-size:.8em}.fig .stem{overflow-wrap:anywhere}
.fig img{width:15em;height:11em;object-fit:contain;border:1px solid #ddd;background:#fff}
code{background:#f5f5f5;padding:0 .2em}.nowrap{white-space:nowrap}
"""


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def what_was_run(manifest: dict, label: str, outcomes: list, generic: str | None = None) -> str:
    """Data label, input SHA-256, commit, the parameters of the executions (the package's own settings, or the
    settings read off RevMan's values: the manifest's ``inferred_settings``) and how many ran ok; in the generic
    mode, a row saying no review map applied and why."""
    inp, git = manifest.get("input", {}), manifest.get("git") or {}
    commit = git.get("commit") if isinstance(git, dict) else git
    params = sorted({f"{k}={v}" for e in manifest.get("notebooks", []) for k, v in e.get("parameters", {}).items()
                     if k not in ("data_path", "out_dir", "drug") and v is not None})
    ok = sum(o.ok for o in outcomes)
    inferred = manifest.get("inferred_settings")  # bare data rows: no settings in the package
    parts = [", ".join(params)] if params else []
    if inferred or not params:  # the evidence is the verdict's "analysis settings" row, said once on the page
        parts.append("each analysis' settings as read off RevMan's per-study values (the verdict's analysis "
                     "settings row)" if inferred else "the package's own RevMan settings")
    shown = _e("; ".join(parts))
    rows = [["data", _e(label)], ["input SHA-256", f"<code>{_e(inp.get('sha256', 'not recorded'))}</code>"],
            ["code (git commit)", f"<code>{_e(commit or 'not recorded')}</code>"
             + (" (uncommitted changes)" if isinstance(git, dict) and git.get("dirty") else "")],
            ["parameters", shown],
            ["notebooks", f"{ok} of {len(outcomes)} executions ran without error"],
            ["hashes of every output", '<a href="manifest.json">manifest.json</a>']]  # fmt: skip
    if generic is not None:
        rows.insert(1, ["review map", f"none applied: <strong>generic mode</strong> ({_e(generic)})"])
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<h2>What was run</h2>\n<table><tbody>{body}</tbody></table>"


def summary_of_findings(run_dir: Path, verdict: Verdict | None = None) -> str:
    """The overall row of every analysis in ``tables/summary_of_findings_*.csv``; the analyses not pooled
    (``verdict.not_pooled``) named under it."""
    frames = [_read_table(p) for p in sorted((run_dir / "tables").glob("summary_of_findings*.csv"))]
    frames = [f for f in frames if not f.empty]
    missing = ""
    if verdict is not None and verdict.not_pooled:
        missing = ("<p>Not pooled, so not in this table: " + "; ".join(f"{_e(a)} {_e(n)}" for a, n, _ in verdict.not_pooled)
                   + " (no study can enter them; see the verdict above).</p>\n")
    if not frames:
        return "<h2>Summary of findings</h2>\n<p>No summary-of-findings table in this run.</p>\n" + missing
    sof = pd.concat(frames, ignore_index=True)
    if "subgroup" in sof:
        sof = sof[sof["subgroup"].isna() | (sof["subgroup"] == "all")]
    by = "drug" if "drug" in sof else "comparison"  # the generic mode names the package's comparison
    rank = {d: i for i, d in enumerate(DRUGS)}
    sof = sof.assign(_d=sof[by].map(rank).fillna(len(DRUGS)) if by == "drug" else 0,
                     _a=sof["analysis_id"].astype(str).map(lambda a: tuple(int(x) for x in a.split(".") if x.isdigit())))
    sof = sof.sort_values(["_d", "_a"], kind="stable")
    named = bool(by == "drug" or sof[by].notna().any())  # an export without comparison names: said once, no column
    rows = []
    for r in sof.itertuples(index=False):
        group = getattr(r, by)
        rows.append([_e(NOT_IN_DATA if pd.isna(group) else group)] * named
                    + [_e(r.analysis_id), _e(r.analysis), _e(r.measure),
                       _num(r.k, whole=True), _num(r.participants, whole=True) or NOT_IN_DATA,
                       f'<span class="nowrap">{_num(r.estimate)} [{_num(r.ci_low)}, {_num(r.ci_high)}]</span>',
                       _num(r.i2, 0)])
    unnamed = "" if named else " The comparisons' names are not in the data (analyses numbered as in RevMan)."
    return ("<h2>Summary of findings</h2>\n<p>Overall pooled estimate of each pooled analysis (display scale; I² "
            f"in %). Per-route and per-subgroup rows are in the tables below.{unnamed}</p>\n" + missing
            + _table([by] * named + ["analysis", "name", "measure", "studies", "participants", "estimate [95% CI]",
                                     "I²"], rows, {3 + named, 4 + named, 5 + named, 6 + named}))


def _read_table(path: Path) -> pd.DataFrame:
    """A run's CSV table (``analysis_id`` as text: "1.10" is not 1.1); an empty file (no rows, no header) is
    an empty table."""
    try:
        return pd.read_csv(path, dtype={"analysis_id": str})
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def concordance_verdict(run_dir: Path, synthetic: bool = False, changed: tuple[str, ...] = ()) -> str:
    """Whether every value RevMan printed was reproduced within half a unit of its last printed digit; values
    not published or not estimable on either side are counted apart, never as reproduced; the analyses in
    ``changed`` (they gained a study in this run) are judged apart (the table counts every value)."""
    counts = concordance_counts(run_dir)
    held, words = concordance_words(concordance_counts(run_dir, changed) if changed else counts, synthetic)
    if changed and counts is not None:
        words += f"; the values of {', '.join(changed)}, which gained a study in this run, are not judged"
    if counts is None:
        return f"<h2>Concordance with the published review</h2>\n<p>{_e(words[:1].upper() + words[1:])}.</p>"
    verdict = (f'<p class="{"ok" if held else "fail"}">Concordance {"held" if held else "did NOT hold"}: '
               f"{_e(words)} (see tables/concordance.csv).</p>" if held is not None else f"<p>{_e(words)}.</p>")
    return ("<h2>Concordance with the published review</h2>\n" + verdict
            + _table(["status", "quantities"], [[_e(s), str(n)] for s, n in counts.items()], {1}))


def skipped_and_failed(outcomes: list, skipped: tuple[str, ...]) -> str:
    rows = [[_e(s), "skipped"] for s in skipped]
    rows += [[_e(o.notebook), f'<span class="fail">failed</span>: {_e(o.message)}'] for o in outcomes if not o.ok]
    if not rows:
        return "<h2>Skipped or failed</h2>\n<p>Nothing: every planned notebook ran.</p>"
    return "<h2>Skipped or failed</h2>\n" + _table(["what", "why"], rows)


def figure_group(facts: dict | None) -> tuple[str, str]:
    """(group, subtitle) of a figure from the facts its plan recorded (the manifest's ``figures``, written by
    :mod:`helpers.report.figindex`): drug and comparator in words for a mapped figure (``usual_care`` reads
    "usual care", a combination "ketamine and magnesium"), ``("Comparison <n>", <the package's name>)`` in the
    generic mode (no drug), ``(OTHER, "")`` for a figure of no drug or with no recorded facts. Never parsed
    from the file name."""
    facts = facts or {}
    drug, comparator = facts.get("drug"), facts.get("comparator")
    if drug and drug != UNMAPPED:
        words = " and ".join(c.replace("_", " ") for c in comparator.split(LIST_SEP)) if comparator else ""
        return " and ".join(drug.split(LIST_SEP)), words
    if facts.get("comparison_number"):
        return f"Comparison {facts['comparison_number']}", facts.get("comparison") or ""
    return OTHER, ""


def _group_order(group: tuple[str, str]) -> tuple:
    first = group[0].split(" and ")[0]
    number = int(group[0].split()[1]) if group[0].startswith("Comparison ") else 0
    return DRUGS.index(first) if first in DRUGS else len(DRUGS), number, group[1]


def figure_stems(outputs: dict[str, str]) -> list[str]:
    """Stems of the run's PNG figures (``figures/<stem>.png`` among the hashed outputs), sorted."""
    return sorted(Path(name).stem for name in outputs if name.startswith("figures/") and name.endswith(".png"))


def figures(outputs: dict[str, str], facts: dict[str, dict] | None = None,
            thumbnails: frozenset[str] = frozenset()) -> str:
    """Thumbnails of every PNG figure, grouped by drug and comparison (SVG and PDF linked under each); the
    generic mode's figures by the package's comparison; groups from ``facts`` (the run's figure index, stem ->
    facts: :func:`figure_group`). Stems in ``thumbnails`` show their small preview (report.thumbnails), the
    others the full PNG."""
    stems = figure_stems(outputs)
    if not stems:
        return "<h2>Figures</h2>\n<p>No figures in this run.</p>"
    groups: dict[tuple[str, str], list[str]] = {}
    for stem in stems:
        groups.setdefault(figure_group((facts or {}).get(stem)), []).append(stem)
    order = sorted(groups, key=_group_order)
    parts = [f"<h2>Figures ({len(stems)})</h2>"]
    for drug, comparison in order:
        if drug.startswith("Comparison "):
            title = f"{drug}: {comparison}" if comparison else drug
        else:
            title = drug if drug == OTHER else f"{drug}" + (f" versus {comparison}" if comparison else "")
        cards = []
        for stem in groups[(drug, comparison)]:
            extra = " ".join(f'<a href="figures/{_e(stem)}.{ext}">{ext}</a>' for ext in ("svg", "pdf")
                             if f"figures/{stem}.{ext}" in outputs)
            src = f"{THUMBNAIL_DIR if stem in thumbnails else 'figures'}/{_e(stem)}.png"
            cards.append(f'<div class="fig"><a href="figures/{_e(stem)}.png"><img src="{src}" '
                         f'alt="{_e(stem)}" decoding="async"></a><br><span class="stem">{_e(stem)}</span> '
                         f'<span class="nowrap">{extra}</span></div>')
        parts.append(f"<h3>{_e(title)} ({len(cards)})</h3>\n<div class=\"grid\">{''.join(cards)}</div>")
    return "\n".join(parts)


def tables(outputs: dict[str, str]) -> str:
    names = [n for n in outputs if n.startswith("tables/")]
    if not names:
        return "<h2>Tables</h2>\n<p>No tables in this run.</p>"
    items = "".join(f'<li><a href="{_e(n)}">{_e(Path(n).name)}</a></li>' for n in sorted(names))
    return f"<h2>Tables ({len(names)})</h2>\n<ul>{items}</ul>"


def notebooks(outcomes: list) -> str:
    items = "".join(
        f'<li><a href="html/{_e(Path(o.notebook).stem)}.html">{_e(o.notebook)}</a> '
        f'(<a href="notebooks/{_e(o.notebook)}">notebook with code</a>) - '
        + ('<span class="ok">ok</span>' if o.ok else f'<span class="fail">FAILED</span>: {_e(o.message)}') + "</li>"
        for o in outcomes)
    return f"<h2>Notebooks</h2>\n<ul>{items}</ul>"


def generic_note(generic: str | None) -> str:
    """The generic mode's paragraph under the title ('' when a review map applied)."""
    if generic is None:
        return ""
    return (f'<p class="generic"><strong>Generic mode: no review map applied.</strong> Why: {_e(generic)}. '
            "The analyses are run and drawn per comparison and outcome as RevMan groups them (one forest plot per "
            "analysis, titled with the package's own names, with the package's own settings); drug, route, "
            "comparator, outcome and time point are not mapped, so sections that need them say they are not "
            "available. Run with <code>--review-map &lt;map&gt;</code> to force a review map.</p>\n")


def render_index(run_dir: Path, outcomes: list, outputs: dict[str, str], label: str, banner: str | None = None,
                 skipped: tuple[str, ...] = (), generic: str | None = None, verdict: Verdict | None = None) -> str:
    """The page's HTML (see the module docstring); ``generic``: why the generic mode was used, else None;
    ``verdict``: what the page opens with (:mod:`helpers.report.verdict`; None: no verdict block)."""
    manifest = _read_json(run_dir / "manifest.json")
    synthetic = bool(verdict is not None and verdict.synthetic)
    sections = [
        what_was_run(manifest, label, outcomes, generic), summary_of_findings(run_dir, verdict),
        certainty_section(run_dir), concordance_verdict(run_dir, synthetic, verdict.changed_analyses if verdict else ()),
        skipped_and_failed(outcomes, skipped),
        figures(outputs, manifest.get("figures"), _thumbnails(run_dir)), tables(outputs), notebooks(outcomes),
    ]  # fmt: skip
    opening = ""
    if verdict is not None:
        kept = concordance_counts(run_dir, verdict.changed_analyses)
        aside = sum((concordance_counts(run_dir) or {}).values()) - sum((kept or {}).values())
        opening = (departure_banner(verdict) + verdict_html(verdict, kept, label, aside, manifest.get("inferred_settings"))
                   + "\n")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>nmda-review run: "
            f"{_e(label)}</title>\n<style>{CSS}</style></head><body>\n<h1>nmda-review run report</h1>\n"
            + (f'<p class="banner">{_e(banner)}</p>\n' if banner else "") + generic_note(generic) + opening
            + "\n".join(sections) + "\n</body></html>\n")


def _thumbnails(run_dir: Path) -> frozenset[str]:
    """Stems with a preview in ``run_dir/thumbnails``."""
    return frozenset(p.stem for p in (Path(run_dir) / THUMBNAIL_DIR).glob("*.png"))


def write_index(run_dir: Path, outcomes: list, outputs: dict[str, str], label: str,
                banner: str | None = None, skipped: tuple[str, ...] = (), generic: str | None = None,
                verdict: Verdict | None = None) -> None:
    """Write ``run_dir/index.html`` (and the figures' previews in ``run_dir/thumbnails/``). ``outcomes`` are the run's notebook outcomes (``notebook``, ``ok`` and
    ``message`` attributes, in plan order); ``outputs`` the hashed outputs by relative path; ``label`` names the
    input; ``skipped`` says what the plan left out and why; ``generic`` why the data were read in the generic
    mode (no review map applied), None when a map applied; ``verdict`` the block the page opens with."""
    write_thumbnails(Path(run_dir), figure_stems(outputs))
    page = render_index(Path(run_dir), outcomes, outputs, label, banner, skipped, generic, verdict)
    (Path(run_dir) / "index.html").write_text(page, encoding="utf-8")

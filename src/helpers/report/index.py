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

import html
import json
import math
from pathlib import Path

import pandas as pd

from helpers.data.schema import DRUGS

#: Shown at the top of index.html when the run used the default (synthetic) package.
SYNTHETIC_BANNER = "SYNTHETIC DATA - not evidence: the default package is made up to show the tools."
#: Statuses of tables/concordance.csv that count against the verdict (as helpers.stats.concordance.all_ok).
CONCORDANCE_FAILURES = ("mismatch", "not recomputed")
OTHER = "other"
CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:72em;padding:1em 2em;
color:#222;line-height:1.4}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em}th,td{border:1px solid #ccc;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}
.banner{background:#D55E00;color:#fff;padding:.5em;font-weight:bold}
.ok{color:#1a7f37;font-weight:bold}.fail{color:#b3261e;font-weight:bold}
.grid{display:flex;flex-wrap:wrap;gap:.8em}.fig{width:15em;font-size:.8em}.fig .stem{overflow-wrap:anywhere}
.fig img{width:15em;height:11em;object-fit:contain;border:1px solid #ddd;background:#fff}
code{background:#f5f5f5;padding:0 .2em}.nowrap{white-space:nowrap}
"""


def _e(value) -> str:
    return html.escape(str(value))


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _num(value, digits: int = 2, whole: bool = False) -> str:
    try:
        x = float(value)
    except (TypeError, ValueError):
        return ""
    if math.isnan(x):
        return ""
    return f"{x:.0f}" if whole and x.is_integer() else f"{x:.{digits}f}"


def _table(header: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def what_was_run(manifest: dict, label: str, outcomes: list) -> str:
    """Data label, input SHA-256, commit, the parameters of the executions and how many ran ok."""
    inp, git = manifest.get("input", {}), manifest.get("git") or {}
    commit = git.get("commit") if isinstance(git, dict) else git
    params = sorted({f"{k}={v}" for e in manifest.get("notebooks", []) for k, v in e.get("parameters", {}).items()
                     if k not in ("data_path", "out_dir", "drug") and v is not None})
    ok = sum(o.ok for o in outcomes)
    rows = [["data", _e(label)], ["input SHA-256", f"<code>{_e(inp.get('sha256', 'not recorded'))}</code>"],
            ["code (git commit)", f"<code>{_e(commit or 'not recorded')}</code>"
             + (" (uncommitted changes)" if isinstance(git, dict) and git.get("dirty") else "")],
            ["parameters", _e(", ".join(params)) if params else "the package's own RevMan settings"],
            ["notebooks", f"{ok} of {len(outcomes)} executions ran without error"],
            ["hashes of every output", '<a href="manifest.json">manifest.json</a>']]  # fmt: skip
    body = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<h2>What was run</h2>\n<table><tbody>{body}</tbody></table>"


def summary_of_findings(run_dir: Path) -> str:
    """The overall row of every analysis in ``tables/summary_of_findings_*.csv``."""
    frames = [pd.read_csv(p, dtype={"analysis_id": str})  # "1.10" is not 1.1
              for p in sorted((run_dir / "tables").glob("summary_of_findings*.csv"))]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return "<h2>Summary of findings</h2>\n<p>No summary-of-findings table in this run.</p>"
    sof = pd.concat(frames, ignore_index=True)
    if "subgroup" in sof:
        sof = sof[sof["subgroup"].isna() | (sof["subgroup"] == "all")]
    rank = {d: i for i, d in enumerate(DRUGS)}
    sof = sof.assign(_d=sof["drug"].map(rank).fillna(len(DRUGS)),
                     _a=sof["analysis_id"].astype(str).map(lambda a: tuple(int(x) for x in a.split(".") if x.isdigit())))
    sof = sof.sort_values(["_d", "_a"], kind="stable")
    rows = []
    for r in sof.itertuples(index=False):
        rows.append([_e(r.drug), _e(r.analysis_id), _e(r.analysis), _e(r.measure), _num(r.k, whole=True), _num(r.participants, whole=True),
                     f'<span class="nowrap">{_num(r.estimate)} [{_num(r.ci_low)}, {_num(r.ci_high)}]</span>',
                     _num(r.i2, 0)])
    return ("<h2>Summary of findings</h2>\n<p>Overall pooled estimate of each analysis (display scale; I² in %). "
            "Per-route and per-subgroup rows are in the tables below.</p>\n"
            + _table(["drug", "analysis", "name", "measure", "studies", "participants", "estimate [95% CI]", "I²"],
                     rows, {4, 5, 6, 7}))


def concordance_verdict(run_dir: Path) -> str:
    """Whether every published quantity was reproduced within half a unit of its last printed digit."""
    path = run_dir / "tables" / "concordance.csv"
    table = pd.read_csv(path, usecols=["status"]) if path.is_file() else pd.DataFrame({"status": []})
    if table.empty:
        return ("<h2>Concordance with the published review</h2>\n<p>Not available in this run (no published "
                "estimates in the data, or 05_concordance did not run).</p>")
    counts = table["status"].value_counts().sort_index()
    bad = int(counts[counts.index.isin(CONCORDANCE_FAILURES)].sum())
    verdict = (f'<p class="ok">Concordance held: every published quantity compared was reproduced within '
               f"tolerance ({len(table)} quantities).</p>" if not bad else
               f'<p class="fail">Concordance did NOT hold: {bad} of {len(table)} published quantities were not '
               "reproduced within tolerance (see tables/concordance.csv).</p>")
    return ("<h2>Concordance with the published review</h2>\n" + verdict
            + _table(["status", "quantities"], [[_e(s), str(int(n))] for s, n in counts.items()], {1}))


def skipped_and_failed(outcomes: list, skipped: tuple[str, ...]) -> str:
    rows = [[_e(s), "skipped"] for s in skipped]
    rows += [[_e(o.notebook), f'<span class="fail">failed</span>: {_e(o.message)}'] for o in outcomes if not o.ok]
    if not rows:
        return "<h2>Skipped or failed</h2>\n<p>Nothing: every planned notebook ran.</p>"
    return "<h2>Skipped or failed</h2>\n" + _table(["what", "why"], rows)


def figure_group(stem: str) -> tuple[str, str]:
    """(drug, comparison) of a figure stem such as ``forest_ketamine_placebo_oral_pain_intensity_short``."""
    words = stem.split("_")
    drug = next((d for d in DRUGS if d in words), OTHER)
    if drug == OTHER:
        return OTHER, ""
    rest = words[words.index(drug) + 1:]
    return drug, (rest[0].replace("-", " ") if rest else "")


def figures(outputs: dict[str, str]) -> str:
    """Thumbnails of every PNG figure, grouped by drug and comparison (SVG and PDF linked under each)."""
    stems = sorted(Path(name).stem for name in outputs if name.startswith("figures/") and name.endswith(".png"))
    if not stems:
        return "<h2>Figures</h2>\n<p>No figures in this run.</p>"
    groups: dict[tuple[str, str], list[str]] = {}
    for stem in stems:
        groups.setdefault(figure_group(stem), []).append(stem)
    order = sorted(groups, key=lambda g: (DRUGS.index(g[0]) if g[0] in DRUGS else len(DRUGS), g[1]))
    parts = [f"<h2>Figures ({len(stems)})</h2>"]
    for drug, comparison in order:
        title = drug if drug == OTHER else f"{drug}" + (f" versus {comparison}" if comparison else "")
        cards = []
        for stem in groups[(drug, comparison)]:
            extra = " ".join(f'<a href="figures/{_e(stem)}.{ext}">{ext}</a>' for ext in ("svg", "pdf")
                             if f"figures/{stem}.{ext}" in outputs)
            cards.append(f'<div class="fig"><a href="figures/{_e(stem)}.png"><img src="figures/{_e(stem)}.png" '
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


def render_index(run_dir: Path, outcomes: list, outputs: dict[str, str], label: str, banner: str | None = None,
                 skipped: tuple[str, ...] = ()) -> str:
    """The page's HTML (see the module docstring)."""
    manifest = _read_json(run_dir / "manifest.json")
    sections = [
        what_was_run(manifest, label, outcomes), summary_of_findings(run_dir), concordance_verdict(run_dir),
        skipped_and_failed(outcomes, skipped), figures(outputs), tables(outputs), notebooks(outcomes),
    ]  # fmt: skip
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>nmda-review run: "
            f"{_e(label)}</title>\n<style>{CSS}</style></head><body>\n<h1>nmda-review run report</h1>\n"
            + (f'<p class="banner">{_e(banner)}</p>\n' if banner else "")
            + "\n".join(sections) + "\n</body></html>\n")


def write_index(run_dir: Path, outcomes: list, outputs: dict[str, str], label: str,
                banner: str | None = None, skipped: tuple[str, ...] = ()) -> None:
    """Write ``run_dir/index.html``. ``outcomes`` are the run's notebook outcomes (``notebook``, ``ok`` and
    ``message`` attributes, in plan order); ``outputs`` the hashed outputs by relative path; ``label`` names the
    input; ``skipped`` says what the plan left out and why."""
    page = render_index(Path(run_dir), outcomes, outputs, label, banner, skipped)
    (Path(run_dir) / "index.html").write_text(page, encoding="utf-8")

"""The verdict block that opens a run report (``index.html``), drawn from a :class:`~helpers.report.verdict.Verdict`
and the run's ``tables/concordance.csv``: the review, the input against the pinned file, the published results
recomputed side by side, honest concordance counts, the trials with data rows and the analyses not pooled; a
run that departs from the review (settings or data) gets a banner naming the departures and two verdicts kept
apart: the engine against RevMan with the package's settings, and this run against the published results.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from helpers.report.htmlparts import e, table
from helpers.report.verdict import Verdict
from helpers.stats.infer import STATUSES, SettingsInference

#: Statuses of tables/concordance.csv (helpers.stats.concordance.STATUSES) that count against the verdict.
FAILURES = ("mismatch", "not recomputed")
#: Statuses of values that were compared (a value RevMan printed against the engine's).
COMPARED = ("ok", *FAILURES)
#: Where notebook 05 writes the evidence of the settings read off RevMan's values (helpers.stats.infer).
SETTINGS_EVIDENCE = "tables/settings_evidence.csv"
#: Flagged analyses named one by one in the run report's sentence; the rest counted (all are in the table).
FLAGGED_NAMED = 10


def inferred_settings(run_dir: Path) -> dict | None:
    """What the run's ``SETTINGS_EVIDENCE`` says (None when the data carried their own settings, so nothing was
    inferred): the analyses, how many were reproduced, and each FLAGGED analysis (no candidate reproduces its
    per-study values, or no row is estimable) with its status and closest candidate, and apart those with no
    estimable row (``no_estimable_row``: nothing pooled, named by the verdict's "not pooled" row). The manifest
    records it as ``inferred_settings``; the run report words it (:func:`inferred_settings_words`)."""
    path = Path(run_dir) / SETTINGS_EVIDENCE
    if not path.is_file():
        return None
    result = SettingsInference.from_table(pd.read_csv(path, dtype={"analysis_id": str}), SETTINGS_EVIDENCE)
    flagged, unread = {}, {}
    for r in result.flagged().itertuples(index=False):
        closest = "/".join(str(x) for x in (r.measure, r.method, r.model) if not pd.isna(x))
        diffs = ", ".join(f"{q} {getattr(r, f'max_diff_{q}'):.3g}" for q in ("estimate", "ci", "weight")
                          if not pd.isna(getattr(r, f"max_diff_{q}")))
        flagged[r.analysis_id] = (f"{r.analysis_name}: {r.status}" + (f" (closest {closest}; largest difference: "
                                  f"{diffs})" if closest and r.status == STATUSES[2] else ""))
        if r.status == STATUSES[3]:  # no estimable row: nothing to read the settings off, nothing pooled
            unread[r.analysis_id] = r.analysis_name
    return {"evidence": SETTINGS_EVIDENCE, "analyses": result.n_analyses, "reproduced": result.n_reproduced,
            "flagged": flagged, "no_estimable_row": unread}


def inferred_settings_words(facts: dict | None) -> str | None:
    """One sentence of :func:`inferred_settings` (None when nothing was inferred)."""
    if facts is None:
        return None
    n, ok, flagged = facts["analyses"], facts["reproduced"], facts["flagged"]
    words = (f"not in the data: each analysis' measure, method and model read off RevMan's per-study values; "
             f"{ok} of {n} analyses reproduced")
    if flagged:
        named = [f"{a} {why}" for a, why in list(flagged.items())[:FLAGGED_NAMED]]
        more = f"; and {len(flagged) - FLAGGED_NAMED} more" if len(flagged) > FLAGGED_NAMED else ""
        words += f"; FLAGGED ({len(flagged)}, settings not established, closest shown): " + "; ".join(named) + more
    return words + f" (evidence: {facts['evidence']}, notebook 05)"


def concordance_counts(run_dir: Path, exclude: tuple[str, ...] = ()) -> dict[str, int] | None:
    """``{status: quantities}`` of the run's ``tables/concordance.csv`` (the analyses in ``exclude`` left out);
    None when the run has none."""
    path = Path(run_dir) / "tables" / "concordance.csv"
    if not path.is_file():
        return None
    try:
        table = pd.read_csv(path, usecols=["analysis_id", "status"], dtype={"analysis_id": str})
    except (pd.errors.EmptyDataError, ValueError):
        return None
    statuses = table.loc[~table["analysis_id"].isin(exclude), "status"]
    return {str(k): int(v) for k, v in statuses.value_counts().sort_index().items()} if len(statuses) else None


def concordance_words(counts: dict[str, int] | None, synthetic: bool = False) -> tuple[bool | None, str]:
    """(held, sentence) for the per-value concordance: compared, not published and not estimable counted apart
    (a value RevMan did not print was not compared, so it is never counted as reproduced)."""
    if not counts:
        return None, "not available in this run (no RevMan values in the data, or 05_concordance did not run)"
    compared = sum(counts.get(s, 0) for s in COMPARED)
    bad = sum(counts.get(s, 0) for s in FAILURES)
    others = [f"{n} {'not published in the data' if s == 'not published' else s}"
              + (" (no value on either side)" if s == "not estimable" else "")
              for s, n in counts.items() if s not in COMPARED]
    rest = f"; not compared: {', '.join(others)}" if others else ""
    printed = "the synthetic package publishes" if synthetic else "RevMan printed"
    if compared == 0:
        return None, f"no value {printed} could be compared{rest}"
    if bad:
        text = f"{bad} of {compared} values {printed} were NOT reproduced within tolerance{rest}"
    else:
        text = f"all {compared} values {printed} were reproduced within tolerance{rest}"
    if synthetic:
        text += (". Those values were written by this engine (helpers.synthetic), so this is the engine's own "
                 "numbers round-tripped through the package format, not a reproduction of the review")
    return not bad, text


def _status(text: str) -> str:
    good = text in ("reproduced", "same as published")
    return f'<span class="{"ok" if good else "fail"}">{e(text)}</span>'


def _review(v: Verdict) -> str:
    c = v.citation
    authors = c.authors if c.authors.endswith(".") else f"{c.authors}."
    shaped = "Synthetic data in the shape of: " if v.synthetic else ""
    return (f'<p class="review">{shaped}<span class="title">{e(c.title)}</span><br>{e(authors)} '
            f"<em>{e(c.journal)}</em> {e(c.year or '')}, {e(c.id)}. DOI {e(c.doi)}</p>")


def _input(v: Verdict, path: str) -> str:
    sha = f"<code>{e(v.input_sha256[:12])}</code>"
    if v.synthetic:
        return (f"{e(path)}: the default <strong>synthetic</strong> package (SHA-256 {sha}), made up in the "
                "review's shape to show the tools: not evidence")
    if v.citation is None:
        return f"{e(path)}: {e(v.label)} (SHA-256 {sha})"
    if v.pinned:
        return (f"{e(path)}: {e(v.label)}; SHA-256 {sha}... "
                f'<span class="ok">matches the pinned one</span> ({e(v.citation.map)}, <code>source.sha256</code>)')
    return (f"{e(path)}: {e(v.label)}; SHA-256 {sha}... "
            f'<span class="fail">does NOT match the pinned one</span> (<code>{e(str(v.citation.pinned_sha256)[:12])}'
            "</code>...)")


def _published(v: Verdict) -> str:
    """The published results against the engine with the review's settings (analysis, result, both, verdict)."""
    if v.published.empty:
        return "none listed in the review map"
    if not v.published_compared:
        return ("the published pooled results are not compared with the review's settings here: the data are not "
                "the review's pinned data rows (this run's results are compared below)")
    rows = [[e(r.analysis_id), e(r.label), f'<span class="nowrap">{e(r.published)}</span>',
             f'<span class="nowrap">{e(r.recomputed)}</span>', _status(r.status) + (f" ({e(r.detail)})" if r.detail else "")]
            for r in v.published.itertuples(index=False)]  # fmt: skip
    return table(["analysis", "result", "published", "recomputed", "verdict"], rows, css="results")


def _this_run(v: Verdict) -> str:
    """Each published result against this run's (its settings and data), and by how much it differs."""
    rows = [[e(r.analysis_id), e(r.label), f'<span class="nowrap">{e(r.published)}</span>',
             f'<span class="nowrap">{e(r.this_run)}</span>', _status(r.status)
             + (f': <span class="nowrap">{e(r.difference)}</span>' if r.difference else "")]
            for r in v.this_run.itertuples(index=False)]  # fmt: skip
    return table(["analysis", "result", "published", "this run", "vs published"], rows, css="results")


def _trials(v: Verdict) -> str:
    total = v.citation.trials if v.citation is not None else None
    kind = "synthetic trials" if v.synthetic else "trials"
    if not total:
        return f"{v.trials_with_rows} {kind} contribute data rows"
    original = v.trials_with_rows - len(v.added_trials)
    rest = ("have no data rows, as in the review" if v.synthetic else
            "are included in the review but enter no analysis, so they are not in these data")
    text = f"<strong>{original} of {total} {kind} contribute data rows</strong>; the other {total - original} {rest}"
    if v.added_trials:
        text += f"; added in this run: {e(', '.join(v.added_trials))}"
    return text


def _not_pooled(v: Verdict, settings: dict | None = None) -> str:
    """The analyses no study can enter, and (bare data rows) those of which RevMan estimated no study, so that
    no setting could be read off its values (``inferred_settings``' "no estimable row")."""
    unread = [f"{a} {name}" for a, name in (settings or {}).get("no_estimable_row", {}).items()]
    unread_text = (f"{len(unread)} analyses of which RevMan estimated no study (no settings to read off, "
                   f"nothing pooled): {e('; '.join(unread))}") if unread else ""
    if not v.not_pooled:
        return unread_text or "none: every analysis has at least one study that can enter it"
    by_reason: dict[str, list[str]] = {}
    for a, n, why in v.not_pooled:
        by_reason.setdefault(why, []).append(f"{a} {n}")
    return "<br>".join([f"{len(items)} analyses ({e(why)}): {e('; '.join(items))}" if len(items) > 1
                        else f"{e(items[0])}: {e(why)}" for why, items in by_reason.items()] + [unread_text] * bool(unread))


def departure_banner(v: Verdict) -> str:
    """The banner of a run that departs from the review ('' when it does not)."""
    if not v.departs:
        return ""
    items = "".join(f"<li>{e(d)}</li>" for d in v.departures)
    return ('<div class="departure"><strong>This run departs from the review: its settings or data are not the '
            f"review's.</strong><ul>{items}</ul>Its results differ from the published ones by design; the review's "
            "own results are recomputed beside them.</div>\n")


def headline(v: Verdict, held: bool | None) -> str:
    """The verdict in one sentence."""
    if v.synthetic:
        return ('<p class="headline fail">Synthetic data: this run neither reproduces nor tests the review\'s '
                "results.</p>")
    if v.citation is None:
        return '<p class="headline">No review map applies: there are no published results of a review to compare.</p>'
    n, ok = len(v.published), int(v.published["status"].eq("reproduced").sum()) if len(v.published) else 0
    if v.departs:
        changed = int(v.this_run["status"].eq("differs").sum()) if not v.this_run.empty else 0
        return (f'<p class="headline fail">This run departs from the review: {changed} of {len(v.this_run)} '
                "published results differ in this run, by design (the departures are named above).</p>")
    if v.pinned and n and ok == n and held:
        return (f'<p class="headline ok">Reproduced: all {n} published results of {e(v.citation.id)}, recomputed from '
                "the review's pinned data rows with its own settings, match to the printed digits.</p>")
    return f'<p class="headline fail">Not reproduced: {ok} of {n} published results match (see below).</p>'


def verdict_html(v: Verdict, counts: dict[str, int] | None, path: str, set_aside: int = 0,
                 settings: dict | None = None) -> str:
    """The verdict section (module docstring); ``counts`` from :func:`concordance_counts` without the analyses
    that gained a study (``v.changed_analyses``), ``set_aside`` the values of those analyses; ``path`` the input
    as the manifest records it; ``settings``: :func:`inferred_settings` of the run (None: the data carried
    their settings; its analyses with no estimable row are not pooled either)."""
    held, words = concordance_words(counts, v.synthetic)
    if set_aside:
        words += (f"; set aside: {set_aside} values of {', '.join(v.changed_analyses)}, which gained a study in this "
                  "run (RevMan's weights belong to the review's rows)")
    rows = [["input", _input(v, path)]]
    if v.citation is not None and not v.synthetic:
        if v.departs:
            engine = {True: "held", False: "did NOT hold", None: "not available"}[held]
            published = _published(v) if v.published_compared else ""
            rows.append(["engine vs RevMan, the package's settings", f"<strong>{engine}</strong>: {e(words)}"
                         + (f"; {int(v.published['status'].eq('reproduced').sum())} of {len(v.published)} published "
                            f"results reproduced{published}" if published else
                            " (the published pooled results belong to the pinned data rows: compared with this run "
                            "below)")])
            changed = int(v.this_run["status"].eq("differs").sum()) if not v.this_run.empty else 0
            rows.append(["this run vs the published results",
                         f"<strong>{'differs' if changed else 'same as published'}</strong> for {changed} of "
                         f"{len(v.this_run)}, because: {e('; '.join(v.departures))}" + _this_run(v)])
        else:
            rows.append(["published results (abstract)", _published(v)])
            rows.append(["RevMan's per-study values", e(words)])
    else:
        rows.append(["concordance", e(words)])
    if settings is not None:
        rows.append(["analysis settings", e(inferred_settings_words(settings))])
    rows.append(["trials", _trials(v)])
    rows.append(["not pooled", _not_pooled(v, settings)])
    if v.copies:
        note = " (as published)" if v.pinned else ""
        rows.append(["subgroup copies", "<br>".join(e(c) + note for c in v.copies)])
    body = "".join(f"<tr><th>{e(k)}</th><td>{cell}</td></tr>" for k, cell in rows)
    review = _review(v) if v.citation is not None else ""
    return (f'<section class="verdict">\n<h2>Verdict</h2>\n{review}{headline(v, held)}'
            f'<table class="facts"><tbody>{body}</tbody></table>\n</section>')

"""Where the review stands: its comparisons and analyses as the explorer lists them, the settings each analysis was
pooled with, the result the review printed, and the review's name.

- :func:`comparison_groups` / :func:`analyses_in` / :func:`first_analysis` - the review's own structure (comparison
  groups such as "1 Ketamine (intravenous) versus placebo", then their analyses "1.1", "1.2", ...);
- :func:`settings_arguments` - ``meta_analysis`` arguments for one analysis: the review's own
  (:func:`helpers.stats.settings.analysis_arguments`) with only what the user changed replaced;
- :func:`settings_words` - those settings in words, each with where it came from;
- :func:`published_line` - the result the review printed for an analysis and whether the recomputation reproduces
  it (the review map's ``published_results``, read by :mod:`helpers.stats.published`, for the review's pinned data
  rows; a package's own pooled results, judged by :func:`helpers.stats.concordance.judge`, otherwise);
- :func:`review_name` - "CD015373.pub2: <title>" for the data the review map pins, else the dataset's label.
"""

from __future__ import annotations

import re
import numpy as np
import pandas as pd

from helpers.core.checks import CI_METHODS, TAU2_METHODS, check_choice
from helpers.core.errors import NmdaError
from helpers.stats.settings import analysis_arguments

#: Words for the settings (RevMan's own terms).
METHOD_WORDS = {"IV": "inverse variance", "MH": "Mantel-Haenszel", "Peto": "Peto"}
MODEL_WORDS = {"random": "random effects", "fixed": "fixed effect"}
TAU2_WORDS = {"DL": "DerSimonian-Laird", "REML": "REML", "PM": "Paule-Mandel"}
CI_NAME = {"z": "Wald (z)", "hksj": "Hartung-Knapp-Sidik-Jonkman (HKSJ)"}
#: Methods defined for inverse-variance weights only (Viechtbauer 2005, J Educ Behav Stat 30:261).
IV_ONLY = ("REML", "PM")


def _key(analysis_id) -> tuple:
    return tuple(int(x) for x in str(analysis_id).split(".") if x.isdigit())


def _group(analysis_id) -> str:
    return str(analysis_id).split(".")[0]


def comparison_groups(rows: pd.DataFrame, drug: str | None = None) -> dict[str, str]:
    """Comparison group number -> its name ("1" -> "Ketamine (intravenous) versus placebo"), in number order;
    ``drug`` keeps the groups of that drug (``None`` or ``""``: all). A group without a name is called by its
    number ("Comparison 9")."""
    picked = rows if not drug else rows[rows["drug"] == drug]
    out: dict[str, str] = {}
    for aid in sorted(picked["analysis_id"].unique(), key=_key):
        group = _group(aid)
        if group not in out:
            names = picked.loc[picked["analysis_id"] == aid, "comparison"].dropna() if "comparison" in picked else []
            out[group] = str(names.iloc[0]) if len(names) else f"Comparison {group}"
    return out


def drugs_in_order(rows: pd.DataFrame) -> list[str]:
    """The drugs of the analyses in the order of their first comparison group (empty in the generic mode)."""
    order = rows.sort_values("analysis_id", key=lambda ids: ids.map(_key), kind="stable")
    return list(dict.fromkeys(order["drug"].dropna())) if "drug" in rows else []


def analyses_in(rows: pd.DataFrame, group: str) -> dict[str, str]:
    """Analysis id -> its name for the analyses of comparison ``group``, in number order."""
    picked = rows[rows["analysis_id"].map(_group) == str(group)]
    names = picked.groupby("analysis_id", sort=False)["analysis_name"].first()
    return {aid: str(names[aid]) for aid in sorted(names.index, key=_key)}


def first_analysis(rows: pd.DataFrame, group: str) -> str:
    """The analysis a comparison opens at: its first analysis with at least two studies (something to pool and
    vary), else its first analysis."""
    ids = list(analyses_in(rows, group))
    if not ids:
        raise ValueError(f"comparison {group!r} has no analysis; known: {', '.join(comparison_groups(rows))}")
    k = rows[rows["analysis_id"].isin(ids)].groupby("analysis_id")["study"].nunique()
    return next((a for a in ids if k.get(a, 0) >= 2), ids[0])


def settings_arguments(rows: pd.DataFrame, tau2_method: str | None = None,
                       ci: str | None = None) -> tuple[pd.DataFrame, dict, tuple[str, ...]]:
    """(rows, meta_analysis keyword arguments, notes) for one analysis: the review's own settings
    (:func:`~helpers.stats.settings.analysis_arguments`), with the model and tau² tau2_method replaced when
    ``tau2_method`` is given (``FE`` = fixed effect) and the CI method when ``ci`` is given. Everything else (measure,
    statistical method, level, subgroups, swapped events) stays the review's; a Mantel-Haenszel or Peto analysis
    switches to inverse variance for REML and Paule-Mandel (defined for inverse-variance weights only), and the
    notes say so."""
    rows, kwargs, notes = analysis_arguments(rows)
    notes = list(notes)
    if tau2_method is not None:
        check_choice("tau2_method", tau2_method, TAU2_METHODS)
        if tau2_method == "FE":
            kwargs.update(model="fixed", ci="z")
            if kwargs["method"] == "Peto" and kwargs["measure"] != "OR":
                kwargs["method"] = "IV"
        else:
            kwargs.update(model="random", tau2_method=tau2_method)
            if kwargs["method"] == "Peto" or (tau2_method in IV_ONLY and kwargs["method"] != "IV"):
                notes.append(f"{TAU2_WORDS[tau2_method]} needs inverse-variance weights: the review's "
                             f"{METHOD_WORDS[kwargs['method']]} pooling is replaced by inverse variance")
                kwargs["method"] = "IV"
    if ci is not None:
        check_choice("ci", ci, CI_METHODS)
        kwargs["ci"] = ci if kwargs["model"] == "random" else "z"
    return rows, kwargs, tuple(notes)


def settings_words(kwargs: dict, rows: pd.DataFrame | None = None) -> str:
    """``"MD, inverse variance, random effects (DerSimonian-Laird), Wald (z) CI, 95%"``; with ``rows`` (the
    analysis' tidy rows), a setting the data do not give says it is RevMan's default."""
    given = {c: rows is not None and c in rows and rows[c].notna().any() for c in ("tau2_method", "ci_method")}
    model = MODEL_WORDS[kwargs["model"]]
    if kwargs["model"] == "random":
        tau2 = TAU2_WORDS.get(kwargs["tau2_method"], kwargs["tau2_method"])
        model += f" ({tau2}{'' if rows is None or given['tau2_method'] else ', RevMan default: not in the data'})"
    ci = CI_NAME[kwargs["ci"]] + " CI"
    if rows is not None and not given["ci_method"]:
        ci += " (RevMan default: not in the data)"
    return (f"{kwargs['measure']}, {METHOD_WORDS.get(kwargs['method'], kwargs['method'])}, {model}, {ci}, "
            f"{100 * kwargs.get('level', 0.95):g}%")


# ------------------------------------------------------------------------------------------ what was printed


_PRINTED: dict[tuple[str, str], pd.DataFrame | None] = {}


def _printed_table(dataset) -> pd.DataFrame | None:
    """The review's printed results against their recomputation (helpers.stats.published), for the review's pinned
    data rows only; None for any other data or without a review map. Computed once per review and data (the same
    data give the same answer; the review map is read once)."""
    if dataset.generic or not dataset.review:
        return None
    key = (str(dataset.review), dataset.sha256)
    if key not in _PRINTED:
        from helpers.stats.published import published_concordance

        try:
            printed = published_concordance(dataset, dataset.review)
        except NmdaError:  # no review map for these data: nothing printed to compare with
            printed = None
        _PRINTED[key] = printed.table if printed is not None and printed.compared else None
    return _PRINTED[key]


def _package_line(dataset, analysis_id: str, meta) -> str | None:
    """A package's own overall result for the analysis against ``meta`` (recomputed with the review's settings),
    judged at RevMan's precision (helpers.stats.concordance.judge); None when the package prints none."""
    from helpers.stats.concordance import judge

    pub = dataset.published
    if pub is None or pub.empty or "level" not in pub:
        return None
    row = pub[(pub["level"] == "overall") & (pub["analysis_id"] == str(analysis_id))]
    if row.empty or not np.isfinite(row["estimate"].iloc[0]):
        return None
    r = row.iloc[0]
    ours = [float(meta.display(getattr(meta.overall, n))) for n in ("estimate", "ci_low", "ci_high")]
    ok = all(judge(float(r[n]), v)[0] for n, v in zip(("estimate", "ci_low", "ci_high"), ours))
    whose = "the package's own result (synthetic)" if dataset.synthetic else "the package's own result"
    return (f"{whose}: {meta.measure} {r['estimate']:.2f} [{r['ci_low']:.2f}, {r['ci_high']:.2f}], "
            f"{'reproduced' if ok else 'not reproduced'} by the recomputation with the review's settings")


def published_line(dataset, analysis_id: str, review_meta) -> str:
    """What the review printed for ``analysis_id`` and whether the recomputation with the review's settings
    (``review_meta``) reproduces it, in one line, e.g. ``"published: -15.79 [-32.09, 0.51], reproduced"``."""
    table = _printed_table(dataset)
    if table is not None:
        hit = table[table["analysis_id"] == str(analysis_id)]
        if not hit.empty:
            r = hit.iloc[0]
            value = re.sub(r"^\w+ (\S+) \((\S+) to (\S+)\)$", r"\1 [\2, \3]", str(r["published"]))
            done = ("reproduced with the review's settings" if r["status"] == "reproduced" else
                    f"{r['status']} with the review's settings ({r['detail']})")
            return f"published: {r['measure']} {value}, {done} (the review's abstract and key messages)"
        printed = ", ".join(table["analysis_id"])
        return (f"published: the review prints no pooled result for {analysis_id} in its abstract (it prints "
                f"{printed}); the recomputation uses the review's settings")
    line = _package_line(dataset, analysis_id, review_meta)
    if line is not None:
        return line
    inferred = settings_evidence_words(dataset, analysis_id)
    if inferred is not None:
        return (f"published: the data rows carry RevMan's per-study values, no pooled result to compare with; "
                f"{inferred}")
    return "published: no printed result of the review for these data to compare with"


def settings_evidence_words(dataset, analysis_id: str) -> str | None:
    """How the settings of ``analysis_id`` were read off RevMan's per-study values (``dataset.settings_evidence``,
    :func:`helpers.stats.infer.settle`), in words with the evidence; None when the data carry their settings."""
    from helpers.stats.infer import STATUSES

    evidence = getattr(dataset, "settings_evidence", None)
    hit = None if evidence is None else evidence[evidence["analysis_id"] == str(analysis_id)]
    if hit is None or hit.empty:
        return None
    r = hit.iloc[0]
    setting = f"{r['measure']}, {METHOD_WORDS.get(r['method'], r['method'])}, {MODEL_WORDS.get(r['model'], r['model'])}"
    studies = f"{r['estimable']} {'study' if r['estimable'] == 1 else 'studies'} RevMan estimated"
    if r["status"] == STATUSES[0]:
        return f"settings read off them: {setting} reproduces the estimate, CI and weight of the {studies}"
    if r["status"] == STATUSES[1]:
        return (f"settings read off them: {setting} reproduces the {studies}; this analysis alone does not tell "
                f"the method or model apart ({r['note']})")
    diffs = ", ".join(f"{q} {r[f'max_diff_{q}']:.3g}" for q in ("estimate", "ci", "weight"))
    return (f"settings read off them: FLAGGED, no candidate setting reproduces the {studies}; the closest, "
            f"{setting}, is used (largest differences: {diffs})")


_NAMES: dict[tuple[str, str], str] = {}


def review_name(dataset) -> str:
    """The review the data belong to: "Cochrane review CD015373.pub2: <title>" when the data are the review map's
    pinned data rows (the version read off the map's source), else the dataset's label (once per review and data)."""
    label = str(dataset.label)
    if dataset.synthetic or dataset.generic or not dataset.review:
        return label
    key = (str(dataset.review), dataset.sha256)
    if key not in _NAMES:
        _NAMES[key] = _review_name(dataset, label)
    return _NAMES[key]


def _review_name(dataset, label: str) -> str:
    from helpers.data.fetch import review_source
    from helpers.data.reviewmap import load_review_map

    try:
        source, title = review_source(dataset.review), load_review_map(dataset.review).title
    except NmdaError:  # no map or no source section: the label is all we know
        return label
    if source.sha256 != dataset.sha256:
        return f"{label} (review map {dataset.review}: {title})"
    version = re.search(rf"{re.escape(str(dataset.review))}\.pub\d+", source.label + " " + source.provenance)
    return f"Cochrane review {version.group(0) if version else dataset.review}: {title}"

"""Adverse-event breakdown: psychotomimetic effects vs nausea vs vomiting, by drug and route.

For each outcome x drug x route: the crude event proportion per arm (sum of events / sum of participants across
the studies, experimental and control) and the pooled risk ratio by Mantel-Haenszel
(``helpers.stats.pooling.mantel_haenszel``, RevMan's method: Greenland & Robins 1985; random effects = DerSimonian-Laird
on the MH-based Q, Cochrane Handbook 10.4.1/10.10.4). The figure is a grid of small multiples (top row: proportions,
bottom row: RR [95% CI] on a log axis; one column per outcome); the companion table holds every number drawn.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator

from helpers.core import checks
from helpers.figures import style
from helpers.stats.pooling import mantel_haenszel
from helpers.data.schema import COMPARATORS

AE_OUTCOMES = ("psychotomimetic", "nausea", "vomiting")
OUTCOME_TITLES = {"psychotomimetic": "Psychotomimetic effects", "nausea": "Nausea", "vomiting": "Vomiting"}
TABLE_COLUMNS = ("outcome", "drug", "route", "comparator", "k", "studies", "events_e", "n_e", "events_c", "n_c",
                 "prop_e", "prop_c", "rr", "rr_ci_low", "rr_ci_high", "i2", "model", "notes")  # fmt: skip
_NEEDED = ("outcome", "drug", "route", "comparator", "study", "analysis_id", "data_type", "events_e", "n_e",
           "events_c", "n_c")  # fmt: skip


def _group_table(dataset: Any, model: str, comparator: str | None) -> tuple[pd.DataFrame, list[str]]:
    rows = dataset.rows
    missing = [c for c in _NEEDED if c not in rows.columns]
    if missing:
        raise ValueError(f"dataset.rows lacks column(s) {', '.join(missing)} ({dataset.label})")
    ae = rows[rows["outcome"].isin(AE_OUTCOMES)]
    if comparator is not None:
        ae = ae[ae["comparator"] == comparator]
    if ae.empty:
        raise ValueError(f"no rows with outcome in {', '.join(AE_OUTCOMES)} and comparator {comparator!r} in "
                         f"{dataset.label}")
    records, all_notes = [], []
    keys = ["outcome", "drug", "route", "comparator"]
    for (outcome, drug, route, comp), g in ae.groupby(keys, sort=False, dropna=False):
        notes = []
        not_dich = g[g["data_type"] != "dichotomous"]
        if len(not_dich):
            notes.append(f"{len(not_dich)} non-dichotomous row(s) not used: {', '.join(not_dich['study'])}")
        g = g[g["data_type"] == "dichotomous"]
        dup = g[g.duplicated("study", keep="first")]
        if len(dup):
            notes.append("studies in more than one analysis, first row used: "
                         + ", ".join(f"{r.study} (analysis {r.analysis_id})" for r in dup.itertuples()))
        g = g.drop_duplicates("study", keep="first")
        rec = dict(outcome=outcome, drug=drug, route=route, comparator=comp, k=len(g),
                   studies="; ".join(g["study"]), model=model)
        for col in ("events_e", "n_e", "events_c", "n_c"):
            rec[col] = float(g[col].sum())
        rec["prop_e"] = rec["events_e"] / rec["n_e"] if rec["n_e"] else np.nan
        rec["prop_c"] = rec["events_c"] / rec["n_c"] if rec["n_c"] else np.nan
        rec.update(rr=np.nan, rr_ci_low=np.nan, rr_ci_high=np.nan, i2=np.nan)
        if len(g):
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    res = mantel_haenszel(g["events_e"], g["n_e"], g["events_c"], g["n_c"], "RR", model=model,
                                          labels=list(g["study"]))
                notes += [str(w.message) for w in caught]
                rec.update(rr=float(np.exp(res.estimate)), rr_ci_low=float(np.exp(res.ci_low)),
                           rr_ci_high=float(np.exp(res.ci_high)), i2=float(res.i2))
            except ValueError as err:  # e.g. every study double-zero: RR not estimable
                notes.append(f"RR not estimable: {err}")
        rec["notes"] = " | ".join(dict.fromkeys(notes))
        for note in dict.fromkeys(notes):
            all_notes.append(f"{outcome} / {drug} / {route} / {comp}: {note}")
        records.append(rec)
    table = pd.DataFrame.from_records(records, columns=list(TABLE_COLUMNS))
    table["outcome"] = pd.Categorical(table["outcome"], AE_OUTCOMES, ordered=True)
    table = table.sort_values(keys, kind="stable").reset_index(drop=True)
    table["outcome"] = table["outcome"].astype(str)
    return table, all_notes


def ae_breakdown(dataset: Any, *, model: str = "random", comparator: str | None = "placebo"
                 ) -> tuple[Figure, pd.DataFrame]:
    """Small multiples of adverse events (psychotomimetic, nausea, vomiting) by drug and route; returns
    ``(figure, table)``. ``comparator`` (one of ``helpers.data.schema.COMPARATORS``, default placebo) keeps those rows;
    None keeps all, each comparator its own row, never pooled together. ``table`` has one row per outcome x drug x
    route x comparator with ``k``, the summed arm counts,
    crude proportions ``prop_e``/``prop_c`` = sum(events)/sum(N), and the pooled Mantel-Haenszel RR
    (``model`` in ``helpers.core.checks.MODELS``) with its 95% CI and I²; ``notes`` records every study row not used
    and every warning of the pooling (also re-warned). The footer names the dataset (synthetic note included).
    """
    checks.check_choice("model", model, checks.MODELS)
    if comparator is not None:
        checks.check_choice("comparator", comparator, COMPARATORS)
    if not (hasattr(dataset, "rows") and hasattr(dataset, "label") and hasattr(dataset, "synthetic")):
        raise TypeError(f"dataset must be a helpers.data.dataset.Dataset; got {type(dataset).__name__}")
    table, notes = _group_table(dataset, model, comparator)
    for note in notes:
        warnings.warn(note, checks.MetaWarning, stacklevel=2)
    return _draw(table, style.footer_text(dataset)), table


def _draw(table: pd.DataFrame, footer: str) -> Figure:
    keys = ["drug", "route", "comparator"]
    groups = [tuple(g) for g in table[keys].drop_duplicates().sort_values(keys).itertuples(index=False)]
    several = table["comparator"].nunique() > 1
    labels = [f"{d}, {r}" + (f" vs {c.replace('_', ' ')}" if several else "") for d, r, c in groups]
    ypos = {g: i for i, g in enumerate(groups)}
    n = len(labels)
    panel_h = max(1.0, 0.16 * n + 0.35)  # inches
    with style.figure_style():
        fig = Figure(figsize=(style.WIDTH_CM["double"] * style.CM, 2 * panel_h + 1.25))
        axes = fig.subplots(2, len(AE_OUTCOMES), sharey=True, squeeze=False)
        fig.subplots_adjust(left=0.2, right=0.98, top=1 - 0.35 / (2 * panel_h + 1.25),
                            bottom=0.75 / (2 * panel_h + 1.25), hspace=0.55, wspace=0.25)
        finite_ci = table[["rr_ci_low", "rr_ci_high"]].to_numpy(dtype=float)
        finite_ci = finite_ci[np.isfinite(finite_ci) & (finite_ci > 0)]
        lo = min(0.1, finite_ci.min() / 1.3) if finite_ci.size else 0.1
        hi = max(10.0, finite_ci.max() * 1.3) if finite_ci.size else 10.0
        for j, outcome in enumerate(AE_OUTCOMES):
            sub = table[table["outcome"] == outcome]
            y = np.array([ypos[tuple(g)] for g in sub[keys].itertuples(index=False)], dtype=float)
            top, bottom = axes[0, j], axes[1, j]
            top.set_title(OUTCOME_TITLES[outcome], fontsize=8, fontweight="bold")
            top.scatter(sub["prop_e"], y - 0.12, s=14, marker="o", color=style.OKABE_ITO["vermillion"],
                        label="Experimental", zorder=3, gid=f"prop_e:{outcome}")
            top.scatter(sub["prop_c"], y + 0.12, s=14, marker="s", color=style.OKABE_ITO["blue"],
                        label="Control", zorder=3, gid=f"prop_c:{outcome}")
            pmax = np.nanmax(sub[["prop_e", "prop_c"]].to_numpy(dtype=float), initial=0.0)
            top.set_xlim(0, min(1.0, max(0.1, np.ceil(pmax * 1.25 * 10) / 10)))
            top.xaxis.set_major_locator(MaxNLocator(nbins=3))
            top.set_xlabel("Event proportion")
            est = sub["rr"].to_numpy(dtype=float)
            err = np.vstack([est - sub["rr_ci_low"], sub["rr_ci_high"] - est])
            bottom.errorbar(est, y, xerr=err, fmt="D", ms=3.5, color="black", ecolor="black", elinewidth=0.8,
                            capsize=0, gid=f"rr:{outcome}")
            bottom.set_xscale("log")
            bottom.set_xlim(lo, hi)
            bottom.axvline(1, color="#777777", lw=0.6, zorder=0)
            bottom.set_xlabel("Risk ratio (M-H), log scale")
            for yy, k, e in zip(y, sub["k"], est, strict=True):
                top.annotate(f"k={k}" if np.isfinite(e) else f"k={k}, RR n.e.", xy=(1, yy),
                             xycoords=("axes fraction", "data"), xytext=(-2, 0), textcoords="offset points",
                             ha="right", va="center", fontsize=5.5, color="#444444")
            bottom.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0,)))
            bottom.xaxis.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0)))
            bottom.xaxis.set_major_formatter(FuncFormatter(lambda t, _: f"{t:g}"))
            for ax in (top, bottom):
                ax.grid(axis="y", color="#eeeeee", lw=0.5)
                ax.set_ylim(n - 0.5, -0.5)
                ax.set_yticks(range(n), labels)
        handles, names = axes[0, 0].get_legend_handles_labels()
        fig.legend(handles, names, loc="lower right", ncol=2, frameon=False, fontsize=6.5, handletextpad=0.2,
                   bbox_to_anchor=(0.99, 0.0))
        style.draw_footer(fig, footer)
    return fig

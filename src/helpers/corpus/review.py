"""One review of a corpus: loaded, settled, every analysis pooled with its inferred settings, checked.

:func:`pool_review` reads one file with :func:`helpers.data.dataset.load_dataset`, gives analyses without
settings the ones that reproduce RevMan's per-study values (:func:`helpers.stats.infer.settle`, evidence kept),
pools each analysis as RevMan does (:func:`helpers.stats.meta.meta_analysis` with
:func:`helpers.stats.settings.analysis_arguments`) and counts RevMan's per-study values (estimate, CI ends,
weight) the recomputation reproduces (:func:`helpers.stats.concordance.concordance`: ``ok`` against ``mismatch``
and ``not recomputed``; ``not published`` and ``not estimable`` are not compared). A file the reader refuses
gives a summary row with the one-line reason and no table; nothing is raised.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.core.checks import InputError
from helpers.core.errors import NmdaError, one_line
from helpers.data.dataset import load_dataset
from helpers.data.tidy import iter_analyses
from helpers.stats.concordance import concordance
from helpers.stats.infer import STATUSES, settle
from helpers.stats.meta import meta_analysis
from helpers.stats.settings import analysis_arguments

ANALYSIS_COLUMNS = ("analysis_id", "analysis_name", "data_type", "measure", "method", "model", "tau2_method", "ci",
                    "k", "estimate", "ci_low", "ci_high", "tau2", "i2", "study_values_compared",
                    "study_values_reproduced", "settings_status", "settings_identified", "note")  # fmt: skip
SUMMARY_COLUMNS = ("review", "file", "status", "reason", "analyses", "analyses_pooled", "settings_flagged",
                   "study_values_compared", "study_values_reproduced")  # fmt: skip
COMPARED = ("ok", "mismatch", "not recomputed")  # concordance statuses that judge a published study value


def review_name(path: Path) -> str:
    """The review a file holds, from its name (``CD000219_pub5_data.rda`` -> ``CD000219_pub5``)."""
    stem = Path(path).name.split(".")[0]
    return stem.removesuffix("_data").removesuffix("-data-rows")


def _pooled(rows: pd.DataFrame, ma=None) -> dict:
    """The analysis pooled with its own settings: overall k, estimate and CI (display scale), tau², I²; ``ma``:
    that fit when the concordance made it already."""
    rows, kwargs, notes = analysis_arguments(rows)
    out = {"tau2_method": kwargs["tau2_method"] if kwargs["model"] == "random" else "",
           "ci": kwargs["ci"], "note": "; ".join(notes)}
    try:
        ma = ma or meta_analysis(rows.reset_index(drop=True), **kwargs)
    except (InputError, ValueError) as exc:
        return out | {"k": 0, "note": "; ".join(filter(None, [out["note"], f"not pooled: {exc}"]))}
    o = ma.overall
    out.update(k=o.k, estimate=float(ma.display(o.estimate)), ci_low=float(ma.display(o.ci_low)),
               ci_high=float(ma.display(o.ci_high)), tau2=o.tau2 if kwargs["model"] == "random" else np.nan,
               i2=o.i2)
    return out


def pool_review(path: Path | str) -> tuple[dict, pd.DataFrame | None]:
    """(summary row, one row per analysis) for the review in ``path``; (row with the reason, None) if refused."""
    path = Path(path)
    summary = dict.fromkeys(SUMMARY_COLUMNS, np.nan) | {"review": review_name(path), "file": path.name}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the dataset records its warnings; the table carries the notes
            ds = settle(load_dataset(path))
            fits: dict = {}
            checks = concordance(ds, fits=fits)
            records = [{"analysis_id": aid, "analysis_name": settings["analysis_name"],
                        "data_type": settings["data_type"], "measure": settings["measure"],
                        "method": settings["method"], "model": settings["model"]} | _pooled(rows, fits.get(aid))
                       for aid, settings, rows in iter_analyses(ds)]
    except NmdaError as exc:
        return summary | {"status": "refused", "reason": one_line(exc).removeprefix("error: ")}, None
    except Exception as exc:  # a defect of ours: said on one line, the other files go on
        return summary | {"status": "failed", "reason": f"{type(exc).__name__}: {one_line(exc)[7:]}"}, None
    table = pd.DataFrame.from_records(records).reindex(columns=list(ANALYSIS_COLUMNS))
    study = checks[(checks["level"] == "study") & checks["status"].isin(COMPARED)]
    by = study.groupby("analysis_id")["status"]
    table["study_values_compared"] = table["analysis_id"].map(by.size()).fillna(0).astype(int)
    table["study_values_reproduced"] = table["analysis_id"].map(by.apply(lambda s: int((s == "ok").sum()))) \
        .fillna(0).astype(int)
    evidence = ds.settings_evidence
    if evidence is not None:
        ev = evidence.set_index("analysis_id")
        table["settings_status"] = table["analysis_id"].map(ev["status"])
        table["settings_identified"] = table["analysis_id"].map(ev["identified"])
    else:
        table["settings_status"] = "in the data"
    flagged = int(table["settings_status"].isin(STATUSES[2:]).sum())  # no candidate reproduces
    return summary | {"status": "loaded", "reason": "", "analyses": len(table),
                      "analyses_pooled": int(table["estimate"].notna().sum()), "settings_flagged": flagged,
                      "study_values_compared": len(study),
                      "study_values_reproduced": int((study["status"] == "ok").sum())}, table

"""The real review's shape, read from the ``shape:`` section of its review map (``data/reviews/<review>.yaml``).

The section is written by ``scripts/review_shape.py`` from the review's data rows (source named in it): per
analysis its name, data type, effect measure, method and model, subgroup analysis and the anonymous trial slots
entering it. It is structure, not results, so the generator needs no real data at run time. Each analysis
group's drug, route, comparator and name come from the same map's ``comparisons``, each analysis' outcome and
time point from its keyword rules (:mod:`helpers.data.reviewmap`) and its effect measure, method and model from
its ``analysis_settings`` (:func:`helpers.data.datarows.review_settings`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from helpers.data.datarows import review_settings
from helpers.data.reviewmap import ReviewMap, load_review_map

SUBGROUP_SUFFIX = re.compile(r":\s*[^:]+ subgroup analysis$")


class ShapeError(ValueError):
    """The review map has no usable ``shape:`` section; the message names the file and the key."""


@dataclass(frozen=True)
class AnalysisShape:
    """One analysis of the real review, without its data. ``rows``: ((subgroup or None, slot), ...)."""

    analysis_id: str
    group: int
    number: int
    name: str
    comparison: str
    drug: str
    route: str
    comparator: str
    outcome: str | None
    timepoint: str | None
    data_type: str
    measure: str
    method: str
    model: str
    subgroup_by: str | None
    rows: tuple

    @property
    def base(self) -> str:
        """The analysis name without its subgroup-analysis suffix: analyses sharing it share their data."""
        return " ".join(SUBGROUP_SUFFIX.sub("", self.name).lower().replace("follow up", "follow-up").split())


@dataclass(frozen=True)
class ReviewShape:
    """The shape of a review: trials and participants in total, trial slots with data, analyses in order."""

    source: dict
    trials: int
    participants: int
    slots: tuple  # slot ids in order of first appearance
    analyses: tuple  # AnalysisShape, ...
    path: Path

    def slot_groups(self, slot: str) -> list[int]:
        """Analysis groups a trial slot contributes to, in order."""
        return sorted({a.group for a in self.analyses if any(s == slot for _, s in a.rows)})


def load_shape(review: str | Path = "cd015373", review_map: ReviewMap | None = None) -> ReviewShape:
    """Read the ``shape:`` section of a review map; fill each analysis' comparison and outcome from the map."""
    rmap = load_review_map(review) if review_map is None else review_map
    doc = yaml.safe_load(rmap.path.read_text(encoding="utf-8"))
    shape = doc.get("shape") if isinstance(doc, dict) else None
    if not isinstance(shape, dict) or not isinstance(shape.get("analyses"), dict):
        raise ShapeError(f"{rmap.path}: no 'shape:' section with 'analyses' (write it: scripts/review_shape.py)")
    settings, _ = review_settings(rmap.path)
    analyses, slots = [], {}
    for aid, spec in shape["analyses"].items():
        comp = rmap.comparison(aid)
        if comp is None:
            raise ShapeError(f"{rmap.path}: shape.analyses.{aid}: analysis group has no 'comparisons' entry")
        if str(aid) not in settings:
            raise ShapeError(f"{rmap.path}: shape.analyses.{aid}: no 'analysis_settings' entry (measure, method, model)")
        setting = settings[str(aid)]
        if "subgroups" in spec:
            rows = tuple((sg, slot) for sg, members in spec["subgroups"].items() for slot in members)
        else:
            rows = tuple((None, slot) for slot in spec["rows"])
        for _, slot in rows:
            slots.setdefault(slot, None)
        mapped = rmap.classify(comp["name"], spec["name"], None, aid)
        group, number = (int(x) for x in str(aid).split("."))
        analyses.append(AnalysisShape(
            str(aid), group, number, spec["name"], comp["name"], comp["drug"], comp["route"], comp["comparator"],
            mapped.get("outcome"), mapped.get("timepoint"), spec["data_type"], setting["measure"],
            setting["method"], setting["model"], spec.get("subgroup_by"), rows,
        ))  # fmt: skip
    return ReviewShape(source=dict(shape.get("source", {})), trials=int(shape["trials"]),
                       participants=int(shape["participants"]), slots=tuple(slots), analyses=tuple(analyses),
                       path=rmap.path)  # fmt: skip

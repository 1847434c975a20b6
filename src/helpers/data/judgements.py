"""What the certainty assist (:mod:`helpers.stats.certainty`) reads beside the data: the minimal important
differences (MID) of the review map's ``certainty:`` section, and the authors' GRADE judgements.

The review map (``data/reviews/<review>.yaml``) may hold::

    certainty:
      mid:                      # per outcome (schema.OUTCOMES), on the outcome's own scale
        pain_intensity: 10      # points on a 0-100 scale
      mid_source: >-            # where each MID comes from (required when ``mid`` is given)
        ...

The authors' judgements live in ``data/reviews/judgements/<review>.yaml`` (a sub-folder, so that the review
maps found by ``data/reviews/*.yaml`` never include it)::

    review: CD015373
    source: >-                  # where the judgements come from (required when any is given)
      ...
    judgements:                 # by analysis id; any of DOMAINS; rating one of RATINGS
      "1.1":
        indirectness: {rating: serious, reason: "..."}

A judgement replaces the assist's proposal for that domain and is shown as the authors' (never invented: the
committed file for CD015373 holds none). Every problem is one ``JudgementsError`` naming the file and key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from helpers.core import paths
from helpers.core.errors import DataError
from helpers.data.schema import OUTCOMES

#: The five GRADE domains, in the order GRADEpro lists them.
DOMAINS = ("risk_of_bias", "inconsistency", "indirectness", "imprecision", "publication_bias")
#: Ratings of one domain and the levels each costs (GRADE: -1 serious, -2 very serious).
RATINGS = ("no concern", "serious", "very serious")
DOWNGRADE = {"no concern": 0, "serious": 1, "very serious": 2}
JUDGEMENTS_DIR = paths.REVIEWS / "judgements"


class JudgementsError(DataError):
    """The ``certainty:`` section of a review map or a judgements YAML is malformed."""


@dataclass(frozen=True)
class CertaintyInputs:
    """MIDs by outcome (with their source) and the authors' judgements by analysis id and domain."""

    mid: dict = field(default_factory=dict)
    mid_source: str | None = None
    judgements: dict = field(default_factory=dict)  # {"1.1": {"indirectness": ("serious", "reason")}}
    judgements_source: str | None = None
    judgements_path: str | None = None

    def judgement(self, analysis_id: str, domain: str) -> tuple[str, str] | None:
        """The authors' ``(rating, reason)`` for one analysis and domain, or None."""
        return self.judgements.get(str(analysis_id), {}).get(domain)


def _yaml(path: Path) -> dict:
    try:
        doc = yaml.safe_load(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise JudgementsError(f"{path}: not valid UTF-8 (byte {exc.start}): {exc.reason}") from exc
    except (yaml.YAMLError, RecursionError) as exc:
        raise JudgementsError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from exc
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise JudgementsError(f"{path}: top level must be a mapping")
    return doc


def _mids(path: Path, section) -> tuple[dict, str | None]:
    if section is None:
        return {}, None
    if not isinstance(section, dict):
        raise JudgementsError(f"{path}: certainty: expected a mapping with 'mid' and 'mid_source'")
    mids = section.get("mid") or {}
    if not isinstance(mids, dict):
        raise JudgementsError(f"{path}: certainty.mid: expected outcome: value")
    for outcome, value in mids.items():
        if outcome not in OUTCOMES:
            raise JudgementsError(f"{path}: certainty.mid.{outcome}: unknown outcome; allowed: {', '.join(OUTCOMES)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise JudgementsError(f"{path}: certainty.mid.{outcome}: expected a positive number; got {value!r}")
    source = section.get("mid_source")
    if mids and not (isinstance(source, str) and source.strip()):
        raise JudgementsError(f"{path}: certainty.mid_source: say where the MIDs come from")
    return {k: float(v) for k, v in mids.items()}, (source.strip() if mids else None)


def _judgements(path: Path) -> tuple[dict, str | None]:
    doc = _yaml(path)
    entries = doc.get("judgements") or {}
    if not isinstance(entries, dict):
        raise JudgementsError(f"{path}: judgements: expected analysis id: {{domain: {{rating, reason}}}}")
    out = {}
    for aid, domains in entries.items():
        if not isinstance(domains, dict):
            raise JudgementsError(f"{path}: judgements.{aid}: expected domain: {{rating, reason}}")
        for domain, entry in domains.items():
            where = f"{path}: judgements.{aid}.{domain}"
            if domain not in DOMAINS:
                raise JudgementsError(f"{where}: unknown domain; allowed: {', '.join(DOMAINS)}")
            if not isinstance(entry, dict) or entry.get("rating") not in RATINGS:
                raise JudgementsError(f"{where}.rating: must be one of {', '.join(RATINGS)}; got "
                                      f"{entry.get('rating') if isinstance(entry, dict) else entry!r}")
            reason = entry.get("reason")
            if not (isinstance(reason, str) and reason.strip()):
                raise JudgementsError(f"{where}.reason: the authors' reason is required")
            out.setdefault(str(aid), {})[domain] = (entry["rating"], reason.strip())
    source = doc.get("source")
    if out and not (isinstance(source, str) and source.strip()):
        raise JudgementsError(f"{path}: source: say where the judgements come from")
    return out, (source.strip() if out else None)


def load_certainty_inputs(review: str | None, review_map: Path | None = None,
                          judgements: Path | None = None) -> CertaintyInputs:
    """MIDs from the review map of ``review`` (``data/reviews/<review>.yaml``, or ``review_map``) and the
    authors' judgements from ``data/reviews/judgements/<review>.yaml`` (or ``judgements``); an absent file
    gives none (the generic mode has no review map)."""
    name = None if review is None else str(review).lower()
    map_path = review_map if review_map is not None else (paths.REVIEWS / f"{name}.yaml" if name else None)
    mid, mid_source = ({}, None)
    if map_path is not None and Path(map_path).is_file():
        mid, mid_source = _mids(Path(map_path), _yaml(Path(map_path)).get("certainty"))
    j_path = judgements if judgements is not None else (JUDGEMENTS_DIR / f"{name}.yaml" if name else None)
    found, source = ({}, None)
    if j_path is not None and Path(j_path).is_file():
        found, source = _judgements(Path(j_path))
    shown = None
    if j_path is not None and Path(j_path).is_file():  # named relative to the project, never this machine's path
        full = Path(j_path).absolute()
        shown = str(full.relative_to(paths.PROJECT_ROOT)) if full.is_relative_to(paths.PROJECT_ROOT) else full.name
    return CertaintyInputs(mid, mid_source, found, source, shown)

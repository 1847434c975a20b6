"""Where a run's data come from, in words that follow the bytes: the review a map describes and whether an input
is the review's pinned file.

:func:`review_citation` reads the review map's ``title``, ``citation:`` (id, authors, year, journal, DOI) and the
review's number of included trials (``shape.trials``) as a :class:`Citation`. :func:`derived_label` is what
every banner, figure footer and table calls data that started as the review's pinned data rows but whose bytes
differ (rows added or edited): ``derived from CD015373.pub2 data rows, modified (SHA-256 1a2b3c4d5e6f)``, never
the published label of the pinned file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from helpers.core import paths
from helpers.data.reviewmap import ReviewMapError, load_review_map

#: Hex digits of a SHA-256 shown in a label (the full digest is in the manifest).
SHORT_SHA = 12


@dataclass(frozen=True)
class Citation:
    """The review a map describes: ``id`` (``CD015373.pub2``), title, authors, year, journal, DOI, the number of
    trials it included (``trials``; None when the map does not say), the pinned data file's SHA-256 and name, and
    the map file itself."""

    id: str
    title: str
    authors: str
    year: int | None
    journal: str
    doi: str
    trials: int | None
    pinned_sha256: str | None
    pinned_file: str | None
    map: str = ""  # the review map file, relative to the project (data/reviews/cd015373.yaml)

    def __str__(self) -> str:
        year = f" {self.year}" if self.year else ""
        return (f"{self.authors}. {self.title}. {self.journal}{year}, {self.id}"
                + (f" (doi:{self.doi})" if self.doi else ""))

    @property
    def data_rows(self) -> str:
        """``CD015373.pub2 data rows``: what the review's pinned data file holds."""
        return f"{self.id} data rows"


def review_citation(review: str | Path = "cd015373") -> Citation:
    """The :class:`Citation` of a review map (``data/reviews/<review>.yaml`` or a path); a map without a
    ``citation:`` section is a ReviewMapError naming the file and the keys it needs."""
    path = load_review_map(review).path
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    cite = doc.get("citation")
    need = ("id", "authors", "doi")
    if not isinstance(cite, dict) or any(not cite.get(k) for k in need):
        raise ReviewMapError(f"{path}: citation: needs {', '.join(need)} (and year, journal)")
    source, shape = doc.get("source") or {}, doc.get("shape") or {}
    year = cite.get("year")
    return Citation(id=str(cite["id"]), title=str(doc.get("title", "")), authors=str(cite["authors"]),
                    year=int(year) if year is not None else None, journal=str(cite.get("journal", "")),
                    doi=str(cite["doi"]), trials=int(shape["trials"]) if shape.get("trials") is not None else None,
                    pinned_sha256=source.get("sha256"), pinned_file=source.get("file"),
                    map=paths.display(path))  # fmt: skip


def pinned_citation(review: str | None, sha256: str | None) -> Citation | None:
    """The :class:`Citation` of the review map named ``review`` (``CD015373``) when ``sha256`` is its pinned data
    file's; else None (no such map, no citation in it, or other data)."""
    if not review or not sha256:
        return None
    try:
        citation = review_citation(str(review).lower())
    except ReviewMapError:
        return None
    return citation if citation.pinned_sha256 == sha256 else None


def derived_label(origin: Citation | str, sha256: str) -> str:
    """The label of data derived from ``origin`` (the review's pinned data rows, or any data's label) whose
    bytes differ: ``derived from CD015373.pub2 data rows, modified (SHA-256 <first 12 hex digits>)``."""
    name = origin.data_rows if isinstance(origin, Citation) else origin
    return f"derived from {name}, modified (SHA-256 {sha256[:SHORT_SHA]})"

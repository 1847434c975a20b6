"""Which review map a package is read with, or the generic mode when none applies (the ``review_map`` choice).

``review_map`` is one of ``MODES`` or a review map:

- ``auto`` (the default): the default map (``DEFAULT_REVIEW``, ``data/reviews/cd015373.yaml``) is applied when
  it applies to the package (:func:`map_applies`); otherwise the generic mode is used, and why is recorded in
  ``Dataset.generic`` and warned about;
- ``none``: the generic mode, chosen explicitly;
- a review map name in ``data/reviews/`` (``cd015373``) or a path to a review map ``.yaml``: that map is
  applied whatever the package (fields it cannot map are left empty and warned about, as always).

The default map applies to a package unless the package names a Cochrane review (``CD`` and six digits in its
name) other than the map's, or not one of its analyses maps to a drug of the map (the map's subject: NMDA
receptor antagonists). The shared Fleiss (1993) sample package (aspirin after myocardial infarction, mental
health treatment) maps to no drug, so ``auto`` reads it in the generic mode.

Generic mode: drug, route, comparator, outcome, time point and subgroup dimension are left empty, never guessed;
the package's own names (analysis group = comparison, analysis name, subgroups) and analysis settings are kept,
and the dataset's ``review`` is the package's own name. :mod:`helpers.report.generic` then runs and draws the
analyses per comparison and outcome, as RevMan groups them.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from helpers.core import paths
from helpers.core.errors import ParameterError
from helpers.data.reviewmap import FIELDS, apply_review_map, load_review_map

#: The ``review_map`` values that are not a review map (besides a map name or a ``.yaml`` path).
MODES = ("auto", "none")
DEFAULT_MODE = "auto"
#: The map ``auto`` tries, and the one bare data rows take their analysis settings from under ``auto``.
DEFAULT_REVIEW = "cd015373"
#: A Cochrane review id in a package's name (``CD015373``).
REVIEW_ID = re.compile(r"CD\d{6}", re.IGNORECASE)


def known_maps() -> tuple[str, ...]:
    """Names of the review maps in ``data/reviews/`` (``cd015373``), sorted."""
    return tuple(sorted(p.stem.lower() for p in paths.REVIEWS.glob("*.yaml")))


def allowed_text() -> str:
    """``"auto, none, cd015373 or a path to a review map .yaml"``: what ``review_map`` accepts."""
    return f"{', '.join((*MODES, *known_maps()))} or a path to a review map .yaml"


def check_review_map(value) -> str:
    """``value`` as ``auto``, ``none``, a known map name (case-insensitive) or an existing ``.yaml`` path;
    None means ``none``. Anything else is a ParameterError listing the allowed values."""
    if value is None:
        return "none"
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, str):
        key = value.strip().lower()
        if key in MODES or key in known_maps():
            return key
        if key.endswith((".yaml", ".yml")) and Path(value.strip()).is_file():
            return str(Path(value.strip()).resolve())  # notebooks run in another working folder
    raise ParameterError(f"review_map must be one of {allowed_text()}; got {value!r}")


def settings_review(mode, package_name: str = "") -> str | None:
    """The map bare data rows (no settings file) take their analysis settings from under ``mode``: under
    ``auto`` the default map unless ``package_name`` names another review, none under ``none``, else ``mode``.
    Without a map the settings are not in the data (:mod:`helpers.stats.infer` reads them off RevMan's values)."""
    mode = check_review_map(mode)
    if mode == "auto":
        named = {m.upper() for m in REVIEW_ID.findall(str(package_name))}
        return None if named and DEFAULT_REVIEW.upper() not in named else DEFAULT_REVIEW
    return None if mode == "none" else mode


@dataclass(frozen=True)
class Mapped:
    """Rows after :func:`map_rows`: the FIELDS filled (or left empty in the generic mode), the notes to record,
    the review label and, in the generic mode, why it was used (else None)."""

    rows: pd.DataFrame
    notes: tuple[str, ...]
    review: str
    generic: str | None


def map_applies(mapped: pd.DataFrame, package_name: str, review: str) -> str | None:
    """None when the map (its ``review`` id) applies to a package; else why not, in words."""
    named = {m.upper() for m in REVIEW_ID.findall(str(package_name))}
    if named and str(review).upper() not in named:
        return (f"the package names review {', '.join(sorted(named))}, not {review}, the review the default "
                "review map describes")
    if mapped["drug"].isna().all():
        return "no analysis of the package maps to a drug of the default review map (NMDA receptor antagonists)"
    return None


def generic_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with every mapped field empty (the generic mode)."""
    out = rows.copy()
    for col in FIELDS:
        out[col] = None
    return out


def map_rows(rows: pd.DataFrame, package_name: str, mode) -> Mapped:
    """Apply the review map ``mode`` chooses to tidy ``rows`` (see the module docstring)."""
    mode = check_review_map(mode)
    if mode == "none":
        return Mapped(generic_rows(rows), (), package_name, "chosen explicitly (review_map=none)")
    rmap = load_review_map(DEFAULT_REVIEW if mode == "auto" else mode)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mapped, notes = apply_review_map(rows, rmap)
    why = map_applies(mapped, package_name, rmap.review) if mode == "auto" else None
    if why is None:
        return Mapped(mapped, tuple(notes), rmap.review, None)
    reason = f"review_map=auto: {why}"
    return Mapped(generic_rows(rows), (generic_note(reason),), package_name, reason)


def generic_note(reason: str) -> str:
    """The note recorded (and warned) when the generic mode is used for ``reason`` (``Dataset.generic``)."""
    return (f"generic mode: {reason}; the analyses are run per comparison and outcome as the package groups "
            "them (review_map=<map name> forces a map)")

"""The per-review map from RevMan analyses to drug, route, comparator, outcome and time point.

What an analysis *means* (which drug, which route, which outcome...) is written in plain words in a
RevMan package; turning it into the tidy vocabulary is data, kept in ``data/reviews/<review>.yaml``::

    review: CD015373
    title: ...
    rules:        # field -> value -> case-insensitive keywords
      drug: {ketamine: [ketamine, esketamine], ...}
    defaults_by_outcome:   # optional: fill a field left unmapped, given the outcome
      any_adverse_event: {timepoint: any}
    overrides:    # by analysis id; optional per-subgroup overrides inside
      "1.1": {timepoint: immediate, subgroups: {"Oral": {route: oral}}}
    comparisons:  # by analysis group number, for packages that do not name their comparisons
      1: {name: Intravenous ketamine versus placebo, drug: ketamine, route: intravenous, comparator: placebo}

Matching: text is lower-cased and every run of non-alphanumerics becomes one space, both in the package
text and in the keywords. A keyword matches where it starts at a word boundary; a keyword written with a
trailing space (``"iv "``) must also end at one. For each field the texts in ``SEARCHED[field]`` are searched
from the most specific to the least: subgroup, analysis name, analysis group name (comparison); outcome and
time point are never read off a subgroup name ("Complex regional pain syndrome" is a condition, not a pain
outcome), and ``subgroup_by`` is only mapped for rows that have a subgroup. In the first text that matches
any keyword of the field, the match that starts earliest wins ("ketamine versus magnesium" -> ketamine);
ties go to the value listed first in the YAML. Then ``defaults_by_outcome``, then ``comparisons`` (when the
package gives no comparison name: the map's name fills ``comparison`` and its drug, route and comparator are
set), then ``overrides`` (analysis, then subgroup) are applied. A field nothing maps is left NaN, warned
about and listed in the result - never guessed. A comparison field the map gives as ``unknown`` (no source
found) is kept as ``unknown`` and warned about too.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from helpers.core import paths
from helpers.core.checks import DataWarning
from helpers.core.errors import DataError
from helpers.data.schema import COMPARATORS, DRUGS, OUTCOMES, ROUTES, SUBGROUP_DIMENSIONS, TIMEPOINTS, UNKNOWN

FIELDS = {"drug": DRUGS, "route": ROUTES, "comparator": COMPARATORS, "outcome": OUTCOMES, "timepoint": TIMEPOINTS,
          "subgroup_by": SUBGROUP_DIMENSIONS}  # fmt: skip
COMPARISON_FIELDS = ("drug", "route", "comparator")  # what a ``comparisons`` entry must give
_ALL_TEXTS = ("subgroup", "analysis_name", "comparison")  # most specific first
SEARCHED = {"drug": _ALL_TEXTS, "route": _ALL_TEXTS, "comparator": _ALL_TEXTS,
            "outcome": _ALL_TEXTS[1:], "timepoint": _ALL_TEXTS[1:], "subgroup_by": _ALL_TEXTS[:2]}  # fmt: skip


class ReviewMapError(DataError):
    """The review YAML is malformed; the message names the file and the key."""


def _missing(value) -> bool:
    """None or a float NaN (a cell pandas left empty)."""
    return value is None or (isinstance(value, float) and pd.isna(value))


def _norm(text) -> str:
    return " " + " ".join(re.sub(r"[^0-9a-z]+", " ", str(text).lower()).split()) + " "


@dataclass(frozen=True)
class ReviewMap:
    """A parsed review map. ``rules``: field -> ((value, (pattern, ...)), ...) in YAML order."""

    review: str
    title: str
    path: Path
    rules: tuple
    defaults_by_outcome: tuple
    overrides: tuple
    comparisons: tuple = ()  # ((group number, {"name": ..., "drug": ..., ...}), ...)

    def __repr__(self) -> str:
        return (f"ReviewMap(review={self.review!r}, path={str(self.path)!r}, overrides={len(self.overrides)}, "
                f"comparisons={len(self.comparisons)})")  # fmt: skip

    def comparison(self, analysis_id) -> dict | None:
        """The ``comparisons`` entry of the analysis group of ``analysis_id`` ("9.2" -> group 9), or None."""
        group = str(analysis_id).split(".")[0]
        return dict(self.comparisons).get(group)

    def classify(self, comparison=None, analysis_name=None, subgroup=None, analysis_id=None) -> dict:
        """Map one analysis (and subgroup) to ``{field: value or None}`` (plus ``comparison`` when the map names
        the analysis group and the package does not)."""
        entry = self.comparison(analysis_id) if _missing(comparison) and analysis_id is not None else None
        if entry:
            comparison = entry["name"]
        texts = {"subgroup": subgroup, "analysis_name": analysis_name, "comparison": comparison}
        out = {}
        for fld, values in self.rules:
            out[fld] = None
            if fld == "subgroup_by" and _missing(subgroup):
                continue
            for where in SEARCHED[fld]:
                if _missing(texts[where]):
                    continue
                text = _norm(texts[where])
                best = None
                for rank, (value, patterns) in enumerate(values):
                    for pat in patterns:
                        m = pat.search(text)
                        if m and (best is None or (m.start(), rank) < best[:2]):
                            best = (m.start(), rank, value)
                if best:
                    out[fld] = best[2]
                    break
        for outcome, fill in self.defaults_by_outcome:
            if out.get("outcome") == outcome:
                out.update({k: v for k, v in fill.items() if out.get(k) is None})
        if entry:
            out.update({k: entry[k] for k in COMPARISON_FIELDS})
            out["comparison"] = entry["name"]
        over = dict(self.overrides).get(str(analysis_id), {})
        out.update({k: v for k, v in over.items() if k != "subgroups"})
        if not _missing(subgroup):
            out.update(over.get("subgroups", {}).get(str(subgroup), {}))
        return out


def _check_values(path: Path, where: str, mapping) -> dict:
    if not isinstance(mapping, dict):
        raise ReviewMapError(f"{path}: {where}: expected a mapping of field: value")
    for fld, value in mapping.items():
        if fld == "subgroups" and where.startswith("overrides"):
            continue
        if fld not in FIELDS:
            raise ReviewMapError(f"{path}: {where}: unknown field {fld!r}; allowed: {', '.join(FIELDS)}")
        if value not in FIELDS[fld]:
            raise ReviewMapError(f"{path}: {where}.{fld}: {value!r} is not one of {', '.join(FIELDS[fld])}")
    return mapping


def _pattern(keyword: str) -> re.Pattern:
    norm = _norm(keyword).strip()
    if not norm:
        raise ValueError("empty keyword")
    return re.compile(r"(?<= )" + re.escape(norm) + (r"(?= )" if keyword.endswith(" ") else ""))


def _section(doc: dict, key: str, path: Path, where: str = "") -> dict:
    """``doc[key]`` as a mapping ({} when absent or empty); anything else is a ReviewMapError."""
    value = doc.get(key) or {}
    if not isinstance(value, dict):
        raise ReviewMapError(f"{path}: {where}{key}: expected a mapping; got a {type(value).__name__}")
    return value


def load_review_map(review: str | Path = "cd015373") -> ReviewMap:
    """Load ``data/reviews/<review>.yaml`` (or a YAML path) and check every value against the vocabulary."""
    path = Path(review) if str(review).endswith((".yaml", ".yml")) else paths.REVIEWS / f"{str(review).lower()}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in paths.REVIEWS.glob("*.yaml"))
        raise ReviewMapError(f"{path}: review map not found; known reviews: {', '.join(known) or 'none'}")
    stat = path.stat()
    return _parse(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _parse(path: Path, mtime_ns: int, size: int) -> ReviewMap:
    """The review map in ``path``, parsed once per version of the file (a corpus reads it for every review)."""
    try:
        doc = yaml.safe_load(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ReviewMapError(f"{path}: not valid UTF-8 (byte {exc.start}): {exc.reason}") from exc
    except (yaml.YAMLError, RecursionError) as exc:  # python/* tags are refused by safe_load as YAML errors
        raise ReviewMapError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from exc
    if not isinstance(doc, dict) or "rules" not in doc:
        raise ReviewMapError(f"{path}: top level must be a mapping with 'review', 'title' and 'rules'")
    rules = []
    for fld, values in _section(doc, "rules", path).items():
        if fld not in FIELDS:
            raise ReviewMapError(f"{path}: rules.{fld}: unknown field; allowed: {', '.join(FIELDS)}")
        if not isinstance(values, dict):
            raise ReviewMapError(f"{path}: rules.{fld}: expected value: [keywords]")
        compiled = []
        for value, keywords in values.items():
            _check_values(path, f"rules.{fld}", {fld: value})
            if not isinstance(keywords, list) or not all(isinstance(k, str) and _norm(k).strip() for k in keywords):
                raise ReviewMapError(f"{path}: rules.{fld}.{value}: expected a list of keywords, each with a letter "
                                     "or digit")  # a keyword of punctuation only would match nothing
            compiled.append((value, tuple(_pattern(k) for k in keywords)))
        rules.append((fld, tuple(compiled)))
    defaults = []
    for outcome, fill in _section(doc, "defaults_by_outcome", path).items():
        _check_values(path, "defaults_by_outcome", {"outcome": outcome})
        defaults.append((outcome, _check_values(path, f"defaults_by_outcome.{outcome}", fill)))
    overrides = []
    for aid, over in _section(doc, "overrides", path).items():
        _check_values(path, f"overrides.{aid}", over)
        for sg, sub in _section(over, "subgroups", path, f"overrides.{aid}.").items():
            _check_values(path, f"overrides.{aid}.subgroups.{sg}", sub)
        overrides.append((str(aid), over))
    comparisons = []
    for group, entry in _section(doc, "comparisons", path).items():
        where = f"comparisons.{group}"
        if not isinstance(entry, dict) or not str(group).isdigit():
            raise ReviewMapError(f"{path}: {where}: expected analysis group number: {{name, {', '.join(COMPARISON_FIELDS)}}}")
        absent = [k for k in ("name", *COMPARISON_FIELDS) if k not in entry]
        if absent:
            raise ReviewMapError(f"{path}: {where}: missing {', '.join(absent)} (write 'unknown' where no source was found)")
        name = entry["name"]
        if not isinstance(name, str) or not name.strip():
            raise ReviewMapError(f"{path}: {where}.name: expected the comparison's name as text")
        fields = {k: v for k, v in entry.items() if k != "name"}
        _check_values(path, where, fields)
        comparisons.append((str(group), {"name": name.strip(), **fields}))
    return ReviewMap(
        review=str(doc.get("review", path.stem)),
        title=str(doc.get("title", "")),
        path=path,
        rules=tuple(rules),
        defaults_by_outcome=tuple(defaults),
        overrides=tuple(overrides),
        comparisons=tuple(comparisons),
    )


def _order(label: str) -> tuple:
    """Sort key for "1.10 [sub]" labels: numeric analysis id, then the subgroup text."""
    aid, _, rest = label.partition(" ")
    return tuple(int(x) for x in aid.split(".") if x.isdigit()), rest


def apply_review_map(rows: pd.DataFrame, review_map: ReviewMap) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Return a copy of ``rows`` with the FIELDS columns filled, and the warnings about unmapped fields.

    ``rows`` needs ``analysis_id``, ``comparison``, ``analysis_name`` and ``subgroup``. Each unmapped field is
    warned once, listing the analyses (and subgroups) it concerns.
    """
    out = rows.copy()
    for col in ("comparison", "subgroup"):  # data rows alone (no settings file) name neither
        if col not in out:
            out[col] = None
    keys = ["analysis_id", "comparison", "analysis_name", "subgroup"]
    combos = out[keys].astype(object).where(out[keys].notna(), None).drop_duplicates()
    mapped = {}
    for aid, comp, name, sg in combos.itertuples(index=False):
        mapped[(aid, sg)] = review_map.classify(comp, name, sg, aid)
    subgroups = [None if _missing(s) else s for s in out["subgroup"]]
    named = [mapped[(a, s)].get("comparison") for a, s in zip(out["analysis_id"], subgroups)]
    out["comparison"] = [c if c is not None else old for c, old in zip(named, out["comparison"])]
    notes = []
    for fld in FIELDS:
        values = [mapped[(a, s)].get(fld) for a, s in zip(out["analysis_id"], subgroups)]
        out[fld] = pd.Series(values, index=out.index, dtype=object)
        missing = sorted({f"{a}" + (f" [{s}]" if s else "") for (a, s), m in mapped.items()
                          if m.get(fld) is None and (fld != "subgroup_by" or s is not None)}, key=_order)  # fmt: skip
        if missing:
            notes.append(f"review map {review_map.path.name}: {fld} not mapped (left NaN) for analysis {', '.join(missing)}")
        unknown = sorted({a for (a, s), m in mapped.items() if m.get(fld) == UNKNOWN}, key=_order)
        if unknown:
            notes.append(f"review map {review_map.path.name}: {fld} is 'unknown' (no source found; not guessed) for "
                         f"analysis {', '.join(unknown)}")  # fmt: skip
    for note in notes:
        warnings.warn(note, DataWarning, stacklevel=2)
    return out, tuple(notes)

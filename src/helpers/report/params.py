"""The analysis parameters of the notebook set, checked once: allowed values, spelling variants, messages.

The runner calls :func:`check_parameters` before the first kernel starts and every notebook calls it again
(through :func:`helpers.report.notebook.parameters`), so a value is refused in the same words in both places.

A value is matched case-insensitively (``reml`` -> ``REML``, ``Ketamine`` -> ``ketamine``) and through the
few spelling variants in ``ALIASES`` (``iv`` -> ``intravenous``, ``short-term`` -> ``short``); a value that
matches nothing is a :class:`~helpers.core.errors.ParameterError` listing the allowed values, taken from the
same constants the data layer validates against.
"""

from __future__ import annotations

from types import MappingProxyType

from helpers.core.checks import CI_METHODS, TAU2_METHODS
from helpers.core.errors import ParameterError
from helpers.data import mapmode
from helpers.data.schema import DRUGS, OUTCOMES, ROUTES, TIMEPOINTS

#: Allowed values of each analysis parameter (None, meaning "all" or "the package's settings", is allowed
#: for every one but ``ci_method``).
CHOICES = MappingProxyType({
    "drug": DRUGS, "route": ROUTES, "outcome": OUTCOMES, "timepoint": TIMEPOINTS,
    "estimator": TAU2_METHODS, "ci_method": CI_METHODS,
})  # fmt: skip
#: Spelling variants accepted besides a case-insensitive match: (parameter, lower-case variant) -> value.
ALIASES = MappingProxyType({
    ("route", "iv"): "intravenous", ("route", "i.v."): "intravenous", ("route", "po"): "oral",
    ("estimator", "fixed"): "FE", ("estimator", "dersimonian-laird"): "DL", ("estimator", "paule-mandel"): "PM",
    ("ci_method", "wald"): "z", ("ci_method", "hartung-knapp"): "hksj", ("ci_method", "hk"): "hksj",
    **{("timepoint", f"{t}{sep}term"): t for t in TIMEPOINTS for sep in ("-", " ", "_", "")},
    **{("outcome", o.replace("_", sep)): o for o in OUTCOMES for sep in (" ", "-")},
})  # fmt: skip
#: Parameters that may not be None.
REQUIRED = ("ci_method",)
#: Parameters whose values are not a fixed list: name -> (check returning the canonical value, allowed text).
#: ``review_map``: auto, none, a review map name or a .yaml path (helpers.data.mapmode; None means none).
OPEN = MappingProxyType({"review_map": (mapmode.check_review_map, mapmode.allowed_text)})
NAMES = (*CHOICES, *OPEN)


def allowed_text(name: str) -> str:
    """``"FE, DL, REML, PM"`` (plus ``" or null"`` when None is allowed): the allowed values of ``name``."""
    if name in OPEN:
        return OPEN[name][1]()
    text = ", ".join(CHOICES[name])
    return text if name in REQUIRED else f"{text} or null"


def canonical(name: str, value):
    """The allowed spelling of ``value`` for parameter ``name``; ParameterError listing the allowed values."""
    if name in OPEN:
        return OPEN[name][0](value)
    if name not in CHOICES:
        raise ParameterError(f"unknown parameter {name!r}; allowed: {', '.join(NAMES)}")
    if value is None and name not in REQUIRED:
        return None
    allowed = CHOICES[name]
    if isinstance(value, str):
        key = value.strip().lower()
        matches = [a for a in allowed if a.lower() == key]
        if len(matches) == 1:
            return matches[0]
        if (name, key) in ALIASES:
            return ALIASES[(name, key)]
    raise ParameterError(f"{name} must be one of {allowed_text(name)}; got {value!r}")


def check_parameters(values: dict) -> dict:
    """``values`` with every analysis parameter in its allowed spelling; every bad value reported at once.

    Keys that are not analysis parameters (``data_path``, ``out_dir``) pass through unchanged.
    """
    out, problems = dict(values), []
    for name in NAMES:
        if name in values:
            try:
                out[name] = canonical(name, values[name])
            except ParameterError as err:
                problems.append(str(err))
    if problems:
        raise ParameterError("; ".join(problems))
    return out


def help_text() -> str:
    """One line per parameter with its allowed values, for ``--help``."""
    return "\n".join(f"  {name}: {allowed_text(name)}" for name in NAMES)

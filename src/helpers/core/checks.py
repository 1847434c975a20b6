"""Argument and array validation for the meta-analysis engine.

Every allowed value lives in one constant; :func:`check_choice` uses that same constant in its test and in its
message. Array checks raise :class:`InputError` naming the source (when given), the row (position, index label
and study label) and the field, so a bad value can be found in the spreadsheet it came from.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from helpers.core.errors import DataError

MEASURES = ("MD", "SMD", "RR", "OR", "RD")
RATIO_MEASURES = ("RR", "OR")  # analysed on the log scale
DICHOTOMOUS_MEASURES = ("RR", "OR", "RD")
CONTINUOUS_MEASURES = ("MD", "SMD")
METHODS = ("IV", "MH", "Peto")
MODELS = ("fixed", "random")
TAU2_METHODS = ("FE", "DL", "REML", "PM")
CI_METHODS = ("z", "hksj")
PI_METHODS = ("t", "z", "knha")

_MAX_LISTED = 5  # offending rows listed in one message


class InputError(DataError):
    """Bad input data: the message names the file (if any), the row and the field."""


class MetaWarning(UserWarning):
    """An exclusion, truncation or non-convergence that is also recorded in the result's ``warnings``."""


class DataWarning(UserWarning):
    """A note about the input data (a value left NaN, rows kept apart, a mapping not found or not guessed) that
    is also recorded in the dataset's ``warnings``."""


def check_choice(name: str, value, allowed: Sequence[str]):
    """Return ``value`` if it is one of ``allowed``; else raise ValueError listing the allowed values."""
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def check_level(level: float) -> float:
    """Confidence level strictly between 0 and 1 (e.g. 0.95)."""
    if not isinstance(level, (int, float)) or not 0 < float(level) < 1:
        raise ValueError(f"level must be a number strictly between 0 and 1 (e.g. 0.95); got {level!r}")
    return float(level)


def source_prefix(source) -> str:
    """``"<source>: "`` to start a message about data from ``source``; empty when no source is known."""
    return f"{source}: " if source else ""


def _plain(value):
    """Python scalar for messages (numpy scalars would print as ``np.float64(...)``)."""
    return value.item() if isinstance(value, np.generic) else value


def describe_row(i: int, labels: Sequence | None = None, index: Sequence | None = None) -> str:
    """``"row 3 (index 7, study 'AMIS')"``: the position plus whatever labels are known."""
    extra = []
    if index is not None and _plain(index[i]) != i:
        extra.append(f"index {_plain(index[i])!r}")
    if labels is not None:
        extra.append(f"study {_plain(labels[i])!r}")
    return f"row {i}" + (f" ({', '.join(extra)})" if extra else "")


def _fail(field: str, problem: str, bad: np.ndarray, values: np.ndarray, labels, index, source) -> None:
    where = "; ".join(f"{describe_row(int(i), labels, index)} has {field}={_plain(values[i])!r}"
                      for i in bad[:_MAX_LISTED])
    more = f" (and {len(bad) - _MAX_LISTED} more rows)" if len(bad) > _MAX_LISTED else ""
    raise InputError(f"{source_prefix(source)}field {field!r} {problem}: {where}{more}")


def as_float_array(field: str, values, *, labels=None, index=None, source=None) -> np.ndarray:
    """1-d float array of finite numbers; raises InputError naming the rows holding NaN, inf or non-numbers."""
    raw = np.asarray(values, dtype=object).reshape(-1) if not isinstance(values, np.ndarray) else values.reshape(-1)
    try:
        arr = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        bad = []
        for i, v in enumerate(raw):
            try:
                float(v)
            except (TypeError, ValueError):
                bad.append(i)
        _fail(field, "must be numeric", np.array(bad), raw, labels, index, source)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        _fail(field, "must be finite (no NaN or infinity)", bad, arr, labels, index, source)
    return arr


def check_same_length(arrays: dict[str, np.ndarray], *, labels=None, source=None) -> int:
    """All arrays (and labels, when given) have one length; returns it."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if labels is not None:
        lengths["labels"] = len(labels)
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"{name} has {n}" for name, n in lengths.items())
        raise InputError(f"{source_prefix(source)}arrays must have the same length: {listed}")
    return next(iter(lengths.values()), 0)


def check_positive(field: str, arr: np.ndarray, *, labels=None, index=None, source=None) -> np.ndarray:
    """Every value > 0."""
    bad = np.flatnonzero(arr <= 0)
    if bad.size:
        _fail(field, "must be > 0", bad, arr, labels, index, source)
    return arr


def check_counts(field: str, arr: np.ndarray, *, labels=None, index=None, source=None) -> np.ndarray:
    """Whole numbers >= 0 (event counts)."""
    bad = np.flatnonzero(arr < 0)
    if bad.size:
        _fail(field, "must be >= 0", bad, arr, labels, index, source)
    bad = np.flatnonzero(arr != np.round(arr))
    if bad.size:
        _fail(field, "must be a whole number", bad, arr, labels, index, source)
    return arr


def dichotomous_arrays(events_e, n_e, events_c, n_c, *, labels=None, index=None, source=None):
    """Validated float arrays (events_e, n_e, events_c, n_c): counts >= 0, n >= 1 and whole, events <= n."""
    kw = dict(labels=labels, index=index, source=source)
    names = ("events_e", "n_e", "events_c", "n_c")
    arrays = {name: as_float_array(name, v, **kw) for name, v in zip(names, (events_e, n_e, events_c, n_c))}
    check_same_length(arrays, labels=labels, source=source)
    for n_name in ("n_e", "n_c"):
        check_positive(n_name, arrays[n_name], **kw)
    for name in names:
        check_counts(name, arrays[name], **kw)
    for ev, n in (("events_e", "n_e"), ("events_c", "n_c")):
        bad = np.flatnonzero(arrays[ev] > arrays[n])
        if bad.size:
            _fail(ev, f"must not exceed {n} ({n}={arrays[n][bad[0]]:g} in the first row listed)", bad,
                  arrays[ev], labels, index, source)
    return tuple(arrays[name] for name in names)


def continuous_arrays(mean_e, sd_e, n_e, mean_c, sd_c, n_c, *, labels=None, index=None, source=None):
    """Validated float arrays (mean_e, sd_e, n_e, mean_c, sd_c, n_c): finite, SD > 0, n >= 1 and whole."""
    kw = dict(labels=labels, index=index, source=source)
    names = ("mean_e", "sd_e", "n_e", "mean_c", "sd_c", "n_c")
    values = (mean_e, sd_e, n_e, mean_c, sd_c, n_c)
    arrays = {name: as_float_array(name, v, **kw) for name, v in zip(names, values)}
    check_same_length(arrays, labels=labels, source=source)
    for name in ("sd_e", "sd_c", "n_e", "n_c"):
        check_positive(name, arrays[name], **kw)
    for name in ("n_e", "n_c"):
        check_counts(name, arrays[name], **kw)
    return tuple(arrays[name] for name in names)


def effect_arrays(yi, vi, *, labels=None, index=None, source=None) -> tuple[np.ndarray, np.ndarray]:
    """Validated (yi, vi): same length >= 1, finite, vi > 0."""
    kw = dict(labels=labels, index=index, source=source)
    y = as_float_array("yi", yi, **kw)
    v = as_float_array("vi", vi, **kw)
    n = check_same_length({"yi": y, "vi": v}, labels=labels, source=source)
    if n == 0:
        raise InputError(f"{source_prefix(source)}no studies: yi and vi are empty")
    check_positive("vi", v, **kw)
    return y, v

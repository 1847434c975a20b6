"""Shared behaviour for result objects: readable ``repr``, ``to_frame()`` and ``summary()``.

Use on a frozen dataclass declared with ``repr=False`` (otherwise the dataclass' own ``__repr__`` would replace
this one)::

    @dataclass(frozen=True, repr=False)
    class EggerResult(ResultMixin):
        intercept: float
        ...

Scalars (numbers, strings, booleans, None) are shown; sequences, arrays and tables are summarised by their
length, never dumped. Subclasses may override ``summary()`` with a domain-specific layout.
"""

from __future__ import annotations

import dataclasses
import math
from numbers import Number

import numpy as np
import pandas as pd


def _is_scalar(value) -> bool:
    return value is None or isinstance(value, (Number, str, bool, np.bool_))


def format_value(value, digits: int = 4) -> str:
    """Short text for one field value: numbers to ``digits`` significant digits, containers by size."""
    if isinstance(value, (bool, np.bool_)) or value is None:
        return str(value)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return "NaN"
        return f"{v:.{digits}g}" if v != 0 else "0"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, pd.DataFrame):
        return f"<DataFrame {len(value)} rows x {value.shape[1]} columns>"
    if isinstance(value, ResultMixin):
        return f"<{type(value).__name__}>"
    if isinstance(value, (tuple, list, np.ndarray, pd.Series)):
        n = len(value)
        if n and all(isinstance(x, str) for x in value) and n <= 3:
            return repr(tuple(value))
        return f"<{n} values>"
    return f"<{type(value).__name__}>"


class ResultMixin:
    """Readable ``__repr__``, one-row ``to_frame()`` and printable ``summary()`` for frozen dataclasses."""

    def _scalar_items(self) -> list[tuple[str, object]]:
        return [(f.name, getattr(self, f.name)) for f in dataclasses.fields(self)
                if _is_scalar(getattr(self, f.name))]

    def __repr__(self) -> str:
        lines = [f"    {f.name}={format_value(getattr(self, f.name))}," for f in dataclasses.fields(self)
                 if f.repr]
        return f"{type(self).__name__}(\n" + "\n".join(lines) + "\n)"

    def to_frame(self) -> pd.DataFrame:
        """One-row DataFrame of the scalar fields (sequences and tables are left out)."""
        return pd.DataFrame([dict(self._scalar_items())])

    def summary(self) -> str:
        """Printable text: one ``name: value`` line per scalar field."""
        width = max((len(name) for name, _ in self._scalar_items()), default=0)
        body = "\n".join(f"  {name:<{width}} : {format_value(value, 6)}" for name, value in self._scalar_items())
        return f"{type(self).__name__}\n{body}"

"""Round half up, as RevMan prints: the one rounding of numbers shown to readers or compared with print."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def rounded(value: float, decimals: int) -> str:
    """``value`` as printed with ``decimals`` decimals, rounded half away from zero (not to even), as RevMan
    prints and a reader rounds; a value that rounds to zero prints without sign ("0.00", never "-0.00").
    ``Decimal(repr(value))`` rounds the shortest decimal that reads back as ``value`` (0.125 -> 0.13)."""
    q = Decimal(repr(float(value))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return f"{abs(q) if q == 0 else q:.{decimals}f}"

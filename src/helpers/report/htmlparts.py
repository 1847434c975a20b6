"""The small HTML pieces the run report's sections share: escaping, numbers as shown, a table."""

from __future__ import annotations

import html
import math


def e(value) -> str:
    """``value`` as HTML text (escaped)."""
    return html.escape(str(value))


def num(value, digits: int = 2, whole: bool = False) -> str:
    """``value`` to ``digits`` decimals (``whole``: integers without decimals); '' when missing."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return ""
    if math.isnan(x):
        return ""
    return f"{x:.0f}" if whole and x.is_integer() else f"{x:.{digits}f}"


def table(header: list[str], rows: list[list[str]], numeric: set[int] = frozenset(), css: str = "") -> str:
    """An HTML table: ``header`` escaped, ``rows`` of HTML cells (columns in ``numeric`` right-aligned)."""
    head = "".join(f"<th>{e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(r)) + "</tr>" for r in rows)
    cls = f' class="{css}"' if css else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

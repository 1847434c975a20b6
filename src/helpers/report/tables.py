"""How a table reads on a reader's page: no pandas row numbers, missing shown as missing, long tables folded.

:func:`frame_html` is the HTML a notebook shows for a DataFrame once :func:`register` has run (``setup()`` calls
it): a default row index (0, 1, 2, ...) is left out, a named index becomes the first column, a missing value
reads ``MISSING`` (never ``NaN`` or ``None``), and a table longer than ``FOLD_ROWS`` rows is folded in a
``<details>`` element whose summary says how many rows it holds. The saved CSV tables are not affected.
"""

from __future__ import annotations

import html

import pandas as pd

#: How a missing value reads in a shown table.
MISSING = "–"
#: Tables with more rows than this are folded (a click shows them).
FOLD_ROWS = 30


def frame_html(frame: pd.DataFrame, summary: str | None = None) -> str:
    """``frame`` as the reader's HTML (see the module doc); ``summary`` names a folded table's content."""
    named = frame.index.name is not None or not isinstance(frame.index, pd.RangeIndex)
    shown = frame.reset_index() if named else frame
    table = shown.to_html(index=False, na_rep=MISSING, border=0, float_format=pd.get_option("display.float_format"))
    table = table.replace(">None<", f">{MISSING}<").replace(">nan<", f">{MISSING}<")
    if len(shown) <= FOLD_ROWS:
        return table
    what = html.escape(summary) if summary else "the table"
    return f"<details><summary>{what}: {len(shown)} rows (click to show)</summary>{table}</details>"


def register() -> None:
    """Show every DataFrame of the running IPython kernel with :func:`frame_html` (nothing outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["text/html"].for_type(pd.DataFrame, frame_html)

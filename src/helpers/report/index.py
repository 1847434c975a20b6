"""The run report page: ``index.html`` of a run folder, linking every executed notebook (ipynb and HTML) and
every figure and table, with the synthetic-data banner when the run used the default package."""

from __future__ import annotations

import html
from pathlib import Path

#: Shown at the top of index.html when the run used the default (synthetic) package.
SYNTHETIC_BANNER = "SYNTHETIC DATA - not evidence: the default package is made up to show the tools."


def write_index(run_dir: Path, outcomes: list, outputs: dict[str, str], label: str,
                banner: str | None = None) -> None:
    """Write ``run_dir/index.html``. ``outcomes`` are the run's notebook outcomes (``notebook``, ``ok`` and
    ``message`` attributes, in plan order); ``outputs`` the hashed outputs by relative path; ``label`` names the
    input."""
    rows = "\n".join(
        f'<li><a href="html/{html.escape(Path(o.notebook).stem)}.html">{html.escape(o.notebook)}</a> '
        f'(<a href="notebooks/{html.escape(o.notebook)}">ipynb</a>) - {"ok" if o.ok else "FAILED: " + html.escape(o.message)}</li>'
        for o in outcomes
    )
    files = "\n".join(f'<li><a href="{html.escape(name)}">{html.escape(name)}</a></li>' for name in outputs)
    page = (
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>nmda-review run</title></head><body>\n"
        "<h1>nmda-review run</h1>\n"
        + (f'<p style="background:#D55E00;color:#fff;padding:0.5em;font-weight:bold">{html.escape(banner)}</p>\n'
           if banner else "")
        + f"<p>Input: {html.escape(label)}. Hashes of every output: "
        '<a href="manifest.json">manifest.json</a>.</p>\n'
        f"<h2>Notebooks</h2>\n<ul>\n{rows}\n</ul>\n<h2>Figures and tables</h2>\n<ul>\n{files}\n</ul>\n</body></html>\n"
    )
    (run_dir / "index.html").write_text(page, encoding="utf-8")

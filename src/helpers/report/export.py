"""What a reader receives from an executed notebook: machine paths removed, and an HTML page that opens with
results, not code.

- :func:`scrub_paths`: every occurrence of this machine's absolute paths (the run folder, the project root) in
  cell sources, outputs and metadata is replaced by a placeholder (``<run folder>``, ``<project>``), so an
  executed notebook says nothing about where it ran.
- :func:`collect_warnings`: the warnings a notebook recorded (the summary :func:`helpers.report.notebook.setup`
  and :func:`helpers.report.notebook.warnings_summary` write at its end, every warning in its output's metadata
  ``WARNINGS_KEY``), and any ``SomethingWarning: message`` line printed in a stream output (notebooks executed
  before that summary printed each warning where it arose) are taken out and counted per kind.
- :func:`reader_html`: the nbconvert HTML export with code cells hidden, a link to the notebook with code,
  and the warnings as one short table (count per kind of message, :func:`message_kind`, the messages folded in
  ``<details>``); cells tagged
  ``code-only`` (narrative about the code cells) are left out. The page reads
  offline: nbconvert's lab template loads require.js, MathJax and mermaid from a CDN; :data:`READER_TEMPLATE`
  drops those scripts (the notebooks write no TeX math and draw no mermaid) and the CSS is inline, so a browser
  fetches nothing from elsewhere. A figure saved by :func:`helpers.report.notebook.publish` is shown full width
  from its saved 300 dpi PNG in the run folder (legible; a click opens it at full resolution), other images as
  ``data:`` URIs. Tables scroll sideways rather than run past the page.
"""

from __future__ import annotations

import copy
import html
import re

import nbformat

#: nbconvert's lab template without its scripts (require.js, MathJax, mermaid, the widget loader), plus the
#: reader's CSS: a readable width, tables that scroll sideways instead of overflowing.
READER_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block data_png scoped -%}
{%- set saved = output | get_metadata('saved', 'image/png') -%}
{%- if saved %}
<div class="jp-RenderedImage jp-OutputArea-output reader-figure-image">
<a href="{{ resources.run_root }}{{ saved | escape_html }}"><img src="{{ resources.run_root }}{{ saved | escape_html }}"
 alt="{{ saved | escape_html }}"></a></div>
<p class="reader-figure"><a href="{{ resources.run_root }}{{ saved | escape_html }}">{{ saved | escape_html }}</a>
(click the figure for full resolution; SVG and PDF beside it)</p>
{%- else -%}
{{ super() }}
{%- endif -%}
{%- endblock data_png -%}
{%- block extra_css -%}<style type="text/css">READER_CSS</style>{%- endblock extra_css -%}
"""
READER_CSS = """
.reader-note{background:#f2f2f2;padding:.4em .6em;border-left:4px solid #0072B2}
.jp-RenderedMarkdown table{margin-left:0}
.jp-OutputArea-child:has(> .reader-figure){display:block}.reader-figure{margin:0 0 1em .4em;font-size:.85em;font-family:var(--jp-content-font-family)}
.jp-RenderedMarkdown details ul{margin:.2em 0;padding-left:1.2em;text-align:left;max-width:70em}
.reader-figure-image img{width:100%;max-width:100%;height:auto}
.jp-RenderedHTMLCommon table{display:block;overflow-x:auto;max-width:100%}
"""
#: Cells tagged so speak about the code ("the next cell holds the parameters"): left out of the reader's page.
CODE_ONLY_TAG = "code-only"
#: A printed warning line: ``<Category>: <message>``.
WARNING_LINE = re.compile(r"^(?P<kind>[A-Z][A-Za-z]*Warning): (?P<message>.*)$")
#: The output metadata key holding a notebook's recorded warnings, ``[[category, message], ...]`` in order.
WARNINGS_KEY = "nmda_warnings"


def _replace(value, replacements: dict[str, str]):
    if isinstance(value, str):
        for old, new in replacements.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [_replace(v, replacements) for v in value]
    if isinstance(value, dict):
        return type(value)((k, _replace(v, replacements)) for k, v in value.items())
    return value


def scrub_paths(nb: nbformat.NotebookNode, replacements: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``nb`` with each key of ``replacements`` (an absolute path) replaced by its value everywhere:
    sources, outputs, metadata. Longer paths are replaced first (a run folder inside the project)."""
    ordered = dict(sorted(((k, v) for k, v in replacements.items() if k), key=lambda kv: -len(kv[0])))
    return nbformat.from_dict(_replace(copy.deepcopy(dict(nb)), ordered))


def collect_warnings(nb: nbformat.NotebookNode) -> tuple[nbformat.NotebookNode, list[tuple[str, str]]]:
    """A copy of ``nb`` without its warnings summary and printed warning lines, and the ``(kind, message)`` pairs
    removed, in order."""
    out = copy.deepcopy(nb)
    found = []
    for cell in out.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if WARNINGS_KEY in output.get("metadata", {}):
                found += [(kind, message) for kind, message in output["metadata"][WARNINGS_KEY]]
                continue
            if output.get("output_type") == "stream":
                lines = output["text"].splitlines(keepends=True)
                rest = []
                for line in lines:
                    match = WARNING_LINE.match(line.rstrip("\n"))
                    if match:
                        found.append((match["kind"], match["message"]))
                    else:
                        rest.append(line)
                if not "".join(rest).strip():
                    continue
                output["text"] = "".join(rest)
            kept.append(output)
        cell.outputs = kept
    return out, found


def message_kind(message: str) -> str:
    """What a warning says, without what it is about: its scope ("nausea / ketamine / oral / placebo: ",
    "analysis 1.19 (Serious adverse events): ", "without Noppers 2011a: "), quoted names ('…') and numbers (#) taken out, so the 159
    warnings of a page read as a few kinds with counts."""
    text = re.sub(r"^(?:[^:/]+ / )+[^:]+: ", "", message)
    text = re.sub(r"^analysis [\d.]+(?: \([^)]*\))?:? ", "", text)
    text = re.sub(r"^(?:without|up to) [^:]+: ", "", text)  # a leave-one-out or cumulative fit's study
    text = re.sub(r"'[^']*'", "'…'", text)
    return re.sub(r"(?<![\w.])-?\d+(?:\.\d+)?(?:e-?\d+)?", "#", text)


def warning_groups(found: list[tuple[str, str]]) -> list[tuple[str, str, list[str]]]:
    """``found`` grouped by kind: ``(category, what it says, messages)`` per :func:`message_kind`, most frequent
    first (ties by category and wording)."""
    groups: dict[tuple[str, str], list[str]] = {}
    for category, message in found:
        groups.setdefault((category, message_kind(message)), []).append(message)
    ordered = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    return [(category, what, messages) for (category, what), messages in ordered]


def warnings_table(found: list[tuple[str, str]]) -> str:
    """HTML: one row per warning kind (:func:`warning_groups`) with its count, most frequent first; the messages
    of each kind folded in a ``<details>`` element."""
    if not found:
        return "<p>No warnings.</p>"
    rows = []
    for category, what, messages in warning_groups(found):
        items = "".join(f"<li>{html.escape(m)}</li>" for m in messages)
        rows.append(f"<tr><td>{html.escape(category)}</td><td>{html.escape(what)}</td><td>{len(messages)}</td>"
                    f"<td><details><summary>show {len(messages)}</summary><ul>{items}</ul></details></td></tr>")
    return ("<table><thead><tr><th>warning</th><th>what it says</th><th>count</th><th>messages</th></tr></thead>"
            "<tbody>" + "".join(rows) + "</tbody></table>")


def warnings_section(found: list[tuple[str, str]]) -> str:
    """HTML: the heading (anchor ``warnings``, the number of warnings) and :func:`warnings_table` of ``found``."""
    return f'<h2 id="warnings">Warnings ({len(found)})</h2>\n{warnings_table(found)}'


def reader_html(nb: nbformat.NotebookNode, notebook_href: str, run_root: str = "../") -> str:
    """The HTML a reader opens: results without code, a visible link to the notebook with code
    (``notebook_href``, relative) and the number of warnings at the top, the warnings of the whole notebook in
    one table at the end (the page opens with results, not with warnings). A figure shown by
    :func:`helpers.report.notebook.publish` (a reduced preview) links to the saved full-resolution PNG, relative
    to ``run_root`` (the run folder as seen from the page)."""
    from nbconvert import HTMLExporter

    quiet, found = collect_warnings(nb)
    quiet.cells = [c for c in quiet.cells if CODE_ONLY_TAG not in c.get("metadata", {}).get("tags", [])]
    for cell in quiet.cells:  # papermill draws a random id for the cell it injects; the page names it by its tag
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            cell.id = "injected-parameters"
    was = "1 warning was" if len(found) == 1 else f"{len(found)} warnings were"
    printed = (f'{was} recorded while it ran: <a href="#warnings">counted at the end of the page</a>.' if found
               else "No warning was recorded while it ran.")
    head = nbformat.v4.new_markdown_cell(
        f'<p class="reader-note">Code is hidden on this page: <a href="{html.escape(notebook_href)}">'
        f"the notebook with its code</a> holds every cell as executed. {printed}</p>",
        id="reader-note",  # a fixed id: nbformat draws a random one, and the page would differ on every export
    )
    quiet.cells.insert(1 if quiet.cells and quiet.cells[0].cell_type == "markdown" else 0, head)
    if found:
        quiet.cells.append(nbformat.v4.new_markdown_cell(warnings_section(found), id="reader-warnings"))
    from jinja2 import DictLoader

    exporter = HTMLExporter(
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
        extra_loaders=[DictLoader({"reader.html.j2": READER_TEMPLATE.replace("READER_CSS", READER_CSS)})],
        template_file="reader.html.j2",
    )
    body, _ = exporter.from_notebook_node(quiet, resources={"run_root": run_root})
    return body

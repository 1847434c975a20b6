"""Reader's HTML export and machine-path scrubbing (issue 10 point 2)."""

from __future__ import annotations

import re
import warnings

import nbformat
import pandas as pd
from fixtures.offline import remote_references

from helpers.core import paths
from helpers.core.checks import MetaWarning
from helpers.report import export
from helpers.report.notebook import Parameters, display_float, setup

NOTEBOOKS = paths.NOTEBOOKS
#: TeX math as MathJax would typeset it: $...$, $$...$$, \(...\), \[...\], \begin{...}.
TEX_MATH = re.compile(r"\$[^$\s][^$]*\$|\\\(|\\\[|\\begin\{")


def _notebook(run_dir: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(f'out_dir = "{run_dir}"\nsecret_code_marker = 1')
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=(
        "MetaWarning: 1.1: tau2 did not converge\nUserWarning: study A dropped\nresult line\n"
        "MetaWarning: 1.2: tau2 did not converge\n"))]
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), cell]
    nb.metadata["papermill"] = {"output_path": f"{run_dir}/notebooks/x.ipynb"}
    return nb


def test_scrub_paths_replaces_the_run_folder_everywhere():
    nb = export.scrub_paths(_notebook("/home/me/runs/a"), {"/home/me/runs/a": "<run folder>", "/home/me": "<p>"})
    text = nbformat.writes(nb)
    assert "/home/me" not in text
    assert 'out_dir = \\"<run folder>\\"' in text and "<run folder>/notebooks/x.ipynb" in text


def test_warnings_are_collected_into_one_table_per_kind():
    quiet, found = export.collect_warnings(_notebook("/r"))
    assert found == [("MetaWarning", "1.1: tau2 did not converge"), ("UserWarning", "study A dropped"),
                     ("MetaWarning", "1.2: tau2 did not converge")]
    assert quiet.cells[1].outputs[0]["text"] == "result line\n"
    table = export.warnings_table(found)
    assert "<tr><td>MetaWarning</td><td>#: tau2 did not converge</td><td>2</td>" in table
    assert "<tr><td>UserWarning</td><td>study A dropped</td><td>1</td>" in table
    assert "<details><summary>show 2</summary>" in table


def test_warnings_are_grouped_by_what_they_say():
    """159 warnings on 03-ketamine were one list; they are a few kinds, each with its count."""
    found = [("MetaWarning", "sedation / ketamine / intravenous / placebo: only one study: heterogeneity (tau², Q, "
                             "I²) is not estimable"),
             ("MetaWarning", "nausea / ketamine / oral / placebo: only one study: heterogeneity (tau², Q, I²) is "
                             "not estimable"),
             ("MetaWarning", "DerSimonian-Laird tau² estimate -0.0712178 < 0 truncated to 0"),
             ("MetaWarning", "DerSimonian-Laird tau² estimate -2.20775 < 0 truncated to 0"),
             ("MetaWarning", "study 'Lynch 2005' not entered: no events in either arm (double zero)"),
             ("MetaWarning", "analysis 1.19 (Serious adverse events): not estimable, as in RevMan")]
    assert [export.message_kind(m) for _, m in found][::2] == [
        "only one study: heterogeneity (tau², Q, I²) is not estimable",
        "DerSimonian-Laird tau² estimate # < # truncated to #",
        "study '…' not entered: no events in either arm (double zero)"]
    table = export.warnings_table(found)
    assert table.count("<tr><td>MetaWarning</td>") == 4 and "<td>2</td>" in table
    assert table.index("only one study") < table.index("not estimable, as in RevMan")  # most frequent first


def test_reader_html_hides_code_and_links_to_the_notebook():
    nb = _notebook("/r")
    nb.cells.insert(1, nbformat.v4.new_markdown_cell("The next cell holds the parameters: about_the_code_marker"))
    nb.cells[1].metadata["tags"] = [export.CODE_ONLY_TAG]
    page = export.reader_html(nb, "../notebooks/x.ipynb")
    assert "secret_code_marker" not in page and "about_the_code_marker" not in page and "result line" in page
    assert '<a href="../notebooks/x.ipynb">the notebook with its code</a>' in page
    assert "3 warnings were recorded while it ran: <a href=\"#warnings\">" in page
    assert '<h2 id="warnings">Warnings (3)</h2>' in page and "MetaWarning: 1.1" not in page
    # the page opens with the notebook's own title and results; the warnings table closes it
    assert page.index("Title") < page.index("result line") < page.index("Warnings (3)")


def test_whole_numbers_display_as_integers():
    assert [display_float(v) for v in (2014.0, 25.0, 0.12345, float("nan"))] == ["2014", "25", "0.123", "NaN"]
    pd.set_option("display.float_format", display_float)
    try:
        assert "2014.0" not in pd.DataFrame({"year": [2014.0, None]}).to_html()
    finally:
        pd.reset_option("display.float_format")


def test_remote_references_finds_what_a_browser_would_fetch():
    page = ('<html><head><script src="https://cdn.example/require.js"></script>'
            '<link rel="stylesheet" href="//fonts.example/css"><style>/* https://in.a.comment */'
            '@import "https://x.example/a.css"; p{background:url(data:image/png;base64,AA)}'
            ' h1{background:url(\'http://img.example/b.png\')}</style>'
            '<script type="module">const m = await import("https://cdn.example/mermaid.mjs");</script></head>'
            '<body><a href="https://cochranelibrary.com/">a link is not loaded</a><img src="figures/x.png">'
            '<img src="data:image/png;base64,AA"><img srcset="a.png 1x, https://img.example/c.png 2x">'
            '<iframe src="https://frame.example/"></iframe><div style="background:url(https://d.example/d.png)">'
            "</div></body></html>")
    assert remote_references(page) == [
        "<script src=https://cdn.example/require.js>", "<link href=//fonts.example/css>",
        "css https://x.example/a.css", "css http://img.example/b.png", "<script> https://cdn.example/mermaid.mjs",
        "<img srcset=https://img.example/c.png>", "<iframe src=https://frame.example/>",
        "css https://d.example/d.png"]


def test_reader_html_loads_nothing_from_the_network():
    # nbconvert's lab template loads require.js, MathJax and mermaid from cdnjs.cloudflare.com
    nb = _notebook("/r")
    nb.cells[1].outputs.append(nbformat.v4.new_output(
        "display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}))
    page = export.reader_html(nb, "../notebooks/x.ipynb")
    assert remote_references(page) == []
    assert "<script" not in page and 'src="data:image/png;base64,iVBORw0KGgo="' in page
    assert export.reader_html(nb, "../notebooks/x.ipynb") == page


def test_no_notebook_writes_tex_math():
    # the reader's page loads no MathJax, so math must be written in plain text (I², tau²)
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "markdown":
                assert not TEX_MATH.search(cell.source), (path.name, cell.source[:80])


def test_reader_html_does_not_depend_on_papermills_random_cell_id():
    pages = []
    for random_id in ("5d88318d", "9d272299"):  # papermill draws a new id for its injected cell on every run
        nb = _notebook("/r")
        for i, cell in enumerate(nb.cells):
            cell.id = f"fixed-{i}"
        injected = nbformat.v4.new_code_cell('drug = "ketamine"', id=random_id)
        injected.metadata["tags"] = ["injected-parameters"]
        nb.cells.insert(1, injected)
        pages.append(export.reader_html(nb, "x.ipynb"))
    assert pages[0] == pages[1] and 'id="cell-id=injected-parameters"' in pages[0]


def test_parameters_read_as_one_line_on_the_readers_page(tmp_path):
    params = Parameters(data_path="/somewhere/pkg.zip", drug="ketamine", route=None, outcome=None, timepoint=None,
                        estimator=None, ci_method="z", out_dir=tmp_path)
    assert params._repr_markdown_() == (
        "**Parameters:** data: `pkg.zip`; drug: `ketamine`; route: all; outcome: all; timepoint: all; "
        "estimator: the package's settings; CI method: `z`; review map: `auto`.")


def test_a_published_figure_links_to_its_full_resolution_file():
    nb = _notebook("/r")
    nb.cells[1].outputs.append(nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="},
                                                      metadata={"image/png": {"saved": "figures/forest_x.png"}}))
    page = export.reader_html(nb, "../notebooks/x.ipynb")
    assert '<a href="../figures/forest_x.png">figures/forest_x.png</a>' in page
    # shown full width from the saved 300 dpi PNG (the 60 dpi preview read at ~6 px text), a click opens it
    assert '<a href="../figures/forest_x.png"><img alt="figures/forest_x.png" src="../figures/forest_x.png"/>' in page
    assert 'src="data:image/png;base64,iVBORw0KGgo="' not in page
    assert ".reader-figure-image img{width:100%" in page
    assert remote_references(page) == []


def test_notebook_tables_show_names_whole():
    # pandas cut text at 50 characters: two different figure stems of notebook 02 read the same ('..._inten...')
    stems = ["funnel_ketamine_placebo_intravenous_pain_intensity_immediate",
             "funnel_ketamine_placebo_intravenous_pain_intensity_short"]
    saved = warnings.formatwarning, warnings.showwarning
    options = ("display.width", "display.max_columns", "display.max_rows", "display.max_colwidth",
               "display.precision", "display.float_format")
    with pd.option_context(*(x for name in options for x in (name, pd.get_option(name)))):
        try:
            pd.set_option("display.max_colwidth", 50)  # pandas' default (another test may have run setup())
            setup()
            shown = pd.DataFrame({"stem": stems})._repr_html_()
        finally:
            warnings.formatwarning, warnings.showwarning = saved
    assert all(f"<td>{s}</td>" in shown for s in stems)


def test_reader_tables_have_no_row_numbers_no_nan_and_long_ones_fold():
    """Issue 17: tables on the reader's pages showed pandas row numbers and NaN (02 tests, 05, 04 grids)."""
    from helpers.report import tables

    frame = pd.DataFrame({"study": ["A 2001", "B 2002"], "n": [12.0, float("nan")], "note": [None, "x"]})
    page = tables.frame_html(frame)
    assert "<th></th>" not in page and "<th>0</th>" not in page  # no index column
    assert "NaN" not in page and "None" not in page and page.count(f"<td>{tables.MISSING}</td>") == 2
    named = tables.frame_html(frame.set_index("study"))
    assert "<th>study</th>" in named and "<td>A 2001</td>" in named  # a named index is a column
    long = tables.frame_html(pd.DataFrame({"k": range(tables.FOLD_ROWS + 1)}), "leave-one-out")
    assert long.startswith(f"<details><summary>leave-one-out: {tables.FOLD_ROWS + 1} rows (click to show)</summary>")
    assert not tables.frame_html(frame).startswith("<details>")


def test_a_notebooks_warnings_are_one_summary_at_its_end_and_none_is_dropped(monkeypatch):
    """setup() records every warning instead of printing it where it arises (03 printed 164 lines between its
    figures); warnings_summary() shows them once, grouped as the reader page groups them, every message kept in
    the output's metadata; the reader page counts them from there and shows one table at its end."""
    import IPython.display

    from helpers.report import notebook

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False, metadata=None: shown.append((obj, metadata)))
    messages = ["1.1: tau2 did not converge", "1.2: tau2 did not converge", "study A dropped"]
    with warnings.catch_warnings():
        setup()
        for message, category in zip(messages, (MetaWarning, MetaWarning, UserWarning)):
            warnings.warn(message, category)  # one place: each distinct message once (Python's default filter)
        notebook.warnings_summary()
    ((data, metadata),) = shown
    recorded = [["MetaWarning", messages[0]], ["MetaWarning", messages[1]], ["UserWarning", messages[2]]]
    assert metadata == {export.WARNINGS_KEY: recorded}
    assert data["text/plain"] == ("Warnings (3)\n2 x MetaWarning: #: tau2 did not converge\n"
                                  "1 x UserWarning: study A dropped")
    assert data["text/html"] == export.warnings_section([tuple(pair) for pair in recorded])
    assert '<h2 id="warnings">Warnings (3)</h2>' in data["text/html"] and "<td>2</td>" in data["text/html"]
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("warnings_summary()")
    cell.outputs = [nbformat.v4.new_output("display_data", data=data, metadata=metadata)]
    nb.cells = [nbformat.v4.new_markdown_cell("# Title"), cell]
    quiet, found = export.collect_warnings(nb)
    assert found == [tuple(pair) for pair in recorded] and quiet.cells[1].outputs == []
    page = export.reader_html(nb, "x.ipynb")
    assert "3 warnings were recorded while it ran" in page and page.count('id="warnings"') == 1

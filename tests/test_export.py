"""Reader's HTML export and machine-path scrubbing (issue 10 point 2)."""

from __future__ import annotations

import nbformat
import pandas as pd

from helpers.report import export
from helpers.report.notebook import display_float


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
    assert "<tr><td>MetaWarning</td><td>2</td>" in table and "<tr><td>UserWarning</td><td>1</td>" in table
    assert "<details><summary>show 2</summary>" in table


def test_reader_html_hides_code_and_links_to_the_notebook():
    page = export.reader_html(_notebook("/r"), "../notebooks/x.ipynb")
    assert "secret_code_marker" not in page and "result line" in page
    assert '<a href="../notebooks/x.ipynb">The notebook with its code</a>' in page
    assert "Warnings (3)" in page and "MetaWarning: 1.1" not in page
    assert page.index("Title") < page.index("Warnings (3)")


def test_whole_numbers_display_as_integers():
    assert [display_float(v) for v in (2014.0, 25.0, 0.12345, float("nan"))] == ["2014", "25", "0.123", "NaN"]
    pd.set_option("display.float_format", display_float)
    try:
        assert "2014.0" not in pd.DataFrame({"year": [2014.0, None]}).to_html()
    finally:
        pd.reset_option("display.float_format")

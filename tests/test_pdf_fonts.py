"""PDF font subsets made once per font and glyph set (helpers.figures.pdf_fonts), the same bytes as before."""

from __future__ import annotations

import pytest
from fontTools import subset
from fontTools.ttLib import TTFont
from matplotlib.figure import Figure

from helpers.figures import pdf_fonts, style


def _figure(title: str) -> Figure:
    with style.figure_style():
        fig = Figure(figsize=style.figsize("single", 5))
        ax = fig.add_subplot()
        ax.plot([0, 1], [1, 0])
        ax.set_title(title, fontweight="bold")
        ax.set_xlabel("Risk ratio (95 % CI)")
        style.draw_footer(fig, "Data: test  |  SYNTHETIC DATA - not evidence")
    return fig


@pytest.fixture
def counted(monkeypatch):
    """{"subsets": fontTools subsets made, "tables": tags of the font tables read from disk}."""
    seen = {"subsets": 0, "tables": []}
    make, read = subset.Subsetter.subset, TTFont._readTable

    def counting_subset(self, font):
        seen["subsets"] += 1
        return make(self, font)

    def recording_read(self, tag):
        seen["tables"].append(tag)
        return read(self, tag)

    monkeypatch.setattr(subset.Subsetter, "subset", counting_subset)
    monkeypatch.setattr(TTFont, "_readTable", recording_read)
    pdf_fonts.clear_cache()
    yield seen
    pdf_fonts.clear_cache()


def test_a_subset_is_made_once_per_font_and_glyph_set_and_reused_byte_for_byte(tmp_path, counted):
    first = style.save_figure(_figure("Nausea"), tmp_path / "a", "f")["pdf"].read_bytes()
    made = counted["subsets"]
    assert made >= 2  # regular and bold text: one subset each
    again = style.save_figure(_figure("Nausea"), tmp_path / "b", "f")["pdf"].read_bytes()
    assert counted["subsets"] == made and again == first  # every subset reused, the same bytes
    other = style.save_figure(_figure("Sedation"), tmp_path / "c", "f")["pdf"].read_bytes()
    assert counted["subsets"] == made + 1  # only the bold title's glyphs changed: one new subset
    assert other != first
    pdf_fonts.clear_cache()
    assert style.save_figure(_figure("Nausea"), tmp_path / "d", "f")["pdf"].read_bytes() == first  # made anew


def test_layout_tables_are_never_read_and_the_pdf_is_the_one_the_subsetter_alone_writes(tmp_path, counted,
                                                                                         monkeypatch):
    lean = style.save_figure(_figure("Dizziness"), tmp_path / "lean", "f")["pdf"].read_bytes()
    assert counted["tables"] and not set(counted["tables"]) & set(pdf_fonts.DROP_TABLES)
    # the same figure through matplotlib's own subsetting, told only to drop the same tables (no cache, fonts
    # loaded whole): the PDF bytes are the same
    monkeypatch.setattr(pdf_fonts, "lean_subsets", _drop_tables_only)
    assert style.save_figure(_figure("Dizziness"), tmp_path / "plain", "f")["pdf"].read_bytes() == lean
    assert {"GSUB", "GPOS"} <= set(counted["tables"])  # which matplotlib's path did read


def _drop_tables_only():
    import contextlib

    @contextlib.contextmanager
    def dropping():
        saved = subset.Options._drop_tables_default
        subset.Options._drop_tables_default = [*saved, *pdf_fonts.DROP_TABLES]
        try:
            yield
        finally:
            subset.Options._drop_tables_default = saved

    return dropping()


def test_outside_the_context_matplotlib_and_fonttools_are_as_they_were():
    from matplotlib.backends import _backend_pdf_ps as pdf_ps

    before = (pdf_ps.get_glyphs_subset, subset.load_font, list(subset.Options._drop_tables_default))
    with pdf_fonts.lean_subsets():
        assert pdf_ps.get_glyphs_subset is not before[0] and "GSUB" in subset.Options._drop_tables_default
    assert (pdf_ps.get_glyphs_subset, subset.load_font, list(subset.Options._drop_tables_default)) == before

"""The TrueType font subsets embedded in our PDFs, each made once per font and glyph set.

With ``pdf.fonttype`` 42 matplotlib embeds, for every font a PDF uses, a subset of the font file holding the
glyphs that PDF shows (``matplotlib.backends._backend_pdf_ps.get_glyphs_subset``, fontTools' subsetter). It does
so from scratch for every file: load DejaVu Sans, decompile its ``cmap``, ``post`` (glyph names), ``glyf`` and
the OpenType layout tables, subset, compile. Measured on notebook 03 for ketamine (42 PDFs): 129 subsets of only
43 distinct (font, glyph set) pairs, 11 s of the 18 s of CPU its PDFs took.

Inside :func:`lean_subsets`:

* the subset of a font file and glyph set is made once and its bytes reused (:data:`CACHE_SIZE` kept, least
  recently used dropped). fontTools' subsetter is a function of the font file, the glyph set and the options
  (fixed here; no timestamp is recalculated), so a reused subset is the same bytes a new one would be;
* the OpenType layout tables ``DROP_TABLES`` are left out of the subsets and deleted from the font as it is
  loaded, before anything reads them. A PDF places every glyph itself, so viewers never read these tables (text
  extraction uses the ToUnicode map); fontTools (``_compact_layout_tables``) decompiled GSUB/GPOS/GDEF on every
  subset, only for the subsetter to drop them next.
"""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict
from collections.abc import Iterator
from io import BytesIO
from types import MappingProxyType

#: OpenType layout tables left out of the font subsets embedded in PDFs (see the module docstring).
DROP_TABLES = ("GSUB", "GPOS", "GDEF", "kern", "BASE", "JSTF", "MATH")
#: Subsets kept in memory (a few kB to a few tens of kB each).
CACHE_SIZE = 256

_cache: OrderedDict[tuple, tuple[bytes, MappingProxyType]] = OrderedDict()


class _SubsetBytes:
    """A compiled subset standing in for the fontTools ``TTFont`` matplotlib saves (``font_as_file`` calls
    ``font.save(fh, reorderTables=False)``): saving writes the bytes the subsetter made."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def save(self, file: BytesIO, reorderTables: bool = False) -> None:  # noqa: N803 (fontTools' name)
        file.write(self.data)


def cache_info() -> dict[str, int]:
    """``{"subsets": n}``: how many subsets are kept (tests, benchmarks)."""
    return {"subsets": len(_cache)}


def clear_cache() -> None:
    """Forget every kept subset."""
    _cache.clear()


@contextlib.contextmanager
def lean_subsets() -> Iterator[None]:
    """While inside, matplotlib's PDF backend gets its font subsets from the cache and without the layout tables
    ``DROP_TABLES`` (matplotlib's and fontTools' functions are wrapped and restored afterwards)."""
    from fontTools import subset
    from matplotlib.backends import _backend_pdf_ps as pdf_ps

    make, load, drops = pdf_ps.get_glyphs_subset, subset.load_font, subset.Options._drop_tables_default

    def load_without_layout(font_file, options, *args, **kwargs):
        font = load(font_file, options, *args, **kwargs)
        for tag in DROP_TABLES:
            if tag in font:
                del font[tag]  # a lazily loaded font: the table is never read
        return font

    @contextlib.contextmanager
    def cached(font_path, glyphs):
        key = (os.fspath(font_path), getattr(font_path, "face_index", 0), frozenset(glyphs))
        if key in _cache:
            _cache.move_to_end(key)
        else:
            with make(font_path, glyphs) as made:
                _cache[key] = (pdf_ps.font_as_file(made.font).getvalue(), MappingProxyType(made.glyph_index_map))
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
        data, index_map = _cache[key]
        yield pdf_ps.SubsetResults(_SubsetBytes(data), dict(index_map))

    subset.Options._drop_tables_default = [*drops, *(t for t in DROP_TABLES if t not in drops)]
    subset.load_font, pdf_ps.get_glyphs_subset = load_without_layout, cached
    try:
        yield
    finally:
        subset.Options._drop_tables_default, subset.load_font, pdf_ps.get_glyphs_subset = drops, load, make

"""pytest plugin for the nbval run of the committed notebooks: compare inline PNG images as well as text.

nbval compares text outputs only: it puts ``image/png`` in every notebook's ``skip_compare`` unless its nbdime
option is on. The committed notebooks' PNGs are byte-stable (fixed metadata, fixed dpi), so this plugin takes
``image/png`` out of that list and nbval's own comparison (same cell, same order, exact string after the
sanitize patterns, which both sides go through) covers the figures in the same single execution.

Loaded by ``tests/test_notebooks_nbval.py`` as ``-p nbval_images`` with this folder on ``PYTHONPATH``.
"""

from __future__ import annotations

COMPARED_IMAGES = ("image/png",)


def pytest_collection_modifyitems(items):
    for notebook in {id(item.parent): item.parent for item in items}.values():
        skip = getattr(notebook, "skip_compare", None)
        if skip is not None:
            notebook.skip_compare = tuple(key for key in skip if key not in COMPARED_IMAGES)

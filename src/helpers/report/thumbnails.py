"""Small PNG previews of a run's figures for the run report (``thumbnails/<stem>.png``).

The report's figure grid used to load every full-resolution PNG (300 dpi; 126 files, 39 MB on the default run)
just to show it 15 em wide. A thumbnail is the saved PNG scaled down with Pillow (matplotlib's own image
dependency) to ``THUMBNAIL_WIDTH`` pixels, Lanczos filter, saved without metadata: the same figure gives the
same bytes. Thumbnails are derived from hashed figures, so like ``index.html`` they are not hashed themselves.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from helpers.core.paths import check_stem

THUMBNAIL_DIR = "thumbnails"
THUMBNAIL_WIDTH = 480  # pixels: sharp at the report's 15 em card width on a 2x display


def write_thumbnails(run_dir: Path, stems: list[str], width: int = THUMBNAIL_WIDTH) -> list[str]:
    """Write ``run_dir/thumbnails/<stem>.png`` for each ``figures/<stem>.png``; return the stems written.

    A figure narrower than ``width`` is copied at its own size (never scaled up); a file Pillow cannot read
    gets no preview (the report then shows the file itself)."""
    if not isinstance(width, int) or width < 1:
        raise ValueError(f"width must be a positive number of pixels; got {width!r}")
    out = Path(run_dir) / THUMBNAIL_DIR
    written = []
    for stem in stems:
        source = Path(run_dir) / "figures" / f"{check_stem(stem)}.png"
        if not source.is_file():
            continue
        try:
            with Image.open(source) as image:
                image.load()
                rgb = image.convert("RGBA" if "A" in image.getbands() else "RGB")
        except (OSError, ValueError, Image.DecompressionBombError):
            continue  # not a readable PNG: the report shows the file itself, as before
        if rgb.width > width:
            rgb = rgb.resize((width, max(1, round(rgb.height * width / rgb.width))), Image.Resampling.LANCZOS,
                             reducing_gap=3.0)
        out.mkdir(exist_ok=True)
        rgb.save(out / f"{stem}.png", format="PNG", optimize=False)
        written.append(stem)
    return written

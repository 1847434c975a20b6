"""One figure style for the project: colour-blind-safe palette, rcParams, footer and byte-stable saving.

Palette: Okabe & Ito (2008), *Color Universal Design* (https://jfly.uni-koeln.de/color/), the set recommended by
Wong (2011) *Nat Methods* 8:441 for readers with colour-vision deficiency. Sizes target journal column widths
(single 8.5 cm, double 17.5 cm) with 7-8 pt text, the size most journals ask for at print scale.

``save_figure`` writes PNG (300 dpi), SVG and PDF whose bytes are identical run to run: the SVG hash salt is fixed,
and the date/software metadata that matplotlib would otherwise stamp into each file is removed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from helpers.core.paths import check_stem, ensure_writable_dir
from helpers.figures import pdf_fonts

#: Okabe-Ito colours by name.
OKABE_ITO = MappingProxyType(
    {
        "black": "#000000",
        "orange": "#E69F00",
        "sky_blue": "#56B4E9",
        "bluish_green": "#009E73",
        "yellow": "#F0E442",
        "blue": "#0072B2",
        "vermillion": "#D55E00",
        "reddish_purple": "#CC79A7",
    }
)
#: Cycle order used for categorical series (black last: it is kept for totals and text).
PALETTE = (
    OKABE_ITO["blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["orange"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["yellow"],
)
#: Roles used by every figure module.
STUDY_COLOUR = OKABE_ITO["blue"]
POOLED_COLOUR = OKABE_ITO["black"]
WARNING_COLOUR = OKABE_ITO["vermillion"]

#: Journal column widths in centimetres.
WIDTH_CM = MappingProxyType({"single": 8.5, "double": 17.5})
CM = 1 / 2.54  # inches per centimetre

SYNTHETIC_NOTE = "SYNTHETIC DATA - not evidence"
FOOTER_PT = 6.5  # the footer's font size, shrunk down to FOOTER_MIN_PT before it is wrapped
FOOTER_MIN_PT = 5.5
#: The footer's bottom sits 0.5 % of the figure's height above its lower edge, never more than this (points): it
#: stays inside the strip the figures reserve for it (forest 14 pt, funnel 12 pt) however tall the figure (a
#: forest plot of 90 studies is ~3,700 pt tall: 0.5 % lifted the footer onto the last text row).
FOOTER_LIFT_PT = 3.0
SVG_HASHSALT = "nmda-review"
FORMATS = ("png", "svg", "pdf")
#: Metadata keys set to None so no date or software version is stamped into the files.
_METADATA = MappingProxyType(
    {
        "png": {"Software": None},
        "svg": {"Date": None, "Creator": None},
        "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
    }
)

RC = MappingProxyType(
    {
        "font.family": "sans-serif",
        "font.sans-serif": ["DejaVu Sans"],
        "font.size": 7.5,
        "axes.titlesize": 8.5,
        "axes.labelsize": 7.5,
        "xtick.labelsize": 7,
        "ytick.labelsize": 7,
        "legend.fontsize": 7,
        "figure.titlesize": 9,
        "axes.linewidth": 0.6,
        "lines.linewidth": 0.9,
        "xtick.major.width": 0.6,
        "ytick.major.width": 0.6,
        "axes.prop_cycle": matplotlib.cycler(color=list(PALETTE)),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "figure.dpi": 100,
        "savefig.dpi": 300,
        "svg.hashsalt": SVG_HASHSALT,
        "svg.fonttype": "path",
        "pdf.fonttype": 42,
    }
)


@contextlib.contextmanager
def figure_style() -> Iterator[None]:
    """Apply the project rcParams (``RC``) inside a ``with`` block; the global state is restored afterwards."""
    with matplotlib.rc_context(dict(RC)):
        yield


def figsize(width: str = "double", height_cm: float = 8.0) -> tuple[float, float]:
    """Figure size in inches for a journal column ``width`` ('single' 8.5 cm, 'double' 17.5 cm)."""
    if width not in WIDTH_CM:
        raise ValueError(f"width must be one of {', '.join(WIDTH_CM)}; got {width!r}")
    if not height_cm > 0:
        raise ValueError(f"height_cm must be positive; got {height_cm!r}")
    return (WIDTH_CM[width] * CM, height_cm * CM)


def footer_text(dataset: Any = None, *, label: str | None = None, synthetic: bool = False) -> str:
    """Footer naming the data: ``Data: <label>``, plus ``SYNTHETIC DATA - not evidence`` when synthetic.

    Pass a ``Dataset`` (uses its ``.label`` and ``.synthetic``) or ``label``/``synthetic`` directly.
    """
    if dataset is not None:
        if label is not None:
            raise ValueError("give either dataset or label, not both")
        label, synthetic = str(dataset.label), bool(dataset.synthetic)
    if not label:
        raise ValueError("footer needs a dataset label (Dataset.label or label=...)")
    text = f"Data: {label}"
    if synthetic and SYNTHETIC_NOTE not in text:
        text += f"  |  {SYNTHETIC_NOTE}"
    return text


def resolve_footer(footer: Any) -> str | None:
    """Accept ``None``, a string or a ``Dataset`` (anything with ``.label`` and ``.synthetic``)."""
    if footer is None or isinstance(footer, str):
        return footer
    if hasattr(footer, "label") and hasattr(footer, "synthetic"):
        return footer_text(footer)
    raise TypeError(f"footer must be None, a string or a Dataset; got {type(footer).__name__}")


def draw_footer(fig: Figure, text: str | None) -> None:
    """Write ``text`` at the bottom-left of ``fig`` (vermillion and bold when it carries the synthetic note).

    Never clipped: a footer wider than the figure is shrunk (:func:`fit_width`, down to ``FOOTER_MIN_PT``); if
    it still does not fit it is wrapped at its separators (``"  |  "``, ``", "``, ``" "``) and the figure grows
    at the bottom by the extra lines (:func:`grow`), everything else keeping its place."""
    if not text:
        return
    synthetic = SYNTHETIC_NOTE in text
    style = dict(ha="left", va="bottom", fontsize=FOOTER_PT, color=WARNING_COLOUR if synthetic else "#444444",
                 fontweight="bold" if synthetic else "normal", gid="footer")
    footer = fig.text(0.01, _footer_y(fig), text, **style)
    fit_width(fig, footer, min_size=FOOTER_MIN_PT)
    if _overflows(fig, footer):
        lines = _wrap(fig, footer, text)
        footer.remove()
        grow(fig, bottom_in=(len(lines) - 1) * FOOTER_MIN_PT * 1.25 / 72)
        fig.text(0.01, _footer_y(fig), "\n".join(lines), **(style | {"fontsize": FOOTER_MIN_PT}))


def _footer_y(fig: Figure) -> float:
    """The footer's bottom as a figure fraction: 0.5 % of the height, at most ``FOOTER_LIFT_PT``."""
    return min(0.005, FOOTER_LIFT_PT / (fig.get_size_inches()[1] * 72))


def _renderer(fig: Figure):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if hasattr(fig.canvas, "get_renderer") else FigureCanvasAgg(fig)
    return canvas.get_renderer()


def _overflows(fig: Figure, text, margin_px: float = 2.0) -> bool:
    return text.get_window_extent(_renderer(fig)).x1 > fig.bbox.width - margin_px


def _wrap(fig: Figure, text, content: str) -> list[str]:
    """``content`` in lines that fit the figure's width at ``text``'s size, broken at its separators."""
    words: list[str] = []
    for sep in ("  |  ", ", ", " "):
        if sep in content:
            parts = content.split(sep)
            words = [p + (sep.rstrip() if i < len(parts) - 1 else "") for i, p in enumerate(parts)]
            break
    lines: list[str] = []
    for word in words or [content]:
        candidate = f"{lines[-1]} {word}" if lines else word
        text.set_text(candidate)
        if lines and _overflows(fig, text):
            lines.append(word)
        elif lines:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines


def grow(fig: Figure, *, top_in: float = 0.0, bottom_in: float = 0.0) -> None:
    """Make ``fig`` taller by ``top_in`` inches at the top and ``bottom_in`` at the bottom: every axes, figure
    text and figure legend keeps its size and its place relative to the rest (positions are figure fractions,
    so they are rescaled), leaving the new room empty."""
    width, height = fig.get_size_inches()
    new = height + top_in + bottom_in

    def moved(y: float) -> float:
        return (y * height + bottom_in) / new

    anchors = [leg.get_bbox_to_anchor().transformed(fig.transFigure.inverted()) for leg in fig.legends]
    for ax in fig.axes:
        x0, y0, w, h = ax.get_position().bounds
        ax.set_position((x0, moved(y0), w, h * height / new))
    for text in fig.texts:
        x, y = text.get_position()
        text.set_y(moved(y))
    fig.set_size_inches(width, new)
    for leg, box in zip(fig.legends, anchors):
        leg.set_bbox_to_anchor((box.x0, moved(box.y0)), transform=fig.transFigure)


def save_figure(fig: Figure, out_dir: Path | str, stem: str) -> dict[str, Path]:
    """Write ``<stem>.png`` (300 dpi), ``.svg`` and ``.pdf`` into ``out_dir``; return ``{format: path}``.

    The bytes are identical run to run (fixed ``svg.hashsalt``; PNG Software, SVG Date, PDF CreationDate/ModDate
    metadata removed). Fonts are embedded in the PDF as TrueType subsets (``pdf.fonttype`` 42, no Type 3 fonts),
    without OpenType layout tables, each subset made once per font and glyph set (``helpers.figures.pdf_fonts``).
    Refuses ``data/raw/`` (via ``helpers.core.paths.ensure_writable_dir``).
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure; got {type(fig).__name__}")
    check_stem(stem)
    folder = ensure_writable_dir(out_dir)
    written: dict[str, Path] = {}
    rc = {key: RC[key] for key in ("svg.hashsalt", "svg.fonttype", "pdf.fonttype")}  # also outside figure_style()
    with matplotlib.rc_context(rc), pdf_fonts.lean_subsets():
        for fmt in FORMATS:
            path = folder / f"{stem}.{fmt}"
            fig.savefig(path, format=fmt, dpi=300, metadata=dict(_METADATA[fmt]), facecolor="white")
            written[fmt] = path
    return written


def fit_width(fig, text, min_size: float = 5.0, margin_px: float = 2.0) -> None:
    """Shrink ``text`` (a figure-level Text artist) until it lies inside the figure's width: the font size is
    scaled by the available / measured width (never below ``min_size`` pt); the number of lines stays the same,
    so the height the layout reserved still holds. Long titles are therefore never clipped at the right edge."""
    renderer = _renderer(fig)
    for _ in range(3):  # text extents are not exactly linear in the size: re-measure
        box = text.get_window_extent(renderer)
        room = fig.bbox.width - margin_px - box.x0
        if box.x1 <= fig.bbox.width - margin_px or text.get_fontsize() <= min_size:
            return
        text.set_fontsize(max(min_size, text.get_fontsize() * room / box.width * 0.99))

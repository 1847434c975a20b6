"""What every notebook of the set does first: check its parameters, fix display settings, write tables.

Notebooks call :func:`setup` once and :func:`parameters` in the cell after their ``parameters`` cell (papermill
injects new values after that cell, so derived values must be computed in the next one). A notebook declares
only the parameters it uses (names from ``PARAMETERS``, literal values: :func:`declared_parameters`); the runner
passes each notebook only those. Nothing here prints absolute paths: executed notebooks are compared
output-for-output on other machines (nbval).
"""

from __future__ import annotations

import ast
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from helpers.core import paths
from helpers.core.errors import ParameterError
from helpers.core.results import ResultMixin
from helpers.report import tables
from helpers.report.params import check_parameters

#: Every parameter a notebook of the set may declare, in the order its ``parameters`` cell lists them. Each
#: notebook declares those it uses, no other (tests/test_notebooks_nbval.py); the values not declared are the
#: defaults below (None: all, or the review's own settings).
PARAMETERS = ("data_path", "drug", "route", "outcome", "timepoint", "estimator", "ci_method", "review_map", "out_dir")
DEFAULTS = {name: None for name in PARAMETERS} | {"ci_method": "z", "review_map": "auto"}
#: Where a notebook opened by hand (out_dir=None) writes its figures and tables.
INTERACTIVE_OUT = paths.RUNS / "interactive"
#: Significant digits of floats in CSV tables: fixed so the bytes do not depend on float repr details.
CSV_DIGITS = 10
#: Resolution of the figures shown inline in notebooks (a preview: the saved PNG/SVG/PDF in figures/ are the
#: full-resolution outputs). Keeps the committed notebooks small enough to review; the PNG bytes are as
#: reproducible as the saved ones (tests/test_notebooks_nbval.py compares them with a fresh execution).
INLINE_DPI = 60
SAVED_DPI = 300  # helpers.figures.style.save_figure
INLINE_REDUCE = SAVED_DPI // INLINE_DPI


#: Decimals of non-integral floats in displayed tables.
DISPLAY_DECIMALS = 3


def display_float(value: float) -> str:
    """How a float shows in a notebook table: whole numbers as integers (a year 2014, a count 25: the tidy
    tables hold them as floats because they may be missing), others to ``DISPLAY_DECIMALS`` decimals."""
    if value != value:  # NaN
        return "NaN"
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{value:.0f}"
    return f"{value:.{DISPLAY_DECIMALS}f}"


#: The warnings recorded since :func:`setup`: ``(category name, message)``, in order.
RECORDED: list[tuple[str, str]] = []


def _record_warning(message, category, filename, lineno, file=None, line=None) -> None:
    RECORDED.append((category.__name__, str(message)))


def setup() -> None:
    """Notebook display settings: warnings recorded for one summary, wide pandas tables, PNG inline figures at
    ``INLINE_DPI``.

    Every warning (every exclusion is warned; each distinct message once per place it arises, Python's
    ``default`` filter) is recorded in ``RECORDED`` instead of printed where it arises (03 printed 164 lines
    between its figures); :func:`warnings_summary`, the notebook's last cell, shows them all in one table.
    """
    RECORDED.clear()
    warnings.showwarning = _record_warning
    warnings.simplefilter("default")
    pd.set_option("display.width", 160)
    pd.set_option("display.max_columns", 30)
    pd.set_option("display.max_rows", 200)
    pd.set_option("display.max_colwidth", None)  # analysis names and figure stems whole, not cut at 50 characters
    pd.set_option("display.precision", DISPLAY_DECIMALS)
    pd.set_option("display.float_format", display_float)
    tables.register()  # the reader's tables: no row numbers, missing as missing, long ones folded
    try:
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except ImportError:  # outside IPython: nothing to configure
        return
    set_matplotlib_formats("png", dpi=INLINE_DPI)


def warnings_summary() -> None:
    """Show the warnings recorded since :func:`setup` as one table, grouped by kind and what they say with their
    counts, each message folded under its kind (:func:`helpers.report.export.warnings_section`, the reader page's
    table); every message is also kept in the output's metadata (``export.WARNINGS_KEY``), whence the reader page
    takes it. A notebook calls it in its last cell."""
    from IPython.display import display

    from helpers.report.export import WARNINGS_KEY, warning_groups, warnings_section

    found = list(RECORDED)
    text = "\n".join([f"Warnings ({len(found)})"] + [f"{len(messages)} x {category}: {what}"
                                                      for category, what, messages in warning_groups(found)])
    display({"text/html": warnings_section(found), "text/plain": text}, raw=True,
            metadata={WARNINGS_KEY: [list(pair) for pair in found]})


@dataclass(frozen=True, repr=False)
class Parameters(ResultMixin):
    """A notebook's checked parameters; None for drug/route/outcome/timepoint means "all"."""

    data_path: str | None
    drug: str | None
    route: str | None
    outcome: str | None
    timepoint: str | None
    estimator: str | None
    ci_method: str
    out_dir: Path = field(repr=False)  # machine-specific: kept out of repr and summary
    review_map: str = "auto"  # helpers.data.mapmode: auto, none, a review map name or a .yaml path
    declared: tuple[str, ...] = field(default=PARAMETERS, repr=False)  # what the notebook declares (and shows)

    @property
    def figures(self) -> Path:
        return paths.ensure_writable_dir(self.out_dir / "figures")

    def _repr_markdown_(self) -> str:
        """One line for the reader's page (the multi-line repr stays for the console): what this run chose, for
        the parameters the notebook declares."""
        shown = {"data_path": ("data", "the default package" if self.data_path is None
                               else f"`{Path(self.data_path).name}`"),
                 **{name: (name, "all" if getattr(self, name) is None else f"`{getattr(self, name)}`")
                    for name in ("drug", "route", "outcome", "timepoint")},
                 "estimator": ("estimator", "the package's settings" if self.estimator is None
                               else f"`{self.estimator}`"),
                 "ci_method": ("CI method", f"`{self.ci_method}`"), "review_map": ("review map", f"`{self.review_map}`")}
        line = "**Parameters:** " + "; ".join(f"{label}: {value}" for name, (label, value) in shown.items()
                                              if name in self.declared) + "."
        return departure_banner(self) + line

    @property
    def departures(self) -> tuple[str, ...]:
        """The settings of this run that are not the review's, in words (:func:`helpers.report.verdict.settings_departures`)."""
        from helpers.report.verdict import settings_departures

        return settings_departures({"estimator": self.estimator, "ci_method": self.ci_method})

    @property
    def tables(self) -> Path:
        return paths.ensure_writable_dir(self.out_dir / "tables")


def departure_banner(params: Parameters) -> str:
    """Markdown banner above a page's parameters when its settings are not the review's ('' when they are)."""
    if not params.departures:
        return ""
    items = "\n".join(f"> - {d}" for d in params.departures)
    return ("> **These settings are not the review's.** The results on this page depart from the published ones "
            f"by design:\n{items}\n\n")


def parameters(**values) -> Parameters:
    """Check the values of a notebook's ``parameters`` cell against the tidy vocabulary and return them; the
    names given are the ones the notebook declares (any of ``PARAMETERS``), the others take ``DEFAULTS``.

    Allowed values (``helpers.report.params.CHOICES``, matched case-insensitively): drug in ``schema.DRUGS``,
    route in ``schema.ROUTES``, outcome in ``schema.OUTCOMES``, timepoint in ``schema.TIMEPOINTS`` (each also
    None = all), estimator in ``checks.TAU2_METHODS`` or None (= the package's own RevMan analysis settings),
    ci_method in ``checks.CI_METHODS``. ``out_dir`` None = ``runs/interactive``. ``review_map``: ``auto`` (the
    review map when it applies to the data, else the generic mode), ``none`` (the generic mode), a review map
    name or a ``.yaml`` path (:mod:`helpers.data.mapmode`).
    """
    unknown = [name for name in values if name not in PARAMETERS]
    if unknown:
        raise ParameterError(f"unknown parameter(s) {', '.join(unknown)}; allowed: {', '.join(PARAMETERS)}")
    checked = check_parameters(DEFAULTS | values)
    data_path = checked["data_path"]
    if data_path is not None and not Path(data_path).exists():
        raise FileNotFoundError(f"data_path: no such file or folder: {data_path}")
    out = Path(checked["out_dir"]) if checked["out_dir"] is not None else INTERACTIVE_OUT
    return Parameters(None if data_path is None else str(data_path),
                      *(checked[k] for k in ("drug", "route", "outcome", "timepoint", "estimator", "ci_method")),
                      paths.ensure_writable_dir(out), checked["review_map"],
                      tuple(name for name in PARAMETERS if name in values))


def declared_parameters(notebook: Path | str) -> dict:
    """The parameters a notebook declares: name -> default value of its cell tagged ``parameters``, in order;
    ``{}`` when it has no such cell. Each line must read ``name = <literal>``: papermill overrides the cell by
    injecting a cell after it, so a value computed there would keep its default (derive it in the next cell)."""
    path = Path(notebook)
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if "parameters" not in cell.get("metadata", {}).get("tags", []):
            continue
        declared = {}
        for node in ast.parse("".join(cell["source"])).body:
            if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
                raise ParameterError(f"{path.name}: parameters cell line {node.lineno}: not `name = <literal>`")
            try:
                declared[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                raise ParameterError(f"{path.name}: parameters cell: {node.targets[0].id} = {ast.unparse(node.value)}"
                                     " is not a literal (papermill would not recompute it: derive it in the next "
                                     "cell)") from None
        return declared
    return {}


def save_table(table: pd.DataFrame, params: Parameters, stem: str) -> str:
    """Write ``table`` as ``<out_dir>/tables/<stem>.csv`` (UTF-8, ``\\n`` line ends, floats to 10 significant
    digits, no index) and return the path relative to the run folder, e.g. ``"tables/sof_pain.csv"``."""
    paths.check_stem(stem)
    target = params.tables / f"{stem}.csv"
    table.to_csv(target, index=False, lineterminator="\n", float_format=f"%.{CSV_DIGITS}g", encoding="utf-8")
    return f"tables/{stem}.csv"


def publish(fig, params: Parameters, stem: str) -> None:
    """Save ``fig`` with :func:`helpers.figures.style.save_figure` into ``<out_dir>/figures`` (PNG, SVG, PDF), show it
    inline once and close it. Returns None, so a plot cell shows the figure and nothing else whether or not
    the kernel honours a trailing ``;`` (nbval executes cells without history, where it is not honoured).

    The inline image is the saved 300 dpi PNG reduced ``INLINE_REDUCE`` times (``INLINE_DPI``, box filter), not
    a second rendering of the figure: drawing it again cost as much as writing the PNG.
    """
    import matplotlib.pyplot as plt

    from helpers.figures.style import save_figure

    written = save_figure(fig, params.figures, stem)
    plt.close(fig)
    try:
        from IPython.display import Image, display
    except ImportError:  # plain Python: nothing to show
        return
    # the reader's page (helpers.report.export) links the preview to the saved file, relative to the run folder
    display(Image(data=inline_png(written["png"]), metadata={"saved": f"figures/{stem}.png"}))


def inline_png(png: Path, factor: int = INLINE_REDUCE) -> bytes:
    """PNG bytes of the image at ``png`` reduced ``factor`` times in each direction (box filter), its dpi
    recorded (pHYs) as the saved 300 dpi divided by ``factor``."""
    import io

    from PIL import Image

    with Image.open(png) as image:
        small = image.reduce(factor)
    buffer = io.BytesIO()
    small.save(buffer, format="PNG", dpi=(SAVED_DPI / factor, SAVED_DPI / factor))
    return buffer.getvalue()

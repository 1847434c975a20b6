"""Style: palette, footer, save_figure's byte-stable PNG/SVG/PDF and refusal of data/raw."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import pytest
from matplotlib.figure import Figure

from helpers.core import paths
from helpers.figures import style

RENDER = """
import sys, math
from types import SimpleNamespace
import numpy as np, pandas as pd
from helpers.figures import forest
from helpers.figures import style
studies = pd.DataFrame({"study": ["A", "B", "C"], "subgroup": None, "events_e": [3, 10, 7], "n_e": [20, 40, 30],
                        "events_c": [6, 12, 9], "n_c": [20, 41, 30], "estimate": [0.5, 0.83, 0.78],
                        "ci_low": [0.15, 0.41, 0.33], "ci_high": [1.7, 1.68, 1.83], "weight": [20.0, 45.0, 35.0]})
pool = SimpleNamespace(estimate=math.log(0.75), ci_low=math.log(0.5), ci_high=math.log(1.12), z=-1.4, p=0.16,
                       q=0.6, df=2, q_p=0.74, i2=0.0, tau2=0.0, k=3, pi_low=float("nan"), pi_high=float("nan"))
ma = SimpleNamespace(measure="RR", method="MH", model="fixed", log_scale=True, studies=studies,
                     excluded=pd.DataFrame(), overall=pool, subgroups=(), subgroup_test=None, display=np.exp)
fig = forest.forest_plot(ma, title="Byte stability", footer="Data: test  |  SYNTHETIC DATA - not evidence")
for fmt, path in style.save_figure(fig, sys.argv[1], "forest").items():
    print(fmt, path)
"""


def _digests(folder: Path) -> dict[str, str]:
    return {p.suffix: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_save_figure_bytes_identical_across_two_separate_runs(tmp_path):
    runs = []
    for i in range(2):
        out = tmp_path / f"run{i}"
        subprocess.run([sys.executable, "-c", RENDER, str(out)], check=True, capture_output=True, text=True)
        runs.append(out)
    first, second = _digests(runs[0]), _digests(runs[1])
    assert set(first) == {".png", ".svg", ".pdf"}
    assert first == second
    svg = (runs[0] / "forest.svg").read_text()
    pdf = (runs[0] / "forest.pdf").read_bytes()
    png = (runs[0] / "forest.png").read_bytes()
    assert "<dc:date>" not in svg and b"CreationDate" not in pdf and b"ModDate" not in pdf
    assert b"Software" not in png and b"tIME" not in png
    ppm = round(300 / 0.0254).to_bytes(4, "big")  # pHYs: 300 dpi in pixels per metre, x and y
    assert b"pHYs" + ppm + ppm in png
    assert int.from_bytes(png[16:20], "big") >= int(17.5 / 2.54 * 300)  # at least the double-column width


def test_save_figure_refuses_data_raw_and_bad_stem(tmp_path):
    fig = Figure()
    with pytest.raises(PermissionError, match="data/raw"):
        style.save_figure(fig, paths.DATA_RAW / "figures", "x")
    with pytest.raises(ValueError, match="stem must be a plain file name"):
        style.save_figure(fig, tmp_path, "../x")
    with pytest.raises(TypeError, match="matplotlib Figure"):
        style.save_figure("not a figure", tmp_path, "x")
    written = style.save_figure(fig, tmp_path / "new" / "dir", "ok")
    assert sorted(written) == ["pdf", "png", "svg"] and all(p.exists() for p in written.values())


def test_footer_names_dataset_and_flags_synthetic():
    synthetic = SimpleNamespace(label="synthetic-cd015373", synthetic=True)
    real = SimpleNamespace(label="CD015373.pub2 data package", synthetic=False)
    assert style.footer_text(synthetic) == "Data: synthetic-cd015373  |  SYNTHETIC DATA - not evidence"
    assert style.footer_text(real) == "Data: CD015373.pub2 data package"
    assert style.footer_text(label=style.SYNTHETIC_NOTE, synthetic=True) == "Data: SYNTHETIC DATA - not evidence"
    assert style.resolve_footer(real) == "Data: CD015373.pub2 data package"
    with pytest.raises(TypeError, match="footer must be None, a string or a Dataset"):
        style.resolve_footer(3)
    with pytest.raises(ValueError, match="footer needs a dataset label"):
        style.footer_text(label="")
    fig = Figure()
    style.draw_footer(fig, style.footer_text(synthetic))
    (text,) = fig.texts
    assert text.get_color() == style.WARNING_COLOUR and text.get_fontweight() == "bold"


def test_palette_and_rc_context():
    assert style.PALETTE[0] == "#0072B2" and len(set(style.PALETTE)) == len(style.PALETTE) == 7
    assert set(style.PALETTE) <= set(style.OKABE_ITO.values())
    before = matplotlib.rcParams["font.size"]
    with style.figure_style():
        assert matplotlib.rcParams["font.sans-serif"][0] == "DejaVu Sans"
        assert matplotlib.rcParams["svg.hashsalt"] == style.SVG_HASHSALT
    assert matplotlib.rcParams["font.size"] == before
    assert style.figsize("single", 5) == pytest.approx((8.5 / 2.54, 5 / 2.54))
    with pytest.raises(ValueError, match="width must be one of single, double; got 'triple'"):
        style.figsize("triple")

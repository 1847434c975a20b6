"""One home for each small shared concept (issue 18): the kernel name, the SHA-256 file loop, round-half-up
formatting, the adverse-event outcomes and the ratio back-transform are each defined once and used from there."""

from __future__ import annotations

import ast
import hashlib
import re

import numpy as np
import pytest

from helpers.core import paths
from helpers.data import fetch
from helpers.explore import server
from helpers.figures.forest_text import fmt
from helpers.report import plan
from helpers.run import execute, manifest
from helpers.stats import adverse
from helpers.stats.effects import display_scale
from helpers.core.rounding import rounded

SRC = paths.PROJECT_ROOT / "src" / "helpers"


def _defined(name: str) -> list[str]:
    """Modules that give ``name`` a value of their own (``x = module.NAME``, an alias, is not one)."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets) \
                    and not isinstance(node.value, ast.Attribute):
                found.append(path.relative_to(SRC).as_posix())
    return found


@pytest.mark.parametrize("name, home", [("KERNEL_NAME", "core/paths.py"), ("AE_OUTCOMES", "stats/adverse.py")])
def test_defined_once(name, home):
    assert _defined(name) == [home]


def test_kernel_name_is_the_one_make_install_registers():
    assert execute.KERNEL_NAME == server.KERNEL_NAME == paths.KERNEL_NAME
    makefile = (paths.PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^KERNEL := (\S+)$", makefile, re.MULTILINE).group(1) == paths.KERNEL_NAME
    assert plan.AE_OUTCOMES is adverse.AE_OUTCOMES


def test_one_sha256_file_loop(tmp_path):
    data = bytes(range(256)) * 9000  # > 2 MiB: several blocks
    (tmp_path / "x.bin").write_bytes(data)
    assert paths.sha256_file(tmp_path / "x.bin") == hashlib.sha256(data).hexdigest()
    assert manifest.sha256_path(tmp_path / "x.bin") == paths.sha256_file(tmp_path / "x.bin")
    loops = [p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py")
             if re.search(r"iter\(lambda: \w+\.read\(", p.read_text(encoding="utf-8"))]
    assert loops == ["core/paths.py"], loops
    assert not hasattr(fetch, "sha256_of")


@pytest.mark.parametrize("x, decimals, text", [(0.125, 2, "0.13"), (-0.125, 2, "-0.13"), (2.5, 0, "3"),
                                                (-15.785, 2, "-15.79"), (-0.004, 2, "0.00"), (-0.4, 0, "0"),
                                                (1e-9, 3, "0.000"), (0.0499999, 1, "0.0")])  # fmt: skip
def test_round_half_up_is_one_function(x, decimals, text):
    """RevMan's rounding (half away from zero, never "-0"): the forest text and the published comparison agree;
    ``rounded(-0.4, 0)`` printed "-0" before the two were one."""
    assert rounded(x, decimals) == fmt(x, decimals) == text
    assert fmt(float("nan"), 2) == fmt(None, 2) == "NA"
    sources = [p.relative_to(SRC).as_posix() for p in SRC.rglob("*.py") if "ROUND_HALF_UP" in p.read_text(encoding="utf-8")]
    assert sources == ["core/rounding.py"]


def test_display_scale_is_exp_for_ratios_only():
    x = np.array([-0.5, 0.0, 1.2])
    for measure in ("RR", "OR"):
        assert np.array_equal(display_scale(x, measure), np.exp(x))
    for measure in ("MD", "SMD", "RD"):
        assert display_scale(x, measure) is x


def test_the_back_transform_is_written_once():
    """``np.exp`` chosen by ``RATIO_MEASURES`` in one place (report and stats); the explorer and the funnel plot
    are left to their owners (noted in issue 18's report)."""
    pattern = re.compile(r"np\.exp\b.*\bRATIO_MEASURES|RATIO_MEASURES.*np\.exp\b")
    places = sorted(p.relative_to(SRC).as_posix() for d in ("stats", "report") for p in (SRC / d).rglob("*.py")
                    if any(pattern.search(line) for line in p.read_text(encoding="utf-8").splitlines()))
    assert places == ["stats/effects.py"], places

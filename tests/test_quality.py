"""Rules of the developer guide that hold across the test suite itself."""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).parent


def test_no_importorskip_of_project_code():
    """importorskip of our own modules would turn a regression (an ImportError) into a skip."""
    pattern = re.compile(r"importorskip\(\s*['\"](helpers|tests)\b")
    offenders = [f"{p.name}:{i}" for p in sorted(TESTS.rglob("*.py")) if p.name != Path(__file__).name
                 for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if pattern.search(line)]
    assert offenders == []

"""The reader's HTML of one notebook as a reader sees it in Debian's chromium (issue 10 point 2).

Exports the committed notebooks/02_small_study_effects.ipynb (executed, a few seconds to export) with
helpers.report.export.reader_html, opens it with every request that is not a local file blocked and recorded,
and checks: nothing asked for the network, the images are the run's saved figures (figures/ beside html/) and drawn, no code is shown, the page opens
with the notebook's title, the link to the notebook with code and the first result above the fold, and the
warnings table closes the page. Screenshots are kept as tests/artifacts/notebook_02*.png. Skips (with the
reason) when chromium or Playwright is missing.
"""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path

import nbformat
import pytest

from helpers.core import paths
from helpers.report import export

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
NOTEBOOK = paths.NOTEBOOKS / "02_small_study_effects.ipynb"
VIEWPORT = {"width": 1280, "height": 900}

pytestmark = [pytest.mark.slow, pytest.mark.live]


def test_exported_notebook_in_chromium(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"no browser: {CHROMIUM} not found (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    _, found = export.collect_warnings(nb)
    kinds = sorted({kind for kind, _ in found})
    pngs = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
    images = len(pngs)
    assert kinds and images >= 1  # the committed notebook prints warnings and draws figures
    # The page shows each figure from the PNG the run saved (figures/ beside html/ in a run folder); here the
    # run folder is tmp_path and the saved files are the notebook's own images.
    for out in pngs:
        saved = tmp_path / out["metadata"]["image/png"]["saved"]
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_bytes(base64.b64decode(out["data"]["image/png"]))
    page_path = tmp_path / "html" / "02_small_study_effects.html"
    page_path.parent.mkdir()
    page_path.write_text(export.reader_html(nb, f"../notebooks/{NOTEBOOK.name}"), encoding="utf-8")
    ARTIFACTS.mkdir(exist_ok=True)
    requested = []

    def local_only(route):
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            requested.append(route.request.url)
            route.abort()

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"],
                                     headless=True)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.route("**/*", local_only)
            page.goto(page_path.as_uri())
            page.wait_for_load_state("load", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "notebook_02.png"))
            page.screenshot(path=str(ARTIFACTS / "notebook_02_full.png"), full_page=True)
            assert requested == []
            sources = page.eval_on_selector_all("img", "imgs => imgs.map(i => [i.src, i.complete "
                                                       "&& i.naturalWidth > 0])")
            assert sources == [[(tmp_path / o["metadata"]["image/png"]["saved"]).as_uri(), True] for o in pngs]
            # no code: no input area of a code cell, none of the import cell's text
            assert page.locator(".jp-CodeCell .jp-InputArea").count() == 0
            text = page.inner_text("body")
            assert "from helpers" not in text and "The next cell holds the parameters" not in text
            # above the fold: title, the link to the notebook with code, the first result
            assert page.inner_text("h1").startswith("02 - Small-study effects")
            link = page.locator("p.reader-note a").first
            assert link.get_attribute("href") == f"../notebooks/{NOTEBOOK.name}"
            assert link.bounding_box()["y"] + link.bounding_box()["height"] < VIEWPORT["height"]
            first_result = page.locator(".jp-OutputArea-output table, .jp-OutputArea-output img").first
            assert first_result.bounding_box()["y"] < VIEWPORT["height"]
            # the warnings at the end of the page: one row per kind (category and what it says, as
            # export.warnings_table groups them), most frequent first, with its count
            rows = page.eval_on_selector_all("#warnings + table tbody tr",
                                             "rs => rs.map(r => [r.cells[0].innerText, r.cells[1].innerText, "
                                             "Number(r.cells[2].innerText)])")  # fmt: skip
            groups = Counter((category, export.message_kind(m)) for category, m in found)
            assert sorted(rows) == sorted([k, what, n] for (k, what), n in groups.items())
            assert [n for _, _, n in rows] == sorted(groups.values(), reverse=True)
            assert sorted({k for k, _, _ in rows}) == kinds
            assert page.locator("#warnings").bounding_box()["y"] > first_result.bounding_box()["y"]
            assert page.evaluate("document.documentElement.scrollWidth") <= VIEWPORT["width"]
        finally:
            browser.close()

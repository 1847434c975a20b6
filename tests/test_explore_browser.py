"""The explorer as a user sees it: Voila serves notebooks/explore.ipynb, Debian's chromium drives it (Playwright).

Changes the drug and the estimator, then checks that the pooled estimate on the page equals helpers.stats.meta's
value for the choices shown on the page, and that the forest plot image changed. A full-page screenshot is kept
as tests/artifacts/explore.png. Skips (with the reason) when chromium or Playwright is missing; every wait is
bounded and Voila is always stopped.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.core import paths
from helpers.explore import reading, selection
from helpers.explore import server as srv

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(__file__).parent / "artifacts"
FIRST_LOAD_MS = 150_000  # Voila starts a kernel, loads the dataset and draws both figures
UPDATE_MS = 60_000

pytestmark = [pytest.mark.slow, pytest.mark.live]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"no browser: {CHROMIUM} not found (apt-get install chromium chromium-driver)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def server():
    out = paths.ensure_writable_dir(ARTIFACTS)
    with open(out / "voila.log", "wb") as log:
        process, url = srv.start(port=srv.free_port(), log=log)
        try:
            srv.wait_until_ready(url + srv.READY_PATH, timeout=120, process=process)  # "/" would take the
            # pre-heated kernel
            yield url
        finally:
            srv.stop(process)


def _shown(page, name: str) -> str:
    """The tidy value of a data field the page pooled (``data-<field>`` on the pooled-estimate element)."""
    return page.get_attribute(".nmda-pooled-estimate [data-estimate]", f"data-{name}")


def _estimate(page) -> str:
    return page.get_attribute(".nmda-pooled-estimate [data-estimate]", "data-estimate")


def _wait_for_new_estimate(page, old: str) -> None:
    page.wait_for_function(
        "old => { const e = document.querySelector('.nmda-pooled-estimate [data-estimate]');"
        " return e !== null && e.getAttribute('data-estimate') !== old; }", arg=old, timeout=UPDATE_MS)


def test_changing_drug_and_estimator_updates_numbers_and_figure(browser, server):
    from helpers.data.dataset import load_dataset
    from helpers.stats.meta import meta_analysis

    page = browser.new_page(viewport={"width": 1280, "height": 2200})
    page.set_default_timeout(UPDATE_MS)
    try:
        page.goto(server, timeout=FIRST_LOAD_MS)
        page.wait_for_selector(".nmda-pooled-estimate [data-estimate]", timeout=FIRST_LOAD_MS)
        assert "SYNTHETIC DATA - not evidence" in page.inner_text(".nmda-banner")
        first_estimate = _estimate(page)
        first_forest = page.get_attribute(".nmda-forest img", "src")
        assert first_forest.startswith("data:image/png;base64,")

        page.select_option(".nmda-drug select", label="memantine")
        _wait_for_new_estimate(page, first_estimate)
        after_drug = _estimate(page)
        page.click(".nmda-estimator button:has-text('Paule-Mandel')")
        _wait_for_new_estimate(page, after_drug)

        shown = {name: _shown(page, name) for name in selection.DATA_FIELDS}
        assert shown["drug"] == "memantine"
        assert page.eval_on_selector(".nmda-drug select", "e => e.options[e.selectedIndex].text") == "memantine"
        # the rows the explorer pools: this comparison's, each study's main analysis once (the review's
        # subgroup analyses repeat the same trials)
        picked = selection.select_rows(load_dataset(), selection.Selection(**shown, tau2_method="PM"))
        rows = picked.rows
        measure = rows["measure"].iloc[0]
        expected = meta_analysis(rows.reset_index(drop=True), measure, method="IV", model="random",
                                 tau2_method="PM", ci="z").overall
        assert float(_estimate(page)) == pytest.approx(expected.estimate, rel=0, abs=1e-12)
        headline = reading.format_effect(measure, expected.estimate, expected.ci_low, expected.ci_high)
        assert headline in page.inner_text(".nmda-pooled-estimate")
        assert "memantine" in page.inner_text(".nmda-reading")
        assert page.get_attribute(".nmda-forest img", "src") != first_forest
        page.wait_for_timeout(500)  # let the browser finish painting the new images
        page.screenshot(path=str(paths.ensure_writable_dir(ARTIFACTS) / "explore.png"), full_page=True)
    finally:
        page.close()


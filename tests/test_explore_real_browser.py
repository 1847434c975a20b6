"""The explorer on the review's own data rows as a student sees it: Voila serves it (``start(data=...)``, as
``python -m helpers.explore real --from FILE`` does), Debian's chromium drives it (Playwright).

Reads the first pooled number (the review's 1.1: MD -15.79 [-32.09, 0.51], as published) and the review's name
from the page, checks there is no synthetic banner, switches to REML + HKSJ and finds the explanation of the
difference from the published result. Screenshots are kept as tests/artifacts/explore-real*.png. Skips when
chromium or Playwright is missing, like tests/test_explore_browser.py (whose browser fixture it uses); every wait
is bounded and Voila is always stopped.
"""

from __future__ import annotations

import pytest
from test_explore_browser import ARTIFACTS, FIRST_LOAD_MS, UPDATE_MS, browser  # noqa: F401 - the fixture

from helpers.core import paths
from helpers.explore import server as srv

pytestmark = [pytest.mark.slow, pytest.mark.live]
ESTIMATE = ".nmda-pooled-estimate [data-estimate]"


@pytest.fixture(scope="module")
def real_server(real_rows):
    out = paths.ensure_writable_dir(ARTIFACTS)
    with open(out / "voila-real.log", "wb") as log:
        process, url = srv.start(port=srv.free_port(), log=log, data=real_rows)
        try:
            srv.wait_until_ready(url + srv.READY_PATH, timeout=120, process=process)
            yield url
        finally:
            srv.stop(process)


def _changed(page, old: str) -> None:
    page.wait_for_function(
        "old => { const e = document.querySelector('.nmda-pooled-estimate [data-estimate]');"
        " return e !== null && e.getAttribute('data-estimate') !== old; }", arg=old, timeout=UPDATE_MS)


def test_real_review_opens_at_the_published_result_and_explains_reml_hksj(browser, real_server):  # noqa: F811
    page = browser.new_page(viewport={"width": 1280, "height": 2000})
    page.set_default_timeout(UPDATE_MS)
    try:
        page.goto(real_server, timeout=FIRST_LOAD_MS)
        page.wait_for_selector(ESTIMATE, timeout=FIRST_LOAD_MS)
        assert page.inner_text(".nmda-headline") == "MD -15.79 [-32.09, 0.51]"
        pooled = page.inner_text(".nmda-pooled-estimate")
        assert "published: MD -15.79 [-32.09, 0.51], reproduced with the review's settings" in pooled
        assert "Analysis 1.1: Pain intensity (continuous), immediate-term follow-up" in pooled
        banner = page.inner_text(".nmda-banner")
        assert "Cochrane review CD015373.pub2: Ketamine and other NMDA receptor antagonists for chronic pain" in banner
        assert page.query_selector(".nmda-synthetic") is None and "SYNTHETIC" not in banner
        assert "This is the review's analysis 1.1" in page.inner_text(".nmda-explain")
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "explore-real.png"), full_page=True)

        old = page.get_attribute(ESTIMATE, "data-estimate")
        page.click(".nmda-estimator button:has-text('REML')")
        _changed(page, old)
        page.click(".nmda-ci button:has-text('HKSJ')")
        page.wait_for_function("() => document.querySelector('.nmda-explain').innerText.includes('HKSJ interval')",
                               timeout=UPDATE_MS)
        explanation = page.inner_text(".nmda-explain")
        assert "The REML estimator (an iterative restricted maximum-likelihood estimate) gives tau² = 132.36" in explanation
        assert "t distribution with k - 1 = 2 df (quantile 4.30 instead of the normal 1.96)" in explanation
        assert "MD -15.80 [-49.81, 18.21] here, MD -15.79 [-32.09, 0.51] with the review's settings" in explanation
        assert page.inner_text(".nmda-headline") == "MD -15.80 [-49.81, 18.21]"
        # the figures follow the numbers (drawn after them): the forest plot's alt text names its result
        page.wait_for_function("() => (document.querySelector('.nmda-forest img') || {alt: ''}).alt"
                               ".includes('MD -15.80 [-49.81, 18.21]')", timeout=UPDATE_MS)
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "explore-real-reml-hksj.png"), full_page=True)
    finally:
        page.close()

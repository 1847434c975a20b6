"""The verdict the run report opens with (issue 17 part A): the review named, the input against the pinned file,
the published results recomputed side by side, honest counts, trials with data rows, analyses not pooled; an
override run keeps its two verdicts apart; the synthetic default never reads as a reproduction.

Built from the real data rows (../shared) without executing notebooks: the verdict is computed by the library
(helpers.report.verdict), the concordance table by helpers.stats.concordance, as notebook 05 writes them. The
browser test opens the page in Debian's chromium at 1400x900 and reads what the first screen shows; its
screenshot is kept as tests/artifacts/index_verdict.png.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest

from helpers.data.dataset import load_dataset
from helpers.data.provenance import review_citation
from helpers.report.index import render_index, write_index
from helpers.report.verdict import run_verdict
from helpers.report.verdict_html import concordance_words

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
VIEWPORT = {"width": 1400, "height": 900}
OUTCOMES = [SimpleNamespace(notebook="05_concordance.ipynb", ok=True, message="")]
#: the text the first screen shows, text node by text node (what a reader sees without scrolling)
FIRST_SCREEN_JS = """() => { const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT); const out = [];
  let n; while ((n = w.nextNode())) { const r = document.createRange(); r.selectNodeContents(n);
  const b = r.getBoundingClientRect(); if (b.width > 0 && b.top >= 0 && b.bottom <= window.innerHeight
  && b.right <= window.innerWidth) out.push(n.textContent); } return out.join(' ').replace(/\\s+/g, ' '); }"""


@pytest.fixture(scope="module")
def real(real_rows):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dataset(real_rows)


@pytest.fixture(scope="module")
def real_run(real, tmp_path_factory) -> Path:
    """A run folder of the real rows holding what the verdict reads: the manifest's input and the concordance
    table notebook 05 writes (computed here by the same library call)."""
    from helpers.stats.concordance import concordance

    run = tmp_path_factory.mktemp("real-run")
    (run / "tables").mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        concordance(real).to_csv(run / "tables" / "concordance.csv", index=False)
    (run / "manifest.json").write_text(json.dumps({"input": {"sha256": real.sha256}, "notebooks": []}))
    return run


def _outputs(run: Path) -> dict:
    return {f"tables/{p.name}": "x" for p in (run / "tables").glob("*.csv")}


def test_real_verdict_from_the_data_and_the_map(real):
    v = run_verdict(real)
    cite = review_citation("cd015373")
    assert (cite.id, cite.doi, cite.year, cite.trials) == ("CD015373.pub2", "10.1002/14651858.CD015373.pub2", 2025, 67)
    assert v.pinned and v.published_compared and not v.departs
    assert v.published[["analysis_id", "recomputed", "status"]].values.tolist() == [
        ["1.1", "MD -15.79 (-32.09 to 0.51)", "reproduced"], ["1.4", "MD -5.32 (-15.51 to 4.87)", "reproduced"],
        ["1.9", "RR 3.26 (1.05 to 10.09)", "reproduced"]]
    assert v.trials_with_rows == 28
    assert [a for a, _, _ in v.not_pooled] == ["1.19", "2.2", "5.6", "10.3"]
    assert all("no events in either arm" in why for _, _, why in v.not_pooled)
    assert v.copies == ("1.10 (the condition subgroup copy of 1.9) leaves out Lumanauw 2019 of 1.9",)


def test_concordance_counts_compared_values_apart_from_unpublished_ones():
    # the real run's counts: 676 compared, 950 not published (pooled quantities), 28 not estimable on both sides
    held, words = concordance_words({"not estimable": 28, "not published": 950, "ok": 676})
    assert held is True
    assert words.startswith("all 676 values RevMan printed were reproduced within tolerance")
    assert "950 not published" in words and "28 not estimable" in words and "1654" not in words
    held, words = concordance_words({"mismatch": 2, "ok": 674, "not published": 950})
    assert held is False and words.startswith("2 of 676 values RevMan printed were NOT reproduced")


def test_index_opens_with_the_verdict_and_counts_honestly(real, real_run):
    page = render_index(real_run, OUTCOMES, _outputs(real_run), "../shared/x.rda", verdict=run_verdict(real))
    heads = [h.strip() for h in re.findall(r"<h2>([^<(]+)", page)]
    assert heads[:3] == ["Verdict", "What was run", "Summary of findings"]
    verdict = page[page.index("<h2>Verdict"):page.index("<h2>What was run")]
    for text in ("Ketamine and other NMDA receptor antagonists for chronic pain", "Ferraro MC et al.",
                 "DOI 10.1002/14651858.CD015373.pub2", "matches the pinned one", "28 of 67 trials contribute data rows",
                 "MD -15.79 (-32.09 to 0.51)", "MD -5.32 (-15.51 to 4.87)", "RR 3.26 (1.05 to 10.09)",
                 "all 676 values RevMan printed were reproduced", "1.19 Serious adverse events", "10.3 Adverse events"):
        assert text in verdict, text
    assert verdict.count(">reproduced<") == 3
    assert "every published quantity compared" not in page  # the old claim counted 950 + 28 uncompared values
    assert "Not pooled, so not in this table: 1.19" in page


def test_override_names_the_departure_and_keeps_two_verdicts_apart(real, real_run):
    v = run_verdict(real, {"estimator": "REML", "ci_method": "hksj"})
    assert v.departs and len(v.departures) == 2
    assert (v.published["status"] == "reproduced").all()  # the engine with the review's settings still holds
    row = v.this_run.set_index("analysis_id").loc["1.1"]
    assert (row.this_run, row.status) == ("MD -15.80 (-49.81 to 18.21)", "differs")
    assert row.difference == "estimate -0.01, lower -17.72, upper +17.70"
    page = render_index(real_run, OUTCOMES, _outputs(real_run), "../shared/x.rda", verdict=v)
    banner = page.index('<div class="departure">')
    assert banner < page.index("<h2>Verdict") and "estimator=REML" in page[banner:page.index("<h2>Verdict")]
    assert "engine vs RevMan, the package&#x27;s settings</th><td><strong>held</strong>" in page
    assert "this run vs the published results</th><td><strong>differs</strong> for 3 of 3, because: estimator=REML" in page
    assert "Reproduced:" not in page


def test_synthetic_verdict_says_synthetic_and_what_concordance_means_there():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v = run_verdict(load_dataset())
    assert v.synthetic and not v.pinned and not v.departs and v.this_run.empty
    from helpers.report.verdict_html import verdict_html

    html = verdict_html(v, {"ok": 600, "not published": 900}, "default synthetic package (data/raw)")
    assert "Synthetic data: this run neither reproduces nor tests the review" in html
    assert "round-tripped" in html and "Reproduced" not in html and "matches the pinned" not in html
    assert "published results (abstract)" not in html


@pytest.mark.live
def test_first_screen_in_chromium_names_review_input_results_and_trials(real, real_run):
    if not CHROMIUM.exists():
        pytest.skip(f"no browser: {CHROMIUM} not found (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    write_index(real_run, OUTCOMES, _outputs(real_run), "../shared/fixtures/cd015373-real/CD015373_pub2_data.rda",
                verdict=run_verdict(real))
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"],
                                     headless=True)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto((real_run / "index.html").as_uri())
            page.wait_for_load_state("load", timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "index_verdict.png"))
            seen = page.evaluate(FIRST_SCREEN_JS)
        finally:
            browser.close()
    for text in ("Ketamine and other NMDA receptor antagonists for chronic pain", "10.1002/14651858.CD015373.pub2",
                 "matches the pinned one", "MD -15.79 (-32.09 to 0.51)", "MD -5.32 (-15.51 to 4.87)",
                 "RR 3.26 (1.05 to 10.09)", "28 of 67 trials contribute data rows"):
        assert text in seen, text
    assert seen.count("reproduced") >= 3


def test_a_run_with_added_rows_sets_aside_the_values_of_the_analyses_that_gained_a_study(real, tmp_path):
    from helpers.data.addrows import add_rows

    extra = tmp_path / "extra.csv"
    extra.write_text("analysis_id,study,year,mean_e,sd_e,n_e,mean_c,sd_c,n_c,duration\n"
                     "1.1,Hypothetical 2026,2026,40,25,30,55,25,30,≤1 day\n", encoding="utf-8")
    derived, _ = add_rows(real, extra)
    v = run_verdict(derived)
    assert v.changed_analyses == ("1.1", "1.2") and v.added_trials == ("Hypothetical 2026",)
    assert v.this_run.set_index("analysis_id").loc["1.1", "this_run"] == "MD -15.64 (-26.53 to -4.76)"
    run = tmp_path / "run"
    (run / "tables").mkdir(parents=True)
    # the weights of 1.1's studies change once a study joins it: RevMan's belong to the review's rows
    (run / "tables" / "concordance.csv").write_text(
        "analysis_id,status\n1.1,mismatch\n1.1,mismatch\n1.2,mismatch\n1.4,ok\n1.4,ok\n1.9,not published\n")
    page = render_index(run, OUTCOMES, _outputs(run), "data/processed/x", verdict=v)
    assert "does NOT match the pinned one" in page and "matches the pinned one</span> (" not in page
    assert ("<strong>held</strong>: all 2 values RevMan printed were reproduced within tolerance; not compared: "
            "1 not published in the data; set aside: 3 values of 1.1, 1.2, which gained a study") in page
    assert "Concordance held: all 2 values" in page and "28 of 67 trials contribute data rows" in page
    assert "added in this run: Hypothetical 2026" in page and PINNED_LABEL not in page


PINNED_LABEL = "Cochrane CD015373.pub2 data rows (Ferraro 2025)"

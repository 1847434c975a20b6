"""The run report page (issue 10 point 1): what ran on what, findings, concordance, skips, grouped figures.

A small run folder is built here (manifest, two tables, three figures); the browser test opens the page in
Debian's chromium and keeps a screenshot as tests/artifacts/index.png.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from helpers.report.index import figure_group, render_index, write_index

SOF = """analysis_id,analysis,drug,route,subgroup,timepoint,measure,model,k,participants,estimate,ci_low,ci_high,p,i2,tau2,warnings
1.1,Pain intensity,ketamine,intravenous,intravenous,immediate,MD,random,3,173,-10,-20,0,0.05,60,1,0
1.1,Pain intensity,ketamine,,all,immediate,MD,random,5,250,-15.7911282,-32.087519,0.5052625993,0.05,68.9,142.4,0
"""
CONCORDANCE = "level,analysis_id,status\noverall,1.1,ok\noverall,1.1,mismatch\nstudy,1.1,not published\n"
FIGURES = ("forest_ketamine_placebo_intravenous_pain_intensity_immediate", "forest_ketamine_active_oral_pain",
           "forest_memantine_placebo_oral_pain", "study_flow")
#: the run's figure index (manifest ``figures``, written by the runner from the plans): what each figure shows
FACTS = {FIGURES[0]: {"kind": "forest", "drug": "ketamine", "comparator": "placebo"},
         FIGURES[1]: {"kind": "forest", "drug": "ketamine", "comparator": "active"},
         FIGURES[2]: {"kind": "forest", "drug": "memantine", "comparator": "placebo"},
         FIGURES[3]: {"kind": "overview"}}  # fmt: skip


@pytest.fixture
def run_dir(tmp_path) -> Path:
    (tmp_path / "tables").mkdir()
    (tmp_path / "figures").mkdir()
    (tmp_path / "tables" / "summary_of_findings_efficacy_ketamine.csv").write_text(SOF, encoding="utf-8")
    (tmp_path / "tables" / "concordance.csv").write_text(CONCORDANCE, encoding="utf-8")
    for i, stem in enumerate(FIGURES):
        Image.new("RGB", (60, 40), (40 * i, 90, 160)).save(tmp_path / "figures" / f"{stem}.png")
        (tmp_path / "figures" / f"{stem}.svg").write_text("<svg/>", encoding="utf-8")
    manifest = {"input": {"sha256": "ab" * 32}, "git": {"commit": "c0ffee" * 6 + "abcd", "dirty": False},
                "notebooks": [{"execution": "01_efficacy--ketamine.ipynb", "parameters": {"estimator": "REML",
                                                                                          "drug": "ketamine"}}],
                "figures": FACTS}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return tmp_path


def _outputs(run: Path) -> dict:
    return {f"{p.parent.name}/{p.name}": "x" for p in sorted(run.glob("*/*")) if p.parent.name in ("figures", "tables")}


OUTCOMES = [SimpleNamespace(notebook="01_efficacy--ketamine.ipynb", ok=True, message=""),
            SimpleNamespace(notebook="03_adverse_events--ketamine.ipynb", ok=False, message="failed in cell 5 (0-based)")]


def test_page_opens_with_what_ran_then_findings_verdict_skips_figures_tables_notebooks(run_dir):
    page = render_index(run_dir, OUTCOMES, _outputs(run_dir), "my package", None,
                        ("02_small_study_effects.ipynb: no drug mapped",))
    heads = re.findall(r"<h2>([^<(]+)", page)
    assert [h.strip() for h in heads] == ["What was run", "Summary of findings", "Certainty of the evidence",
                                          "Concordance with the published review",
                                          "Skipped or failed", "Figures", "Tables", "Notebooks"]
    assert "ab" * 32 in page and "c0ffee" in page and "estimator=REML" in page and "my package" in page
    # the overall row only, estimate and CI to two decimals, counts as integers
    assert "-15.79 [-32.09, 0.51]" in page and "<td class=\"num\">5</td><td class=\"num\">250</td>" in page
    assert "-10.00 [" not in page
    # 1 of the 2 values compared (the 'not published' one was not compared, so it counts neither way)
    assert "Concordance did NOT hold: 1 of 2 values RevMan printed were NOT reproduced" in page
    assert "02_small_study_effects.ipynb: no drug mapped" in page and "failed in cell 5 (0-based)" in page
    assert page.index("<h3>ketamine versus active (1)</h3>") < page.index("<h3>ketamine versus placebo (1)</h3>") \
        < page.index("<h3>memantine versus placebo (1)</h3>") < page.index("<h3>other (1)</h3>")
    assert '<img src="figures/study_flow.png"' in page and 'href="figures/study_flow.svg">svg</a>' in page
    # the name may break anywhere (it has no spaces), the svg/pdf links never ("sv|g" was split in chromium)
    assert ('<span class="stem">study_flow</span> <span class="nowrap"><a href="figures/study_flow.svg">svg</a>'
            '</span>') in page
    assert 'href="html/03_adverse_events--ketamine.html"' in page


def test_page_is_offline_and_byte_stable(run_dir):
    write_index(run_dir, OUTCOMES, _outputs(run_dir), "my package")
    first = (run_dir / "index.html").read_bytes()
    write_index(run_dir, OUTCOMES, _outputs(run_dir), "my package")
    assert (run_dir / "index.html").read_bytes() == first
    text = first.decode()
    assert "http://" not in text and "https://" not in text and "<script" not in text and "<style>" in text
    assert not re.search(r"20\d\d-\d\d-\d\d", text)  # no dates


def test_figures_group_by_their_recorded_facts_not_their_names():
    assert figure_group({"drug": "ketamine", "comparator": "usual_care"}) == ("ketamine", "usual care")
    assert figure_group({"drug": "ketamine; magnesium", "comparator": "placebo"}) == ("ketamine and magnesium",
                                                                                      "placebo")
    assert figure_group({"drug": "unmapped", "comparison_number": "2", "comparison": "Aspirin"}) == (
        "Comparison 2", "Aspirin")  # the generic mode
    assert figure_group({"kind": "overview"}) == figure_group(None) == ("other", "")


@pytest.mark.live
def test_report_page_in_chromium(run_dir):
    chromium = Path("/usr/bin/chromium")
    if not chromium.exists():
        pytest.skip(f"no browser: {chromium} not found (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
    write_index(run_dir, OUTCOMES, _outputs(run_dir), "my package", "SYNTHETIC DATA - not evidence")
    artifacts = Path(__file__).parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"],
                                     headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto((run_dir / "index.html").as_uri())
            page.wait_for_load_state("load", timeout=30_000)
            loaded = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete && i.naturalWidth > 0)")
            assert loaded == [True] * len(FIGURES)
            assert page.inner_text("h2 >> nth=0") == "What was run"
            assert page.is_visible("text=Concordance did NOT hold")
            page.screenshot(path=str(artifacts / "index.png"), full_page=True)
        finally:
            browser.close()


def test_analysis_numbers_keep_their_trailing_zero_and_order(run_dir):
    # "1.10" read as a float became "1.1" and sorted before 1.2 (seen on the real review's report)
    extra = ("1.10,Adverse events (total),ketamine,,all,any,RR,random,4,140,3.26,1.05,10.09,0.05,38,0.3,0\n"
             "1.2,Pain intensity,ketamine,,all,short,MD,random,4,114,-5.32,-15.51,4.87,0.3,0,0,0\n")
    (run_dir / "tables" / "summary_of_findings_adverse_events_ketamine.csv").write_text(
        SOF.splitlines(keepends=True)[0] + extra, encoding="utf-8")
    html = render_index(run_dir, OUTCOMES, _outputs(run_dir), "my package")
    cells = ("<td>1.1</td>", "<td>1.2</td>", "<td>1.10</td>")
    positions = [html.find(c) for c in cells]
    assert all(p >= 0 for p in positions), positions
    assert positions == sorted(positions)


def test_figure_grid_shows_small_previews_that_link_to_the_full_figure(run_dir):
    # the grid loaded every full-resolution PNG (126 files, 39 MB on the default run) to show it 15 em wide
    big = "forest_ketamine_placebo_intravenous_pain_intensity_immediate"
    Image.new("RGB", (3000, 1800), (250, 250, 250)).save(run_dir / "figures" / f"{big}.png")
    write_index(run_dir, OUTCOMES, _outputs(run_dir), "my package")
    html = (run_dir / "index.html").read_text(encoding="utf-8")
    assert f'<a href="figures/{big}.png"><img src="thumbnails/{big}.png"' in html
    with Image.open(run_dir / "thumbnails" / f"{big}.png") as thumb:
        assert thumb.size == (480, 288)
    with Image.open(run_dir / "thumbnails" / "study_flow.png") as small:  # never scaled up
        assert small.size == (60, 40)
    first = {p.name: p.read_bytes() for p in (run_dir / "thumbnails").iterdir()}
    write_index(run_dir, OUTCOMES, _outputs(run_dir), "my package")
    assert {p.name: p.read_bytes() for p in (run_dir / "thumbnails").iterdir()} == first  # byte-stable
    assert set(first) == {f"{stem}.png" for stem in FIGURES}


def test_a_figure_pillow_cannot_read_is_shown_as_itself(run_dir):
    (run_dir / "figures" / "study_flow.png").write_bytes(b"not a png")
    write_index(run_dir, OUTCOMES, _outputs(run_dir), "my package")
    assert '<img src="figures/study_flow.png"' in (run_dir / "index.html").read_text(encoding="utf-8")
    assert not (run_dir / "thumbnails" / "study_flow.png").exists()

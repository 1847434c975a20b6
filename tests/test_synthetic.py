"""The synthetic default package: counts, byte-identical regeneration, calibration, format, synthetic labels."""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
import zipfile
import pytest

from helpers.core import paths
from helpers.data import dataset
from helpers.synthetic import generator as synthetic
from helpers.synthetic.shape import load_shape
from helpers.synthetic.trials import ROB_LEVELS, scale_to_total

COMMITTED = paths.DATA_RAW / synthetic.PACKAGE_NAME
DOC = paths.PROJECT_ROOT / "docs" / "synthetic-data.md"


@pytest.fixture(scope="module")
def package() -> synthetic.SyntheticPackage:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return synthetic.generate()


def _table(package, suffix: str) -> list[dict]:
    data = next(b for name, b in package.files if name.endswith(suffix))
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_counts(package):
    info = _table(package, "-study-information.csv")
    assert (package.n_studies, package.n_participants, package.n_ketamine) == (67, 2309, 39)
    assert (package.n_with_data, package.n_analyses) == (28, 95)
    assert len(info) == 67
    n = [int(re.search(r"n_randomised: (\d+)", r["Char: Participants"]).group(1)) for r in info]
    assert sum(n) == 2309
    drugs = [re.search(r"drug: (\w+)", r["Char: Interventions"]).group(1) for r in info]
    assert {d: drugs.count(d) for d in synthetic.DRUG_CODES} == {
        "ketamine": 39, "memantine": 10, "dextromethorphan": 8, "amantadine": 3, "magnesium": 7}
    designs = {re.search(r"design: (\w+)", r["Char: Methods"]).group(1) for r in info}
    assert designs == {"parallel", "crossover"}


def test_package_has_the_real_review_shape(package):
    """Analyses, names, data types, measures, subgroups and trials per analysis are the shape's (the real rows')."""
    shape = load_shape("cd015373")
    settings = _table(package, "-overall-estimates-and-settings.csv")
    rows = _table(package, "-data-rows.csv")
    assert [f"{r['Analysis group']}.{r['Analysis number']}" for r in settings] == [a.analysis_id for a in shape.analyses]
    assert len(rows) == 176 and len({r["Analysis group"] for r in settings}) == 13
    for a, s in zip(shape.analyses, settings):
        assert (s["Analysis name"], s["Analysis group name"]) == (a.name, a.comparison)
        mine = [r for r in rows if f"{r['Analysis group']}.{r['Analysis number']}" == a.analysis_id]
        assert [r["Subgroup"] or None for r in mine] == [sg for sg, _ in a.rows], a.analysis_id
        assert s["Data type"] == {"continuous": "Continuous", "dichotomous": "Dichotomous"}[a.data_type]
    # the published results' analyses have the real k: 1.1 three trials, 1.4 four, 1.9 four
    k = {a.analysis_id: len({slot for _, slot in a.rows}) for a in shape.analyses}
    assert (k["1.1"], k["1.4"], k["1.9"]) == (3, 4, 4)
    # subgroup analyses by duration, condition and dose, as in the review
    assert {s["Subgroup by"] for s in settings} == {"", "Duration of administration", "Clinical condition",
                                                     "Medicine dose"}


def test_everything_is_marked_synthetic(package):
    info = _table(package, "-study-information.csv")
    assert all(re.fullmatch(r"SYN-(K|M|D|A|Mg)-(IV|PO|TOP|IM|IN|UNK)-\d\d (19|20)\d\d", r["Study"]) for r in info)
    assert all(synthetic.SYNTHETIC_NOTE in r["Char: Notes"] for r in info)
    assert {r["Study"] for r in _table(package, "-data-rows.csv")} <= {r["Study"] for r in info}
    ris = next(b for name, b in package.files if name.endswith(".ris")).decode("utf-8-sig")
    assert ris.count(f"TI  - {synthetic.SYNTHETIC_NOTE}") == 67


def test_generation_is_deterministic_and_seed_dependent(package):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = synthetic.generate()
        other = synthetic.generate(seed=7)
    assert again.files == package.files
    assert dict(other.files) != dict(package.files)


def test_committed_copy_is_not_stale(package, tmp_path):
    """data/raw/ is regenerated only on purpose: regenerate in tmp and compare every byte with the committed copy."""
    written = synthetic.write_package(tmp_path / "pkg", package=package)
    committed = sorted(p.relative_to(COMMITTED).as_posix() for p in COMMITTED.rglob("*") if p.is_file())
    stale = "the committed data/raw/synthetic-cd015373 is stale: regenerate it with `make synthetic` and commit it"
    assert committed == [name for name, _ in package.files], stale
    for name, _ in package.files:
        assert (written / name).read_bytes() == (COMMITTED / name).read_bytes(), f"{stale} ({name} differs)"


def test_refuses_data_raw_without_flag(package):
    with pytest.raises(PermissionError, match="allow_raw"):
        synthetic.write_package(paths.DATA_RAW / "anything", package=package)


def test_zip_inside_zip_is_deterministic(package, tmp_path):
    a = synthetic.write_package_zip(tmp_path / "a.zip", package=package).read_bytes()
    b = synthetic.write_package_zip(tmp_path / "b.zip", package=package).read_bytes()
    assert a == b
    outer = zipfile.ZipFile(io.BytesIO(a))
    inner_name = f"{synthetic.PACKAGE_NAME}/{synthetic.PACKAGE_ID}-files/{synthetic.PACKAGE_ID}-data.zip"
    assert inner_name in outer.namelist()
    inner = zipfile.ZipFile(io.BytesIO(outer.read(inner_name)))
    assert inner.namelist() == [name for name, _ in package.files]
    assert {i.date_time for i in inner.infolist()} == {synthetic.ZIP_DATE}
    assert all(inner.read(name) == data for name, data in package.files)


def test_calibration_within_tolerance(package):
    """Checked on the written overall estimates (published columns), independently of the generator's record."""
    rows = {f"{r['Analysis group']}.{r['Analysis number']}": r for r in _table(package, "-overall-estimates-and-settings.csv")}
    assert [c.analysis.split()[0] for c in package.calibration] == ["1.1", "1.4", "1.9"]
    for aid, (est, lo, hi) in synthetic.CALIBRATION_TARGETS.items():
        row = rows[aid]
        got, got_lo, got_hi = float(row["Mean"]), float(row["CI start"]), float(row["CI end"])
        assert abs(got / est - 1) <= synthetic.CALIBRATION_TOLERANCE, (aid, got, est)
        if row["Effect measure"] == "Risk Ratio":
            width, target = math.log(got_hi / got_lo), math.log(hi / lo)
        else:
            width, target = got_hi - got_lo, hi - lo
        assert abs(width / target - 1) <= synthetic.CALIBRATION_TOLERANCE, (aid, width, target)


def test_documented_numbers_are_the_generated_ones(package):
    assert package.calibration_table() in DOC.read_text(encoding="utf-8")


def test_format_matches_the_revman_sample(package, shared_sample):
    outer = zipfile.ZipFile(shared_sample)
    inner_name = next(n for n in outer.namelist() if n.endswith("-data.zip"))
    sample = zipfile.ZipFile(io.BytesIO(outer.read(inner_name)))
    ours = dict(package.files)
    for member in sample.namelist():
        suffix = member.split("/")[-1].split("-", 1)[1]
        folder = member.split("/")[0].split("-", 1)[1]
        name = f"{synthetic.PACKAGE_ID}-{folder}/{synthetic.PACKAGE_ID}-{suffix}"
        theirs, mine = sample.read(member), ours[name]
        assert mine.startswith(b"\xef\xbb\xbf") and theirs.startswith(b"\xef\xbb\xbf"), name
        first_theirs, first_mine = theirs.split(b"\n")[0], mine.split(b"\n")[0]
        assert first_theirs.endswith(b"\r") == first_mine.endswith(b"\r"), f"line ending differs: {name}"
        if suffix.endswith(".csv") and "risk-of-bias" not in suffix:
            assert first_mine == first_theirs, f"header differs: {name}"


def test_revman_conventions_and_edge_cases(package):
    rows = _table(package, "-data-rows.csv")
    settings = _table(package, "-overall-estimates-and-settings.csv")
    assert {r["Data source eligibility"] for r in settings} == {"#N/A"}
    assert {r["Data type"] for r in settings} == {"Continuous", "Dichotomous"}
    assert {(r["Statistical method"], r["Analysis model"]) for r in settings} == {("IV", "Random effects")}
    assert {r["Effect measure"] for r in settings} == {"Mean Difference", "Standardized Mean Difference", "Risk Ratio"}
    dich = [r for r in rows if r["Experimental mean"] == "0.0" and r["GIV Mean"] == "0.0"]
    assert dich and all(r["O-E"] == "0.0" and r["Control SD"] == "0.0" for r in dich)
    double_zero = [r for r in dich if r["Experimental cases"] == "0" and r["Control cases"] == "0"]
    assert double_zero and all(r["Weight"] == "0" for r in double_zero)
    single_zero = [r for r in dich if (r["Experimental cases"] == "0") != (r["Control cases"] == "0")]
    assert len(single_zero) >= 2
    # one trial entered twice in an analysis (two strata), as Dadabayev 2020 in the review's 2.1 and 2.2
    strata = [r for r in rows if r["Footnotes"].startswith("Stratum")]
    assert len(strata) == 4 and {(r["Analysis group"], r["Analysis number"]) for r in strata} == {("2", "1"), ("2", "2")}
    rob = _table(package, "-risk-of-bias.csv")
    overall = [r["Domain (judgement): Overall bias"] for r in rob]
    assert set(overall) <= set(ROB_LEVELS) and "Low" in overall


def test_generate_checks_its_seed():
    with pytest.raises(ValueError, match="non-negative integer"):
        synthetic.generate(seed=-1)
    with pytest.raises(ValueError, match="non-negative integer"):
        synthetic.generate(seed="1")


def test_load_dataset_reads_the_committed_package():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        d = dataset.load_dataset()
    assert d.synthetic and "SYNTHETIC" in d.label
    assert len(d.studies) == 67 and len(d.analyses()) == 95
    assert int(d.studies["n_randomised"].sum()) == 2309
    assert (d.studies["drug"] == "ketamine").sum() == 39  # trials without data rows: from their study information
    assert d.studies["drug"].notna().all()
    assert set(d.rows["comparison"]) == {a.comparison for a in load_shape("cd015373").analyses}


def test_scale_to_total_is_exact_and_respects_minimum():
    import numpy as np

    out = scale_to_total(np.array([1.0, 50.0, 3.3, 7.7]), 100, minimum=10)
    assert out.sum() == 100 and out.min() >= 10
    assert list(out) == [10, 70, 10, 10]  # 112 after flooring: ones taken in turn from trials above 10

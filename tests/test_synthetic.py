"""The synthetic default package: counts, byte-identical regeneration, calibration, format, synthetic labels."""

from __future__ import annotations

import csv
import io
import re
import warnings
import zipfile
import pytest

from helpers.core import paths
from helpers.data import dataset
from helpers.synthetic import generator as synthetic

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
    assert len(info) == 67
    n = [int(re.search(r"n_randomised: (\d+)", r["Char: Participants"]).group(1)) for r in info]
    assert sum(n) == 2309
    drugs = [re.search(r"drug: (\w+)", r["Char: Interventions"]).group(1) for r in info]
    assert sorted(set(drugs)) == sorted(synthetic.DRUG_CODES)
    assert drugs.count("ketamine") == 39
    routes = {re.search(r"route: (\w+)", r["Char: Interventions"]).group(1) for r in info}
    assert routes == {"intravenous", "oral", "topical", "other"}
    designs = {re.search(r"design: (\w+)", r["Char: Methods"]).group(1) for r in info}
    assert designs == {"parallel", "crossover"}


def test_everything_is_marked_synthetic(package):
    info = _table(package, "-study-information.csv")
    assert all(re.fullmatch(r"SYN-(K|M|D|A|Mg)-(IV|PO|TOP|IN|SC)-\d\d (19|20)\d\d", r["Study"]) for r in info)
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


def test_committed_copy_is_byte_identical(package, tmp_path):
    written = synthetic.write_package(tmp_path / "pkg", package=package)
    committed = sorted(p.relative_to(COMMITTED).as_posix() for p in COMMITTED.rglob("*") if p.is_file())
    assert committed == [name for name, _ in package.files]
    for name, _ in package.files:
        assert (written / name).read_bytes() == (COMMITTED / name).read_bytes(), name


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
    """Checked on the written subgroup-estimates.csv, independently of the generator's own record."""
    rows = {(r["Analysis group"], r["Subgroup"], int(r["Analysis number"])): r
            for r in _table(package, "-subgroup-estimates.csv")}  # fmt: skip
    names = {(r["Analysis group"], int(r["Analysis number"])): r["Analysis name"]
             for r in _table(package, "-overall-estimates-and-settings.csv")}  # fmt: skip
    wanted = {"pain_immediate": "Pain intensity (0-100): immediate term",
              "pain_short": "Pain intensity (0-100): short term", "any_adverse_event": "Any adverse event"}
    assert len(package.calibration) == 3
    for (_, _, key, _), (est, lo, hi) in synthetic.CALIBRATION_TARGETS.items():
        number = next(n for (g, n), name in names.items() if g == "1" and name == wanted[key])
        row = rows[("1", "Intravenous", number)]
        got, got_lo, got_hi = float(row["Mean"]), float(row["CI start"]), float(row["CI end"])
        assert abs(got / est - 1) <= synthetic.CALIBRATION_TOLERANCE, (key, got, est)
        if key == "any_adverse_event":
            import math

            width, target = math.log(got_hi / got_lo), math.log(hi / lo)
        else:
            width, target = got_hi - got_lo, hi - lo
        assert abs(width / target - 1) <= synthetic.CALIBRATION_TOLERANCE, (key, width, target)


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
    assert {r["Data type"] for r in settings} == {"Continuous", "Dichotomous", "Contrast level"}
    dich = [r for r in rows if r["Experimental mean"] == "0.0" and r["GIV Mean"] == "0.0"]
    assert dich and all(r["O-E"] == "0.0" and r["Control SD"] == "0.0" for r in dich)
    double_zero = [r for r in dich if r["Experimental cases"] == "0" and r["Control cases"] == "0"]
    assert double_zero and all(r["Weight"] == "0" for r in double_zero)
    single_zero = [r for r in dich if (r["Experimental cases"] == "0") != (r["Control cases"] == "0")]
    assert len(single_zero) >= 2
    giv = [r for r in rows if r["GIV Mean"] != "0.0"]
    assert giv and all(r["Experimental mean"] == "0.0" for r in giv)
    # funnel plots / Egger need >= 10 studies: some intravenous ketamine-versus-placebo subgroup has them
    k = {}
    for r in rows:
        if r["Analysis group"] == "1" and r["Subgroup"] == "Intravenous":
            k[r["Analysis number"]] = k.get(r["Analysis number"], 0) + 1
    assert max(k.values()) >= 10
    rob = _table(package, "-risk-of-bias.csv")
    overall = [r["Domain (judgement): Overall bias"] for r in rob]
    assert set(overall) <= set(synthetic.ROB_LEVELS)
    assert sum(v != "Low" for v in overall) > 0.8 * len(overall)


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
    assert len(d.studies) == 67
    assert int(d.studies["n_randomised"].sum()) == 2309
    assert (d.studies["drug"] == "ketamine").sum() == 39
    assert set(d.studies["drug"]) == set(synthetic.DRUG_CODES)


def test_scale_to_total_is_exact_and_respects_minimum():
    import numpy as np

    out = synthetic._scale_to_total(np.array([1.0, 50.0, 3.3, 7.7]), 100, minimum=10)
    assert out.sum() == 100 and out.min() >= 10
    assert list(out) == [10, 70, 10, 10]  # 112 after flooring: ones taken in turn from trials above 10

"""Corpus mode (python -m helpers.corpus) on three real reviews of ../shared/fixtures/pairwise70 and a corrupt file.

The numbers asserted are the corpus run's own against what the library gives for the same files one at a time
(load_dataset, settle, concordance), and one pooled value checked by hand: CD012265 1.1, one study, OR
(4/26)/(6/25) = 0.641026.
"""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from helpers.corpus.cli import main
from helpers.data.dataset import load_dataset
from helpers.stats.concordance import concordance
from helpers.stats.infer import settle

FILES = ("CD000219_pub5_data.rda", "CD001072_pub2_data.rda", "CD012265_pub2_data.rda")  # CD000219: k up to 12


def _folder(pairwise70, tmp_path, names):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in names:
        (folder / name).symlink_to(pairwise70 / name)
    return folder


def _study_counts(path) -> tuple[int, int, int]:
    """(analyses, study values compared, reproduced) for one file, from the library directly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = settle(load_dataset(path))
        table = concordance(ds)
    study = table[(table["level"] == "study") & table["status"].isin(["ok", "mismatch", "not recomputed"])]
    return len(ds.analyses()), len(study), int((study["status"] == "ok").sum())


def test_three_reviews_pooled_and_checked(pairwise70, tmp_path, capsys):
    out = tmp_path / "out"
    assert main([str(_folder(pairwise70, tmp_path, FILES)), "--out", str(out)]) == 0
    summary = pd.read_csv(out / "summary.csv").set_index("review")
    assert summary["status"].tolist() == ["loaded"] * 3
    for name in FILES:
        review = name.removesuffix("_data.rda")
        analyses, compared, reproduced = _study_counts(pairwise70 / name)
        row = summary.loc[review]
        assert (row["analyses"], row["study_values_compared"], row["study_values_reproduced"]) == \
            (analyses, compared, reproduced)
        table = pd.read_csv(out / "reviews" / f"{review}.csv", dtype={"analysis_id": str})
        assert len(table) == analyses and table["study_values_compared"].sum() == compared
    assert summary["analyses"].tolist() == [11, 3, 4]  # CD000219, CD001072, CD012265
    assert summary["study_values_compared"].sum() == summary["study_values_reproduced"].sum() == 300
    one = pd.read_csv(out / "reviews" / "CD012265_pub2.csv", dtype={"analysis_id": str}).set_index("analysis_id")
    assert one.loc["1.1", ["measure", "k"]].tolist() == ["OR", 1] and round(one.loc["1.1", "estimate"], 6) == 0.641026
    assert one.loc["1.1", "settings_status"].startswith("reproduced")
    printed = capsys.readouterr().out
    assert "3/3 files loaded" in printed and "refused" not in printed


def test_corrupt_file_is_one_line_and_the_others_go_on(pairwise70, tmp_path, capsys):
    folder = _folder(pairwise70, tmp_path, FILES[1:])
    (folder / "CD999999_pub1_data.rda").write_bytes(b"RDX3\nnot really an R data file")
    assert main([str(folder), "--out", str(tmp_path / "a"), "--jobs", "2"]) == 0
    printed = capsys.readouterr().out.splitlines()
    refused = [line for line in printed if "CD999999" in line]
    assert len(refused) == 1 and refused[0].startswith("refused CD999999_pub1: ") and "Traceback" not in "\n".join(printed)
    assert "2/3 files loaded, 1 not" in printed[-2]
    summary = pd.read_csv(tmp_path / "a" / "summary.csv")
    assert summary["status"].tolist() == ["loaded", "loaded", "refused"]
    assert sorted(p.name for p in (tmp_path / "a" / "reviews").iterdir()) == ["CD001072_pub2.csv", "CD012265_pub2.csv"]
    # one process or two: the same bytes
    assert main([str(folder), "--out", str(tmp_path / "b")]) == 0
    for rel in ("summary.csv", "reviews/CD012265_pub2.csv"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


def test_output_folder_that_is_not_a_corpus_output_is_refused(pairwise70, tmp_path, capsys):
    folder = _folder(pairwise70, tmp_path, FILES[1:2])
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main([str(folder), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not a corpus output" in err and "nothing was written" in err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"] and (out / "notes.txt").read_text() == "mine"
    (out / "notes.txt").unlink()
    assert main([str(folder), "--out", str(out)]) == 0  # empty now, then a previous corpus output: both accepted
    assert main([str(folder), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["reviews", "summary.csv"]

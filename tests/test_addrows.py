"""Provenance follows the bytes, and studies added to the real review reach every subgroup copy (issue 17 part A
point 3): a tidy folder edited by hand, or rows added with --add-rows, are labelled "derived from CD015373.pub2
data rows, modified (SHA-256 ...)" in banners and figure footers, never with the pinned file's label and hash.
"""

from __future__ import annotations

import warnings

import pytest

from helpers.data.addrows import add_rows, copy_disagreements, subgroup_copies
from helpers.data.dataset import load_dataset
from helpers.data.schema import ValidationError
from helpers.data.tidy import read_tidy, write_tidy
from helpers.figures.style import footer_text
from helpers.report.summary import dataset_banner

PINNED = "943cda91e235"
EXTRA = ("analysis_id,study,year,mean_e,sd_e,n_e,mean_c,sd_c,n_c,duration\n"
         "1.1,Hypothetical 2026,2026,40,25,30,55,25,30,≤1 day\n")


@pytest.fixture(scope="module")
def real(real_rows):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dataset(real_rows)


def test_subgroup_copies_are_found_from_the_data(real):
    copies = subgroup_copies(real)
    assert copies["1.2"] == ("1.1", "duration") and copies["1.5"] == ("1.4", "condition")
    assert copies["7.5"] == ("7.2", "dose") and len(copies) == 10
    # as published, one copy differs from its main analysis (1.10 has no Lumanauw 2019)
    assert copy_disagreements(real) == ["1.10 (the condition subgroup copy of 1.9) leaves out Lumanauw 2019 of 1.9"]


def test_added_rows_reach_the_analysis_and_every_copy_with_a_derived_label(real, tmp_path):
    extra = tmp_path / "extra.csv"
    extra.write_text(EXTRA, encoding="utf-8")
    out, added = add_rows(real, extra)
    assert added == ["'Hypothetical 2026' added to 1.1, 1.2 (duration: ≤1 day)"]
    one, two = out.analysis("1.1"), out.analysis("1.2")
    assert len(one) == 4 and one["study"].iloc[-1] == "Hypothetical 2026" and one["mean_e"].iloc[-1] == 40
    assert two.set_index("study").loc["Hypothetical 2026", "subgroup"] == "≤1 day"
    assert copy_disagreements(out) == copy_disagreements(real)  # no new disagreement
    assert out.sha256 != real.sha256 and PINNED not in out.label
    assert out.label == f"derived from CD015373.pub2 data rows, modified (SHA-256 {out.sha256[:12]})"
    assert "Hypothetical 2026" in set(out.studies["study"]) and len(out.studies) == 29
    # and it survives the tidy folder the runner hands the notebooks
    back = read_tidy(write_tidy(out, tmp_path / "tidy"))
    assert (back.label, back.sha256) == (out.label, out.sha256)


def test_extra_rows_errors_name_file_row_column_and_study(real, tmp_path):
    extra = tmp_path / "extra.csv"
    extra.write_text("analysis_id,study,mean_e,sd_e,n_e,mean_c,sd_c,n_c\n"
                     "1.1,New A,40,25,30,55,25,30\n1.2,New B,40,25,30,55,25,30\n9.9,New C,1,1,1,1,1,1\n",
                     encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        add_rows(real, extra)
    text = str(err.value)
    assert f"{extra}: row 2 (study 'New A'): column duration: 1.2 repeats 1.1 by duration" in text
    assert "row 3 (study 'New B'): column analysis_id: 1.2 is the duration subgroup copy of 1.1: give 1.1" in text
    assert "row 4 (study 'New C'): column analysis_id: '9.9' is not an analysis of" in text


def test_a_tidy_folder_edited_by_hand_is_no_longer_labelled_as_published(real, tmp_path):
    folder = write_tidy(real, tmp_path / "tidy")
    assert read_tidy(folder).label == real.label and read_tidy(folder).sha256 == real.sha256
    rows = folder / "rows.csv"
    lines = rows.read_text(encoding="utf-8").splitlines()
    first_11 = next(line for line in lines if line.startswith("1.1,"))
    rows.write_text("\n".join(lines + [first_11.replace("Lumanauw 2019", "Hypothetical 2026")]) + "\n",
                    encoding="utf-8")
    edited = read_tidy(folder)
    assert edited.label.startswith("derived from CD015373.pub2 data rows, modified (SHA-256 ")
    assert edited.sha256 != real.sha256 and edited.sha256[:12] in edited.label
    for shown in (footer_text(edited), dataset_banner(edited)):
        assert "derived from CD015373.pub2 data rows, modified" in shown and PINNED not in shown
    # the row went to 1.1 only: its duration copy 1.2 now disagrees, and that is said
    assert "1.2 (the duration subgroup copy of 1.1) leaves out Hypothetical 2026 of 1.1" in copy_disagreements(edited)


def test_the_documented_example_file_adds_one_trial(real):
    from helpers.core import paths

    out, added = add_rows(real, paths.DATA / "templates" / "cd015373-extra-rows.csv")
    assert added == ["'Hypothetical 2026' added to 1.1, 1.2 (duration: ≤1 day)"]
    assert out.studies["study"].nunique() == real.studies["study"].nunique() + 1


def test_a_file_named_as_the_pinned_one_with_other_bytes_is_derived(real, real_rows, tmp_path):
    import lzma

    copy = tmp_path / real_rows.name  # the same R data (xz), compressed at another level: other bytes, same rows
    copy.write_bytes(lzma.compress(lzma.decompress(real_rows.read_bytes()), preset=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other = load_dataset(copy)
    assert other.sha256 != real.sha256 and other.rows.equals(real.rows)
    assert other.label == f"derived from CD015373.pub2 data rows, modified (SHA-256 {other.sha256[:12]})"
    assert PINNED not in footer_text(other) and PINNED not in dataset_banner(other)

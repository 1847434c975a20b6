"""One's own data (issue 10 point 3): the CSV template, as a file or a folder, every problem at once, and the
data/README.md section "Your own data in five minutes" followed literally."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from helpers.core import paths
from helpers.data.dataset import load_dataset
from helpers.data.schema import ValidationError
from helpers.data.template import TEMPLATE, TEMPLATE_COLUMNS
from helpers.run import cli

SECTION = "## Your own data in five minutes"


def test_template_loads_as_file_and_as_folder(tmp_path):
    ds = load_dataset(TEMPLATE)
    assert (len(ds.studies), len(ds.rows)) == (3, 6) and not ds.synthetic and ds.published.empty
    a = ds.analyses()
    assert list(a.index) == ["1.1", "1.2"] and list(a["method"]) == ["IV", "MH"] and list(a["k"]) == [3, 3]
    assert list(ds.studies["rob_overall"]) == ["Low", "Some concerns", "High"]
    shutil.copy(TEMPLATE, tmp_path / "mine.csv")
    assert load_dataset(tmp_path).rows.equals(ds.rows)


def test_every_problem_is_reported_at_once(tmp_path):
    text = TEMPLATE.read_text(encoding="utf-8").splitlines()
    text[1] = text[1].replace(",20,,20,35,", ",-3,,20,35,")  # n_e of line 2
    text[2] = text[2].replace("Some concerns", "Medium")  # rob_overall of line 3
    text[4] = text[4].replace(",nausea,any,", ",nausae,any,")  # outcome of line 5
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_dataset(bad)
    found = {(r, c) for r, c, _ in info.value.problems}
    assert found == {(2, "n_e"), (3, "rob_overall"), (5, "outcome")}
    assert "row 3 (study 'Example B 2018'): column rob_overall: 'Medium': must be one of Low" in str(info.value)


def test_missing_columns_named_and_no_traceback_from_the_command_line(tmp_path, capsys):
    header, *rows = TEMPLATE.read_text(encoding="utf-8").splitlines()
    cols = header.split(",")
    keep = [i for i, c in enumerate(cols) if c not in ("events_e", "sd_c")]
    (tmp_path / "cut.csv").write_text("\n".join(",".join(line.split(",")[i] for i in keep)
                                                for line in [header, *rows]) + "\n", encoding="utf-8")
    # events_e/sd_c are optional columns: the data then lack what the data types need, reported per row
    code = cli.main(["--data", str(tmp_path / "cut.csv"), "--out", str(tmp_path / "run"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "Traceback" not in err and err.count("\n") == 1
    assert "column events_e" in err and "column sd_c" in err


def test_readme_section_lists_every_template_column():
    text = (paths.PROJECT_ROOT / "data" / "README.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION):text.index("\n## ", text.index(SECTION) + 1)]
    for name, required, meaning in TEMPLATE_COLUMNS:
        assert f"| `{name}` | {'yes' if required else ''} | {meaning} |" in section
    header = TEMPLATE.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert set(header) <= {n for n, _, _ in TEMPLATE_COLUMNS}


@pytest.mark.slow
def test_readme_section_followed_literally(tmp_path):
    """Each shell block of the section, run from the project folder, with the user's file and run folder
    placed in a temporary folder instead of the project."""
    text = (paths.PROJECT_ROOT / "data" / "README.md").read_text(encoding="utf-8")
    section = text[text.index(SECTION):text.index("\n## ", text.index(SECTION) + 1)]
    commands = [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, flags=re.S)]
    assert len(commands) == 3
    mine, run = tmp_path / "my-review.csv", tmp_path / "runs" / "mine"
    for command in commands:
        command = command.replace("my-review.csv", str(mine)).replace("runs/mine", str(run))
        done = subprocess.run(["bash", "-c", command], cwd=paths.PROJECT_ROOT, capture_output=True, text=True,
                              timeout=1800)
        assert done.returncode == 0, (command, done.stderr[-2000:])
    index = (run / "index.html").read_text(encoding="utf-8")
    assert "my-review" in index and "Summary of findings" in index and "Nothing: every planned notebook ran" in index
    assert "Pain intensity (0-100)" in index and "Example A 2015" not in index
    concordance = (run / "html" / "05_concordance.html").read_text(encoding="utf-8")
    assert "Not available in this dataset" in concordance

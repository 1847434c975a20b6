"""helpers.core.checks: allowed values, bad-input messages naming source, row, study and field."""

from __future__ import annotations

import re

import numpy as np
import pytest

from helpers.core import checks, paths
from helpers.core.checks import InputError


@pytest.mark.parametrize("row, constant", [("measure codes", "MEASURES"), ("method codes", "METHODS"),
                                           ("model codes", "MODELS"), ("tau² estimators", "TAU2_METHODS"),
                                           ("CI methods", "CI_METHODS")])  # fmt: skip
def test_the_vocabulary_page_lists_each_constant_in_order(row, constant):
    """docs/vocabulary.md is what users read for the allowed values: it lists each constant, in its order."""
    text = (paths.PROJECT_ROOT / "docs" / "vocabulary.md").read_text(encoding="utf-8")
    line = next(l for l in text.splitlines() if l.startswith(f"| {row} |"))
    listed = re.sub(r"\([^)]*\)", "", line.split("|")[2])  # notes in brackets aside
    assert tuple(re.findall(r"`([^`]+)`", listed)) == getattr(checks, constant)


def test_every_allowed_value_is_accepted_and_named_in_the_refusal():
    for name in ("MEASURES", "METHODS", "MODELS", "TAU2_METHODS", "CI_METHODS", "PI_METHODS"):
        allowed = getattr(checks, name)
        assert len(set(allowed)) == len(allowed) > 1
        assert all(checks.check_choice(name.lower(), value, allowed) == value for value in allowed)
        with pytest.raises(ValueError, match=re.escape(f"must be one of {', '.join(allowed)}; got 'x'")):
            checks.check_choice(name.lower(), "x", allowed)


def test_check_choice_lists_allowed_values():
    assert checks.check_choice("measure", "OR", checks.MEASURES) == "OR"
    with pytest.raises(ValueError, match=r"^measure must be one of MD, SMD, RR, OR, RD; got 'X'$"):
        checks.check_choice("measure", "X", checks.MEASURES)
    with pytest.raises(ValueError, match="got 'or'"):  # case matters
        checks.check_choice("measure", "or", checks.MEASURES)
    with pytest.raises(ValueError, match="got None"):
        checks.check_choice("model", None, checks.MODELS)


@pytest.mark.parametrize("level", [0, 1, 95, -0.5, "0.95"])
def test_check_level(level):
    with pytest.raises(ValueError, match="level must be"):
        checks.check_level(level)


LABELS = ["A", "B", "C"]


def _dich(**over):
    args = dict(events_e=[1, 2, 3], n_e=[10, 10, 10], events_c=[1, 2, 3], n_c=[10, 10, 10])
    args.update(over)
    return checks.dichotomous_arrays(**args, labels=LABELS, source="data-rows.csv")


@pytest.mark.parametrize("over, field, problem", [
    (dict(events_e=[1, 12, 3]), "events_e", "must not exceed n_e"),
    (dict(events_c=[1, 2, -1]), "events_c", "must be >= 0"),
    (dict(n_c=[10, 0, 10]), "n_c", "must be > 0"),
    (dict(n_e=[10, 10, -4]), "n_e", "must be > 0"),
    (dict(events_e=[1, 2.5, 3]), "events_e", "whole number"),
    (dict(events_e=[1, np.nan, 3]), "events_e", "finite"),
    (dict(n_e=[10, np.inf, 10]), "n_e", "finite"),
    (dict(events_e=[1, "x", 3]), "events_e", "numeric"),
])
def test_dichotomous_errors_name_file_row_study_field(over, field, problem):
    with pytest.raises(InputError) as err:
        _dich(**over)
    msg = str(err.value)
    assert msg.startswith("data-rows.csv: ")
    assert f"field {field!r}" in msg and problem in msg
    bad_row = next(i for i, (a, b) in enumerate(zip(over[field], _defaults()[field])) if not (a == b))
    assert f"row {bad_row} (study {LABELS[bad_row]!r})" in msg


def _defaults():
    return dict(events_e=[1, 2, 3], n_e=[10, 10, 10], events_c=[1, 2, 3], n_c=[10, 10, 10])


@pytest.mark.parametrize("field, values, problem", [
    ("sd_e", [1.0, 0.0, 2.0], "must be > 0"),
    ("sd_c", [1.0, 2.0, -1.0], "must be > 0"),
    ("n_c", [5, 0, 5], "must be > 0"),
    ("mean_e", [1.0, np.nan, 2.0], "must be finite"),
])
def test_continuous_errors(field, values, problem):
    args = dict(mean_e=[1, 2, 3], sd_e=[1, 1, 1], n_e=[5, 5, 5], mean_c=[0, 0, 0], sd_c=[1, 1, 1], n_c=[5, 5, 5])
    args[field] = values
    with pytest.raises(InputError, match=rf"field '{field}' {problem}.*row \d \(study '[ABC]'\)"):
        checks.continuous_arrays(**args, labels=LABELS)


def test_effect_arrays_errors():
    with pytest.raises(InputError, match=r"field 'vi' must be > 0: row 1 has vi=0.0"):
        checks.effect_arrays([0.1, 0.2], [0.1, 0.0])
    with pytest.raises(InputError, match=r"field 'vi' must be > 0: row 0 .*row 1"):
        checks.effect_arrays([0.1, 0.2], [-1.0, -2.0])
    with pytest.raises(InputError, match="same length: yi has 3, vi has 2"):
        checks.effect_arrays([0.1, 0.2, 0.3], [0.1, 0.1])
    with pytest.raises(InputError, match="no studies"):
        checks.effect_arrays([], [])


def test_index_label_is_named_when_it_differs_from_position():
    with pytest.raises(InputError, match=r"row 1 \(index 'x7', study 'B'\)"):
        checks.effect_arrays([0.1, 0.2], [0.1, -1.0], labels=["A", "B"], index=np.array(["x6", "x7"]))


def test_many_bad_rows_are_counted_not_dumped():
    with pytest.raises(InputError, match=r"and 5 more rows"):
        checks.effect_arrays(np.zeros(10), -np.ones(10))

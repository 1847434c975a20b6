"""Analysis parameters: one check, case-insensitive where unambiguous, allowed values in every message."""

from __future__ import annotations

import pytest

from helpers.core.errors import ParameterError
from helpers.data.schema import ROUTES
from helpers.report import params
from helpers.report.notebook import parameters


@pytest.mark.parametrize(("name", "given", "expected"), [
    ("estimator", "reml", "REML"), ("estimator", "dl", "DL"), ("ci_method", "HKSJ", "hksj"),
    ("drug", "Ketamine", "ketamine"), ("route", "iv", "intravenous"), ("route", "Oral", "oral"),
    ("timepoint", "short-term", "short"), ("timepoint", "Immediate", "immediate"),
    ("outcome", "pain intensity", "pain_intensity"), ("drug", None, None),
])  # fmt: skip
def test_spelling_variants_map_to_the_allowed_value(name, given, expected):
    assert params.canonical(name, given) == expected


def test_every_bad_value_is_reported_at_once_with_the_allowed_values():
    with pytest.raises(ParameterError) as info:
        params.check_parameters({"estimator": "FOO", "route": "nasal", "drug": "ketamine", "data_path": "x"})
    message = str(info.value)
    assert "estimator must be one of FE, DL, REML, PM or null; got 'FOO'" in message
    assert f"route must be one of {', '.join(ROUTES)} or null; got 'nasal'" in message
    with pytest.raises(ParameterError, match="ci_method must be one of z, hksj; got None"):
        params.canonical("ci_method", None)


def test_notebook_parameters_accept_variants_and_keep_the_canonical_spelling(tmp_path):
    p = parameters(estimator="reml", ci_method="HKSJ", route="IV", timepoint="short-term", out_dir=tmp_path)
    assert (p.estimator, p.ci_method, p.route, p.timepoint) == ("REML", "hksj", "intravenous", "short")

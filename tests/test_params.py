"""Analysis parameters: one check, case-insensitive where unambiguous, allowed values in every message."""

from __future__ import annotations

import pytest

from helpers.core.errors import ParameterError
from helpers.data.schema import ROUTES
from helpers.report import params
from helpers.report.notebook import declared_parameters, parameters


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


def test_a_notebook_passes_only_what_it_declares_and_the_defaults_are_the_reviews(tmp_path):
    """Parameters not declared take the defaults (None: all, the review's own settings; not REML), the page's
    parameter line names only the declared ones, and a name that is no parameter is refused."""
    p = parameters(data_path=None, review_map="auto", out_dir=tmp_path)
    assert (p.drug, p.estimator, p.ci_method, p.declared) == (None, None, "z", ("data_path", "review_map", "out_dir"))
    assert p._repr_markdown_() == "**Parameters:** data: the default package; review map: `auto`."
    assert parameters(out_dir=tmp_path).estimator is None  # the package's settings, as every notebook's default
    with pytest.raises(ParameterError, match="unknown parameter.s. colour; allowed: data_path, drug, route"):
        parameters(colour="red", out_dir=tmp_path)


def test_a_parameters_cell_holds_literals_only(tmp_path):
    """papermill injects new values after the parameters cell: a value derived inside it would keep its default."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('drug = "ketamine"\nout_dir = None', metadata={"tags": ["parameters"]})]
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    assert declared_parameters(path) == {"drug": "ketamine", "out_dir": None}
    nb.cells[0].source += '\nlabel = drug.title()'
    nbformat.write(nb, path)
    with pytest.raises(ParameterError, match=r"x.ipynb: parameters cell: label = drug.title\(\) is not a literal"):
        declared_parameters(path)

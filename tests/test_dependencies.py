"""Dependencies declared once (issue 18): pyproject.toml names what the project needs; requirements.lock (exact
versions, a SHA-256 for every file) and environment.yml are generated from it (``make lock``) and checked here.

- every third-party module imported anywhere in src/, tests/, benchmarks/, scripts/ and the notebooks' code
  cells (``import``, ``from``, ``importorskip``, ``python -m`` launches) belongs to a declared distribution
  (import name -> distribution through importlib.metadata.packages_distributions);
- every declared distribution is pinned in the lock with hashes, and the lock is what uv compiles from pyproject;
- environment.yml is exactly what scripts/environment_yml.py writes: the lock's pins, r-metafor=3.8.1, r-jsonlite.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import re
import sys
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from helpers.core import paths
from helpers.run.manifest import declared_requirements, normalise_distribution, requirement_names

ROOT = paths.PROJECT_ROOT
SOURCES = ("src", "tests", "benchmarks", "scripts")
LOCAL = {"helpers", "conftest", "fixtures", "tests", "nbval_images"}  # the project's own import names


def _environment_script():
    spec = importlib.util.spec_from_file_location("environment_yml", ROOT / "scripts" / "environment_yml.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _modules_in(source: str) -> set[str]:
    """Top-level names of the modules a piece of code imports (statically, by importorskip/import_module, or
    launches as ``sys.executable, "-m", name``)."""
    names, tree = set(), ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in (
                "importorskip", "import_module") and node.args and isinstance(node.args[0], ast.Constant):
            names.add(node.args[0].value)
        elif isinstance(node, (ast.List, ast.Tuple)):
            items = [e.value if isinstance(e, ast.Constant) else None for e in node.elts]
            names |= {items[i + 1] for i in range(len(items) - 1)
                      if items[i] == "-m" and isinstance(items[i + 1], str)}
    return {name.split(".")[0] for name in names}


def imported_modules() -> dict[str, set[str]]:
    """``{top-level module: {files importing it}}`` over the project's code and notebooks."""
    found: dict[str, set[str]] = {}
    files = [p for d in SOURCES for p in sorted((ROOT / d).rglob("*.py")) if ".ipynb_checkpoints" not in p.parts]
    for path in [*files, *sorted((ROOT / "notebooks").glob("*.ipynb"))]:
        if path.suffix == ".ipynb":
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            code = ["\n".join(line for line in "".join(c["source"]).splitlines()
                              if not line.lstrip().startswith(("%", "!")))
                    for c in cells if c["cell_type"] == "code"]
        else:
            code = [path.read_text(encoding="utf-8")]
        for source in code:
            for name in _modules_in(source):
                found.setdefault(name, set()).add(path.relative_to(ROOT).as_posix())
    return found


def test_the_scan_sees_each_way_of_importing():
    code = ('import a.b\nfrom c.d import e\nfrom . import f\npytest.importorskip("g.h")\n'
            'subprocess.run([sys.executable, "-m", "i", "x"])\n')
    assert _modules_in(code) == {"a", "c", "g", "i"}


def test_every_imported_third_party_module_is_declared():
    declared = set(requirement_names())
    owners = metadata.packages_distributions()
    stdlib = set(sys.stdlib_module_names)
    local = LOCAL | {p.stem for d in SOURCES for p in (ROOT / d).rglob("*.py")}
    undeclared, unknown = {}, {}
    for module, where in sorted(imported_modules().items()):
        if module in stdlib or module in local or module == "__future__":
            continue
        distributions = {normalise_distribution(d) for d in owners.get(module, [])}
        if not distributions:
            unknown[module] = sorted(where)[:3]
        elif not distributions & declared:
            undeclared[module] = (sorted(distributions), sorted(where)[:3])
    assert not unknown, f"imported but installed by no distribution: {unknown}"
    assert not undeclared, f"imported but not declared in pyproject.toml (module: (distribution, files)): {undeclared}"


def test_known_imports_map_to_their_distributions():
    """The mapping the check relies on, on the names that differ from their distribution."""
    modules = imported_modules()
    owners = metadata.packages_distributions()
    for module, distribution in {"PIL": "pillow", "fontTools": "fonttools", "yaml": "pyyaml",
                                 "jupyter_client": "jupyter-client", "jinja2": "jinja2", "voila": "voila"}.items():
        assert module in modules, f"{module} no longer imported: update this test"
        assert distribution in {normalise_distribution(d) for d in owners[module]}


def _lock_entries() -> dict[str, tuple[str, list[str]]]:
    """``{name: (version, [sha256, ...])}`` from requirements.lock."""
    entries, current = {}, None
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if match := re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)", line):
            current = normalise_distribution(match.group(1))
            entries[current] = (match.group(2), [])
        if current and (digest := re.search(r"--hash=sha256:([0-9a-f]{64})", line)):
            entries[current][1].append(digest.group(1))
    return entries


def test_lock_pins_every_declared_distribution_with_hashes():
    lock = _lock_entries()
    assert lock and all(hashes for _, hashes in lock.values()), [n for n, (_, h) in lock.items() if not h]
    assert set(requirement_names()) <= set(lock), set(requirement_names()) - set(lock)
    header = (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines()[1]
    extras = " ".join(f"--extra {group}" for group in declared_requirements() if group != "dependencies")
    assert header.split("uv pip compile ")[1] == (
        f"pyproject.toml {extras} --generate-hashes --python-version 3.11 -o requirements.lock"), header
    assert extras in (ROOT / "Makefile").read_text(encoding="utf-8")  # make lock compiles the same groups


def test_make_install_checks_hashes_and_nothing_reads_requirements_in():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "--require-hashes -r requirements.lock" in makefile
    assert not (ROOT / "requirements.in").exists()
    assert "requirements.in" not in makefile


def test_environment_yml_is_generated_from_pyproject_and_the_lock():
    script = _environment_script()
    assert (ROOT / "environment.yml").read_text(encoding="utf-8") == script.render(), (
        "environment.yml differs from scripts/environment_yml.py's output: run make lock")
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert env["channels"] == ["conda-forge"]
    pypi_name = {conda: pypi for pypi, conda in script.CONDA_NAMES.items()}
    specs = {}
    for dep in env["dependencies"]:
        for entry in dep["pip"] if isinstance(dep, dict) else [dep]:
            if not entry.startswith("-"):
                name, version = re.match(r"^([A-Za-z0-9_.\-]+)(?:==?(\S+))?$", entry).groups()
                specs[normalise_distribution(pypi_name.get(name, name))] = version
    lock = _lock_entries()
    for name in requirement_names():
        assert specs.get(name) == lock[name][0], f"{name}: environment.yml {specs.get(name)!r}, lock {lock[name][0]}"
    assert specs["python"] == "3.11" and specs["r-metafor"] == "3.8.1" and "r-jsonlite" in specs


@pytest.mark.parametrize("phrase", ["/usr/bin/chromium", "apt-get install chromium"])
def test_environment_yml_names_the_browser_the_tests_use(phrase):
    text = (ROOT / "environment.yml").read_text(encoding="utf-8")
    assert phrase in text and "playwright install chromium`" not in text.replace("`playwright install`", "")
    for test in ("test_explore_browser.py", "test_export_browser.py"):
        assert 'CHROMIUM = Path("/usr/bin/chromium")' in (ROOT / "tests" / test).read_text(encoding="utf-8")

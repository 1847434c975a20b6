"""environment.yml (conda users) stays in step with requirements.in (ranges) and requirements.lock (pins)."""

from __future__ import annotations

import re

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import Version

from helpers.core import paths

ROOT = paths.PROJECT_ROOT


def _requirements_in() -> dict[str, Requirement]:
    reqs = {}
    for line in (ROOT / "requirements.in").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            reqs[req.name.lower()] = req
    return reqs


def _lock() -> dict[str, Version]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line)
        if match:
            pins[match.group(1).lower()] = Version(match.group(2))
    return pins


def _environment() -> tuple[dict, dict[str, str]]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    specs = {}
    for dep in env["dependencies"]:
        entries = dep["pip"] if isinstance(dep, dict) else [dep]
        for entry in entries:
            if entry.startswith("-"):
                continue  # pip options such as "-e ."
            match = re.match(r"^([A-Za-z0-9_.\-]+)\s*(.*)$", entry)
            specs[match.group(1).lower()] = match.group(2).replace(" ", "")
    return env, specs


def test_conda_forge_and_python_311():
    env, specs = _environment()
    assert env["channels"] == ["conda-forge"]
    assert specs["python"] == "=3.11"


@pytest.mark.parametrize("name", sorted(_requirements_in()))
def test_every_requirement_has_the_same_range(name):
    _, specs = _environment()
    req = _requirements_in()[name]
    assert name in specs, f"{name} is in requirements.in but missing from environment.yml"
    assert specs[name] == str(req.specifier).replace(" ", "") or set(specs[name].split(",")) == set(
        str(req.specifier).split(",")), f"{name}: environment.yml '{specs[name]}' != requirements.in '{req.specifier}'"


@pytest.mark.parametrize("name", sorted(_requirements_in()))
def test_lock_pin_satisfies_the_environment_range(name):
    _, specs = _environment()
    pin = _lock().get(name)
    assert pin is not None, f"{name} is not pinned in requirements.lock"
    assert Requirement(f"{name}{specs[name]}").specifier.contains(pin), f"{name}=={pin} outside '{specs[name]}'"

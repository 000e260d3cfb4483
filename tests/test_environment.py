"""The set-up files agree with each other: conda users get what pip users get."""
from __future__ import annotations

import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def _normalised(requirements) -> set[str]:
    """Requirement strings as `name<spec>` with the name canonicalised (pretty-midi == pretty_midi)."""
    out = set()
    for text in requirements:
        req = Requirement(text)
        out.add(f"{req.name.lower().replace('_', '-')}{req.specifier}")
    return out


def _pyproject_requirements() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return _normalised(project["dependencies"] + project["optional-dependencies"]["test"])


def _environment_pip_requirements() -> set[str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    return _normalised(line for line in pip_section if not line.startswith("-e"))


def test_environment_yml_lists_exactly_the_pyproject_requirements():
    assert _environment_pip_requirements() == _pyproject_requirements()


def test_environment_yml_installs_the_package_itself_and_libfluidsynth():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "-e ." in pip_section
    assert "fluidsynth" in env["dependencies"]


def test_torch_is_pinned_to_the_cpu_build_on_disk():
    assert "torch==2.13.0" in _pyproject_requirements()

"""binder/: the repository opens on Binder with real synthesis (repo2docker reads these files)."""
from __future__ import annotations

import os
import re
import tomllib

from lab_server import ROOT

BINDER = ROOT / "binder"


def _lines(name: str) -> list[str]:
    return [line.strip() for line in (BINDER / name).read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def test_apt_txt_installs_fluidsynth_a_better_soundfont_and_the_data_tools():
    packages = set(_lines("apt.txt"))
    makefile_debs = re.search(r"^DEBS\s*:=\s*(.+)$", (ROOT / "Makefile").read_text(), re.M).group(1).split()
    assert set(makefile_debs) <= packages
    assert {"libfluidsynth3", "fluid-soundfont-gm", "mma", "abcmidi"} <= packages


def test_torch_is_the_pinned_version_from_the_cpu_index():
    requirements = _lines("requirements.txt")
    pinned = [r for r in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
              if r.startswith("torch")]
    assert pinned and pinned[0] in requirements
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in requirements


def test_post_build_installs_the_kit_and_builds_the_data_caches():
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK)
    commands = _lines("postBuild")
    assert "pip install --no-cache-dir -e ." in commands
    assert any(c.startswith("python -m musiclab.cli data build") for c in commands)

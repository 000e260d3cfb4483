"""The start-once mma server: it renders exactly what separate ``mma`` processes render, and it
never outlives the process that started it."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from musiclab.data import grooves as groove_loader

needs_mma = pytest.mark.skipif(shutil.which("mma") is None,
                               reason="mma (Musical MIDI Accompaniment) is not installed")
# stdlib/waltz is 3/4 (skipped), the others 4/4; casio/ and stdlib/ share a groove name
SAMPLE = ["stdlib/rhumba.mma", "stdlib/waltz.mma", "stdlib/60srock.mma", "casio/60srock.mma", "pflib/16beat1.mma"]


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    return not _alive(pid)


def test_the_interpreter_of_a_python_script_is_read_from_its_first_line(tmp_path):
    cases = {"#! /usr/bin/python3\nimport MMA\n": ["/usr/bin/python3"],
             "#!/usr/bin/env python3\n": ["/usr/bin/env", "python3"],
             "#!/bin/sh\nexec python3 mma.py\n": [], "no shebang\n": []}
    for i, (text, interpreter) in enumerate(cases.items()):
        (tmp_path / f"s{i}").write_text(text)
        assert groove_loader._python_of(tmp_path / f"s{i}") == interpreter
    assert groove_loader._python_of(tmp_path / "missing") == []


@needs_mma
def test_the_server_renders_the_same_grids_names_and_counts_as_mma_processes(monkeypatch):
    library = groove_loader.mma_library()
    sample = [f for f in SAMPLE if f in library]
    assert sample == SAMPLE
    served = groove_loader.render_mma_grooves(sample, quiet=True)
    monkeypatch.setattr(groove_loader, "_python_of", lambda script: [])  # one mma process per run
    plain = groove_loader.render_mma_grooves(sample, quiet=True)
    assert len(served) >= 6
    np.testing.assert_array_equal(served.grids, plain.grids)
    assert served.names == plain.names
    assert served.skipped == plain.skipped and served.skipped["not 4/4 (3/4)"] >= 1
    assert served.unmapped == plain.unmapped


@needs_mma
def test_a_closed_server_ends(tmp_path):
    home = groove_loader._mma_home()
    with groove_loader._Mma(home, tmp_path) as mma:
        assert mma.server is not None and _alive(mma.server.pid)
        status, output = mma.run(["-v"], tmp_path / "v.log")
        assert status == 0 and output.strip()
    assert _gone_within(mma.server.pid, 5)


@needs_mma
def test_the_server_ends_when_the_process_that_started_it_is_killed(tmp_path):
    code = ("import sys, time; from pathlib import Path; from musiclab.data import grooves as g\n"
            "mma = g._Mma(g._mma_home(), Path(sys.argv[1])); print(mma.server.pid, flush=True); time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              cwd=Path(__file__).resolve().parents[1], env={**os.environ})
    try:
        server = int(parent.stdout.readline())
        assert _alive(server)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        assert _gone_within(server, 5), "the mma server outlived the process that started it"
    finally:
        parent.kill()
        parent.stdout.close()

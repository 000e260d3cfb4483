"""The notebooks are regression tests, and they stay quiet until the student asks for sound.

Read from the stored notebooks (no kernel): a code cell *prints text* when its stored outputs hold
stdout or a plain-text result (a figure's or a player's text stand-in does not count). At least
80 % of those cells start with ``# NBVAL_CHECK_OUTPUT``, so nbval compares their text on every run;
each one left unchecked says why in a ``# not checked: ...`` comment. And no stored output or widget
state starts a player by itself on Run All.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
CHECK = "# NBVAL_CHECK_OUTPUT"
WHY_NOT = re.compile(r"#\s*not checked:\s*\S")
TARGET = 0.80


def code_cells(path: Path) -> list[dict]:
    return [cell for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"]


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def prints_text(cell: dict) -> bool:
    """True when the stored outputs hold text a reader sees: stdout, or a result or display whose
    only form is plain text (figures and players also carry a text stand-in; those do not count)."""
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream" and output["name"] == "stdout":
            return True
        if output["output_type"] in ("execute_result", "display_data") and set(output["data"]) == {"text/plain"}:
            return True
    return False


def is_checked(cell: dict) -> bool:
    return source(cell).lstrip().startswith(CHECK)


def printing_cells() -> list[tuple[str, int, dict]]:
    return [(path.name, number, cell) for path in NOTEBOOKS
            for number, cell in enumerate(code_cells(path), start=1) if prints_text(cell)]


def test_the_notebooks_are_there_and_have_run():
    assert len(NOTEBOOKS) >= 8
    for path in NOTEBOOKS:
        assert any(cell.get("outputs") for cell in code_cells(path)), f"{path.name} has no stored outputs"


def test_at_least_80_percent_of_the_cells_that_print_text_are_checked_by_nbval():
    cells = printing_cells()
    checked = [where for *where, cell in cells if is_checked(cell)]
    share = len(checked) / len(cells)
    unchecked = [f"{name} code cell {number}" for name, number, cell in cells if not is_checked(cell)]
    assert share >= TARGET, (f"{len(checked)} of {len(cells)} printing cells ({share:.0%}) carry {CHECK}; "
                             f"unchecked: {unchecked}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_unchecked_printing_cell_says_why(path):
    silent = [number for name, number, cell in printing_cells()
              if name == path.name and not is_checked(cell) and not WHY_NOT.search(source(cell))]
    assert not silent, (f"{path.name}: code cells {silent} print text but are neither checked ({CHECK}) "
                        f"nor explained ('# not checked: why')")


def test_the_counting_tells_text_from_figures_and_players():
    text = {"output_type": "stream", "name": "stdout", "text": "hello\n"}
    figure = {"output_type": "display_data", "data": {"image/png": "...", "text/plain": "<Figure>"}}
    player = {"output_type": "execute_result", "data": {"text/html": "<audio>", "text/plain": "<Audio>"}}
    progress = {"output_type": "stream", "name": "stderr", "text": "50%|#####     |"}
    value = {"output_type": "execute_result", "data": {"text/plain": "[0, 1, 2]"}}
    assert prints_text({"outputs": [text]}) and prints_text({"outputs": [value, figure]})
    assert not prints_text({"outputs": [figure, player, progress]})
    assert is_checked({"source": "# NBVAL_CHECK_OUTPUT\nprint(1)"})
    assert not is_checked({"source": "print(1)  # NBVAL_CHECK_OUTPUT later"})


# ----- no sound without a click -------------------------------------------------------------------

def autoplaying(path: Path) -> list[str]:
    """Where a stored notebook would start audio by itself: an HTML player with ``autoplay``, or an
    audio widget whose saved state has ``autoplay`` on."""
    notebook = json.loads(path.read_text())
    found = []
    for number, cell in enumerate(code_cells(path), start=1):
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html", "")
            html = "".join(html) if isinstance(html, list) else html
            if re.search(r"<audio[^>]*\bautoplay\b", html):
                found.append(f"code cell {number}: <audio autoplay>")
    widgets = notebook.get("metadata", {}).get("widgets", {})
    for state in widgets.get("application/vnd.jupyter.widget-state+json", {}).get("state", {}).values():
        if state.get("state", {}).get("autoplay"):
            found.append(f"widget {state.get('model_name')} with autoplay on")
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_player_starts_by_itself_on_run_all(path):
    assert autoplaying(path) == [], f"{path.name} would play sound nobody asked for"


def test_the_autoplay_scan_finds_both_kinds(tmp_path):
    notebook = {"cells": [{"cell_type": "code", "source": "", "outputs": [
        {"output_type": "display_data", "data": {"text/html": '<audio controls="controls" autoplay="autoplay">'}}]}],
        "metadata": {"widgets": {"application/vnd.jupyter.widget-state+json": {"state": {
            "k": {"model_name": "AudioModel", "state": {"autoplay": True}}}}}}}
    path = tmp_path / "loud.ipynb"
    path.write_text(json.dumps(notebook))
    assert len(autoplaying(path)) == 2

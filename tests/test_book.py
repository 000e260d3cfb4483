"""`make book`: one HTML page per notebook, with the notebook's audio players, figures and widgets,
formulas typeset by a MathJax served from the book itself, and nothing that plays on its own."""
from __future__ import annotations

import importlib.util
import json
import re

import pytest

from lab_server import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def _load_book_tool():
    spec = importlib.util.spec_from_file_location("book_tool", ROOT / "tools" / "book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


book = _load_book_tool()


VIEW = "application/vnd.jupyter.widget-view+json"


def _shown_widgets(nb) -> list[dict]:
    """The saved widget models that the notebook's outputs show (children and captured outputs
    followed; models left over in the saved state from earlier runs are not shown)."""
    models = nb["metadata"].get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    todo = [o["data"][VIEW]["model_id"] for c in nb["cells"] for o in c.get("outputs", []) if VIEW in o.get("data", {})]
    shown: dict[str, dict] = {}
    while todo:
        model_id = todo.pop().removeprefix("IPY_MODEL_")
        if model_id in shown or model_id not in models:
            continue
        shown[model_id] = state = models[model_id]
        todo += state["state"].get("children", [])
        todo += [o["data"][VIEW]["model_id"] for o in state["state"].get("outputs", []) if VIEW in o.get("data", {})]
    return list(shown.values())


def _stored(notebook) -> dict[str, int]:
    """Audio players and figures a reader sees in a notebook's stored outputs, widgets included."""
    nb = json.loads(notebook.read_text())
    data = [output.get("data", {}) for cell in nb["cells"] for output in cell.get("outputs", [])]
    widgets = _shown_widgets(nb)
    return {"audio": sum("<audio" in "".join(d.get("text/html", "")) for d in data)
            + sum(json.dumps(m).count("<audio") + (m["model_name"] == "AudioModel") for m in widgets),
            "figures": sum("image/png" in d or "image/svg+xml" in d
                           for d in data + [o.get("data", {}) for m in widgets for o in m["state"].get("outputs", [])])}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("book") / "book"
    book.build(out)
    return out


@pytest.mark.slow
def test_every_notebook_has_a_page_with_its_audio_players_and_figures(built):
    assert NOTEBOOKS and (built / "index.html").exists()
    index = (built / "index.html").read_text()
    for notebook in NOTEBOOKS:
        page = (built / f"{notebook.stem}.html").read_text()
        assert f'href="{notebook.stem}.html"' in index, notebook.stem
        stored = _stored(notebook)
        assert stored["audio"] > 0 and stored["figures"] > 0, f"{notebook.name} has no stored audio or figure"
        assert page.count("<audio") >= stored["audio"], f"{notebook.stem}: audio players missing"
        assert page.count("<img") + page.count("<svg") >= stored["figures"], f"{notebook.stem}: figures missing"


@pytest.mark.slow
def test_widgets_are_drawn_from_their_saved_state_without_javascript(built):
    playground = (built / "03_tuning_playground.html").read_text()
    assert "type='range'" in playground and "temperature" in playground
    for notebook in NOTEBOOKS:
        page = (built / f"{notebook.stem}.html").read_text()
        assert "widget-view+json" not in page and "widget-state+json" not in page
        assert "(an interactive widget: run the notebook to use it)" not in page, notebook.stem
        assert "NBVAL_" not in page, notebook.stem


@pytest.mark.slow
def test_pages_load_nothing_from_the_internet_and_never_autoplay(built):
    assert (built / "_static" / "mathjax" / "tex-chtml.js").exists()
    for page in built.glob("*.html"):
        text = page.read_text()
        assert not re.search(r"""<(script|link|img|audio|source)[^>]+(src|href)=["']?(https?:)?//""", text), page.name
        assert "autoplay" not in text.lower(), page.name
    assert 'src="_static/mathjax/tex-chtml.js"' in (built / "02_rl_tuner.html").read_text()


@pytest.mark.slow
@pytest.mark.browser
def test_formulas_are_typeset_offline_in_a_real_browser(built):
    from browser_lab import CHROMIUM, CHROMIUM_ARGS, browser_missing_reason
    if browser_missing_reason():
        pytest.skip(browser_missing_reason())
    from playwright.sync_api import sync_playwright
    requested = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(offline=True).new_page()
            page.route("http*://**", lambda route: (requested.append(route.request.url), route.abort()))
            page.goto((built / "04_music_vae_calming.html").as_uri())
            page.wait_for_function("document.querySelectorAll('mjx-container').length > 10", timeout=60_000)
            players = page.eval_on_selector_all("audio", "all => all.map(a => a.paused)")
        finally:
            browser.close()
    assert requested == []
    assert players and all(players)  # every player waits for a click


def test_a_slider_is_drawn_at_its_value_with_its_readout():
    models = {"s": {"model_name": "FloatSliderModel", "state": {
        "description": "temperature", "min": 0.1, "max": 1.5, "step": 0.1, "value": 0.5, "readout_format": ".2f"}}}
    html = book.render_widget("IPY_MODEL_s", models)
    assert "temperature" in html and "value='0.5'" in html and ">0.50<" in html and "disabled" in html


def test_an_output_widget_shows_what_it_captured_and_its_audio_waits_for_a_click():
    captured = [{"output_type": "display_data", "data": {
                    "text/html": '<audio controls="controls" autoplay="autoplay"><source src="data:audio/wav;base64,AA"></audio>',
                    "text/plain": "<IPython.lib.display.Audio object>"}},
                {"output_type": "stream", "name": "stdout", "text": "step 3 of 7\n"},
                {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}}]
    models = {"box": {"model_name": "VBoxModel", "state": {"children": ["IPY_MODEL_out", "IPY_MODEL_b"]}},
              "out": {"model_name": "OutputModel", "state": {"outputs": captured}},
              "b": {"model_name": "ButtonModel", "state": {"description": "next piece", "style": "IPY_MODEL_st"}},
              "st": {"model_name": "ButtonStyleModel", "state": {"button_color": "#f0a030"}}}
    html = book.render_widget("box", models)
    assert "<audio" in html and "autoplay" not in html
    assert "step 3 of 7" in html and "data:image/png;base64,iVBORw0KGgo=" in html
    assert "next piece" in html and "#f0a030" in html


def test_an_audio_widget_becomes_a_player_and_a_missing_model_says_so():
    models = {"a": {"model_name": "AudioModel", "state": {"format": "wav", "autoplay": True},
                    "buffers": [{"path": ["value"], "encoding": "base64", "data": "UklGRg=="}]}}
    assert book.render_widget("a", models) == "<audio controls src='data:audio/wav;base64,UklGRg=='></audio>"
    assert "run the notebook" in book.render_widget("gone", models)

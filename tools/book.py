"""Build the browsable book: a static HTML site of the executed notebooks, offline (``make book``).

    python tools/book.py [OUT_DIR]     # default: build/book (sources staged in build/book-src)

Sphinx with myst-nb renders the notebooks' *stored* outputs (``nb_execution_mode = "off"`` in
book/conf.py), so the book shows exactly what was committed: figures, tables and the audio players.
Widgets need JavaScript from a CDN to draw themselves in a static page; instead, this script draws
each widget's saved state as plain HTML before Sphinx sees the notebook: sliders at their value,
buttons, text, and the captured outputs of ``Output`` widgets (the figures and audio players that an
``interactive_output`` showed). Formulas are typeset by a MathJax copy bundled with the
``sphinx-mathjax-offline`` extension, so the pages render without internet. No audio player plays
on its own: ``autoplay`` is removed everywhere.
"""
from __future__ import annotations

import html
import math
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
AUTOPLAY = re.compile(r"""\s+autoplay(=("autoplay"|'autoplay'|"true"|""))?""", re.IGNORECASE)
NBVAL_MARKER = re.compile(r"^# NBVAL_[A-Z_]+\s*$")
BOX_STYLE = {"VBoxModel": "flex-direction:column", "BoxModel": "flex-direction:column",
             "GridBoxModel": "flex-direction:row;flex-wrap:wrap", "HBoxModel": "flex-direction:row;flex-wrap:wrap"}
TEXT_INPUTS = {"TextModel": "text", "PasswordModel": "password", "IntTextModel": "number",
               "BoundedIntTextModel": "number", "FloatTextModel": "number", "BoundedFloatTextModel": "number"}


def no_autoplay(markup: str) -> str:
    """``markup`` with every ``autoplay`` attribute removed: players play on a click only."""
    return AUTOPLAY.sub("", markup)


def _label(state: dict) -> str:
    text = state.get("description") or ""
    return f"<span class='ml-description'>{html.escape(text)}</span> " if text else ""


def _audio(model: dict) -> str:
    """An ``ipywidgets.Audio``'s saved bytes as a player (the bytes live in the model's buffers)."""
    state = model["state"]
    data = next((b["data"] for b in model.get("buffers", []) if b.get("path") == ["value"]), None)
    if data is None:
        return "<em>(audio: run the notebook to hear it)</em>"
    kind = html.escape(state.get("format") or "wav")
    return f"<audio controls src='data:audio/{kind};base64,{data}'></audio>"


def _slider(name: str, state: dict) -> str:
    """A slider at its saved value (disabled: the page cannot run Python), with its readout."""
    value = state.get("value")
    if isinstance(value, list):  # a range slider
        return f"{_label(state)}<span class='ml-readout'>{html.escape(str(value))}</span>"
    try:
        shown = format(value, state.get("readout_format") or "")
    except (TypeError, ValueError):
        shown = str(value)
    position = math.log(value, state.get("base", 10.0)) if name == "FloatLogSliderModel" and value else value
    return (f"{_label(state)}<input type='range' disabled min='{state.get('min', 0)}' max='{state.get('max', 100)}' "
            f"step='{state.get('step', 1)}' value='{position}'> <span class='ml-readout'>{html.escape(shown)}</span>")


def render_widget(model_id: str, models: dict, depth: int = 0) -> str:
    """Static HTML of the widget ``model_id`` (``IPY_MODEL_`` prefix allowed) from the saved ``models``."""
    model_id = model_id.removeprefix("IPY_MODEL_")
    model = models.get(model_id)
    if model is None or depth > 40:
        return "<em>(an interactive widget: run the notebook to use it)</em>"
    name, state = model["model_name"], model["state"]
    if name in BOX_STYLE:
        children = "".join(f"<div>{render_widget(child, models, depth + 1)}</div>" for child in state.get("children", []))
        return f"<div class='ml-box' style='display:flex;gap:4px;{BOX_STYLE[name]}'>{children}</div>"
    if name == "OutputModel":
        return f"<div class='ml-output'>{render_outputs(state.get('outputs', []), models, depth + 1)}</div>"
    if name in ("HTMLModel", "HTMLMathModel"):
        return _label(state) + no_autoplay(state.get("value") or "")
    if name == "LabelModel":
        return _label(state) + html.escape(state.get("value") or "")
    if name in ("ButtonModel", "ToggleButtonModel"):
        colour = models.get(str(state.get("style", "")).removeprefix("IPY_MODEL_"), {}).get("state", {}).get("button_color")
        look = f" style='background:{html.escape(colour)}'" if colour else ""
        return (f"<button disabled{look} title='{html.escape(state.get('tooltip') or '')}'>"
                f"{html.escape(state.get('description') or '')}</button>")
    if name.endswith("SliderModel"):
        return _slider(name, state)
    if name in TEXT_INPUTS:
        value = html.escape(str(state.get("value", "")))
        return f"{_label(state)}<input type='{TEXT_INPUTS[name]}' disabled value='{value}'>"
    if name == "CheckboxModel":
        checked = " checked" if state.get("value") else ""
        return f"<label><input type='checkbox' disabled{checked}> {html.escape(state.get('description') or '')}</label>"
    if name in ("DropdownModel", "SelectModel", "RadioButtonsModel", "ToggleButtonsModel"):
        labels, index = state.get("_options_labels", []), state.get("index")
        options = "".join(f"<option{' selected' if i == index else ''}>{html.escape(str(o))}</option>"
                          for i, o in enumerate(labels))
        return f"{_label(state)}<select disabled>{options}</select>"
    if name in ("FloatProgressModel", "IntProgressModel"):
        return f"{_label(state)}<progress value='{state.get('value', 0)}' max='{state.get('max', 100)}'></progress>"
    if name == "AudioModel":
        return _audio(model)
    return _label(state)


def render_outputs(outputs: list, models: dict, depth: int = 0) -> str:
    """Static HTML of a list of nbformat outputs (those an ``Output`` widget captured)."""
    parts = []
    for output in outputs:
        if output.get("output_type") == "stream":
            parts.append(f"<pre>{html.escape(''.join(output.get('text', '')))}</pre>")
            continue
        data = output.get("data", {})
        if WIDGET_VIEW in data:
            parts.append(render_widget(data[WIDGET_VIEW]["model_id"], models, depth + 1))
        elif "text/html" in data:
            parts.append(no_autoplay("".join(data["text/html"])))
        elif "image/png" in data:
            parts.append(f"<img src='data:image/png;base64,{''.join(data['image/png']).strip()}'>")
        elif "image/svg+xml" in data:
            parts.append("".join(data["image/svg+xml"]))
        elif "text/plain" in data:
            parts.append(f"<pre>{html.escape(''.join(data['text/plain']))}</pre>")
    return "".join(parts)


def static_notebook(nb) -> nbformat.NotebookNode:
    """``nb`` with each widget output replaced by its saved state drawn as HTML, the widget state
    dropped from the metadata (no widget JavaScript is needed), no audio autoplaying, and no
    ``# NBVAL_...`` marker lines in the code shown."""
    models = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        if cell.cell_type == "code":  # nbval's markers are for the tests, not for the reader
            cell.source = "\n".join(line for line in cell.source.split("\n") if not NBVAL_MARKER.match(line))
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                view = data.pop(WIDGET_VIEW)
                data["text/html"] = f"<div class='ml-widget'>{render_widget(view['model_id'], models)}</div>"
                data.pop("text/plain", None)
            if "text/html" in data:
                data["text/html"] = no_autoplay("".join(data["text/html"]))
    nb.metadata.pop("widgets", None)
    return nb


def stage(notebooks: Path, source: Path) -> list[str]:
    """Write book/index.md and every static notebook into ``source``; return the notebook names."""
    if source.exists():
        shutil.rmtree(source)
    source.mkdir(parents=True)
    shutil.copy(ROOT / "book" / "index.md", source / "index.md")
    names = []
    for path in sorted(notebooks.glob("*.ipynb")):
        nbformat.write(static_notebook(nbformat.read(path, as_version=4)), source / path.name)
        names.append(path.stem)
    return names


def build(out: Path = ROOT / "build" / "book", notebooks: Path = ROOT / "notebooks") -> Path:
    """Build the book into ``out`` (HTML; open ``out/index.html``); return the path of index.html."""
    from sphinx.cmd.build import build_main

    source = out.parent / f"{out.name}-src"
    started = time.perf_counter()
    names = stage(notebooks, source)
    status = build_main(["-q", "-b", "html", "-c", str(ROOT / "book"), "-d", str(source / ".doctrees"),
                         str(source), str(out)])
    if status != 0:
        raise SystemExit(f"sphinx-build failed (status {status}); the sources are in {source}")
    missing = [name for name in names if not (out / f"{name}.html").exists()]
    if missing:
        raise SystemExit(f"the book has no page for {missing}")
    print(f"book: {len(names)} notebooks -> {out / 'index.html'} in {time.perf_counter() - started:.0f} s")
    return out / "index.html"


if __name__ == "__main__":
    build(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT / "build" / "book")

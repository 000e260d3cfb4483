"""The package's shape: imports flow down the layers only, systems stand apart, modules stay short.

Read from the source with the standard library's ``ast`` (every import, those inside functions too),
so the test fails on an import that runs back up, wherever it hides.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "musiclab"

#: The layers, bottom up: a module may import its own layer and those below, never one above.
LAYERS = (
    ("musiclab.errors", "musiclab.runtime", "musiclab.limits"),
    ("musiclab.data",),
    ("musiclab.theory", "musiclab.checkpoints", "musiclab.audio", "musiclab.notation"),
    ("musiclab.models",),
    ("musiclab.eval",),
    ("musiclab.rl",),
    ("musiclab.plots",),
    ("musiclab.widgets",),
    ("musiclab.launchpad", "musiclab.therapy"),
    ("musiclab.envs",),
    ("musiclab.exercises",),
    ("musiclab.cli",),
)
#: Published systems: each a folder of its own that no other system imports (deletable as a unit).
SYSTEMS = ("musiclab.launchpad", "musiclab.therapy")
#: The longest a module may grow (lines) before it is split.
MAX_MODULE_LINES = 400
#: The longest a class may be (lines) unless its docstring says why it is one class "on purpose".
MAX_CLASS_LINES = 200


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path) -> set[str]:
    """Every ``musiclab`` module ``path`` imports (``from musiclab import x`` counts as musiclab.x)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("musiclab"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("musiclab"):
            if node.module == "musiclab":
                names.update(f"musiclab.{alias.name}" for alias in node.names)
            else:
                names.add(node.module)
    return names


def layer(name: str) -> int:
    for index, prefixes in enumerate(LAYERS):
        if any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes):
            return index
    raise AssertionError(f"{name} belongs to no layer: add it to LAYERS in {__file__}")


def system(name: str) -> str | None:
    return next((s for s in SYSTEMS if name == s or name.startswith(s + ".")), None)


def test_every_module_has_a_layer():
    for name in modules():
        if name != "musiclab":
            layer(name)


def test_imports_flow_down_the_layers_only():
    upward = [f"{name} (layer {layer(name)}) imports {other} (layer {layer(other)})"
              for name, path in modules().items() if name != "musiclab"
              for other in sorted(imported(path)) if other != "musiclab" and layer(other) > layer(name)]
    assert not upward, "imports that run back up:\n" + "\n".join(upward)


def test_no_system_imports_another():
    crossing = [f"{name} imports {other}" for name, path in modules().items()
                for other in imported(path) if system(name) and system(other) and system(other) != system(name)]
    assert not crossing, "\n".join(crossing)


def test_each_system_folder_names_its_paper_and_its_notebook():
    for name in SYSTEMS:
        folder = PACKAGE / name.split(".")[1]
        doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text())) or ""
        assert "notebook 0" in doc.lower(), f"{name}'s docstring names no notebook"


@pytest.mark.parametrize("name", sorted(modules()))
def test_modules_stay_short(name):
    lines = len(modules()[name].read_text().splitlines())
    assert lines <= MAX_MODULE_LINES, f"{name} has {lines} lines (at most {MAX_MODULE_LINES}): split it"


def test_long_classes_say_why_they_are_one_class():
    unexplained = [f"{name}.{node.name} ({node.end_lineno - node.lineno + 1} lines)"
                   for name, path in modules().items() for node in ast.walk(ast.parse(path.read_text()))
                   if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > MAX_CLASS_LINES
                   and "on purpose" not in (ast.get_docstring(node) or "")]
    assert not unexplained, f"classes over {MAX_CLASS_LINES} lines without a reason: {unexplained}"


def test_one_command_line():
    parsers = [name for name, path in modules().items() if name != "musiclab" and layer(name) != layer("musiclab.cli") and "argparse" in
               {alias.name for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Import)
                for alias in node.names}]
    assert not parsers, f"argparse outside musiclab.cli: {parsers}"

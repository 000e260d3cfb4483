"""The therapy system sits on top: nothing else in the package imports ``musiclab.therapy``
(the command line and the exercises of notebook 07, above it, may), and its preference model does
not need the SQLite store."""
from __future__ import annotations

import ast
from pathlib import Path

import musiclab

PACKAGE = Path(musiclab.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports (absolute names, lazy imports inside functions included)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_only_the_therapy_package_and_the_cli_import_musiclab_therapy():
    offenders = [str(path.relative_to(PACKAGE)) for path in sorted(PACKAGE.rglob("*.py"))
                 if path.parent.name not in ("therapy", "exercises", "cli")
                 and any(name == "musiclab.therapy" or name.startswith("musiclab.therapy.")
                         for name in imported_modules(path))]
    assert offenders == []


def test_the_preference_model_does_not_import_the_store():
    names = imported_modules(PACKAGE / "therapy" / "preference.py")
    assert not names & {"musiclab.therapy.profiles", "musiclab.therapy.store", "sqlite3"}

"""Write student copies of the notebooks: outputs stripped, every solution swapped for its stub.

    python tools/student.py [NOTEBOOKS_DIR [OUT_DIR]]     # default: notebooks -> build/student

In a notebook an exercise is a markdown cell with the task, a code cell whose first line is
``# SOLUTION NN.k`` (it defines the answer from ``musiclab.exercises.solutions``) and a check cell
whose first line is ``# CHECK NN.k``. The student copy keeps the task and the check, and replaces
the solution cell by the registry's stub of NN.k (``musiclab.exercises.exercise(id).stub``), which
defines the same name and raises ``NotImplementedError`` when called: its check then reads "not
yet", so the copy still runs top to bottom. ``make student`` runs this.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

from musiclab.errors import BadFileError
from musiclab.exercises import EXERCISES, exercise
from musiclab.runtime import atomic_write_bytes

SOLUTION = re.compile(r"#\s*SOLUTION\s+(\d\d\.\d+)\s*$")
CHECK = re.compile(r"#\s*CHECK\s+(\d\d\.\d+)\s*$")


def _marker(cell, pattern: re.Pattern) -> str | None:
    """The exercise id on the first line of a code cell, if it carries ``pattern``."""
    if cell.cell_type != "code" or not cell.source.strip():
        return None
    found = pattern.match(cell.source.strip().split("\n", 1)[0].strip())
    return found.group(1) if found else None


def student_notebook(nb, name: str = "notebook"):
    """The student copy of notebook ``nb`` (an nbformat node; not changed): outputs, execution counts
    and widget state removed, each ``# SOLUTION NN.k`` cell replaced by the stub of NN.k.

    Raises BadFileError (naming ``name``) for a solution cell of an unknown exercise, or with no check
    cell of the same id after it.
    """
    copy = nbformat.from_dict(nb)
    copy.metadata.pop("widgets", None)
    for index, cell in enumerate(copy.cells):
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        exercise_id = _marker(cell, SOLUTION)
        if exercise_id is None:
            continue
        if exercise_id not in EXERCISES:
            raise BadFileError(f"{name}: the cell '# SOLUTION {exercise_id}' names no registered exercise; "
                               f"registered: {', '.join(sorted(EXERCISES))}")
        later = [_marker(other, CHECK) for other in copy.cells[index + 1:]]
        if exercise_id not in later:
            raise BadFileError(f"{name}: the cell '# SOLUTION {exercise_id}' has no '# CHECK {exercise_id}' "
                               f"cell after it; every exercise needs both")
        cell.source = f"# EXERCISE {exercise_id}: your answer here\n{exercise(exercise_id).stub.rstrip()}"
    return copy


def write_student_copies(notebooks: Path = Path("notebooks"), out: Path = Path("build/student")) -> list[Path]:
    """Write the student copy of every ``*.ipynb`` in ``notebooks`` into ``out`` (and remove copies of
    notebooks that are gone); return the paths written."""
    sources = sorted(Path(notebooks).glob("*.ipynb"))
    if not sources:
        raise BadFileError(f"{notebooks}: no notebooks (*.ipynb) to copy")
    for stale in set(Path(out).glob("*.ipynb")) - {Path(out) / source.name for source in sources}:
        stale.unlink()
    written = []
    for source in sources:
        copy = student_notebook(nbformat.read(source, as_version=4), source.name)
        written.append(atomic_write_bytes(Path(out) / source.name, nbformat.writes(copy).encode()))
    return written


def main(argv: list[str]) -> int:
    if len(argv) > 2 or any(arg.startswith("-") for arg in argv):
        print(__doc__)
        return 2
    paths = write_student_copies(*(Path(arg) for arg in argv))
    solutions = sum(1 for path in paths for cell in nbformat.read(path, as_version=4).cells
                    if cell.cell_type == "code" and cell.source.startswith("# EXERCISE"))
    print(f"{len(paths)} student notebooks with {solutions} exercises to solve in {paths[0].parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

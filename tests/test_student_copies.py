"""Student copies (tools/student.py, ``make student``): outputs and solutions stripped, each solution cell
swapped for its stub, and every copy executes top to bottom, its checks reading "not yet"."""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import nbformat
import pytest

from musiclab.errors import BadFileError
from musiclab.exercises import EXERCISES

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
spec = importlib.util.spec_from_file_location("student", ROOT / "tools" / "student.py")
student = importlib.util.module_from_spec(spec)
spec.loader.exec_module(student)
spec = importlib.util.spec_from_file_location("notebook_tool", ROOT / "tools" / "notebook.py")
notebook_tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(notebook_tool)


def code(source: str):
    return nbformat.v4.new_code_cell(source)


def tiny_notebook(exercise_id: str = "02.3", check: bool = True):
    nb = nbformat.v4.new_notebook()
    solved = code(f"# SOLUTION {exercise_id}\nfrom musiclab.exercises.solutions.n02 import psi_target")
    solved.outputs = [nbformat.v4.new_output("stream", text="a solution's output")]
    solved.execution_count = 3
    nb.cells = [nbformat.v4.new_markdown_cell("**02.3** the task"), solved]
    if check:
        nb.cells.append(code(f"# CHECK {exercise_id}\nfrom musiclab.exercises import nb02\n"
                             f"nb02.check('{exercise_id}', psi_target)"))
    nb.metadata["widgets"] = {"state": "saved widget state"}
    return nb


def test_a_solution_cell_becomes_the_stub_and_outputs_go():
    copy = student.student_notebook(tiny_notebook(), "tiny.ipynb")
    task, stub, check = copy.cells
    assert task.source == "**02.3** the task"
    assert stub.source.startswith("# EXERCISE 02.3") and EXERCISES["02.3"].stub.strip() in stub.source
    assert "solutions" not in stub.source and stub.outputs == [] and stub.execution_count is None
    assert check.source.startswith("# CHECK 02.3")
    assert "widgets" not in copy.metadata


def test_the_original_notebook_is_left_as_it_was():
    nb = tiny_notebook()
    student.student_notebook(nb)
    assert nb.cells[1].source.startswith("# SOLUTION 02.3") and nb.cells[1].outputs


def test_a_solution_without_its_check_is_refused_by_name():
    with pytest.raises(BadFileError, match="tiny.ipynb.*SOLUTION 02.3.*CHECK 02.3"):
        student.student_notebook(tiny_notebook(check=False), "tiny.ipynb")


def test_a_solution_of_an_unknown_exercise_is_refused():
    with pytest.raises(BadFileError, match="tiny.ipynb.*99.1.*no registered exercise"):
        student.student_notebook(tiny_notebook("99.1"), "tiny.ipynb")


@pytest.fixture(scope="module")
def copies(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("student")
    written = student.write_student_copies(ROOT / "notebooks", out)
    assert [p.name for p in written] == [p.name for p in NOTEBOOKS]
    return out


def test_every_copy_has_no_outputs_no_solutions_and_a_stub_per_exercise(copies):
    for source in NOTEBOOKS:
        original = nbformat.read(source, as_version=4)
        copy = nbformat.read(copies / source.name, as_version=4)
        assert len(copy.cells) == len(original.cells)
        solved = [student._marker(c, student.SOLUTION) for c in original.cells]
        for before, after, exercise_id in zip(original.cells, copy.cells, solved):
            if after.cell_type == "code":
                assert after.outputs == [] and after.execution_count is None
                assert "musiclab.exercises.solutions" not in after.source, source.name
            if exercise_id:
                assert after.source.startswith(f"# EXERCISE {exercise_id}")
            else:
                assert after.source == before.source


@pytest.mark.slow  # executes the whole course, as a student copy (minutes)
@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS])
def test_a_student_copy_runs_top_to_bottom_and_its_checks_say_not_yet(copies, name, monkeypatch):
    nb = nbformat.read(copies / name, as_version=4)
    # the kernel imports this checkout's musiclab, whatever the installed one is
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    notebook_tool.NotebookRunner(nb, timeout=900, kernel_name="python3",
                   resources={"metadata": {"path": str(copies)}}).execute()  # raises on any error
    checks = [cell for cell in nb.cells if student._marker(cell, student.CHECK)]
    for cell in checks:
        text = "".join(output.get("data", {}).get("text/plain", "") for output in cell.outputs)
        assert "not yet" in text, (name, cell.source, text)


def test_a_copy_of_a_notebook_that_is_gone_is_removed(tmp_path):
    (tmp_path / "src").mkdir()
    nbformat.write(tiny_notebook(), tmp_path / "src" / "02_tiny.ipynb")
    (tmp_path / "out").mkdir()
    nbformat.write(tiny_notebook(), tmp_path / "out" / "99_removed.ipynb")
    written = student.write_student_copies(tmp_path / "src", tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").glob("*.ipynb")) == ["02_tiny.ipynb"] == [p.name for p in written]


def test_an_empty_folder_is_refused_by_name(tmp_path):
    with pytest.raises(BadFileError, match=str(tmp_path)):
        student.write_student_copies(tmp_path, tmp_path / "out")

"""Write and execute the kit's notebooks.

    python tools/notebook.py new SRC.py OUT.ipynb   # percent-format script -> notebook
    python tools/notebook.py run NB.ipynb [...]     # execute in place, keep the outputs
    python tools/notebook.py script NB.ipynb OUT.py # notebook -> percent-format script

A percent-format script separates cells with ``# %%`` lines; ``# %% [markdown]`` starts a
markdown cell whose lines are written as ``# text``. Executing in place (with a fixed seed in
every notebook) gives the committed outputs that nbval compares against.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from queue import Empty

import nbformat
from nbclient import NotebookClient

#: Longest single wait (s) on a kernel channel. jupyter_client's asyncio channels can miss the wake-up
#: of a message that has already arrived and then wait out the whole timeout before looking again
#: (seen in CI: a student copy's cell stalled for its full 900 s, then passed; jupyter/nbclient#312);
#: every wait that ends looks at the socket again, so short waits lose at most this long.
CHANNEL_WAIT_S = 1.0


def sliced(get_msg, wait_s: float = CHANNEL_WAIT_S):
    """``get_msg`` (an async ``get_msg(timeout=None)`` raising ``queue.Empty``) that waits in slices of
    at most ``wait_s`` seconds until its own timeout (None: forever) runs out."""
    async def get_msg_in_slices(timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = wait_s if deadline is None else min(wait_s, max(deadline - time.monotonic(), 0.0))
            try:
                return await get_msg(timeout=left)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise
    return get_msg_in_slices


class NotebookRunner(NotebookClient):
    """nbclient's ``NotebookClient`` whose kernel client waits on its shell and IOPub channels in slices
    (:func:`sliced`); what the kit's tests, benchmarks and ``run`` execute notebooks with."""

    async def async_start_new_kernel_client(self):
        client = await super().async_start_new_kernel_client()
        for channel in (client.shell_channel, client.iopub_channel):
            channel.get_msg = sliced(channel.get_msg)
        return client


def cells_from_script(text: str) -> list:
    """Split a percent-format script into nbformat cells."""
    cells, kind, lines = [], None, []

    def flush():
        body = "\n".join(lines).strip("\n")
        if kind == "markdown":
            body = "\n".join(line[2:] if line.startswith("# ") else line.lstrip("#") for line in body.split("\n"))
        if kind is not None and body.strip():
            maker = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
            cells.append(maker(body))

    for line in text.split("\n"):
        if line.startswith("# %%"):
            flush()
            kind, lines = ("markdown" if "[markdown]" in line else "code"), []
        else:
            lines.append(line)
    flush()
    return cells


def script_from_notebook(nb) -> str:
    """The inverse of ``cells_from_script``: sources only, outputs dropped."""
    parts = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            body = "\n".join(("# " + line) if line else "#" for line in cell.source.split("\n"))
            parts.append("# %% [markdown]\n" + body)
        else:
            parts.append("# %%\n" + cell.source)
    return "\n\n".join(parts) + "\n"


def new_notebook(script: Path, out: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = cells_from_script(script.read_text())
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, out)


def run_notebook(path: Path, timeout_s: int = 900) -> None:
    nb = nbformat.read(path, as_version=4)
    NotebookRunner(nb, timeout=timeout_s, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    for cell in nb.cells:  # execution counts and timestamps would only add diff noise
        cell.get("metadata", {}).pop("execution", None)
    nbformat.write(nb, path)


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "new":
        new_notebook(Path(argv[1]), Path(argv[2]))
    elif len(argv) >= 3 and argv[0] == "script":
        Path(argv[2]).write_text(script_from_notebook(nbformat.read(argv[1], as_version=4)))
    elif len(argv) >= 2 and argv[0] == "run":
        for name in argv[1:]:
            print(f"running {name}", flush=True)
            run_notebook(Path(name))
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

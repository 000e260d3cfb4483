"""tools/notebook.py's notebook runner: a kernel channel's wait that misses a message's wake-up costs one
short slice, not the cell's whole timeout (jupyter/nbclient#312; a CI run once stalled 900 s)."""
from __future__ import annotations

import asyncio
import importlib.util
import time
from pathlib import Path
from queue import Empty

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("notebook_tool", ROOT / "tools" / "notebook.py")
notebook_tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(notebook_tool)


class MissesOneWakeUp:
    """A channel whose first wait sleeps its whole timeout and finds nothing, though the message is there."""

    def __init__(self):
        self.waits = []

    async def get_msg(self, timeout=None):
        self.waits.append(timeout)
        if len(self.waits) == 1:
            await asyncio.sleep(timeout)
            raise Empty
        return {"msg_id": "reply"}


def test_a_missed_wake_up_costs_one_slice_not_the_whole_timeout():
    channel = MissesOneWakeUp()
    started = time.monotonic()
    message = asyncio.run(notebook_tool.sliced(channel.get_msg, wait_s=0.05)(timeout=900))
    assert message == {"msg_id": "reply"} and time.monotonic() - started < 5
    assert channel.waits[0] == 0.05


def test_waiting_without_a_timeout_goes_on_in_slices():
    channel = MissesOneWakeUp()
    assert asyncio.run(notebook_tool.sliced(channel.get_msg, wait_s=0.05)(timeout=None)) == {"msg_id": "reply"}
    assert channel.waits == [0.05, 0.05]


def test_nothing_arriving_still_ends_at_the_timeout():
    async def never(timeout=None):
        await asyncio.sleep(timeout)
        raise Empty

    started = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(notebook_tool.sliced(never, wait_s=0.05)(timeout=0.3))
    assert 0.3 <= time.monotonic() - started < 2


def test_the_runner_executes_a_notebook_and_keeps_its_outputs():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(6 * 7)")]
    notebook_tool.NotebookRunner(nb, timeout=60, kernel_name="python3").execute()
    assert nb.cells[0].outputs[0]["text"] == "42\n"

"""The hostile-input suite of issue 14 (``bench/hostile_inputs.py``): every hostile file the kit makes
(empty, random bytes, text renamed, header lies, truncated, no notes, drums only, unmapped drums,
out-of-range pitches, zero-length notes, 20,000 notes, bad ABC, huge ABC tunes, an empty folder,
bit-flipped, NaN, wrong-kind and pickled checkpoints) through every public loader and every command
that takes a file. One test per (target, kind) case, so the count shows; the cases run once, in a
few worker processes whose peak memory is measured."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("hostile_inputs", ROOT / "bench" / "hostile_inputs.py")
suite = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(suite)
CASES = suite.case_ids()


@pytest.fixture(scope="module")
def results() -> dict:
    return suite.run_suite()


def test_the_suite_meets_the_targets(results):
    summary = results["summary"]
    assert summary["cases"] == len(CASES) > 150
    assert summary["unhandled"] == 0 and summary["hangs over 30 s"] == 0
    assert summary["half-written outputs"] == 0 and not summary["pickled code ran"]
    assert summary["max peak MB"] < suite.PEAK_MB_LIMIT
    assert summary["named errors"] + summary["counted skips"] + summary["loaded (valid files)"] == len(CASES)


@pytest.mark.parametrize("case", CASES)
def test_a_hostile_input_ends_in_a_named_error_or_a_counted_skip(results, case):
    outcome = results["cases"][case]
    allowed = {"named error", "counted skip"} | ({"loaded"} if outcome["valid_file"] else set())
    assert outcome["outcome"] in allowed, outcome["message"]
    if outcome["outcome"] == "named error":
        assert outcome["one_line"] and outcome["names_file"], outcome["message"]
    assert outcome["seconds"] < suite.HANG_SECONDS and not outcome["half_written"]


def test_the_committed_results_are_of_this_suite_and_meet_the_targets():
    committed = json.loads((ROOT / "bench" / "results" / "hostile_inputs.json").read_text())
    assert sorted(committed["cases"]) == sorted(CASES)
    assert committed["summary"]["unhandled"] == 0 and committed["summary"]["max peak MB"] < suite.PEAK_MB_LIMIT

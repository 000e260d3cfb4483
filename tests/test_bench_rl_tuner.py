"""The committed RL Tuner benchmark: its JSON has the agreed shape, and its figures re-count from the
pieces it saved (anyone can re-count them with another tool; here with the kit's own)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from musiclab.eval.diversity import diversity_metrics
from musiclab.eval.paper import PAPER_KEYS, paper_metrics

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results"
SYSTEMS = ("note_rnn", "dqn", "psi", "g", "rules_only")
KEYS = (*PAPER_KEYS, "mean_log_p", "distinct_pieces", "distinct_4gram_share", "retained_likelihood_ratio",
        "tuning_seconds")


@pytest.fixture(scope="module")
def protocol() -> dict:
    return json.loads((RESULTS / "rl_tuner.json").read_text())["paper_protocol"]


def test_every_system_has_the_median_metrics_and_one_row_per_seed(protocol):
    assert set(protocol) == set(SYSTEMS)
    for system in SYSTEMS:
        assert set(KEYS) <= set(protocol[system])
        seeds = protocol[system]["seeds"]
        assert len(seeds) >= 3 and [row["seed"] for row in seeds] == list(range(len(seeds)))
        for key in KEYS:
            assert protocol[system][key] == pytest.approx(float(np.median([row[key] for row in seeds])))


def test_the_saved_pieces_recount_to_the_reported_figures(protocol):
    for system in SYSTEMS:
        for row in protocol[system]["seeds"]:
            pieces = np.array(json.loads((RESULTS / "rl_tuner_compositions" / f"{system}_seed{row['seed']}.json")
                                         .read_text()))
            assert pieces.shape == (1000, 32) and pieces.min() >= 0 and pieces.max() < 38
            recounted = {**paper_metrics(pieces), **diversity_metrics(pieces)}
            for key in (*PAPER_KEYS, "distinct_pieces", "distinct_4gram_share"):
                assert recounted[key] == pytest.approx(row[key], nan_ok=True), (system, row["seed"], key)

"""Seeds are non-negative integers everywhere the kit seeds or samples, a named error otherwise
(issue 14, failure 7: ``seed="abc"`` raised a bare ``int()`` error and ``seed=1.7`` was truncated to 1)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from musiclab.errors import BadParameterError
from musiclab.eval.diversity import mean_pairwise_hamming
from musiclab.eval.listening import make_pairs
from musiclab.eval.vae import note_space_blend
from musiclab.launchpad.agents import play_policy, q_learning
from musiclab.launchpad.env import LaunchpadEnv
from musiclab.models.music_vae import MusicVAE
from musiclab.models.note_rnn import NoteRNN, NoteRNNConfig
from musiclab.models.vae_config import preset as vae_preset
from musiclab.rl.compose import compose
from musiclab.rl.q_network import QNetwork
from musiclab.runtime import seed_everything
from musiclab.therapy.preference import NUM_FEATURES, FeatureScale, SimulatedListener

BAD_SEEDS = ["abc", 1.7, -1, True]  # None: unseeded, where a function allows it


def env() -> LaunchpadEnv:
    bars = np.random.default_rng(0).random((6, 2, 8)) < 0.3
    return LaunchpadEnv(bars, notes=2, beats_log2=3, k=4, max_steps=8)


def rnn() -> NoteRNN:
    torch.manual_seed(0)
    return NoteRNN(NoteRNNConfig(hidden_size=8, embedding_dim=4)).eval()


SEEDED = {
    "seed_everything": lambda seed: seed_everything(seed),
    "NoteRNN.sample": lambda seed: rnn().sample(1, 4, seed=seed),
    "compose": lambda seed: compose(QNetwork.from_model(rnn()), 1, 4, seed=seed),
    "MusicVAE.sample": lambda seed: MusicVAE(vae_preset("small")).sample(1, seed=seed),
    "q_learning": lambda seed: q_learning(env(), steps=4, seed=seed),
    "play_policy": lambda seed: play_policy(env(), lambda observation: 0, seed=seed),
    "LaunchpadEnv.reset": lambda seed: env().reset(seed=seed),
    "mean_pairwise_hamming": lambda seed: mean_pairwise_hamming(np.zeros((3, 8), dtype=np.int64), seed=seed),
    "note_space_blend": lambda seed: note_space_blend(np.zeros(32, dtype=np.int64), np.ones(32, dtype=np.int64),
                                                      3, seed=seed),
    "make_pairs": lambda seed: make_pairs(4, ("a", "b"), seed),
    "SimulatedListener.random": lambda seed: SimulatedListener.random(
        FeatureScale(np.zeros(NUM_FEATURES), np.ones(NUM_FEATURES)), seed),
}


@pytest.mark.parametrize("seed", BAD_SEEDS, ids=repr)
@pytest.mark.parametrize("name", SEEDED)
def test_a_seed_that_is_not_a_non_negative_integer_is_a_named_error(name, seed):
    with pytest.raises(BadParameterError, match=r"seed must be a non-negative integer, got"):
        SEEDED[name](seed)


@pytest.mark.parametrize("name", SEEDED)
def test_a_good_seed_is_taken(name):
    SEEDED[name](np.int64(3))

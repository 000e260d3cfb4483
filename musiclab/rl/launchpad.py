"""The Launchpad DJ in one import (notebook 06): the environment and its agents.

After "Reinforcement learning DJ" (C. Voss et al., Stanford CS234 project, 2018). The code lives
in :mod:`musiclab.rl.launchpad_env` (states, actions, bars, rewards) and
:mod:`musiclab.rl.launchpad_agents` (tabular Q-learning, MCMC exploration, DQN).
"""
from __future__ import annotations

from musiclab.rl.launchpad_agents import (
    BetaSweep, DQNConfig, DQNRun, Episode, MCMCRun, TabularRun, acceptance_probability,
    beta_sweep, make_q_network, mcmc_explore, metropolis_accept, play_episode, q_learning,
    train_dqn,
)
from musiclab.rl.launchpad_env import (
    Action, LaunchpadEnv, LaunchpadState, Step, basis_vectors, shrink_bars, reduced_env,
)

__all__ = [
    "Action", "LaunchpadEnv", "LaunchpadState", "Step", "basis_vectors", "shrink_bars",
    "reduced_env", "TabularRun", "q_learning", "acceptance_probability", "metropolis_accept",
    "MCMCRun", "mcmc_explore", "BetaSweep", "beta_sweep", "DQNConfig", "DQNRun", "Episode",
    "make_q_network", "play_episode", "train_dqn",
]

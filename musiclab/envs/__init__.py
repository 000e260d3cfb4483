"""The kit's Gymnasium environments, registered when this package is imported (notebooks 03 and 06).

    import gymnasium
    import musiclab.envs

    env = gymnasium.make("musiclab/Melody-v0", rules="rl_tuner", c=0.5, render_mode="ansi")
    env = gymnasium.make("musiclab/Launchpad-v0", render_mode="rgb_array")

- ``musiclab/Launchpad-v0``: :class:`musiclab.launchpad.env.LaunchpadEnv` on the shipped bars
  (:meth:`~musiclab.launchpad.env.LaunchpadEnv.from_corpus`), by default the launchpad of the shipped
  DQN agents (:data:`LAUNCHPAD_SETTINGS`); any keyword of ``from_corpus`` overrides it.
- ``musiclab/Melody-v0``: :class:`musiclab.rl.melody_env.MelodyEnv`, one event per step, reward
  log p + r_MT / c (options ``rules``, ``c``, ``num_steps``, ``model``, ``primer_steps``).

:mod:`musiclab.envs.baselines` trains off-the-shelf agents (stable-baselines3) on them.
"""
from __future__ import annotations

from gymnasium.envs.registration import register, registry

#: Gymnasium ids of the kit's environments.
LAUNCHPAD_ID, MELODY_ID = "musiclab/Launchpad-v0", "musiclab/Melody-v0"
#: ``musiclab/Launchpad-v0``'s defaults: the launchpad of the shipped DQN agents (8 notes x 16 steps,
#: 16 targets drawn with seed 0, episodes of 16 actions from a random state; ``musiclab launchpad train``).
LAUNCHPAD_SETTINGS = {"notes": 8, "beats_log2": 4, "k": 16, "max_steps": 16, "start": "random", "seed": 0}


def make_launchpad(quiet: bool = True, **settings):
    """The entry point of ``musiclab/Launchpad-v0``: :meth:`LaunchpadEnv.from_corpus` with
    ``settings`` (the registered defaults are :data:`LAUNCHPAD_SETTINGS`), without progress bars."""
    from musiclab.launchpad.env import LaunchpadEnv

    return LaunchpadEnv.from_corpus(quiet=quiet, **settings)


if LAUNCHPAD_ID not in registry:
    register(id=LAUNCHPAD_ID, entry_point="musiclab.envs:make_launchpad", kwargs=LAUNCHPAD_SETTINGS)
if MELODY_ID not in registry:
    register(id=MELODY_ID, entry_point="musiclab.rl.melody_env:MelodyEnv")

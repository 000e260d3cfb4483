"""Off-the-shelf agents on the kit's environments: stable-baselines3's DQN and PPO (notebooks 03 and 06).

:func:`train_off_the_shelf` trains one on any Gymnasium environment, on the CPU, seeded;
:func:`launchpad_policy` turns it into a launchpad policy (``env -> action``) so that
:func:`musiclab.launchpad.agents.play_policy` measures it exactly as it measures the kit's own DQN;
:func:`play_episode` plays one greedy episode of any environment. ``bench/launchpad.py`` sets the
result beside the kit's DQN.
"""
from __future__ import annotations

import gymnasium
import numpy as np

from musiclab.errors import BadParameterError, check_choice, check_range, check_seed

#: stable-baselines3 algorithms :func:`train_off_the_shelf` knows.
ALGORITHMS = ("dqn", "ppo")
#: DQN settings that mirror the kit's ``DQNConfig.fast()`` (replay, batch, learning rate, discount,
#: target copies every 500 steps, a gradient step every 2, learning from step 500, epsilon 1 -> 0.05
#: over half of a 6,000-step run, gradient norm 10); the network stays SB3's default MLP (64, 64).
DQN_SETTINGS = {"buffer_size": 6000, "batch_size": 128, "learning_rate": 1e-3, "gamma": 0.9,
                "target_update_interval": 500, "train_freq": 2, "learning_starts": 500,
                "exploration_initial_eps": 1.0, "exploration_final_eps": 0.05,
                "exploration_fraction": 0.5, "max_grad_norm": 10.0}


def train_off_the_shelf(env: gymnasium.Env, algorithm: str = "dqn", *, steps: int = 6000, seed: int = 0,
                        reward_scale: float = 1.0, **settings):
    """Train stable-baselines3's ``algorithm`` (``"dqn"`` or ``"ppo"``) with its ``MlpPolicy`` for
    ``steps`` environment steps on ``env`` (which it resets and steps), on the CPU with ``seed``.

    ``reward_scale`` multiplies the rewards it learns from (the kit's launchpad DQN learns from
    reward / (N 2^B)); ``settings`` go to the algorithm (for DQN over :data:`DQN_SETTINGS`). Returns
    the trained model (``model.predict(obs, deterministic=True)``).
    """
    from stable_baselines3 import DQN, PPO

    check_choice("algorithm", algorithm, ALGORITHMS)
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise BadParameterError(f"steps must be an integer >= 1, got {steps!r}")
    seed = check_seed(seed)
    check_range("reward_scale", reward_scale, 0.0, low_open=True)
    if reward_scale != 1.0:
        env = gymnasium.wrappers.TransformReward(env, lambda reward: reward_scale * reward)
    if algorithm == "dqn":
        model = DQN("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **{**DQN_SETTINGS, **settings})
    else:
        model = PPO("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **settings)
    return model.learn(total_timesteps=int(steps))


def launchpad_policy(model):
    """A launchpad policy (``env -> action``, for ``play_policy`` and the launchpad panel) that acts
    greedily on ``model``'s prediction from :meth:`LaunchpadEnv.observation` of the current state."""
    if not hasattr(model, "predict"):
        raise BadParameterError(f"model must have a predict method (a stable-baselines3 model), "
                                f"got {type(model).__name__}")

    def policy(env) -> int:
        action, _ = model.predict(env.observation(env.state), deterministic=True)
        return int(action)
    return policy


def play_episode(env: gymnasium.Env, model=None, *, seed: int = 0) -> tuple[float, int]:
    """One episode of ``env`` reset with ``seed``: ``model``'s greedy actions, or actions sampled from
    the action space (seeded by ``seed``) when ``model`` is None. Returns (return, steps); the
    environment keeps its final state for ``render``."""
    seed = check_seed(seed)
    obs, _ = env.reset(seed=seed)
    env.action_space.seed(seed)
    total, steps, done = 0.0, 0, False
    while not done:
        action = env.action_space.sample() if model is None else model.predict(obs, deterministic=True)[0]
        obs, reward, terminated, truncated, _ = env.step(int(action))
        total, steps, done = total + float(reward), steps + 1, terminated or truncated
    return total, steps

"""Agents for the Launchpad DJ (notebook 06): tabular Q-learning, MCMC exploration, DQN.

After "Reinforcement learning DJ" (C. Voss et al., Stanford CS234 project, 2018;
github.com/CatalinVoss/music-morph). The tabular agents work on small launchpads through the
environment's tables (:meth:`LaunchpadEnv.transition_table`, :meth:`LaunchpadEnv.reward_table`);
the DQN works on any launchpad through :meth:`LaunchpadEnv.step`. Every function returns plain
arrays and dataclasses, ready for plotting. Policies (``env -> action``) drive episodes and the
launchpad widget; :func:`save_agent` / :func:`load_agent` store trained DQNs, and :func:`main`
is the training command that made the shipped ones.
"""
from __future__ import annotations

import argparse
import copy
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from musiclab.errors import (BadParameterError, MusiclabError, UnknownNameError, check_choice,
                             check_range)
from musiclab.rl.launchpad_env import (MAX_TABLE_ENTRIES, STARTS, LaunchpadEnv, LaunchpadState,
                                      check_int)
from musiclab.runtime import pick_device, seed_everything

#: Q-functions :func:`train_dqn` can fit.
Q_FUNCTIONS = ("linear", "mlp")


def _random_argmax(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Argmax over the last axis, ties broken uniformly at random: int64 ``values.shape[:-1]``."""
    best = values == values.max(axis=-1, keepdims=True)
    return np.argmax(best * rng.random(values.shape), axis=-1)


# ----- tabular Q-learning ------------------------------------------------------------------
@dataclass
class TabularRun:
    """What :func:`q_learning` returns (rewards in environment units)."""

    rewards: np.ndarray  #: float ``[steps]``: reward of the state reached at each step
    q_table: np.ndarray  #: float ``[num_states, num_actions]`` at the end
    reset_steps: np.ndarray  #: int ``[R]``: steps after which the state was replaced at random
    recover_steps: np.ndarray  #: float ``[R]``: steps from each reset back to the ceiling (or nan)
    first_max_step: float  #: steps until the ceiling was first reached (nan: never)
    ceiling: float  #: the best reward any state has
    visits: np.ndarray  #: int ``[num_states, num_actions]``: updates of each Q-value


def _steps_to_reach(rewards: np.ndarray, ceiling: float) -> float:
    hits = np.flatnonzero(rewards >= ceiling)
    return float(hits[0] + 1) if len(hits) else float("nan")


def q_learning(env: LaunchpadEnv, *, steps: int = 3000, alpha: float = 0.5, gamma: float = 0.999,
               reset_every: int = 500, seed: int = 0) -> TabularRun:
    """Tabular Q-learning with optimistic zero initialisation and GLIE exploration ``eps = 1/t``.

    Starts from ``env.start_state()``; every ``reset_every`` steps the state is replaced by a
    uniformly random one and the agent must find its way back (notebook 06). The reward of a
    step is the reward of the state it reaches. The paper's setting: ``reduced_env()``,
    ``alpha = 0.5``, ``gamma = 0.999``, ``reset_every = 500``.
    """
    steps = check_int("steps", steps, 1)
    reset_every = check_int("reset_every", reset_every, 1)
    check_range("alpha", alpha, 0.0, 1.0, low_open=True)
    check_range("gamma", gamma, 0.0, 1.0)
    trans, rew = env.transition_table(), env.reward_table()
    rng = np.random.default_rng(seed)
    q = np.zeros(trans.shape)
    visits = np.zeros(trans.shape, dtype=np.int64)
    rewards = np.empty(steps)
    state = env.state_index(env.start_state())
    for t in range(1, steps + 1):
        if rng.random() < 1.0 / t:
            action = int(rng.integers(env.num_actions))
        else:
            action = int(_random_argmax(q[state], rng))
        nxt = int(trans[state, action])
        rewards[t - 1] = rew[nxt]
        q[state, action] += alpha * (rew[nxt] + gamma * q[nxt].max() - q[state, action])
        visits[state, action] += 1
        state = nxt
        if t % reset_every == 0:
            state = int(rng.integers(env.num_states))
    ceiling = float(rew.max())
    resets = np.arange(reset_every, steps, reset_every)
    recover = np.array([_steps_to_reach(rewards[r:min(r + reset_every, steps)], ceiling)
                        for r in resets])
    return TabularRun(rewards, q, resets, recover, _steps_to_reach(rewards, ceiling), ceiling,
                      visits)


# ----- MCMC exploration --------------------------------------------------------------------
def acceptance_probability(delta_reward, beta) -> np.ndarray:
    """Metropolis acceptance ``min(1, exp(beta * delta_reward))`` (broadcasts; beta >= 0)."""
    product = np.asarray(beta, dtype=float) * np.asarray(delta_reward, dtype=float)
    return np.exp(np.minimum(product, 0.0))


def metropolis_accept(delta_reward, beta, rng: np.random.Generator) -> np.ndarray:
    """Accept moves with :func:`acceptance_probability`: bool, the broadcast shape. A move that
    does not lower the reward is always accepted."""
    prob = acceptance_probability(delta_reward, beta)
    return (np.asarray(delta_reward) >= 0) | (rng.random(prob.shape) < prob)


@dataclass
class MCMCRun:
    """What :func:`mcmc_explore` returns for each of ``C`` chains (``C = 1`` for one run)."""

    explore_rewards: np.ndarray  #: float ``[C, explore_steps]``: reward after each sweep
    greedy_rewards: np.ndarray  #: float ``[C, greedy_steps]``: reward while acting greedily
    q_tables: np.ndarray  #: float ``[C, num_states, num_actions]`` learned while exploring
    acceptance_rate: np.ndarray  #: float ``[C]``: share of tried actions accepted


def _mcmc_chains(trans: np.ndarray, rew: np.ndarray, betas: np.ndarray, start: int,
                 explore_steps: int, greedy_steps: int, greedy_starts: int, alpha: float,
                 gamma: float, rng: np.random.Generator, quiet: bool) -> MCMCRun:
    """Run one MCMC-exploring Q-learner per entry of ``betas`` side by side (see mcmc_explore)."""
    chains, (num_states, num_actions) = len(betas), trans.shape
    if chains * num_states * num_actions > MAX_TABLE_ENTRIES:
        raise BadParameterError(f"{chains} chains of {num_states} x {num_actions} Q-tables pass "
                                f"{MAX_TABLE_ENTRIES} entries: use fewer betas or repeats")
    rows = np.arange(chains)
    q = np.zeros((chains, num_states, num_actions))
    state = np.full(chains, start, dtype=np.int64)
    explore = np.empty((chains, explore_steps))
    accepted = np.zeros(chains)
    for t in tqdm(range(explore_steps), desc="MCMC sweeps", disable=quiet, leave=False):
        for action in range(num_actions):
            nxt = trans[state, action]
            target = rew[nxt] + gamma * q[rows, nxt].max(axis=1)
            q[rows, state, action] += alpha * (target - q[rows, state, action])
            accept = metropolis_accept(rew[nxt] - rew[state], betas, rng)
            state = np.where(accept, nxt, state)
            accepted += accept
        explore[:, t] = rew[state]
    greedy = np.empty((chains, greedy_steps))
    state = rng.integers(0, num_states, size=(chains, greedy_starts))
    for t in range(greedy_steps):
        state = trans[state, _random_argmax(q[rows[:, None], state], rng)]
        greedy[:, t] = rew[state].mean(axis=1)
    return MCMCRun(explore, greedy, q, accepted / (explore_steps * num_actions))


def _check_mcmc(explore_steps, greedy_steps, greedy_starts, alpha, gamma) -> tuple[int, int, int]:
    check_range("alpha", alpha, 0.0, 1.0, low_open=True)
    check_range("gamma", gamma, 0.0, 1.0)
    return (check_int("explore_steps", explore_steps, 1),
            check_int("greedy_steps", greedy_steps, 1),
            check_int("greedy_starts", greedy_starts, 1))


def mcmc_explore(env: LaunchpadEnv, beta: float, *, explore_steps: int = 500,
                 greedy_steps: int = 100, greedy_starts: int = 32, alpha: float = 0.5,
                 gamma: float = 0.999, seed: int = 0, quiet: bool = True) -> MCMCRun:
    """The paper's MCMC exploration, then greedy play (notebook 06).

    Exploring: from ``env.start_state()``, each step sweeps the action space in order; every
    action is tried, its Q-value updated as in Q-learning, and the move accepted with
    probability ``min(1, exp(beta * dR))``. Then the agent acts greedily on the learned
    Q-table (no more learning) for ``greedy_steps`` steps from each of ``greedy_starts`` random
    states; ``greedy_rewards`` is the mean over those starts.
    """
    check_range("beta", beta, 0.0)
    explore_steps, greedy_steps, greedy_starts = _check_mcmc(explore_steps, greedy_steps,
                                                             greedy_starts, alpha, gamma)
    return _mcmc_chains(env.transition_table(), env.reward_table(), np.array([float(beta)]),
                        env.state_index(env.start_state()), explore_steps, greedy_steps,
                        greedy_starts, alpha, gamma, np.random.default_rng(seed), quiet)


@dataclass
class BetaSweep:
    """What :func:`beta_sweep` returns: per ``beta``, the mean over repeats and its SEM."""

    betas: np.ndarray  #: ``[B]``, increasing
    greedy_mean: np.ndarray  #: ``[B]``: mean reward while acting greedily after exploring
    greedy_sem: np.ndarray  #: ``[B]``: its standard error over repeats
    explore_mean: np.ndarray  #: ``[B]``: mean reward while exploring
    explore_sem: np.ndarray  #: ``[B]``
    acceptance_rate: np.ndarray  #: ``[B]``: mean share of accepted moves
    runs: np.ndarray  #: ``[B, repeats]``: greedy mean reward of every run
    best_beta: float  #: the beta with the highest ``greedy_mean``
    ceiling: float  #: the best reward any state has


def beta_sweep(env: LaunchpadEnv, betas=None, *, repeats: int = 16, explore_steps: int = 500,
               greedy_steps: int = 100, greedy_starts: int = 32, alpha: float = 0.5,
               gamma: float = 0.999, seed: int = 0, quiet: bool = False) -> BetaSweep:
    """Sweep the MCMC inverse temperature: :func:`mcmc_explore` ``repeats`` times per beta
    (default 13 betas log-spaced over 0.01..10), all chains run side by side (notebook 06).
    The paper found the best beta near 0.2."""
    betas = np.logspace(-2, 1, 13) if betas is None else np.sort(np.asarray(betas, dtype=float))
    if betas.ndim != 1 or len(betas) == 0 or (betas < 0).any() or not np.isfinite(betas).all():
        raise BadParameterError(f"betas must be a non-empty 1-D list of finite values >= 0, "
                                f"got {betas!r}")
    repeats = check_int("repeats", repeats, 2)
    explore_steps, greedy_steps, greedy_starts = _check_mcmc(explore_steps, greedy_steps,
                                                             greedy_starts, alpha, gamma)
    rewards = env.reward_table()
    run = _mcmc_chains(env.transition_table(), rewards, np.repeat(betas, repeats),
                       env.state_index(env.start_state()), explore_steps, greedy_steps,
                       greedy_starts, alpha, gamma, np.random.default_rng(seed), quiet)
    greedy = run.greedy_rewards.mean(axis=1).reshape(len(betas), repeats)
    explore = run.explore_rewards.mean(axis=1).reshape(len(betas), repeats)
    sem = np.sqrt(repeats)
    return BetaSweep(betas, greedy.mean(1), greedy.std(1, ddof=1) / sem, explore.mean(1),
                     explore.std(1, ddof=1) / sem,
                     run.acceptance_rate.reshape(len(betas), repeats).mean(1), greedy,
                     float(betas[np.argmax(greedy.mean(1))]), float(rewards.max()))


# ----- DQN -----------------------------------------------------------------------------------
@dataclass
class DQNConfig:
    """Deep Q-learning on the launchpad (notebook 06). The defaults are the :meth:`fast` preset;
    :meth:`paper` gives the published settings."""

    steps: int = 6000  #: environment steps of training
    buffer_size: int = 6000  #: replay memory capacity, in transitions
    batch_size: int = 128  #: transitions per gradient step
    learning_rate: float = 1e-3  #: Adam step size at the start
    final_learning_rate: float = 1e-3  #: reached linearly at half of ``steps``, then kept
    gamma: float = 0.9  #: discount
    target_update: int = 500  #: steps between copies of the Q-network into the target network
    train_every: int = 2  #: environment steps per gradient step
    learning_starts: int = 500  #: steps of acting before the first gradient step
    eps_start: float = 1.0  #: exploration epsilon at step 0
    eps_end: float = 0.05  #: epsilon after ``eps_decay_steps`` (linear decay)
    eps_decay_steps: int = 3000  #: steps over which epsilon decays
    grad_clip: float = 10.0  #: largest gradient norm
    reward_scale: float = 1.0  #: the loss sees reward / (N 2^B) times this (curves stay unscaled)
    eval_every: int = 500  #: steps between evaluations
    eval_episodes: int = 5  #: episodes per evaluation (seeds 0, 1, ... every time)
    eval_epsilon: float = 0.0  #: epsilon while evaluating
    mlp_hidden: tuple[int, ...] = (1024, 512)  #: hidden layer sizes of the ``mlp`` Q-function

    @classmethod
    def paper(cls) -> DQNConfig:
        """The settings of "Reinforcement learning DJ" (C. Voss et al., Stanford CS234, 2018),
        which follow the Nature DQN (Mnih et al., 2015): 5M steps, replay of 1M, batch 32 every
        4 steps, learning rate 2.5e-4 decaying to 5e-5 over half the run, gamma 0.99, target
        update every 1000 steps, epsilon 0.2 -> 0.01 over 1M steps, gradient norm clipped at 10,
        10 evaluation episodes at epsilon 0.05 every 250k steps, MLP 1024-512."""
        return cls(steps=5_000_000, buffer_size=1_000_000, batch_size=32, train_every=4,
                   learning_rate=2.5e-4, final_learning_rate=5e-5, gamma=0.99,
                   target_update=1000, eps_start=0.2, eps_end=0.01, eps_decay_steps=1_000_000,
                   eval_every=250_000, eval_episodes=10, eval_epsilon=0.05)

    @classmethod
    def fast(cls) -> DQNConfig:
        """A short run for notebooks and tests (the defaults): about two minutes with the MLP on
        one torch thread of a busy 2-core machine (the shipped ``launchpad_dqn_mlp`` took 111 s,
        the linear one 22 s), meant for a small launchpad such as
        ``LaunchpadEnv.from_corpus(notes=8, beats_log2=4, start="random", max_steps=16)``: 6000
        steps, replay 6000, batches of 128 every 2 steps, learning rate 1e-3, gamma 0.9, epsilon
        1 -> 0.05 over 3000 steps, target update every 500 steps, 5 evaluation episodes every 500
        steps; MLP 1024-512."""
        return cls()

    def validate(self) -> DQNConfig:
        """Return ``self`` if every field is in range, else raise BadParameterError."""
        for name in ("steps", "buffer_size", "batch_size", "target_update", "train_every",
                     "eval_every", "eval_episodes", "eps_decay_steps"):
            check_int(name, getattr(self, name), 1)
        check_int("learning_starts", self.learning_starts, 0)
        for name in ("learning_rate", "final_learning_rate", "reward_scale", "grad_clip"):
            check_range(name, getattr(self, name), 0.0, low_open=True)
        for name in ("gamma", "eps_start", "eps_end", "eval_epsilon"):
            check_range(name, getattr(self, name), 0.0, 1.0)
        for size in self.mlp_hidden:
            check_int("mlp_hidden", size, 1)
        return self

    def epsilon(self, step: int) -> float:
        """Exploration epsilon at ``step`` (linear decay, then constant)."""
        frac = min(step / self.eps_decay_steps, 1.0)
        return self.eps_start + frac * (self.eps_end - self.eps_start)

    def lr(self, step: int) -> float:
        """Learning rate at ``step`` (linear decay over the first half of ``steps``)."""
        frac = min(step / max(self.steps / 2, 1), 1.0)
        return self.learning_rate + frac * (self.final_learning_rate - self.learning_rate)


def make_q_network(observation_size: int, num_actions: int, q_function: str = "mlp",
                   hidden: tuple[int, ...] = (1024, 512)) -> nn.Module:
    """A Q-function over the flattened state: ``linear`` (one layer) or ``mlp`` (ReLU layers of
    sizes ``hidden``). Maps float ``[batch, observation_size]`` to ``[batch, num_actions]``."""
    check_choice("q_function", q_function, Q_FUNCTIONS)
    sizes = (observation_size, *hidden) if q_function == "mlp" else (observation_size,)
    layers: list[nn.Module] = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    layers.append(nn.Linear(sizes[-1], num_actions))
    return nn.Sequential(*layers)


class _Replay:
    """Ring buffer of transitions, states stored compactly (toggles and offsets)."""

    def __init__(self, capacity: int, env: LaunchpadEnv):
        shape = (capacity, env.notes)
        self.toggles = np.zeros((2, *shape, env.beats_log2 + 1), dtype=bool)  # [before/after, ...]
        self.offsets = np.zeros((2, *shape), dtype=np.int16)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.capacity, self.size, self.pos = capacity, 0, 0

    def add(self, before, action: int, reward: float, after) -> None:
        for side, state in enumerate((before, after)):
            self.toggles[side, self.pos] = state.toggles
            self.offsets[side, self.pos] = state.offsets
        self.actions[self.pos], self.rewards[self.pos] = action, reward
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)


@dataclass
class Episode:
    """One episode played by :func:`play_episode`."""

    actions: np.ndarray  #: int ``[T]``
    rewards: np.ndarray  #: float ``[T]``: reward of the state reached at each step
    final_state: LaunchpadState  #: the state at the end (render it with ``env.bar``)


def _greedy_action(network: nn.Module, env: LaunchpadEnv, device: torch.device) -> int:
    obs = torch.from_numpy(env.observation(env.state)).to(device)
    with torch.no_grad():
        return int(network(obs[None]).argmax(dim=1).item())


# ----- policies: env -> action, for episodes and the launchpad widget ------------------------
#: A policy reads ``env.state`` and returns an action index.
Policy = Callable[[LaunchpadEnv], int]


def q_network_policy(network: nn.Module) -> Policy:
    """The greedy policy of a Q-network from :func:`make_q_network` (argmax of its Q-values)."""
    device = next(network.parameters()).device
    return lambda env: _greedy_action(network, env, device)


def q_table_policy(q_table: np.ndarray) -> Policy:
    """The greedy policy of a Q-table ``[num_states, num_actions]`` (:func:`q_learning`), for
    the launchpad it was learned on; ties go to the lowest action index."""
    q_table = np.asarray(q_table, dtype=float)
    if q_table.ndim != 2:
        raise BadParameterError(f"q_table must be [num_states, num_actions], got {q_table.shape}")

    def policy(env: LaunchpadEnv) -> int:
        if q_table.shape != (env.num_states, env.num_actions):
            raise BadParameterError(f"q_table has shape {q_table.shape}; this launchpad needs "
                                    f"({env.num_states}, {env.num_actions})")
        return int(np.argmax(q_table[env.state_index(env.state)]))
    return policy


def lookahead_policy(env: LaunchpadEnv) -> int:
    """A one-step lookahead policy (no learning): the action whose next state has the best
    reward, the no-op when no action improves on the current reward; a reference for the DQN."""
    rewards = env.rewards(env.render_bars(*env.successors(env.state)))
    best = int(np.argmax(rewards))
    return best if rewards[best] > env.reward() else env.num_actions - 1


def steps_to_ceiling(env: LaunchpadEnv, policy: Policy, max_steps: int = 20) -> np.ndarray:
    """From every state of a small launchpad, the steps ``policy`` needs to reach the reward
    ceiling (0 when already there; nan when not within ``max_steps``): float ``[num_states]``.
    Shows whether a frozen Q-table's greedy policy still finds its way back (notebook 06)."""
    max_steps = check_int("max_steps", max_steps, 1)
    rewards = env.reward_table()
    ceiling = rewards.max()
    out = np.full(env.num_states, np.nan)
    saved = env.state
    try:
        for index in range(env.num_states):
            env.state = env.state_from_index(index)
            for step in range(max_steps + 1):
                if rewards[env.state_index(env.state)] >= ceiling:
                    out[index] = step
                    break
                env.state = env.apply(env.state, policy(env))
    finally:
        env.state = saved
    return out


def play_policy(env: LaunchpadEnv, policy: Policy, *, epsilon: float = 0.0,
                seed: int = 0) -> Episode:
    """Play one episode of ``env`` (reset with ``seed``): a uniformly random action with
    probability ``epsilon``, else ``policy``'s (``epsilon = 1`` is the random policy)."""
    check_range("epsilon", epsilon, 0.0, 1.0)
    rng = np.random.default_rng(seed)
    env.reset(seed=seed)
    actions, rewards, done = [], [], False
    while not done:
        if rng.random() < epsilon:
            action = int(rng.integers(env.num_actions))
        else:
            action = policy(env)
        _, reward, done = env.step(action)
        actions.append(action)
        rewards.append(reward)
    return Episode(np.array(actions), np.array(rewards), env.state.copy())


def play_episode(env: LaunchpadEnv, network: nn.Module, *, epsilon: float = 0.0,
                 seed: int = 0) -> Episode:
    """Play one episode of ``env`` (reset with ``seed``) acting epsilon-greedily on ``network``."""
    return play_policy(env, q_network_policy(network), epsilon=epsilon, seed=seed)


@dataclass
class DQNRun:
    """What :func:`train_dqn` returns (rewards in environment units)."""

    q_function: str  #: ``linear`` or ``mlp``
    episode_steps: np.ndarray  #: int ``[E]``: training step at which each episode ended
    episode_rewards: np.ndarray  #: float ``[E]``: mean reward per step of each training episode
    eval_steps: np.ndarray  #: int ``[V]``: training steps of the evaluations (0 = untrained)
    eval_rewards: np.ndarray  #: float ``[V]``: mean reward per step of the evaluation episodes
    eval_final_rewards: np.ndarray  #: float ``[V]``: mean reward of their final states
    losses: np.ndarray  #: float ``[G]``: Huber loss of every gradient step
    ceiling: float  #: the best reward any state has (:meth:`LaunchpadEnv.reward_ceiling`)
    network: nn.Module = field(repr=False)  #: the trained Q-network


def _evaluate(env: LaunchpadEnv, network: nn.Module, config: DQNConfig, seed: int):
    episodes = [play_episode(env, network, epsilon=config.eval_epsilon, seed=seed + i)
                for i in range(config.eval_episodes)]
    return (float(np.mean([e.rewards.mean() for e in episodes])),
            float(np.mean([e.rewards[-1] for e in episodes])))


def train_dqn(env: LaunchpadEnv, config: DQNConfig | None = None, *, q_function: str = "mlp",
              seed: int = 0, quiet: bool = False) -> DQNRun:
    """Train a DQN on ``env`` (notebook 06; ``env`` is reset and stepped).

    Replay memory, a target network copied every ``config.target_update`` steps, linearly
    decaying epsilon, Huber loss, Adam with gradient-norm clipping. The network sees
    :meth:`LaunchpadEnv.observation` and learns from rewards per bar cell (``reward / (N 2^B)``),
    so Q-values stay near 1 whatever the launchpad size. Episodes end at the time limit, which
    is no terminal state, so targets always bootstrap. Every ``config.eval_every`` steps (and
    at step 0) the greedy policy plays ``config.eval_episodes`` episodes on a copy of ``env``.
    """
    config = (config or DQNConfig.fast()).validate()
    check_choice("q_function", q_function, Q_FUNCTIONS)
    seed_everything(seed)
    device = pick_device()
    rng = np.random.default_rng(seed)
    network = make_q_network(env.observation_size, env.num_actions, q_function,
                             config.mlp_hidden).to(device)
    target = copy.deepcopy(network)
    optimiser = torch.optim.Adam(network.parameters(), lr=config.learning_rate)
    replay, eval_env = _Replay(config.buffer_size, env), copy.deepcopy(env)
    scale = config.reward_scale / (env.notes * env.bar_steps)
    ep_steps, ep_rewards, ev_steps, ev_rewards, ev_finals, losses = [], [], [], [], [], []
    env.reset(seed=seed)
    episode_total, episode_len = 0.0, 0
    for step in tqdm(range(config.steps + 1), desc=f"DQN ({q_function})", disable=quiet):
        if step % config.eval_every == 0:
            mean, final = _evaluate(eval_env, network, config, seed)
            ev_steps.append(step)
            ev_rewards.append(mean)
            ev_finals.append(final)
        if step == config.steps:
            break
        before = env.state
        if rng.random() < config.epsilon(step):
            action = int(rng.integers(env.num_actions))
        else:
            action = _greedy_action(network, env, device)
        _, reward, done = env.step(action)
        replay.add(before, action, reward * scale, env.state)
        episode_total, episode_len = episode_total + reward, episode_len + 1
        if done:
            ep_steps.append(step + 1)
            ep_rewards.append(episode_total / episode_len)
            env.reset()
            episode_total, episode_len = 0.0, 0
        if step >= config.learning_starts and step % config.train_every == 0:
            for group in optimiser.param_groups:
                group["lr"] = config.lr(step)
            losses.append(_gradient_step(network, target, optimiser, replay, env, config,
                                         rng, device))
        if (step + 1) % config.target_update == 0:
            target.load_state_dict(network.state_dict())
    return DQNRun(q_function, np.array(ep_steps, dtype=np.int64), np.array(ep_rewards),
                  np.array(ev_steps, dtype=np.int64), np.array(ev_rewards), np.array(ev_finals),
                  np.array(losses), env.reward_ceiling(), network)


def _gradient_step(network, target, optimiser, replay: _Replay, env: LaunchpadEnv,
                   config: DQNConfig, rng: np.random.Generator, device) -> float:
    """One Huber-loss step on a replay batch; returns the loss."""
    idx = rng.integers(0, replay.size, size=config.batch_size)
    obs, nxt = (torch.from_numpy(env.observations(replay.toggles[side, idx],
                                                  replay.offsets[side, idx].astype(np.int64)))
                .to(device) for side in (0, 1))
    actions = torch.from_numpy(replay.actions[idx]).to(device)
    rewards = torch.from_numpy(replay.rewards[idx]).to(device)
    with torch.no_grad():
        goal = rewards + config.gamma * target(nxt).max(dim=1).values
    chosen = network(obs).gather(1, actions[:, None])[:, 0]
    loss = nn.functional.smooth_l1_loss(chosen, goal)
    optimiser.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(network.parameters(), config.grad_clip)
    optimiser.step()
    return float(loss.item())


# ----- shipped agents: save, load, and the training command --------------------------------------
#: Checkpoint ``kind`` of a trained launchpad DQN.
CHECKPOINT_KIND = "launchpad_dqn"
_CURVES = ("episode_steps", "episode_rewards", "eval_steps", "eval_rewards", "eval_final_rewards",
           "losses")


@dataclass
class LaunchpadAgent:
    """A trained launchpad DQN as :func:`load_agent` returns it (notebook 06)."""

    run: DQNRun  #: the training curves and the Q-network (``run.network``, eval mode, CPU)
    config: DQNConfig  #: the training settings
    env_settings: dict  #: :meth:`LaunchpadEnv.from_corpus` arguments of its launchpad
    extra: dict  #: everything else stored: ``seed``, ``command``, ``seconds``, ``torch``

    def make_env(self, quiet: bool = True) -> LaunchpadEnv:
        """The launchpad the agent was trained on, rebuilt from the shipped bars."""
        return LaunchpadEnv.from_corpus(**self.env_settings, quiet=quiet)

    def policy(self) -> Policy:
        """The agent's greedy policy (:func:`q_network_policy`)."""
        return q_network_policy(self.run.network)


def save_agent(path, run: DQNRun, env: LaunchpadEnv, config: DQNConfig,
               extra: dict | None = None) -> Path:
    """Write a :func:`train_dqn` result atomically: the Q-network's weights, ``config``, the
    launchpad's settings (:meth:`LaunchpadEnv.settings`), the curves, and ``extra``."""
    from musiclab.checkpoints import save_checkpoint

    stored = {"q_function": run.q_function, "env": env.settings(), "ceiling": run.ceiling,
              "observation_size": env.observation_size, "num_actions": env.num_actions,
              "curves": {name: getattr(run, name).tolist() for name in _CURVES}}
    return save_checkpoint(path, run.network.cpu(), config.validate(), {**(extra or {}), **stored},
                           kind=CHECKPOINT_KIND)


def load_agent(name_or_path) -> LaunchpadAgent:
    """A trained launchpad DQN from a shipped name (``launchpad_dqn_mlp``, see
    ``musiclab.checkpoints.SHIPPED``) or a checkpoint file, on the CPU (notebook 06)."""
    from musiclab.checkpoints import (SHIPPED, CheckpointMismatchError, config_from_checkpoint,
                                      load_checkpoint, load_weights, shipped_path)

    is_name = isinstance(name_or_path, str) and name_or_path in SHIPPED
    path = shipped_path(name_or_path) if is_name else Path(name_or_path)
    if not is_name and not path.exists() and path.suffix == "" and len(path.parts) == 1:
        agents = ", ".join(repr(n) for n in SHIPPED if n.startswith("launchpad_"))
        raise UnknownNameError(f"{name_or_path!r} is neither a shipped launchpad agent (valid: "
                               f"{agents or 'none shipped'}) nor a checkpoint file")
    checkpoint = load_checkpoint(path, expected_kind=CHECKPOINT_KIND)
    config = config_from_checkpoint(checkpoint, DQNConfig, path)
    extra = dict(checkpoint["extra"])
    try:
        stored = {key: extra.pop(key) for key in ("q_function", "env", "ceiling",
                                                  "observation_size", "num_actions", "curves")}
        curves = {name: np.asarray(stored["curves"][name]) for name in _CURVES}
        network = make_q_network(stored["observation_size"], stored["num_actions"],
                                 stored["q_function"], tuple(config.mlp_hidden))
    except (KeyError, MusiclabError) as error:
        raise CheckpointMismatchError(f"{path}: not a complete launchpad agent: "
                                      f"{type(error).__name__}: {error}") from None
    load_weights(network, checkpoint, path)
    run = DQNRun(stored["q_function"], curves["episode_steps"].astype(np.int64),
                 curves["episode_rewards"], curves["eval_steps"].astype(np.int64),
                 curves["eval_rewards"], curves["eval_final_rewards"], curves["losses"],
                 float(stored["ceiling"]), network.eval())
    return LaunchpadAgent(run, config, dict(stored["env"]), extra)


def add_train_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of the launchpad training command (``musiclab launchpad train``)."""
    parser.add_argument("--q-function", default="mlp", choices=Q_FUNCTIONS,
                        help="linear or mlp Q-function (default mlp)")
    parser.add_argument("--preset", default="fast", choices=("fast", "paper"),
                        help="DQNConfig preset (default fast)")
    parser.add_argument("--steps", type=int, default=None, help="training steps (default: preset)")
    parser.add_argument("--notes", type=int, default=8, help="launchpad rows (default 8)")
    parser.add_argument("--beats-log2", type=int, default=4, help="B: 2^B steps a bar (default 4)")
    parser.add_argument("--k", type=int, default=16, help="real target bars (default 16)")
    parser.add_argument("--max-steps", type=int, default=16, help="actions an episode (default 16)")
    parser.add_argument("--start", default="random", choices=STARTS,
                        help="episode start state (default random)")
    parser.add_argument("--env-seed", type=int, default=0, help="seed of the target bars")
    parser.add_argument("--seed", type=int, default=0, help="seed of the network and the agent")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (default 1: fastest for these small networks)")
    parser.add_argument("--out", required=True, help="checkpoint file to write (.pt)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def cmd_train(args: argparse.Namespace) -> None:
    """Train a DQN on a launchpad of the shipped bars and save it with :func:`save_agent`."""
    config = DQNConfig.paper() if args.preset == "paper" else DQNConfig.fast()
    if args.steps is not None:
        config.steps = args.steps
    config.validate()
    torch.set_num_threads(check_int("threads", args.threads, 1))
    env = LaunchpadEnv.from_corpus(notes=args.notes, beats_log2=args.beats_log2, k=args.k,
                                   max_steps=args.max_steps, start=args.start,
                                   seed=args.env_seed, quiet=args.quiet)
    start = time.perf_counter()
    run = train_dqn(env, config, q_function=args.q_function, seed=args.seed, quiet=args.quiet)
    seconds = time.perf_counter() - start
    out = save_agent(args.out, run, env, config,
                     {"seed": args.seed, "command": getattr(args, "command_line", ""),
                      "seconds": seconds, "torch": str(torch.__version__)})
    print(f"{args.q_function} DQN on {env.notes} notes x {env.bar_steps} steps: evaluation reward "
          f"{run.eval_rewards[0]:.1f} -> {run.eval_rewards[-1]:.1f} (ceiling {run.ceiling:.0f}), "
          f"{seconds:.0f} s; wrote {out} ({out.stat().st_size / 1e6:.2f} MB)")


def main(argv: list[str] | None = None) -> int:
    """``python -m musiclab.rl.launchpad_agents train ...``: the training command on its own."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python -m musiclab.rl.launchpad_agents",
                                     description="Train a launchpad DQN and save it.")
    commands = parser.add_subparsers(dest="command", required=True)
    add_train_arguments(commands.add_parser("train", help="train a DQN and save a checkpoint"))
    args = parser.parse_args(argv)
    args.command_line = "python -m musiclab.rl.launchpad_agents " + shlex.join(argv)
    try:
        cmd_train(args)
    except MusiclabError as error:
        print(f"launchpad: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

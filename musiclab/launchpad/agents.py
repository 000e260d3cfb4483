"""Agents for the Launchpad DJ (notebook 06): tabular Q-learning, MCMC exploration, policies.

After "Reinforcement learning DJ" (C. Voss et al., Stanford CS234 project, 2018;
github.com/CatalinVoss/music-morph). The tabular agents work on small launchpads through the
environment's tables (:meth:`LaunchpadEnv.transition_table`, :meth:`LaunchpadEnv.reward_table`);
the DQN (:mod:`musiclab.launchpad.dqn`) works on any launchpad through :meth:`LaunchpadEnv.step`.
Every function returns plain arrays and dataclasses, ready for plotting. Policies
(``env -> action``) drive episodes and the launchpad panel.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from musiclab.errors import BadParameterError, check_int, check_range, check_seed
from musiclab.launchpad.buttons import LaunchpadState
from musiclab.launchpad.env import LaunchpadEnv
from musiclab.launchpad.tabular import MAX_TABLE_ENTRIES


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
    rng = np.random.default_rng(check_seed(seed))
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
                        greedy_starts, alpha, gamma, np.random.default_rng(check_seed(seed)), quiet)


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
                       greedy_starts, alpha, gamma, np.random.default_rng(check_seed(seed)), quiet)
    greedy = run.greedy_rewards.mean(axis=1).reshape(len(betas), repeats)
    explore = run.explore_rewards.mean(axis=1).reshape(len(betas), repeats)
    sem = np.sqrt(repeats)
    return BetaSweep(betas, greedy.mean(1), greedy.std(1, ddof=1) / sem, explore.mean(1),
                     explore.std(1, ddof=1) / sem,
                     run.acceptance_rate.reshape(len(betas), repeats).mean(1), greedy,
                     float(betas[np.argmax(greedy.mean(1))]), float(rewards.max()))


# ----- policies: env -> action, for episodes and the launchpad panel ------------------------
#: A policy reads ``env.state`` and returns an action index.
Policy = Callable[[LaunchpadEnv], int]


@dataclass
class Episode:
    """One episode played by :func:`play_policy` (or by ``dqn.play_episode``)."""

    actions: np.ndarray  #: int ``[T]``
    rewards: np.ndarray  #: float ``[T]``: reward of the state reached at each step
    final_state: LaunchpadState  #: the state at the end (render it with ``env.bar``)


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
    rng = np.random.default_rng(check_seed(seed))
    env.reset(seed=seed)
    actions, rewards, done = [], [], False
    while not done:
        if rng.random() < epsilon:
            action = int(rng.integers(env.num_actions))
        else:
            action = policy(env)
        _, reward, terminated, truncated, _ = env.step(action)
        done = terminated or truncated
        actions.append(action)
        rewards.append(reward)
    return Episode(np.array(actions), np.array(rewards), env.state.copy())

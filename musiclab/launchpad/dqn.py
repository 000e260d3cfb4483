"""The Launchpad DJ's deep Q-network (notebook 06): config, replay, training, shipped agents.

After "Reinforcement learning DJ" (C. Voss et al., Stanford CS234 project, 2018;
github.com/CatalinVoss/music-morph): a linear or an MLP Q-function over the flattened launchpad
state, trained with replay memory and a target network on :meth:`LaunchpadEnv.step`.
:func:`save_agent` / :func:`load_agent` store trained DQNs, and :func:`train_agent` is the
training behind ``musiclab launchpad train`` that made the shipped ones.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from musiclab.errors import MusiclabError, UnknownNameError, check_choice, check_int, check_range
from musiclab.launchpad.agents import Episode, Policy, play_policy
from musiclab.launchpad.env import LaunchpadEnv
from musiclab.runtime import pick_device, seed_everything

#: Q-functions :func:`train_dqn` can fit.
Q_FUNCTIONS = ("linear", "mlp")
#: :class:`DQNConfig` presets (:meth:`DQNConfig.preset`).
DQN_PRESETS = ("fast", "paper")


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

    @classmethod
    def preset(cls, name: str) -> DQNConfig:
        """The preset called ``name``: ``fast`` (:meth:`fast`) or ``paper`` (:meth:`paper`)."""
        return {"fast": cls.fast, "paper": cls.paper}[check_choice("preset", name, DQN_PRESETS)]()

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


# ----- Q-networks, replay and greedy play ------------------------------------------------------
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


def _greedy_action(network: nn.Module, env: LaunchpadEnv, device: torch.device) -> int:
    obs = torch.from_numpy(env.observation(env.state)).to(device)
    with torch.no_grad():
        return int(network(obs[None]).argmax(dim=1).item())


def q_network_policy(network: nn.Module) -> Policy:
    """The greedy policy of a Q-network from :func:`make_q_network` (argmax of its Q-values)."""
    device = next(network.parameters()).device
    return lambda env: _greedy_action(network, env, device)


def play_episode(env: LaunchpadEnv, network: nn.Module, *, epsilon: float = 0.0,
                 seed: int = 0) -> Episode:
    """Play one episode of ``env`` (reset with ``seed``) acting epsilon-greedily on ``network``."""
    return play_policy(env, q_network_policy(network), epsilon=epsilon, seed=seed)


# ----- training --------------------------------------------------------------------------------
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
        _, reward, terminated, truncated, _ = env.step(action)
        replay.add(before, action, reward * scale, env.state)
        episode_total, episode_len = episode_total + reward, episode_len + 1
        if terminated or truncated:
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


# ----- shipped agents: save, load, and the training behind the command -------------------------
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

    def summary(self) -> str:
        """One line: the Q-function and launchpad, the evaluation reward before -> after training
        against the ceiling, and the training time (``musiclab launchpad train`` prints it)."""
        run, seconds = self.run, self.extra.get("seconds")
        return (f"{run.q_function} DQN on {self.env_settings['notes']} notes x "
                f"{2 ** self.env_settings['beats_log2']} steps: evaluation reward "
                f"{run.eval_rewards[0]:.1f} -> {run.eval_rewards[-1]:.1f} (ceiling "
                f"{run.ceiling:.0f})" + ("" if seconds is None else f", {seconds:.0f} s"))


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


def train_agent(out, *, q_function: str = "mlp", preset: str = "fast", steps: int | None = None,
                notes: int = 8, beats_log2: int = 4, k: int = 16, max_steps: int = 16,
                start: str = "random", env_seed: int = 0, seed: int = 0, threads: int = 1,
                quiet: bool = False, command: str = "") -> tuple[LaunchpadAgent, Path]:
    """Train a DQN on a launchpad of the shipped bars and save it to ``out`` with
    :func:`save_agent` (``musiclab launchpad train``; the defaults made the shipped agents).

    ``preset`` names the :class:`DQNConfig` (``steps`` overrides its length); the launchpad is
    :meth:`LaunchpadEnv.from_corpus` with ``notes``, ``beats_log2``, ``k``, ``max_steps``,
    ``start`` and ``seed=env_seed``; ``seed`` seeds the network and the agent; ``threads`` sets
    torch's CPU threads (1 is fastest for these small networks). The checkpoint stores
    ``seed``, ``command`` (the command line that made it), ``seconds`` and ``torch``. Returns
    the agent, as :func:`load_agent` would give it, and the file written.
    """
    config = DQNConfig.preset(preset)
    if steps is not None:
        config.steps = steps
    config.validate()
    torch.set_num_threads(check_int("threads", threads, 1))
    env = LaunchpadEnv.from_corpus(notes=notes, beats_log2=beats_log2, k=k, max_steps=max_steps,
                                   start=start, seed=env_seed, quiet=quiet)
    began = time.perf_counter()
    run = train_dqn(env, config, q_function=q_function, seed=seed, quiet=quiet)
    extra = {"seed": seed, "command": command, "seconds": time.perf_counter() - began,
             "torch": str(torch.__version__)}
    path = save_agent(out, run, env, config, extra)
    run.network.eval()
    return LaunchpadAgent(run, config, env.settings(), extra), path

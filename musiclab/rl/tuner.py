"""Tune any sequence model of the kit with reinforcement learning: the RL Tuner (notebook 02).

The Q-network and the target Q-network start as copies of a trained model (its logits read as
Q-values); a frozen copy, the Reward RNN, scores each step. The reward of playing event a after
the prefix s is

    r(s, a) = log p(a | s) + r_MT(a, s) / c

with r_MT a pluggable music-theory :class:`~musiclab.rl.rule_set.RuleSet` (None: the learned reward
only, as the drum tuner uses). Three algorithms of Jaques et al. (2017) are available by name:
'dqn' (Q-learning), 'psi' (Ψ-learning) and 'g' (G-learning); their targets are written out in
:func:`dqn_target`, :func:`psi_target` and :func:`g_target`.

Compositions are played many at a time (one batched step of the networks per time step), stored
whole in an :class:`~musiclab.rl.replay.EpisodeReplay`, and replayed in minibatches of whole
episodes: one teacher-forced pass of the Q-network and one of the target network score every
transition of a minibatch. Exploration is ε-greedy or Boltzmann, annealed linearly; the target
network follows by soft updates θ⁻ ← θ⁻ + η(θ − θ⁻).

Entry points: :func:`tune` (a model and a :class:`TunerConfig`), :func:`tune_from_checkpoint`
(what ``musiclab tune`` calls), :func:`compose`, :func:`save_q_network` / :func:`load_q_network`.
"""
from __future__ import annotations

import copy
import math
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from musiclab.checkpoints import (CHECKPOINT_DIR, CheckpointMismatchError, config_from_checkpoint,
                                  load_checkpoint, load_model, load_weights, save_checkpoint)
from musiclab.data.melody import NUM_CLASSES
from musiclab.errors import BadParameterError, MusiclabError, check_choice, check_fields, check_range
from musiclab.models.sequence import SequenceModel, as_token_batch, resolve_generator
from musiclab.rl.q_network import ALGORITHMS, QNetwork, QNetworkConfig, soft_update, target_network
from musiclab.rl.replay import EpisodeBatch, EpisodeReplay
from musiclab.rl.rule_set import RuleSet, reweighted
from musiclab.rl.rules import rule_set
from musiclab.runtime import seed_everything

#: Exploration schemes: ε-greedy on the policy, or sampling the policy's softmax at temperature τ.
EXPLORATIONS = ("egreedy", "boltzmann")
#: Where an ε-greedy random action comes from: uniform over the events (the RL Tuner's choice), or
#: the frozen prior p(a | s), which keeps exploration musical.
RANDOM_ACTIONS = ("uniform", "prior")
#: TD losses: the papers' squared error, or the Huber loss (squared below 1, linear above).
LOSSES = ("mse", "huber")


@dataclass
class TunerConfig:
    """How to tune. Presets: ``preset(name)`` with a name from ``PRESETS``.

    Units: an *episode* is one composition of ``length`` steps (``length`` transitions).
    The papers' "minibatch of 32, train every 5th step" becomes 32 whole episodes every 5
    episodes played: the same number of replays per transition, in 32x larger updates.
    """

    algorithm: str = "dqn"
    """'dqn' (Q-learning), 'psi' (Ψ-learning) or 'g' (G-learning); see ``ALGORITHMS``."""
    rules: str | None = "rl_tuner"
    """Name of the music-theory rule set (``musiclab.rl.rules.RULE_SETS``); None: learned reward only."""
    rule_weights: dict[str, float] | None = None
    """Weights replacing the rule set's own for some rules (rule name → weight), e.g.
    ``{'low_autocorrelation': 3.0}``; None: the set's weights (1 for every RL Tuner rule)."""
    c: float = 0.5
    """r = log p + r_MT / c: smaller c weighs the rules more. For a conditioned network, its default c."""
    c_range: tuple[float, float] | None = None
    """Train a c-conditioned network over c drawn log-uniformly from this range (None: fixed ``c``)."""
    learned_reward: bool = True
    """Include log p(a | s) in the reward ('dqn', 'psi'). False gives the rules-only agent."""
    gamma: float = 0.5
    """Discount γ."""
    episodes: int = 20000
    """Compositions played in total."""
    length: int = 32
    """Steps (16ths) per composition."""
    batch_size: int = 64
    """Compositions played in parallel."""
    memory: int = 100_000
    """Replay capacity in transitions."""
    minibatch_size: int = 32
    """Episodes per update."""
    train_every: int = 5
    """One update per this many episodes played."""
    lr: float = 1e-3
    """Adam learning rate."""
    loss: str = "mse"
    """TD loss: 'mse' or 'huber' (see ``LOSSES``)."""
    clip_norm: float | None = 5.0
    """Clip the gradient norm to this (None: no clipping)."""
    double_q: bool = False
    """'dqn' only: Double Q-learning targets (the online network picks the next action, the target
    network values it; van Hasselt, Guez & Silver 2016) instead of the max of the target network."""
    target_update_rate: float = 0.01
    """η of the soft target update θ⁻ ← θ⁻ + η(θ − θ⁻)."""
    target_update_every: int = 1
    """Soft-update the target after every this many updates."""
    exploration: str = "egreedy"
    """'egreedy' or 'boltzmann' (see ``EXPLORATIONS``)."""
    random_actions: str = "uniform"
    """Source of ε-greedy random actions: 'uniform' or 'prior' (see ``RANDOM_ACTIONS``)."""
    epsilon_start: float = 1.0
    """ε (egreedy) at the start of training."""
    epsilon: float = 0.1
    """ε after annealing."""
    temperature_start: float = 1.0
    """Boltzmann temperature τ at the start of training."""
    temperature: float = 1.0
    """τ after annealing."""
    anneal_fraction: float = 0.5
    """ε or τ move linearly from start to final value over this fraction of ``episodes``."""
    checkpoint_every: int | None = None
    """Save a checkpoint every this many updates (with a checkpoint path; saved at the end anyway)."""
    seed: int = 0
    """Seeds the c encoder's initial weights, exploration, the c draws and replay sampling."""
    num_threads: int | None = None
    """torch CPU threads while tuning (None: leave torch's setting)."""

    def __post_init__(self) -> None:
        check_choice("algorithm", self.algorithm, ALGORITHMS)
        check_range("c", self.c, 0, low_open=True)
        if self.c_range is not None:
            low, high = (float(v) for v in self.c_range)
            check_range("c_range low", low, 0, low_open=True)
            check_range("c_range high", high, low)
            self.c_range = (low, high)
            if self.rules is None:
                raise BadParameterError("c_range needs a rule set: with the learned reward only, c has no effect")
        if self.rule_weights is not None:
            if self.rules is None:
                raise BadParameterError("rule_weights needs a rule set (rules is None)")
            self.rule_weights = dict(self.rule_weights)
            reweighted(rule_set(self.rules, self.length), self.rule_weights)  # unknown names, bad weights
        if self.rules is None and not self.learned_reward:
            raise BadParameterError("rules=None and learned_reward=False leave no reward at all")
        if self.algorithm == "g" and not self.learned_reward:
            raise BadParameterError("G-learning keeps the prior in its policy; learned_reward=False "
                                    "(the rules-only agent) needs algorithm 'dqn' or 'psi'")
        if self.double_q and self.algorithm != "dqn":
            raise BadParameterError("double_q applies to Q-learning only (algorithm 'dqn'), "
                                    f"not {self.algorithm!r}: set double_q=False")
        check_range("gamma", self.gamma, 0, 1, high_open=True)
        for name in ("episodes", "length", "batch_size", "minibatch_size", "train_every",
                     "target_update_every"):
            check_range(name, getattr(self, name), 1)
        check_range("memory", self.memory, self.length * self.minibatch_size)
        check_range("lr", self.lr, 0, low_open=True)
        check_choice("loss", self.loss, LOSSES)
        if self.clip_norm is not None:
            check_range("clip_norm", self.clip_norm, 0, low_open=True)
        check_range("target_update_rate", self.target_update_rate, 0, 1, low_open=True)
        check_choice("exploration", self.exploration, EXPLORATIONS)
        check_choice("random_actions", self.random_actions, RANDOM_ACTIONS)
        check_range("epsilon_start", self.epsilon_start, 0, 1)
        check_range("epsilon", self.epsilon, 0, 1)
        check_range("temperature_start", self.temperature_start, 0, low_open=True)
        check_range("temperature", self.temperature, 0, low_open=True)
        check_range("anneal_fraction", self.anneal_fraction, 0, 1)
        if self.checkpoint_every is not None:
            check_range("checkpoint_every", self.checkpoint_every, 1)
        if self.num_threads is not None:
            check_range("num_threads", self.num_threads, 1)


def rl_tuner(**overrides) -> TunerConfig:
    """The RL Tuner: DQN with c = 0.5 and γ = 0.5, the 'rl_tuner' rule set, 32-step compositions.

    Jaques, Gu, Turner & Eck, "Tuning recurrent neural networks with reinforcement learning" (2016),
    published as Jaques et al., "Sequence Tutor: Conservative fine-tuning of sequence generation
    models with KL-control", ICML 2017: c = 0.5, γ = 0.5. From its released code (Magenta's
    ``rl_tuner``): ε-greedy with uniformly random notes, ε annealed linearly from 1 to 0.1 over the
    first half of training, replay of 100,000 transitions, minibatches of 32, training every 5th
    step, soft target updates at rate 0.01, Adam (learning rate 1e-3), gradient norm clipped to 5.
    The number of compositions (50,000, 1.6 M transitions) is this kit's choice.
    """
    values = {"algorithm": "dqn", "rules": "rl_tuner", "c": 0.5, "gamma": 0.5, "episodes": 50000,
              "memory": 100_000, "minibatch_size": 32, "train_every": 5, "target_update_rate": 0.01,
              "exploration": "egreedy", "random_actions": "uniform", "epsilon_start": 1.0,
              "epsilon": 0.1, "anneal_fraction": 0.5, "lr": 1e-3, "clip_norm": 5.0}
    return TunerConfig(**{**values, **overrides})


def therapy(**overrides) -> TunerConfig:
    """The music-therapy generator's tuner: c = 0.7, ε = 0.3, train every 5th, minibatch 32,
    γ = 0.5, memory 100,000, target update rate 0.01.

    The RL-Tuner-based music-therapy system, which keeps the RL Tuner's DQN and changes these
    settings; ε = 0.3 is read as the final exploration rate of the RL Tuner's linear annealing
    from 1. Other settings as ``rl_tuner``.
    """
    return rl_tuner(**{"c": 0.7, "epsilon": 0.3, **overrides})


def fast(**overrides) -> TunerConfig:
    """The shipped tuner (``rl_tuner_dqn``, ``_psi``, ``_g``): 24,000 compositions at c = 0.6, about a
    minute on one CPU thread for the shipped fast Note-RNN (``bench/rl_tuner.py``, README).

    Not from a paper; made for a policy that composes as the paper's evaluation did, by *sampling*
    its softmax at temperature 1 (``compose``), and chosen with ``bench/rl_tuner.py``'s count of the
    paper's metrics and diversity. Exploration samples that same policy (Boltzmann at temperature 1
    throughout), so tuning meets the situations composing meets, leaps of its own making included.
    The rule set is ``rl_tuner_open_leaps`` (the paper's own leap reward, which pays coming back from
    a leap; this kit's step-back rule let a sampling policy farm leap, step back, leap again). Weights:
    leaps × 2 and unique extremes × 2 (at × 1 about one piece in six doubles a leap or repeats its
    highest note), autocorrelation × 3 (at × 1 the tuned melodies keep the data's regular rhythm),
    motif × 1.5, preferred intervals × 0.25 (at × 1 the interval bonuses pull every piece into the
    same stepwise runs: fewer distinct 4-grams). 128 compositions played at a time; learning rate
    3e-3; target rate 0.05; one torch thread (small networks on a shared 2-core CPU run several
    times faster on one).
    """
    values = {"c": 0.6, "rules": "rl_tuner_open_leaps",
              "rule_weights": {"leap_up_back": 2.0, "unique_extremes": 2.0, "low_autocorrelation": 3.0,
                               "motif": 1.5, "preferred_intervals": 0.25},
              "episodes": 24000, "batch_size": 128, "exploration": "boltzmann", "temperature_start": 1.0,
              "temperature": 1.0, "lr": 3e-3, "target_update_rate": 0.05, "num_threads": 1}
    return rl_tuner(**{**values, **overrides})


def egreedy(**overrides) -> TunerConfig:
    """The tuner of the therapy session's starting network (``rl_tuner_therapy``, notebook 07): a
    policy that composes *greedily*, varied by ε random steps. 24,000 compositions at c = 0.6, the
    ``rl_tuner`` rules with autocorrelation × 3, ε-greedy annealed from 0.5 to 0.1 with random steps
    sampled from the Note-RNN (the random steps that composer meets later), 128 compositions at a
    time, learning rate 3e-3, target rate 0.05, one torch thread.

    Not from a paper; this kit's first shipped tuner, kept for the therapy session, whose listener
    chooses among ε-varied candidates of one tune (``musiclab.therapy.feedback``). Sampled at temperature 1
    it follows the rules less well than ``fast`` (``bench/rl_tuner.py`` counts both ways).
    """
    values = {"c": 0.6, "rule_weights": {"low_autocorrelation": 3.0}, "episodes": 24000, "batch_size": 128,
              "exploration": "egreedy", "random_actions": "prior", "epsilon_start": 0.5, "epsilon": 0.1,
              "lr": 3e-3, "target_update_rate": 0.05, "num_threads": 1}
    return rl_tuner(**{**values, **overrides})


def playground(**overrides) -> TunerConfig:
    """The ``fast`` tuner trained over c in [0.1, 10] (log-uniform per composition): one c-conditioned
    network (``rl_tuner_playground``) for the c slider of notebook 03, no retraining per c.

    Not from a paper. At any one c it follows the rules less closely than a network tuned at that c
    alone (``bench/rl_tuner.py`` prints its c sweep next to the fixed-c models).
    """
    return fast(**{"c_range": (0.1, 10.0), **overrides})


def drums(**overrides) -> TunerConfig:
    """The drum tuner: DQN on the learned reward log p(a | s) of the Note-CNN only, γ = 0.5, soft
    target updates at rate 0.01 every 10 updates, ε-greedy, 2-bar grids of 32 sixteenths.

    The "Percussion Tuning" project (a drum Note-CNN whose Q-network, initialised from the CNN, is
    tuned by DQN with reward log p; github.com/Sriram-Ravula/RL-Music-Tuner). Other settings as
    ``rl_tuner`` with 10,000 grids; notebook 05 sweeps ε.
    """
    values = {"rules": None, "gamma": 0.5, "target_update_rate": 0.01, "target_update_every": 10,
              "exploration": "egreedy", "episodes": 10000}
    return rl_tuner(**{**values, **overrides})


#: Named tuner presets; ``preset(name, **overrides)`` builds one.
PRESETS = {"rl_tuner": rl_tuner, "therapy": therapy, "fast": fast, "egreedy": egreedy, "playground": playground,
           "drums": drums}


def preset(name: str, **overrides) -> TunerConfig:
    """The TunerConfig preset ``name`` (see ``PRESETS``) with any fields overridden."""
    return _preset_config(name, overrides)


def _preset_config(name: str, overrides: dict) -> TunerConfig:
    check_choice("tuner preset", name, PRESETS)
    check_fields(TunerConfig, overrides)
    return PRESETS[name](**overrides)


# --- rewards and targets ------------------------------------------------------------------------


def total_reward(log_p, rule_reward, c):
    """r(s, a) = log p(a | s) + r_MT(a, s) / c, elementwise (tensors or arrays of equal shape; ``log_p``
    may be 0 for the parts of the reward that leave the learned term out). The one home of the formula."""
    return log_p + rule_reward / c


def step_rewards(config: TunerConfig, batch: EpisodeBatch) -> torch.Tensor:
    """The reward [E, T] each algorithm learns from: log p + r_MT / c for 'dqn' and 'psi' (r_MT / c
    alone for the rules-only agent), r_MT / c for 'g' (whose prior enters through its target)."""
    learned = config.learned_reward and config.algorithm != "g"
    return total_reward(batch.log_p if learned else 0.0, batch.rule_reward, batch.c.unsqueeze(1))


def _next_state(values: torch.Tensor) -> torch.Tensor:
    """Per-state values [E, T] of s_0..s_{T-1} → values of the next states [E, T], 0 after the last step."""
    return F.pad(values[:, 1:], (0, 1))


def dqn_target(rewards: torch.Tensor, target_values: torch.Tensor, gamma: float,
               online_values: torch.Tensor | None = None) -> torch.Tensor:
    """Q-learning target: y_t = r_t + γ · max_a' Q⁻(s_{t+1}, a'), and y_{T-1} = r_{T-1}.

    ``rewards`` [E, T]; ``target_values`` [E, T, C] = Q⁻(s_t, ·) of the target network at s_0..s_{T-1}.
    With ``online_values`` [E, T, C] (the online network's Q), the Double Q-learning target
    y_t = r_t + γ · Q⁻(s_{t+1}, argmax_a' Q(s_{t+1}, a')).
    """
    if online_values is None:
        next_values = target_values.max(dim=-1).values
    else:
        next_values = target_values.gather(-1, online_values.argmax(dim=-1, keepdim=True)).squeeze(-1)
    return rewards + gamma * _next_state(next_values)


def psi_target(rewards: torch.Tensor, target_values: torch.Tensor, gamma: float) -> torch.Tensor:
    """Ψ-learning target: y_t = log p(a_t | s_t) + r_MT(a_t, s_t)/c + γ · log Σ_a' exp Ψ⁻(s_{t+1}, a')
    (the rewards carry the first two terms); the last step has no future term. Policy: softmax Ψ."""
    return rewards + gamma * _next_state(torch.logsumexp(target_values, dim=-1))


def g_target(rewards: torch.Tensor, target_values: torch.Tensor, prior_log_p: torch.Tensor,
             gamma: float) -> torch.Tensor:
    """G-learning target: y_t = r_MT(a_t, s_t)/c + γ · log Σ_a' p(a' | s_{t+1}) · exp G⁻(s_{t+1}, a')
    (the rewards carry r_MT/c only; ``prior_log_p`` [E, T, C] is log p(· | s_t)); no future term at
    the last step. Policy: π(a | s) ∝ p(a | s) · exp G(s, a)."""
    return rewards + gamma * _next_state(torch.logsumexp(prior_log_p + target_values, dim=-1))


def td_targets(config: TunerConfig, batch: EpisodeBatch, target: QNetwork,
               online_values: torch.Tensor | None = None) -> torch.Tensor:
    """The targets y [E, T] of ``config.algorithm`` for a minibatch of episodes (no gradient);
    ``online_values`` [E, T, C], the online network's Q on the same episodes, for ``config.double_q``."""
    with torch.no_grad():
        rewards = step_rewards(config, batch).to(target.device)
        values = target.q_values(batch.actions, _net_c(target, batch.c)).float()
        if config.algorithm == "dqn":
            return dqn_target(rewards, values, config.gamma, online_values.detach() if config.double_q else None)
        if config.algorithm == "psi":
            return psi_target(rewards, values, config.gamma)
        return g_target(rewards, values, target.prior_log_p(batch.actions), config.gamma)


def _net_c(q_net: QNetwork, c: torch.Tensor):
    """The c values to feed a network: per episode if conditioned, else its own c."""
    return c if q_net.c_encoder is not None else None


# --- playing compositions -------------------------------------------------------------------------


@torch.no_grad()
def play(q_net: QNetwork, n: int, length: int, c=None, *, epsilon: float = 0.0,
         temperature: float | None = None, random_actions: str = "prior", rules: RuleSet | None = None,
         generator: torch.Generator | None = None, primer: torch.Tensor | None = None) -> EpisodeBatch:
    """Play ``n`` compositions of ``length`` steps in parallel with the Q-network's policy.

    Each step: greedy on the policy logits (or, with ``temperature``, a sample of their softmax at
    that temperature); then with probability ``epsilon`` the action is replaced by a random one from
    ``random_actions`` ('prior': sampled from the frozen prior p(a | s); 'uniform'). With ``primer``
    (LongTensor [n, P], P <= length) steps 0..P-1 play the primer instead (scored like any step; the
    drum tuner starts from real 8-step openings, notebook 05). Returns the actions [n, length],
    log p(a_t | s_t) of the prior and the rules' reward r_MT (0 without ``rules``) per step, and c [n].
    """
    if primer is not None:
        primer = as_token_batch(primer, "primer", q_net.num_classes).cpu()
        if primer.shape[0] != n or primer.shape[1] > length:
            raise BadParameterError(f"primer must be [n={n}, P <= {length}], got {tuple(primer.shape)}")
    device = q_net.device
    state = q_net.initial_state(n, c)
    tokens = q_net.begin_tokens(n)
    actions = torch.empty((n, length), dtype=torch.long)
    log_p = torch.empty((n, length))
    rule_reward = np.zeros((n, length))
    for t in range(length):
        values, prior_log_p, state = q_net.step_values(tokens, state)
        logits = q_net.policy_logits(values.float(), prior_log_p).cpu()
        prior_log_p = prior_log_p.cpu()
        if temperature is None:
            chosen = logits.argmax(dim=-1)
        else:
            chosen = torch.multinomial(torch.softmax(logits / temperature, -1), 1, generator=generator).squeeze(1)
        if epsilon > 0:
            explore = torch.rand(n, generator=generator) < epsilon
            if random_actions == "prior":
                random = torch.multinomial(prior_log_p.exp(), 1, generator=generator).squeeze(1)
            else:
                random = torch.randint(q_net.num_classes, (n,), generator=generator)
            chosen = torch.where(explore, random, chosen)
        if primer is not None and t < primer.shape[1]:
            chosen = primer[:, t]
        log_p[:, t] = prior_log_p.gather(1, chosen.unsqueeze(1)).squeeze(1)
        if rules is not None:
            rule_reward[:, t] = rules.rewards(actions[:, :t].numpy(), chosen.numpy(), t)
        actions[:, t] = chosen
        tokens = chosen.to(device)
    return EpisodeBatch(actions, log_p, torch.from_numpy(rule_reward).float(), state[2].cpu())


def compose(q_net: QNetwork, n: int = 1, length: int = 32, c=None, epsilon: float = 0.0,
            seed: int | None = None, generator: torch.Generator | None = None,
            temperature: float = 1.0) -> torch.Tensor:
    """Compose ``n`` melodies (or grids) of ``length`` steps with a tuned Q-network: LongTensor [n, length].

    Each step samples the policy: softmax(logits / ``temperature``) of its logits (Q for 'dqn', Ψ for
    'psi', log p + G for 'g'), as the RL Tuner's evaluation composed (at temperature 1, the default);
    ``temperature=0`` plays the greedy event (argmax), which makes every piece the same tune. The
    first event is chosen after the network's start token (the paper primed with a random note
    instead). With probability ``epsilon`` a step's event is instead *sampled from the reward model*
    (the frozen prior inside ``q_net``). ``c`` (> 0, default: the network's c) can be any value for a
    c-conditioned network. Same seed, same music. One 32-step melody takes tens of milliseconds on a
    CPU (``bench/rl_tuner.py`` measures it). Notebooks 02 and 03 (the c / ε / temperature playground).
    """
    if not isinstance(q_net, QNetwork):
        raise BadParameterError(f"compose needs a QNetwork (from tune or load_q_network), got {type(q_net).__name__}")
    n = int(check_range("n", n, 1))
    length = int(check_range("length", length, 1))
    check_range("epsilon", epsilon, 0, 1)
    check_range("temperature", temperature, 0)
    if c is not None:
        check_range("c", float(c), 0, low_open=True)
    generator = resolve_generator(seed, generator)
    was_training = q_net.training
    q_net.eval()
    try:
        return play(q_net, n, length, q_net.check_c(c), epsilon=float(epsilon), generator=generator,
                    temperature=float(temperature) if temperature > 0 else None).actions
    finally:
        q_net.train(was_training)


# --- the tuning loop ------------------------------------------------------------------------------


@dataclass
class TuningHistory:
    """What happened while tuning, for plots (notebook 02): per round of ``batch_size`` compositions
    the mean reward per step split into its parts, and the loss of every update."""

    episodes: list[int] = field(default_factory=list)
    """Compositions played after each round."""
    log_p_reward: list[float] = field(default_factory=list)
    """Mean log p(a | s) per step of each round's compositions (the learned part of the reward)."""
    rule_reward: list[float] = field(default_factory=list)
    """Mean r_MT(a, s) / c per step of each round (the music-theory part, as it enters the reward)."""
    exploration: list[float] = field(default_factory=list)
    """ε (egreedy) or τ (boltzmann) of each round."""
    loss: list[float] = field(default_factory=list)
    """Mean squared TD error of every update."""
    transitions: int = 0
    """Transitions played (compositions × length)."""
    seconds: float = 0.0
    """Wall time of the whole run."""
    stop_reason: str = ""
    """'finished' or 'non-finite loss'."""

    @property
    def total_reward(self) -> list[float]:
        """Mean total reward per step of each round (log p part + music-theory part)."""
        return [a + b for a, b in zip(self.log_p_reward, self.rule_reward)]

    @property
    def transitions_per_second(self) -> float:
        """Throughput of the whole run, playing and updates included: transitions / seconds."""
        return self.transitions / self.seconds if self.seconds > 0 else float("nan")


_FROM_CONFIG = object()


def _resolve_rules(rules, config: TunerConfig) -> RuleSet | None:
    """The RuleSet a Tuner uses: ``rules`` (or ``config.rules`` by name), reweighted by ``config.rule_weights``."""
    if rules is _FROM_CONFIG:
        rules = config.rules
    if isinstance(rules, str):
        rules = rule_set(rules, num_steps=config.length)
    elif rules is not None and not isinstance(rules, RuleSet):
        raise BadParameterError(f"rules must be a RuleSet, a rule-set name or None, got {type(rules).__name__}")
    if rules is None or not config.rule_weights:
        return rules
    return reweighted(rules, config.rule_weights)


class Tuner:
    """One tuning run: the Q-network, its target and prior, the replay memory and the history.

    ``collect()`` plays one round of compositions into the memory; ``update()`` takes one
    minibatch step and soft-updates the target; ``run()`` alternates them to the end. Usually
    built by :func:`tune`.
    """

    def __init__(self, model: SequenceModel, config: TunerConfig | None = None, rules=_FROM_CONFIG,
                 primers=None) -> None:
        if not isinstance(model, SequenceModel) or not isinstance(model, torch.nn.Module):
            raise BadParameterError(f"model must be a trained SequenceModel module (e.g. a NoteRNN), "
                                    f"got {type(model).__name__}")
        if isinstance(model, QNetwork):
            raise BadParameterError("model is already a tuned QNetwork; tune the trained sequence model")
        self.config = config = config if config is not None else TunerConfig()
        self.rules = _resolve_rules(rules, config)
        if self.rules is not None and self.rules.num_steps != config.length:
            raise BadParameterError(f"the rule set scores pieces of {self.rules.num_steps} steps, "
                                    f"but length={config.length}")
        if self.rules is not None and model.num_classes != NUM_CLASSES and not isinstance(rules, RuleSet):
            raise BadParameterError(f"the named music-theory rules score melody events (38 classes); the model "
                                    f"has {model.num_classes} classes: use rules=None or pass a RuleSet "
                                    f"for its classes (e.g. musiclab.rl.drum_rules.drum_rule_set('groove'))")
        # Openings [N, P] to start compositions from (each round draws rows); None: from the begin token.
        self.primers = None
        if primers is not None:
            self.primers = as_token_batch(primers, "primers", model.num_classes).cpu()
            if len(self.primers) == 0 or self.primers.shape[1] >= config.length:
                raise BadParameterError(f"primers must be [N >= 1, P < length={config.length}], "
                                        f"got {tuple(self.primers.shape)}")
        self.generator = seed_everything(config.seed)
        self.q_net = QNetwork.from_model(model, config.algorithm, conditioned=config.c_range is not None,
                                         c=config.c)
        self.target = target_network(self.q_net)
        self.optimizer = torch.optim.Adam(self.q_net.trainable(), lr=config.lr)
        self.replay = EpisodeReplay(config.memory, config.length)
        self.history = TuningHistory()
        self.updates = 0
        self._due = 0.0

    @classmethod
    def from_q_network(cls, q_net: QNetwork, config: TunerConfig | None = None, rules=_FROM_CONFIG,
                       primers=None) -> Tuner:
        """A tuner that goes on tuning a copy of the tuned ``q_net`` (which is not changed), e.g. to
        re-tune a listener's generator (``musiclab.therapy.feedback``).

        Built as :class:`Tuner` builds a fresh one from ``q_net``'s prior (same seeding), then
        :meth:`load_q_state` puts ``q_net``'s weights in; ``config`` must have its algorithm, and a
        ``c_range`` exactly when ``q_net`` is conditioned on c.
        """
        if not isinstance(q_net, QNetwork):
            raise BadParameterError(f"q_net must be a tuned QNetwork (load_q_network), got {type(q_net).__name__}")
        config = config if config is not None else TunerConfig()
        if config.algorithm != q_net.config.algorithm:
            raise BadParameterError(f"config.algorithm is {config.algorithm!r}, but q_net was tuned with "
                                    f"{q_net.config.algorithm!r}; use algorithm={q_net.config.algorithm!r}")
        conditioned = q_net.c_encoder is not None
        if conditioned != (config.c_range is not None):
            raise BadParameterError(f"q_net is {'' if conditioned else 'not '}conditioned on c, so config.c_range "
                                    f"must be {'a range' if conditioned else 'None'}, got {config.c_range!r}")
        tuner = cls(copy.deepcopy(q_net.prior).requires_grad_(True), config, rules, primers)
        tuner.load_q_state(q_net.state_dict())
        return tuner

    def load_q_state(self, state_dict) -> None:
        """Load Q-network weights (a ``q_net.state_dict()``) and restart the target network from them;
        the optimizer, replay memory and history carry on."""
        self.q_net.load_state_dict(state_dict)
        self.target = target_network(self.q_net)

    @property
    def episodes_played(self) -> int:
        """Compositions played so far."""
        return self.history.episodes[-1] if self.history.episodes else 0

    def exploration_now(self) -> float:
        """ε (egreedy) or τ (boltzmann) for the next round: linear from start to final value."""
        cfg = self.config
        span = cfg.anneal_fraction * cfg.episodes
        progress = 1.0 if span == 0 else min(self.episodes_played / span, 1.0)
        if cfg.exploration == "egreedy":
            return cfg.epsilon_start + progress * (cfg.epsilon - cfg.epsilon_start)
        return cfg.temperature_start + progress * (cfg.temperature - cfg.temperature_start)

    def _draw_c(self, n: int) -> torch.Tensor:
        cfg = self.config
        if cfg.c_range is None:
            return torch.full((n,), float(cfg.c))
        low, high = math.log(cfg.c_range[0]), math.log(cfg.c_range[1])
        return torch.exp(low + (high - low) * torch.rand(n, generator=self.generator))

    def collect(self) -> EpisodeBatch:
        """Play one round of ``batch_size`` compositions (fewer at the very end), store and log them."""
        cfg = self.config
        n = min(cfg.batch_size, cfg.episodes - self.episodes_played)
        amount = self.exploration_now()
        c = self._draw_c(n)
        primer = (None if self.primers is None
                  else self.primers[torch.randint(len(self.primers), (n,), generator=self.generator)])
        self.q_net.eval()
        batch = play(self.q_net, n, cfg.length, c,
                     epsilon=amount if cfg.exploration == "egreedy" else 0.0,
                     temperature=amount if cfg.exploration == "boltzmann" else None,
                     random_actions=cfg.random_actions, rules=self.rules, generator=self.generator,
                     primer=primer)
        self.replay.add(batch)
        history = self.history
        history.episodes.append(self.episodes_played + n)
        history.log_p_reward.append(float(batch.log_p.mean()))
        history.rule_reward.append(float(total_reward(0.0, batch.rule_reward, c.unsqueeze(1)).mean()))
        history.exploration.append(float(amount))
        history.transitions += n * cfg.length
        self._due += n / cfg.train_every
        return batch

    def update(self) -> float:
        """One minibatch update of the Q-network (and, when due, a soft target update); returns the loss.

        Raises FloatingPointError (the weights untouched) when the loss or the gradient is not finite.
        """
        cfg = self.config
        batch = self.replay.sample(cfg.minibatch_size, self.generator)
        self.q_net.train()
        values = self.q_net.q_values(batch.actions, _net_c(self.q_net, batch.c)).float()
        targets = td_targets(cfg, batch, self.target, values)
        taken = values.gather(2, batch.actions.to(values.device).unsqueeze(2)).squeeze(2)
        loss = F.mse_loss(taken, targets) if cfg.loss == "mse" else F.smooth_l1_loss(taken, targets)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the TD loss is {loss.item()}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(self.q_net.trainable(), cfg.clip_norm or math.inf)
        if not torch.isfinite(norm):
            raise FloatingPointError(f"the gradient norm is {norm.item()}")
        self.optimizer.step()
        self.updates += 1
        if self.updates % cfg.target_update_every == 0:
            soft_update(self.target, self.q_net, cfg.target_update_rate)
        self.history.loss.append(loss.item())
        return loss.item()

    def run(self, quiet: bool = False, checkpoint_path=None) -> TuningHistory:
        """Tune to ``config.episodes`` compositions: rounds of play, then the updates due.

        With ``checkpoint_path`` the Q-network is saved every ``checkpoint_every`` updates and at the
        end. A non-finite loss or gradient stops tuning with a RuntimeWarning; the Q-network keeps
        its last good weights and the last checkpoint is left as it was.
        """
        cfg = self.config
        path = Path(checkpoint_path) if checkpoint_path is not None else None
        previous_threads = torch.get_num_threads()
        if cfg.num_threads is not None:
            torch.set_num_threads(cfg.num_threads)
        self.history.stop_reason = "finished"
        started = time.perf_counter()
        try:
            with tqdm(total=cfg.episodes, initial=self.episodes_played, desc=f"tune {cfg.algorithm}",
                      unit="melody", disable=quiet, leave=False) as bar:
                while self.episodes_played < cfg.episodes:
                    batch = self.collect()
                    bar.update(len(batch))
                    try:
                        while self._due >= 1 and len(self.replay) >= cfg.minibatch_size:
                            self._due -= 1
                            self.update()
                            if path is not None and cfg.checkpoint_every and self.updates % cfg.checkpoint_every == 0:
                                save_q_network(path, self)
                    except FloatingPointError as error:
                        self.history.stop_reason = "non-finite loss"
                        kept = f"; the checkpoint {path} is kept as it was" if path is not None else ""
                        warnings.warn(f"tuning stopped at update {self.updates + 1}: {error}. The Q-network "
                                      f"keeps the weights of update {self.updates}{kept}. Check the rules' "
                                      f"rewards for NaN, or lower lr (now {cfg.lr:g}).", RuntimeWarning,
                                      stacklevel=2)
                        break
                    bar.set_postfix(log_p=f"{self.history.log_p_reward[-1]:.2f}",
                                    rules=f"{self.history.rule_reward[-1]:.2f}")
        finally:
            torch.set_num_threads(previous_threads)
            self.history.seconds += time.perf_counter() - started
        self.q_net.eval()
        if path is not None and self.history.stop_reason == "finished":
            save_q_network(path, self)
        return self.history


def tune(model: SequenceModel, config: TunerConfig | None = None, rules=_FROM_CONFIG, *,
         quiet: bool = False, checkpoint_path=None) -> Tuner:
    """Tune a trained sequence model (a NoteRNN, a NoteCNN, any SequenceModel module) with RL.

    ``rules``: a RuleSet, a rule-set name, or None for the learned reward only; by default
    ``config.rules``. The model itself is not changed. Returns the finished :class:`Tuner`: its
    ``q_net`` (compose with :func:`compose`), ``history`` (rewards per round, losses) and
    ``q_net.prior`` (the frozen Reward model). Same seed, same tuned weights. Notebook 03.
    """
    tuner = Tuner(model, config, rules)
    tuner.run(quiet=quiet, checkpoint_path=checkpoint_path)
    return tuner


# --- checkpoints ----------------------------------------------------------------------------------


def save_q_network(path, tuner: Tuner) -> Path:
    """Save the tuner's Q-network (with its prior) and its TunerConfig to ``path``, atomically.

    ``extra`` holds the tuner config, the rule set's name, the run's seconds, compositions and
    stop reason; :func:`load_q_network` reads it back.
    """
    history = tuner.history
    extra = {"tuner_config": asdict(tuner.config),
             "rules": None if tuner.rules is None else tuner.rules.name,
             "tuning_seconds": float(history.seconds), "episodes": int(tuner.episodes_played),
             "updates": int(tuner.updates), "stop_reason": history.stop_reason}
    return save_checkpoint(path, tuner.q_net, extra=extra)


def load_q_network(path, device=None) -> QNetwork:
    """Load a tuned Q-network saved by :func:`save_q_network` (or a shipped name such as
    'rl_tuner_dqn' from ``data/checkpoints``), in eval mode; ``q_net.extra`` holds the saved extra.

    A checkpoint of another kind (e.g. the Note-RNN itself) raises CheckpointMismatchError.
    """
    path = Path(path)
    if not path.exists() and path.suffix == "" and len(path.parts) == 1:
        path = CHECKPOINT_DIR / f"{path.name}.pt"
    checkpoint = load_checkpoint(path, expected_kind=QNetwork.kind)
    config = config_from_checkpoint(checkpoint, QNetworkConfig, path)
    try:
        q_net = QNetwork(config)
    except MusiclabError as error:
        raise CheckpointMismatchError(f"{path}: {error}") from None
    load_weights(q_net, checkpoint, path)
    q_net.extra = checkpoint["extra"]
    return q_net.to(device if device is not None else "cpu").eval()


def tune_from_checkpoint(note_rnn_path, algorithm: str = "dqn", preset: str = "fast", seed: int = 0,
                         out_path=None, quiet: bool = False, **overrides) -> Tuner:
    """Tune the model saved at ``note_rnn_path`` with ``algorithm`` and the TunerConfig preset
    named ``preset`` (any field overridable), seeded; save the Q-network to ``out_path`` if given.

    What ``musiclab tune`` calls; e.g. the shipped DQN: ``tune_from_checkpoint(
    'data/checkpoints/note_rnn_fast.pt', 'dqn', 'fast', 0, 'data/checkpoints/rl_tuner_dqn.pt')``.
    """
    check_choice("algorithm", algorithm, ALGORITHMS)
    config = _preset_config(preset, {**overrides, "algorithm": algorithm, "seed": seed})
    kind = load_checkpoint(note_rnn_path)["kind"]
    if kind == QNetwork.kind:
        raise CheckpointMismatchError(f"{note_rnn_path} holds a tuned Q-network; tune from the trained "
                                      "model's checkpoint (e.g. data/checkpoints/note_rnn_fast.pt)")
    model = load_model(note_rnn_path, device="cpu")
    return tune(model, config, quiet=quiet, checkpoint_path=out_path)


"""How to tune: :class:`TunerConfig` and its named presets (the RL Tuner's settings, the kit's shipped
tuners, the drum tuner). ``preset(name, **overrides)`` builds one; notebook 02 prints the shipped one.
"""
from __future__ import annotations

from dataclasses import dataclass

from musiclab.errors import BadParameterError, check_choice, check_fields, check_range
from musiclab.rl.q_network import ALGORITHMS
from musiclab.rl.rule_set import reweighted
from musiclab.rl.rules import rule_set

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
    """The TunerConfig preset ``name`` (see ``PRESETS``) with any fields overridden; an unknown name or
    field is a named error."""
    check_choice("tuner preset", name, PRESETS)
    check_fields(TunerConfig, overrides)
    return PRESETS[name](**overrides)

"""Tuning the drum Note-CNN with DQN: the log-p tuner, drum rules as r_MT, the ε sweep (notebook 05).

The drum Note-CNN + DQN project tuned a Q-network initialised from the CNN on the learned reward
log p(a | s) of a frozen copy (``musiclab.rl.tuner_config.drums``: γ = 0.5, soft target updates η = 0.01
every 10 updates, ε-greedy) and swept ε over {0.01, 0.05, 0.1, 0.3, 0.5}, comparing rolling-average
reward curves (window 1000). Here, on top of :mod:`musiclab.rl.tuner`:

* :func:`tune_drums` — the log-p tuner (``rules=None``), the rule-tuned model (``rules='groove'``:
  r = log p + r_MT / c with c = 0.25, :data:`DRUM_C`) and the rules-only agent
  (``learned_reward=False``), all from one trained Note-CNN; every composition played while
  tuning starts from an 8-step primer of a real grid (``primers``), as the grids composed
  afterwards do, so the Q-network learns the states it will be used in;
* :func:`epsilon_sweep` and :func:`rolling_reward` — the sweep and its curves;
* :func:`compose_drums` — greedy (or ε-greedy) grids from a tuned Q-network, started from 8-step
  primers of real grids (the CNN is not trained on the first 8 steps);
* :func:`retained_likelihood` — how much of the CNN's likelihood a tuned model keeps, relative
  to the rules-only agent.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from musiclab.checkpoints import load_model
from musiclab.errors import BadParameterError, check_choice, check_range
from musiclab.models.drum_data import SKIP_FIRST, load_drum_data
from musiclab.models.note_cnn import NoteCNN
from musiclab.models.sequence import as_token_batch, resolve_generator
from musiclab.rl import tuner as tuning
from musiclab.rl import tuner_config as TC
from musiclab.rl.drum_rules import DRUM_RULE_SETS, drum_rule_set
from musiclab.rl.q_network import QNetwork
from musiclab.runtime import check_output_path, seed_everything

#: The ε values of the drum project's sweep.
PAPER_EPSILONS = (0.01, 0.05, 0.1, 0.3, 0.5)
#: The weight of the drum rules, r = log p + r_MT / c. Half the RL Tuner's 0.5: with c = 0.5 the
#: Note-CNN's near-certain continuations of a one-drum opening (log p ≈ 0 against ≈ −5 for a kick)
#: outweigh the −1 of ``no_monotony``, and 1.5 % of the rule-tuned grids stayed monotonous
#: (``bench/drums.py``, 8,000 grids); at c = 0.25, 0.5 %, keeping a retained-likelihood ratio > 1.
DRUM_C = 0.25
#: Transitions per point of the rolling-average reward curves (the drum project's window).
REWARD_WINDOW = 1000


def drum_config(epsilon: float = 0.1, rules: str | None = None, learned_reward: bool = True,
                c: float = DRUM_C, seed: int = 0, **overrides) -> TC.TunerConfig:
    """The ``drums`` TunerConfig preset at a constant exploration rate ``epsilon`` (no annealing,
    as the drum project's sweep), with drum rule set ``rules`` ('groove', 'variety' or None) and
    any other TunerConfig field overridden (e.g. ``episodes=2000``). One torch thread unless
    ``num_threads`` says otherwise: the Note-CNN is too small to gain from more (on a busy 2-core
    machine, several threads made an 8,000-grid run take minutes instead of ~45 s)."""
    check_range("epsilon", epsilon, 0, 1)
    if rules is not None:
        check_choice("drum rule set", rules, DRUM_RULE_SETS)
    values = {"epsilon": float(epsilon), "epsilon_start": float(epsilon), "rules": rules,
              "learned_reward": learned_reward, "c": float(c), "seed": int(seed), "num_threads": 1,
              **overrides}
    return TC.preset("drums", **values)


def tune_drums(cnn, config: TC.TunerConfig | None = None, *, primers=None, quiet: bool = False,
               checkpoint_path=None) -> tuning.Tuner:
    """Tune a trained drum Note-CNN with ``config`` (default :func:`drum_config`); the drum rule set
    named by ``config.rules`` is r_MT. ``primers``: LongTensor [N, P] of openings (e.g.
    ``training_primers(data)``), each composition played starts from a row drawn from them (None:
    from the empty prefix). Returns the finished Tuner (``q_net``, ``history``). Notebook 05.
    """
    config = config if config is not None else drum_config()
    rules = None if config.rules is None else drum_rule_set(config.rules)
    run = tuning.Tuner(cnn, config, rules=rules, primers=primers)
    run.run(quiet=quiet, checkpoint_path=checkpoint_path)
    return run


def training_primers(data) -> torch.Tensor:
    """The 8-step openings [N, 8] of every training grid of ``data`` (a ``drum_data.DrumData``): the
    primers the tuner starts from, drawn from the same grids as the primers composing starts from."""
    return data.train[:, :SKIP_FIRST].clone()


def rolling_reward(history: tuning.TuningHistory, window: int = REWARD_WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """The rolling-average reward per step of a tuning run: ``(transitions [R], reward [R])``.

    Point r is the mean total reward per step (log p part + rule part) over the last ``window``
    transitions played up to round r, each round weighted by its transitions; when a round holds
    more than ``window`` transitions the point is that round's mean. Notebook 05's ε-sweep curves.
    """
    window = int(check_range("window", window, 1))
    if not history.episodes:
        raise BadParameterError("the tuning history holds no rounds to average")
    per_episode = history.transitions / history.episodes[-1]
    played = np.asarray(history.episodes, dtype=np.float64) * per_episode
    sizes = np.diff(played, prepend=0.0)
    reward = np.asarray(history.total_reward, dtype=np.float64)
    sums, counts = np.cumsum(reward * sizes), np.cumsum(sizes)
    out = np.empty_like(reward)
    for r in range(len(reward)):
        first = int(np.searchsorted(played, played[r] - window, side="right"))
        first = min(first, r)
        before_sum = sums[first - 1] if first else 0.0
        before_count = counts[first - 1] if first else 0.0
        out[r] = (sums[r] - before_sum) / (counts[r] - before_count)
    return played, out


@dataclass
class SweepResult:
    """An ε sweep: for each ε its rolling-average reward curve, its run's wall time and Tuner."""

    epsilons: tuple[float, ...]
    window: int
    curves: dict[float, tuple[np.ndarray, np.ndarray]]
    """ε → (transitions [R], rolling-average reward per step [R])."""
    seconds: dict[float, float]
    """ε → wall time of that run in seconds."""
    tuners: dict[float, tuning.Tuner] = field(repr=False, default_factory=dict)

    def final_rewards(self) -> dict[float, float]:
        """ε → the last point of its curve (rolling-average reward per step at the end)."""
        return {eps: float(curve[1][-1]) for eps, curve in self.curves.items()}

    def as_dict(self) -> dict:
        """Plain data (for JSON): ε as strings → transitions, rewards, seconds."""
        return {"window": self.window,
                "runs": {str(eps): {"transitions": self.curves[eps][0].tolist(),
                                    "reward": self.curves[eps][1].tolist(),
                                    "seconds": self.seconds[eps]} for eps in self.epsilons}}


def epsilon_sweep(cnn, epsilons=PAPER_EPSILONS, window: int = REWARD_WINDOW, seed: int = 0,
                  quiet: bool = False, primers=None, **overrides) -> SweepResult:
    """Tune ``cnn`` once per ε (learned reward only, constant ε, same seed, compositions started
    from ``primers`` as in :func:`tune_drums`) and collect each run's rolling-average reward curve
    (:func:`rolling_reward`). ``overrides`` go to :func:`drum_config` (e.g. ``episodes=1024,
    batch_size=16``). Notebook 05 and ``bench/drums.py``."""
    epsilons = tuple(float(check_range("epsilon", eps, 0, 1)) for eps in epsilons)
    if not epsilons:
        raise BadParameterError("give at least one ε to sweep")
    curves, seconds, tuners = {}, {}, {}
    for eps in epsilons:
        started = time.perf_counter()
        run = tune_drums(cnn, drum_config(eps, seed=seed, **overrides), primers=primers, quiet=quiet)
        seconds[eps] = time.perf_counter() - started
        curves[eps], tuners[eps] = rolling_reward(run.history, window), run
    return SweepResult(epsilons, int(window), curves, seconds, tuners)


@torch.no_grad()
def compose_drums(q_net: QNetwork, primer=None, n: int | None = None, length: int = 32,
                  epsilon: float = 0.0, seed: int | None = None,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Grids [n, length] from a tuned Q-network: the ``primer`` steps ([n, P] or one [P] for all,
    e.g. ``drum_data.primers``) are kept, every later step is the greedy action (argmax Q), or with
    probability ``epsilon`` a draw from the frozen prior p(a | s). Same seed, same grids. Notebook 05.
    """
    if not isinstance(q_net, QNetwork):
        raise BadParameterError(f"compose_drums needs a QNetwork (tune_drums(...).q_net or "
                                f"tuner.load_q_network), got {type(q_net).__name__}")
    length = int(check_range("length", length, 1))
    check_range("epsilon", epsilon, 0, 1)
    fixed = (torch.empty((1 if n is None else int(n), 0), dtype=torch.long) if primer is None
             else as_token_batch(primer, "primer", q_net.num_classes).cpu())
    n = fixed.shape[0] if n is None else int(check_range("n", n, 1))
    if fixed.shape[0] == 1 and n > 1:
        fixed = fixed.expand(n, -1)
    if fixed.shape[0] != n or fixed.shape[1] > length:
        raise BadParameterError(f"primer must be [n={n}, P <= {length}] or one row, got {tuple(fixed.shape)}")
    generator = resolve_generator(seed, generator)
    was_training = q_net.training
    q_net.eval()
    try:
        out = torch.empty((n, length), dtype=torch.long)
        state, tokens = q_net.initial_state(n), q_net.begin_tokens(n)
        for t in range(length):
            values, prior_log_p, state = q_net.step_values(tokens, state)
            if t < fixed.shape[1]:
                chosen = fixed[:, t]
            else:
                chosen = q_net.policy_logits(values.float(), prior_log_p).cpu().argmax(-1)
                if epsilon > 0:
                    explore = torch.rand(n, generator=generator) < epsilon
                    drawn = torch.multinomial(prior_log_p.cpu().exp(), 1, generator=generator).squeeze(1)
                    chosen = torch.where(explore, drawn, chosen)
            out[:, t] = chosen
            tokens = chosen.to(q_net.device)
    finally:
        q_net.train(was_training)
    return out


def retained_likelihood(tuned_log_p: float, rules_only_log_p: float, model_log_p: float) -> float:
    """(mean log p of the tuned model's grids − of the rules-only agent's) / (of the CNN's own samples
    − of the rules-only agent's): 1 keeps all the CNN's likelihood, 0 no more than ignoring it."""
    span = model_log_p - rules_only_log_p
    if not np.isfinite(span) or span == 0:
        raise BadParameterError(f"the CNN's and the rules-only agent's mean log p must differ, got "
                                f"{model_log_p} and {rules_only_log_p}")
    return float((tuned_log_p - rules_only_log_p) / span)


def tune_drums_from_checkpoint(cnn_path="drum_cnn_fast", rules: str | None = None, epsilon: float = 0.1,
                               learned_reward: bool = True, seed: int = 0, out_path=None,
                               quiet: bool = False, primed: bool = True, **overrides) -> tuning.Tuner:
    """Tune the Note-CNN at ``cnn_path`` (a file or a shipped name) with :func:`drum_config` and save
    the Q-network to ``out_path``: what ``musiclab tune --model drums`` calls (see SHIPPED's commands).
    ``primed``: start every composition from the opening of an mma training grid
    (:func:`training_primers`; the same split as the CNN's), else from the empty prefix."""
    if out_path is not None:
        check_output_path(out_path, "checkpoint")
    seed_everything(seed)
    cnn = load_model(cnn_path, device="cpu", expected_kind=NoteCNN.kind)
    config = drum_config(epsilon, rules, learned_reward, seed=seed, **overrides)
    primers = training_primers(load_drum_data(quiet=quiet)) if primed else None
    return tune_drums(cnn, config, primers=primers, quiet=quiet, checkpoint_path=out_path)

"""Tune any sequence model of the kit with reinforcement learning: the RL Tuner (notebook 02).

The Q-network and the target Q-network start as copies of a trained model (its logits read as
Q-values); a frozen copy, the Reward RNN, scores each step. The reward of playing event a after
the prefix s is

    r(s, a) = log p(a | s) + r_MT(a, s) / c

with r_MT a pluggable music-theory :class:`~musiclab.rl.rule_set.RuleSet` (None: the learned reward
only, as the drum tuner uses). Three algorithms of Jaques et al. (2017) are available by name:
'dqn' (Q-learning), 'psi' (Ψ-learning) and 'g' (G-learning); their targets are written out in
:mod:`musiclab.rl.targets`.

Compositions are played many at a time (one batched step of the networks per time step), stored
whole in an :class:`~musiclab.rl.replay.EpisodeReplay`, and replayed in minibatches of whole
episodes: one teacher-forced pass of the Q-network and one of the target network score every
transition of a minibatch. Exploration is ε-greedy or Boltzmann, annealed linearly; the target
network follows by soft updates θ⁻ ← θ⁻ + η(θ − θ⁻).

Entry points: :func:`tune` (a model and a :class:`~musiclab.rl.tuner_config.TunerConfig`),
:func:`tune_from_checkpoint` (what ``musiclab tune`` calls), :func:`save_q_network` /
:func:`load_q_network`. Composing lives in :mod:`musiclab.rl.compose`, the reward and the targets
in :mod:`musiclab.rl.targets`, the configuration and its presets in :mod:`musiclab.rl.tuner_config`.
"""
from __future__ import annotations

import copy
import math
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from musiclab.checkpoints import (CHECKPOINT_DIR, CheckpointMismatchError, config_from_checkpoint,
                                  load_checkpoint, load_model, load_weights, save_checkpoint)
from musiclab.data.melody import NUM_CLASSES
from musiclab.errors import BadParameterError, MusiclabError, check_choice
from musiclab.models.note_rnn import NoteRNN
from musiclab.models.sequence import SequenceModel, as_token_batch
from musiclab.rl import tuner_config
from musiclab.rl.compose import play
from musiclab.rl.q_network import ALGORITHMS, QNetwork, QNetworkConfig, soft_update, target_network
from musiclab.rl.replay import EpisodeBatch, EpisodeReplay
from musiclab.rl.rule_set import RuleSet, reweighted
from musiclab.rl.rules import rule_set
from musiclab.rl.targets import net_c, td_targets, total_reward
from musiclab.rl.tuner_config import TunerConfig
from musiclab.runtime import check_output_path, seed_everything

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
        values = self.q_net.q_values(batch.actions, net_c(self.q_net, batch.c)).float()
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
        path = check_output_path(checkpoint_path, "checkpoint") if checkpoint_path is not None else None
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
    if out_path is not None:
        check_output_path(out_path, "checkpoint")
    config = tuner_config.preset(preset, **{**overrides, "algorithm": algorithm, "seed": seed})
    model = load_model(note_rnn_path, device="cpu", expected_kind=NoteRNN.kind)
    return tune(model, config, quiet=quiet, checkpoint_path=out_path)


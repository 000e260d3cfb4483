"""The tuner's Q-network: a trained sequence model whose logits are read as Q-values (notebook 03).

A :class:`QNetwork` holds two copies of a trained :class:`~musiclab.models.sequence.SequenceModel`:

- ``body``, trained by the tuner: its logits for the next event are the values Q(s, ·) (Ψ(s, ·)
  for Ψ-learning, G(s, ·) for G-learning), so before tuning the greedy policy is the model's own;
- ``prior``, frozen: the Reward RNN, whose log p(a | s) is the learned part of the reward, the
  prior of G-learning's policy and the source of ε-exploration when composing.

Keeping the prior inside makes a saved Q-network self-contained: :func:`musiclab.rl.compose.compose`
needs nothing else.

**c-conditioning.** A Note-RNN body can take c, the weight of the music-theory reward, as an
input, in two places that both start at zero (so the conditioned network starts equal to the
Note-RNN): a small encoder maps u = log10(c) to a vector added to the LSTM's input at every step,
and a second output head, divided by c, is added to the Note-RNN's head, mirroring the reward:

    Q(s, a; c) = head(h) + rule_head(h) / c,   h = LSTM(inputs + encoder(log10 c))

Trained over a range of c, the network moves its policy with c, with no retraining (the c slider
of notebook 03). Other sequence models tune at one fixed c.
"""
from __future__ import annotations

import copy
import importlib
from dataclasses import dataclass, field

import torch
from torch import nn

from musiclab.checkpoints import KINDS, config_to_dict
from musiclab.errors import BadParameterError, MusiclabError, check_choice, check_range
from musiclab.models.note_rnn import NoteRNN
from musiclab.models.sequence import SequenceModel, as_token_batch

#: The tuning algorithms (Jaques et al. 2017): Q-learning, Ψ-learning and G-learning.
ALGORITHMS = ("dqn", "psi", "g")


@dataclass
class QNetworkConfig:
    """What a Q-network is built from: the base model's kind and config, and how it is read."""

    base_kind: str = "note_rnn"
    """Kind of the tuned sequence model (``musiclab.checkpoints.KINDS``), e.g. 'note_rnn'."""
    base_config: dict = field(default_factory=dict)
    """The base model's config as a plain dict."""
    algorithm: str = "dqn"
    """'dqn' (greedy on Q), 'psi' (policy softmax Ψ) or 'g' (policy ∝ p(a|s)·exp G)."""
    conditioned: bool = False
    """Whether c is an input (Note-RNN bodies only)."""
    c: float = 0.5
    """The c the network was tuned at; for a conditioned network, the default c."""
    c_hidden: int = 16
    """Width of the c encoder's hidden layer."""

    def __post_init__(self) -> None:
        check_choice("algorithm", self.algorithm, ALGORITHMS)
        check_range("c", self.c, 0, low_open=True)
        check_range("c_hidden", self.c_hidden, 1)


def base_model_class(kind: str) -> type:
    """The sequence-model class registered for checkpoint ``kind`` (``musiclab.checkpoints.KINDS``)."""
    check_choice("model kind", kind, KINDS)
    module, _, attribute = KINDS[kind].partition(":")
    return getattr(importlib.import_module(module), attribute)


def c_tensor(c, batch_size: int, device=None) -> torch.Tensor:
    """``c`` (a number or [batch_size] values, each > 0) as a float tensor [batch_size]."""
    values = torch.as_tensor(c, dtype=torch.float32, device=device).reshape(-1)
    if values.numel() == 1:
        values = values.expand(batch_size).clone()
    if values.numel() != batch_size:
        raise BadParameterError(f"c must be one number or {batch_size} values, got {values.numel()}")
    if not bool(torch.isfinite(values).all()) or bool((values <= 0).any()):
        raise BadParameterError(f"c must be > 0 (the weight 1/c of the music-theory reward), got {c!r}")
    return values


class QNetwork(SequenceModel, nn.Module):
    """Q-values over the next event of a composition, with a frozen prior inside (see the module doc).

    As a :class:`SequenceModel` its ``step`` returns the policy's logits (Q for 'dqn', Ψ for 'psi',
    log p + G for 'g'), so ``sample`` draws from the Boltzmann policy at the network's default c.
    Build one from a trained model with :meth:`from_model`; load one with
    :func:`musiclab.rl.tuner.load_q_network`.
    """

    kind = "q_network"
    config_class = QNetworkConfig

    def __init__(self, config: QNetworkConfig, body: nn.Module | None = None,
                 prior: nn.Module | None = None) -> None:
        super().__init__()
        self.config = config
        if body is None or prior is None:
            base_class = base_model_class(config.base_kind)
            try:
                base_config = base_class.config_class(**config.base_config)
            except (TypeError, ValueError, MusiclabError) as error:
                raise BadParameterError(f"base_config does not build a {base_class.__name__}: {error}") from None
            body, prior = base_class(base_config), base_class(base_config)
        if not isinstance(body, SequenceModel) or not isinstance(prior, SequenceModel):
            raise BadParameterError("body and prior must be SequenceModels (see musiclab.models.sequence)")
        self.body, self.prior = body, prior
        self.prior.requires_grad_(False)
        self.prior.eval()
        self.num_classes = body.num_classes
        self.c_encoder = self.rule_head = None
        if config.conditioned:
            if not isinstance(body, NoteRNN):
                raise BadParameterError(
                    f"c-conditioning needs a Note-RNN (c enters its LSTM input); a {type(body).__name__} "
                    "tunes at one fixed c: set conditioned=False (c_range=None)")
            self.c_encoder = nn.Sequential(nn.Linear(1, config.c_hidden), nn.Tanh(),
                                           nn.Linear(config.c_hidden, body.input_size))
            self.rule_head = nn.Linear(body.config.hidden_size, self.num_classes)
            for layer in (self.c_encoder[2], self.rule_head):
                nn.init.zeros_(layer.weight)
                nn.init.zeros_(layer.bias)

    @classmethod
    def from_model(cls, model: SequenceModel, algorithm: str = "dqn", conditioned: bool = False,
                   c: float = 0.5) -> "QNetwork":
        """A Q-network whose body and prior are copies of the trained ``model`` (which is not changed)."""
        config = QNetworkConfig(base_kind=getattr(model, "kind", type(model).__name__.lower()),
                                base_config=config_to_dict(getattr(model, "config", None)),
                                algorithm=algorithm, conditioned=conditioned, c=float(c))
        body, prior = copy.deepcopy(model), copy.deepcopy(model)
        return cls(config, body=body, prior=prior).to(model.device)

    def train(self, mode: bool = True) -> "QNetwork":
        """Set training mode on the body and c encoder; the prior always stays in eval mode."""
        super().train(mode)
        self.prior.train(False)
        return self

    def trainable(self) -> list[nn.Parameter]:
        """The parameters the tuner trains: the body's and the c inputs' (never the prior's)."""
        return [p for name, p in self.named_parameters() if not name.startswith("prior.")]

    def check_c(self, c) -> torch.Tensor | float:
        """``c`` validated for this network: any c > 0 if conditioned, else only the c it was tuned at."""
        if c is None:
            return self.config.c
        values = c_tensor(c, torch.as_tensor(c).numel())
        if self.c_encoder is None and bool((values != self.config.c).any()):
            raise BadParameterError(
                f"this Q-network was tuned at c={self.config.c} only; to vary c, tune a conditioned "
                "network (TunerConfig c_range)")
        return c

    def _conditioned(self, tokens: torch.Tensor, state, c: torch.Tensor):
        """The c-conditioned Note-RNN body on input tokens [B, T] and c [B]: values [B, T, C], new state.

        Q(s, a; c) = head(h) + rule_head(h) / c with h the LSTM's outputs on inputs + encoder(log10 c)."""
        c = c.reshape(-1, 1, 1).float()
        hidden, state = self.body.hidden(tokens, state, self.c_encoder(torch.log10(c)))
        return self.body.head(hidden) + self.rule_head(hidden) / c, state

    def q_values(self, actions: torch.Tensor, c=None) -> torch.Tensor:
        """Q(s_t, ·) [B, T, C] for every state s_t = actions[:, :t] of compositions ``actions`` [B, T]
        (teacher-forced, one pass for a Note-RNN); ``c`` a number or [B] values (default: config.c)."""
        actions = actions.to(self.device)
        if self.c_encoder is None:
            self.check_c(c)
            return self.body.next_logits(actions)
        c = c_tensor(self.check_c(c), actions.shape[0], self.device)
        return self._conditioned(self.body.shifted_inputs(actions), None, c)[0]

    def prior_log_p(self, actions: torch.Tensor) -> torch.Tensor:
        """log p(· | s_t) [B, T, C] of the frozen prior (the Reward RNN) at every prefix of ``actions``."""
        with torch.no_grad():
            return self.prior.next_log_probs(actions.to(self.device))

    def policy_logits(self, values: torch.Tensor, prior_log_p: torch.Tensor) -> torch.Tensor:
        """The policy's logits from values [..., C]: Q or Ψ themselves, or log p + G for G-learning."""
        return values + prior_log_p if self.config.algorithm == "g" else values

    def initial_state(self, batch_size: int, c=None):
        """State before any event: (body state, prior state, c [batch_size]); c defaults to config.c."""
        c = c_tensor(self.check_c(c), batch_size, self.device)
        return self.body.initial_state(batch_size), self.prior.initial_state(batch_size), c

    def step_values(self, tokens: torch.Tensor, state):
        """Feed ``tokens`` [B] (on the network's device): values Q(s, ·) [B, C], the prior's
        log p(· | s) [B, C], and the new state."""
        body_state, prior_state, c = state
        if self.c_encoder is None:
            values, body_state = self.body.step(tokens, body_state)
        else:
            values, body_state = self._conditioned(tokens.reshape(-1, 1), body_state, c)
            values = values[:, 0]
        with torch.no_grad():
            prior_logits, prior_state = self.prior.step(tokens, prior_state)
        return values, torch.log_softmax(prior_logits.float(), -1), (body_state, prior_state, c)

    def step(self, tokens: torch.Tensor, state):
        """SequenceModel step: the policy's logits [B, C] for the next event, and the new state."""
        values, prior_log_p, state = self.step_values(tokens, state)
        return self.policy_logits(values, prior_log_p), state

    def log_prob(self, sequences) -> torch.Tensor:
        """log π(x_t | x_<t) [B, T] of the Boltzmann policy softmax(policy logits) at the default c."""
        events = as_token_batch(sequences, "sequences", self.num_classes).to(self.device)
        logits = self.policy_logits(self.q_values(events), self.prior_log_p(events))
        return torch.log_softmax(logits.float(), -1).gather(2, events.unsqueeze(2)).squeeze(2)


def soft_update(target: QNetwork, source: QNetwork, rate: float) -> None:
    """θ⁻ ← θ⁻ + rate · (θ − θ⁻) over the trainable parameters (rate 1 copies them)."""
    with torch.no_grad():
        for target_p, source_p in zip(target.trainable(), source.trainable()):
            target_p.lerp_(source_p, rate)


def target_network(q_net: QNetwork) -> QNetwork:
    """A frozen copy of ``q_net`` for the targets, sharing its prior (not a second copy)."""
    prior = q_net.prior
    q_net.prior = None
    try:
        target = copy.deepcopy(q_net)
    finally:
        q_net.prior = prior
    target.prior = prior
    target.requires_grad_(False)
    return target.eval()


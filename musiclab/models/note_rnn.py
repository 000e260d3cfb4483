"""The Note-RNN: an LSTM that predicts the next melody event (notebooks 01-03).

Input: the previous event, one-hot or embedded (index ``num_classes`` is the begin-of-sequence
input that predicts the first event). Then LSTM layers, dropout, and a linear layer to logits
over the ``num_classes`` events. Over the shared melody encoding (0 note-off, 1 no-event,
2.. pitches 48-83) ``num_classes`` is 38; the ``classic`` preset runs over a notes-and-chords
vocabulary instead. Shapes: events [B, T] LongTensor; logits [B, T, num_classes].

Training settings (learning rate, schedule, skipped losses, windows) live in
``musiclab.models.train_config.TrainConfig``; this file holds only the model's shape.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from musiclab.data.melody import NUM_CLASSES
from musiclab.errors import BadParameterError, check_choice, check_fields, check_range
from musiclab.models.sequence import SequenceModel, as_token_batch


@dataclass
class NoteRNNConfig:
    """The shape of a Note-RNN. Presets: ``preset(name)`` with a name from ``PRESETS``."""

    num_classes: int = NUM_CLASSES
    """Number of output events (38 for the melody encoding; the vocabulary size for ``classic``)."""
    hidden_size: int = 100
    """LSTM units per layer."""
    num_layers: int = 1
    """Stacked LSTM layers."""
    dropout: float = 0.0
    """Dropout between LSTM layers and before the output layer (0 = none)."""
    embedding_dim: int | None = None
    """Size of a learned input embedding; None feeds one-hot inputs (num_classes + 1 wide)."""

    def __post_init__(self) -> None:
        check_range("num_classes", self.num_classes, 2)
        check_range("hidden_size", self.hidden_size, 1)
        check_range("num_layers", self.num_layers, 1)
        check_range("dropout", self.dropout, 0, 1, high_open=True)
        if self.embedding_dim is not None:
            check_range("embedding_dim", self.embedding_dim, 1)


def rl_tuner(**overrides) -> NoteRNNConfig:
    """The RL Tuner's Note-RNN: one LSTM layer of 100 units over one-hot inputs of the 38 events.

    Jaques et al. (2017), "Sequence Tutor: Conservative fine-tuning of sequence generation
    models with KL-control", ICML 2017 (first as "Tuning Recurrent Neural Networks with
    Reinforcement Learning", 2016): the Note RNN is one LSTM layer of 100 cells. No dropout.
    """
    return NoteRNNConfig(**{"hidden_size": 100, "num_layers": 1, **overrides})


def therapy(**overrides) -> NoteRNNConfig:
    """The music-therapy generator's Note-RNN: two LSTM layers of 512 units, one-hot inputs.

    The RL-Tuner-based music-therapy system (its Note-RNN scaled to 2 x 512; trained with
    ``TrainConfig`` preset ``therapy``: initial learning rate 0.5, x0.85 every 1000 steps,
    first 32 losses skipped). Dropout is not reported there; none here.
    """
    return NoteRNNConfig(**{"hidden_size": 512, "num_layers": 2, **overrides})


def classic(num_classes: int, **overrides) -> NoteRNNConfig:
    """The classic melody LSTM: three LSTM layers of 1024 units, dropout 0.4, embedded tokens.

    Skúli's notes-and-chords LSTM (2017, "How to Generate Music using a LSTM Neural Network in
    Keras") at the issue's settings: 3 x 1024, dropout 0.4, 40-token input windows (the
    ``TrainConfig`` preset ``classic``); a 64-wide learned embedding replaces the original's
    scaled-integer input. ``num_classes`` is the size of the notes-and-chords vocabulary
    (``musiclab.data.chords``), so it must be given.
    """
    return NoteRNNConfig(**{"num_classes": num_classes, "hidden_size": 1024, "num_layers": 3,
                            "dropout": 0.4, "embedding_dim": 64, **overrides})


def fast(**overrides) -> NoteRNNConfig:
    """A small Note-RNN for notebooks and tests: one layer of 96 units, 32-wide embedding.

    Not from a paper: sized so that ``TrainConfig`` preset ``fast`` trains it on the Essen
    training split in about 25 s of one CPU core, to a test NLL about 12 % below the best n-gram's
    (0.810 vs 0.922 nats per step on the Essen test split, ``python bench/note_rnn.py``; README).
    """
    return NoteRNNConfig(**{"hidden_size": 96, "num_layers": 1, "embedding_dim": 32, **overrides})


#: Named model presets; ``preset(name, **overrides)`` builds one.
PRESETS = {"rl_tuner": rl_tuner, "therapy": therapy, "classic": classic, "fast": fast}


def preset(name: str, **overrides) -> NoteRNNConfig:
    """The NoteRNNConfig preset ``name`` (see ``PRESETS``), with any fields overridden.

    ``classic`` needs ``num_classes=len(vocabulary)``. Unknown names raise UnknownNameError.
    """
    check_choice("Note-RNN preset", name, PRESETS)
    check_fields(NoteRNNConfig, overrides)
    if name == "classic" and "num_classes" not in overrides:
        raise BadParameterError(
            "the classic preset runs over a notes-and-chords vocabulary: "
            "pass num_classes=len(vocabulary)")
    return PRESETS[name](**overrides)


class NoteRNN(SequenceModel, nn.Module):
    """LSTM next-event model over encoded melodies; see the module docstring for the shapes."""

    kind = "note_rnn"
    config_class = NoteRNNConfig

    def __init__(self, config: NoteRNNConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else NoteRNNConfig()
        cfg = self.config
        self.num_classes = cfg.num_classes
        if cfg.embedding_dim is None:
            self.embedding = None
            input_size = cfg.num_classes + 1
        else:
            self.embedding = nn.Embedding(cfg.num_classes + 1, cfg.embedding_dim)
            input_size = cfg.embedding_dim
        self.lstm = nn.LSTM(input_size, cfg.hidden_size, cfg.num_layers, batch_first=True,
                            dropout=cfg.dropout if cfg.num_layers > 1 else 0.0)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.hidden_size, cfg.num_classes)

    def _inputs(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.embedding is None:
            return F.one_hot(tokens, self.num_classes + 1).float()
        return self.embedding(tokens)

    @property
    def input_size(self) -> int:
        """Size of the vector the LSTM reads at each step (embedding or one-hot)."""
        return self.lstm.input_size

    def hidden(self, inputs: torch.Tensor, state=None, input_offset: torch.Tensor | None = None):
        """The LSTM's outputs [B, T, hidden_size] (after dropout) for input events [B, T], and the new
        state. ``input_offset`` [B, 1, input_size] is added to every step's input vector: how a
        c-conditioned Q-network (``musiclab.rl.q_network``) tells the melody model its c."""
        inputs = self._inputs(inputs)
        if input_offset is not None:
            inputs = inputs + input_offset
        hidden, state = self.lstm(inputs, state)
        return self.dropout(hidden), state

    def forward(self, inputs: torch.Tensor, state=None):
        """Logits [B, T, C] for input events [B, T] (BOS allowed), and the final (h, c) state."""
        hidden, state = self.hidden(inputs, state)
        return self.head(hidden), state

    def initial_state(self, batch_size: int):
        """Zero LSTM state (h, c), each [num_layers, batch_size, hidden_size]."""
        shape = (self.config.num_layers, batch_size, self.config.hidden_size)
        zeros = torch.zeros(shape, device=self.device)
        return zeros, zeros.clone()

    def step(self, tokens: torch.Tensor, state):
        """One event per sequence in (``tokens`` [B], BOS for the first), next-event logits [B, C] out."""
        logits, state = self(tokens.reshape(-1, 1), state)
        return logits[:, 0], state

    def shifted_inputs(self, events: torch.Tensor) -> torch.Tensor:
        """The inputs that predict ``events`` [B, T]: BOS, then events[:, :-1]."""
        bos = torch.full_like(events[:, :1], self.bos)
        return torch.cat([bos, events[:, :-1]], dim=1)

    def next_logits(self, sequences) -> torch.Tensor:
        """Next-event logits [B, T, C] of ``sequences`` [B, T] in one pass (equals the step-wise one)."""
        events = as_token_batch(sequences, "sequences", self.num_classes).to(self.device)
        if events.shape[1] == 0:
            return torch.zeros((*events.shape, self.num_classes), device=self.device)
        return self(self.shifted_inputs(events))[0]

    def loss(self, batch: torch.Tensor, skip_first: int = 0):
        """Mean next-event cross-entropy (nats) over ``batch`` [B, T], steps ≥ ``skip_first`` only.

        Returns ``(loss, {'nll': float, 'accuracy': float})``: the form ``train.train`` expects.
        """
        events = batch.long()
        if skip_first >= events.shape[1]:
            raise BadParameterError(
                f"skip_first={skip_first} leaves no steps of windows {events.shape[1]} long")
        logits, _ = self(self.shifted_inputs(events))
        logits, targets = logits[:, skip_first:], events[:, skip_first:]
        loss = F.cross_entropy(logits.reshape(-1, self.num_classes), targets.reshape(-1))
        with torch.no_grad():
            accuracy = (logits.argmax(-1) == targets).float().mean()
        return loss, {"nll": loss.item(), "accuracy": accuracy.item()}

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in asdict(self.config).items())

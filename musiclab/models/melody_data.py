"""Train / valid / test windows of a corpus for a training preset, and held-out scores on them.

The one data path of every next-event model over melodies or notes-and-chords tokens: the
``musiclab train`` command, ``bench/note_rnn.py``, notebook 01 (and the tuner and VAE after it)
all call :func:`load_windows`, so every figure is measured on the same splits.

* Melody corpora ('essen', 'oneill', 'chorales' sopranos): tunes are split by a hash of their
  id (``MelodySet.split``), then cut into windows of ``window`` events (the training preset's
  ``TrainConfig.window``): shape ``[N, window]`` int64, 38 classes.
* 'chorale-tokens': the Bach chorales as notes-and-chords tokens (``data.chords``), split by
  chorale, windows of ``window`` tokens over the chorale vocabulary. The last token of each
  window is the one the classic LSTM predicts from the ``window - 1`` before it; a Note-RNN
  learns every step of the window.

Training windows start every ``hop`` events; validation and test windows never overlap
(hop = window), so every held-out step is scored once. Baselines and scores: :func:`fit_baselines`
and :func:`score`, used by notebook 01 and the benchmark.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from musiclab.checkpoints import (CheckpointMismatchError, load_checkpoint, model_from_checkpoint,
                                  resolve_checkpoint)
from musiclab.data.chords import TokenConfig, Vocabulary, chorale_tokens, token_windows
from musiclab.data.corpus import CORPORA as MELODY_CORPORA
from musiclab.data.corpus import MelodySet, load_melodies, split_tunes
from musiclab.data.folder_corpus import load_folder_melodies
from musiclab.data.melody import NUM_CLASSES, event_names, make_windows
from musiclab.errors import BadParameterError, UnknownNameError, check_choice, check_range
from musiclab.models import train_config
from musiclab.models.baselines import NGramModel, TopPitchesModel
from musiclab.models.sequence import as_token_batch

#: The notes-and-chords corpus: the Bach chorales, all four parts, as tokens.
TOKEN_CORPUS = "chorale-tokens"
#: Every corpus :func:`load_windows` reads.
CORPORA = (*MELODY_CORPORA, TOKEN_CORPUS)
SPLITS = ("train", "valid", "test")
#: n-gram orders and add-k values tried on the validation windows by :func:`fit_baselines`.
NGRAM_ORDERS = (1, 2, 3, 4, 5, 6, 7, 8)
NGRAM_KS = (0.01, 0.1, 0.5)
#: Probability floor of the top-10-pitches baseline, so held-out scores stay finite.
TOP_PITCHES_FLOOR = 1e-4


@dataclass
class WindowData:
    """A corpus split and cut into windows: ``train``/``valid``/``test`` LongTensors [N, window].

    ``sequences[split]`` holds the whole tunes (or token sequences) of each split as 1-D int64
    arrays and ``names[split]`` their ids; ``vocabulary`` is the token vocabulary
    (None for melodies, whose 38 events are fixed).
    """

    corpus: str
    subset: str
    window: int
    hop: int
    split_seed: int
    train: torch.Tensor
    valid: torch.Tensor
    test: torch.Tensor
    sequences: dict[str, list[np.ndarray]] = field(repr=False)
    names: dict[str, list[str]] = field(repr=False)
    vocabulary: Vocabulary | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    files: int = 0
    """Files read from a folder of your own (0 for the built-in corpora)."""

    @property
    def num_classes(self) -> int:
        """Number of event classes: 38 for melodies, the vocabulary size for tokens."""
        return NUM_CLASSES if self.vocabulary is None else len(self.vocabulary)

    def split(self, name: str) -> torch.Tensor:
        """The windows [N, window] of split ``name`` ('train', 'valid' or 'test')."""
        check_choice("split", name, SPLITS)
        return getattr(self, name)

    def labels(self) -> list[str]:
        """A name per class, for tables and plots: 'off', '-', 'C4', ... or the tokens."""
        if self.vocabulary is None:
            return event_names(np.arange(NUM_CLASSES))
        return list(self.vocabulary.tokens)

    def describe(self) -> dict:
        """Plain data saying where the windows came from (stored in checkpoints' ``extra``)."""
        return {"corpus": self.corpus, "subset": self.subset, "window": self.window, "hop": self.hop,
                "split_seed": self.split_seed, "num_classes": self.num_classes,
                "windows": {name: int(self.split(name).shape[0]) for name in SPLITS},
                "pieces": {name: len(self.names[name]) for name in SPLITS}}

    def summary(self) -> str:
        """One line: corpus, pieces and windows per split."""
        parts = ", ".join(f"{name} {len(self.names[name]):,} pieces → {self.split(name).shape[0]:,} windows"
                          for name in SPLITS)
        unit = "tokens" if self.vocabulary is not None else "steps"
        source = self.corpus if self.files else f"{self.corpus}/{self.subset}"
        return f"{source}, windows of {self.window} {unit}: {parts}"

    def report(self) -> str:
        """The end-of-training summary: files (or pieces) read, skipped by reason, windows per split."""
        pieces = sum(len(self.names[name]) for name in SPLITS)
        read = f"files read {self.files:,} ({pieces:,} pieces)" if self.files else f"pieces read {pieces:,}"
        skipped = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items())) or "none"
        windows = ", ".join(f"{name} {self.split(name).shape[0]:,}" for name in SPLITS)
        return f"{read}; skipped {sum(self.skipped.values()):,} ({skipped}); windows: {windows}"


@dataclass(frozen=True)
class _Piece:
    """A named token sequence, split like a tune (``split_tunes`` reads ``tune_id``)."""

    tune_id: str
    events: np.ndarray


def _token_pieces(subset: str, quiet: bool) -> tuple[list[_Piece], Vocabulary, dict[str, int]]:
    tokens = chorale_tokens(TokenConfig.classic(), subset=subset, quiet=quiet)
    pieces = [_Piece(name, events) for name, events in zip(tokens.names, tokens.encoded())]
    return pieces, tokens.vocab, dict(tokens.skipped)


def _cut(sequences: list[np.ndarray], window: int, hop: int, tokens: bool) -> torch.Tensor:
    """Windows [N, window] of ``sequences``, one every ``hop`` events."""
    if tokens:  # token_windows gives (window - 1 inputs, the token after them): join them
        inputs, targets = token_windows(sequences, window - 1, hop)
        rows = np.concatenate([inputs, targets[:, None]], axis=1)
    else:
        rows = make_windows(sequences, window, hop)
    return torch.from_numpy(np.ascontiguousarray(rows, dtype=np.int64))


def load_corpus_melodies(corpus: str, subset: str = "default", quiet: bool = False) -> MelodySet:
    """A named melody corpus (``load_melodies``), or the melodies of a folder of your own MIDI / ABC
    files (``load_folder_melodies``): ``load_windows`` and the MusicVAE's training read both."""
    corpus = str(corpus)
    if corpus in MELODY_CORPORA:
        return load_melodies(corpus, subset=subset, quiet=quiet)
    if not Path(corpus).expanduser().is_dir():
        raise UnknownNameError(f"corpus must be one of {', '.join(CORPORA)} or a folder of MIDI / ABC "
                                f"files; {corpus!r} is neither")
    if subset != "default":
        raise BadParameterError(f"subset {subset!r} is for the built-in corpora; a folder is read whole")
    return load_folder_melodies(corpus, quiet=quiet)


def load_windows(corpus: str = "essen", preset: str = "fast", window: int | None = None,
                 hop: int | None = None, subset: str = "default", split_seed: int = 0,
                 quiet: bool = False) -> WindowData:
    """Load ``corpus`` (building its cache on first use), split it and cut windows for ``preset``.

    ``corpus`` is one of :data:`CORPORA` or a folder of your own MIDI / ABC files (searched
    recursively; ``musiclab.data.folder_corpus``), whose files are split by their relative paths.

    ``window`` defaults to the training preset's ``TrainConfig.window`` (fast 64, rl_tuner 128,
    classic 40); ``hop`` (training windows only) defaults to ``window`` for melodies and 1 for
    tokens (every position, as the classic LSTM). ``subset`` as in ``load_melodies`` (e.g.
    'kinder0') or, for 'chorale-tokens', 'default' or 'sample'. The split is by a hash of each
    piece's id with ``split_seed`` (80/10/10). Raises BadParameterError when a split has no window.
    Used by ``musiclab train``, ``bench/note_rnn.py`` and notebook 01.
    """
    corpus = str(corpus)
    if window is None:
        window = train_config.preset(preset).window
        if window is None:
            raise BadParameterError(f"training preset {preset!r} has no window; pass window=")
    window = int(check_range("window", window, 2))
    tokens = corpus == TOKEN_CORPUS
    hop = int(check_range("hop", hop, 1)) if hop is not None else (1 if tokens else window)
    if tokens:
        pieces, vocabulary, skipped = _token_pieces(subset, quiet)
    else:
        melodies = load_corpus_melodies(corpus, subset, quiet)
        pieces, vocabulary, skipped = melodies.tunes, None, dict(melodies.skipped)
        corpus, subset = melodies.corpus, melodies.subset
    splits = split_tunes(pieces, seed=split_seed)
    sequences = {name: [piece.events for piece in splits[name]] for name in SPLITS}
    windows = {name: _cut(sequences[name], window, hop if name == "train" else window, tokens)
               for name in SPLITS}
    for name in SPLITS:
        if windows[name].shape[0] == 0:
            raise BadParameterError(
                f"the {name} split of {corpus}/{subset} has no window of {window} "
                f"({len(sequences[name])} pieces, all shorter): use a larger subset or a shorter window")
    return WindowData(corpus, subset, window, hop, split_seed, windows["train"], windows["valid"],
                      windows["test"], sequences, {n: [p.tune_id for p in splits[n]] for n in SPLITS},
                      vocabulary, skipped, 0 if tokens else melodies.files)


@torch.no_grad()
def score(model, windows, skip_first: int = 0, batch_size: int = 256) -> dict[str, float]:
    """Held-out figures of a sequence model on ``windows`` [N, T], each window scored from BOS.

    Returns ``{'nll': nats per step, 'bits': bits per step, 'accuracy': share of steps whose
    most probable event is the true one, 'steps': steps scored}`` over steps ≥ ``skip_first``.
    Dropout is off while scoring. Notebook 01's comparison table and the benchmark use it.
    """
    events = as_token_batch(windows, "windows", model.num_classes)
    if events.numel() == 0:
        raise BadParameterError(f"windows is empty (shape {tuple(events.shape)}): nothing to score")
    check_range("skip_first", skip_first, 0, events.shape[1] - 1)
    check_range("batch_size", batch_size, 1)
    was_training = getattr(model, "training", False)
    if was_training:
        model.train(False)
    total_nll, correct, steps = 0.0, 0, 0
    try:
        for start in range(0, events.shape[0], batch_size):
            batch = events[start:start + batch_size]
            log_p = model.next_log_probs(batch).float().cpu()[:, skip_first:]
            target = batch[:, skip_first:].cpu()
            total_nll -= log_p.gather(2, target.unsqueeze(2)).double().sum().item()
            correct += int((log_p.argmax(-1) == target).sum())
            steps += target.numel()
    finally:
        if was_training:
            model.train(True)
    nll = total_nll / steps
    return {"nll": nll, "bits": nll / float(np.log(2)), "accuracy": correct / steps, "steps": steps}


def fit_baselines(data: WindowData, orders=NGRAM_ORDERS, ks=NGRAM_KS) -> dict[str, object]:
    """The papers' baselines fitted on ``data.train``: an n-gram with its order and add-k chosen
    by validation NLL, and (for melodies) random notes from the 10 most frequent pitches.

    Returns ``{'n-gram (n=N, k=K)': NGramModel, 'top-10 pitches': TopPitchesModel}`` (the
    top-pitches model assumes the melody encoding, so token data gets a unigram instead).
    Each order is counted once (about 2 s for Essen) and scored once per k. Used by notebook 01
    and the benchmark.
    """
    best, best_nll = None, float("inf")
    for order in orders:
        counted = NGramModel(order, num_classes=data.num_classes).fit(data.train)
        for k in ks:  # the counts do not depend on k: count once per order
            model = copy.copy(counted)
            model.k = check_range("k", k, 0, low_open=True)
            nll = score(model, data.valid)["nll"]
            if nll < best_nll:
                best, best_nll = model, nll
    if best is None:
        raise BadParameterError("give at least one n-gram order and one k")
    baselines: dict[str, object] = {f"n-gram (n={best.order}, k={best.k:g})": best}
    if data.vocabulary is None:
        baselines["top-10 pitches"] = TopPitchesModel(10, TOP_PITCHES_FLOOR).fit(data.train)
    else:
        baselines["unigram"] = NGramModel(1, 0.1, num_classes=data.num_classes).fit(data.train)
    return baselines


@dataclass
class TrainedModel:
    """A model loaded from a checkpoint with what it needs to be used: its token ``vocabulary``
    (None for melody models) and the checkpoint's ``extra`` (command, data, validation figures)."""

    model: torch.nn.Module
    vocabulary: Vocabulary | None
    extra: dict
    path: str


def load_trained(name_or_path, device=None, expected_kind: str | None = None) -> TrainedModel:
    """Load a shipped checkpoint by name (``checkpoints.SHIPPED``) or a checkpoint file, in eval mode.

    A notes-and-chords model's vocabulary is rebuilt from ``extra['vocabulary']`` (a plain list
    of tokens); ``expected_kind`` refuses other kinds. Used by ``musiclab sample``, the benchmark
    and notebook 01.
    """
    path = resolve_checkpoint(name_or_path)
    checkpoint = load_checkpoint(path, expected_kind)
    model, extra = model_from_checkpoint(checkpoint, path, device), checkpoint["extra"]
    tokens = extra.get("vocabulary")
    vocabulary = Vocabulary(tuple(tokens)) if tokens is not None else None
    if vocabulary is not None and len(vocabulary) != model.num_classes:
        raise CheckpointMismatchError(f"{path}: the stored vocabulary has {len(vocabulary)} tokens but the "
                                f"model predicts {model.num_classes} classes")
    return TrainedModel(model, vocabulary, extra, str(path))

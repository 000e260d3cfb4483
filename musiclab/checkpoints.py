"""Safe checkpoints: save atomically; load only what passes the gate of ``load_checkpoint`` (zip
CRCs, ``weights_only=True`` unpickling, layout, kind, finite weights), then check config and shapes.

A checkpoint file is a dict ``{'format', 'kind', 'config', 'state_dict', 'extra'}``:
``kind`` names the model class (``NoteRNN.kind == 'note_rnn'``), ``config`` is the model's
dataclass config as a plain dict, ``extra`` holds plain data (training state, metrics).
``load_model`` rebuilds any registered kind from its stored config; ``SHIPPED`` lists the
checkpoints in the repository's ``data/checkpoints`` with the command that reproduces each.
Notebooks 01-05 load their models through ``load_model``.
"""
from __future__ import annotations

import dataclasses
import importlib
import io
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from musiclab.errors import BadFileError, BadParameterError, MusiclabError, UnknownNameError
from musiclab.runtime import SHIPPED_DATA_DIR, atomic_write_bytes, pick_device

#: Version of the file layout written by ``save_checkpoint``.
FORMAT = 1
#: Where shipped checkpoints live.
CHECKPOINT_DIR = SHIPPED_DATA_DIR / "checkpoints"
#: Model kinds ``load_model`` can rebuild: kind → "module:Class" (the class takes its config).
KINDS: dict[str, str] = {
    "note_rnn": "musiclab.models.note_rnn:NoteRNN",
    "note_cnn": "musiclab.models.note_cnn:NoteCNN",
    "music_vae": "musiclab.models.music_vae:MusicVAE",
}

#: What each kind of checkpoint holds, for error messages.
KIND_NAMES: dict[str, str] = {
    "note_rnn": "Note-RNN: a melody or notes-and-chords model",
    "note_cnn": "Note-CNN: a drum model",
    "music_vae": "MusicVAE",
    "q_network": "tuned Q-network",
    "launchpad_dqn": "launchpad DQN agent",
}

_KEYS = ("format", "kind", "config", "state_dict", "extra")
#: Scalar types weights_only loading accepts, by exact type (a str subclass such as
#: ``torch.__version__`` would save but not load).
_SCALARS = (str, int, float, bool, type(None))


class CheckpointMismatchError(BadFileError):
    """A checkpoint holds another kind of model, or a config or weights that do not match."""


@dataclass(frozen=True)
class ShippedCheckpoint:
    """One checkpoint shipped in ``data/checkpoints``: its file name and how to rebuild it."""

    file: str
    """File name under ``CHECKPOINT_DIR``."""
    command: str
    """The shell command that reproduces the file from the shipped data."""
    description: str = ""
    """One line: what the model is and what it was trained on."""


#: Shipped checkpoints by name (the lead adds entries as checkpoints are trained).
SHIPPED: dict[str, ShippedCheckpoint] = {
    "note_rnn_fast": ShippedCheckpoint(
        "note_rnn_fast.pt",
        "musiclab train note-rnn --preset fast --corpus essen --seed 0 --out data/checkpoints/note_rnn_fast.pt",
        "Note-RNN, fast preset (1 x 96 LSTM, 32-wide embedding), 600 Adam steps on the Essen training split"),
    "note_rnn_essen": ShippedCheckpoint(
        "note_rnn_essen.pt",
        "musiclab train note-rnn --preset fast --corpus essen --seed 0 --steps 2000 --eval-every 250 "
        "--hidden 192 --out data/checkpoints/note_rnn_essen.pt",
        "Note-RNN, fast recipe run longer and wider (1 x 192 LSTM, 2,000 Adam steps) on Essen: the best "
        "shipped melody model"),
    "note_rnn_rl_tuner": ShippedCheckpoint(
        "note_rnn_rl_tuner.pt",
        "musiclab train note-rnn --preset rl_tuner --corpus essen --seed 0 --steps 2000 --eval-every 250 "
        "--threads 1 --out data/checkpoints/note_rnn_rl_tuner.pt",
        "Note-RNN, RL Tuner preset (1 x 100 LSTM, one-hot inputs), its SGD recipe cut to 2,000 steps, Essen"),
    "note_rnn_classic_small": ShippedCheckpoint(
        "note_rnn_classic_small.pt",
        "musiclab train note-rnn --preset classic --corpus chorale-tokens --hidden 256 --layers 2 --steps 200 "
        "--eval-every 50 --threads 1 --seed 0 --out data/checkpoints/note_rnn_classic_small.pt",
        "Classic notes-and-chords LSTM scaled to 2 x 256, 200 RMSprop steps (its best validation NLL) "
        "on the Bach chorale tokens"),
    "rl_tuner_dqn": ShippedCheckpoint(
        "rl_tuner_dqn.pt",
        "musiclab tune --model melody --algorithm dqn --seed 0 --out data/checkpoints/rl_tuner_dqn.pt",
        "Q-network tuned from note_rnn_fast by DQN (Q-learning) at c = 0.6, fast preset (composes by sampling)"),
    "rl_tuner_psi": ShippedCheckpoint(
        "rl_tuner_psi.pt",
        "musiclab tune --model melody --algorithm psi --seed 0 --out data/checkpoints/rl_tuner_psi.pt",
        "Q-network tuned from note_rnn_fast by Psi-learning at c = 0.6, fast preset (composes by sampling)"),
    "rl_tuner_g": ShippedCheckpoint(
        "rl_tuner_g.pt",
        "musiclab tune --model melody --algorithm g --seed 0 --out data/checkpoints/rl_tuner_g.pt",
        "Q-network tuned from note_rnn_fast by G-learning at c = 0.6, fast preset (composes by sampling)"),
    "rl_tuner_rules_only": ShippedCheckpoint(
        "rl_tuner_rules_only.pt",
        "musiclab tune --model melody --algorithm dqn --rules-only --seed 0 "
        "--out data/checkpoints/rl_tuner_rules_only.pt",
        "reference agent: the same DQN tuning with the log p reward dropped (rules only)"),
    "rl_tuner_therapy": ShippedCheckpoint(
        "rl_tuner_therapy.pt",
        "musiclab tune --model melody --algorithm dqn --preset egreedy --seed 0 "
        "--out data/checkpoints/rl_tuner_therapy.pt",
        "the therapy session's starting network: DQN at c = 0.6, egreedy preset (composes greedily, varied by ε)"),
    "rl_tuner_playground": ShippedCheckpoint(
        "rl_tuner_playground.pt",
        "musiclab tune --model melody --algorithm dqn --preset playground --seed 0 "
        "--out data/checkpoints/rl_tuner_playground.pt",
        "c-conditioned Q-network (DQN, c log-uniform in [0.1, 10] while tuning) for the c slider of notebook 03"),
    "launchpad_dqn_mlp": ShippedCheckpoint(
        "launchpad_dqn_mlp.pt",
        "musiclab launchpad train --q-function mlp --seed 0 --out data/checkpoints/launchpad_dqn_mlp.pt",
        "Launchpad DJ DQN, MLP 1024-512, fast preset (6,000 steps) on the 8-note x 16-step launchpad"),
    "launchpad_dqn_linear": ShippedCheckpoint(
        "launchpad_dqn_linear.pt",
        "musiclab launchpad train --q-function linear --seed 0 --out data/checkpoints/launchpad_dqn_linear.pt",
        "Launchpad DJ DQN, linear Q-function, fast preset (6,000 steps) on the 8-note x 16-step launchpad"),
    "drum_cnn_fast": ShippedCheckpoint(
        "drum_cnn_fast.pt",
        "musiclab train note-cnn --preset fast --seed 0 --num-threads 1 --out data/checkpoints/drum_cnn_fast.pt",
        "Drum Note-CNN, fast preset (32 channels, kernel 17, 32 hidden), 600 Adam steps on the mma groove "
        "training split (grids in the kick-first priority encoding); test NLL 0.706 nats/step (steps 8-31), "
        "accuracy 0.800"),
    "drum_q_logp": ShippedCheckpoint(
        "drum_q_logp.pt",
        "musiclab tune --model drums --rules none --epsilon 0.1 --episodes 8000 --seed 0 "
        "--out data/checkpoints/drum_q_logp.pt",
        "Q-network tuned from drum_cnn_fast by DQN on log p alone (drums preset, constant epsilon 0.1, "
        "8,000 grids started from 8-step openings of the training grids)"),
    "drum_q_groove": ShippedCheckpoint(
        "drum_q_groove.pt",
        "musiclab tune --model drums --rules groove --epsilon 0.1 --episodes 8000 --seed 0 "
        "--out data/checkpoints/drum_q_groove.pt",
        "Q-network tuned from drum_cnn_fast by DQN on log p + r_MT/0.25 with the 'groove' drum rules "
        "(constant epsilon 0.1, 8,000 grids started from 8-step openings of the training grids)"),
    "music_vae_cpu": ShippedCheckpoint(
        "music_vae_cpu.pt",
        "musiclab train music-vae --preset cpu --steps 4000 --seed 0 --out data/checkpoints/music_vae_cpu.pt",
        "MusicVAE, cpu preset (bi-LSTM 128 encoder read at all 32 steps, latent 32, 1 x 256 decoder, "
        "128 free bits), 4,000 Adam steps on Essen 2-bar windows; held-out reconstruction accuracy 0.964 "
        "(no teacher forcing), 0.952 on the test windows that never occur in training"),
    "music_vae_cpu_swap_wide": ShippedCheckpoint(
        "music_vae_cpu_swap_wide.pt", "musiclab train music-vae --preset cpu_swap_wide --steps 6000 --seed 0 "
        "--out data/checkpoints/music_vae_cpu_swap_wide.pt",
        "MusicVAE trained to keep its attribute vectors: AR-VAE dimensions 0, 1 plus interval and density swaps"),
}


def config_to_dict(config: Any) -> dict:
    """A dataclass config (or a dict, or None) as a plain dict of its fields."""
    if config is None:
        return {}
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    if isinstance(config, dict):
        return dict(config)
    raise BadParameterError(f"config must be a dataclass or a dict, got {type(config).__name__}")


def _check_plain(value: Any, where: str) -> None:
    """Raise BadParameterError unless ``value`` is plain data that weights_only loading accepts."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise BadParameterError(f"{where} has a key of type {type(key).__name__}; use str or int")
            _check_plain(item, f"{where}[{key!r}]")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
    elif not (isinstance(value, torch.Tensor) or type(value) in _SCALARS):
        raise BadParameterError(
            f"{where} is a {type(value).__name__}; checkpoints hold only tensors, numbers, "
            "strings, None, and lists/tuples/dicts of them")


def save_checkpoint(path, model: nn.Module, config: Any = None, extra: dict | None = None,
                    kind: str | None = None) -> Path:
    """Write ``model``'s weights, config (default ``model.config``) and ``extra`` to ``path`` atomically.

    The file appears complete or not at all (temp file + ``os.replace``). ``kind`` defaults
    to ``model.kind``. Returns the path.
    """
    path = Path(path)
    kind = kind or getattr(model, "kind", type(model).__name__.lower())
    payload = {
        "format": FORMAT,
        "kind": kind,
        "config": config_to_dict(config if config is not None else getattr(model, "config", None)),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "extra": dict(extra or {}),
    }
    _check_plain(payload["config"], "config")
    _check_plain(payload["extra"], "extra")
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def _first_line(error: BaseException) -> str:
    """``Type: first line`` of an exception, for one-line messages."""
    return f"{type(error).__name__}: {(str(error).strip().splitlines() or [''])[0]}"


def _read_archive(path: Path) -> bytes:
    """The bytes of ``path`` once they read as a zip whose CRCs all check out; BadFileError otherwise."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise BadFileError(f"checkpoint {path} cannot be read: {_first_line(error)}") from None
    if not data.startswith(b"PK\x03\x04"):
        found = "an empty file" if not data else f"a file starting {data[:12]!r}"
        raise BadFileError(f"{path} is not a musiclab checkpoint: it is {found}, not the zip archive "
                           "save_checkpoint writes")
    try:
        bad = zipfile.ZipFile(io.BytesIO(data)).testzip()
    except Exception as error:  # hostile bytes fail in many ways (BadZipFile, struct.error, zlib.error)
        raise BadFileError(f"{path} is a truncated or corrupt checkpoint: its zip archive does not read "
                           f"({_first_line(error)}); restore or rebuild it") from None
    if bad is not None:
        raise BadFileError(f"{path} is a corrupt checkpoint: its record {bad!r} fails its CRC check (the bytes "
                           "changed after saving); restore or rebuild it")
    return data


def _unpickle(path: Path, data: bytes) -> Any:
    """``torch.load(weights_only=True)`` of verified bytes; no code in the file ever runs."""
    try:
        return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        reason = next((line.split("error:", 1)[1].split(". ")[0].strip() for line in str(error).splitlines()
                       if "WeightsUnpickler error:" in line), _first_line(error))
        raise BadFileError(f"{path} is refused unloaded: it holds objects other than tensors and plain data, "
                           f"which could run code ({reason})") from None
    except Exception as error:  # a whole zip with a broken pickle fails in many ways (IndexError, KeyError)
        raise BadFileError(f"{path} is not a readable musiclab checkpoint: {_first_line(error)}") from None


def _check_payload(payload: Any, path: Path) -> None:
    """BadFileError unless ``payload`` has the layout ``save_checkpoint`` writes."""
    if not isinstance(payload, dict) or any(key not in payload for key in _KEYS):
        missing = [key for key in _KEYS if not isinstance(payload, dict) or key not in payload]
        raise BadFileError(f"{path} is not a musiclab checkpoint: missing {', '.join(missing)}")
    if not isinstance(payload["format"], int) or payload["format"] > FORMAT:
        raise BadFileError(
            f"{path} has checkpoint format {payload['format']!r}; this musiclab reads up to {FORMAT}")
    wanted = {"kind": str, "config": dict, "state_dict": dict, "extra": dict}
    parts = [(key, payload[key], kind) for key, kind in wanted.items()]
    parts += [(f"state_dict[{name!r}]", value, torch.Tensor) for name, value in payload["state_dict"].items()]
    for where, value, kind in parts:
        if not isinstance(value, kind):
            raise BadFileError(f"{path} is not a musiclab checkpoint: its {where} is a "
                               f"{type(value).__name__}, expected a {kind.__name__}")


def _describe(kind: str) -> str:
    """``'note_cnn' (Note-CNN: a drum model)``: a kind and what it holds, for messages."""
    return f"{kind!r} ({KIND_NAMES[kind]})" if kind in KIND_NAMES else repr(kind)


def _check_finite(payload: dict, path: Path) -> None:
    """BadFileError naming the first weight that holds NaN or infinite values."""
    for name, tensor in payload["state_dict"].items():
        if tensor.is_floating_point() or tensor.is_complex():
            bad = int((~torch.isfinite(tensor)).sum())
            if bad:
                raise BadFileError(
                    f"{path} holds a {_describe(payload['kind'])} checkpoint whose weight {name!r} has {bad} "
                    f"NaN or infinite value(s) of {tensor.numel()}; weights must be finite (retrain or restore it)")


def load_checkpoint(path, expected_kind: str | None = None) -> dict:
    """Read a checkpoint onto the CPU after checking it is whole; refuse anything that is not one.

    Checks, in order: the zip CRCs, ``torch.load(weights_only=True)`` (no code runs), the layout,
    the kind (a checkpoint of another kind than ``expected_kind`` raises CheckpointMismatchError)
    and finite weights. Every other failure raises BadFileError naming the file.
    """
    path = Path(path)
    if not path.is_file():
        raise BadFileError(f"checkpoint {path} does not exist" if not path.exists()
                           else f"checkpoint {path} is a folder, not a checkpoint file")
    payload = _unpickle(path, _read_archive(path))
    _check_payload(payload, path)
    if expected_kind is not None and payload["kind"] != expected_kind:
        raise CheckpointMismatchError(
            f"{path} holds a {_describe(payload['kind'])} checkpoint, expected {_describe(expected_kind)}")
    _check_finite(payload, path)
    return payload


def check_config(checkpoint: dict, config: Any, path) -> None:
    """Raise CheckpointMismatchError naming ``path`` and the first field where the stored config differs."""
    stored, wanted = checkpoint["config"], config_to_dict(config)
    for name in list(wanted) + [key for key in stored if key not in wanted]:
        if name not in stored:
            raise CheckpointMismatchError(f"{path}: config field {name!r} is missing from the checkpoint")
        if name not in wanted:
            raise CheckpointMismatchError(f"{path}: config field {name!r} is unknown to this model")
        if stored[name] != wanted[name]:
            raise CheckpointMismatchError(
                f"{path}: config field {name!r} is {stored[name]!r} in the checkpoint, "
                f"{wanted[name]!r} in the model")


def config_from_checkpoint(checkpoint: dict, config_class: type, path) -> Any:
    """Rebuild a ``config_class`` instance from a checkpoint's stored config dict.

    Unknown or invalid fields raise CheckpointMismatchError naming ``path`` and the field;
    fields the checkpoint lacks take their defaults.
    """
    stored = checkpoint["config"]
    names = {f.name for f in dataclasses.fields(config_class)}
    for name in stored:
        if name not in names:
            raise CheckpointMismatchError(
                f"{path}: config field {name!r} is unknown to {config_class.__name__} "
                f"(fields: {', '.join(sorted(names))})")
    try:
        return config_class(**stored)
    except (TypeError, ValueError, MusiclabError) as error:
        raise CheckpointMismatchError(f"{path}: stored config does not build a "
                                      f"{config_class.__name__}: {error}") from None


def load_weights(model: nn.Module, checkpoint: dict, path) -> None:
    """Copy the checkpoint's state_dict into ``model``; mismatched keys or shapes raise CheckpointMismatchError."""
    try:
        model.load_state_dict(checkpoint["state_dict"], strict=True)
    except RuntimeError as error:
        detail = " ".join(str(error).split())
        raise CheckpointMismatchError(f"{path}: weights do not fit {type(model).__name__}: {detail}") from None


def restore_weights(model: nn.Module, path) -> dict:
    """Load ``path`` into ``model`` after checking kind and config; return the checkpoint (with ``extra``)."""
    checkpoint = load_checkpoint(path, expected_kind=getattr(model, "kind", None))
    if getattr(model, "config", None) is not None:
        check_config(checkpoint, model.config, path)
    load_weights(model, checkpoint, path)
    return checkpoint


def shipped_path(name: str) -> Path:
    """The file of the shipped checkpoint ``name``; UnknownNameError lists the shipped names."""
    if name not in SHIPPED:
        valid = ", ".join(map(repr, SHIPPED)) or "none shipped yet"
        raise UnknownNameError(f"unknown shipped checkpoint {name!r}; valid: {valid}")
    entry = SHIPPED[name]
    path = CHECKPOINT_DIR / entry.file
    if not path.is_file():
        raise BadFileError(f"shipped checkpoint {name!r} is missing: {path}; rebuild it with: {entry.command}")
    return path


def _model_class(kind: str, path) -> type:
    if kind not in KINDS:
        raise CheckpointMismatchError(
            f"{path} holds a {kind!r} checkpoint; load_model knows: {', '.join(map(repr, KINDS))}")
    module, _, attribute = KINDS[kind].partition(":")
    return getattr(importlib.import_module(module), attribute)


def resolve_checkpoint(name_or_path) -> Path:
    """The file of a shipped checkpoint name or a checkpoint path; UnknownNameError for a bare
    name that is neither (it lists the shipped names)."""
    if isinstance(name_or_path, str) and name_or_path in SHIPPED:
        return shipped_path(name_or_path)
    path = Path(name_or_path)
    if not path.exists() and isinstance(name_or_path, str) and path.suffix == "" and len(path.parts) == 1:
        valid = ", ".join(map(repr, SHIPPED)) or "none shipped yet"
        raise UnknownNameError(f"{name_or_path!r} is neither a shipped checkpoint (valid: {valid}) nor a file")
    return path


def model_from_checkpoint(checkpoint: dict, path, device=None) -> nn.Module:
    """Rebuild the model a loaded checkpoint holds (class from ``KINDS``, shape from its config), in eval mode."""
    cls = _model_class(checkpoint["kind"], path)
    model = cls(config_from_checkpoint(checkpoint, cls.config_class, path))
    load_weights(model, checkpoint, path)
    return model.to(pick_device(None if device is None else str(device))).eval()


def load_model(name_or_path, device=None, expected_kind: str | None = None) -> nn.Module:
    """Rebuild a model (NoteRNN, NoteCNN, MusicVAE) from a shipped name or a checkpoint path, in eval mode.

    ``expected_kind`` (e.g. ``NoteCNN.kind``) refuses any other kind with CheckpointMismatchError.
    ``device`` defaults to ``runtime.pick_device()``. Used in notebooks 01-05.
    """
    path = resolve_checkpoint(name_or_path)
    return model_from_checkpoint(load_checkpoint(path, expected_kind), path, device)

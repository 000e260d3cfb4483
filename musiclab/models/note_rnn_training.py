"""Train a Note-RNN preset on a corpus and save it with its reproducing command (``musiclab train note-rnn``).

The shipped Note-RNNs of ``data/checkpoints`` (notebooks 01-03) are made by :func:`train_note_rnn`:
windows of a corpus split (``musiclab.models.melody_data.load_windows``), a ``note_rnn`` preset and a
``train`` preset with any fields overridden, one supervised loop (``musiclab.models.train.train``),
and a checkpoint whose ``extra`` holds the command, the configs, the data, the whole history and the
final validation figures. ``corpus`` is a built-in corpus or a folder of your own MIDI / ABC files;
under torchrun rank 0 builds the data cache first, trains with the others, and alone announces and saves.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Callable

import torch

from musiclab.checkpoints import save_checkpoint
from musiclab.errors import check_choice
from musiclab.models import distributed, note_rnn, train, train_config
from musiclab.models.melody_data import load_windows
from musiclab.runtime import check_output_path, seed_everything

def train_note_rnn(out_path, preset: str = "fast", corpus: str = "essen", *, seed: int = 0,
                   subset: str = "default", split_seed: int = 0, hop: int | None = None,
                   model_overrides: dict | None = None, train_overrides: dict | None = None,
                   device=None, quiet: bool = False, command: str = "",
                   announce: Callable[[str], None] | None = None) -> tuple[note_rnn.NoteRNN, dict]:
    """Train the Note-RNN ``preset`` on ``corpus`` and save it to ``out_path``; return the model and its
    validation figures (NLL in nats per step, accuracy). ``model_overrides`` / ``train_overrides``
    replace fields of the NoteRNNConfig / TrainConfig presets; ``command`` is stored as the reproducing
    command; ``announce`` (e.g. ``print``) gets the data and model summary before training starts;
    ``quiet`` hides the progress bars.
    """
    check_output_path(out_path, "checkpoint")
    check_choice("Note-RNN preset", preset, note_rnn.PRESETS)  # model shape and recipe share the name
    config = train_config.preset(preset, seed=seed, **(train_overrides or {}))
    with distributed.main_first(device):  # rank 0 builds the cache, the others read it
        data = load_windows(corpus, preset, window=config.window, hop=hop, subset=subset,
                            split_seed=split_seed, quiet=quiet or not distributed.is_main())
    model_config = note_rnn.preset(preset, **{"num_classes": data.num_classes, **(model_overrides or {})})
    seed_everything(seed)  # the initial weights; train() re-seeds for batches and dropout
    model = note_rnn.NoteRNN(model_config)
    if announce is not None and distributed.is_main():
        parameters = sum(p.numel() for p in model.parameters())
        announce(f"{data.summary()}\nNote-RNN {preset}: {parameters:,} parameters; "
                 f"{config.steps} steps of {config.batch_size} windows")
    history = train.train(model, data.train, data.valid, config, device=device, quiet=quiet)
    valid = {key: values[-1] for key, values in history.valid.items()}
    extra = {
        "command": command, "preset": preset, "train_config": asdict(config), "data": data.describe(),
        "valid": valid, "history": asdict(history), "seconds": history.seconds,
        "steps_per_second": history.steps_per_second, "torch": str(torch.__version__),
    }
    if data.vocabulary is not None:
        extra["vocabulary"] = list(data.vocabulary.tokens)
    if distributed.is_main():
        save_checkpoint(Path(out_path), model.cpu(), extra=extra)
    return model, {**valid, "steps": history.steps_done, "stop_reason": history.stop_reason,
                   "seconds": history.seconds, "steps_per_second": history.steps_per_second,
                   "report": data.report()}

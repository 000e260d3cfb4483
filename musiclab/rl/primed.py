"""Your tune, continued, tuned or morphed: the models' primer APIs behind one call each, and the
writing of the pieces as MIDI or MusicXML.

:func:`continue_tune` samples a Note-RNN (melodies) or the drum Note-CNN from a primer,
:func:`compose_tune` composes with a tuned Q-network from it, :func:`encode_tune` and
:func:`morph_tunes` send tunes through the MusicVAE. ``musiclab sample / compose / vae`` call these;
the "Your tune" cells of notebooks 01-05 call the models directly (``musiclab.widgets.your_tune``).
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from musiclab.checkpoints import load_checkpoint, load_model, resolve_checkpoint
from musiclab.data.chords import tokens_to_pretty_midi
from musiclab.data.drums import DRUM_CLASSES, GRID_STEPS, SILENCE, grid_to_pretty_midi
from musiclab.data.melody import event_names, to_pretty_midi
from musiclab.data.midi_files import MIDI_SUFFIXES
from musiclab.data.primer import DRUM_PRIMER_STEPS, Primer, parse_drums, read_drum_primer, read_primer
from musiclab.errors import BadParameterError, check_range
from musiclab.models.latent import interpolate
from musiclab.models.melody_data import load_trained
from musiclab.models.music_vae import MusicVAE
from musiclab.models.note_cnn import NoteCNN
from musiclab.notation import MUSICXML_SUFFIXES, musicxml_bytes
from musiclab.rl.compose import compose
from musiclab.rl.drum_tuning import compose_drums
from musiclab.rl.tuner import load_q_network
from musiclab.runtime import atomic_write_bytes, check_output_path


@dataclass
class Pieces:
    """Generated pieces ``rows`` int64 [n, T] of ``kind`` 'melody', 'drums' or 'tokens' (notes and
    chords, with their ``vocabulary``), and readable ``notes`` on the primer used (none without one)."""

    rows: np.ndarray
    kind: str = "melody"
    vocabulary: object = None
    notes: tuple[str, ...] = ()


def piece_paths(out: str | os.PathLike, n: int, kind: str = "melody") -> list[Path]:
    """The files ``n`` pieces are written to: ``out`` itself, or OUT-0, OUT-1, ... for ``n`` > 1; checked
    before any work. MIDI (.mid/.midi) for any kind; MusicXML (.musicxml/.xml) for melodies only."""
    out = check_output_path(out, "output")
    suffix = out.suffix.lower()
    allowed = MIDI_SUFFIXES + (MUSICXML_SUFFIXES if kind == "melody" else ())
    if suffix not in allowed:
        what = "MIDI or MusicXML" if kind == "melody" else f"MIDI ({kind} have no score here)"
        raise BadParameterError(f"{out} must end in {', '.join(allowed)} (writes {what})")
    return [out] if n == 1 else [out.with_name(f"{out.stem}-{i}{out.suffix}") for i in range(n)]


def write_piece(row, path: str | os.PathLike, tempo_bpm: float = 120.0, kind: str = "melody",
                vocabulary=None) -> Path:
    """Write one piece atomically (a file appears complete or not at all) as MIDI or, for a melody
    whose ``path`` ends in .musicxml/.xml, as MusicXML."""
    path = Path(path)
    if path.suffix.lower() in MUSICXML_SUFFIXES and kind == "melody":
        return atomic_write_bytes(path, musicxml_bytes(row, tempo_bpm))
    if kind == "drums":
        pm = grid_to_pretty_midi(row, tempo_bpm)
    elif kind == "tokens":
        pm = tokens_to_pretty_midi(vocabulary.decode(row), tempo_bpm=tempo_bpm)
    else:
        pm = to_pretty_midi(row, tempo_bpm=tempo_bpm)
    buffer = io.BytesIO()
    pm.write(buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def write_pieces(pieces: Pieces, out: str | os.PathLike, tempo_bpm: float = 120.0) -> list[str]:
    """Write ``pieces`` to ``out`` (OUT-0, OUT-1, ... for several; see :func:`piece_paths`), each as MIDI or
    MusicXML by its ending; return readable lines: the primer notes, then each file and its first 16 steps."""
    lines = list(pieces.notes)
    for row, path in zip(pieces.rows, piece_paths(out, len(pieces.rows), pieces.kind)):
        write_piece(row, path, tempo_bpm, pieces.kind, pieces.vocabulary)
        shown = (event_names(row[:16]) if pieces.kind == "melody" else pieces.vocabulary.decode(row[:16])
                 if pieces.kind == "tokens" else ["." if c == SILENCE else DRUM_CLASSES[c] for c in row[:16]])
        lines.append(f"wrote {path}: {' '.join(shown)} ...")
    return lines


def _melody_primer(primer) -> tuple[np.ndarray | None, tuple[str, ...]]:
    if primer is None:
        return None, ()
    primer = primer if isinstance(primer, Primer) else read_primer(primer)
    return primer.events, (primer.describe(),)


def _drum_primer(primer, steps: int) -> tuple[np.ndarray | None, tuple[str, ...]]:
    if primer is None:
        return None, ()
    if isinstance(primer, os.PathLike) or Path(str(primer)).suffix.lower() in MIDI_SUFFIXES:
        grid = read_drum_primer(primer, steps)
        return grid, (f"primer from drum MIDI file {Path(primer).name}: its first {len(grid)} steps",)
    if isinstance(primer, str):
        grid = parse_drums(primer)
        return grid, (f"typed drum primer: {len(grid)} steps",)
    return np.asarray(primer), ()


def _drum_length(length: int | None) -> int:
    if length not in (None, GRID_STEPS):
        raise BadParameterError(f"drum grids are {GRID_STEPS} steps (2 bars); got length={length}")
    return GRID_STEPS


def continue_tune(model: str | os.PathLike, n: int = 1, length: int | None = None, temperature: float | None = None,
                  seed: int | None = 0, primer=None, primer_steps: int = DRUM_PRIMER_STEPS) -> Pieces:
    """Sample ``n`` pieces from a Note-RNN (shipped name or file; ``length`` default 128 events) or the
    drum Note-CNN (32 steps), each starting with ``primer`` exactly: typed notes, a MIDI or ABC file or a
    Primer for melodies; a drum MIDI file (its first ``primer_steps``) or typed drums for drums. ``temperature`` default 1.
    Same seed, same music."""
    temperature = 1.0 if temperature is None else temperature
    if load_checkpoint(resolve_checkpoint(model))["kind"] == NoteCNN.kind:
        cnn = load_model(model, device="cpu", expected_kind=NoteCNN.kind)
        grid, notes = _drum_primer(primer, primer_steps)
        rows = cnn.sample(n, _drum_length(length), temperature, primer=grid, seed=seed)
        return Pieces(rows.numpy(), "drums", None, notes)
    trained = load_trained(model, device="cpu", expected_kind="note_rnn")
    if trained.vocabulary is not None and primer is not None:
        raise BadParameterError(f"{model} is a notes-and-chords model; primers are melodies, for melody models")
    events, notes = _melody_primer(primer)
    rows = trained.model.sample(n, 128 if length is None else length, temperature, primer=events, seed=seed)
    return Pieces(rows.numpy(), "melody" if trained.vocabulary is None else "tokens", trained.vocabulary, notes)


def compose_tune(q_network: str | os.PathLike, n: int = 1, length: int | None = None,
                 temperature: float | None = None, epsilon: float = 0.0, seed: int | None = 0, primer=None,
                 primer_steps: int = DRUM_PRIMER_STEPS) -> Pieces:
    """Compose ``n`` pieces with a tuned Q-network (shipped name such as 'rl_tuner_dqn' or 'drum_q_groove',
    or a file) from ``primer``: melodies sample the policy at ``temperature`` (default 1; ``length``
    default 32); drum grids are greedy with ``epsilon`` exploration (no temperature). Same seed, same music."""
    q_net = load_q_network(q_network, device="cpu")
    if q_net.config.base_kind == NoteCNN.kind:
        if temperature is not None:
            raise BadParameterError("drum compositions are greedy (argmax Q) with --epsilon exploration; "
                                    "temperature is for melodies")
        grid, notes = _drum_primer(primer, primer_steps)
        rows = compose_drums(q_net, grid, n, _drum_length(length), epsilon, seed=seed)
        return Pieces(rows.numpy(), "drums", None, notes)
    events, notes = _melody_primer(primer)
    rows = compose(q_net, n, 32 if length is None else length, epsilon=epsilon, seed=seed,
                   temperature=1.0 if temperature is None else temperature, primer=events)
    return Pieces(rows.numpy(), "melody", None, notes)


def _vae_window(vae: MusicVAE, primer) -> tuple[np.ndarray, tuple[str, ...]]:
    primer = primer if isinstance(primer, Primer) else read_primer(primer)
    window, change = primer.window(vae.config.seq_len)
    return window, (primer.describe(),) + ((change,) if change else ())


def encode_tune(vae: str | os.PathLike, primer) -> tuple[np.ndarray, Pieces]:
    """Encode your tune (its first ``seq_len`` = 32 steps, padded with a rest when shorter) with a MusicVAE:
    the posterior mean z [z_size], and the tune decoded back from z (argmax) as Pieces [1, seq_len]."""
    model = load_model(vae, device="cpu", expected_kind=MusicVAE.kind)
    window, notes = _vae_window(model, primer)
    with torch.no_grad():
        mu, _ = model.encode(window)
    back = model.decode(mu).numpy()
    same = float((back[0] == window).mean())
    return mu[0].cpu().numpy(), Pieces(back, "melody", None, notes + (f"decoded back: {same:.0%} of steps as "
                                                                       "written",))


def morph_tunes(vae: str | os.PathLike, primer_a, primer_b, steps: int = 5, method: str = "slerp") -> Pieces:
    """``steps`` melodies [steps, seq_len] walking through a MusicVAE's latent space from tune A to tune B
    (``method`` 'slerp' or 'lerp'; decoded argmax): the first decodes A, the last B (notebook 04)."""
    check_range("steps", steps, 2)
    model = load_model(vae, device="cpu", expected_kind=MusicVAE.kind)
    (a, notes_a), (b, notes_b) = _vae_window(model, primer_a), _vae_window(model, primer_b)
    rows = interpolate(model, a, b, int(steps), method=method)
    return Pieces(rows.numpy(), "melody", None, notes_a + notes_b)

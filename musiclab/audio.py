"""Sound: render MIDI, melodies, drum grids and tokens to audio; inline players; MIDI and WAV files.

Rendering goes through libfluidsynth (via pyfluidsynth) and a General MIDI SoundFont. The
default SoundFont is the small TimGM6mb.sf2 inside the pretty_midi wheel; Debian's
``fluid-soundfont-gm`` (FluidR3_GM.sf2) sounds better when installed — see
:func:`available_soundfonts`. When libfluidsynth is missing, a simple additive synth (sine
partials with envelopes; drums as noise bursts and pitch sweeps) stands in, with a warning that
says how to install libfluidsynth, so notebooks still run.

Rendering is deterministic: a fresh synthesizer per call, float output (no dither), so the
same input always gives the same samples — committed notebook outputs rely on it.
Used by every notebook, first in ``00_data_and_sound``.
"""
from __future__ import annotations

import math
import os
import sys
import uuid
import warnings
import wave
from pathlib import Path

import numpy as np

from musiclab.errors import BadFileError, BadParameterError, MusiclabError, check_choice, check_range

#: Sample rate of notebook players (Hz): small enough to keep committed notebooks light.
DEFAULT_SAMPLE_RATE = 22050
#: Sample rates libfluidsynth accepts (Hz).
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 96000
#: Longest clip a player embeds by default (seconds).
DEFAULT_MAX_SECONDS = 15.0
#: ``engine`` choices: fluidsynth when available ("auto"), always fluidsynth, or the simple synth.
ENGINES = ("auto", "fluidsynth", "simple")
#: How to get libfluidsynth, quoted in the warning and errors.
INSTALL_HINT = (
    "install libfluidsynth: `sudo apt-get install libfluidsynth3` (Debian/Ubuntu), "
    "`conda install -c conda-forge fluidsynth`, or `brew install fluid-synth` (macOS)"
)
#: Folders searched for ``*.sf2`` SoundFonts besides the one inside pretty_midi: Debian's,
#: other distributions', this Python environment's (conda) and the user's.
SOUNDFONT_DIRS = (
    Path("/usr/share/sounds/sf2"),
    Path("/usr/share/soundfonts"),
    Path("/usr/local/share/soundfonts"),
    Path(sys.prefix) / "share" / "soundfonts",
    Path.home() / ".local" / "share" / "soundfonts",
)
#: Seconds rendered after the last note ends, so releases and reverb die away.
RELEASE_SECONDS = 1.0
#: Peak level of normalised audio (a little headroom below full scale).
PEAK_LEVEL = 0.9
#: Peak below which a rendering counts as silent (FluidSynth's reverb leaves ~1e-8 of noise).
SILENCE_FLOOR = 1e-5
#: Level, relative to the peak, below which trailing audio counts as silence (-50 dB).
SILENCE_RATIO = 10 ** (-50 / 20)


# ----------------------------------------------------------------------------- SoundFonts

def default_soundfont() -> Path:
    """Path of the TimGM6mb.sf2 General MIDI SoundFont that ships inside the pretty_midi wheel."""
    from importlib.resources import files

    return Path(str(files("pretty_midi") / "TimGM6mb.sf2"))


def available_soundfonts() -> list[Path]:
    """All General MIDI SoundFonts found on this machine, the default first.

    Looks inside pretty_midi and in :data:`SOUNDFONT_DIRS`; a file name already listed (a
    symlink or another copy, e.g. Debian's TimGM6mb.sf2) is listed once. Pass one, or its
    name (e.g. ``"FluidR3_GM"``), as ``soundfont=`` to any render function. Notebook
    ``00_data_and_sound`` lists them.
    """
    found: list[Path] = []
    seen: set[str] = set()
    candidates = [default_soundfont()]
    for folder in SOUNDFONT_DIRS:
        if folder.is_dir():
            candidates.extend(sorted(folder.glob("*.sf2")))
    for path in candidates:
        if not path.is_file():
            continue
        key = path.resolve().name.lower()
        if key not in seen:
            seen.add(key)
            found.append(path)
    return found


def resolve_soundfont(soundfont: str | os.PathLike | None) -> Path:
    """Turn ``soundfont`` (None, a path, or a name such as ``"FluidR3_GM"``) into a checked .sf2 path.

    Raises :class:`BadFileError` naming the SoundFont when it is missing or not a SoundFont.
    """
    if soundfont is None:
        path = default_soundfont()
    else:
        path = Path(soundfont).expanduser()
        if not path.exists() and path.parent == Path("."):
            wanted = path.name.lower().removesuffix(".sf2")
            matches = [p for p in available_soundfonts() if p.stem.lower() == wanted]
            if matches:
                path = matches[0]
    if not path.is_file():
        names = ", ".join(p.stem for p in available_soundfonts()) or "none"
        raise BadFileError(
            f"SoundFont {str(soundfont)!r} not found; give a path to an .sf2 file or one of: {names}"
        )
    with open(path, "rb") as handle:
        header = handle.read(12)
    if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"sfbk":
        raise BadFileError(f"SoundFont {str(path)!r} is not a SoundFont 2 (.sf2) file")
    return path


# ----------------------------------------------------------------------------- checks and files

def check_sample_rate(sample_rate: int) -> int:
    """Return ``sample_rate`` as an int if it is a whole number of Hz in [8000, 96000]."""
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
        raise BadParameterError(
            f"sample_rate must be an integer number of Hz in [{MIN_SAMPLE_RATE}, {MAX_SAMPLE_RATE}], "
            f"got {sample_rate!r}"
        )
    return int(check_range("sample_rate", int(sample_rate), MIN_SAMPLE_RATE, MAX_SAMPLE_RATE))


def load_midi(path: str | os.PathLike):
    """Read a MIDI file into a ``pretty_midi.PrettyMIDI``; :class:`BadFileError` naming it if unreadable."""
    import pretty_midi

    path = Path(path)
    if not path.is_file():
        raise BadFileError(f"MIDI file {str(path)!r} not found")
    if path.stat().st_size == 0:
        raise BadFileError(f"MIDI file {str(path)!r} is empty")
    try:
        return pretty_midi.PrettyMIDI(str(path))
    except Exception as exc:  # mido and pretty_midi raise many types on corrupt files
        raise BadFileError(f"MIDI file {str(path)!r} is not a readable MIDI file: {exc}") from exc


def _atomic_target(path: str | os.PathLike, suffixes: tuple[str, ...], what: str) -> Path:
    """Check the suffix of an output ``path`` and create its folder."""
    path = Path(path).expanduser()
    if path.suffix.lower() not in suffixes:
        raise BadParameterError(f"{what} path {str(path)!r} must end in one of {', '.join(suffixes)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _write_atomically(path: Path, write) -> Path:
    """Call ``write(temp_path)`` on a temporary file next to ``path``, then move it into place."""
    temp = str(path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"))
    try:
        write(temp)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    return path


def export_midi(pm_or_events, path: str | os.PathLike, tempo_bpm: float = 120.0, program: int = 0) -> Path:
    """Write a PrettyMIDI, or encoded melody events (1-D ints), to a ``.mid`` file atomically.

    ``tempo_bpm`` and ``program`` (General MIDI, 0 = piano) apply to melody events only.
    Returns the path written. Notebooks 01–07 export their results with it.
    """
    import pretty_midi

    pm = pm_or_events
    if not isinstance(pm, pretty_midi.PrettyMIDI):
        pm = _melody_pm(pm_or_events, tempo_bpm, program)
    target = _atomic_target(path, (".mid", ".midi"), "MIDI")
    return _write_atomically(target, lambda temp: pm.write(temp))


def write_wav(audio: np.ndarray, path: str | os.PathLike, sample_rate: int = DEFAULT_SAMPLE_RATE) -> Path:
    """Write mono float audio ([n] samples in [-1, 1]; louder parts are clipped) as a 16-bit WAV.

    Atomic (temporary file, then rename). Used by ``musiclab render IN.mid OUT.wav``.
    """
    sample_rate = check_sample_rate(sample_rate)
    samples = _check_audio(audio)
    pcm = np.round(np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    target = _atomic_target(path, (".wav",), "WAV")

    def write(temp: str) -> None:
        with wave.open(temp, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(sample_rate)
            out.writeframes(pcm.tobytes())

    return _write_atomically(target, write)


def render_midi_file(midi_path: str | os.PathLike, wav_path: str | os.PathLike,
                     sample_rate: int = 44100, soundfont: str | os.PathLike | None = None,
                     engine: str = "auto") -> Path:
    """Render a MIDI file to a 16-bit mono WAV file; returns the WAV path (``musiclab render``)."""
    audio = synthesize(load_midi(midi_path), sample_rate, soundfont, engine=engine)
    return write_wav(audio, wav_path, sample_rate)


def _check_audio(audio) -> np.ndarray:
    """Return ``audio`` as a finite 1-D float array, or raise :class:`BadParameterError`."""
    samples = np.asarray(audio)
    if samples.ndim != 1 or not np.issubdtype(samples.dtype, np.floating):
        raise BadParameterError(
            f"audio must be a 1-D float array of mono samples, got dtype {samples.dtype} "
            f"and shape {samples.shape}"
        )
    if not np.all(np.isfinite(samples)):
        raise BadParameterError("audio contains NaN or infinite samples")
    return samples


# ----------------------------------------------------------------------------- synthesis

def _import_fluidsynth():
    """Import pyfluidsynth; raises ImportError when it or libfluidsynth is missing."""
    import fluidsynth

    return fluidsynth


def _fluidsynth_or_none(engine: str):
    """The pyfluidsynth module, or None (with a warning) when it cannot load and engine is auto."""
    try:
        return _import_fluidsynth()
    except (ImportError, OSError) as exc:
        if engine == "fluidsynth":
            raise MusiclabError(f"engine='fluidsynth' needs libfluidsynth ({exc}); {INSTALL_HINT}") from exc
        warnings.warn(
            f"FluidSynth is not available ({exc}); playing with musiclab's simple synth instead. "
            f"For real instrument sounds, {INSTALL_HINT}.",
            RuntimeWarning,
            stacklevel=_user_stacklevel(),
        )
        return None


def _user_stacklevel() -> int:
    """The ``stacklevel`` that points a warning at the first caller outside musiclab."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("musiclab"):
        frame, level = frame.f_back, level + 1
    return level


def synthesize(pm, sample_rate: int = DEFAULT_SAMPLE_RATE, soundfont: str | os.PathLike | None = None,
               *, engine: str = "auto", max_seconds: float | None = None,
               normalize: bool = True) -> np.ndarray:
    """Render a PrettyMIDI (or a MIDI file path) to mono audio: float32 array [n] in [-1, 1].

    n = ceil((end of last note + 1 s release) × sample_rate), or ``max_seconds`` × sample_rate
    when that is shorter. ``engine``: "auto" (FluidSynth, else the simple synth with a warning),
    "fluidsynth" or "simple". With ``normalize`` the peak is scaled to 0.9. Deterministic.
    """
    import pretty_midi

    if isinstance(pm, (str, os.PathLike)):
        pm = load_midi(pm)
    if not isinstance(pm, pretty_midi.PrettyMIDI):
        raise BadParameterError(
            f"synthesize needs a pretty_midi.PrettyMIDI or a MIDI file path, got {type(pm).__name__}; "
            "use melody_audio / drums_audio / tokens_audio for encoded sequences"
        )
    sample_rate = check_sample_rate(sample_rate)
    check_choice("engine", engine, ENGINES)
    path = resolve_soundfont(soundfont)
    seconds = pm.get_end_time() + RELEASE_SECONDS
    if max_seconds is not None:
        seconds = min(seconds, check_range("max_seconds", max_seconds, 0.0, low_open=True))
    length = int(math.ceil(seconds * sample_rate))
    module = None if engine == "simple" else _fluidsynth_or_none(engine)
    if module is None:
        audio = _render_simple(pm, sample_rate, length)
    else:
        audio = _render_fluidsynth(module, pm, sample_rate, length, path)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak < SILENCE_FLOOR:
        audio = np.zeros_like(audio)
    elif normalize:
        audio = audio * (PEAK_LEVEL / peak)
    return np.clip(audio, -1.0, 1.0).astype(np.float32)


def _render_fluidsynth(fluidsynth, pm, sample_rate: int, length: int, soundfont: Path) -> np.ndarray:
    """Play every instrument of ``pm`` on its own channel of a fresh synth; mono float64 [length]."""
    from ctypes import c_int, c_void_p

    write_float = fluidsynth.cfunc(
        "fluid_synth_write_float", c_int, ("synth", c_void_p, 1), ("len", c_int, 1),
        ("lout", c_void_p, 1), ("loff", c_int, 1), ("lincr", c_int, 1),
        ("rout", c_void_p, 1), ("roff", c_int, 1), ("rincr", c_int, 1),
    )
    synth = fluidsynth.Synth(samplerate=float(sample_rate))
    try:
        sfid = synth.sfload(str(soundfont))
        if sfid < 0:
            raise BadFileError(f"SoundFont {str(soundfont)!r} could not be loaded by FluidSynth")
        events = []  # (time, order, action, args): note-offs first, then controls, then note-ons
        for channel, inst in enumerate(pm.instruments):
            bank = 128 if inst.is_drum else 0
            if synth.program_select(channel, sfid, bank, inst.program) < 0:
                synth.program_select(channel, sfid, bank, 0)
            for note in inst.notes:
                events.append((note.start, 2, synth.noteon, (channel, note.pitch, note.velocity)))
                events.append((note.end, 0, synth.noteoff, (channel, note.pitch)))
            for bend in inst.pitch_bends:
                events.append((bend.time, 1, synth.pitch_bend, (channel, bend.pitch)))
            for change in inst.control_changes:
                events.append((change.time, 1, synth.cc, (channel, change.number, change.value)))
        events.sort(key=lambda event: (event[0], event[1]))
        left = np.zeros(length, dtype=np.float32)
        right = np.zeros(length, dtype=np.float32)
        done = 0
        for time, _, action, args in events:
            at = min(length, int(round(time * sample_rate)))
            if at > done:
                write_float(synth.synth, at - done, left.ctypes.data, done, 1, right.ctypes.data, done, 1)
                done = at
            if done >= length:
                break
            action(*args)
        if done < length:
            write_float(synth.synth, length - done, left.ctypes.data, done, 1, right.ctypes.data, done, 1)
    finally:
        synth.delete()
    return (left.astype(np.float64) + right) / 2


# The simple synth: what plays when libfluidsynth is missing. Pitched notes are a few decaying
# sine partials under an attack/decay/release envelope; drums (General MIDI key numbers) are
# filtered noise bursts and falling sine sweeps.
_PARTIALS = ((1, 1.0), (2, 0.45), (3, 0.25), (4, 0.12))  # (harmonic number, amplitude)
_ATTACK, _DECAY, _SUSTAIN, _RELEASE = 0.01, 0.25, 0.45, 0.12  # seconds, seconds, level, seconds
_KICKS, _SNARES, _TOMS = {35, 36}, {37, 38, 39, 40}, {41: 80, 43: 95, 45: 115, 47: 135, 48: 160, 50: 190}
# Hi-hats (closed, pedal, open) and cymbals (crashes, rides): (decay time constant in s, level).
_HATS = {42: (0.02, 0.25), 44: (0.02, 0.2), 46: (0.15, 0.1)}
_CYMBALS = {49: (0.5, 0.17), 52: (0.5, 0.17), 55: (0.35, 0.17), 57: (0.5, 0.17),
            51: (0.3, 0.08), 53: (0.3, 0.1), 59: (0.3, 0.08)}


def _render_simple(pm, sample_rate: int, length: int) -> np.ndarray:
    """Mix every note of ``pm`` with the simple synth; mono float64 [length]. Ignores bends and CCs."""
    out = np.zeros(length)
    drum_hits: dict[int, np.ndarray] = {}
    for inst in pm.instruments:
        for note in inst.notes:
            start = int(round(note.start * sample_rate))
            if start >= length:
                continue
            if inst.is_drum:
                if note.pitch not in drum_hits:
                    drum_hits[note.pitch] = _drum_hit(note.pitch, sample_rate)
                sound = drum_hits[note.pitch]
            else:
                sound = _tone(note.pitch, note.end - note.start, sample_rate)
            sound = sound[: length - start] * (note.velocity / 127)
            out[start:start + sound.size] += sound
    return out


def _tone(pitch: int, seconds: float, sample_rate: int) -> np.ndarray:
    """One pitched note held for ``seconds`` plus its release: decaying sine partials, float64."""
    held = max(1, int(round(seconds * sample_rate)))
    t = np.arange(held + int(5 * _RELEASE * sample_rate)) / sample_rate
    frequency = 440.0 * 2 ** ((pitch - 69) / 12)
    wave_ = np.zeros_like(t)
    for harmonic, amplitude in _PARTIALS:
        if harmonic * frequency < 0.45 * sample_rate:
            decay = np.exp(-t * 1.5 * (harmonic - 1))  # upper partials fade first, like a struck string
            wave_ += amplitude * decay * np.sin(2 * np.pi * harmonic * frequency * t)
    envelope = np.minimum(t / _ATTACK, 1.0) * (_SUSTAIN + (1 - _SUSTAIN) * np.exp(-t / _DECAY))
    envelope[held:] = envelope[held - 1] * np.exp(-(t[held:] - t[held - 1]) / _RELEASE)
    return 0.3 * wave_ * envelope


def _drum_hit(pitch: int, sample_rate: int) -> np.ndarray:
    """One hit of General MIDI drum key ``pitch``: noise bursts and sine sweeps, float64.

    The noise is seeded by the key number, so every hit of a drum is the same (deterministic).
    """
    noise_source = np.random.default_rng(pitch)

    def noise(seconds: float, low: float, high: float | None) -> tuple[np.ndarray, np.ndarray]:
        """Noise with only the frequencies in [low, high] Hz (zeroed FFT bins), unit RMS."""
        t = np.arange(int(seconds * sample_rate)) / sample_rate
        spectrum = np.fft.rfft(noise_source.standard_normal(t.size))
        freqs = np.fft.rfftfreq(t.size, 1 / sample_rate)
        low = min(low, 0.3 * sample_rate)  # keep some band below Nyquist at low sample rates
        spectrum[(freqs < low) | (freqs > (high or sample_rate))] = 0
        band = np.fft.irfft(spectrum, n=t.size)
        return t, band / max(float(np.sqrt(np.mean(band ** 2))), 1e-12)

    def sweep(seconds: float, low: float, high: float, bend: float) -> tuple[np.ndarray, np.ndarray]:
        t = np.arange(int(seconds * sample_rate)) / sample_rate
        frequency = low + (high - low) * np.exp(-t / bend)
        return t, np.sin(2 * np.pi * np.cumsum(frequency) / sample_rate)

    if pitch in _KICKS:
        t, body = sweep(0.4, 45.0, 150.0, 0.035)
        return 0.7 * body * np.exp(-t / 0.12)
    if pitch in _SNARES:
        t, rattle = noise(0.25, 1500.0, 6000.0)
        _, body = sweep(0.25, 180.0, 240.0, 0.02)
        return 0.5 * rattle * np.exp(-t / 0.06) + 0.4 * body * np.exp(-t / 0.05)
    if pitch in _TOMS:
        base = float(_TOMS[pitch])
        t, body = sweep(0.45, base, 1.6 * base, 0.04)
        return 0.7 * body * np.exp(-t / 0.15)
    if pitch in _HATS:
        tau, level = _HATS[pitch]
        t, hiss = noise(6 * tau, 7000.0, None)
        return level * hiss * np.exp(-t / tau)
    if pitch in _CYMBALS:
        tau, level = _CYMBALS[pitch]
        t, hiss = noise(5 * tau, 4000.0, None)
        return level * hiss * np.exp(-t / tau)
    t, click = noise(0.12, 2000.0, 5000.0)  # any other percussion: a short woody click
    return 0.3 * click * np.exp(-t / 0.025)


# ----------------------------------------------------------------------------- encoded sequences

def _as_sequence(values, name: str) -> np.ndarray:
    """A list, NumPy array or torch tensor of ints as a 1-D int64 array."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
        raise BadParameterError(
            f"{name} must be a 1-D sequence of integers, got dtype {array.dtype} and shape {array.shape}"
            + ("; pass one row, e.g. batch[0]" if array.ndim == 2 else "")
        )
    return array.astype(np.int64)


def _melody_pm(events, tempo_bpm: float, program: int):
    """A PrettyMIDI of encoded melody events (1-D ints, a list, array or tensor)."""
    from musiclab.data.melody import to_pretty_midi

    return to_pretty_midi(_as_sequence(events, "events"), tempo_bpm=tempo_bpm, program=program)


def melody_audio(events, sample_rate: int = DEFAULT_SAMPLE_RATE, tempo_bpm: float = 120.0,
                 program: int = 0, soundfont: str | os.PathLike | None = None,
                 engine: str = "auto") -> np.ndarray:
    """Render encoded melody events (1-D ints, one per 16th step) to float32 audio [n] (notebooks 01–04)."""
    pm = _melody_pm(events, tempo_bpm, program)
    return synthesize(pm, sample_rate, soundfont, engine=engine)


def drums_audio(grid, sample_rate: int = DEFAULT_SAMPLE_RATE, tempo_bpm: float = 100.0,
                soundfont: str | os.PathLike | None = None, engine: str = "auto") -> np.ndarray:
    """Render a 2-bar drum grid (32 class indices) to float32 audio [n] (notebook 05)."""
    from musiclab.data.drums import grid_to_pretty_midi

    pm = grid_to_pretty_midi(_as_sequence(grid, "grid"), tempo_bpm=tempo_bpm)
    return synthesize(pm, sample_rate, soundfont, engine=engine)


def _tokens_pm(tokens, vocab, tempo_bpm: float, step_quarters: float, program: int):
    """A PrettyMIDI of notes-and-chords tokens: strings, or indices decoded with ``vocab``."""
    from musiclab.data.chords import tokens_to_pretty_midi

    if vocab is not None:
        tokens = vocab.decode(_as_sequence(tokens, "tokens").tolist())
    elif isinstance(tokens, str) or not all(isinstance(token, str) for token in tokens):
        raise BadParameterError("tokens must be a list of token strings such as ['C4', 'C4.E4.G4'], "
                                "or indices together with their vocab")
    return tokens_to_pretty_midi(list(tokens), step_quarters=step_quarters, tempo_bpm=tempo_bpm,
                                 program=program)


def tokens_audio(tokens, vocab=None, sample_rate: int = DEFAULT_SAMPLE_RATE, tempo_bpm: float = 120.0,
                 step_quarters: float = 0.5, program: int = 0, soundfont: str | os.PathLike | None = None,
                 engine: str = "auto") -> np.ndarray:
    """Render notes-and-chords tokens to float32 audio [n], each token ``step_quarters`` long.

    ``tokens``: indices (1-D ints) with their ``vocab`` (a ``chords.Vocabulary``), or token
    strings ("E4", "C4.E4.G4") with ``vocab=None``. Notebooks 01–02 (classic LSTM).
    """
    pm = _tokens_pm(tokens, vocab, tempo_bpm, step_quarters, program)
    return synthesize(pm, sample_rate, soundfont, engine=engine)


# ----------------------------------------------------------------------------- players

def prepare_clip(audio: np.ndarray, sample_rate: int,
                 max_seconds: float | None = DEFAULT_MAX_SECONDS) -> np.ndarray:
    """Make audio ready to embed: trim trailing silence, cap at ``max_seconds`` (with a 50 ms
    fade-out), normalise the peak to 0.9. Returns float32 [m], m <= len(audio)."""
    sample_rate = check_sample_rate(sample_rate)
    samples = _check_audio(audio).astype(np.float64)
    peak = float(np.abs(samples).max()) if samples.size else 0.0
    if peak > 0:
        loud = np.flatnonzero(np.abs(samples) > peak * SILENCE_RATIO)
        samples = samples[: min(samples.size, loud[-1] + 1 + int(0.05 * sample_rate))]
    if max_seconds is not None:
        limit = int(check_range("max_seconds", max_seconds, 0.0, low_open=True) * sample_rate)
        if samples.size > limit:
            samples = samples[:limit].copy()
            fade = min(limit, int(0.05 * sample_rate))
            samples[limit - fade:] *= np.linspace(1.0, 0.0, fade)
    peak = float(np.abs(samples).max()) if samples.size else 0.0
    if peak > 0:
        samples = samples * (PEAK_LEVEL / peak)
    return samples.astype(np.float32)


def player(audio_or_pm, sample_rate: int = DEFAULT_SAMPLE_RATE,
           max_seconds: float | None = DEFAULT_MAX_SECONDS,
           soundfont: str | os.PathLike | None = None, engine: str = "auto"):
    """An inline ``IPython.display.Audio`` player for float audio [n] at ``sample_rate``, a PrettyMIDI,
    or a MIDI file path; trimmed, capped at ``max_seconds`` and peak-normalised (every notebook)."""
    from IPython.display import Audio

    sample_rate = check_sample_rate(sample_rate)
    if hasattr(audio_or_pm, "detach"):  # a torch tensor of samples
        audio_or_pm = audio_or_pm.detach().cpu().numpy()
    if isinstance(audio_or_pm, np.ndarray):
        if np.issubdtype(audio_or_pm.dtype, np.integer):
            raise BadParameterError("player got an integer array; for encoded melodies, drum grids or "
                                    "tokens use play_melody / play_drums / play_tokens")
        audio = audio_or_pm
    else:
        audio = synthesize(audio_or_pm, sample_rate, soundfont, engine=engine,
                           max_seconds=None if max_seconds is None else max_seconds + RELEASE_SECONDS)
    clip = prepare_clip(audio, sample_rate, max_seconds)
    return Audio(clip, rate=sample_rate, normalize=False)


def play_melody(events, tempo_bpm: float = 120.0, program: int = 0, sample_rate: int = DEFAULT_SAMPLE_RATE,
                max_seconds: float | None = DEFAULT_MAX_SECONDS, soundfont: str | os.PathLike | None = None,
                engine: str = "auto"):
    """Inline player for encoded melody events (1-D ints; notebooks 01–04)."""
    pm = _melody_pm(events, tempo_bpm, program)
    return player(pm, sample_rate, max_seconds, soundfont, engine)


def play_drums(grid, tempo_bpm: float = 100.0, sample_rate: int = DEFAULT_SAMPLE_RATE,
               max_seconds: float | None = DEFAULT_MAX_SECONDS, soundfont: str | os.PathLike | None = None,
               engine: str = "auto"):
    """Inline player for a 2-bar drum grid (32 class indices; notebook 05)."""
    from musiclab.data.drums import grid_to_pretty_midi

    pm = grid_to_pretty_midi(_as_sequence(grid, "grid"), tempo_bpm=tempo_bpm)
    return player(pm, sample_rate, max_seconds, soundfont, engine)


def play_tokens(tokens, vocab=None, tempo_bpm: float = 120.0, step_quarters: float = 0.5, program: int = 0,
                sample_rate: int = DEFAULT_SAMPLE_RATE, max_seconds: float | None = DEFAULT_MAX_SECONDS,
                soundfont: str | os.PathLike | None = None, engine: str = "auto"):
    """Inline player for notes-and-chords tokens (indices with their vocab, or strings; notebooks 01–02)."""
    pm = _tokens_pm(tokens, vocab, tempo_bpm, step_quarters, program)
    return player(pm, sample_rate, max_seconds, soundfont, engine)

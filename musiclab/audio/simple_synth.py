"""The simple synth: what plays when libfluidsynth is missing (any notebook, with a warning).

Pitched notes are a few decaying sine partials under an attack/decay/release envelope; drums
(General MIDI key numbers) are filtered noise bursts and falling sine sweeps. Deterministic.
"""
from __future__ import annotations

import numpy as np

_PARTIALS = ((1, 1.0), (2, 0.45), (3, 0.25), (4, 0.12))  # (harmonic number, amplitude)
_ATTACK, _DECAY, _SUSTAIN, _RELEASE = 0.01, 0.25, 0.45, 0.12  # seconds, seconds, level, seconds
_KICKS, _SNARES, _TOMS = {35, 36}, {37, 38, 39, 40}, {41: 80, 43: 95, 45: 115, 47: 135, 48: 160, 50: 190}
# Hi-hats (closed, pedal, open) and cymbals (crashes, rides): (decay time constant in s, level).
_HATS = {42: (0.02, 0.25), 44: (0.02, 0.2), 46: (0.15, 0.1)}
_CYMBALS = {49: (0.5, 0.17), 52: (0.5, 0.17), 55: (0.35, 0.17), 57: (0.5, 0.17),
            51: (0.3, 0.08), 53: (0.3, 0.1), 59: (0.3, 0.08)}


def render_simple(pm, sample_rate: int, length: int, chunk: int | None = None):
    """Mix every note of ``pm`` with the simple synth: mono float64 audio [length], yielded in
    consecutive pieces of at most ``chunk`` samples (one piece when None), so memory stays bounded
    by the piece, however long the file. Ignores bends and CCs."""
    notes = [(inst.is_drum, note) for inst in pm.instruments for note in inst.notes]
    starts = np.array([int(round(note.start * sample_rate)) for _, note in notes], dtype=np.int64)
    sizes = np.array([_DRUM_SECONDS_MAX * sample_rate if drum else _tone_size(note.end - note.start, sample_rate)
                      for drum, note in notes], dtype=np.int64)
    drum_hits: dict[int, np.ndarray] = {}
    chunk = max(1, length if chunk is None else chunk)
    for first in range(0, length, chunk):
        out = np.zeros(min(chunk, length - first))
        stop = first + out.size
        for i in np.flatnonzero((starts < stop) & (starts + sizes > first)):  # in file order, as mixed
            (drum, note), start = notes[i], int(starts[i])
            skip = max(0, first - start)
            if drum:
                if note.pitch not in drum_hits:
                    drum_hits[note.pitch] = _drum_hit(note.pitch, sample_rate)
                sound = drum_hits[note.pitch][skip:stop - start]
            else:
                sound = _tone(note.pitch, note.end - note.start, sample_rate, skip, stop - start - skip)
            at = start + skip - first
            out[at:at + sound.size] += sound * (note.velocity / 127)
        yield out


#: The longest drum hit of :func:`_drum_hit`, in seconds (a cymbal: 5 × 0.5 s).
_DRUM_SECONDS_MAX = 3


def _tone_size(seconds: float, sample_rate: int) -> int:
    """Samples of a note held for ``seconds``, release included (the length of :func:`_tone`)."""
    return max(1, int(round(seconds * sample_rate))) + int(5 * _RELEASE * sample_rate)


def _tone(pitch: int, seconds: float, sample_rate: int, first: int = 0, count: int | None = None) -> np.ndarray:
    """Samples ``first`` .. ``first + count`` (all when None) of one pitched note held for ``seconds``
    plus its release: decaying sine partials, float64."""
    held = max(1, int(round(seconds * sample_rate)))
    size = _tone_size(seconds, sample_rate)
    t = np.arange(first, size if count is None else min(size, first + count)) / sample_rate
    frequency = 440.0 * 2 ** ((pitch - 69) / 12)
    wave_ = np.zeros_like(t)
    for harmonic, amplitude in _PARTIALS:
        if harmonic * frequency < 0.45 * sample_rate:
            decay = np.exp(-t * 1.5 * (harmonic - 1))  # upper partials fade first, like a struck string
            wave_ += amplitude * decay * np.sin(2 * np.pi * harmonic * frequency * t)
    def attack_decay(t: np.ndarray) -> np.ndarray:
        return np.minimum(t / _ATTACK, 1.0) * (_SUSTAIN + (1 - _SUSTAIN) * np.exp(-t / _DECAY))

    envelope = attack_decay(t)
    last_held = np.arange(held - 1, held) / sample_rate  # the envelope's level when the note is let go
    release = max(0, held - first)
    envelope[release:] = attack_decay(last_held)[0] * np.exp(-(t[release:] - last_held[0]) / _RELEASE)
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

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


def render_simple(pm, sample_rate: int, length: int) -> np.ndarray:
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

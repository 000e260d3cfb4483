"""Paths through a MusicVAE's latent space: lerp and slerp between codes, and melodies morphing
from one to another (notebook 04 compares the two paths between calming pieces).
"""
from __future__ import annotations

import numpy as np
import torch

from musiclab.errors import BadParameterError, check_choice, check_range
from musiclab.models.music_vae import MusicVAE
from musiclab.models.sequence import as_token_batch

#: Interpolation methods of :func:`interpolate`.
INTERPOLATION_METHODS = ("slerp", "lerp")


def _check_pair(z0, z1) -> tuple[torch.Tensor, torch.Tensor]:
    """Two latent vectors as float tensors [D] of the same size."""
    a = torch.as_tensor(z0, dtype=torch.float32)
    b = torch.as_tensor(z1, dtype=torch.float32).to(a.device)
    if a.dim() != 1 or b.dim() != 1 or a.shape != b.shape or a.numel() == 0:
        raise BadParameterError(
            f"z0 and z1 must be 1-D vectors of the same size, got {tuple(a.shape)} and {tuple(b.shape)}")
    return a, b


def _check_steps(n_steps: int) -> torch.Tensor:
    """Interpolation fractions 0 .. 1 for ``n_steps`` (>= 2) points."""
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)):
        raise BadParameterError(f"n_steps must be an int >= 2, got {n_steps!r}")
    check_range("n_steps", n_steps, 2)
    return torch.linspace(0.0, 1.0, int(n_steps))


def lerp(z0, z1, n_steps: int) -> torch.Tensor:
    """Straight-line interpolation: [n_steps, D] from z0 to z1 (both [D]), endpoints included."""
    a, b = _check_pair(z0, z1)
    t = _check_steps(n_steps).to(a.device).unsqueeze(1)
    return (1.0 - t) * a + t * b


def slerp(z0, z1, n_steps: int) -> torch.Tensor:
    """Spherical interpolation: [n_steps, D] along the great circle from z0 to z1, endpoints included.

    Norms go smoothly from |z0| to |z1| (they stay equal when |z0| = |z1|), so every point keeps
    the typical radius of a Gaussian latent, unlike lerp whose midpoint shrinks towards 0.
    Parallel (or zero) vectors fall back to lerp. Notebook 04 compares the two.
    """
    a, b = _check_pair(z0, z1)
    t = _check_steps(n_steps).to(a.device).unsqueeze(1)
    norm_a, norm_b = a.norm(), b.norm()
    if norm_a == 0 or norm_b == 0:
        return (1.0 - t) * a + t * b
    cos = torch.clamp(torch.dot(a / norm_a, b / norm_b), -1.0, 1.0)
    omega = torch.arccos(cos)
    if torch.sin(omega) < 1e-6:
        return (1.0 - t) * a + t * b
    return (torch.sin((1.0 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def interpolate(model: MusicVAE, melody_a, melody_b, n_steps: int, method: str = "slerp",
                temperature: float | None = None, generator: torch.Generator | None = None,
                seed: int | None = None) -> torch.Tensor:
    """Melodies [n_steps, seq_len] morphing from melody_a to melody_b through the latent space.

    Each melody (1-D events, at least ``seq_len`` steps; longer ones use their first window) is
    encoded to its posterior mean; the path (``method`` "slerp" or "lerp") is decoded (argmax, or
    sampled at ``temperature`` > 0). Notebook 04 interpolates between two calming pieces.
    """
    check_choice("method", method, INTERPOLATION_METHODS)
    _check_steps(n_steps)
    window = model.config.seq_len
    ends = []
    for name, melody in (("melody_a", melody_a), ("melody_b", melody_b)):
        events = as_token_batch(melody, name, model.num_classes)
        if events.shape[0] != 1:
            raise BadParameterError(f"{name} must be one melody (1-D events), got shape {tuple(events.shape)}")
        if events.shape[1] == 0:
            raise BadParameterError(f"{name} is empty (0 steps); the model needs {window} steps")
        if events.shape[1] < window:
            raise BadParameterError(
                f"{name} has {events.shape[1]} steps, shorter than the model's window of {window} steps")
        ends.append(events[:, :window])
    mu, _ = model.encode(torch.cat(ends, dim=0))
    path = (slerp if method == "slerp" else lerp)(mu[0], mu[1], n_steps)
    return model.decode(path, temperature=temperature, generator=generator, seed=seed)

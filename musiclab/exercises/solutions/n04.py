"""Reference solutions of notebook 04's exercises (MusicVAE: lerp, slerp, temperature)."""
from __future__ import annotations

import math

import torch

from musiclab.eval.vae import in_key_share


def lerp_midpoint_norm(norm: float, cos_angle: float) -> float:
    """04.1: |(z0 + z1) / 2| for two codes of the same norm ``norm`` with cos ∠(z0, z1) = ``cos_angle``.

    |z0 + z1|² = 2 r² (1 + cos Ω), so the midpoint has norm r · sqrt((1 + cos Ω) / 2).
    """
    return norm * math.sqrt((1.0 + cos_angle) / 2.0)


def slerp(z0, z1, n_steps: int) -> torch.Tensor:
    """04.2: [n_steps, D] along the great circle from z0 to z1 (both [D]), endpoints included."""
    a, b = torch.as_tensor(z0, dtype=torch.float32), torch.as_tensor(z1, dtype=torch.float32)
    t = torch.linspace(0.0, 1.0, n_steps).unsqueeze(1)
    cos = torch.clamp(torch.dot(a / a.norm(), b / b.norm()), -1.0, 1.0)
    omega = torch.arccos(cos)
    if torch.sin(omega) < 1e-6:  # (nearly) parallel: the straight line is the arc
        return (1.0 - t) * a + t * b
    return (torch.sin((1.0 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def in_key_by_temperature(vae, temperatures, n: int = 16, seed: int = 0) -> list[float]:
    """04.3: for each temperature, the share of notes in C major of ``n`` prior samples (seed ``seed``)."""
    return [in_key_share(vae.sample(n, temperature=t, seed=seed)) for t in temperatures]
